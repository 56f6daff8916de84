//! `ApiJson<T>`: axum's JSON extractor with API.md's errors. Malformed JSON, wrong types
//! and missing fields give 422 `validation_error` naming the field; too large a body
//! gives 413 `payload_too_large`.

use crate::error::AppError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

pub fn json_rejection(rejection: JsonRejection) -> AppError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::payload_too_large();
    }
    match rejection {
        JsonRejection::JsonDataError(err) => {
            // serde_path_to_error's message names the path: "email: invalid type ..."
            // or "missing field `email`".
            let detail = std::error::Error::source(&err)
                .map(|s| s.to_string())
                .unwrap_or_else(|| err.body_text());
            let field = field_of(&detail);
            AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_error",
                format!("Invalid request body: {detail}"),
            )
            .with("field", field)
        }
        JsonRejection::JsonSyntaxError(err) => {
            let detail = std::error::Error::source(&err)
                .map(|s| s.to_string())
                .unwrap_or_default();
            AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_error",
                format!("The body is not valid JSON: {detail}"),
            )
            .with("field", "body")
        }
        JsonRejection::MissingJsonContentType(_) => AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
            "Send the body as JSON with the header Content-Type: application/json.",
        )
        .with("field", "content-type"),
        other => AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
            other.body_text(),
        )
        .with("field", "body"),
    }
}

/// The field a serde message is about: `missing field `x``, or the `path: ...` prefix
/// serde_path_to_error adds.
fn field_of(detail: &str) -> String {
    if let Some(rest) = detail.split("missing field `").nth(1) {
        if let Some(name) = rest.split('`').next() {
            return name.to_owned();
        }
    }
    match detail.split_once(": ") {
        Some((path, _)) if !path.contains(' ') && path != "." => path.to_owned(),
        _ => "body".to_owned(),
    }
}

/// `Json` that serialises with a status code; handy for 201 answers.
pub fn created<T: Serialize>(value: T) -> Response {
    (StatusCode::CREATED, axum::Json(value)).into_response()
}

#[cfg(test)]
mod tests {
    use super::field_of;

    #[test]
    fn finds_the_field() {
        assert_eq!(
            field_of("missing field `email` at line 1 column 2"),
            "email"
        );
        assert_eq!(
            field_of("password: invalid type: integer `5`, expected a string at line 1 column 14"),
            "password"
        );
        assert_eq!(field_of("invalid type: map, expected a string"), "body");
    }
}
