//! What a request can end in besides its answer: the contract's error body (API.md
//! "Conventions": `{"error": {"code", "message", "help"?, ...details}}`), a transport
//! failure, or an answer outside the contract; plus the few ways a journey step stops.

use crate::kinds::Step;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::fmt;

/// An error answer in the contract's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    /// Stable machine-readable code, e.g. `validation_error`, `wrong_step`.
    pub code: String,
    pub message: String,
    /// A help page of the app, e.g. `/help/authenticator`.
    pub help: Option<String>,
    /// Every other field of the error object: `step` (`wrong_step`), `retry_after`
    /// (`resend_too_soon`), `attempts_left`, `allowed_from`, `blocking`, `field`, ...
    pub details: Map<String, Value>,
    /// The `Retry-After` header in seconds, when the answer carried one (throttling).
    pub retry_after: Option<u64>,
}

#[derive(Deserialize)]
struct Envelope {
    error: Body,
}

#[derive(Deserialize)]
struct Body {
    code: String,
    message: String,
    #[serde(default)]
    help: Option<String>,
    #[serde(flatten)]
    details: Map<String, Value>,
}

impl ApiError {
    /// Reads an error body; `None` when it is not in the contract's shape.
    pub fn parse(status: u16, body: &[u8]) -> Option<Self> {
        let Envelope { error } = serde_json::from_slice(body).ok()?;
        Some(Self {
            status,
            code: error.code,
            message: error.message,
            help: error.help,
            details: error.details,
            retry_after: None,
        })
    }

    pub fn detail(&self, key: &str) -> Option<&Value> {
        self.details.get(key)
    }

    pub fn detail_str(&self, key: &str) -> Option<&str> {
        self.detail(key).and_then(Value::as_str)
    }

    pub fn detail_u64(&self, key: &str) -> Option<u64> {
        self.detail(key).and_then(Value::as_u64)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} {}: {}", self.status, self.code, self.message)
    }
}

/// Why a client call (or a journey step) did not give its answer. Each request variant
/// names the request (the same name the observer sees, e.g. `deletion_verify`).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server refused, in the contract's error shape (boxed: it is the large one).
    #[error("{request}: {error}")]
    Api {
        request: &'static str,
        error: Box<ApiError>,
    },
    /// No answer: connection, timeout, or a request that could not be built.
    #[error("{request}: {source}")]
    Transport {
        request: &'static str,
        #[source]
        source: reqwest::Error,
    },
    /// A status the contract does not give for this request, or an error without the
    /// contract's body (e.g. a proxy's page).
    #[error("{request}: HTTP {status} (expected {expected}): {body}")]
    Unexpected {
        request: &'static str,
        status: u16,
        expected: u16,
        body: String,
    },
    /// The expected status with a body that does not decode into the answer's type.
    #[error("{request}: the answer does not decode ({reason}): {body}")]
    Decode {
        request: &'static str,
        reason: String,
        body: String,
    },
    /// A journey step found the flow somewhere else than it should be.
    #[error("{request}: the flow is at {got} instead of {expected}")]
    WrongStep {
        request: &'static str,
        expected: Step,
        got: Step,
    },
    /// The dev outbox holds no message with a code for this address.
    #[error("no one-time code in the dev outbox for {to}")]
    NoCode { to: String },
    /// The captcha could not be solved (no number in `0..=maxnumber` matches).
    #[error("captcha: {0}")]
    Captcha(String),
    /// An authenticator secret that does not give codes.
    #[error("authenticator: {0}")]
    Authenticator(String),
    /// A journey step lacks something it needs (e.g. an ID number for the identity step).
    #[error("the journey needs {0}")]
    Missing(&'static str),
}

impl ClientError {
    /// The contract error, if the server answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            ClientError::Api { error, .. } => Some(&**error),
            _ => None,
        }
    }

    /// The contract error's `code`, e.g. `Some("invalid_code")`.
    pub fn code(&self) -> Option<&str> {
        self.api().map(|e| e.code.as_str())
    }

    /// The HTTP status, if an answer arrived.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { error, .. } => Some(error.status),
            ClientError::Unexpected { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// At most the first 300 bytes of a body, for error messages.
pub(crate) fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_contract_error_with_its_details() {
        let body = json!({"error": {"code": "wrong_step", "message": "The flow is at identity.",
            "help": "/help/deletion", "step": "identity"}});
        let e = ApiError::parse(409, &serde_json::to_vec(&body).unwrap()).unwrap();
        assert_eq!(e.status, 409);
        assert_eq!(e.code, "wrong_step");
        assert_eq!(e.message, "The flow is at identity.");
        assert_eq!(e.help.as_deref(), Some("/help/deletion"));
        assert_eq!(e.detail_str("step"), Some("identity"));
        assert_eq!(e.details.len(), 1, "code, message and help are not details");
        assert_eq!(
            e.to_string(),
            "HTTP 409 wrong_step: The flow is at identity."
        );
    }

    #[test]
    fn help_is_optional_and_numbers_stay_numbers() {
        let body = br#"{"error":{"code":"resend_too_soon","message":"Wait.","retry_after":42}}"#;
        let e = ApiError::parse(429, body).unwrap();
        assert_eq!(e.help, None);
        assert_eq!(e.detail_u64("retry_after"), Some(42));
        assert_eq!(e.detail_str("retry_after"), None);
    }

    #[test]
    fn other_bodies_are_not_contract_errors() {
        for body in [
            &b""[..],
            b"<html>Bad Gateway</html>",
            br#"{"code":"x","message":"y"}"#,
            br#"{"error":"x"}"#,
            br#"{"error":{"code":"x"}}"#,
            br#"{"error":{"code":1,"message":"y"}}"#,
        ] {
            assert!(ApiError::parse(500, body).is_none(), "{body:?}");
        }
    }

    #[test]
    fn client_error_accessors() {
        let error = ApiError::parse(
            400,
            br#"{"error":{"code":"invalid_code","message":"That code is not right."}}"#,
        )
        .unwrap();
        let err = ClientError::Api {
            request: "deletion_verify",
            error: Box::new(error),
        };
        assert_eq!(err.code(), Some("invalid_code"));
        assert_eq!(err.status(), Some(400));
        assert_eq!(
            err.to_string(),
            "deletion_verify: HTTP 400 invalid_code: That code is not right."
        );
        let other = ClientError::NoCode {
            to: "a@example.com".into(),
        };
        assert_eq!(other.code(), None);
        assert_eq!(other.status(), None);
    }

    #[test]
    fn snippets_are_short_and_lossy() {
        assert_eq!(snippet(&[b'a'; 1000]).len(), 300);
        assert_eq!(snippet(&[0xff, b'x']), "\u{fffd}x");
    }
}
