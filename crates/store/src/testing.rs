//! Throw-away databases for tests: a temporary SQLite file, or a fresh PostgreSQL
//! database that is dropped again when the guard is dropped. Shared by the store's
//! conformance suite and the server's HTTP tests so both run on both backends.

use crate::{Backend, Store, StoreError};
use std::path::PathBuf;

/// The server the tests use; override with `OFFBOARD_TEST_POSTGRES_URL`.
pub const DEFAULT_TEST_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn postgres_admin_url() -> String {
    std::env::var("OFFBOARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| DEFAULT_TEST_POSTGRES_URL.to_owned())
}

/// Owns a test database for as long as it lives.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    SqliteDir(#[allow(dead_code)] TempDir),
    Postgres { admin_url: String, name: String },
}

/// A directory removed on drop (small, to avoid a dependency on tempfile outside tests).
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> std::io::Result<Self> {
        let dir =
            std::env::temp_dir().join(format!("offboard-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestDatabase {
    pub async fn new(backend: Backend) -> Result<Self, StoreError> {
        match backend {
            Backend::Sqlite => {
                let dir =
                    TempDir::new().map_err(|e| StoreError::Corrupt(format!("temp dir: {e}")))?;
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                Ok(Self {
                    url,
                    cleanup: Cleanup::SqliteDir(dir),
                })
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("offboard_test_{}", uuid::Uuid::new_v4().simple());
                let admin = sqlx::PgPool::connect(&admin_url).await?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await?;
                admin.close().await;
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b)
                    .unwrap_or(&admin_url);
                Ok(Self {
                    url: format!("{base}/{name}"),
                    cleanup: Cleanup::Postgres { admin_url, name },
                })
            }
        }
    }

    /// A migrated store on this database.
    pub async fn store(&self) -> Result<Store, StoreError> {
        Ok(Store::connect(&self.url).await?.0)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            // Drop may run inside an async runtime, so the clean-up gets its own thread
            // and runtime. FORCE ends connections a pool may still hold.
            let (admin_url, name) = (admin_url.clone(), name.clone());
            let handle = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async {
                    if let Ok(admin) = sqlx::PgPool::connect(&admin_url).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&admin)
                                .await;
                        admin.close().await;
                    }
                });
            });
            let _ = handle.join();
        }
    }
}

/// Test support: marks an account deleted without the deletion journey, to test what
/// other features do with deleted accounts. Only the tests call it; no route does.
pub async fn mark_deleted(
    store: &crate::Store,
    id: offboard_core::AccountId,
) -> Result<(), StoreError> {
    crate::on_db!(store, pool => sqlx::query("UPDATE accounts SET status = 'deleted' WHERE id = $1")
        .bind(id.to_string())
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// Test support: overwrites the stored balance of `asset` with `text`, to test what
/// reading an amount that does not parse does. Only the tests call it.
pub async fn overwrite_balance(
    store: &crate::Store,
    id: offboard_core::AccountId,
    asset: &str,
    text: &str,
) -> Result<(), StoreError> {
    crate::on_db!(store, pool => sqlx::query("UPDATE ledger_balances SET available = $1 WHERE account_id = $2 AND asset = $3")
        .bind(text)
        .bind(id.to_string())
        .bind(asset)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// Test support: writes a tombstone as an erasure would (R9), so tests of what a
/// tombstone blocks or lifts need no whole deletion. Only the tests call it.
pub async fn insert_tombstone(
    store: &crate::Store,
    kind: &str,
    hash: &str,
    deleted_at: time::OffsetDateTime,
    allowed_from: time::OffsetDateTime,
) -> Result<(), StoreError> {
    crate::on_db!(store, pool => sqlx::query("INSERT INTO tombstones (kind, hash, deleted_at, allowed_from) VALUES ($1, $2, $3, $4)")
        .bind(kind)
        .bind(hash)
        .bind(crate::to_unix(deleted_at))
        .bind(crate::to_unix(allowed_from))
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}
