//! For people who cannot log in (API.md): password reset by email code, and the recovery
//! request that goes to support. Every answer is the same whether or not the account
//! exists (no enumeration).

use crate::accounts::audit;
use crate::error::{ApiResult, AppError, ErrorBody};
use crate::factors;
use crate::http::json::ApiJson;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use offboard_core::identity::DocumentNumber;
use offboard_core::otp::{self, Verdict};
use offboard_core::{Channel, EmailAddress, OtpCode, Password, Purpose};
use offboard_store::{CodeSlot, NewRecoveryRequest};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(password_reset))
        .routes(routes!(password_reset_confirm))
        .routes(routes!(recovery))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetRequest {
    pub email: String,
}

/// Sends a password-reset code by email if the account exists. Always 202.
#[utoipa::path(post, path = "/api/v1/password-reset", tag = "accounts", request_body = ResetRequest,
    responses((status = 202, description = "a code is on its way if the account exists"), (status = 422, body = ErrorBody)))]
pub async fn password_reset(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ResetRequest>,
) -> ApiResult<StatusCode> {
    let email = EmailAddress::parse(&req.email).map_err(|e| AppError::validation("email", e))?;
    if let Some(account) = state.store.find_account_by_email(&email).await? {
        // Refusals (cooldown, hourly limit) are not shown: they would tell that the
        // account exists. The audit log keeps them.
        if let Err(err) = factors::send_code(
            &state,
            &account,
            Purpose::PasswordReset,
            Channel::Email,
            None,
            None,
        )
        .await
        {
            tracing::info!(code = err.code, "password reset code not sent");
        }
    }
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
pub struct ResetConfirm {
    pub email: String,
    pub code: String,
    pub new_password: String,
}

impl std::fmt::Debug for ResetConfirm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResetConfirm(***)")
    }
}

fn reset_refused() -> AppError {
    AppError::new(
        StatusCode::BAD_REQUEST,
        "invalid_code",
        "The code is wrong, used or expired. Request a new one and use the newest email.",
    )
    .with_help(factors::HELP_WRONG_CODE)
}

/// Sets a new password with the emailed code; every session ends; deletion then waits
/// 24 hours (a stolen mailbox must not reset and delete in one sitting).
#[utoipa::path(post, path = "/api/v1/password-reset/confirm", tag = "accounts", request_body = ResetConfirm,
    responses((status = 204, description = "password changed, sessions revoked"), (status = 400, description = "`invalid_code` (the same for every failure)", body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn password_reset_confirm(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ResetConfirm>,
) -> ApiResult<StatusCode> {
    let email = EmailAddress::parse(&req.email).map_err(|e| AppError::validation("email", e))?;
    let password =
        Password::parse(&req.new_password).map_err(|e| AppError::validation("new_password", e))?;
    let Some(code) = OtpCode::parse(&req.code) else {
        return Err(AppError::validation("code", "a code is 6 digits"));
    };
    let Some(account) = state.store.find_account_by_email(&email).await? else {
        return Err(reset_refused());
    };
    let now = state.now();
    let key = &state.config.keys.blind_index;
    let slot = CodeSlot {
        account_id: account.id,
        purpose: Purpose::PasswordReset,
        channel: Channel::Email,
        flow_id: None,
    };
    let check = state
        .store
        .check_code(slot, now, true, |ctx| otp::judge(ctx, &code, key, now))
        .await?;
    match check.verdict {
        Verdict::Accepted => {}
        Verdict::RateLimited { retry_after } => {
            return Err(factors::verdict_error(
                Verdict::RateLimited { retry_after },
                "email",
            ));
        }
        _ => {
            audit(
                &state,
                Some(account.id),
                "code_failed",
                Some("purpose=password_reset factor=email"),
            )
            .await;
            return Err(reset_refused());
        }
    }
    let hash = state.hashing.hash(password.expose()).await?;
    state.store.set_password(account.id, &hash, now).await?;
    state
        .store
        .set_cooloff_until(account.id, now + offboard_core::deletion::COOL_OFF)
        .await?;
    audit(&state, Some(account.id), "password_reset", None).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct RecoveryRequest {
    pub email: String,
    /// What happened, for support (1 to 2000 characters).
    pub message: String,
    /// The ID number from identity verification, if the person has it.
    pub id_number: Option<String>,
}

impl std::fmt::Debug for RecoveryRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryRequest(***)")
    }
}

/// Asks support to help someone who cannot log in. Always 202; support sees whether the
/// ID number matched, never the number itself.
#[utoipa::path(post, path = "/api/v1/recovery", tag = "accounts", request_body = RecoveryRequest,
    responses((status = 202, description = "received"), (status = 422, body = ErrorBody)))]
pub async fn recovery(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RecoveryRequest>,
) -> ApiResult<StatusCode> {
    let email = EmailAddress::parse(&req.email).map_err(|e| AppError::validation("email", e))?;
    let message = req.message.trim();
    if message.is_empty() || message.chars().count() > 2000 {
        return Err(AppError::validation(
            "message",
            "say in 1 to 2000 characters what happened and what you need",
        ));
    }
    let account = state.store.find_account_by_email(&email).await?;
    let check = match (
        req.id_number
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty()),
        &account,
    ) {
        (None, _) => "not_given",
        (Some(typed), Some(account)) => {
            let identity = state.store.identity(account.id).await?;
            let matched = match (DocumentNumber::parse(typed), identity) {
                (Ok(number), Some(identity)) => {
                    let index = crate::identity::document_index(&state, &number);
                    identity.numbers.iter().any(|n| {
                        offboard_core::crypto::constant_time_eq(
                            n.index.as_bytes(),
                            index.as_bytes(),
                        )
                    })
                }
                _ => false,
            };
            if matched {
                "match"
            } else {
                "mismatch"
            }
        }
        (Some(_), None) => "mismatch",
    };
    let id = state
        .store
        .add_recovery_request(NewRecoveryRequest {
            account_id: account.as_ref().map(|a| a.id),
            email: email.as_str(),
            message,
            id_number_check: check,
            now: state.now(),
        })
        .await?;
    audit(
        &state,
        account.as_ref().map(|a| a.id),
        "recovery_requested",
        Some(&format!("request={id}")),
    )
    .await;
    Ok(StatusCode::ACCEPTED)
}
