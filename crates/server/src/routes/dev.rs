//! Dev mode only (not routed at all in production, so 404): the outbox and the clock.

use crate::error::ApiError;
use crate::error::ErrorKind;
use crate::error::{ApiResult, ErrorBody};
use crate::http::csrf::CsrfToken;
use crate::http::json::ApiJson;
use crate::http::session::MaybePageUser;
use crate::views::{self, DevOutboxPage, Layout, MessageView};
use axum::extract::{Query, State};
use axum::response::Response;
use axum::Json;
use offboard_app::AppState;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(outbox_json))
        .routes(routes!(clock))
        .routes(routes!(outbox_page))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct OutboxQuery {
    /// Only messages to this address or phone number.
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxEntry {
    /// `email` or `sms`.
    #[schema(value_type = crate::vocabulary::ChannelName)]
    pub channel: String,
    /// The email address or phone number.
    pub to: String,
    pub subject: String,
    pub body: String,
    /// The code the message carries, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub code: Option<String>,
    #[schema(format = DateTime)]
    pub sent_at: String,
}

const OUTBOX_LIMIT: i64 = 200;

/// Messages kept instead of sent, newest first.
#[utoipa::path(get, path = "/api/v1/dev/outbox", tag = "dev", operation_id = "dev_outbox", params(OutboxQuery),
    responses((status = 200, body = Vec<OutboxEntry>)))]
pub async fn outbox_json(
    State(state): State<AppState>,
    Query(q): Query<OutboxQuery>,
) -> ApiResult<Json<Vec<OutboxEntry>>> {
    let to = q.to.as_deref().map(|t| t.trim().to_lowercase());
    let messages = state.store.outbox_list(to.as_deref(), OUTBOX_LIMIT).await?;
    Ok(Json(
        messages
            .into_iter()
            .map(|m| OutboxEntry {
                channel: m.channel,
                to: m.recipient,
                subject: m.subject,
                body: m.body,
                code: m.code,
                sent_at: views::rfc3339(m.sent_at),
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ClockRequest {
    /// Seconds to move the app's clock forward (1 to 10 years' worth).
    #[schema(minimum = 1, maximum = 316224000)]
    pub advance_seconds: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClockResponse {
    #[schema(format = DateTime)]
    pub now: String,
}

/// Moves the app's clock forward, to try expiries and the 30-day wait.
#[utoipa::path(post, path = "/api/v1/dev/clock", tag = "dev", operation_id = "dev_clock", request_body = ClockRequest,
    responses((status = 200, body = ClockResponse),
        (status = 409, description = "`conflict`: the server runs on the system clock", body = ErrorBody),
        (status = 422, description = "`validation_error`: `advance_seconds` out of range", body = ErrorBody)))]
pub async fn clock(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ClockRequest>,
) -> ApiResult<Json<ClockResponse>> {
    const TEN_YEARS: i64 = 10 * 366 * 24 * 3600;
    if !(1..=TEN_YEARS).contains(&req.advance_seconds) {
        return Err(ApiError::validation(
            "advance_seconds",
            "must be between 1 and 316224000 (the clock only moves forward)",
        ));
    }
    let Some(dev_clock) = &state.dev_clock else {
        return Err(ApiError::new(
            ErrorKind::Conflict,
            "conflict",
            "This server runs on the system clock (clock = \"system\"), which cannot be moved.",
        ));
    };
    let now = dev_clock.advance(req.advance_seconds);
    Ok(Json(ClockResponse {
        now: views::rfc3339(now),
    }))
}

/// The dev outbox as a page.
#[utoipa::path(get, path = "/dev/outbox", tag = "dev", operation_id = "dev_outbox_page", params(OutboxQuery),
    security((), ("session_cookie" = [])),
    responses((status = 200, description = "messages kept instead of sent", content_type = "text/html")))]
pub async fn outbox_page(
    State(state): State<AppState>,
    MaybePageUser(user): MaybePageUser,
    csrf: CsrfToken,
    Query(q): Query<OutboxQuery>,
) -> Response {
    let layout = Layout::new(user.as_ref(), &csrf.0, true);
    let to = q.to.as_deref().map(|t| t.trim().to_lowercase());
    match state.store.outbox_list(to.as_deref(), OUTBOX_LIMIT).await {
        Ok(messages) => views::render(&DevOutboxPage {
            layout,
            messages: messages
                .into_iter()
                .map(|m| MessageView {
                    channel: m.channel,
                    to: m.recipient,
                    subject: m.subject,
                    body: m.body,
                    code: m.code,
                    sent_at: views::human_time(m.sent_at),
                })
                .collect(),
        }),
        Err(err) => views::error_page(&err.into(), Some(layout)),
    }
}
