//! The host/admin API's webhook endpoints (API.md "Host / admin API"): registering an
//! endpoint, listing them, their deliveries, and replaying a dead delivery. Events are
//! strings here (`account.deleted`, ...), as the contract lists them.

use crate::client::{segment, Auth, Client, NoBody};
use crate::error::ClientError;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Serialize)]
struct NewWebhook<'a> {
    url: &'a str,
    events: &'a [&'a str],
}

/// `201` of `POST /api/v1/admin/webhooks`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct WebhookCreated {
    pub webhook_id: String,
    /// `whsec_...`, shown this once: deliveries are signed with it (Standard Webhooks).
    pub secret: String,
}

impl fmt::Debug for WebhookCreated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookCreated")
            .field("webhook_id", &self.webhook_id)
            .field("secret", &"***")
            .finish()
    }
}

/// A registered endpoint, as `GET /api/v1/admin/webhooks` lists it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WebhookSummary {
    pub webhook_id: String,
    pub url: String,
    pub events: Vec<String>,
    /// `api` or `settings`.
    pub source: String,
}

/// One event's delivery to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Delivery {
    pub delivery_id: String,
    /// Sent as the `webhook-id` header, so receivers deduplicate.
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    pub attempts: i64,
    /// The HTTP status of the last attempt, if the endpoint answered.
    #[serde(default)]
    pub last_status: Option<i64>,
    #[serde(default)]
    pub last_error: Option<String>,
    pub created_at: String,
    #[serde(default)]
    pub delivered_at: Option<String>,
}

impl Client {
    /// `admin_webhook_register`: `POST /api/v1/admin/webhooks` → 201 with the secret.
    pub async fn admin_register_webhook(
        &self,
        url: &str,
        events: &[&str],
    ) -> Result<WebhookCreated, ClientError> {
        let body = NewWebhook { url, events };
        self.post(
            "admin_webhook_register",
            "/api/v1/admin/webhooks",
            Auth::Admin,
            &body,
            201,
        )
        .await
    }

    /// `admin_webhook_list`: `GET /api/v1/admin/webhooks`.
    pub async fn admin_webhooks(&self) -> Result<Vec<WebhookSummary>, ClientError> {
        self.get(
            "admin_webhook_list",
            "/api/v1/admin/webhooks",
            Auth::Admin,
            &[],
        )
        .await
    }

    /// `admin_webhook_deliveries`: `GET /api/v1/admin/webhooks/{id}/deliveries`, newest
    /// first; an unknown webhook is 404 `not_found`.
    pub async fn admin_webhook_deliveries(
        &self,
        webhook_id: &str,
    ) -> Result<Vec<Delivery>, ClientError> {
        let path = format!("/api/v1/admin/webhooks/{}/deliveries", segment(webhook_id));
        self.get("admin_webhook_deliveries", &path, Auth::Admin, &[])
            .await
    }

    /// `admin_webhook_replay`: `POST /api/v1/admin/webhooks/deliveries/{id}/replay` → 204;
    /// anything but a dead delivery is 409 `not_dead`.
    pub async fn admin_replay_delivery(&self, delivery_id: &str) -> Result<(), ClientError> {
        let path = format!(
            "/api/v1/admin/webhooks/deliveries/{}/replay",
            segment(delivery_id)
        );
        self.post_empty("admin_webhook_replay", &path, Auth::Admin, &NoBody {}, 204)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deliveries_decode_and_the_secret_stays_hidden() {
        let rows: Vec<Delivery> = serde_json::from_value(json!([{"delivery_id": "d1",
            "event_id": "e1", "type": "account.deleted", "status": "dead", "attempts": 3,
            "last_status": 500, "created_at": "2026-01-01T12:00:00Z"}]))
        .unwrap();
        assert_eq!(rows[0].event_type, "account.deleted");
        assert_eq!(rows[0].last_status, Some(500));
        assert_eq!(rows[0].delivered_at, None);
        let created: WebhookCreated =
            serde_json::from_value(json!({"webhook_id": "wh_1", "secret": "whsec_abc"})).unwrap();
        assert!(!format!("{created:?}").contains("whsec_abc"));
        assert_eq!(
            serde_json::to_value(NewWebhook {
                url: "https://x.example/h",
                events: &["account.deleted"]
            })
            .unwrap(),
            json!({"url": "https://x.example/h", "events": ["account.deleted"]})
        );
    }
}
