//! Identity verification: user API, admin API and page.
//!
//! No answer here carries a whole document number: the API gives `number_last3`, the
//! page `•••456`, and a form with an error is shown again without the number.

use crate::error::ApiError;
use crate::error::{ApiResult, AppError, ErrorBody};
use crate::http::admin::AdminAuth;
use crate::http::csrf::{CsrfForm, CsrfToken};
use crate::http::json::ApiJson;
use crate::http::session::{ApiUser, Authenticated, PageUser};
use crate::layout::layout;
use crate::views::{self, Layout};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use offboard_app::identity::{self, FieldError, IdentityOverview, IdentitySubmission};
use offboard_app::AppState;
use offboard_core::identity::{format_date, DocumentType, IdentityStatus};
use offboard_core::AccountId;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(admin_put_identity))
        .routes(routes!(my_identity, submit_identity))
        .routes(routes!(identity_page, identity_submit))
}

/// A document number as JSON text or a JSON integer. Anything else is refused with a
/// message that does not repeat the value (serde's own messages would).
fn text_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) if n.is_u64() => Ok(n.to_string()),
        _ => Err(serde::de::Error::custom(
            "must be a string: the number as printed on the document",
        )),
    }
}

/// A document as the account holder submits it.
#[derive(Deserialize, ToSchema)]
pub struct IdentityRequest {
    /// `id_card`, `passport` or `drivers_licence`.
    #[schema(value_type = crate::vocabulary::DocumentTypeName)]
    pub document_type: String,
    /// As printed on the document; case, spaces, hyphens and dots do not matter.
    /// 4 to 32 letters and digits. Stored encrypted, never returned. A JSON integer is
    /// accepted too.
    #[serde(deserialize_with = "text_or_number")]
    #[schema(example = "AB 123456")]
    pub document_number: String,
    /// ISO 3166-1 alpha-2 code of the issuing country, e.g. `GB`.
    #[schema(pattern = r"^\s*[A-Za-z]{2}\s*$", example = "GB")]
    pub country: String,
    /// `YYYY-MM-DD`. An expired document is accepted.
    #[schema(format = Date)]
    pub expires_on: String,
}

/// A document as the host platform reports it, with the verification's outcome.
#[derive(Deserialize, ToSchema)]
pub struct AdminIdentityRequest {
    /// `id_card`, `passport` or `drivers_licence`.
    #[schema(value_type = crate::vocabulary::DocumentTypeName)]
    pub document_type: String,
    /// As printed on the document; case, spaces, hyphens and dots do not matter. A JSON
    /// integer is accepted too.
    #[serde(deserialize_with = "text_or_number")]
    #[schema(example = "AB 123456")]
    pub document_number: String,
    /// ISO 3166-1 alpha-2 code of the issuing country, e.g. `GB`.
    #[schema(pattern = r"^\s*[A-Za-z]{2}\s*$", example = "GB")]
    pub country: String,
    /// `YYYY-MM-DD`. An expired document is accepted.
    #[schema(format = Date)]
    pub expires_on: String,
    /// `pending`, `approved` or `rejected`.
    #[schema(value_type = crate::vocabulary::ReviewStatus)]
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IdentitySubmitted {
    /// `pending` (waiting for the host platform), or `approved` in dev mode.
    #[schema(value_type = crate::vocabulary::ReviewStatus)]
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityResponse {
    /// `none`, `pending`, `approved` or `rejected`. With `none` no other field is present.
    #[schema(value_type = crate::vocabulary::IdentityStatusName)]
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = Option<crate::vocabulary::DocumentTypeName>)]
    pub document_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub country: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = Date)]
    pub expires_on: Option<String>,
    /// The last three characters of the number on file; never more.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub number_last3: Option<String>,
}

impl From<IdentityOverview> for IdentityResponse {
    fn from(overview: IdentityOverview) -> Self {
        let status = overview.status_str().to_owned();
        match overview.0 {
            None => IdentityResponse {
                status,
                document_type: None,
                country: None,
                expires_on: None,
                number_last3: None,
            },
            Some(d) => IdentityResponse {
                status,
                document_type: Some(d.document_type.as_str().to_owned()),
                country: Some(d.country.as_str().to_owned()),
                expires_on: Some(format_date(d.expires_on)),
                number_last3: d.number_last3,
            },
        }
    }
}

