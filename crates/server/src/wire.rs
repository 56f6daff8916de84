//! The JSON shapes of API.md that are built from an application snapshot: the service
//! answers typed values (times as times, steps and statuses as enums) and these say how
//! the contract writes them. Each has its OpenAPI schema beside it.

use offboard_app::deletion::{self as flows, Flow};
use offboard_app::factors::{identity_status_name, BoundFactors};
use offboard_app::support;
use offboard_core::captcha::Challenge;
use offboard_core::clock::rfc3339;
use offboard_core::money::Blocker;
use offboard_store::AccountStatus;
use serde::Serialize;
use utoipa::ToSchema;

/// The flow object of API.md "Deletion flow".
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlowView {
    #[schema(format = "uuid")]
    pub id: String,
    /// `notes`, `assets`, `verification`, `identity` or `deleted`.
    #[schema(value_type = crate::vocabulary::StepName)]
    pub step: String,
    /// When the flow expires if nothing happens (it is touched by every request).
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// At `notes`, when a captcha must be solved; otherwise `null`.
    #[schema(value_type = Option<crate::vocabulary::CaptchaChallenge>, required = true)]
    pub captcha: Option<Challenge>,
    pub blocking: Vec<BlockerView>,
    /// The factors the verification step asks a code of.
    #[schema(value_type = Vec<crate::vocabulary::FactorName>)]
    pub factors: Vec<String>,
    /// `id_number` or `password`.
    #[schema(value_type = crate::vocabulary::IdentityMethod)]
    pub identity_method: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = DateTime)]
    pub deleted_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = DateTime)]
    pub reregister_after: Option<String>,
    /// Set while deletion waits after a password reset, factor reset or recovery.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = DateTime)]
    pub cooloff_until: Option<String>,
}

impl From<Flow> for FlowView {
    fn from(flow: Flow) -> Self {
        FlowView {
            id: flow.id,
            step: flow.step.as_str().to_owned(),
            expires_at: rfc3339(flow.expires_at),
            captcha: flow.captcha,
            blocking: flow.blocking.iter().map(BlockerView::from).collect(),
            factors: flow.factors.names(),
            identity_method: flow.identity_method.as_str().to_owned(),
            deleted_at: flow.deleted_at.map(rfc3339),
            reregister_after: flow.reregister_after.map(rfc3339),
            cooloff_until: flow.cooloff_until.map(rfc3339),
        }
    }
}

/// One thing that blocks deletion, with the action that clears it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BlockerView {
    /// `balance`, `pending_deposit`, `pending_withdrawal` or `hold`.
    #[schema(value_type = crate::vocabulary::BlockerKind)]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub asset: Option<String>,
    /// Decimal string.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub reference: Option<String>,
    /// `withdraw`, `wait` or `close_on_exchange`.
    #[schema(value_type = crate::vocabulary::BlockerAction)]
    pub action: String,
    /// Where to clear it, when we have a page for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub action_url: Option<String>,
}

