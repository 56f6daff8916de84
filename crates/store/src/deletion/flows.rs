//! Deletion flows (R1, R2): one live flow per account and session, moved step by step
//! with compare-and-set; the captcha's single use (R3); the 24-hour cool-off that blocks
//! a deletion after a reset or recovery.

use crate::audit::insert_audit;
use crate::{from_unix, in_tx, locked_tx, on_db, on_reader, to_unix, Store, StoreError};
use offboard_core::deletion::{FlowStatus, Step};
use offboard_core::AccountId;
use sqlx::Row;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRow {
    pub id: String,
    pub account_id: AccountId,
    pub session_hash: String,
    pub step: Step,
    pub status: FlowStatus,
    pub captcha_required: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub deleted_at: Option<OffsetDateTime>,
}

const FLOW_COLUMNS: &str = "id, account_id, session_hash, step, status, captcha_required, created_at, updated_at, deleted_at";

fn flow_from_row<R: Row>(row: &R) -> Result<FlowRow, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let account: String = row.try_get("account_id")?;
    let step: String = row.try_get("step")?;
    Ok(FlowRow {
        id: row.try_get("id")?,
        account_id: account
            .parse()
            .map_err(|_| StoreError::Corrupt("flow account".into()))?,
        session_hash: row.try_get("session_hash")?,
        step: Step::parse(&step)
            .ok_or_else(|| StoreError::Corrupt(format!("flow step {step:?}")))?,
        status: {
            let status: String = row.try_get("status")?;
            FlowStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("flow status {status:?}")))?
        },
        captcha_required: row.try_get::<i64, _>("captcha_required")? != 0,
        created_at: from_unix(row.try_get("created_at")?),
        updated_at: from_unix(row.try_get("updated_at")?),
        deleted_at: row.try_get::<Option<i64>, _>("deleted_at")?.map(from_unix),
    })
}

impl Store {
    /// The account's live flow, if any.
    pub async fn live_flow(&self, account_id: AccountId) -> Result<Option<FlowRow>, StoreError> {
        let sql = format!(
            "SELECT {FLOW_COLUMNS} FROM deletion_flows WHERE account_id = $1 AND status = 'live'"
        );
        on_reader!(self, pool => {
            let row = sqlx::query(&sql).bind(account_id.to_string()).fetch_optional(pool).await?;
            row.as_ref().map(flow_from_row).transpose()
        })
    }

