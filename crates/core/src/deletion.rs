//! The deletion journey as an explicit state machine (PRODUCT.md R1, R2): steps happen
//! in order, enforced here; a request for any other step gets the current step back.
//! Pure: every (step, request) pair has a defined answer, unit-tested exhaustively.

use time::{Duration, OffsetDateTime};

/// A flow expires after this long without a request (R2; a setting overrides it).
pub const DEFAULT_FLOW_IDLE: Duration = Duration::minutes(15);
/// Wrong ID numbers before the identity step locks (R6).
pub const MAX_IDENTITY_FAILURES: u32 = 5;
/// How long the identity step stays locked (R6).
pub const IDENTITY_LOCK: Duration = Duration::hours(24);
/// Deletion waits this long after a password reset, factor reset or recovery.
pub const COOL_OFF: Duration = Duration::hours(24);
/// The default re-registration wait (R9).
pub const DEFAULT_REREGISTER_WAIT: Duration = Duration::days(30);
/// The default retention period for records the law makes us keep (R10).
pub const DEFAULT_RETENTION: Duration = Duration::days(5 * 365 + 1);

/// Where a deletion flow stands in the store (`deletion_flows.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowStatus {
    /// In progress at its step.
    Live,
    /// The account was deleted through it.
    Completed,
    /// Idle too long (R2).
    Expired,
    /// A newer flow of the same account took its place.
    Replaced,
}

impl FlowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FlowStatus::Live => "live",
            FlowStatus::Completed => "completed",
            FlowStatus::Expired => "expired",
            FlowStatus::Replaced => "replaced",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            FlowStatus::Live,
            FlowStatus::Completed,
            FlowStatus::Expired,
            FlowStatus::Replaced,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// Where a recovery request stands (`recovery_requests.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryStatus {
    /// Waiting for support.
    Open,
    Approved,
    Rejected,
}

impl RecoveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RecoveryStatus::Open => "open",
            RecoveryStatus::Approved => "approved",
            RecoveryStatus::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            RecoveryStatus::Open,
            RecoveryStatus::Approved,
            RecoveryStatus::Rejected,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    Notes,
    Assets,
    Verification,
    Identity,
    Deleted,
}

impl Step {
    pub const ALL: [Step; 5] = [
        Step::Notes,
        Step::Assets,
        Step::Verification,
        Step::Identity,
        Step::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Notes => "notes",
            Step::Assets => "assets",
            Step::Verification => "verification",
            Step::Identity => "identity",
            Step::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Step> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Step::Notes => "Notes",
            Step::Assets => "Assets",
            Step::Verification => "Verification",
            Step::Identity => "Identity",
            Step::Deleted => "Deleted",
        }
    }
}

/// What a client asks of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Request {
    View,
    Confirm,
    CheckAssets,
    SendCode,
    Verify,
    SubmitIdentity,
}

impl Request {
    pub const ALL: [Request; 6] = [
        Request::View,
        Request::Confirm,
        Request::CheckAssets,
        Request::SendCode,
        Request::Verify,
        Request::SubmitIdentity,
    ];

    /// The one step at which this request is allowed (`None`: any step).
    pub fn step(self) -> Option<Step> {
        match self {
            Request::View => None,
            Request::Confirm => Some(Step::Notes),
            Request::CheckAssets => Some(Step::Assets),
            Request::SendCode | Request::Verify => Some(Step::Verification),
            Request::SubmitIdentity => Some(Step::Identity),
        }
    }
}

/// Where a flow stands when a request arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowState {
    Live(Step),
    Expired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// The request may proceed at this step.
    Proceed(Step),
    /// Wrong step: 409 `wrong_step` with the current step (web: redirect to it).
    WrongStep(Step),
    /// 410 `flow_expired`: start again.
    Expired,
    /// The flow already ended in deletion.
    Finished,
}

/// R2: is this request allowed now?
pub fn gate(state: FlowState, request: Request) -> Gate {
    match state {
        FlowState::Expired => Gate::Expired,
        FlowState::Live(Step::Deleted) => match request {
            Request::View => Gate::Proceed(Step::Deleted),
            _ => Gate::Finished,
        },
        FlowState::Live(current) => match request.step() {
            None => Gate::Proceed(current),
            Some(step) if step == current => Gate::Proceed(current),
            Some(_) => Gate::WrongStep(current),
        },
    }
}

/// The step after a successful request at `from`. Assets are skipped when nothing
/// blocks (PRODUCT: "passed through without a stop"); a re-check that still finds
/// blockers stays.
pub fn next_step(from: Step, request: Request, nothing_blocks: bool) -> Step {
    match (from, request) {
        (Step::Notes, Request::Confirm) | (Step::Assets, Request::CheckAssets) => {
            if nothing_blocks {
                Step::Verification
            } else {
                Step::Assets
            }
        }
        (Step::Verification, Request::Verify) => Step::Identity,
        (Step::Identity, Request::SubmitIdentity) => Step::Deleted,
        (step, _) => step,
    }
}

