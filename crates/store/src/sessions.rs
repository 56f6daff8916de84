use crate::batch::{text, Arg, Batch, Write};
use crate::{from_unix, in_tx, on_db, on_reader, to_unix, AuditEntry, Store, StoreError};
use offboard_core::AccountId;
use sqlx::Row;
use std::borrow::Cow;
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
/// One session: token hash, account id, kind, now (created and last seen), user agent.
pub(crate) const INSERT_SESSION_SQL: &str =
    "INSERT INTO sessions (token_hash, account_id, kind, created_at, last_seen_at, user_agent)
     VALUES ($1, $2, $3, $4, $4, $5)";

macro_rules! insert_session {
    ($conn:expr, $new:expr) => {{
        let new: &NewSession<'_> = $new;
        sqlx::query($crate::sessions::INSERT_SESSION_SQL)
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

/// What a sign-in writes, in order, and apart from them the device, written last (R21:
/// its insert tells whether the device is new).
fn sign_in_writes<'a>(s: &'a SignIn<'a>, account: &'a str) -> (Vec<Write<'a>>, Write<'a>) {
    let mut writes = Vec::new();
    if let Some(attempt) = s.attempt {
        writes.push(Write::new(
            "DELETE FROM login_attempts WHERE id = $1",
            vec![Arg::Int(attempt)],
        ));
    }
    let new = &s.session;
    writes.push(Write::new(
        INSERT_SESSION_SQL,
        vec![
            text(new.token_hash),
            text(account),
            text(new.kind.as_str()),
            Arg::Int(to_unix(new.now)),
            Arg::OptText(new.user_agent.map(Cow::Borrowed)),
        ],
    ));
    let audit = &s.audit;
    writes.push(Write::new(
        crate::audit::INSERT_AUDIT_SQL,
        vec![
            Arg::Int(to_unix(audit.at)),
            Arg::OptText(audit.account_id.map(|id| Cow::Owned(id.to_string()))),
            text(audit.actor),
            text(audit.action),
            Arg::OptText(audit.detail.map(Cow::Borrowed)),
        ],
    ));
    let device = Write::new(
        "INSERT INTO sign_in_devices (account_id, device_key, first_seen_at) VALUES ($1, $2, $3)
         ON CONFLICT (account_id, device_key) DO NOTHING RETURNING 1",
        vec![
            text(account),
            text(s.device_key),
            Arg::Int(to_unix(new.now)),
        ],
    );
    (writes, device)
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
        let (before, device) = sign_in_writes(s, &account);
        if let crate::Db::Postgres(pool) = &self.db {
            let mut writes = before;
            writes.push(device);
            // One statement, so one round trip and atomic without BEGIN/COMMIT. The main
            // query sees the devices as they were before the statement (the rows of a
            // data-modifying WITH query are not visible to the rest of it).
            let values: usize = writes.iter().map(|w| w.args.len()).sum();
            let count_known = format!(
                "SELECT (SELECT COUNT(*) FROM sign_in_devices WHERE account_id = ${}) AS known,
                        (SELECT COUNT(*) FROM w{}) AS added",
                values + 1,
                writes.len() - 1
            );
            let batch = Batch::new(crate::Backend::Postgres, &writes, &count_known);
            let row = batch.query().bind(&account).fetch_one(pool).await?;
            let known: i64 = row.try_get("known")?;
            let added: i64 = row.try_get("added")?;
            return Ok(added == 1 && known > 0);
        }
        let new_device = in_tx!(self, tx => {
            Batch::new(self.backend(), &before, "").query().execute(&mut *tx).await?;
            let known: i64 = sqlx::query("SELECT COUNT(*) AS n FROM sign_in_devices WHERE account_id = $1")
                .bind(&account)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            let added = Batch::new(self.backend(), std::slice::from_ref(&device), "").query().execute(&mut *tx).await?.rows_affected();
            added == 1 && known > 0
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
