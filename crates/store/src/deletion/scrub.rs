//! R20: erased values must not linger in storage. SQLite's WAL is truncated after an
//! erasure; the scrub job vacuums (or rewrites) every table the erasure touched.

use crate::{to_unix, Store, StoreError};
use sqlx::Row;
use time::OffsetDateTime;

/// Every table the final step erases rows or values of (R20: the scrub job vacuums them).
pub const ERASED_TABLES: [&str; 19] = [
    "accounts",
    "sessions",
    "freeze_tokens",
    "sign_in_devices",
    "otp_codes",
    "otp_failures",
    "totp_factors",
    "passkeys",
    "passkey_ceremonies",
    "identity_failures",
    "identity_numbers",
    "identity_history",
    "identities",
    "login_attempts",
    "recovery_requests",
    "support_requests",
    "withdrawals",
    "mail_queue",
    "dev_outbox",
];

/// How long a scrub pass's `VACUUM FULL` waits for its table's lock. While it waits,
/// every later query of that table queues behind it, so the wait is kept short and
/// tried again after a pause in which that queue drains.
const SCRUB_LOCK_WAIT: std::time::Duration = std::time::Duration::from_millis(100);
/// The pause between two tries of one table, and how many tries before the pass gives
/// up (the job is retried later).
const SCRUB_LOCK_PAUSE: std::time::Duration = std::time::Duration::from_millis(200);
const SCRUB_LOCK_TRIES: u32 = 10;

/// PostgreSQL's SQLSTATE for a lock wait cut short by `lock_timeout`.
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// One table of a scrub pass, retried while its lock is not granted in time.
async fn vacuum_table(
    conn: &mut sqlx::PgConnection,
    command: &str,
    table: &str,
) -> Result<(), StoreError> {
    let sql = format!("{command} {table}");
    for attempt in 1..=SCRUB_LOCK_TRIES {
        match sqlx::query(&sql).execute(&mut *conn).await {
            Ok(_) => return Ok(()),
            Err(sqlx::Error::Database(err))
                if err.code().as_deref() == Some(LOCK_NOT_AVAILABLE)
                    && attempt < SCRUB_LOCK_TRIES =>
            {
                tokio::time::sleep(SCRUB_LOCK_PAUSE).await;
            }
            Err(err) => return Err(err.into()),
        }
    }
    Err(StoreError::Busy(format!("{table} stayed locked")))
}