    pub async fn flow(&self, id: &str) -> Result<Option<FlowRow>, StoreError> {
        let sql = format!("SELECT {FLOW_COLUMNS} FROM deletion_flows WHERE id = $1");
        on_reader!(self, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(flow_from_row).transpose()
        })
    }

    /// Starts a flow unless one is live; a live flow of another session is replaced (a
    /// flow belongs to one session, R1). Returns the live flow and whether it is new;
    /// `started` is written to the audit log only when it is new.
    pub async fn start_flow(
        &self,
        account_id: AccountId,
        session_hash: &str,
        captcha_required: bool,
        now: OffsetDateTime,
        started: &crate::AuditEntry<'_>,
    ) -> Result<(FlowRow, bool), StoreError> {
        let account = account_id.to_string();
        let key = format!("flow:{account}");
        let sql = format!(
            "SELECT {FLOW_COLUMNS} FROM deletion_flows WHERE account_id = $1 AND status = 'live'"
        );
        let out = locked_tx!(self, key, tx => {
            let live = sqlx::query(&sql).bind(&account).fetch_optional(&mut *tx).await?;
            let live = live.as_ref().map(flow_from_row).transpose()?;
            match live {
                Some(flow) if flow.session_hash == session_hash => (flow, false),
                other => {
                    if other.is_some() {
                        sqlx::query("UPDATE deletion_flows SET status = 'replaced', updated_at = $1 WHERE account_id = $2 AND status = 'live'")
                            .bind(to_unix(now))
                            .bind(&account)
                            .execute(&mut *tx)
                            .await?;
                    }
                    let flow = FlowRow {
                        id: uuid::Uuid::now_v7().to_string(),
                        account_id,
                        session_hash: session_hash.to_owned(),
                        step: Step::Notes,
                        status: FlowStatus::Live,
                        captcha_required,
                        created_at: now,
                        updated_at: now,
                        deleted_at: None,
                    };
                    sqlx::query(
                        "INSERT INTO deletion_flows (id, account_id, session_hash, step, status, captcha_required, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, 'live', $5, $6, $6)",
                    )
                    .bind(&flow.id)
                    .bind(&account)
                    .bind(session_hash)
                    .bind(Step::Notes.as_str())
                    .bind(i64::from(captcha_required))
                    .bind(to_unix(now))
                    .execute(&mut *tx)
                    .await?;
                    // R13: downstream services may want to know a deletion is coming
                    // (say, to stop opening new positions); no personal data.
                    let event_id = uuid::Uuid::now_v7().to_string();
                    let started_at = now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
                    let payload = serde_json::json!({"account_id": &account, "flow_id": &flow.id, "started_at": started_at}).to_string();
                    sqlx::query("INSERT INTO events (id, type, payload, created_at) VALUES ($1, $2, $3, $4)")
                        .bind(&event_id)
                        .bind(offboard_core::events::EventType::AccountDeletionStarted.as_str())
                        .bind(&payload)
                        .bind(to_unix(now))
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(crate::webhooks::EVENT_JOB_SQL).bind(&event_id).bind(to_unix(now)).execute(&mut *tx).await?;
                    // The start and its audit line commit together (R14).
                    crate::audit::insert_audit!(tx, started);
                    (flow, true)
                }
            }
        });
        Ok(out)
    }

    /// Moves a live flow from `from` to `to` (compare-and-set; false if it moved meanwhile).
    pub async fn advance_flow(
        &self,
        id: &str,
        from: Step,
        to: Step,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let n = on_db!(self, pool => sqlx::query(
            "UPDATE deletion_flows SET step = $1, updated_at = $2 WHERE id = $3 AND step = $4 AND status = 'live'",
        )
        .bind(to.as_str())
        .bind(to_unix(now))
        .bind(id)
        .bind(from.as_str())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// [`Store::advance_flow`] and its audit line in one transaction: both or neither
    /// (and one write instead of two on the journey's hot path).
    pub async fn advance_flow_audited(
        &self,
        id: &str,
        from: Step,
        to: Step,
        audit: &crate::AuditEntry<'_>,
    ) -> Result<bool, StoreError> {
        let advanced = in_tx!(self, tx => {
            let n = sqlx::query(
                "UPDATE deletion_flows SET step = $1, updated_at = $2 WHERE id = $3 AND step = $4 AND status = 'live'",
            )
            .bind(to.as_str())
            .bind(to_unix(audit.at))
            .bind(id)
            .bind(from.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                insert_audit!(tx, audit);
            }
            n == 1
        });
        Ok(advanced)
    }

    pub async fn touch_flow(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("UPDATE deletion_flows SET updated_at = $1 WHERE id = $2 AND status = 'live'")
            .bind(to_unix(now))
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub async fn expire_flow(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("UPDATE deletion_flows SET status = 'expired', updated_at = $1 WHERE id = $2 AND status = 'live'")
            .bind(to_unix(now))
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Records a captcha challenge as used; false if it was used before (R3 single use).
    pub async fn use_captcha(
        &self,
        challenge: &str,
        flow_id: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        match on_db!(self, pool => sqlx::query("INSERT INTO captcha_used (challenge, flow_id, used_at) VALUES ($1, $2, $3)")
            .bind(challenge)
            .bind(flow_id)
            .bind(to_unix(now))
            .execute(pool)
            .await
            .map(|_| ()))
        {
            Ok(()) => Ok(true),
            Err(err) => match StoreError::from(err) {
                StoreError::Conflict => Ok(false),
                other => Err(other),
            },
        }
    }

    pub async fn cooloff_until(
        &self,
        account_id: AccountId,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        on_reader!(self, pool => {
            let row = sqlx::query("SELECT cooloff_until FROM accounts WHERE id = $1").bind(account_id.to_string()).fetch_optional(pool).await?;
            Ok(match row {
                Some(row) => row.try_get::<Option<i64>, _>("cooloff_until")?.map(from_unix),
                None => None,
            })
        })
    }

    /// Starts the 24-hour deletion cool-off (after a password reset, factor reset or recovery).
    pub async fn set_cooloff_until(
        &self,
        account_id: AccountId,
        until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("UPDATE accounts SET cooloff_until = $1 WHERE id = $2")
            .bind(to_unix(until))
            .bind(account_id.to_string())
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}
