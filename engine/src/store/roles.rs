//! PostgreSQL least privilege: who may change the schema, who serves, who
//! audits.
//!
//! The tables' owner may alter them, and with that disable their triggers;
//! a server that logs in as the owner could rewrite history despite them.
//! So two roles: an **owner** that holds the schema and runs the migrations,
//! and a **server** role that logs in to serve and may only read and append
//! (SELECT and INSERT on every table; no DDL, no TRUNCATE, no trigger
//! changes, which need ownership), plus UPDATE and DELETE on the tables that
//! are caches or cursors rebuilt from the log and on the people index,
//! erased with the person ([`MUTABLE_TABLES`]). Optionally a third, an
//! **auditor** login, that may only read, and not the tables that tie the
//! log to people ([`PERSONAL_TABLES`]: the people index and the data keys).
//!
//! [`InitDb`] writes the SQL that sets this up; `jejak admin init-db` runs
//! it (or prints it). A store opened by the server role finds the schema
//! migrated and does not try to change it ([`migrate_postgres`]).

use std::collections::HashSet;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgConnection;

use super::StoreError;

/// Tables the server role may also UPDATE and DELETE: caches and cursors,
/// each rebuilt from the log (snapshots, reader checkpoints, the leases of
/// who applies what (ADR 0029), the record of
/// the chain verified on start, the views' documents and checkpoints), the
/// people index, whose rows are deleted when a person is erased, the
/// outbox, whose messages' delivery changes, the contacts people set
/// and clear (ADR 0032), the portal's sessions, ended on signing out
/// (ADR 0034), and its grants, changed and revoked by operators (ADR 0036).
pub const MUTABLE_TABLES: &[&str] = &[
    "people",
    "outbox",
    "contacts",
    "portal_sessions",
    "portal_grants",
    "snapshots",
    "checkpoints",
    "leases",
    "log_verified",
    "view_docs",
    "view_checkpoints",
    "view_active",
    "view_terms",
    "view_counts",
];

/// Tables a person's erasure deletes from (ADR 0021): the data keys, the
/// people index (NIP to person id) and their contacts (ADR 0032) where the
/// schema has them. The server
/// role may DELETE from them; their owner rewrites them (`VACUUM FULL`) so
/// that no old row version stays behind. A table missing from the schema
/// is skipped.
pub const ERASABLE_TABLES: &[&str] = &["person_keys", "people", "contacts"];

/// Tables an auditor's login may not read, and an audit copy does not
/// carry (ADR 0024): the people index (NIP to person id), the data keys and
/// people's contacts (ADR 0032). The log itself holds personal fields
/// sealed only.
pub const PERSONAL_TABLES: &[&str] = &["people", "person_keys", "contacts"];

/// The log's PostgreSQL migrations.
#[must_use]
pub fn postgres_migrator() -> Migrator {
    super::migrations::embedded_migrator(super::migrations::POSTGRES)
}

/// Applies `migrator` on `pool` unless every one of its migrations has been
/// applied already: the server role, which may not change the schema,
/// starts on a schema its owner migrated.
///
/// # Errors
/// [`StoreError::Unavailable`] when migrations are pending and this login
/// may not apply them (with what to run instead); storage failures.
pub async fn migrate_postgres(migrator: &Migrator, pool: &sqlx::PgPool) -> Result<(), StoreError> {
    let applied: Result<Vec<(i64, bool)>, sqlx::Error> =
        sqlx::query_as("SELECT version, success FROM _sqlx_migrations")
            .fetch_all(pool)
            .await;
    if let Ok(applied) = applied {
        let done: HashSet<i64> = applied
            .into_iter()
            .filter_map(|(version, success)| success.then_some(version))
            .collect();
        if migrator.iter().all(|m| done.contains(&m.version)) {
            return Ok(());
        }
    }
    migrator.run(pool).await.map_err(|err| {
        if err.to_string().contains("permission denied") {
            tracing::error!(error = %err, "this login may not migrate the schema");
            StoreError::Unavailable(
                "the database schema needs migrating, which this login may not do: run \
                 `jejak admin init-db --admin-url URL` (it migrates as the schema's owner), \
                 then start again"
                    .into(),
            )
        } else {
            err.into()
        }
    })
}

