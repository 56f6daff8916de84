//! Verification factors of the signed-in account: binding an authenticator or a phone,
//! and the one-time codes actions ask for (API.md "Accounts").

use crate::client::{Auth, Client, NoBody};
use crate::error::ClientError;
use crate::kinds::{Channel, CodePurpose};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use std::fmt;

/// `200` of `POST /api/v1/me/totp`: a secret that is not active until confirmed.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct TotpSetup {
    /// Base32.
    pub secret: String,
    pub otpauth_uri: String,
}

impl fmt::Debug for TotpSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSetup(***)")
    }
}

/// `202` of the requests that send a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct CodeSent {
    /// Seconds until another code may be asked for on this channel.
    pub resend_after: i64,
}

/// A code for each factor an action asks for (withdrawals, the deletion's verification).
/// Fields left `None` are not sent.
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
pub struct FactorCodes {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_code: Option<String>,
}

impl fmt::Debug for FactorCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let given = |code: &Option<String>| code.as_ref().map(|_| "***");
        f.debug_struct("FactorCodes")
            .field("email_code", &given(&self.email_code))
            .field("sms_code", &given(&self.sms_code))
            .field("totp_code", &given(&self.totp_code))
            .finish()
    }
}

#[derive(Serialize)]
struct Code<'a> {
    code: &'a str,
}

#[derive(Serialize)]
struct Phone<'a> {
    phone: &'a str,
}

#[derive(Serialize)]
struct SendCode {
    channel: Channel,
    purpose: CodePurpose,
}

impl Client {
    /// `totp_setup`: `POST /api/v1/me/totp` → 200 with the secret to confirm.
    pub async fn totp_begin(&self) -> Result<TotpSetup, ClientError> {
        self.post(
            "totp_setup",
            "/api/v1/me/totp",
            Auth::Session,
            &NoBody {},
            200,
        )
        .await
    }

    /// `totp_confirm`: `POST /api/v1/me/totp/confirm` → 204, the authenticator is bound.
    pub async fn totp_confirm(&self, code: &str) -> Result<(), ClientError> {
        self.post_empty(
            "totp_confirm",
            "/api/v1/me/totp/confirm",
            Auth::Session,
            &Code { code },
            204,
        )
        .await
    }

    /// `totp_remove`: `DELETE /api/v1/me/totp` with a code (purpose `unbind`) for every
    /// bound factor → 204, the authenticator is unbound.
    pub async fn totp_remove(&self, codes: &FactorCodes) -> Result<(), ClientError> {
        let req = self
            .request(Method::DELETE, "/api/v1/me/totp", Auth::Session)
            .json(codes);
        self.send_empty("totp_remove", req, 204).await
    }

    /// `phone_setup`: `POST /api/v1/me/phone` (E.164) → 202, an SMS code is sent.
    pub async fn phone_begin(&self, phone: &str) -> Result<CodeSent, ClientError> {
        self.post(
            "phone_setup",
            "/api/v1/me/phone",
            Auth::Session,
            &Phone { phone },
            202,
        )
        .await
    }

    /// `phone_confirm`: `POST /api/v1/me/phone/confirm` → 204, the phone is bound.
    pub async fn phone_confirm(&self, code: &str) -> Result<(), ClientError> {
        self.post_empty(
            "phone_confirm",
            "/api/v1/me/phone/confirm",
            Auth::Session,
            &Code { code },
            204,
        )
        .await
    }

    /// `me_codes`: `POST /api/v1/me/codes` → 202, a code for an action is sent.
    pub async fn send_code(
        &self,
        channel: Channel,
        purpose: CodePurpose,
    ) -> Result<CodeSent, ClientError> {
        let body = SendCode { channel, purpose };
        self.post("me_codes", "/api/v1/me/codes", Auth::Session, &body, 202)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codes_send_only_what_is_given_and_debug_hides_them() {
        let codes = FactorCodes {
            email_code: Some("123456".into()),
            totp_code: Some("654321".into()),
            ..FactorCodes::default()
        };
        assert_eq!(
            serde_json::to_value(&codes).unwrap(),
            json!({"email_code": "123456", "totp_code": "654321"})
        );
        let shown = format!("{codes:?}");
        assert!(
            !shown.contains("123456") && !shown.contains("654321"),
            "{shown}"
        );
        let send = SendCode {
            channel: Channel::Sms,
            purpose: CodePurpose::Withdrawal,
        };
        assert_eq!(
            serde_json::to_value(&send).unwrap(),
            json!({"channel": "sms", "purpose": "withdrawal"})
        );
    }
}
