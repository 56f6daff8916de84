//! What the erasure leaves for delivery: the queued deletion notice (R12), sent and then
//! forgotten by its mail job, and the events for downstream services (R13).

use crate::{on_db, on_reader, Store, StoreError};
use sqlx::Row;

impl Store {
    /// One queued mail: (sealed recipient, subject, text, html); None once sent.
    pub async fn queued_mail_by_id(
        &self,
        id: &str,
    ) -> Result<Option<(String, String, String, Option<String>)>, StoreError> {
        on_reader!(self, pool => {
            sqlx::query("SELECT recipient_sealed, subject, body, html FROM mail_queue WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
                .map(|r| Ok((r.try_get("recipient_sealed")?, r.try_get("subject")?, r.try_get("body")?, r.try_get("html")?)))
                .transpose()
        })
    }

    /// The channel a queued message goes by (`email`, or `sms` for an alert's text).
    pub async fn queued_mail_channel(&self, id: &str) -> Result<Option<String>, StoreError> {
        on_reader!(self, pool => {
            sqlx::query("SELECT channel FROM mail_queue WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
                .map(|r| r.try_get("channel").map_err(StoreError::from))
                .transpose()
        })
    }

    pub async fn forget_mail(&self, id: &str) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("DELETE FROM mail_queue WHERE id = $1").bind(id).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Events written by the outbox, oldest first: (type, payload).
    pub async fn events(&self) -> Result<Vec<(String, String)>, StoreError> {
        on_reader!(self, pool => {
            sqlx::query("SELECT type, payload FROM events ORDER BY created_at, id")
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| Ok((r.try_get("type")?, r.try_get("payload")?)))
                .collect()
        })
    }
}
