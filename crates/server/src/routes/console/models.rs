//! What the console's pages show: page models and the small helpers the sections share.

use crate::error::AppError;
use crate::http::agent::AgentAuth;
use crate::views::Layout;
use askama::Template;
use axum::response::{IntoResponse, Redirect, Response};
use offboard_app::support::{AccountSummary, AuditItem, RecoveryItem};
use offboard_core::clock::rfc3339;
use offboard_core::identity::IdentityStatus;
use offboard_core::AccountId;
use offboard_store::AccountStatus;
use serde::Deserialize;
use utoipa::IntoParams;

/// The one message for every failed console login (unknown agent, wrong password,
/// missing, wrong or reused code, disabled agent), so the page tells nothing apart.
pub(super) const LOGIN_FAILED: &str = "Those sign-in details were not accepted. Check your email address and password, wait for a fresh code in your authenticator app, and try again.";

/// The signed-in agent, for the console's navigation.
#[derive(Debug, Clone)]
pub(super) struct AgentView {
    pub(super) email: String,
    pub(super) role: &'static str,
    pub(super) is_lead: bool,
}

impl AgentView {
    pub(super) fn of(agent: &AgentAuth) -> Self {
        Self {
            email: agent.agent.email.clone(),
            role: agent.agent.role.as_str(),
            is_lead: agent.is_lead(),
        }
    }
}

/// An account summary as the console shows it: the API's fields, in words.
#[derive(Debug, Clone)]
pub(super) struct SummaryView {
    pub(super) account_id: String,
    pub(super) status: String,
    pub(super) active: bool,
    pub(super) factors: Vec<&'static str>,
    pub(super) identity_status: &'static str,
    pub(super) open_deletion_step: Option<String>,
    pub(super) identity_locked_until: Option<String>,
    pub(super) frozen_at: Option<String>,
}

