use crate::audit::insert_audit;
use crate::freeze::note_device;
use crate::{from_unix, in_tx, on_db, on_reader, to_unix, AuditEntry, Store, StoreError};
use offboard_core::AccountId;
use sqlx::Row;
use time::OffsetDateTime;

/// Users and (later) support agents hold different kinds of session; a session of one
/// kind never authenticates a route of the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    User,
}

impl SessionKind {
    fn as_str(self) -> &'static str {
        match self {
            SessionKind::User => "user",
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    /// SHA-256 of the token; the token itself is never stored.
    pub token_hash: &'a str,
    pub account_id: AccountId,
    pub kind: SessionKind,
    pub now: OffsetDateTime,
    pub user_agent: Option<&'a str>,
}

/// What a successful sign-in writes, in one transaction: one turn of the writer instead
/// of four (docs/performance.md).
#[derive(Debug)]
pub struct SignIn<'a> {
    /// The password login's throttle attempt, forgotten now that it succeeded.
    pub attempt: Option<i64>,
    pub session: NewSession<'a>,
    pub audit: AuditEntry<'a>,
    /// Keyed hash of the device (user agent and address) for R21's new-device alert.
    pub device_key: &'a str,
}

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub token_hash: String,
    pub account_id: AccountId,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub user_agent: Option<String>,
}

/// Inserts a session (`$new`: a `&NewSession`) on `$conn`.
macro_rules! insert_session {
    ($conn:expr, $new:expr) => {{
        let new: &NewSession<'_> = $new;
        sqlx::query(
            "INSERT INTO sessions (token_hash, account_id, kind, created_at, last_seen_at, user_agent)
             VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(new.token_hash)
        .bind(new.account_id.to_string())
        .bind(new.kind.as_str())
        .bind(to_unix(new.now))
        .bind(new.user_agent)
        .execute($conn)
        .await
        .map(|_| ())
    }};
}

impl Store {
    pub async fn create_session(&self, new: NewSession<'_>) -> Result<(), StoreError> {
        on_db!(self, pool => insert_session!(pool, &new))?;
        Ok(())
    }

    /// Records a successful sign-in: the throttle attempt forgotten, the session, its
    /// audit line and the device, all or nothing. Answers whether the device is new to
    /// an account that had signed in before.
    pub async fn sign_in(&self, s: &SignIn<'_>) -> Result<bool, StoreError> {
        let account = s.session.account_id.to_string();
        let new_device = in_tx!(self, tx => {
            if let Some(attempt) = s.attempt {
                sqlx::query("DELETE FROM login_attempts WHERE id = $1")
                    .bind(attempt)
                    .execute(&mut *tx)
                    .await?;
            }
            insert_session!(&mut *tx, &s.session)?;
            insert_audit!(tx, &s.audit);
            note_device!(tx, &account, s.device_key, to_unix(s.session.now))
        });
        Ok(new_device)
    }

    /// The session and its (active) account in one query: the lookup every
    /// authenticated request makes, so it is one round trip rather than two.
    pub async fn find_session_with_account(
        &self,
        token_hash: &str,
        kind: SessionKind,
    ) -> Result<Option<(SessionRow, crate::AccountRow)>, StoreError> {
        on_reader!(self, pool => {
            let sql = format!(
                "SELECT s.token_hash, s.created_at AS session_created_at, s.last_seen_at, s.user_agent,
                        {}
                 FROM sessions s JOIN accounts a ON a.id = s.account_id
                 WHERE s.token_hash = $1 AND s.kind = $2 AND a.status = 'active'",
                crate::accounts::ACCOUNT_COLUMNS
            );
            let row = sqlx::query(&sql)
            .bind(token_hash)
            .bind(kind.as_str())
            .fetch_optional(pool)
            .await?;
            match row {
                None => Ok(None),
                Some(row) => {
                    let account = crate::accounts::account_from_row(&row)?;
                    let session = SessionRow {
                        token_hash: row.try_get("token_hash")?,
                        account_id: account.id,
                        created_at: from_unix(row.try_get("session_created_at")?),
                        last_seen_at: from_unix(row.try_get("last_seen_at")?),
                        user_agent: row.try_get("user_agent")?,
                    };
                    Ok(Some((session, account)))
                }
            }
        })
    }

    pub async fn list_sessions(
        &self,
        account_id: AccountId,
    ) -> Result<Vec<SessionRow>, StoreError> {
        on_reader!(self, pool => {
            let rows = sqlx::query(
                "SELECT token_hash, created_at, last_seen_at, user_agent FROM sessions
                 WHERE account_id = $1 ORDER BY created_at DESC",
            )
            .bind(account_id.to_string())
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(SessionRow {
                        token_hash: row.try_get("token_hash")?,
                        account_id,
                        created_at: from_unix(row.try_get("created_at")?),
                        last_seen_at: from_unix(row.try_get("last_seen_at")?),
                        user_agent: row.try_get("user_agent")?,
                    })
                })
                .collect()
        })
    }

    pub async fn touch_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(to_unix(now))
            .bind(token_hash)
            .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(pool).await.map(|_| ()))?;
        Ok(())
    }
}
