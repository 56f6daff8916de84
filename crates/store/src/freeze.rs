//! Security alerts and the freeze (R17, R21): the alert's freeze token with its messages,
//! the devices an account signed in from, freezing (one transaction under the ledger
//! lock) and unfreezing.

use crate::jobs::MAIL_JOB_SQL;
use crate::ledger::{
    available_in_tx, dec, journal_line, lock_key, set_available_in_tx, BOOK_AVAILABLE,
    BOOK_WITHDRAWING,
};
use crate::{from_unix, in_tx, locked_tx, on_reader, to_unix, AuditEntry, Store, StoreError};
use offboard_core::AccountId;
use rust_decimal::Decimal;
use sqlx::Row;
use time::OffsetDateTime;

/// One message of an alert, queued with it: recipient and bodies sealed by the caller.
#[derive(Debug, Clone)]
pub struct AlertMessage<'a> {
    pub id: &'a str,
    /// `email` or `sms`.
    pub channel: &'a str,
    pub recipient_sealed: &'a str,
    pub subject: &'a str,
    pub body_sealed: &'a str,
    pub html_sealed: Option<&'a str>,
}

/// A security alert: its freeze token (only the hash) and its messages.
#[derive(Debug, Clone)]
pub struct NewAlert<'a> {
    pub account_id: AccountId,
    /// The alert kind, e.g. `new_sign_in`.
    pub alert: &'a str,
    pub token_hash: &'a str,
    pub expires_at: OffsetDateTime,
    pub messages: &'a [AlertMessage<'a>],
    pub now: OffsetDateTime,
}

/// How a freeze was asked for.
#[derive(Debug, Clone, Copy)]
pub enum FreezeBy<'a> {
    /// An alert's link: the token (by hash) must be this account's, unused and unexpired.
    Link { token_hash: &'a str },
    /// The owner, signed in (the Security page or the API).
    Owner,
}

#[derive(Debug, Clone)]
pub struct Freeze<'a> {
    pub account_id: AccountId,
    pub by: FreezeBy<'a>,
    /// The `account.frozen` event's payload (no personal data).
    pub event_payload: &'a str,
    pub audit: AuditEntry<'a>,
    pub now: OffsetDateTime,
}

/// Why a freeze link was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// No such token for this account (a typo, or another account's link).
    Unknown,
    Used,
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FreezeOutcome {
    /// Frozen now; these pending withdrawals were cancelled and their funds returned.
    Frozen {
        cancelled_withdrawals: Vec<String>,
    },
    /// It was frozen already (the link, if any, is used up all the same).
    AlreadyFrozen,
    Refused(LinkRefusal),
}

/// Spends a freeze token inside the transaction, or says why it cannot be spent.
macro_rules! spend_token {
    ($tx:ident, $hash:expr, $account:expr, $now:expr) => {{
        let row = sqlx::query(
            "SELECT expires_at, used_at FROM freeze_tokens WHERE token_hash = $1 AND account_id = $2",
        )
        .bind($hash)
        .bind($account)
        .fetch_optional(&mut *$tx)
        .await?;
        match row {
            None => Some(LinkRefusal::Unknown),
            Some(row) => {
                let used: Option<i64> = row.try_get("used_at")?;
                let expires: i64 = row.try_get("expires_at")?;
                if used.is_some() {
                    Some(LinkRefusal::Used)
                } else if expires <= $now {
                    Some(LinkRefusal::Expired)
                } else {
                    let n = sqlx::query("UPDATE freeze_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL")
                        .bind($now)
                        .bind($hash)
                        .execute(&mut *$tx)
                        .await?
                        .rows_affected();
                    (n != 1).then_some(LinkRefusal::Used)
                }
            }
        }
    }};
}

/// Cancels every pending withdrawal of the account inside the transaction (funds back
/// to `available`, journal lines, an audit line each); answers their ids.
macro_rules! cancel_pending_withdrawals {
    ($tx:ident, $account:expr, $account_id:expr, $now:expr) => {{
        let account: &str = $account;
        let pending = sqlx::query("SELECT id, asset, amount FROM withdrawals WHERE account_id = $1 AND status = 'pending' ORDER BY created_at, id")
            .bind(account)
            .fetch_all(&mut *$tx)
            .await?
            .iter()
            .map(|r| Ok((r.try_get::<String, _>("id")?, r.try_get::<String, _>("asset")?, dec(&r.try_get::<String, _>("amount")?)?)))
            .collect::<Result<Vec<(String, String, Decimal)>, StoreError>>()?;
        let mut cancelled = Vec::new();
        for (id, asset, amount) in pending {
            sqlx::query("UPDATE withdrawals SET status = 'cancelled', updated_at = $1 WHERE id = $2 AND status = 'pending'")
                .bind(to_unix($now))
                .bind(&id)
                .execute(&mut *$tx)
                .await?;
            let balance = available_in_tx!($tx, account, &asset);
            journal_line!($tx, &id, $now, Some(account), BOOK_WITHDRAWING, &asset, -amount, "withdrawal_cancelled");
            journal_line!($tx, &id, $now, Some(account), BOOK_AVAILABLE, &asset, amount, "withdrawal_cancelled");
            set_available_in_tx!($tx, account, &asset, balance + amount);
            let detail = format!("withdrawal={id} (account frozen)");
            crate::audit::insert_audit!($tx, &AuditEntry {
                at: $now,
                account_id: Some($account_id),
                actor: "system",
                action: "withdrawal_cancelled",
                detail: Some(&detail),
            });
            cancelled.push(id);
        }
        cancelled
    }};
}

