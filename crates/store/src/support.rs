//! Support (R11): agents, their sessions (apart from user sessions) and the decisions on
//! recovery requests.

use crate::{from_unix, on_db, on_reader, to_unix, Store, StoreError};
use offboard_core::deletion::RecoveryStatus;
use offboard_core::AccountId;
use sqlx::Row;
use time::OffsetDateTime;

/// What an agent may do: a `lead` may also approve recoveries of accounts holding assets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentRole {
    Agent,
    Lead,
}

impl AgentRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentRole::Agent => "agent",
            AgentRole::Lead => "lead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "agent" => Some(AgentRole::Agent),
            "lead" => Some(AgentRole::Lead),
            _ => None,
        }
    }
}

/// An agent as stored. Debug leaves out the password hash and the TOTP secret.
#[derive(Clone)]
pub struct AgentRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub totp_secret: String,
    pub totp_last_step: Option<i64>,
    pub role: AgentRole,
    pub disabled_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for AgentRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentRow")
            .field("id", &self.id)
            .field("role", &self.role)
            .field("disabled_at", &self.disabled_at)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct NewAgent<'a> {
    pub id: &'a str,
    /// Already normalised (lower case).
    pub email: &'a str,
    pub password_hash: &'a str,
    pub totp_secret: &'a str,
    pub role: AgentRole,
    pub now: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct AgentSessionRow {
    pub agent_id: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
}

/// A recovery request as support sees it. The typed ID number is never stored, only
/// whether it matched.
#[derive(Debug, Clone)]
pub struct RecoveryRow {
    pub id: String,
    pub account_id: Option<AccountId>,
    pub email: String,
    pub message: String,
    pub id_number_check: String,
    pub status: RecoveryStatus,
    pub created_at: OffsetDateTime,
}

const AGENT_COLUMNS: &str =
    "id, email, password_hash, totp_secret, totp_last_step, role, disabled_at, created_at";

fn agent_from_row<R: Row>(row: &R) -> Result<AgentRow, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let role: String = row.try_get("role")?;
    Ok(AgentRow {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        totp_secret: row.try_get("totp_secret")?,
        totp_last_step: row.try_get("totp_last_step")?,
        role: AgentRole::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("agent role {role:?}")))?,
        disabled_at: row.try_get::<Option<i64>, _>("disabled_at")?.map(from_unix),
        created_at: from_unix(row.try_get("created_at")?),
    })
}

fn recovery_from_row<R: Row>(row: &R) -> Result<RecoveryRow, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let account: Option<String> = row.try_get("account_id")?;
    let account_id = account
        .map(|a| {
            a.parse()
                .map_err(|_| StoreError::Corrupt(format!("recovery account {a:?}")))
        })
        .transpose()?;
    Ok(RecoveryRow {
        id: row.try_get("id")?,
        account_id,
        email: row.try_get("email")?,
        message: row.try_get("message")?,
        id_number_check: row.try_get("id_number_check")?,
        status: {
            let status: String = row.try_get("status")?;
            RecoveryStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("recovery status {status:?}")))?
        },
        created_at: from_unix(row.try_get("created_at")?),
    })
}

const RECOVERY_COLUMNS: &str =
    "id, account_id, email, message, id_number_check, status, created_at";

impl Store {
    /// A new agent. An email already used by another agent → [`StoreError::Conflict`].
    pub async fn create_agent(&self, new: NewAgent<'_>) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query(
            "INSERT INTO support_agents (id, email, password_hash, totp_secret, role, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new.id)
        .bind(new.email)
        .bind(new.password_hash)
        .bind(new.totp_secret)
        .bind(new.role.as_str())
        .bind(to_unix(new.now))
        .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn find_agent_by_email(&self, email: &str) -> Result<Option<AgentRow>, StoreError> {
        let sql = format!("SELECT {AGENT_COLUMNS} FROM support_agents WHERE email = $1");
        on_reader!(self, pool => {
            let row = sqlx::query(&sql).bind(email).fetch_optional(pool).await?;
            row.as_ref().map(agent_from_row).transpose()
        })
    }

    pub async fn get_agent(&self, id: &str) -> Result<Option<AgentRow>, StoreError> {
        let sql = format!("SELECT {AGENT_COLUMNS} FROM support_agents WHERE id = $1");
        on_reader!(self, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(agent_from_row).transpose()
        })
    }