pub fn is_expired(last_activity: OffsetDateTime, now: OffsetDateTime, idle: Duration) -> bool {
    now - last_activity >= idle
}

/// R6: the identity step is locked until this time, if it is.
pub fn identity_locked_until(
    failures: u32,
    last_failure: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    if failures < MAX_IDENTITY_FAILURES {
        return None;
    }
    let until = last_failure? + IDENTITY_LOCK;
    (now < until).then_some(until)
}

#[cfg(test)]
mod tests {
    #[test]
    fn stored_statuses_read_back_as_written() {
        for status in [
            FlowStatus::Live,
            FlowStatus::Completed,
            FlowStatus::Expired,
            FlowStatus::Replaced,
        ] {
            assert_eq!(FlowStatus::parse(status.as_str()), Some(status));
        }
        for status in [
            RecoveryStatus::Open,
            RecoveryStatus::Approved,
            RecoveryStatus::Rejected,
        ] {
            assert_eq!(RecoveryStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(FlowStatus::parse("LIVE"), None);
        assert_eq!(RecoveryStatus::parse(""), None);
    }

    use super::*;
    use time::macros::datetime;

    #[test]
    fn every_step_and_request_has_a_defined_answer() {
        for step in Step::ALL {
            for request in Request::ALL {
                let answer = gate(FlowState::Live(step), request);
                let expected = if step == Step::Deleted {
                    if request == Request::View {
                        Gate::Proceed(Step::Deleted)
                    } else {
                        Gate::Finished
                    }
                } else if request.step().is_none() || request.step() == Some(step) {
                    Gate::Proceed(step)
                } else {
                    Gate::WrongStep(step)
                };
                assert_eq!(answer, expected, "{step:?} × {request:?}");
            }
            for request in Request::ALL {
                assert_eq!(gate(FlowState::Expired, request), Gate::Expired);
            }
        }
    }

    #[test]
    fn a_skipped_step_is_refused_with_the_current_step() {
        assert_eq!(
            gate(FlowState::Live(Step::Notes), Request::SubmitIdentity),
            Gate::WrongStep(Step::Notes)
        );
        assert_eq!(
            gate(FlowState::Live(Step::Assets), Request::Verify),
            Gate::WrongStep(Step::Assets)
        );
        assert_eq!(
            gate(FlowState::Live(Step::Identity), Request::Confirm),
            Gate::WrongStep(Step::Identity)
        );
    }

    #[test]
    fn steps_advance_in_order_and_assets_pass_through_when_empty() {
        assert_eq!(
            next_step(Step::Notes, Request::Confirm, true),
            Step::Verification
        );
        assert_eq!(
            next_step(Step::Notes, Request::Confirm, false),
            Step::Assets
        );
        assert_eq!(
            next_step(Step::Assets, Request::CheckAssets, false),
            Step::Assets
        );
        assert_eq!(
            next_step(Step::Assets, Request::CheckAssets, true),
            Step::Verification
        );
        assert_eq!(
            next_step(Step::Verification, Request::Verify, true),
            Step::Identity
        );
        assert_eq!(
            next_step(Step::Identity, Request::SubmitIdentity, true),
            Step::Deleted
        );
        for step in Step::ALL {
            assert_eq!(
                next_step(step, Request::View, true),
                step,
                "viewing never advances"
            );
            assert_eq!(
                next_step(step, Request::SendCode, true),
                step,
                "sending a code never advances"
            );
        }
    }

    #[test]
    fn flows_expire_after_idle_time() {
        let t = datetime!(2026-01-01 12:00 UTC);
        assert!(!is_expired(t, t + Duration::minutes(14), DEFAULT_FLOW_IDLE));
        assert!(is_expired(t, t + Duration::minutes(15), DEFAULT_FLOW_IDLE));
    }

    #[test]
    fn identity_locks_after_five_failures_for_a_day() {
        let t = datetime!(2026-01-01 12:00 UTC);
        assert_eq!(identity_locked_until(4, Some(t), t), None);
        assert_eq!(
            identity_locked_until(5, Some(t), t + Duration::hours(1)),
            Some(t + Duration::hours(24))
        );
        assert_eq!(
            identity_locked_until(5, Some(t), t + Duration::hours(24)),
            None
        );
    }

    #[test]
    fn steps_round_trip() {
        for s in Step::ALL {
            assert_eq!(Step::parse(s.as_str()), Some(s));
        }
    }
}