impl SummaryView {
    pub(super) fn of(summary: &AccountSummary) -> Self {
        let mut factors = Vec::new();
        if let Some(bound) = summary.factors {
            factors.push("Email codes");
            if bound.sms {
                factors.push("SMS codes");
            }
            if bound.totp {
                factors.push("Authenticator app");
            }
        }
        Self {
            account_id: summary.account_id.to_string(),
            status: crate::wire::account_status_name(summary.status).to_owned(),
            active: summary.status == AccountStatus::Active,
            factors,
            identity_status: match summary.identity {
                Some(IdentityStatus::Pending) => "Pending review",
                Some(IdentityStatus::Approved) => "Approved",
                Some(IdentityStatus::Rejected) => "Rejected",
                None => "Not verified",
            },
            open_deletion_step: summary
                .open_deletion_step
                .map(|step| step.as_str().to_owned()),
            identity_locked_until: summary.identity_locked_until.map(rfc3339),
            frozen_at: summary.frozen_at.map(rfc3339),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct AuditView {
    pub(super) at: String,
    pub(super) action: String,
    pub(super) account_id: Option<String>,
    pub(super) agent: Option<String>,
    pub(super) reason: Option<String>,
}

impl AuditView {
    pub(super) fn of(item: AuditItem) -> Self {
        Self {
            at: rfc3339(item.at),
            action: item.action,
            account_id: item.account_id,
            agent: item.agent,
            reason: item.reason,
        }
    }
}

/// A refused form, shown at the top of the page and tied to the field at fault.
#[derive(Debug, Clone, Default)]
pub(super) struct FormError {
    /// Which form failed: `search`, `document_search`, `unlock`, `document`, or the
    /// recovery request's id.
    pub(super) form: String,
    /// The field at fault (`reason`, `document_number`, ...), or empty.
    pub(super) field: String,
    /// For the recovery queue: `approve` or `reject`.
    pub(super) action: String,
    pub(super) message: String,
    pub(super) help: Option<String>,
}

impl FormError {
    pub(super) fn new(form: &str, action: &str, err: &AppError) -> Self {
        Self {
            form: form.to_owned(),
            field: err
                .details
                .get("field")
                .and_then(|f| f.as_str())
                .unwrap_or("")
                .to_owned(),
            action: action.to_owned(),
            message: err.message.clone(),
            help: err.help.map(str::to_owned),
        }
    }

    fn is(&self, form: &str, field: &str) -> bool {
        self.form == form && self.field == field
    }

    fn is_action(&self, form: &str, action: &str) -> bool {
        self.form == form && self.action == action
    }
}

#[derive(Template)]
#[template(path = "console_login.html")]
pub(super) struct LoginPage {
    pub(super) layout: Layout,
    pub(super) email: String,
    pub(super) error: Option<String>,
    pub(super) notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "console_search.html")]
pub(super) struct SearchPage {
    pub(super) layout: Layout,
    pub(super) agent: AgentView,
    pub(super) section: &'static str,
    pub(super) email: String,
    pub(super) phone: String,
    pub(super) account_id: String,
    /// A search by email, phone or id ran (results may be empty).
    pub(super) searched: bool,
    pub(super) results: Vec<SummaryView>,
    /// A document-number search ran: the accounts it matches (empty = no match).
    pub(super) document_matches: Option<Vec<String>>,
    pub(super) error: Option<FormError>,
}

impl SearchPage {
    /// The template marks this field invalid and points it at the error.
    fn invalid(&self, form: &str, field: &str) -> bool {
        self.error.as_ref().is_some_and(|e| e.is(form, field))
    }
}

#[derive(Debug, Clone)]
pub(super) struct DocumentTypeOption {
    pub(super) value: &'static str,
    pub(super) title: &'static str,
    pub(super) selected: bool,
}

#[derive(Template)]
#[template(path = "console_account.html")]
pub(super) struct AccountPage {
    pub(super) layout: Layout,
    pub(super) agent: AgentView,
    pub(super) section: &'static str,
    pub(super) account: SummaryView,
    /// An identity is on file, so a changed document can be recorded.
    pub(super) has_identity: bool,
    pub(super) document_types: Vec<DocumentTypeOption>,
    pub(super) country: String,
    pub(super) entries: Vec<AuditView>,
    pub(super) notice: Option<&'static str>,
    pub(super) error: Option<FormError>,
}

impl AccountPage {
    /// The template marks this field invalid and points it at the error.
    fn invalid(&self, form: &str, field: &str) -> bool {
        self.error.as_ref().is_some_and(|e| e.is(form, field))
    }
}

#[derive(Debug, Clone)]
pub(super) struct RecoveryView {
    pub(super) id: String,
    pub(super) account_id: Option<String>,
    pub(super) email: String,
    pub(super) message: String,
    pub(super) check_label: &'static str,
    pub(super) check_class: &'static str,
    pub(super) created_at: String,
}

impl RecoveryView {
    pub(super) fn of(item: RecoveryItem) -> Self {
        let (check_label, check_class) = match item.id_number_check.as_str() {
            "match" => (
                "The ID number given matches the account's document",
                "badge badge-accent",
            ),
            "mismatch" => (
                "The ID number given does not match the account's document",
                "badge badge-danger",
            ),
            _ => ("No ID number was given", "badge"),
        };
        Self {
            id: item.id,
            account_id: item.account_id.map(|a| a.to_string()),
            email: item.email,
            message: item.message,
            check_label,
            check_class,
            created_at: rfc3339(item.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "console_recovery.html")]
pub(super) struct RecoveryPage {
    pub(super) layout: Layout,
    pub(super) agent: AgentView,
    pub(super) section: &'static str,
    pub(super) requests: Vec<RecoveryView>,
    pub(super) notice: Option<&'static str>,
    pub(super) error: Option<FormError>,
}

impl RecoveryPage {
    /// The reason field of this request's approve or reject form was refused.
    fn failed(&self, id: &str, action: &str) -> bool {
        self.error.as_ref().is_some_and(|e| e.is_action(id, action))
    }
}

#[derive(Template)]
#[template(path = "console_audit.html")]
pub(super) struct AuditPage {
    pub(super) layout: Layout,
    pub(super) agent: AgentView,
    pub(super) section: &'static str,
    /// The agent whose actions are listed.
    pub(super) subject: String,
    pub(super) entries: Vec<AuditView>,
    pub(super) error: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ConsoleNoticeQuery {
    /// One of a fixed set of keys; never echoed as text.
    pub notice: Option<String>,
}

pub(super) fn notice_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "logged_out" => "You are logged out of the support console.",
        "unlocked" => "The identity step is unlocked. The owner can enter their ID number again.",
        "document_changed" => "The new document number is recorded. The earlier number keeps working for the identity step.",
        "approved" => "Recovery approved. The account's authenticator and phone were removed, its sessions ended and a password-reset code went to its email. The owner can delete the account only after a 24-hour wait.",
        "rejected" => "Recovery rejected. Your reason was emailed to the requester.",
        _ => return None,
    })
}

/// A form field as typed; a blank field counts as not given (a browser sends them all).
pub(super) fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

pub(super) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Where a successful action on an account returns. The id is re-formatted from its
/// parsed form, so nothing the client typed reaches the Location header.
pub(super) fn account_url(account_id: &str, notice: &str) -> String {
    match account_id.trim().parse::<AccountId>() {
        Ok(id) => format!("/support/accounts/{id}?notice={notice}"),
        Err(_) => "/support".to_owned(),
    }
}
