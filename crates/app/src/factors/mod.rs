//! Verification factors for the API and the pages: sending email/SMS codes (R5), checking
//! every bound factor, and authenticator (TOTP) codes with replay protection.

use crate::audit;
use crate::error::AppError;
use crate::error::ErrorKind;
use crate::notify::{code_message, Email, NotifyError, Sms};
use crate::state::AppState;
use offboard_core::identity::IdentityStatus;
use offboard_core::otp::{self, SendDecision, Verdict};
use offboard_core::{AccountId, Channel, OtpCode, PhoneNumber, Purpose};
use offboard_store::{AccountRow, CodeSlot, NewCode};

mod authenticator;
mod verdicts;

pub use self::authenticator::{check_totp, confirm_authenticator, TotpUse};
use self::verdicts::rate_limited;
pub use self::verdicts::{
    verdict_error, HELP_AUTHENTICATOR, HELP_EMAIL_MISSING, HELP_SMS_MISSING, HELP_WRONG_CODE,
};

/// Seconds until another code of the same purpose and channel may be requested.
pub fn resend_after_secs() -> i64 {
    otp::RESEND_AFTER.whole_seconds()
}

/// Which factors an account has bound (email always).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundFactors {
    pub sms: bool,
    pub totp: bool,
    /// At least one passkey (R16).
    pub passkey: bool,
}

/// How API.md names an identity status, `none` when nothing is on file.
pub fn identity_status_name(status: Option<IdentityStatus>) -> &'static str {
    status.map_or("none", IdentityStatus::as_str)
}

impl BoundFactors {
    pub fn names(&self) -> Vec<String> {
        let mut names = vec!["email".to_owned()];
        if self.sms {
            names.push("sms".to_owned());
        }
        if self.totp {
            names.push("totp".to_owned());
        }
        if self.passkey {
            names.push("passkey".to_owned());
        }
        names
    }
}

/// The bound factors and the identity status (`None`: nothing on file), as read with the
/// account row: what `GET /api/v1/me` and the support summary show.
pub fn factors_and_identity(account: &AccountRow) -> (BoundFactors, Option<IdentityStatus>) {
    (bound_factors(account), account.identity_status)
}

/// The factors bound when the account row was read (the request's own snapshot: its
/// session and account come from one query, docs/performance.md).
pub fn bound_factors(account: &AccountRow) -> BoundFactors {
    BoundFactors {
        sms: account.phone.is_some(),
        totp: account.factors.totp,
        passkey: account.factors.passkeys > 0,
    }
}

/// The factors bound now (the account read again): for a page drawn after an action of
/// the same request changed them.
pub async fn current_factors(
    state: &AppState,
    account: &AccountRow,
) -> Result<BoundFactors, AppError> {
    let fresh = state.store.get_account(account.id).await?;
    Ok(bound_factors(fresh.as_ref().unwrap_or(account)))
}

/// Sends a code of `purpose` on `channel` to the account's address, or to `to_phone`
/// when binding a new phone. Returns the seconds until a resend is allowed.
pub async fn send_code(
    state: &AppState,
    account: &AccountRow,
    purpose: Purpose,
    channel: Channel,
    flow_id: Option<&str>,
    to_phone: Option<&PhoneNumber>,
) -> Result<i64, AppError> {
    send_code_via(
        state,
        account,
        purpose,
        channel,
        flow_id,
        to_phone,
        Delivery::Inline,
    )
    .await
}

/// The password-reset code, sent on a path whose answer must not reveal whether the
/// account exists: with a live transport the email goes through the mail queue and a
/// task of its own, so a slow relay never shows in the answer's timing.
pub async fn send_reset_code(state: &AppState, account: &AccountRow) -> Result<i64, AppError> {
    send_code_via(
        state,
        account,
        Purpose::PasswordReset,
        Channel::Email,
        None,
        None,
        Delivery::Queued,
    )
    .await
}

/// How a code email leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// Sent while the request waits, so a failed send can be reported.
    Inline,
    /// Through the mail queue (sealed), sent by a task of its own.
    Queued,
}

async fn send_code_via(
    state: &AppState,
    account: &AccountRow,
    purpose: Purpose,
    channel: Channel,
    flow_id: Option<&str>,
    to_phone: Option<&PhoneNumber>,
    delivery: Delivery,
) -> Result<i64, AppError> {
    let destination = destination(account, channel, to_phone)?;
    let now = state.now();
    let code = OtpCode::generate();
    let key = &state.config.keys.blind_index;
    let new = NewCode {
        account_id: account.id,
        purpose,
        channel,
        flow_id,
        destination: to_phone.map(PhoneNumber::as_str),
    };
    let issued = state
        .store
        .issue_code(new, now, |id| code.hash(key, id))
        .await?;
    let detail = format!("purpose={} channel={}", purpose.as_str(), channel.as_str());
    let issued = match issued {
        Ok(issued) => issued,
        Err(decision) => {
            audit::user(state, Some(account.id), "code_refused", Some(&detail)).await;
            return Err(send_refusal(decision, channel));
        }
    };
    let minutes = (issued.expires_at - now).whole_minutes();
    let message = code_message(purpose.as_str(), code.as_str(), minutes);
    let outgoing = Outgoing {
        channel,
        to: &destination,
        message: &message,
        code: &code,
        delivery,
    };
    match deliver_code(state, outgoing).await {
        Ok(()) => {
            crate::metrics::code_sent(channel.as_str());
            audit::user(state, Some(account.id), "code_sent", Some(&detail)).await;
            Ok(resend_after_secs())
        }
        Err(err) => {
            tracing::warn!(%err, channel = channel.as_str(), "code delivery failed");
            audit::user(
                state,
                Some(account.id),
                "code_delivery_failed",
                Some(&detail),
            )
            .await;
            Err(delivery_failed(&err, channel))
        }
    }
}

