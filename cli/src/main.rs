//! `jejak`: the server and, per role, the client commands.

mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// jejak — an event-sourced workflow engine for leadership-training change
/// projects and the regional innovations they become.
#[derive(Debug, Parser)]
#[command(name = "jejak", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve gRPC on an embedded SQLite log (default) or PostgreSQL.
    Serve(serve::ServeArgs),
    /// Tokens for the local server.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Mints a token that the local server accepts with no further setup.
    Issue(serve::IssueArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Token(TokenCommand::Issue(args)) => serve::issue(args),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
