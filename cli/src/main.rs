//! `jejak`: the server and, per role, the client commands.
//!
//! Exit codes: 0 done; 1 refused by the domain or the server (the reason is
//! printed); 2 usage or connection error.

/// Prints a line to standard output; a reader that went away (`| head`)
/// ends the command quietly instead of with a panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(err) = writeln!(std::io::stdout(), $($arg)*)
            && err.kind() == std::io::ErrorKind::BrokenPipe
        {
            std::process::exit(0);
        }
    }};
}

mod client;
mod commands;
/// Which command calls each RPC; read by its test only.
#[cfg(test)]
mod rpcs;
mod serve;
mod words;

/// Turning rows into events and events into views allocates many small
/// strings and frees them soon after; mimalloc does that at about half the
/// cost of the system allocator (ADR 0011).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

use client::{Connection, Failure};
use commands::{
    admin, audit, bench, demo, evidence, import, innovation, notifications, people, privacy, report,
};

/// jejak — an event-sourced workflow engine for leadership-training change
/// projects and the regional innovations they become.
#[derive(Debug, Parser)]
#[command(name = "jejak", version, about)]
struct Cli {
    /// The language of human output: id (Bahasa Indonesia, the default)
    /// or en. JSON output keeps its codes either way.
    #[arg(
        long,
        env = "JEJAK_LANG",
        value_parser = words::parse_lang,
        default_value = "id",
        global = true
    )]
    lang: words::Lang,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serves gRPC on an embedded SQLite log (default) or PostgreSQL.
    Serve(Box<serve::ServeArgs>),
    /// Tokens for the local server.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Loads a demo city (OPDs, puskesmas, cohorts, innovations) into the log.
    Demo(demo::DemoArgs),
    /// Measures the log beside the raw database (SQLite, and PostgreSQL with --postgres).
    Bench(bench::BenchArgs),
    /// Organizers: cohorts.
    Cohort {
        #[command(flatten)]
        connection: Connection,
        #[command(subcommand)]
        command: people::CohortCommand,
    },
    /// Participants and coaches: change projects.
    Project {
        #[command(flatten)]
        connection: Connection,
        #[command(subcommand)]
        command: people::ProjectCommand,
    },
    /// Mentors: the inbox and decisions.
    Mentor {
        #[command(flatten)]
        connection: Connection,
        #[command(subcommand)]
        command: people::MentorCommand,
    },
    /// Examiners and organizers: seminars and grades.
    Seminar {
        #[command(flatten)]
        connection: Connection,
        #[command(subcommand)]
        command: people::SeminarCommand,
    },
    /// Innovation officers and BRIDA: the register and its statistics.
    Innovation {
        #[command(flatten)]
        connection: Connection,
        #[command(subcommand)]
        command: innovation::InnovationCommand,
    },
    /// Auditors: history, past states, verification, digests, export.
    Audit {
        #[command(flatten)]
        connection: Connection,
        #[command(flatten)]
        args: audit::AuditArgs,
    },
    /// Everyone who may read a project or innovation: its stored evidence files.
    Evidence {
        #[command(flatten)]
        connection: Connection,
        #[command(subcommand)]
        command: evidence::EvidenceCommand,
    },
    /// Operators: read models and workflow definitions.
    Admin {
        #[command(flatten)]
        connection: Connection,
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// Innovation offices, BRIDA and organizers: the register, the yearly
    /// IID list and a cohort's recap as spreadsheets (.xlsx or .csv).
    Report {
        #[command(flatten)]
        connection: Connection,
        #[command(subcommand)]
        command: report::ReportCommand,
    },
    /// BRIDA and innovation officers, organizers: a spreadsheet in — the
    /// innovation register, or a cohort's roster (.xlsx, .ods, .csv); a
    /// dry run unless --apply.
    Import {
        #[command(flatten)]
        connection: Connection,
        #[command(subcommand)]
        command: import::ImportCommand,
    },
    /// Participants, mentors and organizers: your own contact for notifications.
    Me {
        #[command(flatten)]
        connection: Connection,
        #[command(subcommand)]
        command: notifications::MeCommand,
    },
    /// Operators: personal data (erasure; PostgreSQL's vacuum of erased keys).
    Privacy {
        #[command(flatten)]
        connection: Connection,
        #[command(subcommand)]
        command: privacy::PrivacyCommand,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Mints a token that the local server accepts with no further setup.
    Issue(serve::IssueArgs),
}

fn main() -> ExitCode {
    // Whatever jejak writes is its user's alone: the data folder, the log,
    // evidence files and their folders, reports, exports, fetched files
    // (0700 folders, 0600 files, whatever the shell's umask).
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    words::set(cli.lang);
    // `me contact set --lang en` also chooses the language of the
    // person's messages, when given there on the command line.
    let contact_lang = ["me", "contact", "set"]
        .iter()
        .try_fold(&matches, |m, name| {
            m.subcommand()
                .filter(|(sub, _)| sub == name)
                .map(|(_, sub)| sub)
        })
        .filter(|m| m.value_source("lang") == Some(clap::parser::ValueSource::CommandLine))
        .map(|_| cli.lang);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    let result: Result<(), Failure> = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(*args)
                .await
                .map_err(|e| Failure::Usage(format!("{e:#}"))),
            Command::Token(TokenCommand::Issue(args)) => {
                serve::issue(args).map_err(|e| Failure::Usage(format!("{e:#}")))
            }
            Command::Demo(args) => demo::run(args)
                .await
                .map_err(|e| Failure::Usage(format!("{e:#}"))),
            Command::Bench(args) => bench::run(args)
                .await
                .map_err(|e| Failure::Usage(format!("{e:#}"))),
            Command::Cohort {
                connection,
                command,
            } => people::cohort(&connection, command).await,
            Command::Project {
                connection,
                command,
            } => people::project(&connection, command).await,
            Command::Mentor {
                connection,
                command,
            } => people::mentor(&connection, command).await,
            Command::Seminar {
                connection,
                command,
            } => people::seminar(&connection, command).await,
            Command::Innovation {
                connection,
                command,
            } => innovation::run(&connection, command).await,
            Command::Audit { connection, args } => audit::run(&connection, args).await,
            Command::Evidence {
                connection,
                command,
            } => evidence::run(&connection, command).await,
            Command::Admin {
                connection,
                command,
            } => admin::run(&connection, command).await,
            Command::Privacy {
                connection,
                command,
            } => privacy::run(&connection, command).await,
            Command::Me {
                connection,
                command,
            } => notifications::me(&connection, command, contact_lang).await,
            Command::Report {
                connection,
                command,
            } => report::run(&connection, command).await,
            Command::Import {
                connection,
                command,
            } => import::run(&connection, command).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            failure.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn every_subcommand_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
