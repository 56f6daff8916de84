//! The application's errors at the web edge: the one place a status code is chosen
//! (from [`ErrorKind`]) and the body API.md describes is shaped,
//! `{"error": {"code", "message", "help"?, ...details}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
pub use offboard_app::error::REFUSED_TEXT;
pub use offboard_app::{AppError, ErrorKind};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// An application error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub AppError);

/// Every error a service answers (its own, the store's, the asset source's) becomes the
/// edge's by `?`.
impl<E: Into<AppError>> From<E> for ApiError {
    fn from(err: E) -> Self {
        ApiError(err.into())
    }
}

impl std::ops::Deref for ApiError {
    type Target = AppError;
    fn deref(&self) -> &AppError {
        &self.0
    }
}

/// The status code of each kind of failure: chosen here and nowhere else.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Gone => StatusCode::GONE,
        ErrorKind::Locked => StatusCode::LOCKED,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
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

impl ErrorBody {
    pub fn of(err: &AppError) -> Self {
        ErrorBody {
            error: ErrorObject {
                code: err.code.to_owned(),
                message: err.message.clone(),
                help: err.help.map(str::to_owned),
                extra: with_fields(err),
            },
        }
    }
}

/// The error's details, plus `fields` (every input at fault, each with its own code and
/// message) when a form has more than one to mark.
fn with_fields(err: &AppError) -> Map<String, Value> {
    let mut extra = err.details.clone();
    if err.fields.len() > 1 {
        let fields = err
            .fields
            .iter()
            .map(|f| serde_json::json!({"field": f.field, "code": f.code, "message": f.message}))
            .collect();
        extra.insert("fields".to_owned(), Value::Array(fields));
    }
    extra
}

/// The contract error code of a response, as a response extension.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let err = self.0;
        let mut response = (status_of(err.kind), axum::Json(ErrorBody::of(&err))).into_response();
        // For the metrics middleware: failures counted by reason.
        response.extensions_mut().insert(ErrorCode(err.code));
        if let Some(secs) = err.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The status code an application error answers with, for front ends that pick a page.
pub trait HttpStatus {
    fn status(&self) -> StatusCode;
}

impl HttpStatus for AppError {
    fn status(&self) -> StatusCode {
        status_of(self.kind)
    }
}

impl HttpStatus for ApiError {
    fn status(&self) -> StatusCode {
        status_of(self.0.kind)
    }
}

/// The application's constructors and builders, for errors the edge itself raises
/// (a malformed body, a missing admin token, a refused text).
impl ApiError {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        ApiError(AppError::new(kind, code, message))
    }
    pub fn validation(field: &str, message: impl std::fmt::Display) -> Self {
        ApiError(AppError::validation(field, message))
    }
    pub fn unauthorized() -> Self {
        ApiError(AppError::unauthorized())
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError(AppError::forbidden(message))
    }
    pub fn not_found() -> Self {
        ApiError(AppError::not_found())
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError(AppError::conflict(message))
    }
    pub fn payload_too_large() -> Self {
        ApiError(AppError::payload_too_large())
    }
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError(AppError::internal(cause))
    }
    pub fn with_help(self, path: &'static str) -> Self {
        ApiError(self.0.with_help(path))
    }
    pub fn with(self, key: &str, value: impl Into<Value>) -> Self {
        ApiError(self.0.with(key, value))
    }
    pub fn retry_after(self, seconds: u64) -> Self {
        ApiError(self.0.retry_after(seconds))
    }
}
