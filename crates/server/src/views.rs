//! Askama page models. Templates live in `templates/`; every page carries a [`Layout`].

use crate::error::AppError;
use crate::error::HttpStatus;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use offboard_app::sessions::Authenticated;
use offboard_app::AppState;

/// What the shared layout (top bar, avatar menu, dev banner) needs.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub signed_in: bool,
    pub email: String,
    pub initial: String,
    pub csrf: String,
    pub dev_mode: bool,
    /// The deletion this session has under way (the "Continue account deletion"
    /// banner); the deletion's own pages leave it out.
    pub deletion_underway: Option<UnderwayView>,
}

/// Where a deletion under way stands, for the banner.
#[derive(Debug, Clone, Default)]
pub struct UnderwayView {
    pub href: String,
    pub step: String,
}

impl Layout {
    /// `csrf` is the request's CSRF token, which every form of the page carries.
    pub fn new(user: Option<&Authenticated>, csrf: &str, dev_mode: bool) -> Self {
        let email = user.map(|u| u.account.email.clone()).unwrap_or_default();
        let initial = email
            .chars()
            .next()
            .map(|c| c.to_uppercase().to_string())
            .unwrap_or_default();
        Self {
            signed_in: user.is_some(),
            email,
            initial,
            csrf: csrf.to_owned(),
            dev_mode,
            deletion_underway: None,
        }
    }
}

pub fn render<T: Template>(template: &T) -> Response {
    render_with_status(StatusCode::OK, template)
}

pub fn render_with_status<T: Template>(status: StatusCode, template: &T) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => {
            tracing::error!(%err, "template rendering failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub layout: Layout,
}

#[derive(Template)]
#[template(path = "signup.html")]
pub struct SignupPage {
    pub layout: Layout,
    pub email: String,
    pub email_error: Option<String>,
    pub password_error: Option<String>,
    pub form_error: Option<String>,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub layout: Layout,
    pub email: String,
    pub error: Option<String>,
    /// The password was right and an authenticator code is needed (or may be given
    /// instead of the passkey).
    pub needs_totp: bool,
    /// The password was right and a passkey confirms: the challenge (JSON) for the
    /// page's script.
    pub passkey_step: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FactorView {
    pub label: String,
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct SessionView {
    pub device: String,
    pub started: When,
    pub last_seen: When,
    pub current: bool,
}

/// A session's device as a person reads it, "Chrome on Linux", from its user agent.
pub fn device_label(user_agent: Option<&str>) -> String {
    const UNKNOWN: &str = "UNKNOWN";
    let Some(parsed) = user_agent.and_then(|ua| woothee::parser::Parser::new().parse(ua)) else {
        return "Unknown device".to_owned();
    };
    let known = |s: &str| !s.is_empty() && s != UNKNOWN;
    match (known(parsed.name), known(parsed.os)) {
        (true, true) => format!("{} on {}", parsed.name, parsed.os),
        (true, false) => parsed.name.to_owned(),
        (false, true) => format!("A browser on {}", parsed.os),
        (false, false) => "Unknown device".to_owned(),
    }
}

#[derive(Template)]
#[template(path = "security.html")]
pub struct SecurityPage {
    pub layout: Layout,
    pub email: String,
    pub factors: Vec<FactorView>,
    pub identity_status: String,
    pub sessions: Vec<SessionView>,
    pub totp_bound: bool,
    pub passkeys: Vec<PasskeyItem>,
    pub require_passkey: bool,
    pub passkey_limit: usize,
    /// The bound phone, masked.
    pub phone: Option<String>,
    pub notice: Option<String>,
    pub error: Option<String>,
    pub error_help: Option<String>,
    /// The removal form shown open (`totp` or `phone`): after its code was sent or it
    /// was refused. Closed otherwise, behind its link.
    pub open_removal: Option<Removal>,
    pub field_errors: FieldErrors,
    pub email_wait: i64,
    pub sms_wait: i64,
}

impl SecurityPage {
    /// Whether the removal form of `which` (`totp`, `phone`) is the open one.
    pub fn is_open(&self, which: &str) -> bool {
        self.open_removal.is_some_and(|r| r.as_str() == which)
    }
}

/// The factor a removal form on the security page removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Totp,
    Phone,
    /// The passkeys' forms (remove one, stop requiring one).
    Passkey,
}

impl Removal {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "totp" => Some(Self::Totp),
            "phone" => Some(Self::Phone),
            "passkey" => Some(Self::Passkey),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::Phone => "phone",
            Self::Passkey => "passkey",
        }
    }
}

#[derive(Template)]
#[template(path = "totp_setup.html")]
pub struct TotpSetupPage {
    pub layout: Layout,
    pub secret_grouped: String,
    pub otpauth_uri: String,
    pub error: Option<String>,
    pub error_help: Option<String>,
}

