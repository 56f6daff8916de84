//! The deletion flow's requests (API.md "Deletion flow"). The steps in order, with the
//! codes and the captcha taken care of, are [`crate::journey`].

use crate::client::{segment, Auth, Client, NoBody};
use crate::error::ClientError;
use crate::factors::{CodeSent, FactorCodes};
use crate::kinds::{BlockerKind, Channel, Factor, IdentityMethod, Step};
use offboard_core::captcha::Challenge;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One thing that blocks deletion, with the action that clears it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Blocker {
    pub kind: BlockerKind,
    #[serde(default)]
    pub asset: Option<String>,
    #[serde(default)]
    pub amount: Option<String>,
    #[serde(default)]
    pub reference: Option<String>,
    /// `withdraw`, `wait` or `close_on_exchange`.
    pub action: String,
    #[serde(default)]
    pub action_url: Option<String>,
}

/// A deletion flow, as every deletion request answers it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Flow {
    pub id: String,
    pub step: Step,
    pub expires_at: String,
    /// At `notes`, when a captcha must be solved ([`crate::captcha::solve`]).
    pub captcha: Option<Challenge>,
    pub blocking: Vec<Blocker>,
    /// The factors the verification step asks a code of.
    pub factors: Vec<Factor>,
    pub identity_method: IdentityMethod,
    #[serde(default)]
    pub deleted_at: Option<String>,
    #[serde(default)]
    pub reregister_after: Option<String>,
    /// Set while deletion waits after a password reset, factor reset or recovery.
    #[serde(default)]
    pub cooloff_until: Option<String>,
}

impl Flow {
    /// This flow if it is at `step`, else [`ClientError::WrongStep`] naming `request`.
    pub fn expect(self, request: &'static str, step: Step) -> Result<Flow, ClientError> {
        if self.step == step {
            Ok(self)
        } else {
            Err(ClientError::WrongStep {
                request,
                expected: step,
                got: self.step,
            })
        }
    }
}

/// `POST /api/v1/deletion/{id}/confirm`.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct ConfirmNotes {
    /// Must be `true` (the server refuses anything else with 422).
    pub acknowledged: bool,
    /// Base64 of the solved ALTCHA JSON, when the flow shows a captcha.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub captcha: Option<String>,
}

impl ConfirmNotes {
    /// The notes read and understood, with the captcha's answer if one was asked.
    pub fn acknowledged(captcha: Option<String>) -> Self {
        Self {
            acknowledged: true,
            captcha,
        }
    }
}

impl fmt::Debug for ConfirmNotes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfirmNotes")
            .field("acknowledged", &self.acknowledged)
            .field("captcha", &self.captcha.is_some())
            .finish()
    }
}

/// The last step's proof: `{"id_number"}` or `{"password"}` per the flow's
/// `identity_method`.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityProof {
    IdNumber(String),
    Password(String),
}

impl fmt::Debug for IdentityProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityProof::IdNumber(_) => f.write_str("IdNumber(***)"),
            IdentityProof::Password(_) => f.write_str("Password(***)"),
        }
    }
}

#[derive(Serialize)]
struct ChannelRequest {
    channel: Channel,
}

fn flow_path(id: &str, action: &str) -> String {
    format!("/api/v1/deletion/{}/{action}", segment(id))
}

impl Client {
    /// `deletion_start`: `POST /api/v1/deletion` → 201, the flow at `notes` (or the live
    /// flow of this account).
    pub async fn deletion_start(&self) -> Result<Flow, ClientError> {
        self.post(
            "deletion_start",
            "/api/v1/deletion",
            Auth::Session,
            &NoBody {},
            201,
        )
        .await
    }

    /// `deletion_get`: `GET /api/v1/deletion/{id}`.
    pub async fn deletion(&self, flow_id: &str) -> Result<Flow, ClientError> {
        let path = format!("/api/v1/deletion/{}", segment(flow_id));
        self.get("deletion_get", &path, Auth::Session, &[]).await
    }

