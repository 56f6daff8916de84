use crate::{from_unix, in_tx, on_db, to_unix, AuditEntry, Store, StoreError};
use offboard_core::{AccountId, EmailAddress};
use sqlx::Row;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Deleted,
}

impl AccountStatus {
    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "active" => Ok(Self::Active),
            "deleted" => Ok(Self::Deleted),
            other => Err(StoreError::Corrupt(format!("account status {other:?}"))),
        }
    }
}

/// An account as stored. `password_hash` is a PHC string; Debug leaves it out.
#[derive(Clone)]
pub struct AccountRow {
    pub id: AccountId,
    pub email: String,
    pub password_hash: String,
    /// Verified phone in E.164, if one is bound.
    pub phone: Option<String>,
    pub status: AccountStatus,
    pub created_at: OffsetDateTime,
    /// R17: set while the account is frozen.
    pub frozen_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for AccountRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountRow")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("frozen_at", &self.frozen_at)
            .finish_non_exhaustive()
    }
}

const ACCOUNT_COLUMNS: &str = "id, email, password_hash, phone, status, created_at, frozen_at";

pub(crate) fn account_from_row<R: Row>(row: &R) -> Result<AccountRow, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let id: String = row.try_get("id")?;
    Ok(AccountRow {
        id: id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("account id {id:?}")))?,
        email: row
            .try_get::<Option<String>, _>("email")?
            .unwrap_or_default(),
        password_hash: row
            .try_get::<Option<String>, _>("password_hash")?
            .unwrap_or_default(),
        phone: row.try_get("phone")?,
        status: AccountStatus::parse(&row.try_get::<String, _>("status")?)?,
        created_at: from_unix(row.try_get("created_at")?),
        frozen_at: row.try_get::<Option<i64>, _>("frozen_at")?.map(from_unix),
    })
}

impl Store {
    /// Creates an active account. An email already registered → [`StoreError::Conflict`].
    pub async fn create_account(
        &self,
        id: AccountId,
        email: &EmailAddress,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query(
            "INSERT INTO accounts (id, email, password_hash, status, created_at, password_changed_at)
             VALUES ($1, $2, $3, 'active', $4, $4)",
        )
        .bind(id.to_string())
        .bind(email.as_str())
        .bind(password_hash)
        .bind(to_unix(now))
        .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// The active account registered under this email, if any.
    pub async fn find_account_by_email(
        &self,
        email: &EmailAddress,
    ) -> Result<Option<AccountRow>, StoreError> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email = $1 AND status = 'active'"
        );
        on_db!(self, pool => {
            let row = sqlx::query(&sql).bind(email.as_str()).fetch_optional(pool).await?;
            row.as_ref().map(account_from_row).transpose()
        })
    }

    pub async fn get_account(&self, id: AccountId) -> Result<Option<AccountRow>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
        on_db!(self, pool => {
            let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(pool).await?;
            row.as_ref().map(account_from_row).transpose()
        })
    }

    /// Replaces the password hash and revokes every session of the account, in one
    /// transaction: after a password change no old session survives.
    pub async fn set_password(
        &self,
        id: AccountId,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let changed = in_tx!(self, tx => {
            let updated = sqlx::query(
                "UPDATE accounts SET password_hash = $1, password_changed_at = $2 WHERE id = $3 AND status = 'active'",
            )
            .bind(password_hash)
            .bind(to_unix(now))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            updated == 1
        });
        Ok(changed)
    }

    /// A password reset (R13's cool-off): the new password, every session ended, the
    /// deletion cool-off and the audit line, in one transaction. `false` for an account
    /// that is not active.
    pub async fn reset_password(
        &self,
        id: AccountId,
        password_hash: &str,
        cooloff_until: OffsetDateTime,
        audit: &AuditEntry<'_>,
    ) -> Result<bool, StoreError> {
        let changed = in_tx!(self, tx => {
            let updated = sqlx::query(
                "UPDATE accounts SET password_hash = $1, password_changed_at = $2, cooloff_until = $3 WHERE id = $4 AND status = 'active'",
            )
            .bind(password_hash)
            .bind(to_unix(audit.at))
            .bind(to_unix(cooloff_until))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            if updated == 1 {
                crate::audit::insert_audit!(tx, audit);
            }
            updated == 1
        });
        Ok(changed)
    }
}
