//! The Support API (API.md "Support API"): an agent logs in with password and
//! authenticator, then uses the token as this client's session ([`Client::with_session`]).
//! No support request deletes an account.

use crate::accounts::IdentitySummary;
use crate::client::{segment, Auth, Client};
use crate::error::ClientError;
use crate::kinds::{AccountStatus, Factor, IdNumberCheck, Step};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Serialize)]
struct AgentLogin<'a> {
    email: &'a str,
    password: &'a str,
    totp_code: &'a str,
}

/// `200` of `POST /api/v1/support/login`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct AgentToken {
    pub token: String,
}

impl fmt::Debug for AgentToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AgentToken(***)")
    }
}

/// Which accounts `GET /api/v1/support/accounts` looks for (exactly one key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountLookup {
    Email(String),
    Phone(String),
    AccountId(String),
    DocumentNumber(String),
}

impl AccountLookup {
    fn query(&self) -> (&'static str, &str) {
        match self {
            AccountLookup::Email(v) => ("email", v),
            AccountLookup::Phone(v) => ("phone", v),
            AccountLookup::AccountId(v) => ("account_id", v),
            AccountLookup::DocumentNumber(v) => ("document_number", v),
        }
    }
}

/// An account as support sees it: never a secret or a whole document number.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AccountSummary {
    pub account_id: String,
    pub status: AccountStatus,
    pub factors: Vec<Factor>,
    pub identity: IdentitySummary,
    #[serde(default)]
    pub open_deletion_step: Option<Step>,
    #[serde(default)]
    pub identity_locked_until: Option<String>,
}

/// An open recovery request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RecoveryItem {
    pub id: String,
    pub account_id: Option<String>,
    pub email: String,
    pub message: String,
    pub id_number_check: IdNumberCheck,
    pub created_at: String,
}

/// Whose audit trail `GET /api/v1/support/audit` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditScope {
    Account(String),
    /// An agent's email.
    Agent(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AuditItem {
    pub at: String,
    pub action: String,
    #[serde(default)]
    pub account_id: Option<String>,
    /// The agent's email on support actions.
    #[serde(default)]
    pub agent: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Serialize)]
struct Reason<'a> {
    reason: &'a str,
}

#[derive(Serialize)]
struct DocumentChange<'a> {
    document_number: &'a str,
    reason: &'a str,
}

impl Client {
    /// `support_login`: `POST /api/v1/support/login` → 200 with the agent's token.
    pub async fn support_login(
        &self,
        email: &str,
        password: &str,
        totp_code: &str,
    ) -> Result<AgentToken, ClientError> {
        let body = AgentLogin {
            email,
            password,
            totp_code,
        };
        self.post(
            "support_login",
            "/api/v1/support/login",
            Auth::Public,
            &body,
            200,
        )
        .await
    }

    /// `support_accounts`: `GET /api/v1/support/accounts?<key>=`.
    pub async fn support_find_accounts(
        &self,
        lookup: &AccountLookup,
    ) -> Result<Vec<AccountSummary>, ClientError> {
        let query = [lookup.query()];
        self.get(
            "support_accounts",
            "/api/v1/support/accounts",
            Auth::Session,
            &query,
        )
        .await
    }

    /// `support_recovery`: `GET /api/v1/support/recovery`, the open requests.
    pub async fn support_recovery_requests(&self) -> Result<Vec<RecoveryItem>, ClientError> {
        self.get(
            "support_recovery",
            "/api/v1/support/recovery",
            Auth::Session,
            &[],
        )
        .await
    }

    /// `support_recovery_approve`: factors reset, a password-reset code is emailed.
    pub async fn support_approve_recovery(
        &self,
        id: &str,
        reason: &str,
    ) -> Result<(), ClientError> {
        let path = format!("/api/v1/support/recovery/{}/approve", segment(id));
        self.post_empty(
            "support_recovery_approve",
            &path,
            Auth::Session,
            &Reason { reason },
            204,
        )
        .await
    }

    /// `support_recovery_reject`.
    pub async fn support_reject_recovery(&self, id: &str, reason: &str) -> Result<(), ClientError> {
        let path = format!("/api/v1/support/recovery/{}/reject", segment(id));
        self.post_empty(
            "support_recovery_reject",
            &path,
            Auth::Session,
            &Reason { reason },
            204,
        )
        .await
    }

    /// `support_identity_unlock`: lifts the identity step's lock after failed numbers.
    pub async fn support_unlock_identity(
        &self,
        account_id: &str,
        reason: &str,
    ) -> Result<(), ClientError> {
        let path = format!(
            "/api/v1/support/accounts/{}/identity-unlock",
            segment(account_id)
        );
        self.post_empty(
            "support_identity_unlock",
            &path,
            Auth::Session,
            &Reason { reason },
            204,
        )
        .await
    }

    /// `support_document_change`: records a changed document number.
    pub async fn support_change_document(
        &self,
        account_id: &str,
        document_number: &str,
        reason: &str,
    ) -> Result<(), ClientError> {
        let path = format!(
            "/api/v1/support/accounts/{}/document-change",
            segment(account_id)
        );
        let body = DocumentChange {
            document_number,
            reason,
        };
        self.post_empty("support_document_change", &path, Auth::Session, &body, 204)
            .await
    }

    /// `support_audit`: `GET /api/v1/support/audit?account_id=` (or `agent=`).
    pub async fn support_audit(&self, scope: &AuditScope) -> Result<Vec<AuditItem>, ClientError> {
        let query = match scope {
            AuditScope::Account(id) => [("account_id", id.as_str())],
            AuditScope::Agent(email) => [("agent", email.as_str())],
        };
        self.get(
            "support_audit",
            "/api/v1/support/audit",
            Auth::Session,
            &query,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookups_name_their_key() {
        assert_eq!(
            AccountLookup::Phone("+4915112345678".into()).query(),
            ("phone", "+4915112345678")
        );
        assert_eq!(
            AccountLookup::DocumentNumber("X1".into()).query(),
            ("document_number", "X1")
        );
    }

    #[test]
    fn summaries_decode() {
        let found: Vec<AccountSummary> = serde_json::from_value(json!([{"account_id": "a",
            "status": "active", "factors": ["email"], "identity": {"status": "none"},
            "open_deletion_step": "verification"}]))
        .unwrap();
        assert_eq!(found[0].status, AccountStatus::Active);
        assert_eq!(found[0].open_deletion_step, Some(Step::Verification));
        let open: Vec<RecoveryItem> =
            serde_json::from_value(json!([{"id": "r", "account_id": null,
            "email": "a@example.com", "message": "m", "id_number_check": "not_given",
            "created_at": "2026-01-01T12:00:00Z"}]))
            .unwrap();
        assert_eq!(open[0].id_number_check, IdNumberCheck::NotGiven);
    }
}
