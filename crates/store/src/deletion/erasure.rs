//! The final erasure (R7): one transaction that re-checks the assets gate, marks the
//! account deleted, revokes everything, erases personal data, seals what the law keeps,
//! writes the tombstones and queues the notice and the `account.deleted` event. A crash
//! (or an injected fault) at any statement leaves the account exactly as it was.

use crate::batch::{text, Arg, Batch, Write};
use crate::jobs::MAIL_JOB_SQL;
use crate::{locked_tx, to_unix, Store, StoreError};
use offboard_core::events::EventType;
use offboard_core::money;
use offboard_core::AccountId;
use rust_decimal::Decimal;
use sqlx::Row;
use std::borrow::Cow;
use std::collections::BTreeMap;
use time::OffsetDateTime;

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
    /// The keyed hashes of the email, phone and document numbers (R9).
    pub tombstones: Vec<Tombstone>,
    pub allowed_from: OffsetDateTime,
    /// What the law makes us keep, sealed (R10).
    pub retained: Vec<RetainedRecord>,
    pub purge_after: OffsetDateTime,
    /// The deletion notice (R12).
    pub notice: SealedNotice,
    pub event_payload: String,
    /// The id of the queued notice; its mail job has the same id.
    pub notice_id: String,
    /// Keyed hash of the email in the login throttle table, to clear it.
    pub login_key: String,
    /// The account's email, to remove recovery requests sent before it had an account.
    pub email: String,
}

/// What stays of one identifier of a deleted account: its kind (`email`, `phone`,
/// `document`) and keyed hash, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub kind: String,
    pub hash: String,
}

/// A record kept for the law: sealed under its own key, which is wrapped under the
/// retention key (deleting the key destroys the record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetainedRecord {
    pub kind: String,
    pub sealed: String,
    pub wrapped_key: String,
}

/// The deletion notice as queued: recipient, text and html sealed; the subject is fixed
/// wording.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealedNotice {
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
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

/// Queues the scrub job `$1` at `$2` with payload `$3` (inside the erasure's
/// transaction).
const SCRUB_JOB_SQL: &str = "INSERT INTO jobs (id, kind, state, run_at, created_at, updated_at, payload) VALUES ($1, 'scrub', 'queued', $2, $2, $2, $3)
     ON CONFLICT (id) DO NOTHING";

/// The tables whose rows of the account the erasure deletes outright.
const REVOKED_TABLES: [&str; 12] = [
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
];

/// Every write of the erasure once the flow is claimed, in the order it runs (the
/// fault-injection tests name statements by position): what is kept, what is erased,
/// what is announced. The scrub job comes after these: on PostgreSQL it carries the
/// transaction's id, read inside it.
fn erasure_writes<'a>(e: &'a Erasure, account: &'a str, now: i64) -> Vec<Write<'a>> {
    let mut writes = kept_writes(e, account, now);
    writes.extend(erasing_writes(e, account, now));
    writes.extend(announcing_writes(e, account, now));
    writes
}

/// R12's notice, R10's sealed records and R9's tombstones.
fn kept_writes<'a>(e: &'a Erasure, account: &'a str, now: i64) -> Vec<Write<'a>> {
    // R12: the notice, queued with a sealed recipient.
    let mut writes = vec![
        Write::new(
            "INSERT INTO mail_queue (id, recipient_sealed, subject, body, html, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            vec![text(&e.notice_id), text(&e.notice.recipient), text(&e.notice.subject), text(&e.notice.text), text(&e.notice.html), Arg::Int(now)],
        ),
        Write::new(MAIL_JOB_SQL, vec![text(&e.notice_id), Arg::Int(now)]),
    ];
    // R10: seal what the law keeps.
    for RetainedRecord {
        kind,
        sealed,
        wrapped_key,
    } in &e.retained
    {
        let id = uuid::Uuid::now_v7().to_string();
        writes.push(Write::new(
            "INSERT INTO retained_records (id, account_id, kind, sealed, created_at, purge_after) VALUES ($1, $2, $3, $4, $5, $6)",
            vec![Arg::Text(Cow::Owned(id.clone())), text(account), text(kind), text(sealed), Arg::Int(now), Arg::Int(to_unix(e.purge_after))],
        ));
        writes.push(Write::new(
            "INSERT INTO retention_keys (record_id, wrapped_key) VALUES ($1, $2)",
            vec![Arg::Text(Cow::Owned(id)), text(wrapped_key)],
        ));
    }
    // R9: tombstones of keyed hashes only.
    for Tombstone { kind, hash } in &e.tombstones {
        writes.push(Write::new(
            "INSERT INTO tombstones (kind, hash, deleted_at, allowed_from) VALUES ($1, $2, $3, $4)",
            vec![
                text(kind),
                text(hash),
                Arg::Int(now),
                Arg::Int(to_unix(e.allowed_from)),
            ],
        ));
    }
    writes
}

/// The revocations and the erasure of the person.
fn erasing_writes<'a>(e: &'a Erasure, account: &'a str, now: i64) -> Vec<Write<'a>> {
    let mut writes = Vec::new();
    // Revoke everything.
    for table in REVOKED_TABLES {
        writes.push(Write::new(
            format!("DELETE FROM {table} WHERE account_id = $1"),
            vec![text(account)],
        ));
    }
    writes.push(Write::new(
        "DELETE FROM login_attempts WHERE login_key = $1",
        vec![text(&e.login_key)],
    ));
    // Requests sent before the address had an account carry no account id.
    writes.push(Write::new(
        "DELETE FROM recovery_requests WHERE account_id = $1 OR email = $2",
        vec![text(account), text(&e.email)],
    ));
    // Contact requests: the message (and the answer) is personal data.
    writes.push(Write::new(
        "DELETE FROM support_requests WHERE account_id = $1",
        vec![text(account)],
    ));
    // Withdrawal addresses are personal data; amounts stay in the books.
    writes.push(Write::new(
        "UPDATE withdrawals SET address = '' WHERE account_id = $1",
        vec![text(account)],
    ));
    // Erase the person and mark the account deleted with its official time.
    writes.push(Write::new(
        "UPDATE accounts SET email = NULL, password_hash = NULL, phone = NULL, status = 'deleted', deleted_at = $1,
         cooloff_until = NULL, require_passkey = 0 WHERE id = $2 AND status = 'active'",
        vec![Arg::Int(now), text(account)],
    ));
    writes
}

