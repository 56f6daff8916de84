//! JSON API: accounts (API.md "Accounts").

use crate::error::{ApiResult, ErrorBody};
use crate::http::client::ClientAddr;
use crate::http::json::{created, ApiJson};
use crate::http::session::ApiUser;
use crate::wire::{IdentitySummary, LoginResponse};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use offboard_app::accounts;
use offboard_app::AppState;
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
    #[schema(format = Email, example = "me@example.com")]
    pub email: String,
    /// 10 to 256 characters, not one character repeated.
    #[schema(format = Password, min_length = 10, max_length = 256)]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignupResponse {
    #[schema(format = "uuid")]
    pub account_id: String,
}

/// Creates an account. A phone is bound afterwards, verified by SMS.
#[utoipa::path(post, path = "/api/v1/signup", tag = "accounts", operation_id = "accounts_signup", request_body = SignupRequest,
    responses(
        (status = 201, body = SignupResponse),
        (status = 503, description = "`unavailable` with `Retry-After`: more passwords are offered than the server hashes; nothing was done, send it again", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait before sending it again"))),
        (status = 403, description = "`reregistration_blocked` with `allowed_from`: the email belonged to an account deleted less than the re-registration wait ago", body = ErrorBody),
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
    #[schema(format = Email, example = "me@example.com")]
    pub email: String,
    #[schema(format = Password)]
    pub password: String,
    /// Required once an authenticator is bound: 6 digits (spaces are ignored).
    #[serde(default)]
    #[schema(pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub totp_code: Option<String>,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginRequest(***)")
    }
}

/// Password login. Unknown account, wrong password and throttling all answer the same
/// 401 `unauthorized` (throttling adds `Retry-After`).
#[utoipa::path(post, path = "/api/v1/login", tag = "accounts", operation_id = "accounts_login", request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 503, description = "`unavailable` with `Retry-After`: more passwords are offered than the server hashes; no attempt was charged, send it again", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait before sending it again"))),
        (status = 400, description = "`invalid_code`: a wrong authenticator code", body = ErrorBody),
        (status = 401, description = "`unauthorized`, identical for every failure (throttling adds `Retry-After`); `totp_required` after a right password when an authenticator is bound; `passkey_required` (with `passkey`: a challenge for `POST /api/v1/login/passkey`, and `totp_allowed`) when a passkey is bound", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait, when throttled"))),
        (status = 403, description = "`account_frozen`, only after the right password (R17)", body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many wrong authenticator codes in the last hour", body = ErrorBody),
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
        crate::http::session::user_agent(&headers),
    )
    .await?;
    Ok(Json(LoginResponse {
        token: done.token,
        account_id: done.account_id.to_string(),
    }))
}

/// Ends this session.
#[utoipa::path(post, path = "/api/v1/logout", tag = "accounts", operation_id = "accounts_logout",
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 204, description = "logged out"), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<StatusCode> {
    state.store.delete_session(&user.token_hash).await?;
    offboard_app::audit::user(&state, Some(user.account.id), "logout", None).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    #[schema(format = "uuid")]
    pub account_id: String,
    #[schema(format = Email)]
    pub email: String,
    /// E.164; `null` until a phone is bound.
    #[schema(required = true)]
    pub phone: Option<String>,
    /// Bound verification factors: `email` always, then `sms`, `totp`, `passkey`.
    #[schema(value_type = Vec<crate::vocabulary::FactorName>)]
    pub factors: Vec<String>,
    pub identity: IdentitySummary,
}

/// The signed-in account.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", operation_id = "accounts_me",
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody)))]
pub async fn me(ApiUser(user): ApiUser) -> ApiResult<Json<MeResponse>> {
    // Read with the session and the account, in one query (the hottest authenticated
    // read; see docs/performance.md).
    let (factors, identity) = offboard_app::factors::factors_and_identity(&user.account);
    Ok(Json(MeResponse {
        account_id: user.account.id.to_string(),
        email: user.account.email,
        phone: user.account.phone,
        factors: factors.names(),
        identity: IdentitySummary {
            status: offboard_app::factors::identity_status_name(identity).to_owned(),
        },
    }))
}
