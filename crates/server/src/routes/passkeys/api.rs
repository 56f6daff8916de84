//! JSON API for passkeys (API.md "Passkeys").

use crate::error::{ApiResult, ErrorBody};
use crate::http::client::ClientAddr;
use crate::http::json::{created, ApiJson};
use crate::http::session::ApiUser;
use crate::wire::{
    FactorCodesRequest, LoginResponse, PasskeyAssertion, PasskeyChallenge, PasskeyView,
};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use offboard_app::passkeys;
use offboard_app::AppState;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, finish_registration))
        .routes(routes!(begin_registration))
        .routes(routes!(rename, remove))
        .routes(routes!(challenge))
        .routes(routes!(set_required))
        .routes(routes!(sign_in_options))
        .routes(routes!(sign_in))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyList {
    pub passkeys: Vec<PasskeyView>,
    /// "Require a passkey": withdrawals, the deletion and factor changes need one, and a
    /// password sign-in takes the passkey (not an authenticator code) as its second step.
    pub require_passkey: bool,
}

/// The account's passkeys, oldest first.
#[utoipa::path(get, path = "/api/v1/me/passkeys", tag = "factors", operation_id = "factors_passkeys_list",
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 200, body = PasskeyList), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Json<PasskeyList>> {
    let (keys, require_passkey) = passkeys::list(&state, user.account.id).await?;
    Ok(Json(PasskeyList {
        passkeys: keys.into_iter().map(Into::into).collect(),
        require_passkey,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasskeyNameRequest {
    /// 1 to 64 characters, one line, e.g. `Laptop`.
    #[schema(min_length = 1, max_length = 64, example = "Laptop")]
    pub name: String,
}

/// Begins adding a passkey: pass `options` to `navigator.credentials.create`, then send
/// the result to `POST /api/v1/me/passkeys` with the `ceremony`.
#[utoipa::path(post, path = "/api/v1/me/passkeys/registration", tag = "factors", operation_id = "factors_passkeys_begin_registration", request_body = PasskeyNameRequest,
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 200, body = PasskeyChallenge),
        (status = 409, description = "`passkey_limit`: the account has 10 passkeys", body = ErrorBody),
        (status = 422, description = "`validation_error`: the name is empty, too long or holds control characters", body = ErrorBody),
        (status = 503, description = "`passkey_unavailable`: passkeys are not set up on this server", body = ErrorBody)))]
pub async fn begin_registration(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(req): ApiJson<PasskeyNameRequest>,
) -> ApiResult<Json<PasskeyChallenge>> {
    let challenge = passkeys::begin_registration(&state, &user, &req.name).await?;
    Ok(Json(challenge.into()))
}

/// Finishes adding a passkey (audited as `passkey_added`).
#[utoipa::path(post, path = "/api/v1/me/passkeys", tag = "factors", operation_id = "factors_passkeys_finish_registration", request_body = PasskeyAssertion,
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 201, body = PasskeyView),
        (status = 400, description = "`passkey_ceremony_unknown`: expired, used or another session's; `passkey_invalid`: the response did not verify", body = ErrorBody),
        (status = 409, description = "`passkey_limit`, or `conflict`: this passkey is already registered", body = ErrorBody),
        (status = 422, description = "`validation_error`: `credential` is not a registration response", body = ErrorBody),
        (status = 503, description = "`passkey_unavailable`", body = ErrorBody)))]
pub async fn finish_registration(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(req): ApiJson<PasskeyAssertion>,
) -> ApiResult<Response> {
    let added =
        passkeys::finish_registration(&state, &user, &req.ceremony, &req.credential).await?;
    Ok(created(PasskeyView::from(added)))
}

/// Renames a passkey.
#[utoipa::path(patch, path = "/api/v1/me/passkeys/{id}", tag = "factors", operation_id = "factors_passkeys_rename", request_body = PasskeyNameRequest,
    params(("id" = String, Path, format = "uuid", description = "The passkey's id")),
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 204, description = "renamed"),
        (status = 404, description = "`not_found`: no passkey of this account by that id", body = ErrorBody),
        (status = 422, description = "`validation_error`: the name", body = ErrorBody)))]
