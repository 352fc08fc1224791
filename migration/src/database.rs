//! Opening the database and bringing its schema up to date.
//!
//! Shared by the server and the `migration` command so both open SQLite with
//! the same pragmas and find the same default file.

use std::{path::Path, time::Duration};

use sea_orm_migration::{
    MigratorTrait,
    sea_orm::{
        ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr,
        TransactionTrait, sqlx::sqlite::SqliteJournalMode,
    },
};

use crate::Migrator;

/// File name of the embedded database inside the data directory.
pub const SQLITE_FILE: &str = "switchyard.db";

/// Key of the Postgres advisory lock held while migrating, so that instances
/// starting together do not race to create the same tables.
const MIGRATION_LOCK_KEY: i64 = 0x5357_4954_4348; // "SWITCH"

/// The URL used when `DATABASE_URL` is not set: SQLite inside `data_dir`.
pub fn default_url(data_dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join(SQLITE_FILE).display())
}

/// Which database a URL points at, or `None` for an unsupported scheme.
pub fn backend_of(url: &str) -> Option<DbBackend> {
    if url.starts_with("sqlite:") {
        Some(DbBackend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Some(DbBackend::Postgres)
    } else {
        None
    }
}

/// Opens a connection pool. `max_connections` of `None` picks a default per
/// backend: SQLite allows one writer, so one connection avoids busy errors;
/// on Postgres the engine keeps a few connections busy (writers, listener).
pub async fn connect(url: &str, max_connections: Option<u32>) -> Result<DatabaseConnection, DbErr> {
    let backend = backend_of(url).ok_or_else(|| {
        DbErr::Custom("DATABASE_URL must start with sqlite: or postgres://".to_owned())
    })?;
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections.unwrap_or(match backend {
            DbBackend::Sqlite => 1,
            _ => 20,
        }))
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5))
                .pragma("synchronous", "NORMAL")
        });
    Database::connect(options).await
}

/// Applies every pending migration. On Postgres this happens in one
/// transaction under an advisory lock, so concurrent starts are safe.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        let txn = db.begin().await?;
        txn.execute_unprepared(&format!(
            "SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
        ))
        .await?;
        Migrator::up(&txn, None).await?;
        txn.commit().await
    } else {
        Migrator::up(db, None).await
    }
}

/// Name of the newest applied migration, if any.
pub async fn schema_version(db: &DatabaseConnection) -> Result<Option<String>, DbErr> {
    Ok(Migrator::get_applied_migrations(db)
        .await?
        .last()
        .map(|m| m.name().to_owned()))
}
