//! R13: webhook endpoints and delivery, signed the Standard Webhooks way: headers
//! `webhook-id` (the event id, the same on every attempt so receivers deduplicate),
//! `webhook-timestamp` (this attempt, unix seconds) and `webhook-signature`
//! (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the endpoint's secret).

use crate::config::JobsConfig;
use crate::job_outcome::{Failure, Outcome};
use crate::outbound::{self, Body, Method};
use crate::state::AppState;
use base64::Engine;
use offboard_core::crypto::SecretKey;
use offboard_core::events::EventType;
use offboard_core::Clock;
use offboard_store::{ClaimedJob, DeliveryAttempt, StoreError, WebhookEndpoint};

/// Why an endpoint was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EndpointError {
    #[error("`url` must be an absolute http or https address")]
    Url,
    #[error("`events` must name at least one of account.deleted, account.deletion_started, account.recovered, account.frozen")]
    Events,
}

/// Checks an endpoint's address and events (events deduplicated, in a stable order).
pub fn validate(url: &str, events: &[String]) -> Result<(String, Vec<String>), EndpointError> {
    let parsed = url::Url::parse(url.trim()).map_err(|_| EndpointError::Url)?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(EndpointError::Url);
    }
    let Some(wanted) = events
        .iter()
        .map(|e| EventType::parse(e))
        .collect::<Option<Vec<_>>>()
        .filter(|w| !w.is_empty())
    else {
        return Err(EndpointError::Events);
    };
    let events = EventType::ALL
        .into_iter()
        .filter(|t| wanted.contains(t))
        .map(|t| t.as_str().to_owned())
        .collect();
    Ok((parsed.to_string(), events))
}

fn seal_secret(state: &AppState, endpoint_id: &str, secret: &str) -> String {
    state
        .config
        .keys
        .webhook
        .seal(endpoint_id.as_bytes(), secret.as_bytes())
}

/// Registers an endpoint through the admin API; returns its id and the `whsec_` secret,
/// shown this once.
pub async fn register(
    state: &AppState,
    url: &str,
    events: &[String],
) -> Result<Result<(String, String), EndpointError>, StoreError> {
    let (url, events) = match validate(url, events) {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    let id = format!("wh_{}", uuid::Uuid::now_v7().simple());
    let secret = new_secret();
    let endpoint = WebhookEndpoint {
        secret_sealed: seal_secret(state, &id, &secret),
        id: id.clone(),
        url,
        events,
        source: "api".into(),
        created_at: state.now(),
    };
    state.store.put_webhook_endpoint(&endpoint).await?;
    Ok(Ok((id, secret)))
}

/// A fresh `whsec_` secret: 32 random bytes, base64.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// The secret a settings-defined endpoint is signed with: the webhook key itself, so
/// the operator configures receivers with `whsec_` + base64 of that key.
pub fn settings_secret(key: &SecretKey) -> String {
    let bytes = hex::decode(key.to_hex().as_str()).unwrap_or_default();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Writes the settings-defined endpoints (their ids follow from their addresses, so a
/// restart updates rather than duplicates them).
pub async fn sync_settings_endpoints(state: &AppState) -> Result<(), anyhow::Error> {
    for hook in &state.config.webhooks {
        let (url, events) = validate(&hook.url, &hook.events)
            .map_err(|e| anyhow::anyhow!("setting `webhooks` ({}): {e}", hook.url))?;
        let id = format!(
            "wh_settings_{}",
            &state
                .config
                .keys
                .webhook
                .keyed_hash("webhook-endpoint", &url)[..16]
        );
        let secret = settings_secret(&state.config.keys.webhook);
        let endpoint = WebhookEndpoint {
            secret_sealed: seal_secret(state, &id, &secret),
            id,
            url,
            events,
            source: "settings".into(),
            created_at: state.now(),
        };
        state.store.put_webhook_endpoint(&endpoint).await?;
    }
    Ok(())
}

/// The body of a delivery (Standard Webhooks payload shape).
pub fn body(event_type: &str, event_at: &str, payload: &str) -> String {
    let data: serde_json::Value = serde_json::from_str(payload).unwrap_or(serde_json::Value::Null);
    serde_json::json!({"type": event_type, "timestamp": event_at, "data": data}).to_string()
}

/// Delivers one `webhook_deliveries` row (a job of kind `webhook`).
pub(crate) async fn deliver(
    state: &AppState,
    job: &ClaimedJob,
    cfg: &JobsConfig,
) -> Result<Outcome, Failure> {
    let Some(d) = state.store.pending_delivery(&job.id).await? else {
        return Ok(Outcome::Done);
    };
    if d.status == "delivered" {
        return Ok(Outcome::Done);
    }
    let request = signed_request(state, &d, cfg)?;
    let sent = state.http.send(request).await;
    let last = job.attempts >= cfg.max_attempts;
    let (attempt, result) = match sent {
        Ok(resp) if resp.is_success() => (
            DeliveryAttempt::Delivered {
                http_status: i64::from(resp.status),
            },
            Ok(Outcome::Done),
        ),
        Ok(resp) => {
            let error = format!("the endpoint answered {}", resp.status);
            (
                DeliveryAttempt::Failed {
                    http_status: Some(i64::from(resp.status)),
                    error: error.clone(),
                    dead: last,
                },
                Err(Failure(error)),
            )
        }
        Err(err) => {
            let error = match err {
                outbound::Error::Timeout => "the endpoint did not answer in time".to_owned(),
                other => format!("the endpoint could not be reached: {other}"),
            };
            (
                DeliveryAttempt::Failed {
                    http_status: None,
                    error: error.clone(),
                    dead: last,
                },
                Err(Failure(error)),
            )
        }
    };
    state
        .store
        .record_delivery_attempt(&job.id, &attempt, state.now())
        .await?;
    result
}

/// The signed POST of one delivery (Standard Webhooks headers).
fn signed_request(
    state: &AppState,
    d: &offboard_store::PendingDelivery,
    cfg: &JobsConfig,
) -> Result<outbound::Request, Failure> {
    let secret = state
        .config
        .keys
        .webhook
        .open(d.endpoint_id.as_bytes(), &d.secret_sealed)
        .ok_or_else(|| {
            Failure("the endpoint secret cannot be opened with the current webhook key".into())
        })?;
    let secret = String::from_utf8_lossy(&secret).into_owned();
    let signer = standardwebhooks::Webhook::new(&secret)
        .map_err(|e| Failure(format!("endpoint secret unusable: {e}")))?;
    let body = body(
        &d.event_type,
        &offboard_core::clock::rfc3339(d.event_at),
        &d.payload,
    );
    // The receiver checks this against its own clock, so it is the real time even when
    // the dev clock is moved.
    let timestamp = offboard_core::SystemClock.now().unix_timestamp();
    let signature = signer
        .sign(&d.event_id, timestamp, body.as_bytes())
        .map_err(|e| Failure(format!("signing failed: {e}")))?;
    let Ok(address) = url::Url::parse(&d.url) else {
        return Err(Failure("the endpoint address is not a URL".into()));
    };
    let mut request = outbound::Request::new(Method::Post, address, cfg.webhook_timeout);
    request.headers = vec![
        (standardwebhooks::HEADER_WEBHOOK_ID, d.event_id.clone()),
        (
            standardwebhooks::HEADER_WEBHOOK_TIMESTAMP,
            timestamp.to_string(),
        ),
        (standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature),
    ];
    request.body = Some(Body::Json(body.into_bytes()));
    Ok(request)
}