/// Records the outcome of the host platform's identity verification for an account
/// (created or replaced). Approved numbers stay on file when a new one is recorded.
#[utoipa::path(put, path = "/api/v1/admin/accounts/{account_id}/identity", tag = "admin", operation_id = "admin_identity_put",
    security(("admin_token" = [])),
    params(("account_id" = String, Path, format = "uuid", description = "The account's id")),
    request_body = AdminIdentityRequest,
    responses(
        (status = 204, description = "recorded"),
        (status = 401, description = "`unauthorized`: missing or wrong admin token", body = ErrorBody),
        (status = 403, description = "`reregistration_blocked` with `allowed_from`: the number belonged to a recently deleted account", body = ErrorBody),
        (status = 404, description = "`not_found`: no such account, or the admin API is off (no token configured)", body = ErrorBody),
        (status = 409, description = "`account_deleted`", body = ErrorBody),
        (status = 422, description = "`validation_error` naming the field", body = ErrorBody),
    ))]
pub async fn admin_put_identity(
    State(state): State<AppState>,
    _admin: AdminAuth,
    Path(account_id): Path<String>,
    ApiJson(req): ApiJson<AdminIdentityRequest>,
) -> ApiResult<StatusCode> {
    let account_id: AccountId = account_id
        .parse()
        .map_err(|_| identity::no_such_account())?;
    let submission = IdentitySubmission::parse(
        &req.document_type,
        &req.document_number,
        &req.country,
        &req.expires_on,
    )?;
    let status =
        IdentityStatus::parse(&req.status).map_err(|e| ApiError::validation("status", e))?;
    identity::submit(
        &state,
        account_id,
        &submission,
        &offboard_core::actor::Actor::Admin,
        status,
        None,
        None,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Submits the account holder's identity document. It waits for the host platform's
/// review (`pending`); in dev mode it is approved at once.
#[utoipa::path(post, path = "/api/v1/me/identity", tag = "identity", operation_id = "identity_submit", request_body = IdentityRequest,
    security(("user_token" = []), ("session_cookie" = [])),
    responses(
        (status = 202, body = IdentitySubmitted),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`reregistration_blocked` with `allowed_from`: the number belonged to a recently deleted account", body = ErrorBody),
        (status = 409, description = "`conflict`: the identity is already verified; a changed document goes through support", body = ErrorBody),
        (status = 422, description = "`validation_error` naming the field", body = ErrorBody),
    ))]
pub async fn submit_identity(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(req): ApiJson<IdentityRequest>,
) -> ApiResult<Response> {
    let submission = IdentitySubmission::parse(
        &req.document_type,
        &req.document_number,
        &req.country,
        &req.expires_on,
    )?;
    let status = identity::submit_by_user(&state, user.account.id, &submission).await?;
    let body = IdentitySubmitted {
        status: status.as_str().to_owned(),
    };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// The signed-in account's identity record, with at most the last three characters of
/// the document number.
#[utoipa::path(get, path = "/api/v1/me/identity", tag = "identity", operation_id = "identity_get",
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 200, body = IdentityResponse), (status = 401, body = ErrorBody)))]
pub async fn my_identity(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Json<IdentityResponse>> {
    let overview = identity::status(&state, user.account.id).await?;
    Ok(Json(overview.into()))
}

// ---------- The page ----------

#[derive(Debug, Clone)]
struct DocumentTypeOption {
    value: &'static str,
    title: &'static str,
    selected: bool,
}

#[derive(Debug, Clone)]
struct RecordView {
    document: &'static str,
    number: String,
    country: String,
    expires_on: String,
    status: &'static str,
    status_label: &'static str,
    badge_class: &'static str,
}

#[derive(askama::Template)]
#[template(path = "identity.html")]
struct IdentityPage {
    layout: Layout,
    record: Option<RecordView>,
    /// No approved record: the form is offered.
    can_submit: bool,
    document_types: Vec<DocumentTypeOption>,
    /// What the user typed, shown again after an error (never the number).
    country: String,
    expires_on: String,
    document_type_error: Option<String>,
    document_number_error: Option<String>,
    country_error: Option<String>,
    expires_on_error: Option<String>,
    notice: Option<&'static str>,
    error: Option<String>,
    error_help: Option<String>,
}

fn notice_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "submitted" => "Thank you. Your document is waiting for review; this page shows the result.",
        "approved" => "Your identity is verified. In dev mode documents are approved as soon as they are submitted.",
        _ => return None,
    })
}

#[derive(Deserialize, ToSchema)]
pub struct IdentityForm {
    #[serde(default)]
    #[schema(value_type = crate::vocabulary::DocumentTypeName)]
    pub document_type: String,
    #[serde(default)]
    pub document_number: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    #[schema(format = Date)]
    pub expires_on: String,
}