impl Store {
    /// R20 on SQLite: `wal_checkpoint(TRUNCATE)` with no reader of ours on the WAL, retried
    /// while another process's reader holds old frames. A no-op on PostgreSQL.
    ///
    /// The writer connection is taken first, then the read gate exclusively (reads in
    /// flight finish, new ones wait the few milliseconds the truncation takes): a
    /// checkpoint that finds readers waits in SQLite's busy handler, whose sleeps (1, 2,
    /// 5, 10 ms ...) held the writer for 24 ms at the median under load. In that order
    /// no deadlock is possible: a read never waits for the writer. Between tries both are
    /// let go.
    pub async fn truncate_sqlite_wal(&self) -> Result<(), StoreError> {
        let crate::Db::Sqlite(pool) = &self.db else {
            return Ok(());
        };
        for _ in 0..20 {
            let busy: i64 = {
                let mut writer = pool.acquire().await?;
                let _no_readers = self.read_gate.write().await;
                let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .fetch_one(&mut *writer)
                    .await?;
                row.try_get(0)?
            };
            if busy == 0 {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        Err(StoreError::Busy("readers kept the WAL busy".into()))
    }

    /// R20, after an erasure (the scrub job): SQLite truncates its WAL again. PostgreSQL
    /// keeps an updated or deleted row's old bytes in the table's pages (a plain VACUUM
    /// marks the space free but does not overwrite it), so with `rewrite` every table
    /// the erasure touched is rewritten into new files (`VACUUM FULL`), which leaves the
    /// erased values in no table or index file. Each rewrite holds an exclusive lock on
    /// its table for as long as the copy takes. The lock is waited for a tenth of a
    /// second at a time, so the queries queued behind the wait are not held up for long,
    /// and asked for again after a pause (ten times, then the job fails and is retried
    /// later). Without `rewrite`, a plain VACUUM (what remains then is in
    /// docs/security.md).
    ///
    /// A row version deleted by transaction X stays (even through `VACUUM FULL`) while
    /// any snapshot older than X exists anywhere in the cluster, so the job first checks
    /// that the erasure (`erasure_xid`, from [`Store::scrub_job_xid`]) is older than
    /// every running snapshot; if not, it fails with [`StoreError::Busy`] and is retried
    /// later.
    ///
    /// On PostgreSQL one pass covers every erasure older than the snapshots it waited
    /// for, not only `job`'s: it answers that horizon (the transaction id below which
    /// every erasure's old rows are gone) and marks the other queued scrub jobs below it
    /// done, so a stream of deletions costs one rewrite per pass, not one per deletion.
    pub async fn scrub_storage(
        &self,
        job: &str,
        erasure_xid: Option<u64>,
        rewrite: bool,
        now: OffsetDateTime,
    ) -> Result<Option<u64>, StoreError> {
        match &self.db {
            crate::Db::Sqlite(_) => self.truncate_sqlite_wal().await.map(|()| None),
            crate::Db::Postgres(pool) => {
                let oldest: String =
                    sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")
                        .fetch_one(pool)
                        .await?;
                let horizon = oldest.parse::<u64>().unwrap_or(0);
                if let Some(xid) = erasure_xid {
                    if horizon <= xid {
                        return Err(StoreError::Busy(
                            "a transaction older than the erasure is still running".into(),
                        ));
                    }
                }
                // VACUUM cannot run inside a transaction block; the session setting
                // lives on one connection, reset before it returns to the pool.
                let mut conn = pool.acquire().await?;
                sqlx::query(&format!(
                    "SET lock_timeout = '{}ms'",
                    SCRUB_LOCK_WAIT.as_millis()
                ))
                .execute(&mut *conn)
                .await?;
                let command = if rewrite { "VACUUM FULL" } else { "VACUUM" };
                let mut result: Result<(), StoreError> = Ok(());
                for table in ERASED_TABLES {
                    result = vacuum_table(&mut conn, command, table).await;
                    if result.is_err() {
                        break;
                    }
                }
                sqlx::query("RESET lock_timeout")
                    .execute(&mut *conn)
                    .await?;
                result?;
                // The CASE keeps the cast away from payloads that are not transaction ids
                // (PostgreSQL does not promise to test `kind` first).
                sqlx::query(
                    "UPDATE jobs SET state = 'done', last_error = NULL, updated_at = $1
                     WHERE kind = 'scrub' AND state = 'queued' AND id <> $2
                       AND CASE WHEN payload ~ '^[0-9]+$' THEN CAST(payload AS BIGINT) END < $3",
                )
                .bind(to_unix(now))
                .bind(job)
                .bind(i64::try_from(horizon).unwrap_or(i64::MAX))
                .execute(pool)
                .await?;
                Ok(Some(horizon))
            }
        }
    }

    /// The transaction id of the erasure a scrub job is for (PostgreSQL; `None` on
    /// SQLite, or for a job queued before ids were recorded).
    pub async fn scrub_job_xid(&self, job: &str) -> Result<Option<u64>, StoreError> {
        let crate::Db::Postgres(pool) = &self.db else {
            return Ok(None);
        };
        let payload: Option<String> = sqlx::query_scalar("SELECT payload FROM jobs WHERE id = $1")
            .bind(job)
            .fetch_optional(pool)
            .await?
            .flatten();
        Ok(payload.and_then(|x| x.parse::<u64>().ok()))
    }
}
