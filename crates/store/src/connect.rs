use crate::{Db, Store, StoreError};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// SQLite reader connections: each has its own sqlx worker thread, and two cores gain
/// nothing from more (docs/performance.md).
const SQLITE_READERS: u32 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// What connecting found, for the start-up log.
#[derive(Debug, Clone)]
pub struct ConnectReport {
    pub backend: Backend,
    /// SQLite only: the file did not exist and an empty database was created.
    pub created_sqlite_file: Option<PathBuf>,
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(url.to_owned()))
        }
    }
}

impl Store {
    /// Connects (creating a missing SQLite file, which the report says so the caller can
    /// log it) and applies the migrations of that backend.
    pub async fn connect(url: &str) -> Result<(Store, ConnectReport), StoreError> {
        let (store, report) = Self::connect_without_migrating(url).await?;
        store.migrate().await?;
        Ok((store, report))
    }

    pub async fn connect_without_migrating(
        url: &str,
    ) -> Result<(Store, ConnectReport), StoreError> {
        match Backend::of_url(url)? {
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
                    // R20: deleted rows and freed pages are overwritten with zeros, so an
                    // erased value does not linger in the file (cost: docs/performance.md).
                    .pragma("secure_delete", "ON");
                let path = options.get_filename().to_path_buf();
                let is_memory =
                    path.as_os_str().is_empty() || path.to_string_lossy().contains(":memory:");
                let created = (!is_memory && !path.exists()).then(|| path.clone());
                // One writer (writes queue here, in order, never in SQLite's busy
                // handler) beside readers that WAL lets run while it writes. An in-memory
                // database is one per connection, so it keeps the writer for everything.
                let writer = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options.clone())
                    .await?;
                let readers = if is_memory {
                    None
                } else {
                    let read_only = options.create_if_missing(false).pragma("query_only", "ON");
                    Some(
                        SqlitePoolOptions::new()
                            .max_connections(SQLITE_READERS)
                            .min_connections(1)
                            .connect_with(read_only)
                            .await?,
                    )
                };
                Ok((
                    Store::new(Db::Sqlite(writer), readers),
                    ConnectReport {
                        backend: Backend::Sqlite,
                        created_sqlite_file: created,
                    },
                ))
            }
            Backend::Postgres => {
                // Four backends per core: each PostgreSQL backend is a process wanting a
                // core of its own, and more only queue in the kernel instead of the pool.
                let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
                let pool = PgPoolOptions::new()
                    .max_connections(u32::try_from(cores * 4).unwrap_or(16).clamp(4, 32))
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                Ok((
                    Store::new(Db::Postgres(pool), None),
                    ConnectReport {
                        backend: Backend::Postgres,
                        created_sqlite_file: None,
                    },
                ))
            }
        }
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
            Db::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_urls_of_other_databases() {
        assert!(matches!(
            Backend::of_url("mysql://root@localhost/x"),
            Err(StoreError::UnsupportedUrl(_))
        ));
        assert!(matches!(
            Backend::of_url("offboard.db"),
            Err(StoreError::UnsupportedUrl(_))
        ));
        assert_eq!(
            Backend::of_url("sqlite://offboard.db").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::of_url("postgresql://u@h/d").unwrap(),
            Backend::Postgres
        );
    }
}