/// The roles and database of one jejak deployment on PostgreSQL.
#[derive(Clone, Debug)]
pub struct InitDb {
    /// The database.
    pub database: String,
    /// The role that owns the schema and runs the migrations.
    pub owner: String,
    /// The role the server logs in as.
    pub server: String,
    /// A login for auditors, if any: it reads every table but
    /// [`PERSONAL_TABLES`], and writes none.
    pub auditor: Option<String>,
}

fn identifier(field: &'static str, name: &str) -> Result<(), StoreError> {
    let ok = (1..=63).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::invalid(
            field,
            format!(
                "'{name}' is not a plain PostgreSQL name: use 1 to 63 lowercase letters, digits \
                 and _, starting with a letter or _"
            ),
        ))
    }
}

impl InitDb {
    /// The deployment `database`, owned by `owner`, served by `server`.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for a name that is not a plain
    /// identifier, or the same role twice.
    pub fn new(database: &str, owner: &str, server: &str) -> Result<Self, StoreError> {
        identifier("database", database)?;
        identifier("owner", owner)?;
        identifier("server_role", server)?;
        if owner == server {
            return Err(StoreError::invalid(
                "server_role",
                "must differ from the owner: the point is that the server does not own the tables",
            ));
        }
        Ok(Self {
            database: database.into(),
            owner: owner.into(),
            server: server.into(),
            auditor: None,
        })
    }

    /// With a read-only login for auditors, `auditor`, which may not read
    /// [`PERSONAL_TABLES`].
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for a name that is not a plain
    /// identifier, or one of the other two roles.
    pub fn with_auditor(mut self, auditor: &str) -> Result<Self, StoreError> {
        identifier("auditor_role", auditor)?;
        if auditor == self.owner || auditor == self.server {
            return Err(StoreError::invalid(
                "auditor_role",
                "must differ from the owner and the server role: an auditor only reads",
            ));
        }
        self.auditor = Some(auditor.into());
        Ok(self)
    }

    /// The roles, as the administrator, on any database of the cluster.
    /// Idempotent. The roles log in without a password of jejak's making:
    /// give them one (`ALTER ROLE … PASSWORD`) or let `pg_hba.conf` decide.
    pub fn roles_sql(&self) -> Vec<String> {
        [Some(&self.owner), Some(&self.server), self.auditor.as_ref()]
            .into_iter()
            .flatten()
            .map(|role| {
                format!(
                    "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') \
                     THEN CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; END IF; END $$"
                )
            })
            .collect()
    }

    /// Creates the database (not idempotent: run only when it is missing).
    pub fn database_sql(&self) -> String {
        format!("CREATE DATABASE {} OWNER {}", self.database, self.owner)
    }

    /// Who may connect, and what each may do in the schema, as the
    /// administrator in the new database, before the migrations. Tables
    /// the owner creates later are readable and appendable by the server
    /// (default privileges), nothing more.
    pub fn schema_sql(&self) -> Vec<String> {
        let (db, owner, server) = (&self.database, &self.owner, &self.server);
        let mut sql = vec![
            format!("REVOKE ALL ON DATABASE {db} FROM PUBLIC"),
            format!("GRANT CONNECT ON DATABASE {db} TO {owner}, {server}"),
            format!("REVOKE CREATE ON SCHEMA public FROM PUBLIC"),
            format!("ALTER SCHEMA public OWNER TO {owner}"),
            format!("GRANT USAGE ON SCHEMA public TO {server}"),
            format!(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public \
                 GRANT SELECT, INSERT ON TABLES TO {server}"
            ),
            format!(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public \
                 GRANT USAGE, SELECT ON SEQUENCES TO {server}"
            ),
        ];
        if let Some(auditor) = &self.auditor {
            sql.extend([
                format!("GRANT CONNECT ON DATABASE {db} TO {auditor}"),
                format!("GRANT USAGE ON SCHEMA public TO {auditor}"),
                format!(
                    "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public \
                     GRANT SELECT ON TABLES TO {auditor}"
                ),
            ]);
        }
        sql
    }

