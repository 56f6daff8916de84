use crate::{from_unix, on_db, on_reader, to_unix, Store, StoreError};
use sqlx::Row;
use time::OffsetDateTime;

/// A message the dev-mode notifier keeps instead of sending it.
#[derive(Debug, Clone)]
pub struct OutboxMessage<'a> {
    pub channel: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// The one-time code in the message, shown separately to make trying the flow easy.
    pub code: Option<&'a str>,
    pub sent_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub code: Option<String>,
    pub sent_at: OffsetDateTime,
}

impl Store {
    pub async fn outbox_push(&self, msg: OutboxMessage<'_>) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query(
            "INSERT INTO dev_outbox (channel, recipient, subject, body, code, sent_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(msg.channel)
        .bind(msg.recipient)
        .bind(msg.subject)
        .bind(msg.body)
        .bind(msg.code)
        .bind(to_unix(msg.sent_at))
        .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Newest first; all recipients when `to` is `None`.
    pub async fn outbox_list(
        &self,
        to: Option<&str>,
        limit: i64,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        on_reader!(self, pool => {
            let rows = sqlx::query(
                "SELECT channel, recipient, subject, body, code, sent_at FROM dev_outbox
                 WHERE (CAST($1 AS TEXT) IS NULL OR recipient = $1) ORDER BY id DESC LIMIT $2",
            )
            .bind(to)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(StoredMessage {
                        channel: row.try_get("channel")?,
                        recipient: row.try_get("recipient")?,
                        subject: row.try_get("subject")?,
                        body: row.try_get("body")?,
                        code: row.try_get("code")?,
                        sent_at: from_unix(row.try_get("sent_at")?),
                    })
                })
                .collect()
        })
    }
}
