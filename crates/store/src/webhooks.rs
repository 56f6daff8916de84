//! R13: events for downstream services, delivered to webhook endpoints. An event row and
//! the job that fans it out are written in one transaction (the transactional outbox);
//! fanning out writes one delivery per subscribed endpoint, each with its own job.
//! Delivery ids are derived from the event and endpoint, so running a fan-out twice
//! (after a crash) writes nothing new.

use crate::{from_unix, in_tx, on_db, on_reader, to_unix, Store, StoreError};
use sqlx::Row;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    /// The `whsec_` secret, sealed with the webhook key.
    pub secret_sealed: String,
    pub events: Vec<String>,
    /// `api` or `settings`.
    pub source: String,
    pub created_at: OffsetDateTime,
}

impl WebhookEndpoint {
    pub fn wants(&self, event_type: &str) -> bool {
        self.events.iter().any(|e| e == event_type)
    }
}

/// Everything needed to send one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDelivery {
    pub id: String,
    pub endpoint_id: String,
    pub status: String,
    pub url: String,
    pub secret_sealed: String,
    pub event_id: String,
    pub event_type: String,
    pub payload: String,
    pub event_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    pub id: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub delivered_at: Option<OffsetDateTime>,
}

/// The outcome of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryAttempt {
    Delivered {
        http_status: i64,
    },
    Failed {
        http_status: Option<i64>,
        error: String,
        dead: bool,
    },
}

/// A delivery's id: one per (event, endpoint), so a repeated fan-out is harmless.
pub fn delivery_id(event_id: &str, endpoint_id: &str) -> String {
    format!("{event_id}.{endpoint_id}")
}

fn endpoint_from_row<R: Row>(r: &R) -> Result<WebhookEndpoint, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    String: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    i64: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let events: String = r.try_get("events")?;
    Ok(WebhookEndpoint {
        id: r.try_get("id")?,
        url: r.try_get("url")?,
        secret_sealed: r.try_get("secret_sealed")?,
        events: events
            .split(',')
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect(),
        source: r.try_get("source")?,
        created_at: from_unix(r.try_get("created_at")?),
    })
}

const ENDPOINT_COLUMNS: &str = "id, url, secret_sealed, events, source, created_at";

impl Store {
    /// Registers an endpoint, or (same id) updates its address, secret and events: the
    /// settings-defined endpoints are written again at every start.
    pub async fn put_webhook_endpoint(&self, e: &WebhookEndpoint) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query(
            "INSERT INTO webhook_endpoints (id, url, secret_sealed, events, source, created_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET url = excluded.url, secret_sealed = excluded.secret_sealed, events = excluded.events",
        )
        .bind(&e.id)
        .bind(&e.url)
        .bind(&e.secret_sealed)
        .bind(e.events.join(","))
        .bind(&e.source)
        .bind(to_unix(e.created_at))
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    pub async fn webhook_endpoint(&self, id: &str) -> Result<Option<WebhookEndpoint>, StoreError> {
        let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1");
        let row = on_reader!(self, pool => {
            sqlx::query(&sql).bind(id).fetch_optional(pool).await?.as_ref().map(endpoint_from_row).transpose()?
        });
        Ok(row)
    }

