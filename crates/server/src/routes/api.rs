//! JSON API: accounts (API.md "Accounts").

use crate::accounts;
use crate::error::{ApiResult, ErrorBody};
use crate::http::client::ClientAddr;
use crate::http::json::{created, ApiJson};
use crate::http::session::ApiUser;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignupRequest {
    /// Any case; stored lower-cased.
    pub email: String,
    /// 10 to 256 characters, not one character repeated.
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignupResponse {
    pub account_id: String,
}

/// Creates an account. A phone is bound afterwards, verified by SMS.
#[utoipa::path(post, path = "/api/v1/signup", tag = "accounts", request_body = SignupRequest,
    responses(
        (status = 201, body = SignupResponse),
        (status = 409, description = "`conflict`: the email is already registered", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 422, description = "`validation_error` naming the field and the rule", body = ErrorBody),
    ))]
pub async fn signup(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SignupRequest>,
) -> ApiResult<Response> {
    let id = accounts::signup(&state, &req.email, &req.password).await?;
    Ok(created(SignupResponse {
        account_id: id.to_string(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// Required once an authenticator is bound.
    #[serde(default)]
    pub totp_code: Option<String>,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginRequest(***)")
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token; the same session as the web cookie.
    pub token: String,
    pub account_id: String,
}

/// Password login. Unknown account, wrong password and throttling all answer the same
/// 401 `unauthorized` (throttling adds `Retry-After`).
#[utoipa::path(post, path = "/api/v1/login", tag = "accounts", request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, description = "`unauthorized`, identical for every failure; `totp_required` after a right password when an authenticator is bound", body = ErrorBody),
        (status = 400, description = "`invalid_code` / `rate_limited`: a wrong authenticator code", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let done = accounts::login(
        &state,
        &req.email,
        &req.password,
        req.totp_code.as_deref(),
        &addr,
        &headers,
    )
    .await?;
    Ok(Json(LoginResponse {
        token: done.token,
        account_id: done.account_id.to_string(),
    }))
}

/// Ends this session.
#[utoipa::path(post, path = "/api/v1/logout", tag = "accounts",
    responses((status = 204, description = "logged out"), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<StatusCode> {
    state.store.delete_session(&user.token_hash).await?;
    accounts::audit(&state, Some(user.account.id), "logout", None).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IdentitySummary {
    /// `none`, `pending`, `approved` or `rejected`.
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub account_id: String,
    pub email: String,
    pub phone: Option<String>,
    /// Bound verification factors: `email` always, then `sms`, `totp`.
    pub factors: Vec<String>,
    pub identity: IdentitySummary,
}

/// The signed-in account.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody)))]
pub async fn me(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Json<MeResponse>> {
    // One query for both (the hottest authenticated read; see docs/performance.md).
    let (factors, identity) = crate::factors::factors_and_identity(&state, &user.account).await?;
    Ok(Json(MeResponse {
        account_id: user.account.id.to_string(),
        email: user.account.email,
        phone: user.account.phone,
        factors: factors.names(),
        identity: IdentitySummary {
            status: identity.to_owned(),
        },
    }))
}
