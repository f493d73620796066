include!("build/embed_migrations.rs");

fn main() {
    embed_migrations("migrations/sqlite", "sqlite_migrations");
    embed_migrations("migrations/postgres", "postgres_migrations");
}
