//! `jejak admin init-db`: PostgreSQL roles for least privilege.

use jejak_engine::store::{InitDb, postgres_migrator};

use crate::client::{Connection, Failure, Outcome, print_json};

/// Sets up a PostgreSQL database for jejak with two roles: an owner that
/// migrates the schema, and a server role that may only read and append;
/// optionally a third, a read-only login for auditors.
#[derive(Debug, clap::Args)]
pub struct InitDbArgs {
    /// An administrator's URL (a superuser), e.g. postgres://postgres@127.0.0.1:5432/postgres.
    #[arg(long, env = "JEJAK_ADMIN_DATABASE_URL", hide_env_values = true)]
    admin_url: Option<String>,
    /// The database jejak keeps its log and views in.
    #[arg(long, default_value = "jejak")]
    database: String,
    /// The role that owns the schema and runs the migrations.
    #[arg(long, default_value = "jejak_owner")]
    owner: String,
    /// The role `jejak serve` logs in as: it may read and append, not change the schema.
    #[arg(long, default_value = "jejak_server")]
    server_role: String,
    /// Also a login for auditors (`jejak audit --db …`): it may read the log
    /// and the views, not the people index or the data keys.
    #[arg(long)]
    auditor_role: Option<String>,
    /// Print the SQL for a database administrator instead of running it.
    #[arg(long)]
    print: bool,
}

pub async fn run(c: &Connection, args: InitDbArgs) -> Outcome {
    let mut init = InitDb::new(&args.database, &args.owner, &args.server_role)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    if let Some(auditor) = &args.auditor_role {
        init = init
            .with_auditor(auditor)
            .map_err(|e| Failure::Usage(e.to_string()))?;
    }
    if args.print {
        print_sql(&init);
        return Ok(());
    }
    let Some(admin_url) = args.admin_url else {
        return Err(Failure::Usage(
            "give an administrator's URL with --admin-url (or JEJAK_ADMIN_DATABASE_URL), \
             or --print to see the SQL"
                .into(),
        ));
    };
    let views = jejak_projections::postgres_migrator();
    let serve_url = init
        .apply(&admin_url, &[&postgres_migrator(), &views])
        .await
        .map_err(|e| Failure::Refused(format!("cannot set up the database: {e}")))?;
    if c.json {
        print_json(&serde_json::json!({
            "database": init.database, "owner": init.owner, "server_role": init.server,
            "auditor_role": init.auditor, "serve_url": serve_url,
        }));
    } else {
        say!(
            "database {} is ready: its schema belongs to {}, and the server logs in as {}, \
             which may read and append but not change the schema",
            init.database,
            init.owner,
            init.server
        );
        say!("serve it with: jejak serve --database-url {serve_url}");
        if let Some(auditor) = &init.auditor {
            say!(
                "auditors log in as {auditor}: they read the log and the views, not the people \
                 index or the data keys (jejak audit --db {})",
                serve_url.replace(&format!("//{}@", init.server), &format!("//{auditor}@"))
            );
        }
        say!(
            "(give both roles passwords, ALTER ROLE … PASSWORD, or let pg_hba.conf admit them; \
             after an upgrade, run this again to migrate)"
        );
    }
    Ok(())
}

fn print_sql(init: &InitDb) {
    say!("-- As a PostgreSQL superuser, on any database:");
    for statement in init.roles_sql() {
        say!("{statement};");
    }
    say!("{};", init.database_sql());
    say!("\\connect {}", init.database);
    for statement in init.schema_sql() {
        say!("{statement};");
    }
    say!(
        "-- Then apply the schema as {owner}: start `jejak serve --database-url postgres://{owner}@HOST/{db}` \
         once and stop it when it listens. Then, still in {db}:",
        owner = init.owner,
        db = init.database
    );
    say!("SET ROLE {};", init.owner);
    for statement in init.grants_sql() {
        say!("{statement};");
    }
    say!("RESET ROLE;");
}