    /// What the server may do on the migrated tables, as their owner:
    /// read and append everywhere, change only the caches and cursors; the
    /// migrations' own record is read only. Idempotent.
    pub fn grants_sql(&self) -> Vec<String> {
        let server = &self.server;
        let mut sql = vec![
            format!("GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO {server}"),
            format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {server}"),
            format!("REVOKE INSERT ON _sqlx_migrations FROM {server}"),
        ];
        sql.extend(MUTABLE_TABLES.iter().map(|table| {
            format!(
                "DO $$ BEGIN IF to_regclass('public.{table}') IS NOT NULL THEN \
                 GRANT UPDATE, DELETE ON {table} TO {server}; END IF; END $$"
            )
        }));
        sql.extend(ERASABLE_TABLES.iter().map(|table| {
            format!(
                "DO $$ BEGIN IF to_regclass('public.{table}') IS NOT NULL THEN \
                 GRANT DELETE ON {table} TO {server}; END IF; END $$"
            )
        }));
        if let Some(auditor) = &self.auditor {
            sql.push(format!(
                "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {auditor}"
            ));
            sql.extend(PERSONAL_TABLES.iter().map(|table| {
                format!(
                    "DO $$ BEGIN IF to_regclass('public.{table}') IS NOT NULL THEN \
                     REVOKE ALL ON {table} FROM {auditor}; END IF; END $$"
                )
            }));
        }
        sql
    }

    /// Sets the deployment up as the administrator of `admin_url`: the
    /// roles, the database when it is missing, its privileges, then
    /// `migrators` run as the owner and the server's grants. Idempotent: run
    /// it again after an upgrade to migrate. Returns the URL the server
    /// logs in with (the administrator's host and port).
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for a URL that is not PostgreSQL's;
    /// storage failures, e.g. an administrator who may not create roles.
    pub async fn apply(
        &self,
        admin_url: &str,
        migrators: &[&Migrator],
    ) -> Result<String, StoreError> {
        use sqlx::Connection as _;
        use std::str::FromStr as _;
        let options = sqlx::postgres::PgConnectOptions::from_str(admin_url)
            .map_err(|e| StoreError::invalid("admin_url", e.to_string()))?
            .application_name("jejak-init-db");
        let mut admin = PgConnection::connect_with(&options).await?;
        for statement in self.roles_sql() {
            sqlx::raw_sql(&statement).execute(&mut admin).await?;
        }
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
                .bind(&self.database)
                .fetch_optional(&mut admin)
                .await?;
        if exists.is_none() {
            sqlx::raw_sql(&self.database_sql())
                .execute(&mut admin)
                .await?;
        }
        admin.close().await?;
        let mut conn =
            PgConnection::connect_with(&options.clone().database(&self.database)).await?;
        for statement in self.schema_sql() {
            sqlx::raw_sql(&statement).execute(&mut conn).await?;
        }
        self.migrate_as_owner(&mut conn, migrators).await?;
        conn.close().await?;
        Ok(format!(
            "postgres://{}@{}:{}/{}",
            self.server,
            options.get_host(),
            options.get_port(),
            self.database
        ))
    }

    /// Runs `migrators` on `conn` as the owner (`SET ROLE`), so that the
    /// owner holds what they create, then grants the server its privileges.
    ///
    /// # Errors
    /// Storage failures; an administrator who may not act as the owner.
    pub async fn migrate_as_owner(
        &self,
        conn: &mut PgConnection,
        migrators: &[&Migrator],
    ) -> Result<(), StoreError> {
        sqlx::raw_sql(&format!("SET ROLE {}", self.owner))
            .execute(&mut *conn)
            .await?;
        for migrator in migrators {
            migrator.run(&mut *conn).await?;
        }
        for statement in self.grants_sql() {
            sqlx::raw_sql(&statement).execute(&mut *conn).await?;
        }
        sqlx::raw_sql("RESET ROLE").execute(&mut *conn).await?;
        Ok(())
    }
}
