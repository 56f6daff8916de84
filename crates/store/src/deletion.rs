//! Deletion flows, identity-step failures, captcha single use, tombstones, and the final
//! erasure (R7): one transaction that re-checks the assets gate, marks the account
//! deleted, revokes everything, erases personal data, seals what the law keeps, writes
//! the tombstones and queues the notice and the `account.deleted` event. A crash (or an
//! injected fault) at any statement leaves the account exactly as it was.

use crate::jobs::MAIL_JOB_SQL;
use crate::{from_unix, locked_tx, on_db, to_unix, Store, StoreError};
use offboard_core::deletion::Step;
use offboard_core::money;
use offboard_core::AccountId;
use rust_decimal::Decimal;
use sqlx::Row;
use std::collections::BTreeMap;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRow {
    pub id: String,
    pub account_id: AccountId,
    pub session_hash: String,
    pub step: Step,
    pub status: String,
    pub captcha_required: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub deleted_at: Option<OffsetDateTime>,
}

/// Everything the final transaction writes besides the erasure itself.
#[derive(Debug, Clone)]
pub struct Erasure {
    pub account_id: AccountId,
    pub flow_id: String,
    pub now: OffsetDateTime,
    /// Re-check the embedded ledger inside the transaction (false when the host platform
    /// is the asset source; it was checked just before).
    pub recheck_ledger: bool,
    pub dust: BTreeMap<String, Decimal>,
    /// (kind, keyed hash) of the email, phone and document numbers.
    pub tombstones: Vec<(String, String)>,
    pub allowed_from: OffsetDateTime,
    /// (kind, sealed record, wrapped per-record key).
    pub retained: Vec<(String, String, String)>,
    pub purge_after: OffsetDateTime,
    /// The deletion notice (R12): sealed recipient, subject, text, html.
    pub notice: (String, String, String, String),
    pub event_payload: String,
    /// The id of the queued notice; its mail job has the same id.
    pub notice_id: String,
    /// Keyed hash of the email in the login throttle table, to clear it.
    pub login_key: String,
    /// The account's email, to remove recovery requests sent before it had an account.
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EraseOutcome {
    Erased,
    /// R4 re-check failed inside the transaction: nothing changed.
    Blocked(Vec<money::Blocker>),
    /// The flow is no longer live at the identity step (another tab finished or it
    /// expired): nothing changed.
    FlowGone,
}

/// What [`Store::begin_identity_attempt`] decided (R6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityAttempt {
    /// Five wrong answers in the last 24 hours: nothing is evaluated until `until`.
    Locked { until: OffsetDateTime },
    /// The answer may be evaluated; it already counts as failure number `failures`.
    Charged { attempt_id: i64, failures: u32 },
}

/// Every table the final step erases rows or values of (R20: the scrub job vacuums them).
pub const ERASED_TABLES: [&str; 14] = [
    "accounts",
    "sessions",
    "otp_codes",
    "otp_failures",
    "totp_factors",
    "identity_failures",
    "identity_numbers",
    "identity_history",
    "identities",
    "login_attempts",
    "recovery_requests",
    "withdrawals",
    "mail_queue",
    "dev_outbox",
];

/// R6: the account's wrong identity answers since `$2`: (n, latest).
const IDENTITY_FAILURES_SQL: &str =
    "SELECT COUNT(*) AS n, MAX(at) AS latest FROM identity_failures WHERE account_id = $1 AND at > $2";

/// Queues the scrub job `$1` at `$2` with payload `$3` (inside the erasure's
/// transaction).
const SCRUB_JOB_SQL: &str = "INSERT INTO jobs (id, kind, state, run_at, created_at, updated_at, payload) VALUES ($1, 'scrub', 'queued', $2, $2, $2, $3)
     ON CONFLICT (id) DO NOTHING";

const FLOW_COLUMNS: &str = "id, account_id, session_hash, step, status, captcha_required, created_at, updated_at, deleted_at";

