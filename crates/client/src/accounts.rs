//! Accounts (API.md "Accounts"): sign-up, login, logout, `/me`, password reset and the
//! recovery request of someone who cannot log in.

use crate::client::{Auth, Client, NoBody};
use crate::error::ClientError;
use crate::kinds::{Factor, IdentityStatus};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Serialize)]
struct Credentials<'a> {
    email: &'a str,
    password: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    totp_code: Option<&'a str>,
}

/// `201` of `POST /api/v1/signup`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SignedUp {
    pub account_id: String,
}

/// `200` of `POST /api/v1/login`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct LoggedIn {
    /// Bearer token; the same session as the web cookie.
    pub token: String,
    pub account_id: String,
}

impl fmt::Debug for LoggedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoggedIn")
            .field("token", &"***")
            .field("account_id", &self.account_id)
            .finish()
    }
}

/// `{"status"}` of an account's identity record.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IdentitySummary {
    pub status: IdentityStatus,
}

/// `200` of `GET /api/v1/me`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Me {
    pub account_id: String,
    pub email: String,
    /// E.164; `None` until a phone is bound.
    pub phone: Option<String>,
    /// `email` always, then `sms`, `totp` when bound.
    pub factors: Vec<Factor>,
    pub identity: IdentitySummary,
}

#[derive(Serialize)]
struct Email<'a> {
    email: &'a str,
}

#[derive(Serialize)]
struct ResetConfirm<'a> {
    email: &'a str,
    code: &'a str,
    new_password: &'a str,
}

#[derive(Serialize)]
struct RecoveryRequest<'a> {
    email: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_number: Option<&'a str>,
}

impl Client {
    /// `signup`: `POST /api/v1/signup` → 201.
    pub async fn signup(&self, email: &str, password: &str) -> Result<SignedUp, ClientError> {
        let body = Credentials {
            email,
            password,
            totp_code: None,
        };
        self.post("signup", "/api/v1/signup", Auth::Public, &body, 201)
            .await
    }

    /// `login`: `POST /api/v1/login` with a password → 200. Use the token with
    /// [`Client::with_session`].
    pub async fn login(&self, email: &str, password: &str) -> Result<LoggedIn, ClientError> {
        let body = Credentials {
            email,
            password,
            totp_code: None,
        };
        self.post("login", "/api/v1/login", Auth::Public, &body, 200)
            .await
    }

    /// `login_totp`: `POST /api/v1/login` with a password and an authenticator code.
    pub async fn login_with_totp(
        &self,
        email: &str,
        password: &str,
        totp_code: &str,
    ) -> Result<LoggedIn, ClientError> {
        let body = Credentials {
            email,
            password,
            totp_code: Some(totp_code),
        };
        self.post("login_totp", "/api/v1/login", Auth::Public, &body, 200)
            .await
    }

    /// `logout`: `POST /api/v1/logout` → 204 (ends this client's session).
    pub async fn logout(&self) -> Result<(), ClientError> {
        self.post_empty("logout", "/api/v1/logout", Auth::Session, &NoBody {}, 204)
            .await
    }

    /// `me`: `GET /api/v1/me`.
    pub async fn me(&self) -> Result<Me, ClientError> {
        self.get("me", "/api/v1/me", Auth::Session, &[]).await
    }

    /// `password_reset`: `POST /api/v1/password-reset` → 202 always (a code is emailed if
    /// the account exists).
    pub async fn password_reset(&self, email: &str) -> Result<(), ClientError> {
        let body = Email { email };
        self.post_empty(
            "password_reset",
            "/api/v1/password-reset",
            Auth::Public,
            &body,
            202,
        )
        .await
    }

    /// `password_reset_confirm`: `POST /api/v1/password-reset/confirm` → 204; every
    /// session of the account ends.
    pub async fn password_reset_confirm(
        &self,
        email: &str,
        code: &str,
        new_password: &str,
    ) -> Result<(), ClientError> {
        let body = ResetConfirm {
            email,
            code,
            new_password,
        };
        self.post_empty(
            "password_reset_confirm",
            "/api/v1/password-reset/confirm",
            Auth::Public,
            &body,
            204,
        )
        .await
    }

    /// `recovery_request`: `POST /api/v1/recovery` → 202 always.
    pub async fn recovery_request(
        &self,
        email: &str,
        message: &str,
        id_number: Option<&str>,
    ) -> Result<(), ClientError> {
        let body = RecoveryRequest {
            email,
            message,
            id_number,
        };
        self.post_empty(
            "recovery_request",
            "/api/v1/recovery",
            Auth::Public,
            &body,
            202,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_leave_out_what_is_not_given() {
        let plain = Credentials {
            email: "a@example.com",
            password: "pw",
            totp_code: None,
        };
        assert_eq!(
            serde_json::to_value(&plain).unwrap(),
            json!({"email": "a@example.com", "password": "pw"})
        );
        let recovery = RecoveryRequest {
            email: "a@example.com",
            message: "lost my phone",
            id_number: Some("X1"),
        };
        assert_eq!(serde_json::to_value(&recovery).unwrap()["id_number"], "X1");
    }

    #[test]
    fn me_decodes_and_login_hides_its_token() {
        let me: Me = serde_json::from_value(json!({"account_id": "a", "email": "a@example.com",
            "phone": null, "factors": ["email", "totp"], "identity": {"status": "approved"}}))
        .unwrap();
        assert_eq!(me.factors, vec![Factor::Email, Factor::Totp]);
        assert_eq!(me.identity.status, IdentityStatus::Approved);
        let logged: LoggedIn =
            serde_json::from_value(json!({"token": "tok-secret", "account_id": "a"})).unwrap();
        assert!(!format!("{logged:?}").contains("tok-secret"));
    }
}