/// The form's values and errors, when it is shown again.
#[derive(Default)]
struct FormState<'a> {
    document_type: &'a str,
    country: &'a str,
    expires_on: &'a str,
    fields: Vec<FieldError>,
    error: Option<&'a AppError>,
}

async fn render_identity(
    state: &AppState,
    user: &Authenticated,
    csrf: &CsrfToken,
    notice: Option<&str>,
    form: FormState<'_>,
) -> Response {
    let page_layout = layout(state, Some(user), csrf).await;
    let overview = match identity::status(state, user.account.id).await {
        Ok(overview) => overview,
        Err(err) => return views::error_page(&err, Some(page_layout)),
    };
    let record = overview.0.as_ref().map(|d| RecordView {
        document: d.document_type.title(),
        number: d
            .masked_number()
            .unwrap_or_else(|| "unavailable".to_owned()),
        country: d.country.as_str().to_owned(),
        expires_on: format_date(d.expires_on),
        status: d.status.as_str(),
        status_label: d.status.label(),
        badge_class: match d.status {
            IdentityStatus::Approved => "badge badge-accent",
            IdentityStatus::Rejected => "badge badge-danger",
            IdentityStatus::Pending => "badge",
        },
    });
    let selected = DocumentType::parse(form.document_type)
        .ok()
        .or(overview.0.as_ref().map(|d| d.document_type));
    let field_error = |name: &str| {
        form.fields
            .iter()
            .find(|f| f.field == name)
            .map(|f| sentence(&f.message))
    };
    let (message, help, error_status) = views::error_parts(form.error);
    let page = IdentityPage {
        layout: page_layout,
        can_submit: overview
            .0
            .as_ref()
            .is_none_or(|d| d.status != IdentityStatus::Approved),
        document_types: DocumentType::ALL
            .iter()
            .map(|t| DocumentTypeOption {
                value: t.as_str(),
                title: t.title(),
                selected: Some(*t) == selected,
            })
            .collect(),
        country: form.country.trim().to_owned(),
        expires_on: form.expires_on.trim().to_owned(),
        document_type_error: field_error("document_type"),
        document_number_error: field_error("document_number"),
        country_error: field_error("country"),
        expires_on_error: field_error("expires_on"),
        record,
        notice: notice.and_then(notice_text),
        error: message,
        error_help: help,
    };
    let status = if !form.fields.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        error_status
    };
    views::render_with_status(status, &page)
}

/// The form shown again with its values (never the number) and errors.
fn shown<'a>(
    form: &'a IdentityForm,
    fields: Vec<FieldError>,
    error: Option<&'a AppError>,
) -> FormState<'a> {
    FormState {
        document_type: &form.document_type,
        country: &form.country,
        expires_on: &form.expires_on,
        fields,
        error,
    }
}

/// "the document number is empty" → "The document number is empty."
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

#[utoipa::path(get, path = "/identity", tag = "pages", operation_id = "page_identity", params(views::NoticeQuery), security(("session_cookie" = [])),
    responses((status = 200, description = "identity verification: the document on file and the form", content_type = "text/html")))]
pub async fn identity_page(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    Query(q): Query<views::NoticeQuery>,
) -> Response {
    render_identity(
        &state,
        &user,
        &csrf,
        q.notice.as_deref(),
        FormState::default(),
    )
    .await
}

#[utoipa::path(post, path = "/identity", tag = "pages", operation_id = "page_identity_submit", security(("session_cookie" = [])),
    request_body(content = IdentityForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "submitted; back to the identity page"),
        (status = 403, description = "the page with the error: the number belonged to a recently deleted account", content_type = "text/html"),
        (status = 409, description = "already verified: the page with the error", content_type = "text/html"),
        (status = 422, description = "the form again, with the fields at fault", content_type = "text/html")))]
pub async fn identity_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<IdentityForm>,
) -> Response {
    let submission = match IdentitySubmission::check(
        &form.document_type,
        &form.document_number,
        &form.country,
        &form.expires_on,
    ) {
        Ok(submission) => submission,
        Err(fields) => {
            return render_identity(&state, &user, &csrf, None, shown(&form, fields, None)).await;
        }
    };
    match identity::submit_by_user(&state, user.account.id, &submission).await {
        Ok(IdentityStatus::Approved) => Redirect::to("/identity?notice=approved").into_response(),
        Ok(_) => Redirect::to("/identity?notice=submitted").into_response(),
        Err(err) => {
            render_identity(
                &state,
                &user,
                &csrf,
                None,
                shown(&form, Vec::new(), Some(&err)),
            )
            .await
        }
    }
}
