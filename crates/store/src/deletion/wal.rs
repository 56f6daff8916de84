//! R20 on SQLite: erasures share their WAL truncations, the way databases share one
//! fsync among the commits that wait for it (group commit).
//!
//! Every erasure must answer only once the WAL that held the pages as they were before
//! it is folded into the (zeroed) database file and cut to nothing. A truncation covers
//! every erasure committed before it began, so erasures that commit while one runs
//! wait for the next, which covers them all: a burst of deletions costs two truncations,
//! not one each, and the single writer connection is not held by one checkpoint (with
//! its fsyncs) per deletion.

use crate::{to_unix, Store, StoreError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use time::OffsetDateTime;

/// The erasures waiting for a truncation, and how far truncations have reached.
#[derive(Debug, Default)]
pub(crate) struct WalTruncations {
    /// The scrub jobs of erasures committed and not yet covered, with their ticket count.
    pending: Mutex<Pending>,
    /// Tickets up to this one are covered by a completed truncation.
    covered: AtomicU64,
    /// Held by the one truncation that runs at a time.
    running: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct Pending {
    /// Tickets handed out so far (one per committed erasure).
    issued: u64,
    /// Their scrub jobs, marked done together once covered.
    jobs: Vec<String>,
}

impl Store {
    /// After erasure `scrub_job` committed: returns once a WAL truncation that began
    /// after the commit has succeeded (its own or one it shared), and marks the scrub
    /// jobs it covered done. Leads at most one truncation itself; if that fails the
    /// jobs stay queued and the scrub job retries.
    pub(crate) async fn wal_truncated_after_commit(
        &self,
        scrub_job: String,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let wal = &self.wal;
        let ticket = {
            let mut pending = wal.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.issued += 1;
            pending.jobs.push(scrub_job);
            pending.issued
        };
        if wal.covered.load(Ordering::Acquire) >= ticket {
            return Ok(());
        }
        let _running = wal.running.lock().await;
        // The truncation this one waited for may have covered it.
        if wal.covered.load(Ordering::Acquire) >= ticket {
            return Ok(());
        }
        // Everything committed before this instant is in the WAL this truncation folds
        // in, this erasure included.
        let (reach, jobs) = {
            let mut pending = wal.pending.lock().unwrap_or_else(|e| e.into_inner());
            (pending.issued, std::mem::take(&mut pending.jobs))
        };
        self.truncate_sqlite_wal().await?;
        wal.covered.fetch_max(reach, Ordering::AcqRel);
        if let Err(err) = self.scrub_jobs_done(&jobs, now).await {
            tracing::warn!(%err, "scrub jobs stay queued after the WAL was truncated");
        }
        Ok(())
    }

    /// SQLite: these erasures' WAL was truncated, so their scrub jobs have nothing left
    /// to do (a job stays queued only when the truncation failed).
    async fn scrub_jobs_done(
        &self,
        jobs: &[String],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        if jobs.is_empty() {
            return Ok(());
        }
        let crate::Db::Sqlite(pool) = &self.db else {
            return Ok(());
        };
        // One statement for the whole batch: the ids go in as one JSON array.
        let ids = serde_json::to_string(jobs).unwrap_or_else(|_| "[]".to_owned());
        sqlx::query(
            "UPDATE jobs SET state = 'done', updated_at = $1
             WHERE state = 'queued' AND id IN (SELECT value FROM json_each($2))",
        )
        .bind(to_unix(now))
        .bind(ids)
        .execute(pool)
        .await?;
        Ok(())
    }
}
