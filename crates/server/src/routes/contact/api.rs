//! Contact requests over the JSON API: the signed-in person opens and lists their own
//! (`/api/v1/support-requests`); agents list the open ones and answer by email
//! (`/api/v1/support/contact-requests`).

use crate::error::{ApiResult, ErrorBody};
use crate::http::agent::ApiAgent;
use crate::http::json::ApiJson;
use crate::http::session::ApiUser;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use offboard_app::support::{self, ContactRequest};
use offboard_app::AppState;
use offboard_core::clock::rfc3339;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct NewSupportRequest {
    #[schema(value_type = crate::vocabulary::SupportTopicName)]
    pub topic: String,
    /// What you need, 1 to 2000 characters; line breaks and tabs are kept, other control
    /// characters are refused.
    #[schema(min_length = 1, max_length = 2000)]
    pub message: String,
}

impl std::fmt::Debug for NewSupportRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSupportRequest")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

/// A contact request as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SupportRequestView {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(value_type = crate::vocabulary::SupportTopicName)]
    pub topic: String,
    pub message: String,
    #[schema(value_type = crate::vocabulary::SupportRequestStatusName)]
    pub status: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = DateTime)]
    pub answered_at: Option<String>,
    /// Support's answer, also sent by email.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub answer: Option<String>,
}

impl From<ContactRequest> for SupportRequestView {
    fn from(r: ContactRequest) -> Self {
        SupportRequestView {
            id: r.id,
            topic: r.topic.as_str().to_owned(),
            message: r.message,
            status: r.status.as_str().to_owned(),
            created_at: rfc3339(r.created_at),
            answered_at: r.answered_at.map(rfc3339),
            answer: r.answer,
        }
    }
}

/// Opens a request to support. At most 3 can wait at once.
#[utoipa::path(post, path = "/api/v1/support-requests", tag = "accounts", operation_id = "accounts_support_request_open", request_body = NewSupportRequest,
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 201, body = SupportRequestView), (status = 401, body = ErrorBody),
        (status = 409, description = "`too_many_open_requests` with `limit`: 3 requests already wait for support", body = ErrorBody),
        (status = 422, description = "`validation_error` naming `topic` or `message` (empty, too long, or holding a control character)", body = ErrorBody)))]
pub async fn open_request(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(req): ApiJson<NewSupportRequest>,
) -> ApiResult<(StatusCode, Json<SupportRequestView>)> {
    let request = support::open_request(&state, &user, &req.topic, &req.message).await?;
    Ok((StatusCode::CREATED, Json(request.into())))
}

/// Your requests to support, newest first.
#[utoipa::path(get, path = "/api/v1/support-requests", tag = "accounts", operation_id = "accounts_support_requests_list",
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 200, body = [SupportRequestView]), (status = 401, body = ErrorBody)))]
pub async fn my_requests(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Json<Vec<SupportRequestView>>> {
    let requests = support::my_requests(&state, &user).await?;
    Ok(Json(requests.into_iter().map(Into::into).collect()))
}

/// An open contact request as agents see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactRequestItem {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = "uuid")]
    pub account_id: String,
    #[schema(value_type = crate::vocabulary::SupportTopicName)]
    pub topic: String,
    pub message: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<ContactRequest> for ContactRequestItem {
    fn from(r: ContactRequest) -> Self {
        ContactRequestItem {
            id: r.id,
            account_id: r.account_id.to_string(),
            topic: r.topic.as_str().to_owned(),
            message: r.message,
            created_at: rfc3339(r.created_at),
        }
    }
}

/// Open contact requests, oldest first.
#[utoipa::path(get, path = "/api/v1/support/contact-requests", tag = "support", operation_id = "support_contact_requests_list",
    security(("agent_token" = [])),
    responses((status = 200, body = [ContactRequestItem]), (status = 401, body = ErrorBody)))]
pub async fn agent_open_requests(
    State(state): State<AppState>,
    _agent: ApiAgent,
) -> ApiResult<Json<Vec<ContactRequestItem>>> {
    let open = support::open_contact_requests(&state).await?;
    Ok(Json(open.into_iter().map(Into::into).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ContactAnswer {
    /// The answer emailed to the account holder, 1 to 2000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    pub answer: String,
}

/// Answers an open contact request: the answer is emailed to the account holder, the
/// request is marked answered and the audit log names the agent.
#[utoipa::path(post, path = "/api/v1/support/contact-requests/{id}/answer", tag = "support", operation_id = "support_contact_request_answer",
    security(("agent_token" = [])),
    params(("id" = String, Path, format = "uuid", description = "The contact request's id")),
    request_body = ContactAnswer,
    responses((status = 204, description = "answered; the email is on its way"), (status = 401, body = ErrorBody),
        (status = 404, description = "`not_found`: no contact request with this id", body = ErrorBody),
        (status = 409, description = "`conflict`: already answered", body = ErrorBody),
        (status = 422, description = "`validation_error`: `answer` is empty, too long or holds a control character", body = ErrorBody)))]
pub async fn agent_answer(
    State(state): State<AppState>,
    ApiAgent(agent): ApiAgent,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ContactAnswer>,
) -> ApiResult<StatusCode> {
    support::answer_request(&state, &agent, &id, &req.answer).await?;
    Ok(StatusCode::NO_CONTENT)
}