fn flow_from_row<R: Row>(row: &R) -> Result<FlowRow, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let account: String = row.try_get("account_id")?;
    let step: String = row.try_get("step")?;
    Ok(FlowRow {
        id: row.try_get("id")?,
        account_id: account
            .parse()
            .map_err(|_| StoreError::Corrupt("flow account".into()))?,
        session_hash: row.try_get("session_hash")?,
        step: Step::parse(&step)
            .ok_or_else(|| StoreError::Corrupt(format!("flow step {step:?}")))?,
        status: row.try_get("status")?,
        captcha_required: row.try_get::<i64, _>("captcha_required")? != 0,
        created_at: from_unix(row.try_get("created_at")?),
        updated_at: from_unix(row.try_get("updated_at")?),
        deleted_at: row.try_get::<Option<i64>, _>("deleted_at")?.map(from_unix),
    })
}

impl Store {
    /// The account's live flow, if any.
    pub async fn live_flow(&self, account_id: AccountId) -> Result<Option<FlowRow>, StoreError> {
        let sql = format!(
            "SELECT {FLOW_COLUMNS} FROM deletion_flows WHERE account_id = $1 AND status = 'live'"
        );
        on_db!(self, pool => {
            let row = sqlx::query(&sql).bind(account_id.to_string()).fetch_optional(pool).await?;
            row.as_ref().map(flow_from_row).transpose()
        })
    }

