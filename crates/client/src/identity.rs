//! Identity documents: the account holder's submission and record, and the host
//! platform's verdict through the admin API.

use crate::client::{segment, Auth, Client};
use crate::error::ClientError;
use crate::kinds::{DocumentType, IdentityStatus, ReviewStatus};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An identity document as submitted (by the holder or the host platform).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Document {
    pub document_type: DocumentType,
    /// As printed; case, spaces, hyphens and dots do not matter to the server.
    pub document_number: String,
    /// ISO 3166-1 alpha-2, e.g. `DE`.
    pub country: String,
    /// `YYYY-MM-DD`.
    pub expires_on: String,
}

impl Document {
    /// A German passport valid until 2031-01-31 (what the bench and most tests use).
    pub fn passport(number: impl Into<String>) -> Self {
        Self {
            document_type: DocumentType::Passport,
            document_number: number.into(),
            country: "DE".to_owned(),
            expires_on: "2031-01-31".to_owned(),
        }
    }
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Document")
            .field("document_type", &self.document_type)
            .field("document_number", &"***")
            .field("country", &self.country)
            .field("expires_on", &self.expires_on)
            .finish()
    }
}

#[derive(Serialize)]
struct Verdict<'a> {
    #[serde(flatten)]
    document: &'a Document,
    status: ReviewStatus,
}

/// `202` of `POST /api/v1/me/identity`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IdentitySubmitted {
    /// `pending`, or `approved` at once in dev mode.
    pub status: ReviewStatus,
}

/// `200` of `GET /api/v1/me/identity`; with `none` no other field is present.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IdentityRecord {
    pub status: IdentityStatus,
    #[serde(default)]
    pub document_type: Option<DocumentType>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub expires_on: Option<String>,
    /// The last three characters of the number on file, never more.
    #[serde(default)]
    pub number_last3: Option<String>,
}

impl Client {
    /// `identity_submit`: `POST /api/v1/me/identity` → 202.
    pub async fn submit_identity(
        &self,
        document: &Document,
    ) -> Result<IdentitySubmitted, ClientError> {
        self.post(
            "identity_submit",
            "/api/v1/me/identity",
            Auth::Session,
            document,
            202,
        )
        .await
    }

    /// `identity_get`: `GET /api/v1/me/identity`.
    pub async fn identity(&self) -> Result<IdentityRecord, ClientError> {
        self.get("identity_get", "/api/v1/me/identity", Auth::Session, &[])
            .await
    }

    /// `admin_identity`: `PUT /api/v1/admin/accounts/{id}/identity` → 204; a tombstoned
    /// number is 403 `reregistration_blocked`.
    pub async fn admin_set_identity(
        &self,
        account_id: &str,
        document: &Document,
        status: ReviewStatus,
    ) -> Result<(), ClientError> {
        let path = format!("/api/v1/admin/accounts/{}/identity", segment(account_id));
        let req = self
            .request(Method::PUT, &path, Auth::Admin)
            .json(&Verdict { document, status });
        self.send_empty("admin_identity", req, 204).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_verdict_is_the_document_plus_a_status() {
        let document = Document::passport("J1N2I3");
        assert_eq!(
            serde_json::to_value(Verdict {
                document: &document,
                status: ReviewStatus::Approved
            })
            .unwrap(),
            json!({"document_type": "passport", "document_number": "J1N2I3",
                "country": "DE", "expires_on": "2031-01-31", "status": "approved"})
        );
        assert!(!format!("{document:?}").contains("J1N2I3"));
    }

    #[test]
    fn an_empty_record_decodes() {
        let record: IdentityRecord = serde_json::from_value(json!({"status": "none"})).unwrap();
        assert_eq!(record.status, IdentityStatus::None);
        assert_eq!(record.number_last3, None);
    }
}
