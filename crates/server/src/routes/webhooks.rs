//! Webhook endpoints for downstream services (API.md "Host / admin API", R13): register an
//! endpoint, read its deliveries, replay a dead one. Bearer `OFFBOARD_ADMIN_TOKEN`.

use crate::error::ApiError;
use crate::error::ErrorKind;
use crate::error::{ApiResult, ErrorBody};
use crate::http::admin::AdminAuth;
use crate::http::json::ApiJson;
use crate::views;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use offboard_app::audit;
use offboard_app::AppState;
use offboard_core::actor::Actor;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register, list))
        .routes(routes!(deliveries))
        .routes(routes!(replay))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewWebhook {
    /// Where deliveries are POSTed (http or https).
    #[schema(format = "uri", example = "https://platform.example/hooks/offboard")]
    pub url: String,
    /// Any of `account.deleted`, `account.deletion_started`, `account.recovered`, `account.frozen`.
    #[schema(value_type = Vec<crate::vocabulary::WebhookEvent>)]
    pub events: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookCreated {
    pub webhook_id: String,
    /// `whsec_...`: verify deliveries with it (Standard Webhooks). Shown once.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookSummary {
    pub webhook_id: String,
    pub url: String,
    #[schema(value_type = Vec<crate::vocabulary::WebhookEvent>)]
    pub events: Vec<String>,
    /// `api` or `settings`.
    #[schema(value_type = crate::vocabulary::WebhookSource)]
    pub source: String,
}

/// Registers a webhook endpoint. Events written from now on are delivered to it.
#[utoipa::path(post, path = "/api/v1/admin/webhooks", tag = "admin", operation_id = "admin_webhook_register", request_body = NewWebhook,
    security(("admin_token" = [])),
    responses((status = 201, body = WebhookCreated), (status = 422, description = "`validation_error`: `url` or `events`", body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    _: AdminAuth,
    ApiJson(req): ApiJson<NewWebhook>,
) -> ApiResult<(StatusCode, Json<WebhookCreated>)> {
    match offboard_app::webhooks::register(&state, &req.url, &req.events).await? {
        Ok((webhook_id, secret)) => {
            audit::by(
                &state,
                &Actor::Admin,
                None,
                "webhook_registered",
                Some(&webhook_id),
            )
            .await;
            Ok((
                StatusCode::CREATED,
                Json(WebhookCreated { webhook_id, secret }),
            ))
        }
        Err(err @ offboard_app::webhooks::EndpointError::Url) => {
            Err(ApiError::validation("url", err.to_string()))
        }
        Err(err) => Err(ApiError::validation("events", err.to_string())),
    }
}

/// The registered endpoints (secrets are never shown again).
#[utoipa::path(get, path = "/api/v1/admin/webhooks", tag = "admin", operation_id = "admin_webhook_list",
    security(("admin_token" = [])),
    responses((status = 200, body = Vec<WebhookSummary>), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    _: AdminAuth,
) -> ApiResult<Json<Vec<WebhookSummary>>> {
    let endpoints = state.store.webhook_endpoints().await?;
    Ok(Json(
        endpoints
            .into_iter()
            .map(|e| WebhookSummary {
                webhook_id: e.id,
                url: e.url,
                events: e.events,
                source: e.source,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// At most this many, newest first (default 100, at most 1000).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    pub delivery_id: String,
    #[schema(format = "uuid")]
    pub event_id: String,
    #[serde(rename = "type")]
    #[schema(value_type = crate::vocabulary::WebhookEvent)]
    pub event_type: String,
    /// `pending`, `delivered` or `dead`.
    #[schema(value_type = crate::vocabulary::DeliveryStatus)]
    pub status: String,
    pub attempts: i64,
    /// The HTTP status of the last attempt, if the endpoint answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub last_status: Option<i64>,
    /// Why the last attempt failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub last_error: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = DateTime)]
    pub delivered_at: Option<String>,
}

/// Delivery status of one endpoint, newest first.
#[utoipa::path(get, path = "/api/v1/admin/webhooks/{webhook_id}/deliveries", tag = "admin", operation_id = "admin_webhook_deliveries",
    security(("admin_token" = [])),
    params(("webhook_id" = String, Path), DeliveryQuery),
    responses((status = 200, body = Vec<Delivery>), (status = 404, description = "`not_found`: no webhook with this id", body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn deliveries(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(webhook_id): Path<String>,
    Query(q): Query<DeliveryQuery>,
) -> ApiResult<Json<Vec<Delivery>>> {
    if state.store.webhook_endpoint(&webhook_id).await?.is_none() {
        return Err(ApiError::new(
            ErrorKind::NotFound,
            "not_found",
            "There is no webhook with this id.",
        ));
    }
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let rows = state.store.deliveries_of(&webhook_id, limit).await?;
    Ok(Json(
        rows.into_iter()
            .map(|d| Delivery {
                delivery_id: d.id,
                event_id: d.event_id,
                event_type: d.event_type,
                status: d.status,
                attempts: d.attempts,
                last_status: d.last_status,
                last_error: d.last_error,
                created_at: views::rfc3339(d.created_at),
                delivered_at: d.delivered_at.map(views::rfc3339),
            })
            .collect(),
    ))
}

/// Sends a dead delivery again (fresh attempts). Only dead deliveries can be replayed.
#[utoipa::path(post, path = "/api/v1/admin/webhooks/deliveries/{delivery_id}/replay", tag = "admin", operation_id = "admin_webhook_replay",
    security(("admin_token" = [])),
    params(("delivery_id" = String, Path)),
    responses((status = 204, description = "queued again"), (status = 409, description = "`not_dead`: the delivery is pending, delivered or unknown", body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn replay(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(delivery_id): Path<String>,
) -> ApiResult<StatusCode> {
    if state
        .store
        .replay_delivery(&delivery_id, state.now())
        .await?
    {
        audit::by(
            &state,
            &Actor::Admin,
            None,
            "webhook_replayed",
            Some(&delivery_id),
        )
        .await;
        state.job_wake.notify_one();
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(
            ErrorKind::Conflict,
            "not_dead",
            "Only a dead delivery can be replayed; this one is pending, delivered or unknown. Check its status with GET /api/v1/admin/webhooks/{webhook_id}/deliveries: a pending one is retried by itself.",
        ))
    }
}