    pub async fn flow(&self, id: &str) -> Result<Option<FlowRow>, StoreError> {
        let sql = format!("SELECT {FLOW_COLUMNS} FROM deletion_flows WHERE id = $1");
        on_db!(self, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(flow_from_row).transpose()
        })
    }

    /// Starts a flow unless one is live; a live flow of another session is replaced (a
    /// flow belongs to one session, R1). Returns the live flow and whether it is new.
    pub async fn start_flow(
        &self,
        account_id: AccountId,
        session_hash: &str,
        captcha_required: bool,
        now: OffsetDateTime,
    ) -> Result<(FlowRow, bool), StoreError> {
        let account = account_id.to_string();
        let key = format!("flow:{account}");
        let sql = format!(
            "SELECT {FLOW_COLUMNS} FROM deletion_flows WHERE account_id = $1 AND status = 'live'"
        );
        let out = locked_tx!(self, key, tx => {
            let live = sqlx::query(&sql).bind(&account).fetch_optional(&mut *tx).await?;
            let live = live.as_ref().map(flow_from_row).transpose()?;
            match live {
                Some(flow) if flow.session_hash == session_hash => (flow, false),
                other => {
                    if other.is_some() {
                        sqlx::query("UPDATE deletion_flows SET status = 'replaced', updated_at = $1 WHERE account_id = $2 AND status = 'live'")
                            .bind(to_unix(now))
                            .bind(&account)
                            .execute(&mut *tx)
                            .await?;
                    }
                    let flow = FlowRow {
                        id: uuid::Uuid::now_v7().to_string(),
                        account_id,
                        session_hash: session_hash.to_owned(),
                        step: Step::Notes,
                        status: "live".into(),
                        captcha_required,
                        created_at: now,
                        updated_at: now,
                        deleted_at: None,
                    };
                    sqlx::query(
                        "INSERT INTO deletion_flows (id, account_id, session_hash, step, status, captcha_required, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, 'live', $5, $6, $6)",
                    )
                    .bind(&flow.id)
                    .bind(&account)
                    .bind(session_hash)
                    .bind(Step::Notes.as_str())
                    .bind(i64::from(captcha_required))
                    .bind(to_unix(now))
                    .execute(&mut *tx)
                    .await?;
                    // R13: downstream services may want to know a deletion is coming
                    // (say, to stop opening new positions); no personal data.
                    let event_id = uuid::Uuid::now_v7().to_string();
                    let started_at = now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
                    let payload = serde_json::json!({"account_id": &account, "flow_id": &flow.id, "started_at": started_at}).to_string();
                    sqlx::query("INSERT INTO events (id, type, payload, created_at) VALUES ($1, 'account.deletion_started', $2, $3)")
                        .bind(&event_id)
                        .bind(&payload)
                        .bind(to_unix(now))
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(crate::webhooks::EVENT_JOB_SQL).bind(&event_id).bind(to_unix(now)).execute(&mut *tx).await?;
                    (flow, true)
                }
            }
        });
        Ok(out)
    }

    /// Moves a live flow from `from` to `to` (compare-and-set; false if it moved meanwhile).
    pub async fn advance_flow(
        &self,
        id: &str,
        from: Step,
        to: Step,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let n = on_db!(self, pool => sqlx::query(
            "UPDATE deletion_flows SET step = $1, updated_at = $2 WHERE id = $3 AND step = $4 AND status = 'live'",
        )
        .bind(to.as_str())
        .bind(to_unix(now))
        .bind(id)
        .bind(from.as_str())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    pub async fn touch_flow(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("UPDATE deletion_flows SET updated_at = $1 WHERE id = $2 AND status = 'live'")
            .bind(to_unix(now))
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub async fn expire_flow(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("UPDATE deletion_flows SET status = 'expired', updated_at = $1 WHERE id = $2 AND status = 'live'")
            .bind(to_unix(now))
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Records a captcha challenge as used; false if it was used before (R3 single use).
    pub async fn use_captcha(
        &self,
        challenge: &str,
        flow_id: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        match on_db!(self, pool => sqlx::query("INSERT INTO captcha_used (challenge, flow_id, used_at) VALUES ($1, $2, $3)")
            .bind(challenge)
            .bind(flow_id)
            .bind(to_unix(now))
            .execute(pool)
            .await
            .map(|_| ()))
        {
            Ok(()) => Ok(true),
            Err(err) => match StoreError::from(err) {
                StoreError::Conflict => Ok(false),
                other => Err(other),
            },
        }
    }

    /// Wrong identity answers in the last 24 hours: (count, latest).
    pub async fn identity_failures(
        &self,
        account_id: AccountId,
        now: OffsetDateTime,
    ) -> Result<(u32, Option<OffsetDateTime>), StoreError> {
        on_db!(self, pool => {
            let row = sqlx::query(IDENTITY_FAILURES_SQL)
                .bind(account_id.to_string())
                .bind(to_unix(now - offboard_core::deletion::IDENTITY_LOCK))
                .fetch_one(pool)
                .await?;
            let n: i64 = row.try_get("n")?;
            let latest: Option<i64> = row.try_get("latest")?;
            Ok((u32::try_from(n).unwrap_or(u32::MAX), latest.map(from_unix)))
        })
    }

    /// R6: counts the account's wrong identity answers of the last 24 hours and, unless
    /// the step is locked, charges this answer as a failure, in one transaction
    /// serialised per account (SQLite's single writer; a PostgreSQL advisory lock). A
    /// burst of parallel answers therefore sees every answer before it: at most
    /// [`offboard_core::deletion::MAX_IDENTITY_FAILURES`] are ever evaluated. A right
    /// answer takes its charge back with [`Store::forget_identity_attempt`].
    pub async fn begin_identity_attempt(
        &self,
        account_id: AccountId,
        now: OffsetDateTime,
    ) -> Result<IdentityAttempt, StoreError> {
        let account = account_id.to_string();
        let since = to_unix(now - offboard_core::deletion::IDENTITY_LOCK);
        let attempt = locked_tx!(self, format!("identity-attempts:{account}"), tx => {
            let row = sqlx::query(IDENTITY_FAILURES_SQL)
                .bind(&account)
                .bind(since)
                .fetch_one(&mut *tx)
                .await?;
            let n: i64 = row.try_get("n")?;
            let latest: Option<i64> = row.try_get("latest")?;
            let before = u32::try_from(n).unwrap_or(u32::MAX);
            match offboard_core::deletion::identity_locked_until(before, latest.map(from_unix), now) {
                Some(until) => IdentityAttempt::Locked { until },
                None => {
                    let id: i64 = sqlx::query("INSERT INTO identity_failures (account_id, at) VALUES ($1, $2) RETURNING id")
                        .bind(&account)
                        .bind(to_unix(now))
                        .fetch_one(&mut *tx)
                        .await?
                        .try_get("id")?;
                    IdentityAttempt::Charged { attempt_id: id, failures: before.saturating_add(1) }
                }
            }
        });
        Ok(attempt)
    }

    /// Takes back the charge of a right identity answer (R6).
    pub async fn forget_identity_attempt(&self, attempt_id: i64) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("DELETE FROM identity_failures WHERE id = $1")
            .bind(attempt_id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Records one wrong identity answer (tests set up a locked step with it).
    pub async fn record_identity_failure(
        &self,
        account_id: AccountId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("INSERT INTO identity_failures (account_id, at) VALUES ($1, $2)")
            .bind(account_id.to_string())
            .bind(to_unix(now))
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Support's unlock (R11): forgets the failures, with its audit line, in one
    /// transaction.
    pub async fn clear_identity_failures(
        &self,
        account_id: AccountId,
        audit: &crate::AuditEntry<'_>,
    ) -> Result<(), StoreError> {
        crate::in_tx!(self, tx => {
            sqlx::query("DELETE FROM identity_failures WHERE account_id = $1")
                .bind(account_id.to_string())
                .execute(&mut *tx)
                .await?;
            crate::audit::insert_audit!(tx, audit);
        });
        Ok(())
    }

    /// R9: when a tombstoned keyed hash may register again, if it is still blocked.
    pub async fn tombstone_blocks(
        &self,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        on_db!(self, pool => {
            let row = sqlx::query("SELECT MAX(allowed_from) AS until FROM tombstones WHERE hash = $1 AND allowed_from > $2")
                .bind(hash)
                .bind(to_unix(now))
                .fetch_one(pool)
                .await?;
            Ok(row.try_get::<Option<i64>, _>("until")?.map(from_unix))
        })
    }

    pub async fn cooloff_until(
        &self,
        account_id: AccountId,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        on_db!(self, pool => {
            let row = sqlx::query("SELECT cooloff_until FROM accounts WHERE id = $1").bind(account_id.to_string()).fetch_optional(pool).await?;
            Ok(match row {
                Some(row) => row.try_get::<Option<i64>, _>("cooloff_until")?.map(from_unix),
                None => None,
            })
        })
    }

    /// Starts the 24-hour deletion cool-off (after a password reset, factor reset or recovery).
    pub async fn set_cooloff_until(
        &self,
        account_id: AccountId,
        until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("UPDATE accounts SET cooloff_until = $1 WHERE id = $2")
            .bind(to_unix(until))
            .bind(account_id.to_string())
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Makes the final step fail at its `n`-th statement (1-based) once, to prove the
    /// transaction is all-or-nothing. Only tests call it; production never does.
    #[cfg(feature = "testing")]
    pub fn inject_erasure_fault(&self, n: i64) {
        self.faults.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    #[cfg(feature = "testing")]
    fn checkpoint(&self) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering;
        let left = self.faults.load(Ordering::SeqCst);
        if left > 0 {
            self.faults.store(left - 1, Ordering::SeqCst);
            if left == 1 {
                return Err(StoreError::InjectedFault);
            }
        }
        Ok(())
    }

    /// Without the `testing` feature no fault can be injected.
    #[cfg(not(feature = "testing"))]
    fn checkpoint(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// R7: the final step, in one transaction under the account's ledger lock (so a
    /// deposit either lands before, and blocks, or after, and is unclaimed).
    pub async fn erase_account(&self, e: &Erasure) -> Result<EraseOutcome, StoreError> {
        let account = e.account_id.to_string();
        let now = to_unix(e.now);
        let key = format!("ledger:{account}");
        macro_rules! step {
            ($tx:ident, $q:expr) => {{
                self.checkpoint()?;
                $q.execute(&mut *$tx).await?
            }};
        }
        let out = locked_tx!(self, key, tx => {
            // R4 again, inside the transaction.
            let mut blockers = Vec::new();
            if e.recheck_ledger {
                self.checkpoint()?;
                let holdings = crate::ledger::holdings_of!(&mut *tx, &account);
                blockers = money::blockers(&holdings, &e.dust);
            }
            if !blockers.is_empty() {
                EraseOutcome::Blocked(blockers)
            } else {
                // The flow must still be live at the identity step: two tabs delete once.
                self.checkpoint()?;
                let claimed = sqlx::query(
                    "UPDATE deletion_flows SET status = 'completed', step = 'deleted', deleted_at = $1, updated_at = $1
                     WHERE id = $2 AND account_id = $3 AND status = 'live' AND step = 'identity'",
                )
                .bind(now)
                .bind(&e.flow_id)
                .bind(&account)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if claimed != 1 {
                    EraseOutcome::FlowGone
                } else {
                    // R12: the notice, queued with a sealed recipient.
                    step!(tx, sqlx::query("INSERT INTO mail_queue (id, recipient_sealed, subject, body, html, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(&e.notice_id)
                        .bind(&e.notice.0)
                        .bind(&e.notice.1)
                        .bind(&e.notice.2)
                        .bind(&e.notice.3)
                        .bind(now));
                    step!(tx, sqlx::query(MAIL_JOB_SQL).bind(&e.notice_id).bind(now));
                    // R10: seal what the law keeps.
                    for (kind, sealed, wrapped_key) in &e.retained {
                        let id = uuid::Uuid::now_v7().to_string();
                        step!(tx, sqlx::query("INSERT INTO retained_records (id, account_id, kind, sealed, created_at, purge_after) VALUES ($1, $2, $3, $4, $5, $6)")
                            .bind(&id)
                            .bind(&account)
                            .bind(kind)
                            .bind(sealed)
                            .bind(now)
                            .bind(to_unix(e.purge_after)));
                        step!(tx, sqlx::query("INSERT INTO retention_keys (record_id, wrapped_key) VALUES ($1, $2)").bind(&id).bind(wrapped_key));
                    }
                    // R9: tombstones of keyed hashes only.
                    for (kind, hash) in &e.tombstones {
                        step!(tx, sqlx::query("INSERT INTO tombstones (kind, hash, deleted_at, allowed_from) VALUES ($1, $2, $3, $4)")
                            .bind(kind)
                            .bind(hash)
                            .bind(now)
                            .bind(to_unix(e.allowed_from)));
                    }
                    // Revoke everything.
                    for table in ["sessions", "otp_codes", "otp_failures", "totp_factors", "identity_failures", "identity_numbers", "identity_history", "identities"] {
                        step!(tx, sqlx::query(&format!("DELETE FROM {table} WHERE account_id = $1")).bind(&account));
                    }
                    step!(tx, sqlx::query("DELETE FROM login_attempts WHERE login_key = $1").bind(&e.login_key));
                    // Requests sent before the address had an account carry no account id.
                    step!(tx, sqlx::query("DELETE FROM recovery_requests WHERE account_id = $1 OR email = $2").bind(&account).bind(&e.email));
                    // Withdrawal addresses are personal data; amounts stay in the books.
                    step!(tx, sqlx::query("UPDATE withdrawals SET address = '' WHERE account_id = $1").bind(&account));
                    // Erase the person and mark the account deleted with its official time.
                    step!(tx, sqlx::query(
                        "UPDATE accounts SET email = NULL, password_hash = NULL, phone = NULL, status = 'deleted', deleted_at = $1,
                         cooloff_until = NULL WHERE id = $2 AND status = 'active'",
                    )
                    .bind(now)
                    .bind(&account));
                    // R13: the event for downstream services.
                    let event_id = uuid::Uuid::now_v7().to_string();
                    step!(tx, sqlx::query("INSERT INTO events (id, type, payload, created_at) VALUES ($1, 'account.deleted', $2, $3)")
                        .bind(&event_id)
                        .bind(&e.event_payload)
                        .bind(now));
                    step!(tx, sqlx::query(crate::webhooks::EVENT_JOB_SQL).bind(&event_id).bind(now));
                    // R14.
                    step!(tx, sqlx::query("INSERT INTO audit_log (at, account_id, actor, action, detail) VALUES ($1, $2, 'user', 'account_deleted', NULL)")
                        .bind(now)
                        .bind(&account));
                    // R20: the job that vacuums what this transaction touched.
                    // On PostgreSQL it carries this transaction's id: the erased row
                    // versions can only be removed once every older snapshot is gone.
                    let xid: Option<String> = if self.backend() == crate::Backend::Postgres {
                        self.checkpoint()?;
                        Some(sqlx::query_scalar("SELECT pg_current_xact_id()::text").fetch_one(&mut *tx).await?)
                    } else {
                        None
                    };
                    step!(tx, sqlx::query(SCRUB_JOB_SQL).bind(format!("scrub:{account}")).bind(now).bind(xid));
                    EraseOutcome::Erased
                }
            }
        });
        if out == EraseOutcome::Erased {
            // R20: the WAL still holds the pages as they were before the erasure; fold it
            // into the (zeroed) database file and cut it to nothing before answering.
            // The deletion is committed either way, so a failure here is only logged
            // (the scrub job tries again).
            if let Err(err) = self.truncate_sqlite_wal().await {
                tracing::warn!(%err, "the WAL was not truncated after an erasure; the scrub job retries");
            }
        }
        Ok(out)
    }

    /// R20 on SQLite: `wal_checkpoint(TRUNCATE)`, retried while readers hold old frames.
    /// A no-op on PostgreSQL.
    pub async fn truncate_sqlite_wal(&self) -> Result<(), StoreError> {
        let crate::Db::Sqlite(pool) = &self.db else {
            return Ok(());
        };
        for _ in 0..20 {
            let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(pool)
                .await?;
            let busy: i64 = row.try_get(0)?;
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
    /// its table for as long as the copy takes; the lock is waited for at most two
    /// seconds (then the job fails and is retried later). Without `rewrite`, a plain
    /// VACUUM (what remains then is in docs/security.md).
    ///
    /// A row version deleted by transaction X stays (even through `VACUUM FULL`) while
    /// any snapshot older than X exists anywhere in the cluster, so the job first checks
    /// that the erasure (`job`'s payload) is older than every running snapshot; if not,
    /// it fails with [`StoreError::Busy`] and is retried later.
    pub async fn scrub_storage(&self, job: &str, rewrite: bool) -> Result<(), StoreError> {
        match &self.db {
            crate::Db::Sqlite(_) => self.truncate_sqlite_wal().await,
            crate::Db::Postgres(pool) => {
                let erasure: Option<String> =
                    sqlx::query_scalar("SELECT payload FROM jobs WHERE id = $1")
                        .bind(job)
                        .fetch_optional(pool)
                        .await?
                        .flatten();
                if let Some(xid) = erasure.and_then(|x| x.parse::<u64>().ok()) {
                    let oldest: String =
                        sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")
                            .fetch_one(pool)
                            .await?;
                    if oldest.parse::<u64>().unwrap_or(0) <= xid {
                        return Err(StoreError::Busy(
                            "a transaction older than the erasure is still running".into(),
                        ));
                    }
                }
                // VACUUM cannot run inside a transaction block; the session setting
                // lives on one connection, reset before it returns to the pool.
                let mut conn = pool.acquire().await?;
                sqlx::query("SET lock_timeout = '2s'")
                    .execute(&mut *conn)
                    .await?;
                let command = if rewrite { "VACUUM FULL" } else { "VACUUM" };
                let mut result = Ok(());
                for table in ERASED_TABLES {
                    if let Err(err) = sqlx::query(&format!("{command} {table}"))
                        .execute(&mut *conn)
                        .await
                    {
                        result = Err(err.into());
                        break;
                    }
                }
                sqlx::query("RESET lock_timeout")
                    .execute(&mut *conn)
                    .await?;
                result
            }
        }
    }

    /// One queued mail: (sealed recipient, subject, text, html); None once sent.
    pub async fn queued_mail_by_id(
        &self,
        id: &str,
    ) -> Result<Option<(String, String, String, Option<String>)>, StoreError> {
        on_db!(self, pool => {
            sqlx::query("SELECT recipient_sealed, subject, body, html FROM mail_queue WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
                .map(|r| Ok((r.try_get("recipient_sealed")?, r.try_get("subject")?, r.try_get("body")?, r.try_get("html")?)))
                .transpose()
        })
    }

    pub async fn forget_mail(&self, id: &str) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("DELETE FROM mail_queue WHERE id = $1").bind(id).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Events written by the outbox, oldest first: (type, payload).
    pub async fn events(&self) -> Result<Vec<(String, String)>, StoreError> {
        on_db!(self, pool => {
            sqlx::query("SELECT type, payload FROM events ORDER BY created_at, id")
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| Ok((r.try_get("type")?, r.try_get("payload")?)))
                .collect()
        })
    }

    /// Sealed retained records of an account: (kind, sealed, wrapped key).
    pub async fn retained_records(
        &self,
        account_id: AccountId,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        on_db!(self, pool => {
            sqlx::query(
                "SELECT r.kind, r.sealed, k.wrapped_key FROM retained_records r JOIN retention_keys k ON k.record_id = r.id
                 WHERE r.account_id = $1 ORDER BY r.created_at, r.id",
            )
            .bind(account_id.to_string())
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("kind")?, r.try_get("sealed")?, r.try_get("wrapped_key")?)))
            .collect()
        })
    }
}

/// What a purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub tombstones: u64,
    pub retained_records: u64,
    pub login_attempts: u64,
}

/// Rows removed per purge transaction: short transactions keep locks brief and memory
/// bounded however many records fall due at once.
const PURGE_BATCH: i64 = 5_000;

impl Store {
    /// R9/R10 housekeeping: tombstones whose wait is over, and retained records whose
    /// period ended (the rows first, then their keys, in one transaction per batch:
    /// without its key nothing of a record is readable even from a backup). Idempotent;
    /// safe to run from several instances at once.
    pub async fn purge_expired(&self, now: OffsetDateTime) -> Result<PurgeReport, StoreError> {
        let at = to_unix(now);
        let mut report = PurgeReport::default();
        loop {
            let n = on_db!(self, pool => sqlx::query(
                "DELETE FROM tombstones WHERE id IN (SELECT id FROM tombstones WHERE allowed_from <= $1 LIMIT $2)",
            )
            .bind(at)
            .bind(PURGE_BATCH)
            .execute(pool)
            .await?
            .rows_affected());
            report.tombstones += n;
            if n < PURGE_BATCH as u64 {
                break;
            }
        }
        loop {
            let n = crate::in_tx!(self, tx => {
                let ids: Vec<String> = sqlx::query(
                    "DELETE FROM retained_records WHERE id IN (SELECT id FROM retained_records WHERE purge_after <= $1 LIMIT $2) RETURNING id",
                )
                .bind(at)
                .bind(PURGE_BATCH)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>("id"))
                .collect::<Result<_, _>>()?;
                if !ids.is_empty() {
                    // One statement for the batch's keys; the ids travel as one JSON array.
                    let ids_json = serde_json::to_string(&ids).unwrap_or_default();
                    sqlx::query(retention_keys_delete(self.backend()))
                        .bind(ids_json)
                        .execute(&mut *tx)
                        .await?;
                }
                ids.len() as u64
            });
            report.retained_records += n;
            if n < PURGE_BATCH as u64 {
                break;
            }
        }
        report.login_attempts = self.prune_login_attempts(now).await?;
        Ok(report)
    }
}

/// Deletes the keys whose record ids are in the JSON array `$1`.
fn retention_keys_delete(backend: crate::Backend) -> &'static str {
    match backend {
        crate::Backend::Sqlite => "DELETE FROM retention_keys WHERE record_id IN (SELECT value FROM json_each($1))",
        crate::Backend::Postgres => {
            "DELETE FROM retention_keys WHERE record_id IN (SELECT jsonb_array_elements_text($1::jsonb))"
        }
    }
}
