//! Security alerts (R21): an email, and a text message where a phone is bound, on every
//! event that could be an intruder's. Each carries a one-time "This wasn't me — freeze
//! my account" link (R17): a random token stored only as its hash, bound to the
//! account, valid [`FREEZE_LINK_VALID`], spent by the first freeze.
//!
//! The alert goes through the mail queue (sealed, with its jobs) and is sent by a task
//! of its own, so a slow relay never shows in the answer of the request that caused it.
//! [`send`] is the one call an action makes after it committed; a failure to queue is
//! logged and counted, never turned into a failure of the action that already happened.

use crate::state::AppState;
use offboard_core::clock::rfc3339;
use offboard_core::crypto::{random_token, token_hash};
use offboard_core::AccountId;
use offboard_store::{AccountRow, AlertMessage, NewAlert, StoreError};
use time::Duration;

/// How long an alert's freeze link works.
pub const FREEZE_LINK_VALID: Duration = Duration::days(7);
/// The help page every alert links to.
pub const HELP_UNEXPECTED_ALERT: &str = "/help/unexpected-alert";

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    /// A sign-in from a device or address the account had not signed in from.
    NewSignIn,
    /// A second factor was bound (authenticator, phone; passkeys call this too).
    FactorAdded,
    /// A second factor was removed.
    FactorRemoved,
    /// The password was changed while signed in.
    PasswordChanged,
    /// The password was reset with an emailed code.
    PasswordReset,
    WithdrawalRequested,
    DeletionStarted,
    /// Support approved an assisted recovery of the account.
    RecoveryApproved,
}

impl AlertKind {
    pub const ALL: [AlertKind; 8] = [
        AlertKind::NewSignIn,
        AlertKind::FactorAdded,
        AlertKind::FactorRemoved,
        AlertKind::PasswordChanged,
        AlertKind::PasswordReset,
        AlertKind::WithdrawalRequested,
        AlertKind::DeletionStarted,
        AlertKind::RecoveryApproved,
    ];

    /// The name the freeze token and the audit log keep.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::NewSignIn => "new_sign_in",
            AlertKind::FactorAdded => "factor_added",
            AlertKind::FactorRemoved => "factor_removed",
            AlertKind::PasswordChanged => "password_changed",
            AlertKind::PasswordReset => "password_reset",
            AlertKind::WithdrawalRequested => "withdrawal_requested",
            AlertKind::DeletionStarted => "deletion_started",
            AlertKind::RecoveryApproved => "recovery_approved",
        }
    }

    /// What happened, as the message says it ("Security alert: ... on your account").
    pub fn what(self) -> &'static str {
        match self {
            AlertKind::NewSignIn => "a sign-in from a new device or address",
            AlertKind::FactorAdded => "a second factor was added",
            AlertKind::FactorRemoved => "a second factor was removed",
            AlertKind::PasswordChanged => "your password was changed",
            AlertKind::PasswordReset => "your password was reset",
            AlertKind::WithdrawalRequested => "a withdrawal was requested",
            AlertKind::DeletionStarted => "an account deletion was started",
            AlertKind::RecoveryApproved => "support approved a recovery of your account",
        }
    }

    pub fn subject(self) -> &'static str {
        match self {
            AlertKind::NewSignIn => "offboard security alert: new sign-in",
            AlertKind::FactorAdded => "offboard security alert: second factor added",
            AlertKind::FactorRemoved => "offboard security alert: second factor removed",
            AlertKind::PasswordChanged => "offboard security alert: password changed",
            AlertKind::PasswordReset => "offboard security alert: password reset",
            AlertKind::WithdrawalRequested => "offboard security alert: withdrawal requested",
            AlertKind::DeletionStarted => "offboard security alert: deletion started",
            AlertKind::RecoveryApproved => "offboard security alert: account recovered",
        }
    }
}

/// The path of a freeze link (the page that confirms the freeze).
pub fn freeze_path(account_id: AccountId, token: &str) -> String {
    format!("/freeze/{account_id}/{token}")
}

/// Queues the alert for `account` (as it was when the action began: a recovery that
/// removes the phone still texts the old number). Never fails the caller.
pub async fn send(state: &AppState, account: &AccountRow, kind: AlertKind) {
    if let Err(err) = queue(state, account, kind).await {
        crate::metrics::alert_lost(kind.as_str());
        tracing::error!(%err, alert = kind.as_str(), "security alert not queued");
    }
}

/// Stores the freeze token and queues the messages in one transaction, then has them
/// sent without making the caller wait on the relay. Answers the queued message ids.
pub async fn queue(
    state: &AppState,
    account: &AccountRow,
    kind: AlertKind,
) -> Result<Vec<String>, StoreError> {
    let now = state.now();
    let token = random_token();
    let base = state.config.public_url.as_deref().unwrap_or("");
    let freeze_url = format!("{base}{}", freeze_path(account.id, &token));
    let help_url = format!("{base}{HELP_UNEXPECTED_ALERT}");
    let when = rfc3339(now).replace('T', " ").replace('Z', " UTC");
    let text = crate::notify::messages::alert_message(
        kind.subject(),
        kind.what(),
        &when,
        &freeze_url,
        &help_url,
    );
    let seal = |t: &str| crate::jobs::seal_mail(state, t);
    let email_id = uuid::Uuid::now_v7().to_string();
    let (email_to, email_body, email_html) =
        (seal(&account.email), seal(&text.text), seal(&text.html));
    let mut messages = vec![AlertMessage {
        id: &email_id,
        channel: "email",
        recipient_sealed: &email_to,
        subject: &text.subject,
        body_sealed: &email_body,
        html_sealed: Some(&email_html),
    }];
    let sms_id = uuid::Uuid::now_v7().to_string();
    let sms = account
        .phone
        .as_deref()
        .filter(|_| state.notifier.can_send_sms())
        .map(|phone| (seal(phone), seal(&text.sms)));
    if let Some((to, body)) = &sms {
        messages.push(AlertMessage {
            id: &sms_id,
            channel: "sms",
            recipient_sealed: to,
            subject: "SMS",
            body_sealed: body,
            html_sealed: None,
        });
    }
    let hash = token_hash(&token);
    state
        .store
        .queue_alert(&NewAlert {
            account_id: account.id,
            alert: kind.as_str(),
            token_hash: &hash,
            expires_at: now + FREEZE_LINK_VALID,
            messages: &messages,
            now,
        })
        .await?;
    let ids: Vec<String> = messages.iter().map(|m| m.id.to_owned()).collect();
    for id in &ids {
        crate::jobs::run_detached(state, id).await;
    }
    Ok(ids)
}

/// R21's "new device or address": the keyed hash of the user agent and the client
/// address, remembered per account; true when this sign-in is from a new one (and the
/// account had signed in before from another).
/// The keyed hash a sign-in device (user agent and address) is known by (R21).
pub fn device_key(state: &AppState, user_agent: Option<&str>, client_addr: &str) -> String {
    let device = format!("{}\n{client_addr}", user_agent.unwrap_or(""));
    state
        .config
        .keys
        .blind_index
        .keyed_hash("sign-in-device", &device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alert_has_its_own_name_and_words() {
        let names: std::collections::BTreeSet<_> =
            AlertKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), AlertKind::ALL.len());
        for kind in AlertKind::ALL {
            assert!(!kind.what().is_empty() && kind.subject().starts_with("offboard"));
        }
    }
}
