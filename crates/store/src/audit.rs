use crate::{from_unix, on_db, on_reader, to_unix, Store, StoreError};
use offboard_core::AccountId;
use sqlx::Row;
use time::OffsetDateTime;

/// One line of the append-only audit log (R14). Never a secret, code or password.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub at: OffsetDateTime,
    pub account_id: Option<AccountId>,
    /// `user`, `system`, `admin`, or `agent:<id>`.
    pub actor: &'a str,
    pub action: &'a str,
    pub detail: Option<&'a str>,
}

impl<'a> AuditEntry<'a> {
    /// An entry by the account holder (`user`) about their own account.
    pub fn by_user(
        at: OffsetDateTime,
        account_id: AccountId,
        action: &'a str,
        detail: Option<&'a str>,
    ) -> Self {
        AuditEntry {
            at,
            account_id: Some(account_id),
            actor: "user",
            action,
            detail,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub detail: Option<String>,
}

/// Appends `$entry` (an [`AuditEntry`]) inside the transaction `$tx`: an action and its
/// audit line commit together or not at all (R11, R14).
/// One audit line: at, account id, actor, action, detail (the macro below and the
/// batched writes bind the same five).
pub(crate) const INSERT_AUDIT_SQL: &str =
    "INSERT INTO audit_log (at, account_id, actor, action, detail) VALUES ($1, $2, $3, $4, $5)";

macro_rules! insert_audit {
    ($tx:ident, $entry:expr) => {{
        let entry: &$crate::AuditEntry<'_> = $entry;
        sqlx::query($crate::audit::INSERT_AUDIT_SQL)
            .bind($crate::to_unix(entry.at))
            .bind(entry.account_id.map(|id| id.to_string()))
            .bind(entry.actor)
            .bind(entry.action)
            .bind(entry.detail)
            .execute(&mut *$tx)
            .await?;
    }};
}
pub(crate) use insert_audit;

impl Store {
    pub async fn audit(&self, entry: AuditEntry<'_>) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query(
            "INSERT INTO audit_log (at, account_id, actor, action, detail) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(to_unix(entry.at))
        .bind(entry.account_id.map(|id| id.to_string()))
        .bind(entry.actor)
        .bind(entry.action)
        .bind(entry.detail)
        .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Oldest first.
    pub async fn audit_of_account(
        &self,
        account_id: AccountId,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        on_reader!(self, pool => {
            let rows = sqlx::query("SELECT at, actor, action, detail FROM audit_log WHERE account_id = $1 ORDER BY id")
                .bind(account_id.to_string())
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|row| {
                    Ok(AuditRecord {
                        at: from_unix(row.try_get("at")?),
                        actor: row.try_get("actor")?,
                        action: row.try_get("action")?,
                        detail: row.try_get("detail")?,
                    })
                })
                .collect()
        })
    }
}

impl Store {
    /// Everything one actor (e.g. `agent:<id>`) did, oldest first, with the account each
    /// entry concerns.
    pub async fn audit_of_actor(
        &self,
        actor: &str,
    ) -> Result<Vec<(Option<String>, AuditRecord)>, StoreError> {
        on_reader!(self, pool => {
            let rows = sqlx::query("SELECT at, account_id, actor, action, detail FROM audit_log WHERE actor = $1 ORDER BY id")
                .bind(actor)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|row| {
                    Ok((
                        row.try_get::<Option<String>, _>("account_id")?,
                        AuditRecord {
                            at: from_unix(row.try_get("at")?),
                            actor: row.try_get("actor")?,
                            action: row.try_get("action")?,
                            detail: row.try_get("detail")?,
                        },
                    ))
                })
                .collect()
        })
    }
}
