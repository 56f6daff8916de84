//! Background jobs any instance may run (issue 7). A job is claimed with a lease: on
//! PostgreSQL with `FOR UPDATE SKIP LOCKED`, so instances never wait on each other's
//! rows; on SQLite with one guarded `UPDATE ... RETURNING` (SQLite runs one writer at a
//! time, so the statement is the lock). A job whose lease ran out, because its instance
//! died, is claimed again by another instance: effects must be idempotent.

use crate::{from_unix, on_db, on_reader, to_unix, Db, Store, StoreError};
use sqlx::Row;
use time::{Duration, OffsetDateTime};

/// What a job does. The job's id names the row it works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Send one row of `mail_queue`.
    Mail,
    /// Fan an event out to the webhook endpoints that subscribe to it.
    Event,
    /// Deliver one `webhook_deliveries` row.
    Webhook,
    /// R9/R10: purge due tombstones and retained records (periodic).
    Purge,
    /// Remove expired sessions, codes, flows and finished jobs (periodic).
    Cleanup,
    /// R20: after an erasure, vacuum what it touched (PostgreSQL) or truncate the WAL
    /// again (SQLite).
    Scrub,
}

impl JobKind {
    pub const ALL: [JobKind; 6] = [
        JobKind::Mail,
        JobKind::Event,
        JobKind::Webhook,
        JobKind::Purge,
        JobKind::Cleanup,
        JobKind::Scrub,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Mail => "mail",
            JobKind::Event => "event",
            JobKind::Webhook => "webhook",
            JobKind::Purge => "purge",
            JobKind::Cleanup => "cleanup",
            JobKind::Scrub => "scrub",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    pub id: String,
    pub kind: JobKind,
    /// Including this one.
    pub attempts: i64,
}

/// How many jobs are in each state, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    pub queued: i64,
    pub running: i64,
    pub done: i64,
    pub dead: i64,
}

/// One row of the job table, for operators (`offboard events`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub state: String,
    pub attempts: i64,
    pub run_at: OffsetDateTime,
    pub lease_owner: Option<String>,
    pub last_error: Option<String>,
}

const CLAIM_SQLITE: &str = "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3
     WHERE id IN (SELECT id FROM jobs
                  WHERE (state = 'queued' AND run_at <= $3) OR (state = 'running' AND lease_until < $3)
                  ORDER BY run_at, id LIMIT $4)
     RETURNING id, kind, attempts";

const CLAIM_POSTGRES: &str = "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3
     WHERE id IN (SELECT id FROM jobs
                  WHERE (state = 'queued' AND run_at <= $3) OR (state = 'running' AND lease_until < $3)
                  ORDER BY run_at, id LIMIT $4
                  FOR UPDATE SKIP LOCKED)
     RETURNING id, kind, attempts";

/// Queues the job sending mail row `$1` at time `$2` (inside the transaction that
/// queues the mail).
pub(crate) const MAIL_JOB_SQL: &str = "INSERT INTO jobs (id, kind, state, run_at, created_at, updated_at) VALUES ($1, 'mail', 'queued', $2, $2, $2)
     ON CONFLICT (id) DO NOTHING";

/// The same claim for one job by id (the request that queued it runs it at once).
const CLAIM_ONE: &str = "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3
     WHERE id = $4 AND ((state = 'queued' AND run_at <= $3) OR (state = 'running' AND lease_until < $3))
     RETURNING id, kind, attempts";