    /// `deletion_confirm`: notes → `assets` (if anything blocks) or `verification`.
    pub async fn deletion_confirm(
        &self,
        flow_id: &str,
        confirm: &ConfirmNotes,
    ) -> Result<Flow, ClientError> {
        let path = flow_path(flow_id, "confirm");
        self.post("deletion_confirm", &path, Auth::Session, confirm, 200)
            .await
    }

    /// `deletion_assets`: re-checks the assets; moves on when nothing blocks (else 409
    /// `assets_remaining` with `blocking`).
    pub async fn deletion_check_assets(&self, flow_id: &str) -> Result<Flow, ClientError> {
        let path = flow_path(flow_id, "assets");
        self.post("deletion_assets", &path, Auth::Session, &NoBody {}, 200)
            .await
    }

    /// `deletion_codes`: `POST /api/v1/deletion/{id}/codes` → 202, a code is sent.
    pub async fn deletion_send_code(
        &self,
        flow_id: &str,
        channel: Channel,
    ) -> Result<CodeSent, ClientError> {
        let path = flow_path(flow_id, "codes");
        let body = ChannelRequest { channel };
        self.post("deletion_codes", &path, Auth::Session, &body, 202)
            .await
    }

    /// `deletion_verify`: a code per factor → the flow at `identity`.
    pub async fn deletion_verify(
        &self,
        flow_id: &str,
        codes: &FactorCodes,
    ) -> Result<Flow, ClientError> {
        let path = flow_path(flow_id, "verify");
        self.post("deletion_verify", &path, Auth::Session, codes, 200)
            .await
    }

    /// `deletion_identity`: the ID number or password → the flow at `deleted`, with
    /// `deleted_at` and `reregister_after` (the erased answer).
    pub async fn deletion_identity(
        &self,
        flow_id: &str,
        proof: &IdentityProof,
    ) -> Result<Flow, ClientError> {
        let path = flow_path(flow_id, "identity");
        self.post("deletion_identity", &path, Auth::Session, proof, 200)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flow_json() -> serde_json::Value {
        json!({"id": "f1", "step": "notes", "expires_at": "2026-01-01T12:30:00Z",
            "captcha": {"algorithm": "SHA-256", "challenge": "ab", "salt": "s?flow=f1&expires=1&",
                "maxnumber": 1000, "signature": "cd"},
            "blocking": [{"kind": "hold", "reference": "BTC/USDT #1", "action": "close_on_exchange"}],
            "factors": ["email", "totp"], "identity_method": "id_number"})
    }

    #[test]
    fn a_flow_decodes_and_checks_its_step() {
        let flow: Flow = serde_json::from_value(flow_json()).unwrap();
        assert_eq!(flow.step, Step::Notes);
        assert_eq!(flow.captcha.as_ref().unwrap().maxnumber, 1000);
        assert_eq!(flow.blocking[0].kind, BlockerKind::Hold);
        assert_eq!(flow.identity_method, IdentityMethod::IdNumber);
        assert_eq!(flow.deleted_at, None);
        let err = flow
            .clone()
            .expect("deletion_confirm", Step::Verification)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "deletion_confirm: the flow is at notes instead of verification"
        );
        assert_eq!(flow.clone().expect("x", Step::Notes).unwrap(), flow);
    }

    #[test]
    fn requests_are_in_the_contract_shape() {
        assert_eq!(
            serde_json::to_value(IdentityProof::IdNumber("D1".into())).unwrap(),
            json!({"id_number": "D1"})
        );
        assert_eq!(
            serde_json::to_value(IdentityProof::Password("pw".into())).unwrap(),
            json!({"password": "pw"})
        );
        assert_eq!(
            serde_json::to_value(ConfirmNotes::acknowledged(None)).unwrap(),
            json!({"acknowledged": true})
        );
        assert_eq!(
            serde_json::to_value(ChannelRequest {
                channel: Channel::Email
            })
            .unwrap(),
            json!({"channel": "email"})
        );
        assert_eq!(flow_path("f 1", "verify"), "/api/v1/deletion/f%201/verify");
    }
}