    pub async fn webhook_endpoints(&self) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let sql =
            format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY created_at, id");
        let rows = on_reader!(self, pool => {
            sqlx::query(&sql).fetch_all(pool).await?.iter().map(endpoint_from_row).collect::<Result<Vec<_>, _>>()?
        });
        Ok(rows)
    }

    /// Appends an event and queues its fan-out, in one transaction. Returns the event id.
    pub async fn record_event(
        &self,
        event_type: &str,
        payload: &str,
        now: OffsetDateTime,
    ) -> Result<String, StoreError> {
        let id = uuid::Uuid::now_v7().to_string();
        let at = to_unix(now);
        in_tx!(self, tx => {
            sqlx::query("INSERT INTO events (id, type, payload, created_at) VALUES ($1, $2, $3, $4)")
                .bind(&id)
                .bind(event_type)
                .bind(payload)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            sqlx::query(EVENT_JOB_SQL).bind(&id).bind(at).execute(&mut *tx).await?;
        });
        Ok(id)
    }

    /// Writes one delivery (and its job) per endpoint subscribed to the event. Returns
    /// how many deliveries are new.
    pub async fn fan_out_event(
        &self,
        event_id: &str,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let endpoints = self.webhook_endpoints().await?;
        let at = to_unix(now);
        let added = in_tx!(self, tx => {
            let event_type: Option<String> = sqlx::query("SELECT type FROM events WHERE id = $1")
                .bind(event_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("type"))
                .transpose()?;
            let mut added = 0;
            if let Some(event_type) = event_type {
                for endpoint in endpoints.iter().filter(|e| e.wants(&event_type)) {
                    let id = delivery_id(event_id, &endpoint.id);
                    added += sqlx::query(
                        "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, status, created_at) VALUES ($1, $2, $3, 'pending', $4)
                         ON CONFLICT (id) DO NOTHING",
                    )
                    .bind(&id)
                    .bind(&endpoint.id)
                    .bind(event_id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    sqlx::query(
                        "INSERT INTO jobs (id, kind, state, run_at, created_at, updated_at) VALUES ($1, 'webhook', 'queued', $2, $2, $2)
                         ON CONFLICT (id) DO NOTHING",
                    )
                    .bind(&id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            added
        });
        Ok(added)
    }

    pub async fn pending_delivery(&self, id: &str) -> Result<Option<PendingDelivery>, StoreError> {
        let row = on_reader!(self, pool => {
            sqlx::query(
                "SELECT d.id, d.endpoint_id, d.status, w.url, w.secret_sealed, e.id AS event_id, e.type, e.payload, e.created_at
                 FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id JOIN events e ON e.id = d.event_id
                 WHERE d.id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
            .map(|r| -> Result<PendingDelivery, StoreError> {
                Ok(PendingDelivery {
                    id: r.try_get("id")?,
                    endpoint_id: r.try_get("endpoint_id")?,
                    status: r.try_get("status")?,
                    url: r.try_get("url")?,
                    secret_sealed: r.try_get("secret_sealed")?,
                    event_id: r.try_get("event_id")?,
                    event_type: r.try_get("type")?,
                    payload: r.try_get("payload")?,
                    event_at: from_unix(r.try_get("created_at")?),
                })
            })
            .transpose()?
        });
        Ok(row)
    }

    /// Records an attempt. A delivered row stays delivered (at-least-once: a late
    /// duplicate attempt changes nothing).
    pub async fn record_delivery_attempt(
        &self,
        id: &str,
        attempt: &DeliveryAttempt,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (status, http_status, error, delivered_at) = match attempt {
            DeliveryAttempt::Delivered { http_status } => {
                ("delivered", Some(*http_status), None, Some(to_unix(now)))
            }
            DeliveryAttempt::Failed {
                http_status,
                error,
                dead,
            } => (
                if *dead { "dead" } else { "pending" },
                *http_status,
                Some(error.as_str()),
                None,
            ),
        };
        on_db!(self, pool => sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, last_status = $2, last_error = $3, delivered_at = $4
             WHERE id = $5 AND status <> 'delivered'",
        )
        .bind(status)
        .bind(http_status)
        .bind(error)
        .bind(delivered_at)
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// The deliveries of one endpoint, newest first.
    pub async fn deliveries_of(
        &self,
        endpoint_id: &str,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let rows = on_reader!(self, pool => {
            sqlx::query(
                "SELECT d.id, d.endpoint_id, d.event_id, e.type, d.status, d.attempts, d.last_status, d.last_error, d.created_at, d.delivered_at
                 FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
                 WHERE d.endpoint_id = $1 ORDER BY d.created_at DESC, d.id DESC LIMIT $2",
            )
            .bind(endpoint_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| -> Result<DeliveryRow, StoreError> {
                Ok(DeliveryRow {
                    id: r.try_get("id")?,
                    endpoint_id: r.try_get("endpoint_id")?,
                    event_id: r.try_get("event_id")?,
                    event_type: r.try_get("type")?,
                    status: r.try_get("status")?,
                    attempts: r.try_get("attempts")?,
                    last_status: r.try_get("last_status")?,
                    last_error: r.try_get("last_error")?,
                    created_at: from_unix(r.try_get("created_at")?),
                    delivered_at: r.try_get::<Option<i64>, _>("delivered_at")?.map(from_unix),
                })
            })
            .collect::<Result<Vec<_>, _>>()?
        });
        Ok(rows)
    }

    /// Sends a dead delivery again: the delivery goes back to pending and its job to the
    /// queue with fresh attempts. False unless the delivery is dead.
    pub async fn replay_delivery(&self, id: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        let at = to_unix(now);
        let replayed = in_tx!(self, tx => {
            let n = sqlx::query("UPDATE webhook_deliveries SET status = 'pending' WHERE id = $1 AND status = 'dead'")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 1 {
                sqlx::query(
                    "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $1, last_error = NULL, lease_owner = NULL, lease_until = NULL, updated_at = $1
                     WHERE id = $2",
                )
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            n == 1
        });
        Ok(replayed)
    }

    /// When the oldest delivery still pending was created (webhook lag).
    pub async fn oldest_pending_delivery(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        let at: Option<i64> = on_reader!(self, pool => {
            sqlx::query("SELECT MIN(created_at) AS at FROM webhook_deliveries WHERE status = 'pending'")
                .fetch_one(pool)
                .await?
                .try_get("at")?
        });
        Ok(at.map(from_unix))
    }
}

/// Queues the fan-out of an event whose id is `$1` at time `$2` (used inside the
/// transactions that write events).
pub(crate) const EVENT_JOB_SQL: &str = "INSERT INTO jobs (id, kind, state, run_at, created_at, updated_at) VALUES ($1, 'event', 'queued', $2, $2, $2)
     ON CONFLICT (id) DO NOTHING";