impl Store {
    /// Queues an email (recipient sealed by the caller) with the job that sends it, in one
    /// transaction.
    pub async fn queue_mail(
        &self,
        id: &str,
        recipient_sealed: &str,
        subject: &str,
        body: &str,
        html: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let at = to_unix(now);
        crate::in_tx!(self, tx => {
            sqlx::query("INSERT INTO mail_queue (id, recipient_sealed, subject, body, html, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(id)
                .bind(recipient_sealed)
                .bind(subject)
                .bind(body)
                .bind(html)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            sqlx::query(MAIL_JOB_SQL).bind(id).bind(at).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Queues a job unless one with this id exists (enqueueing is idempotent).
    pub async fn enqueue_job(
        &self,
        id: &str,
        kind: JobKind,
        run_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let at = to_unix(run_at);
        on_db!(self, pool => sqlx::query(
            "INSERT INTO jobs (id, kind, state, run_at, created_at, updated_at) VALUES ($1, $2, 'queued', $3, $3, $3)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(kind.as_str())
        .bind(at)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Claims up to `limit` due jobs (or jobs whose lease ran out) for `owner`.
    pub async fn claim_jobs(
        &self,
        owner: &str,
        now: OffsetDateTime,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        let rows = match &self.db {
            Db::Sqlite(pool) => sqlx::query(CLAIM_SQLITE)
                .bind(owner)
                .bind(to_unix(now + lease))
                .bind(to_unix(now))
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(claimed_row)
                .collect::<Result<Vec<_>, StoreError>>()?,
            Db::Postgres(pool) => sqlx::query(CLAIM_POSTGRES)
                .bind(owner)
                .bind(to_unix(now + lease))
                .bind(to_unix(now))
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(claimed_row)
                .collect::<Result<Vec<_>, StoreError>>()?,
        };
        Ok(rows.into_iter().flatten().collect())
    }

    /// Claims one job by id if it is due and free.
    pub async fn claim_job(
        &self,
        id: &str,
        owner: &str,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<ClaimedJob>, StoreError> {
        let row = on_db!(self, pool => {
            match sqlx::query(CLAIM_ONE)
                .bind(owner)
                .bind(to_unix(now + lease))
                .bind(to_unix(now))
                .bind(id)
                .fetch_optional(pool)
                .await?
            {
                Some(row) => claimed_row(&row)?,
                None => None,
            }
        });
        Ok(row)
    }

    /// Marks a claimed job done. False if the lease was lost meanwhile (another instance
    /// took the job over), in which case nothing changes.
    pub async fn finish_job(
        &self,
        id: &str,
        owner: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let n = on_db!(self, pool => sqlx::query(
            "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_until = NULL, last_error = NULL, updated_at = $1
             WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
        )
        .bind(to_unix(now))
        .bind(id)
        .bind(owner)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    /// Puts a claimed job back in the queue to run at `run_at`: a retry after a failure
    /// (`error` set, attempts kept) or the next round of a periodic job (`reset_attempts`).
    pub async fn requeue_job(
        &self,
        id: &str,
        owner: &str,
        run_at: OffsetDateTime,
        error: Option<&str>,
        reset_attempts: bool,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let n = on_db!(self, pool => sqlx::query(
            "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL, run_at = $1, last_error = $2,
                    attempts = CASE WHEN $3 = 1 THEN 0 ELSE attempts END, updated_at = $4
             WHERE id = $5 AND lease_owner = $6 AND state = 'running'",
        )
        .bind(to_unix(run_at))
        .bind(error)
        .bind(i64::from(reset_attempts))
        .bind(to_unix(now))
        .bind(id)
        .bind(owner)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    /// Gives a claimed job up: it failed too often (the dead-letter state).
    pub async fn bury_job(
        &self,
        id: &str,
        owner: &str,
        error: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let n = on_db!(self, pool => sqlx::query(
            "UPDATE jobs SET state = 'dead', lease_owner = NULL, lease_until = NULL, last_error = $1, updated_at = $2
             WHERE id = $3 AND lease_owner = $4 AND state = 'running'",
        )
        .bind(error)
        .bind(to_unix(now))
        .bind(id)
        .bind(owner)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    /// On shutdown: every job this instance holds goes back to the queue at once, so
    /// another instance need not wait for the lease to run out.
    pub async fn release_jobs(&self, owner: &str, now: OffsetDateTime) -> Result<u64, StoreError> {
        let n = on_db!(self, pool => sqlx::query(
            "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL, updated_at = $1
             WHERE lease_owner = $2 AND state = 'running'",
        )
        .bind(to_unix(now))
        .bind(owner)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(n)
    }

    /// A dead job back in the queue with a fresh set of attempts (operator replay).
    pub async fn revive_job(&self, id: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        let n = on_db!(self, pool => sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $1, last_error = NULL, updated_at = $1
             WHERE id = $2 AND state = 'dead'",
        )
        .bind(to_unix(now))
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    pub async fn job_counts(&self) -> Result<JobCounts, StoreError> {
        let rows: Vec<(String, i64)> = on_reader!(self, pool => {
            sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| Ok((r.try_get("state")?, r.try_get("n")?)))
                .collect::<Result<_, StoreError>>()?
        });
        let mut counts = JobCounts::default();
        for (state, n) in rows {
            match state.as_str() {
                "queued" => counts.queued = n,
                "running" => counts.running = n,
                "done" => counts.done = n,
                "dead" => counts.dead = n,
                _ => {}
            }
        }
        Ok(counts)
    }

    pub async fn job(&self, id: &str) -> Result<Option<JobRow>, StoreError> {
        let row = on_reader!(self, pool => {
            sqlx::query("SELECT id, kind, state, attempts, run_at, lease_owner, last_error FROM jobs WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
                .map(|r| -> Result<JobRow, StoreError> {
                    Ok(JobRow {
                        id: r.try_get("id")?,
                        kind: r.try_get("kind")?,
                        state: r.try_get("state")?,
                        attempts: r.try_get::<i64, _>("attempts")?,
                        run_at: from_unix(r.try_get("run_at")?),
                        lease_owner: r.try_get("lease_owner")?,
                        last_error: r.try_get("last_error")?,
                    })
                })
                .transpose()?
        });
        Ok(row)
    }
}

fn claimed_row<R: Row>(row: &R) -> Result<Option<ClaimedJob>, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    String: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    i64: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let kind: String = row.try_get("kind")?;
    // An unknown kind (written by a newer version) is left alone for that version.
    Ok(
        JobKind::parse(&kind).map(|kind| -> Result<ClaimedJob, StoreError> {
            Ok(ClaimedJob {
                id: row.try_get("id")?,
                kind,
                attempts: row.try_get("attempts")?,
            })
        }),
    )
    .and_then(|o| o.transpose())
}

/// How long things live, for the clean-up job.
#[derive(Debug, Clone, Copy)]
pub struct CleanupPolicy {
    pub session_idle: Duration,
    pub session_absolute: Duration,
    pub agent_session_idle: Duration,
    pub agent_session_absolute: Duration,
    pub flow_idle: Duration,
    /// Used or expired codes, failure counters and spent captchas are kept this long
    /// (so an old code still answers "expired" rather than "wrong", R15).
    pub code_grace: Duration,
    /// Finished jobs are kept this long for operators.
    pub finished_jobs: Duration,
}

/// What a clean-up removed (or, for flows, expired).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanupReport {
    pub sessions: u64,
    pub agent_sessions: u64,
    pub codes: u64,
    pub flows_expired: u64,
    pub jobs: u64,
}

impl Store {
    /// Removes what has expired: sessions past their idle or absolute limit, old codes and
    /// counters, spent captchas and finished jobs; live deletion flows left idle are marked
    /// expired (R2). Each statement stands alone, so a crash half-way loses nothing.
    pub async fn cleanup_expired(
        &self,
        now: OffsetDateTime,
        p: &CleanupPolicy,
    ) -> Result<CleanupReport, StoreError> {
        let at = |d: Duration| to_unix(now - d);
        let mut report = CleanupReport::default();
        on_db!(self, pool => {
            report.sessions = sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2")
                .bind(at(p.session_idle))
                .bind(at(p.session_absolute))
                .execute(pool)
                .await?
                .rows_affected();
            report.agent_sessions = sqlx::query("DELETE FROM agent_sessions WHERE last_seen_at < $1 OR created_at < $2")
                .bind(at(p.agent_session_idle))
                .bind(at(p.agent_session_absolute))
                .execute(pool)
                .await?
                .rows_affected();
            report.codes = sqlx::query("DELETE FROM otp_codes WHERE expires_at < $1")
                .bind(at(p.code_grace))
                .execute(pool)
                .await?
                .rows_affected();
            sqlx::query("DELETE FROM otp_failures WHERE at < $1").bind(at(p.code_grace)).execute(pool).await?;
            sqlx::query("DELETE FROM captcha_used WHERE used_at < $1").bind(at(p.code_grace)).execute(pool).await?;
            report.flows_expired = sqlx::query("UPDATE deletion_flows SET status = 'expired', updated_at = $1 WHERE status = 'live' AND updated_at < $2")
                .bind(to_unix(now))
                .bind(at(p.flow_idle))
                .execute(pool)
                .await?
                .rows_affected();
            report.jobs = sqlx::query("DELETE FROM jobs WHERE state = 'done' AND updated_at < $1")
                .bind(at(p.finished_jobs))
                .execute(pool)
                .await?
                .rows_affected();
        });
        Ok(report)
    }
}
