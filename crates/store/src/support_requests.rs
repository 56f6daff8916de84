//! Contact requests (issue 15): a signed-in person writes to support, an agent answers by
//! email. At most [`MAX_OPEN_SUPPORT_REQUESTS`] wait per account; the erasure deletes
//! them all (R7, R20: the message is personal data).

use crate::jobs::MAIL_JOB_SQL;
use crate::{from_unix, locked_tx, on_reader, to_unix, Store, StoreError};
use offboard_core::support::{SupportRequestStatus, SupportTopic, MAX_OPEN_SUPPORT_REQUESTS};
use offboard_core::AccountId;
use sqlx::Row;
use time::OffsetDateTime;

/// A contact request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportRequestRow {
    pub id: String,
    pub account_id: AccountId,
    pub topic: SupportTopic,
    pub message: String,
    pub status: SupportRequestStatus,
    pub created_at: OffsetDateTime,
    pub answered_at: Option<OffsetDateTime>,
    /// The answering agent's id.
    pub answered_by: Option<String>,
    pub answer: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewSupportRequest<'a> {
    /// Chosen by the caller, so the audit line can name it.
    pub id: &'a str,
    pub account_id: AccountId,
    pub topic: SupportTopic,
    /// Already checked (`offboard_core::support::SupportText`).
    pub message: &'a str,
    pub now: OffsetDateTime,
}

/// An email queued with the change that causes it: recipient and body sealed by the
/// caller (R20), sent by the `mail` job of the same id.
#[derive(Debug, Clone)]
pub struct QueuedMail<'a> {
    pub id: &'a str,
    pub recipient_sealed: &'a str,
    pub subject: &'a str,
    pub body_sealed: &'a str,
}

#[derive(Debug, Clone)]
pub struct SupportAnswer<'a> {
    pub request_id: &'a str,
    pub agent_id: &'a str,
    /// Already checked, like a message.
    pub answer: &'a str,
    pub now: OffsetDateTime,
    /// The answer's email to the account holder.
    pub mail: QueuedMail<'a>,
}

const COLUMNS: &str =
    "id, account_id, topic, message, status, created_at, answered_at, answered_by, answer";

fn request_from_row<R: Row>(row: &R) -> Result<SupportRequestRow, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let account: String = row.try_get("account_id")?;
    let topic: String = row.try_get("topic")?;
    let status: String = row.try_get("status")?;
    Ok(SupportRequestRow {
        id: row.try_get("id")?,
        account_id: account
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("support request account {account:?}")))?,
        topic: SupportTopic::parse(&topic)
            .ok_or_else(|| StoreError::Corrupt(format!("support request topic {topic:?}")))?,
        message: row.try_get("message")?,
        status: SupportRequestStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("support request status {status:?}")))?,
        created_at: from_unix(row.try_get("created_at")?),
        answered_at: row.try_get::<Option<i64>, _>("answered_at")?.map(from_unix),
        answered_by: row.try_get("answered_by")?,
        answer: row.try_get("answer")?,
    })
}

impl Store {
    /// Records a contact request with its audit line, unless the account already has
    /// [`MAX_OPEN_SUPPORT_REQUESTS`] open; then false and nothing written. Counted and
    /// written in one transaction serialised per account (SQLite's single writer; a
    /// PostgreSQL advisory lock on the account, as the identity attempts do), so a
    /// parallel burst cannot slip past the limit.
    pub async fn open_support_request(
        &self,
        new: &NewSupportRequest<'_>,
        audit: &crate::AuditEntry<'_>,
    ) -> Result<bool, StoreError> {
        let account = new.account_id.to_string();
        let opened = locked_tx!(self, format!("support-requests:{account}"), tx => {
            let open: i64 = sqlx::query("SELECT COUNT(*) AS n FROM support_requests WHERE account_id = $1 AND status = 'open'")
                .bind(&account)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            if open >= i64::from(MAX_OPEN_SUPPORT_REQUESTS) {
                false
            } else {
                sqlx::query(
                    "INSERT INTO support_requests (id, account_id, topic, message, status, created_at)
                     VALUES ($1, $2, $3, $4, 'open', $5)",
                )
                .bind(new.id)
                .bind(&account)
                .bind(new.topic.as_str())
                .bind(new.message)
                .bind(to_unix(new.now))
                .execute(&mut *tx)
                .await?;
                crate::audit::insert_audit!(tx, audit);
                true
            }
        });
        Ok(opened)
    }

    /// The account's requests, newest first.
    pub async fn support_requests_of(
        &self,
        account_id: AccountId,
    ) -> Result<Vec<SupportRequestRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM support_requests WHERE account_id = $1 ORDER BY created_at DESC, id DESC"
        );
        on_reader!(self, pool => {
            let rows = sqlx::query(&sql).bind(account_id.to_string()).fetch_all(pool).await?;
            rows.iter().map(request_from_row).collect()
        })
    }

    /// The console's queue: every open request, oldest first.
    pub async fn open_support_requests(&self) -> Result<Vec<SupportRequestRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM support_requests WHERE status = 'open' ORDER BY created_at, id"
        );
        on_reader!(self, pool => {
            let rows = sqlx::query(&sql).fetch_all(pool).await?;
            rows.iter().map(request_from_row).collect()
        })
    }

    pub async fn support_request(&self, id: &str) -> Result<Option<SupportRequestRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM support_requests WHERE id = $1");
        on_reader!(self, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(request_from_row).transpose()
        })
    }

    /// Answers an open request, all or nothing: the answer recorded, the email queued
    /// with its job, the audit line written (R11, R14). False (and nothing written) if
    /// the request was not open (another agent answered first, or it is gone).
    pub async fn answer_support_request(
        &self,
        a: &SupportAnswer<'_>,
        audit: &crate::AuditEntry<'_>,
    ) -> Result<bool, StoreError> {
        let now = to_unix(a.now);
        let answered = crate::in_tx!(self, tx => {
            let n = sqlx::query(
                "UPDATE support_requests SET status = 'answered', answered_at = $1, answered_by = $2, answer = $3
                 WHERE id = $4 AND status = 'open'",
            )
            .bind(now)
            .bind(a.agent_id)
            .bind(a.answer)
            .bind(a.request_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                sqlx::query("INSERT INTO mail_queue (id, recipient_sealed, subject, body, html, created_at) VALUES ($1, $2, $3, $4, NULL, $5)")
                    .bind(a.mail.id)
                    .bind(a.mail.recipient_sealed)
                    .bind(a.mail.subject)
                    .bind(a.mail.body_sealed)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(MAIL_JOB_SQL).bind(a.mail.id).bind(now).execute(&mut *tx).await?;
                crate::audit::insert_audit!(tx, audit);
            }
            n == 1
        });
        Ok(answered)
    }
}
