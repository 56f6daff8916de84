//! Recovery requests: people who cannot log in ask support for help (R11).

use crate::{locked_tx, on_reader, to_unix, Store, StoreError};
use offboard_core::AccountId;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct NewRecoveryRequest<'a> {
    pub account_id: Option<AccountId>,
    pub email: &'a str,
    pub message: &'a str,
    pub id_number_check: &'a str,
    pub now: OffsetDateTime,
}

/// R11: an approved recovery, applied in one transaction.
#[derive(Debug, Clone)]
pub struct RecoveryApproval<'a> {
    pub request_id: &'a str,
    pub account_id: AccountId,
    pub agent_id: &'a str,
    pub reason: &'a str,
    /// R9: no deletion before this (the 24-hour cool-off).
    pub cooloff_until: OffsetDateTime,
    /// The `account.recovered` event's payload (no personal data).
    pub event_payload: &'a str,
    /// The approval's audit line, written in the same transaction.
    pub audit: crate::AuditEntry<'a>,
    pub now: OffsetDateTime,
}

impl Store {
    /// Approves a recovery request, all or nothing: the decision, the authenticator and
    /// phone removed, a freeze lifted (R17: support's recovery path is one of the two
    /// ways out of it), every session ended, the cool-off started and `account.recovered`
    /// written to the outbox. False (and nothing changed) if the request was decided
    /// meanwhile. Runs under the account's factor lock, like every factor change.
    pub async fn approve_recovery(&self, a: &RecoveryApproval<'_>) -> Result<bool, StoreError> {
        let account = a.account_id.to_string();
        let now = to_unix(a.now);
        let approved = locked_tx!(self, crate::factors::lock_key(a.account_id), tx => {
            let decided = sqlx::query(
                "UPDATE recovery_requests SET status = 'approved', decided_by = $1, decided_at = $2, decision_reason = $3
                 WHERE id = $4 AND status = 'open'",
            )
            .bind(a.agent_id)
            .bind(now)
            .bind(a.reason)
            .bind(a.request_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if decided == 1 {
                sqlx::query("DELETE FROM totp_factors WHERE account_id = $1").bind(&account).execute(&mut *tx).await?;
                // R11/R16: the passkeys go with the other factors (the person lost them).
                sqlx::query("DELETE FROM passkeys WHERE account_id = $1").bind(&account).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM passkey_ceremonies WHERE account_id = $1").bind(&account).execute(&mut *tx).await?;
                sqlx::query("UPDATE accounts SET phone = NULL, require_passkey = 0, factors_changed_at = $1, cooloff_until = $2, frozen_at = NULL WHERE id = $3")
                    .bind(now)
                    .bind(to_unix(a.cooloff_until))
                    .bind(&account)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM sessions WHERE account_id = $1").bind(&account).execute(&mut *tx).await?;
                let event_id = uuid::Uuid::now_v7().to_string();
                sqlx::query("INSERT INTO events (id, type, payload, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(&event_id)
                    .bind(offboard_core::events::EventType::AccountRecovered.as_str())
                    .bind(a.event_payload)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(crate::webhooks::EVENT_JOB_SQL).bind(&event_id).bind(now).execute(&mut *tx).await?;
                crate::audit::insert_audit!(tx, &a.audit);
            }
            decided == 1
        });
        Ok(approved)
    }

    /// Records a recovery request unless this address already sent
    /// [`offboard_core::throttle::RECOVERY_REQUESTS_PER_WINDOW`] in the last day; then
    /// `Err(when the oldest ages out)`. Counted and written in one transaction serialised
    /// per address, so a parallel burst cannot slip past the limit.
    pub async fn add_recovery_request(
        &self,
        r: NewRecoveryRequest<'_>,
    ) -> Result<Result<String, OffsetDateTime>, StoreError> {
        use offboard_core::throttle::{RECOVERY_REQUESTS_PER_WINDOW, RECOVERY_WINDOW};
        use sqlx::Row;
        let id = uuid::Uuid::now_v7().to_string();
        let since = to_unix(r.now - RECOVERY_WINDOW);
        let out = locked_tx!(self, format!("recovery:{}", r.email), tx => {
            let row = sqlx::query("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM recovery_requests WHERE email = $1 AND created_at > $2")
                .bind(r.email)
                .bind(since)
                .fetch_one(&mut *tx)
                .await?;
            let n: i64 = row.try_get("n")?;
            let oldest: Option<i64> = row.try_get("oldest")?;
            if n >= i64::from(RECOVERY_REQUESTS_PER_WINDOW) {
                Err(crate::from_unix(oldest.unwrap_or(since)) + RECOVERY_WINDOW)
            } else {
                sqlx::query(
                    "INSERT INTO recovery_requests (id, account_id, email, message, id_number_check, status, created_at)
                     VALUES ($1, $2, $3, $4, $5, 'open', $6)",
                )
                .bind(&id)
                .bind(r.account_id.map(|a| a.to_string()))
                .bind(r.email)
                .bind(r.message)
                .bind(r.id_number_check)
                .bind(to_unix(r.now))
                .execute(&mut *tx)
                .await?;
                Ok(id)
            }
        });
        Ok(out)
    }

    pub async fn open_recovery_requests(
        &self,
    ) -> Result<Vec<(String, Option<String>, String, String)>, StoreError> {
        use sqlx::Row;
        on_reader!(self, pool => {
            sqlx::query("SELECT id, account_id, email, id_number_check FROM recovery_requests WHERE status = 'open' ORDER BY created_at, id")
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| Ok((r.try_get("id")?, r.try_get("account_id")?, r.try_get("email")?, r.try_get("id_number_check")?)))
                .collect()
        })
    }
}
