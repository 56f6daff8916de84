//! The identity step's wrong answers (R6): counted per account over 24 hours, charged
//! before an answer is evaluated, taken back for a right one, cleared by support (R11).

use crate::{from_unix, locked_tx, on_db, on_reader, to_unix, Store, StoreError};
use offboard_core::AccountId;
use sqlx::Row;
use time::OffsetDateTime;

/// What [`Store::begin_identity_attempt`] decided (R6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityAttempt {
    /// Five wrong answers in the last 24 hours: nothing is evaluated until `until`.
    Locked { until: OffsetDateTime },
    /// The answer may be evaluated; it already counts as failure number `failures`.
    Charged { attempt_id: i64, failures: u32 },
}

/// R6: the account's wrong identity answers since `$2`: (n, latest).
const IDENTITY_FAILURES_SQL: &str =
    "SELECT COUNT(*) AS n, MAX(at) AS latest FROM identity_failures WHERE account_id = $1 AND at > $2";

impl Store {
    /// Wrong identity answers in the last 24 hours: (count, latest).
    pub async fn identity_failures(
        &self,
        account_id: AccountId,
        now: OffsetDateTime,
    ) -> Result<(u32, Option<OffsetDateTime>), StoreError> {
        on_reader!(self, pool => {
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
}