/// R13's event for downstream services and R14's audit line.
fn announcing_writes<'a>(e: &'a Erasure, account: &'a str, now: i64) -> Vec<Write<'a>> {
    let mut writes = Vec::new();
    // R13: the event for downstream services.
    let event_id = uuid::Uuid::now_v7().to_string();
    writes.push(Write::new(
        "INSERT INTO events (id, type, payload, created_at) VALUES ($1, $2, $3, $4)",
        vec![
            Arg::Text(Cow::Owned(event_id.clone())),
            Arg::Text(Cow::Borrowed(EventType::AccountDeleted.as_str())),
            text(&e.event_payload),
            Arg::Int(now),
        ],
    ));
    writes.push(Write::new(
        crate::webhooks::EVENT_JOB_SQL,
        vec![Arg::Text(Cow::Owned(event_id)), Arg::Int(now)],
    ));
    // R14.
    writes.push(Write::new(
        "INSERT INTO audit_log (at, account_id, actor, action, detail) VALUES ($1, $2, 'user', 'account_deleted', NULL)",
        vec![Arg::Int(now), text(account)],
    ));
    writes
}

impl Store {
    /// Makes the final step fail at its `n`-th statement (1-based) once, to prove the
    /// transaction is all-or-nothing (the tombstone lift's audit write is guarded the
    /// same way). Only tests call it; production never does.
    #[cfg(feature = "testing")]
    pub fn inject_erasure_fault(&self, n: i64) {
        self.faults.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    #[cfg(feature = "testing")]
    pub(crate) fn checkpoint(&self) -> Result<(), StoreError> {
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
    pub(crate) fn checkpoint(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Where among the next `count` statements (0-based) the injected fault falls, if it
    /// does; the countdown moves past them either way.
    #[cfg(feature = "testing")]
    fn fault_among(&self, count: usize) -> Option<usize> {
        use std::sync::atomic::Ordering;
        let left = usize::try_from(self.faults.load(Ordering::SeqCst)).unwrap_or(0);
        if left == 0 {
            return None;
        }
        let rest = left.saturating_sub(count);
        self.faults
            .store(i64::try_from(rest).unwrap_or(0), Ordering::SeqCst);
        (rest == 0).then(|| left - 1)
    }

    #[cfg(not(feature = "testing"))]
    fn fault_among(&self, _count: usize) -> Option<usize> {
        None
    }

    /// R7: the final step, in one transaction under the account's ledger lock (so a
    /// deposit either lands before, and blocks, or after, and is unclaimed).
    pub async fn erase_account(&self, e: &Erasure) -> Result<EraseOutcome, StoreError> {
        let account = e.account_id.to_string();
        let now = to_unix(e.now);
        let key = format!("ledger:{account}");
        let scrub_job = format!("scrub:{account}");
        let mut writes = erasure_writes(e, &account, now);
        if self.backend() == crate::Backend::Sqlite {
            // No transaction id to carry on SQLite.
            writes.push(Write::new(
                SCRUB_JOB_SQL,
                vec![text(&scrub_job), Arg::Int(now), Arg::OptText(None)],
            ));
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
                    // Every write in one call (crate::batch); a fault injected at the
                    // k-th runs the ones before it, then fails the transaction.
                    let fault = self.fault_among(writes.len());
                    let backend = self.backend();
                    if let Some(k) = fault {
                        if k > 0 {
                            Batch::new(backend, &writes[..k], "SELECT 1").query().execute(&mut *tx).await?;
                        }
                        return Err(StoreError::InjectedFault);
                    }
                    // R20: the job that vacuums what this transaction touched. On
                    // PostgreSQL it carries this transaction's id (the batch answers
                    // it): the erased row versions can only be removed once every older
                    // snapshot is gone. On SQLite it is the batch's last write.
                    let batch = Batch::new(backend, &writes, "SELECT pg_current_xact_id()::text");
                    if backend == crate::Backend::Postgres {
                        let xid: String = batch.query().fetch_one(&mut *tx).await?.try_get(0)?;
                        self.checkpoint()?;
                        sqlx::query(SCRUB_JOB_SQL).bind(&scrub_job).bind(now).bind(xid).execute(&mut *tx).await?;
                    } else {
                        batch.query().execute(&mut *tx).await?;
                    }
                    EraseOutcome::Erased
                }
            }
        });
        if out == EraseOutcome::Erased && self.backend() == crate::Backend::Sqlite {
            // R20: the WAL still holds the pages as they were before the erasure; fold it
            // into the (zeroed) database file and cut it to nothing before answering (a
            // truncation shared with the erasures committed beside this one). The
            // deletion is committed either way, so a failure here is only logged (the
            // scrub job tries again); after a success the job is marked done.
            if let Err(err) = self.wal_truncated_after_commit(scrub_job, e.now).await {
                tracing::warn!(%err, "the WAL was not truncated after an erasure; the scrub job retries");
            }
        }
        Ok(out)
    }
}