impl From<&Blocker> for BlockerView {
    fn from(b: &Blocker) -> Self {
        let (action, url) = flows::blocker_action(b);
        BlockerView {
            kind: b.kind.as_str().to_owned(),
            asset: b.asset.clone(),
            amount: b.amount.clone(),
            reference: b.reference.clone(),
            action: action.as_str().to_owned(),
            action_url: url,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IdentitySummary {
    /// `none`, `pending`, `approved` or `rejected`.
    #[schema(value_type = crate::vocabulary::IdentityStatusName)]
    pub status: String,
}

/// What support may see of an account: no secret, code, token or document number.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountSummary {
    #[schema(format = "uuid")]
    pub account_id: String,
    /// `active` or `deleted`.
    #[schema(value_type = crate::vocabulary::AccountStatusName)]
    pub status: String,
    /// Bound factors: `email`, `sms`, `totp` (none for a deleted account).
    #[schema(value_type = Vec<crate::vocabulary::FactorName>)]
    pub factors: Vec<String>,
    pub identity: IdentitySummary,
    /// The step of a deletion in progress, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = Option<crate::vocabulary::StepName>)]
    pub open_deletion_step: Option<String>,
    /// RFC 3339; present while the identity step is locked after wrong answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = DateTime)]
    pub identity_locked_until: Option<String>,
    /// RFC 3339; present while the account is frozen (R17).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = DateTime)]
    pub frozen_at: Option<String>,
}

/// How API.md names an account status.
pub fn account_status_name(status: AccountStatus) -> &'static str {
    match status {
        AccountStatus::Active => "active",
        AccountStatus::Deleted => "deleted",
    }
}

impl From<&support::AccountSummary> for AccountSummary {
    fn from(s: &support::AccountSummary) -> Self {
        AccountSummary {
            account_id: s.account_id.to_string(),
            status: account_status_name(s.status).to_owned(),
            factors: s
                .factors
                .as_ref()
                .map(BoundFactors::names)
                .unwrap_or_default(),
            identity: IdentitySummary {
                status: identity_status_name(s.identity).to_owned(),
            },
            open_deletion_step: s.open_deletion_step.map(|step| step.as_str().to_owned()),
            identity_locked_until: s.identity_locked_until.map(rfc3339),
            frozen_at: s.frozen_at.map(rfc3339),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryItem {
    #[schema(format = "uuid")]
    pub id: String,
    /// The account behind the email, if there is one (`null` otherwise).
    #[schema(required = true, format = "uuid")]
    pub account_id: Option<String>,
    #[schema(format = Email)]
    pub email: String,
    pub message: String,
    /// `match`, `mismatch` or `not_given`: the typed ID number itself is never kept.
    #[schema(value_type = crate::vocabulary::IdNumberCheck)]
    pub id_number_check: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<support::RecoveryItem> for RecoveryItem {
    fn from(r: support::RecoveryItem) -> Self {
        RecoveryItem {
            id: r.id,
            account_id: r.account_id.map(|a| a.to_string()),
            email: r.email,
            message: r.message,
            id_number_check: r.id_number_check,
            created_at: rfc3339(r.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditItem {
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub at: String,
    pub action: String,
    /// The account the entry concerns (as it was asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub account_id: Option<String>,
    /// The agent's email, on support actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub agent: Option<String>,
    /// The agent's reason, on support actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub reason: Option<String>,
}

impl From<support::AuditItem> for AuditItem {
    fn from(a: support::AuditItem) -> Self {
        AuditItem {
            at: rfc3339(a.at),
            action: a.action,
            account_id: a.account_id,
            agent: a.agent,
            reason: a.reason,
        }
    }
}

/// A begun passkey ceremony: send `ceremony` back with the result of
/// `navigator.credentials.create/get(options)` (binary fields base64url).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PasskeyChallenge {
    /// Single use, valid 5 minutes, bound to this session (or to this sign-in).
    pub ceremony: String,
    /// WebAuthn options: `{"publicKey": {...}}`, binary members base64url-encoded.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

impl From<offboard_app::passkeys::Challenge> for PasskeyChallenge {
    fn from(c: offboard_app::passkeys::Challenge) -> Self {
        Self {
            ceremony: c.ceremony,
            options: c.options,
        }
    }
}

/// A passkey's answer to a ceremony: the `PublicKeyCredential` as JSON (`id`, `rawId`,
/// `type`, `response` with base64url members, as `PublicKeyCredential.toJSON()` gives).
#[derive(Debug, Clone, serde::Deserialize, ToSchema)]
pub struct PasskeyAssertion {
    pub ceremony: String,
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

impl PasskeyAssertion {
    /// As a factor of an action by this session.
    pub fn proof(
        self,
        user: &offboard_app::sessions::Authenticated,
    ) -> offboard_app::passkeys::PasskeyProof {
        offboard_app::passkeys::PasskeyProof {
            ceremony: self.ceremony,
            credential: self.credential,
            session: user.token_hash.clone(),
        }
    }
}

/// A passkey in its owner's list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PasskeyView {
    #[schema(format = "uuid")]
    pub id: String,
    pub name: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// `null` until it signs in or approves something.
    #[schema(format = DateTime, required = true)]
    pub last_used_at: Option<String>,
}

impl From<offboard_app::passkeys::PasskeySummary> for PasskeyView {
    fn from(p: offboard_app::passkeys::PasskeySummary) -> Self {
        Self {
            id: p.id,
            name: p.name,
            created_at: rfc3339(p.created_at),
            last_used_at: p.last_used_at.map(rfc3339),
        }
    }
}

/// The proof every bound factor gives for an action (R5, R16).
#[derive(Debug, Default, serde::Deserialize, ToSchema)]
pub struct FactorCodesRequest {
    /// Always required: 6 digits (spaces are ignored).
    #[schema(pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub email_code: Option<String>,
    /// Required when a phone is bound.
    #[schema(pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub sms_code: Option<String>,
    /// Required when an authenticator is bound.
    #[schema(pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub totp_code: Option<String>,
    /// Required when a passkey is bound: the assertion for a challenge of
    /// `POST /api/v1/me/passkeys/challenge` (purpose `unbind`).
    #[schema(nullable = false)]
    pub passkey: Option<PasskeyAssertion>,
}

impl FactorCodesRequest {
    /// The codes, with the passkey assertion bound to this session.
    pub fn codes(
        self,
        user: &offboard_app::sessions::Authenticated,
    ) -> offboard_app::factors::FactorCodes {
        offboard_app::factors::FactorCodes {
            email_code: self.email_code,
            sms_code: self.sms_code,
            totp_code: self.totp_code,
            passkey: self.passkey.map(|p| p.proof(user)),
        }
    }
}

/// A new session's bearer token.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token; the same session as the web cookie.
    pub token: String,
    #[schema(format = "uuid")]
    pub account_id: String,
}