/// Where a code on `channel` goes: the account's email, the phone being bound, or the
/// bound phone.
fn destination(
    account: &AccountRow,
    channel: Channel,
    to_phone: Option<&PhoneNumber>,
) -> Result<String, AppError> {
    match channel {
        Channel::Email => Ok(account.email.clone()),
        Channel::Sms => match (to_phone, &account.phone) {
            (Some(phone), _) => Ok(phone.as_str().to_owned()),
            (None, Some(phone)) => Ok(phone.clone()),
            (None, None) => Err(AppError::validation(
                "channel",
                "no phone is bound to this account; use email",
            )
            .with_help(HELP_SMS_MISSING)),
        },
    }
}

/// One code message on its way.
struct Outgoing<'a> {
    channel: Channel,
    to: &'a str,
    message: &'a crate::notify::CodeMessage,
    code: &'a OtpCode,
    delivery: Delivery,
}

async fn deliver_code(state: &AppState, out: Outgoing<'_>) -> Result<(), NotifyError> {
    let now = state.now();
    let message = out.message;
    match out.channel {
        // The dev outbox is a local write that shows the code beside the message.
        Channel::Email if out.delivery == Delivery::Queued && !state.notifier.is_dev_outbox() => {
            crate::jobs::send_mail_with_retry(
                state,
                out.to,
                &message.subject,
                &message.text,
                Some(&message.html),
            )
            .await
            .map_err(NotifyError::from)
        }
        Channel::Email => {
            let email = Email {
                to: out.to,
                subject: &message.subject,
                body: &message.text,
                html: Some(&message.html),
                code: Some(out.code.as_str()),
            };
            state.notifier.send_email(email, now).await
        }
        Channel::Sms => {
            let sms = Sms {
                to: out.to,
                body: &message.sms,
                code: Some(out.code.as_str()),
            };
            state.notifier.send_sms(sms, now).await
        }
    }
}

fn delivery_failed(err: &NotifyError, channel: Channel) -> AppError {
    let help = if channel == Channel::Sms {
        HELP_SMS_MISSING
    } else {
        HELP_EMAIL_MISSING
    };
    let message = match err {
        NotifyError::NoSmsProvider => {
            "This server cannot send text messages. Use an email code, or ask the operator."
        }
        _ => "We could not send the code just now. Wait a minute and press Get code again.",
    };
    AppError::new(ErrorKind::Unavailable, "delivery_failed", message)
        .with_help(help)
        .with("retry_after", resend_after_secs())
}

fn send_refusal(decision: SendDecision, channel: Channel) -> AppError {
    let help = if channel == Channel::Sms {
        HELP_SMS_MISSING
    } else {
        HELP_EMAIL_MISSING
    };
    match decision {
        SendDecision::ResendTooSoon {
            retry_after,
            last_code_usable,
        } => {
            let secs = retry_after.whole_seconds();
            let message = if last_code_usable {
                format!("A code was sent moments ago and still works. You can ask for a new one in {secs} seconds.")
            } else {
                format!("The last code can no longer be used. You can ask for a new one in {secs} seconds.")
            };
            AppError::new(ErrorKind::RateLimited, "resend_too_soon", message)
                .with("retry_after", secs)
                .retry_after(u64::try_from(secs).unwrap_or(60))
                .with_help(help)
        }
        SendDecision::RateLimited { retry_after } => {
            rate_limited(retry_after.whole_seconds(), help)
        }
        SendDecision::Send => AppError::internal("send refusal without a refusal"),
    }
}

/// Checks an email or SMS code; with `consume` it is used up.
pub async fn check_code(
    state: &AppState,
    account_id: AccountId,
    purpose: Purpose,
    channel: Channel,
    flow_id: Option<&str>,
    code: &str,
    consume: bool,
) -> Result<offboard_store::CodeCheck, AppError> {
    let factor = channel.as_str();
    let Some(submitted) = OtpCode::parse(code) else {
        return Err(
            AppError::validation(&format!("{factor}_code"), "a code is 6 digits")
                .with_help(HELP_WRONG_CODE),
        );
    };
    let now = state.now();
    let key = &state.config.keys.blind_index;
    let check = state
        .store
        .check_code(
            CodeSlot {
                account_id,
                purpose,
                channel,
                flow_id,
            },
            now,
            consume,
            |ctx| otp::judge(ctx, &submitted, key, now),
        )
        .await?;
    if check.verdict != Verdict::Accepted {
        audit::user(
            state,
            Some(account_id),
            "code_failed",
            Some(&format!("purpose={} factor={factor}", purpose.as_str())),
        )
        .await;
        return Err(verdict_error(check.verdict, factor));
    }
    Ok(check)
}

