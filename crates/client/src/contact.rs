//! Contact support (API.md "Accounts"): the account holder's requests to support, and the
//! agents' queue of open ones in the Support API (answered by email).

use crate::client::{segment, Auth, Client};
use crate::error::ClientError;
use crate::kinds::{SupportRequestStatus, SupportTopic};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct NewRequest<'a> {
    topic: SupportTopic,
    message: &'a str,
}

/// A contact request as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SupportRequest {
    pub id: String,
    pub topic: SupportTopic,
    /// Trimmed; line breaks and tabs kept.
    pub message: String,
    pub status: SupportRequestStatus,
    pub created_at: String,
    #[serde(default)]
    pub answered_at: Option<String>,
    /// Support's answer, also sent by email.
    #[serde(default)]
    pub answer: Option<String>,
}

/// An open contact request as agents see it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ContactRequestItem {
    pub id: String,
    pub account_id: String,
    pub topic: SupportTopic,
    pub message: String,
    pub created_at: String,
}

#[derive(Serialize)]
struct Answer<'a> {
    answer: &'a str,
}

impl Client {
    /// `support_request_open`: `POST /api/v1/support-requests` → 201; with three open
    /// already, 409 `too_many_open_requests` with `limit`.
    pub async fn open_support_request(
        &self,
        topic: SupportTopic,
        message: &str,
    ) -> Result<SupportRequest, ClientError> {
        let body = NewRequest { topic, message };
        self.post(
            "support_request_open",
            "/api/v1/support-requests",
            Auth::Session,
            &body,
            201,
        )
        .await
    }

    /// `support_requests`: `GET /api/v1/support-requests`, newest first.
    pub async fn support_requests(&self) -> Result<Vec<SupportRequest>, ClientError> {
        self.get(
            "support_requests",
            "/api/v1/support-requests",
            Auth::Session,
            &[],
        )
        .await
    }

    /// `support_contact_requests` (agents): `GET /api/v1/support/contact-requests`, the
    /// open ones, oldest first.
    pub async fn support_contact_requests(&self) -> Result<Vec<ContactRequestItem>, ClientError> {
        self.get(
            "support_contact_requests",
            "/api/v1/support/contact-requests",
            Auth::Session,
            &[],
        )
        .await
    }

    /// `support_contact_answer` (agents): answers by email → 204; answered already is
    /// 409 `conflict`, an unknown id 404 `not_found`.
    pub async fn support_answer_contact_request(
        &self,
        id: &str,
        answer: &str,
    ) -> Result<(), ClientError> {
        let path = format!("/api/v1/support/contact-requests/{}/answer", segment(id));
        self.post_empty(
            "support_contact_answer",
            &path,
            Auth::Session,
            &Answer { answer },
            204,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_are_in_the_contract_shape() {
        let body = NewRequest {
            topic: SupportTopic::DocumentChanged,
            message: "renewed",
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"topic": "document_changed", "message": "renewed"})
        );
        let mine: Vec<SupportRequest> = serde_json::from_value(json!([{"id": "r1",
            "topic": "identity_locked", "message": "m", "status": "answered",
            "created_at": "2026-01-01T12:00:00Z", "answered_at": "2026-01-01T13:00:00Z",
            "answer": "done"}]))
        .unwrap();
        assert_eq!(mine[0].status, SupportRequestStatus::Answered);
        assert_eq!(mine[0].answer.as_deref(), Some("done"));
    }
}