pub async fn rename(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PasskeyNameRequest>,
) -> ApiResult<StatusCode> {
    passkeys::rename(&state, user.account.id, &id, &req.name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a passkey; needs every bound factor (purpose `unbind`), a passkey among them
/// (audited as `passkey_removed`).
#[utoipa::path(delete, path = "/api/v1/me/passkeys/{id}", tag = "factors", operation_id = "factors_passkeys_remove", request_body = FactorCodesRequest,
    params(("id" = String, Path, format = "uuid", description = "The passkey's id")),
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 204, description = "removed"),
        (status = 400, description = "a code or the passkey assertion was refused, with `factor`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`passkey_still_required`: the last passkey while the account requires one", body = ErrorBody),
        (status = 422, description = "`validation_error`: a code of a bound factor, or `passkey`, is missing", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<FactorCodesRequest>,
) -> ApiResult<StatusCode> {
    let codes = req.codes(&user);
    passkeys::remove(&state, &user.account, &id, &codes).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasskeyChallengeRequest {
    /// The action the assertion will approve: `deletion`, `withdrawal` or `unbind`.
    #[schema(value_type = crate::vocabulary::PasskeyPurpose)]
    pub purpose: String,
}

/// A passkey challenge for an action of this session: send the assertion as `passkey`
/// in the deletion's verify request, a withdrawal, or a factor removal.
#[utoipa::path(post, path = "/api/v1/me/passkeys/challenge", tag = "factors", operation_id = "factors_passkeys_challenge", request_body = PasskeyChallengeRequest,
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 200, body = PasskeyChallenge),
        (status = 404, description = "`not_found`: no passkey is bound", body = ErrorBody),
        (status = 422, description = "`validation_error`: an unknown purpose", body = ErrorBody),
        (status = 503, description = "`passkey_unavailable`", body = ErrorBody)))]
pub async fn challenge(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(req): ApiJson<PasskeyChallengeRequest>,
) -> ApiResult<Json<PasskeyChallenge>> {
    let challenge = passkeys::begin_assertion(&state, &user, &req.purpose).await?;
    Ok(Json(challenge.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RequirePasskeyRequest {
    pub require_passkey: bool,
    /// Turning it off needs every bound factor (purpose `unbind`), as removing one does.
    #[serde(flatten)]
    pub codes: FactorCodesRequest,
}

/// Turns "require a passkey" on (a passkey must be bound) or off (every factor).
#[utoipa::path(put, path = "/api/v1/me/passkeys/required", tag = "factors", operation_id = "factors_passkeys_set_required", request_body = RequirePasskeyRequest,
    security(("user_token" = []), ("session_cookie" = [])),
    responses((status = 204, description = "set"),
        (status = 400, description = "a code or the passkey assertion was refused", body = ErrorBody),
        (status = 409, description = "`conflict`: no passkey to require", body = ErrorBody),
        (status = 422, description = "`validation_error`: a code of a bound factor is missing", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many wrong codes in the last hour", body = ErrorBody)))]
pub async fn set_required(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(req): ApiJson<RequirePasskeyRequest>,
) -> ApiResult<StatusCode> {
    let codes = req.codes.codes(&user);
    passkeys::set_required(&state, &user.account, req.require_passkey, &codes).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Begins signing in with a passkey alone (discoverable, user verification required):
/// pass `options` to `navigator.credentials.get` (`mediation: "conditional"` where the
/// browser can), then send the result to `POST /api/v1/login/passkey`. Each client
/// address keeps its newest 20 begun sign-ins (older ones lapse), so a flood of starts
/// cannot crowd anyone else out.
#[utoipa::path(post, path = "/api/v1/login/passkey/options", tag = "accounts", operation_id = "accounts_passkey_options",
    responses((status = 200, body = PasskeyChallenge),
        (status = 503, description = "`passkey_unavailable`", body = ErrorBody)))]
pub async fn sign_in_options(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
) -> ApiResult<Json<PasskeyChallenge>> {
    Ok(Json(passkeys::begin_sign_in(&state, &addr).await?.into()))
}

/// Finishes a passkey sign-in: alone (the ceremony of `/api/v1/login/passkey/options`)
/// or as the second step after the password (the ceremony of `passkey_required`).
#[utoipa::path(post, path = "/api/v1/login/passkey", tag = "accounts", operation_id = "accounts_passkey_login", request_body = PasskeyAssertion,
    responses((status = 200, body = LoginResponse),
        (status = 400, description = "`passkey_ceremony_unknown` (expired or used: a replay), `passkey_invalid` (another challenge or origin, no user verification), `passkey_cloned` (the counter went back)", body = ErrorBody),
        (status = 401, description = "`passkey_unknown`: no account has this passkey (removed, or the account was deleted)", body = ErrorBody),
        (status = 422, description = "`validation_error`: `credential` is not an assertion", body = ErrorBody),
        (status = 503, description = "`passkey_unavailable`", body = ErrorBody)))]
pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<PasskeyAssertion>,
) -> ApiResult<Json<LoginResponse>> {
    let user_agent = crate::http::session::user_agent(&headers);
    let done =
        passkeys::finish_sign_in(&state, &req.ceremony, &req.credential, user_agent, &addr).await?;
    Ok(Json(LoginResponse {
        token: done.token,
        account_id: done.account_id.to_string(),
    }))
}
