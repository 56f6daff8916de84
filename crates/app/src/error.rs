//! The application's one error type. It says what kind of failure happened
//! ([`ErrorKind`]), the contract's stable `code`, a message for a person, a help page and
//! structured details; it knows nothing of HTTP. The web edge (`offboard_server::error`)
//! chooses the status code from the kind, once, and shapes the body API.md describes:
//! `{"error": {"code", "message", "help"?, ...details}}`. Internal causes are logged with
//! context and never reach the client.

use offboard_store::StoreError;
use serde_json::{Map, Value};

/// What kind of failure this is; the edge maps each to one status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed or names something that cannot be (400).
    BadRequest,
    /// A field breaks a rule (422).
    Invalid,
    /// No valid session or credentials (401).
    Unauthenticated,
    /// Signed in, but not allowed (403).
    Forbidden,
    /// Nothing here, or nothing this caller may know of (404).
    NotFound,
    /// The state forbids it now: a duplicate, a wrong step, a decided request (409).
    Conflict,
    /// It was here and is gone for good: an expired flow (410).
    Gone,
    /// Locked for a while after failed attempts (423).
    Locked,
    /// Too many requests; `retry_after` says when to try again (429).
    RateLimited,
    /// More than the service accepts in one request (413).
    TooLarge,
    /// A dependency is down or busy; try again (503).
    Unavailable,
    /// Our fault (500).
    Internal,
}

#[derive(Debug)]
pub struct AppError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
    pub help: Option<&'static str>,
    /// Extra members of the error object (`step`, `attempts_left`, `field`, ...).
    pub details: Map<String, Value>,
    /// Seconds until a retry may succeed (the edge sends `Retry-After`).
    pub retry_after: Option<u64>,
    /// Every input field at fault, so a form marks each one, not only the first (boxed:
    /// errors travel by value through every `Result`, so the type stays small).
    pub fields: Box<[FieldError]>,
}

/// One input field at fault and why (its own code and message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl AppError {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
            help: None,
            details: Map::new(),
            retry_after: None,
            fields: Box::default(),
        }
    }

    /// Names `field` as at fault with this error's code and message.
    pub fn for_field(mut self, field: &str) -> Self {
        self.fields = Box::new([FieldError {
            field: field.to_owned(),
            code: self.code,
            message: self.message.clone(),
        }]);
        self
    }

    /// Several fields failed at once: the first error answers (its code and status), and
    /// every failed field is listed. An internal failure among them wins outright.
    pub fn combine(errors: Vec<AppError>) -> Option<AppError> {
        let mut errors = errors.into_iter();
        let mut first = errors.next()?;
        let mut fields = std::mem::take(&mut first.fields).into_vec();
        for err in errors {
            if err.kind == ErrorKind::Internal || err.kind == ErrorKind::Unavailable {
                return Some(err);
            }
            fields.extend(err.fields.into_vec());
        }
        first.fields = fields.into_boxed_slice();
        Some(first)
    }

    pub fn with_help(mut self, path: &'static str) -> Self {
        self.help = Some(path);
        self
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// Seconds until a retry may succeed.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// A detail as an integer (e.g. `attempts_left`), for front ends that show it.
    pub fn detail_u64(&self, key: &str) -> Option<u64> {
        self.details.get(key).and_then(Value::as_u64)
    }

    /// A detail as text (e.g. `step`, `field`).
    pub fn detail_str(&self, key: &str) -> Option<&str> {
        self.details.get(key).and_then(Value::as_str)
    }

    /// The field at fault, naming it.
    pub fn validation(field: &str, message: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorKind::Invalid,
            "validation_error",
            format!("{field}: {message}"),
        )
        .with("field", field)
        .for_field(field)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            ErrorKind::Unauthenticated,
            "unauthorized",
            "Sign in first: this request needs a valid session.",
        )
        .with_help("/help/cannot-log-in")
    }

    /// The one answer to every failed login, whatever the reason.
    pub fn login_failed() -> Self {
        Self::new(
            ErrorKind::Unauthenticated,
            "unauthorized",
            "The email or password is wrong. Check both and try again.",
        )
        .with_help("/help/cannot-log-in")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, "forbidden", message)
    }

    pub fn not_found() -> Self {
        Self::new(
            ErrorKind::NotFound,
            "not_found",
            "There is nothing at this address.",
        )
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, "conflict", message)
    }

    pub fn payload_too_large() -> Self {
        Self::new(
            ErrorKind::TooLarge,
            "payload_too_large",
            "The request body is larger than 1 MiB; send less.",
        )
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            ErrorKind::Internal,
            "internal_error",
            "Something went wrong on our side. Nothing was changed; try again in a moment.",
        )
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// The rule a refused text breaks (the web edge refuses it first; the store mapping below
/// catches what the edge missed). Names the rule, never the value.
pub const REFUSED_TEXT: &str = "must not contain NUL or other control characters";

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict => AppError::conflict("That record already exists."),
            StoreError::DocumentHeld => AppError::conflict(
                "This document is already verified on another account. One identity holds one live account: use that account, or contact support, who can see which account holds it.",
            )
            .with("field", "document_number")
            .with_help("/help/document-changed"),
            StoreError::InvalidText => AppError::validation("body", REFUSED_TEXT),
            StoreError::Busy(_) => AppError::new(
                ErrorKind::Unavailable,
                "unavailable",
                "The service is busy. Try again in a moment.",
            )
            .retry_after(1),
            other => AppError::internal(other),
        }
    }
}

impl From<crate::hashing::HashError> for AppError {
    fn from(err: crate::hashing::HashError) -> Self {
        match err {
            // A full queue refuses at once; the client retries (issue 18's login storm).
            crate::hashing::HashError::Busy => AppError::new(
                ErrorKind::Unavailable,
                "unavailable",
                "The service is busy. Try again in a moment.",
            )
            .retry_after(1),
            stopped @ crate::hashing::HashError::Stopped => AppError::internal(stopped),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
