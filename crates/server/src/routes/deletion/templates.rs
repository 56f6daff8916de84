//! The deletion pages' templates and the views they show: what each step's page holds.

use crate::views::{self, Layout};
use askama::Template;
use offboard_app::deletion;
use offboard_app::factors::FactorCodes;
use offboard_core::deletion::Step;

#[derive(Debug, Clone)]
pub struct StepView {
    pub label: String,
    pub done: bool,
    pub current: bool,
}

pub(super) fn steps(current: Step) -> Vec<StepView> {
    let order = Step::ALL;
    let at = order.iter().position(|s| *s == current).unwrap_or(0);
    order
        .iter()
        .enumerate()
        // Deleted is the end: every step shows as finished, none as still to do.
        .map(|(i, s)| StepView {
            label: s.label().to_owned(),
            done: i < at || current == Step::Deleted,
            current: i == at && current != Step::Deleted,
        })
        .collect()
}

/// When an idle flow closes (R2): shown on every step, with a warning `page.js` reveals
/// two minutes before.
#[derive(Debug, Clone)]
pub struct FlowExpiry {
    pub at: views::When,
    pub seconds_left: i64,
}

impl FlowExpiry {
    pub(super) fn of(flow: &deletion::Flow, now: time::OffsetDateTime) -> Self {
        Self {
            at: views::When::at(flow.expires_at),
            seconds_left: (flow.expires_at - now).whole_seconds().max(0),
        }
    }
}

#[derive(Template)]
#[template(path = "deletion_expired.html")]
pub struct DeletionExpiredPage {
    pub layout: Layout,
    pub message: String,
}

#[derive(Template)]
#[template(path = "deletion_notes.html")]
pub struct DeletionNotesPage {
    pub layout: Layout,
    pub flow_id: String,
    pub steps: Vec<StepView>,
    pub expiry: FlowExpiry,
    pub captcha: Option<String>,
    pub cooloff_until: Option<String>,
    pub error: Option<String>,
    pub error_help: Option<String>,
}

#[derive(Debug, Clone)]
pub struct BlockerView {
    pub kind_label: String,
    pub detail: String,
    pub action_label: String,
    pub action_href: String,
}

#[derive(Template)]
#[template(path = "deletion_assets.html")]
pub struct DeletionAssetsPage {
    pub layout: Layout,
    pub flow_id: String,
    pub steps: Vec<StepView>,
    pub expiry: FlowExpiry,
    pub blockers: Vec<BlockerView>,
    pub error: Option<String>,
    pub error_help: Option<String>,
}

#[derive(Template)]
#[template(path = "deletion_verify.html")]
pub struct DeletionVerifyPage {
    pub layout: Layout,
    pub flow_id: String,
    pub steps: Vec<StepView>,
    pub expiry: FlowExpiry,
    pub email: String,
    pub phone: Option<String>,
    pub needs_totp: bool,
    /// A passkey is bound: the form asks it too (R16).
    pub needs_passkey: bool,
    pub email_wait: i64,
    pub sms_wait: i64,
    pub notice: Option<String>,
    pub error: Option<String>,
    pub error_help: Option<String>,
    /// Each wrong or missing code, marked on its field.
    pub field_errors: views::FieldErrors,
    /// The codes the person typed that were not at fault, typed back in for them.
    pub kept: FactorCodes,
}

#[derive(Template)]
#[template(path = "deletion_identity.html")]
pub struct DeletionIdentityPage {
    pub layout: Layout,
    pub flow_id: String,
    pub steps: Vec<StepView>,
    pub expiry: FlowExpiry,
    pub method_password: bool,
    pub attempts_left: Option<u32>,
    pub error: Option<String>,
    pub error_help: Option<String>,
}

#[derive(Template)]
#[template(path = "deletion_done.html")]
pub struct DeletionDonePage {
    pub layout: Layout,
    /// Every step done, Deleted the last: the journey is over.
    pub steps: Vec<StepView>,
    pub deleted_at: views::When,
    pub reregister_after: views::When,
    /// The erased passkeys' credential ids, space-separated, for the Signal API; empty
    /// when the account had none.
    pub passkey_ids: String,
    pub rp_id: String,
}

#[derive(Template)]
#[template(path = "delete_overview.html")]
pub struct DeleteOverviewPage {
    pub layout: Layout,
    pub steps: &'static [&'static str],
    /// The 24-hour pause (R12): Start stays disabled until this time.
    pub cooloff_until: Option<views::When>,
    /// A deletion this session already has under way: Continue instead of Start.
    pub continue_href: Option<String>,
    pub continue_step: Option<String>,
    pub error: Option<String>,
    pub error_help: Option<String>,
}
