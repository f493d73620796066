//! Migrations embedded in the binary by the crate's build script
//! (`build/embed_migrations.rs`), turned into sqlx's [`Migrator`]: what
//! `sqlx::migrate!` gives, without compiling sqlx's macros.

use std::borrow::Cow;

use futures::FutureExt;
use futures::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

/// A folder of migrations as the build script embeds it: `(version,
/// description, sql)` in version order.
pub type EmbeddedMigrations = &'static [(i64, &'static str, &'static str)];

/// The log's SQLite migrations.
pub(crate) const SQLITE: EmbeddedMigrations =
    include!(concat!(env!("OUT_DIR"), "/sqlite_migrations.rs"));

/// The log's PostgreSQL migrations.
pub(crate) const POSTGRES: EmbeddedMigrations =
    include!(concat!(env!("OUT_DIR"), "/postgres_migrations.rs"));

#[derive(Debug, Clone, Copy)]
struct Embedded(EmbeddedMigrations);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, BoxDynError>> {
        let migrations = self
            .0
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    Cow::Borrowed(sql),
                    sql.starts_with("-- no-transaction"),
                )
            })
            .collect();
        futures::future::ready(Ok(migrations)).boxed()
    }
}

/// The migrator of `migrations`. It ignores migrations applied that it
/// does not know: the log and the read models keep theirs in one database,
/// each crate migrating its own.
#[must_use]
pub fn embedded_migrator(migrations: EmbeddedMigrations) -> Migrator {
    let mut migrator = Migrator::new(Embedded(migrations))
        .now_or_never()
        .expect("embedded migrations resolve without waiting")
        .expect("embedded migrations are checked by the build script");
    migrator.set_ignore_missing(true);
    migrator
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_migrations_are_sqlx_migrations_in_order() {
        for folder in [SQLITE, POSTGRES] {
            let migrator = embedded_migrator(folder);
            let versions: Vec<i64> = migrator.iter().map(|m| m.version).collect();
            assert_eq!(versions.first(), Some(&1));
            assert!(versions.windows(2).all(|pair| pair[0] < pair[1]));
            // sqlx keeps the checksum of what it applied; it must be the
            // SHA-384 of the file, as `migrate!` computed it.
            let log = migrator.iter().next().unwrap();
            assert_eq!(log.description, "log");
            assert_eq!(log.checksum.len(), 48);
        }
    }
}