impl Store {
    /// Stores an alert's freeze token and queues its messages with their jobs, in one
    /// transaction.
    pub async fn queue_alert(&self, a: &NewAlert<'_>) -> Result<(), StoreError> {
        let now = to_unix(a.now);
        in_tx!(self, tx => {
            sqlx::query("INSERT INTO freeze_tokens (token_hash, account_id, alert, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(a.token_hash)
                .bind(a.account_id.to_string())
                .bind(a.alert)
                .bind(now)
                .bind(to_unix(a.expires_at))
                .execute(&mut *tx)
                .await?;
            for m in a.messages {
                sqlx::query("INSERT INTO mail_queue (id, recipient_sealed, subject, body, html, created_at, channel) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(m.id)
                    .bind(m.recipient_sealed)
                    .bind(m.subject)
                    .bind(m.body_sealed)
                    .bind(m.html_sealed)
                    .bind(now)
                    .bind(m.channel)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(MAIL_JOB_SQL).bind(m.id).bind(now).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// R17: freezes the account in one transaction under its ledger lock: the link spent
    /// (if it is one), the account marked frozen, every session revoked, live deletion
    /// flows ended, pending withdrawals cancelled and refunded, `account.frozen` written
    /// to the outbox, and the audit line. A refused link changes nothing.
    pub async fn freeze_account(&self, f: &Freeze<'_>) -> Result<FreezeOutcome, StoreError> {
        let account = f.account_id.to_string();
        let now = to_unix(f.now);
        let outcome = locked_tx!(self, lock_key(&account), tx => {
            let refused = match f.by {
                FreezeBy::Link { token_hash } => spend_token!(tx, token_hash, &account, now),
                FreezeBy::Owner => None,
            };
            if let Some(why) = refused {
                FreezeOutcome::Refused(why)
            } else {
                let n = sqlx::query("UPDATE accounts SET frozen_at = $1 WHERE id = $2 AND status = 'active' AND frozen_at IS NULL")
                    .bind(now)
                    .bind(&account)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    FreezeOutcome::AlreadyFrozen
                } else {
                    sqlx::query("DELETE FROM sessions WHERE account_id = $1").bind(&account).execute(&mut *tx).await?;
                    sqlx::query("UPDATE deletion_flows SET status = 'expired', updated_at = $1 WHERE account_id = $2 AND status = 'live'")
                        .bind(now)
                        .bind(&account)
                        .execute(&mut *tx)
                        .await?;
                    let cancelled = cancel_pending_withdrawals!(tx, &account, f.account_id, f.now);
                    let event_id = uuid::Uuid::now_v7().to_string();
                    sqlx::query("INSERT INTO events (id, type, payload, created_at) VALUES ($1, $2, $3, $4)")
                        .bind(&event_id)
                        .bind(offboard_core::events::EventType::AccountFrozen.as_str())
                        .bind(f.event_payload)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(crate::webhooks::EVENT_JOB_SQL).bind(&event_id).bind(now).execute(&mut *tx).await?;
                    crate::audit::insert_audit!(tx, &f.audit);
                    FreezeOutcome::Frozen { cancelled_withdrawals: cancelled }
                }
            }
        });
        Ok(outcome)
    }

    /// Lifts a freeze, starting the deletion cool-off, with its audit line; false (and
    /// nothing written) if the account was not frozen.
    pub async fn unfreeze_account(
        &self,
        account_id: AccountId,
        cooloff_until: OffsetDateTime,
        audit: &AuditEntry<'_>,
    ) -> Result<bool, StoreError> {
        let done = in_tx!(self, tx => {
            let n = sqlx::query("UPDATE accounts SET frozen_at = NULL, cooloff_until = $1 WHERE id = $2 AND status = 'active' AND frozen_at IS NOT NULL")
                .bind(to_unix(cooloff_until))
                .bind(account_id.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 1 {
                crate::audit::insert_audit!(tx, audit);
            }
            n == 1
        });
        Ok(done)
    }

    /// The freeze tokens of an account as (alert, created, expires, used), newest first:
    /// for tests and operators, never the token.
    pub async fn freeze_tokens_of(
        &self,
        account_id: AccountId,
    ) -> Result<
        Vec<(
            String,
            OffsetDateTime,
            OffsetDateTime,
            Option<OffsetDateTime>,
        )>,
        StoreError,
    > {
        on_reader!(self, pool => {
            sqlx::query("SELECT alert, created_at, expires_at, used_at FROM freeze_tokens WHERE account_id = $1 ORDER BY created_at DESC")
                .bind(account_id.to_string())
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    Ok((
                        r.try_get("alert")?,
                        from_unix(r.try_get("created_at")?),
                        from_unix(r.try_get("expires_at")?),
                        r.try_get::<Option<i64>, _>("used_at")?.map(from_unix),
                    ))
                })
                .collect()
        })
    }
}

impl Store {
    /// Whether a freeze token could be spent now (the confirmation page asks before the
    /// POST spends it): `None` when it could.
    pub async fn freeze_token_refusal(
        &self,
        account_id: AccountId,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<LinkRefusal>, StoreError> {
        let row: Option<(i64, Option<i64>)> = on_reader!(self, pool => {
            sqlx::query("SELECT expires_at, used_at FROM freeze_tokens WHERE token_hash = $1 AND account_id = $2")
                .bind(token_hash)
                .bind(account_id.to_string())
                .fetch_optional(pool)
                .await?
                .map(|r| -> Result<_, StoreError> { Ok((r.try_get("expires_at")?, r.try_get("used_at")?)) })
                .transpose()?
        });
        Ok(match row {
            None => Some(LinkRefusal::Unknown),
            Some((_, Some(_))) => Some(LinkRefusal::Used),
            Some((expires, None)) if expires <= to_unix(now) => Some(LinkRefusal::Expired),
            Some(_) => None,
        })
    }
}