    /// Disables the agent and ends its sessions; false if no such agent.
    pub async fn disable_agent(
        &self,
        email: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = crate::in_tx!(self, tx => {
            let updated = sqlx::query(
                "UPDATE support_agents SET disabled_at = COALESCE(disabled_at, $1) WHERE email = $2",
            )
            .bind(to_unix(now))
            .bind(email)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query(
                "DELETE FROM agent_sessions WHERE agent_id IN (SELECT id FROM support_agents WHERE email = $1)",
            )
            .bind(email)
            .execute(&mut *tx)
            .await?;
            updated == 1
        });
        Ok(done)
    }

    /// Records `step` as the agent's last accepted authenticator step, only if it is later
    /// than the one recorded (an atomic check, so a replayed code loses the race).
    pub async fn consume_agent_totp_step(
        &self,
        agent_id: &str,
        step: i64,
    ) -> Result<bool, StoreError> {
        let n = on_db!(self, pool => sqlx::query(
            "UPDATE support_agents SET totp_last_step = $1
             WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(agent_id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    pub async fn create_agent_session(
        &self,
        token_hash: &str,
        agent_id: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query(
            "INSERT INTO agent_sessions (token_hash, agent_id, created_at, last_seen_at) VALUES ($1, $2, $3, $3)",
        )
        .bind(token_hash)
        .bind(agent_id)
        .bind(to_unix(now))
        .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// A session of an agent that is not disabled.
    pub async fn find_agent_session(
        &self,
        token_hash: &str,
    ) -> Result<Option<AgentSessionRow>, StoreError> {
        on_reader!(self, pool => {
            let row = sqlx::query(
                "SELECT s.agent_id, s.created_at, s.last_seen_at
                 FROM agent_sessions s JOIN support_agents a ON a.id = s.agent_id
                 WHERE s.token_hash = $1 AND a.disabled_at IS NULL",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await?;
            match row {
                None => Ok(None),
                Some(row) => Ok(Some(AgentSessionRow {
                    agent_id: row.try_get("agent_id")?,
                    created_at: from_unix(row.try_get("created_at")?),
                    last_seen_at: from_unix(row.try_get("last_seen_at")?),
                })),
            }
        })
    }

    pub async fn touch_agent_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("UPDATE agent_sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(to_unix(now))
            .bind(token_hash)
            .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn delete_agent_session(&self, token_hash: &str) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("DELETE FROM agent_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// The active account with this phone (E.164), if any.
    pub async fn find_account_id_by_phone(
        &self,
        phone: &str,
    ) -> Result<Option<AccountId>, StoreError> {
        let id: Option<String> = on_reader!(self, pool => {
            let row = sqlx::query("SELECT id FROM accounts WHERE phone = $1 AND status = 'active'")
                .bind(phone)
                .fetch_optional(pool)
                .await?;
            row.map(|r| r.try_get::<String, _>("id")).transpose()
        })?;
        id.map(|id| {
            id.parse()
                .map_err(|_| StoreError::Corrupt(format!("account id {id:?}")))
        })
        .transpose()
    }

    /// Open recovery requests, oldest first.
    pub async fn list_open_recovery(&self) -> Result<Vec<RecoveryRow>, StoreError> {
        let sql = format!(
            "SELECT {RECOVERY_COLUMNS} FROM recovery_requests WHERE status = 'open' ORDER BY created_at, id"
        );
        on_reader!(self, pool => {
            let rows = sqlx::query(&sql).fetch_all(pool).await?;
            rows.iter().map(recovery_from_row).collect()
        })
    }

    pub async fn recovery_request(&self, id: &str) -> Result<Option<RecoveryRow>, StoreError> {
        let sql = format!("SELECT {RECOVERY_COLUMNS} FROM recovery_requests WHERE id = $1");
        on_reader!(self, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(recovery_from_row).transpose()
        })
    }

    /// Closes an open request as `approved` or `rejected`; false if it was not open
    /// (someone else decided first).
    /// Decides an open request with its audit line, in one transaction; false (and
    /// nothing written) if it was decided meanwhile.
    pub async fn decide_recovery_request(
        &self,
        id: &str,
        approved: bool,
        agent_id: &str,
        reason: &str,
        now: OffsetDateTime,
        audit: &crate::AuditEntry<'_>,
    ) -> Result<bool, StoreError> {
        let status = if approved {
            RecoveryStatus::Approved
        } else {
            RecoveryStatus::Rejected
        }
        .as_str();
        let decided = crate::in_tx!(self, tx => {
            let n = sqlx::query(
                "UPDATE recovery_requests SET status = $1, decided_by = $2, decided_at = $3, decision_reason = $4
                 WHERE id = $5 AND status = 'open'",
            )
            .bind(status)
            .bind(agent_id)
            .bind(to_unix(now))
            .bind(reason)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                crate::audit::insert_audit!(tx, audit);
            }
            n == 1
        });
        Ok(decided)
    }
}