#[derive(Template)]
#[template(path = "phone_confirm.html")]
pub struct PhoneConfirmPage {
    pub layout: Layout,
    pub phone: String,
    pub error: Option<String>,
    pub error_help: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MessageView {
    pub channel: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub code: Option<String>,
    pub sent_at: String,
}

#[derive(Template)]
#[template(path = "dev_outbox.html")]
pub struct DevOutboxPage {
    pub layout: Layout,
    pub messages: Vec<MessageView>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub title: String,
    pub message: String,
    pub help: Option<String>,
}

/// A plain error page (no session details in the layout).
pub fn status_page(status: StatusCode, title: &str, message: &str) -> Response {
    let page = ErrorPage {
        layout: Layout::default(),
        title: title.to_owned(),
        message: message.to_owned(),
        help: None,
    };
    render_with_status(status, &page)
}

/// An [`AppError`] rendered as a page.
pub fn error_page(err: &AppError, layout: Option<Layout>) -> Response {
    let page = ErrorPage {
        layout: layout.unwrap_or_default(),
        title: match err.status() {
            StatusCode::NOT_FOUND => "Page not found".to_owned(),
            s if s.is_server_error() => "Something went wrong".to_owned(),
            _ => "That did not work".to_owned(),
        },
        message: err.message.clone(),
        help: err.help.map(str::to_owned),
    };
    render_with_status(err.status(), &page)
}

/// Formats a time for pages: `2026-03-01 09:00 UTC`.
pub use offboard_core::clock::{human_time, rfc3339};

/// A time as a page shows it: the UTC text inside `<time datetime="{iso}" data-local>`,
/// beside which `page.js` adds the reader's local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct When {
    pub iso: String,
    pub utc: String,
}

impl When {
    pub fn at(t: time::OffsetDateTime) -> Self {
        Self {
            iso: rfc3339(t),
            utc: human_time(t),
        }
    }
}

#[derive(Template)]
#[template(path = "help_index.html")]
pub struct HelpIndexPage {
    pub layout: Layout,
    pub topics: &'static [crate::help::HelpTopic],
}

#[derive(Template)]
#[template(path = "help_topic.html")]
pub struct HelpTopicPage {
    pub layout: Layout,
    pub topic: &'static crate::help::HelpTopic,
    pub related: Vec<&'static crate::help::HelpTopic>,
    /// The contact form with this topic's subject chosen, where the page says
    /// "contact support".
    pub contact: Option<String>,
}

/// What a page shows of a failed action: (message, help page, status); `200` and
/// nothing when the action did not fail.
pub fn error_parts(error: Option<&AppError>) -> (Option<String>, Option<String>, StatusCode) {
    (
        error.map(|e| e.message.clone()),
        error.and_then(|e| e.help).map(str::to_owned),
        error.map(|e| e.status()).unwrap_or(StatusCode::OK),
    )
}

/// The fields a form's error marks: each gets `aria-invalid` and its own message, tied to
/// it with `aria-describedby` (the same pattern on every form).
#[derive(Debug, Clone, Default)]
pub struct FieldErrors {
    fields: Vec<(String, String)>,
}

impl FieldErrors {
    pub fn of(error: Option<&AppError>) -> Self {
        Self {
            fields: error
                .map(|e| {
                    e.fields
                        .iter()
                        .map(|f| (f.field.clone(), f.message.clone()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The message for `field`, if it is at fault.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    /// More than one field failed: the alert at the top summarises, each field explains.
    pub fn several(&self) -> bool {
        self.fields.len() > 1
    }
}

/// `?notice=` after a page's form succeeded: one of the page's fixed keys, looked up in
/// its own table, never echoed as text.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct NoticeQuery {
    pub notice: Option<String>,
}

/// Seconds until a new email and SMS code of `purpose` may be asked for: what the "Get
/// code" buttons count down. A failed read counts as no wait (the send still decides).
pub async fn code_waits(
    state: &AppState,
    account_id: offboard_core::AccountId,
    purpose: offboard_core::Purpose,
) -> (i64, i64) {
    let wait = |channel| async move {
        state
            .store
            .code_wait(account_id, purpose, channel, state.now())
            .await
            .unwrap_or(0)
    };
    (
        wait(offboard_core::Channel::Email).await,
        wait(offboard_core::Channel::Sms).await,
    )
}

/// The passkey assertion a page's script (`static/passkey.js`) put in a form's hidden
/// `passkey_ceremony` and `passkey_credential` (JSON) fields, if any. Text that is not
/// JSON reaches the service as `null`, which refuses it as no assertion (422).
pub fn passkey_from_form(
    ceremony: Option<&str>,
    credential: Option<&str>,
) -> Option<crate::wire::PasskeyAssertion> {
    let ceremony = ceremony.map(str::trim).filter(|c| !c.is_empty())?;
    let credential = credential.map(|c| serde_json::from_str(c).unwrap_or(serde_json::Value::Null));
    Some(crate::wire::PasskeyAssertion {
        ceremony: ceremony.to_owned(),
        credential: credential.unwrap_or(serde_json::Value::Null),
    })
}

/// A passkey in the Security page's list.
#[derive(Debug, Clone)]
pub struct PasskeyItem {
    pub id: String,
    pub name: String,
    pub created: When,
    pub last_used: Option<When>,
}

impl From<offboard_app::passkeys::PasskeySummary> for PasskeyItem {
    fn from(p: offboard_app::passkeys::PasskeySummary) -> Self {
        Self {
            id: p.id,
            name: p.name,
            created: When::at(p.created_at),
            last_used: p.last_used_at.map(When::at),
        }
    }
}
