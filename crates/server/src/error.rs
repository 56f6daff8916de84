//! One error type for the JSON API, shaped exactly as API.md says:
//! `{"error": {"code", "message", "help"?, ...extra}}`. Internal causes are logged with
//! context and never sent to the client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use offboard_store::StoreError;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub help: Option<&'static str>,
    /// Extra members of the error object (`retry_after`, `step`, `attempts_left`, ...).
    pub extra: Map<String, Value>,
    pub retry_after: Option<u64>,
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorObject,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorObject {
    /// Stable machine-readable code, e.g. `validation_error`.
    pub code: String,
    /// What went wrong and what to do, for a person.
    pub message: String,
    /// A help page in the app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extra: Map<String, Value>,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            help: None,
            extra: Map::new(),
            retry_after: None,
        }
    }

    pub fn with_help(mut self, path: &'static str) -> Self {
        self.help = Some(path);
        self
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    /// Adds the `Retry-After` header (seconds).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// 422 naming the field at fault.
    pub fn validation(field: &str, message: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
            format!("{field}: {message}"),
        )
        .with("field", field)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Log in first: this request needs a valid session.",
        )
        .with_help("/help/cannot-log-in")
    }

    /// The one answer to every failed login, whatever the reason.
    pub fn login_failed() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "The email or password is wrong. Check both and try again.",
        )
        .with_help("/help/cannot-log-in")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "There is nothing at this address.",
        )
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "The request body is larger than 1 MiB; send less.",
        )
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Something went wrong on our side. Nothing was changed; try again in a moment.",
        )
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorObject {
                code: self.code.to_owned(),
                message: self.message.clone(),
                help: self.help.map(str::to_owned),
                extra: self.extra.clone(),
            },
        }
    }
}

/// The contract error code of a response, as a response extension.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        // For the metrics middleware: failures counted by reason.
        response.extensions_mut().insert(ErrorCode(self.code));
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

/// The rule a refused text breaks (`crate::http::text` refuses it at the edge; the store
/// mapping below catches what the edge missed). Names the rule, never the value.
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
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The service is busy. Try again in a moment.",
            )
            .retry_after(1),
            other => AppError::internal(other),
        }
    }
}

impl From<crate::hashing::PoolStopped> for AppError {
    fn from(err: crate::hashing::PoolStopped) -> Self {
        AppError::internal(err)
    }
}

pub type ApiResult<T> = Result<T, AppError>;
