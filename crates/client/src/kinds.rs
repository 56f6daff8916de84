//! The closed vocabularies of the contract's string fields (API.md; the server's
//! `openapi.rs` names them too). On the wire each is a plain snake_case string; a value
//! outside the list fails to decode, so a test notices when the contract grows.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A deletion flow's step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Notes,
    Assets,
    Verification,
    Identity,
    Deleted,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Notes => "notes",
            Step::Assets => "assets",
            Step::Verification => "verification",
            Step::Identity => "identity",
            Step::Deleted => "deleted",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a one-time code is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

/// A bound verification factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    Email,
    Sms,
    Totp,
}

/// What `POST /api/v1/me/codes` sends a code for (deletion codes come from the flow).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodePurpose {
    Withdrawal,
    Unbind,
}

/// An account's identity status; `none` when there is no record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityStatus {
    None,
    Pending,
    Approved,
    Rejected,
}

/// The outcome of the host platform's identity verification (admin API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    Pending,
    Approved,
    Rejected,
}

/// An identity document's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    IdCard,
    Passport,
    DriversLicence,
}

/// How the deletion's last step confirms the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityMethod {
    IdNumber,
    Password,
}

/// What blocks a deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockerKind {
    Balance,
    PendingDeposit,
    PendingWithdrawal,
    Hold,
}

/// An account's status as support sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    Deleted,
}

/// Whether a recovery request's typed ID number matched the one on file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdNumberCheck {
    Match,
    Mismatch,
    NotGiven,
}

/// What a request to support is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupportTopic {
    DocumentChanged,
    IdentityLocked,
    Other,
}

/// Whether support answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupportRequestStatus {
    Open,
    Answered,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_are_snake_case_strings() {
        assert_eq!(
            serde_json::to_value(Step::Verification).unwrap(),
            "verification"
        );
        assert_eq!(
            serde_json::from_value::<DocumentType>("drivers_licence".into()).unwrap(),
            DocumentType::DriversLicence
        );
        assert_eq!(
            serde_json::from_value::<BlockerKind>("pending_withdrawal".into()).unwrap(),
            BlockerKind::PendingWithdrawal
        );
        assert!(serde_json::from_value::<Step>("elsewhere".into()).is_err());
        assert_eq!(Step::Deleted.to_string(), "deleted");
    }
}
