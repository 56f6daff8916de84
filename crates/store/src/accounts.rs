use crate::{from_unix, in_tx, on_db, on_reader, to_unix, AuditEntry, Store, StoreError};
use offboard_core::identity::IdentityStatus;
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
    /// Its second factors as they were when the row was read (same query).
    pub factors: FactorSnapshot,
    /// Its identity record's status; `None` when nothing is on file.
    pub identity_status: Option<IdentityStatus>,
}

/// The second factors of an account, read with the account row: the hot paths (`/me`,
/// login, every coded step) need them with the account, and one query is one hand-off
/// to the database instead of three (docs/performance.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FactorSnapshot {
    /// A confirmed authenticator app.
    pub totp: bool,
    /// Registered passkeys (R16).
    pub passkeys: usize,
    /// The owner asked for a passkey at every sign-in and withdrawal.
    pub require_passkey: bool,
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

/// An account's columns with its factor snapshot and identity status, for queries whose
/// accounts table is named `a` (subqueries on indexed account ids: one round trip).
pub(crate) const ACCOUNT_COLUMNS: &str =
    "a.id, a.email, a.password_hash, a.phone, a.status, a.created_at, a.frozen_at, a.require_passkey,
     (SELECT t.confirmed_at FROM totp_factors t WHERE t.account_id = a.id) AS totp_confirmed_at,
     (SELECT COUNT(*) FROM passkeys p WHERE p.account_id = a.id) AS passkey_count,
     (SELECT i.status FROM identities i WHERE i.account_id = a.id) AS identity_status";

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
        factors: FactorSnapshot {
            totp: row
                .try_get::<Option<i64>, _>("totp_confirmed_at")?
                .is_some(),
            passkeys: usize::try_from(row.try_get::<i64, _>("passkey_count")?).unwrap_or(0),
            require_passkey: row.try_get::<Option<i64>, _>("require_passkey")? == Some(1),
        },
        identity_status: row
            .try_get::<Option<String>, _>("identity_status")?
            .map(|s| {
                IdentityStatus::parse(&s)
                    .map_err(|_| StoreError::Corrupt(format!("identity status {s:?}")))
            })
            .transpose()?,
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
            "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.email = $1 AND a.status = 'active'"
        );
        on_reader!(self, pool => {
            let row = sqlx::query(&sql).bind(email.as_str()).fetch_optional(pool).await?;
            row.as_ref().map(account_from_row).transpose()
        })
    }

    pub async fn get_account(&self, id: AccountId) -> Result<Option<AccountRow>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = $1");
        on_reader!(self, pool => {
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