/// The codes a request offers for "every bound factor".
#[derive(Debug, Default, Clone)]
pub struct FactorCodes {
    pub email_code: Option<String>,
    pub sms_code: Option<String>,
    pub totp_code: Option<String>,
    /// A passkey assertion (required when a passkey is bound).
    pub passkey: Option<crate::passkeys::assertion::PasskeyProof>,
}

/// R5: every factor bound to the account must verify. All codes are checked first
/// (wrong ones cost tries) and consumed only when all are right, so one mistyped code
/// does not burn the others.
pub async fn verify_all(
    state: &AppState,
    account: &AccountRow,
    purpose: Purpose,
    flow_id: Option<&str>,
    codes: &FactorCodes,
) -> Result<(), AppError> {
    let wanted = required_codes(bound_factors(account), codes)?;
    // Every code is checked before any is used up, so one wrong code spends none.
    let check = |channel, code: String| async move {
        check_code(state, account.id, purpose, channel, flow_id, &code, false).await
    };
    // Each code is judged, so the answer names every wrong one, not only the first.
    let mut failures = Vec::new();
    let email_check = check(Channel::Email, wanted.email)
        .await
        .map_err(|e| failures.push(e))
        .ok();
    let sms_check = match wanted.sms {
        Some(code) => check(Channel::Sms, code)
            .await
            .map_err(|e| failures.push(e))
            .ok(),
        None => None,
    };
    let totp_step = match &wanted.totp {
        Some(code) => check_totp(state, account.id, purpose, code, TotpUse::Check)
            .await
            .map_err(|e| failures.push(e))
            .ok()
            .flatten(),
        None => None,
    };
    let passkey_use = match wanted.passkey {
        Some(proof) => crate::passkeys::assertion::check_proof(state, account.id, purpose, proof)
            .await
            .map_err(|e| failures.push(e))
            .ok(),
        None => None,
    };
    if let Some(err) = AppError::combine(failures) {
        return Err(err);
    }

    let now = state.now();
    let used = |factor: &str| verdict_error(Verdict::Used, factor);
    for (check, factor) in [(email_check, "email"), (sms_check, "sms")] {
        if let Some(id) = check.and_then(|c| c.code_id) {
            if !state.store.consume_code(&id, now).await? {
                return Err(used(factor));
            }
        }
    }
    if let Some(step) = totp_step {
        if !state.store.consume_totp_step(account.id, step).await? {
            return Err(used("totp"));
        }
    }
    if let Some(passkey_use) = passkey_use {
        crate::passkeys::assertion::spend(state, passkey_use).await?;
    }
    audit::user(
        state,
        Some(account.id),
        "factors_verified",
        Some(&format!("purpose={}", purpose.as_str())),
    )
    .await;
    Ok(())
}

/// The codes an action needs: email always, SMS, authenticator and passkey when bound.
struct RequiredCodes<'a> {
    email: String,
    sms: Option<String>,
    totp: Option<String>,
    passkey: Option<&'a crate::passkeys::assertion::PasskeyProof>,
}

/// Every bound factor's code, or 422 naming each one missing.
fn required_codes(bound: BoundFactors, codes: &FactorCodes) -> Result<RequiredCodes<'_>, AppError> {
    let mut missing = Vec::new();
    let mut required = |value: &Option<String>, field: &str, why: &str| -> Option<String> {
        let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty());
        if value.is_none() {
            missing.push(AppError::validation(field, format!("is required: {why}")));
        }
        value.map(str::to_owned)
    };
    let email = required(
        &codes.email_code,
        "email_code",
        "every account confirms with an email code",
    );
    let sms = bound.sms.then(|| {
        required(
            &codes.sms_code,
            "sms_code",
            "a phone is bound to this account",
        )
    });
    let totp = bound.totp.then(|| {
        required(
            &codes.totp_code,
            "totp_code",
            "an authenticator is bound to this account",
        )
    });
    if bound.passkey && codes.passkey.is_none() {
        missing.push(AppError::validation(
            "passkey",
            "is required: a passkey is bound to this account",
        ));
    }
    if let Some(err) = AppError::combine(missing) {
        return Err(err);
    }
    // Every wanted code is present here (a missing one was collected above).
    Ok(RequiredCodes {
        email: email.unwrap_or_default(),
        sms: sms.flatten(),
        totp: totp.flatten(),
        passkey: codes.passkey.as_ref().filter(|_| bound.passkey),
    })
}
