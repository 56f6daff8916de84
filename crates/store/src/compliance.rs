//! R18: compliance holds. Stored in `holds` like any other hold, with the public kind
//! `hold` and an opaque reference, so the account holder's reading of holds (the same
//! query, the same shape, the same time) cannot tell one from a host's hold. The
//! internal reason is sealed by the caller; only the host and lead agents read it.

use crate::{from_unix, in_tx, on_db, on_reader, to_unix, AuditEntry, Store, StoreError};
use offboard_core::AccountId;
use sqlx::Row;
use time::OffsetDateTime;

/// The public kind every compliance hold shows to the account holder.
pub const COMPLIANCE_PUBLIC_KIND: &str = "hold";

/// A compliance hold as the host and lead agents see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceHoldRow {
    pub id: String,
    pub account_id: AccountId,
    /// What the account holder sees as the hold's reference.
    pub reference: String,
    pub reason_sealed: String,
    /// `admin` or `agent:<id>`.
    pub placed_by: String,
    pub blocks_withdrawals: bool,
    pub created_at: OffsetDateTime,
}

impl Store {
    /// A hold as [`Store::add_hold`] places it, that may also stop withdrawals.
    pub async fn add_hold_blocking(
        &self,
        account_id: AccountId,
        kind: &str,
        reference: &str,
        blocks_withdrawals: bool,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError> {
        if self.get_account(account_id).await?.is_none() {
            return Ok(None);
        }
        let id = uuid::Uuid::now_v7().to_string();
        on_db!(self, pool => sqlx::query("INSERT INTO holds (id, account_id, kind, reference, created_at, blocks_withdrawals) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&id)
            .bind(account_id.to_string())
            .bind(kind)
            .bind(reference)
            .bind(to_unix(now))
            .bind(i64::from(blocks_withdrawals))
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(Some(id))
    }

    /// Places a compliance hold with its audit line, in one transaction; `None` when no
    /// active account has this id.
    pub async fn add_compliance_hold(
        &self,
        hold: &ComplianceHoldRow,
        audit: &AuditEntry<'_>,
    ) -> Result<bool, StoreError> {
        let placed = in_tx!(self, tx => {
            let active: i64 = sqlx::query("SELECT COUNT(*) AS n FROM accounts WHERE id = $1 AND status = 'active'")
                .bind(hold.account_id.to_string())
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            if active == 1 {
                sqlx::query(
                    "INSERT INTO holds (id, account_id, kind, reference, created_at, compliance_reason, placed_by, blocks_withdrawals)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&hold.id)
                .bind(hold.account_id.to_string())
                .bind(COMPLIANCE_PUBLIC_KIND)
                .bind(&hold.reference)
                .bind(to_unix(hold.created_at))
                .bind(&hold.reason_sealed)
                .bind(&hold.placed_by)
                .bind(i64::from(hold.blocks_withdrawals))
                .execute(&mut *tx)
                .await?;
                crate::audit::insert_audit!(tx, audit);
            }
            active == 1
        });
        Ok(placed)
    }

    /// Lifts a compliance hold with its audit line; false (nothing written) when there
    /// is no compliance hold with this id.
    pub async fn release_compliance_hold(
        &self,
        hold_id: &str,
        audit: &AuditEntry<'_>,
    ) -> Result<bool, StoreError> {
        let released = in_tx!(self, tx => {
            let n = sqlx::query("DELETE FROM holds WHERE id = $1 AND compliance_reason IS NOT NULL")
                .bind(hold_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 1 {
                crate::audit::insert_audit!(tx, audit);
            }
            n == 1
        });
        Ok(released)
    }

    /// Whether a hold that stops withdrawals stands on the account (any kind: R18 answers
    /// the same for all).
    pub async fn withdrawals_held(&self, account_id: AccountId) -> Result<bool, StoreError> {
        let n: i64 = on_reader!(self, pool => sqlx::query("SELECT COUNT(*) AS n FROM holds WHERE account_id = $1 AND blocks_withdrawals = 1")
            .bind(account_id.to_string())
            .fetch_one(pool)
            .await?
            .try_get("n"))?;
        Ok(n > 0)
    }

    pub async fn compliance_hold(
        &self,
        hold_id: &str,
    ) -> Result<Option<ComplianceHoldRow>, StoreError> {
        let rows = self.compliance_holds_where("id = $1", hold_id).await?;
        Ok(rows.into_iter().next())
    }

    /// The account's compliance holds, oldest first.
    pub async fn compliance_holds_of(
        &self,
        account_id: AccountId,
    ) -> Result<Vec<ComplianceHoldRow>, StoreError> {
        self.compliance_holds_where("account_id = $1", &account_id.to_string())
            .await
    }

    async fn compliance_holds_where(
        &self,
        filter: &str,
        value: &str,
    ) -> Result<Vec<ComplianceHoldRow>, StoreError> {
        let sql = format!(
            "SELECT id, account_id, reference, compliance_reason, placed_by, blocks_withdrawals, created_at FROM holds
             WHERE compliance_reason IS NOT NULL AND {filter} ORDER BY created_at, id"
        );
        on_reader!(self, pool => {
            sqlx::query(&sql)
                .bind(value)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    let account: String = r.try_get("account_id")?;
                    Ok(ComplianceHoldRow {
                        id: r.try_get("id")?,
                        account_id: account.parse().map_err(|_| StoreError::Corrupt(format!("hold account {account:?}")))?,
                        reference: r.try_get("reference")?,
                        reason_sealed: r.try_get("compliance_reason")?,
                        placed_by: r.try_get::<Option<String>, _>("placed_by")?.unwrap_or_default(),
                        blocks_withdrawals: r.try_get::<i64, _>("blocks_withdrawals")? != 0,
                        created_at: from_unix(r.try_get("created_at")?),
                    })
                })
                .collect()
        })
    }
}
