//! `ApiJson<T>`: axum's JSON extractor with API.md's errors. Malformed JSON, wrong types
//! and missing fields give 422 `validation_error` naming the field; too large a body
//! gives 413 `payload_too_large`; a string with NUL or another control character gives
//! 422 naming its field (see [`crate::http::text`]). Messages name the field and the
//! rule and never repeat the value sent: it may be a password.

use crate::error::ApiError;
use crate::error::AppError;
use crate::error::ErrorKind;
use crate::http::text;
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
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) = axum::Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(json_rejection)?;
        if let Some(field) = text::refused_in_json(&value) {
            return Err(text::refused(&field).into());
        }
        serde_path_to_error::deserialize::<_, T>(value)
            .map(ApiJson)
            .map_err(|err| data_error(&err.path().to_string(), &err.inner().to_string()).into())
    }
}

fn json_rejection(rejection: JsonRejection) -> AppError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::payload_too_large();
    }
    match rejection {
        JsonRejection::JsonSyntaxError(err) => {
            // serde_json's syntax messages say where ("at line 1 column 9"), not what.
            let detail = std::error::Error::source(&err)
                .map(|s| s.to_string())
                .unwrap_or_default();
            AppError::new(
                ErrorKind::Invalid,
                "validation_error",
                format!("The body is not valid JSON: {detail}"),
            )
            .with("field", "body")
        }
        JsonRejection::MissingJsonContentType(_) => AppError::new(
            ErrorKind::Invalid,
            "validation_error",
            "Send the body as JSON with the header Content-Type: application/json.",
        )
        .with("field", "content-type"),
        _ => AppError::new(
            ErrorKind::Invalid,
            "validation_error",
            "The body could not be read as JSON.",
        )
        .with("field", "body"),
    }
}

/// 422 for a body that is JSON but not the expected shape: the field (serde's path, or
/// the missing field) and the rule, without the value sent.
fn data_error(path: &str, detail: &str) -> AppError {
    let (field, rule) = describe(path, detail);
    AppError::new(
        ErrorKind::Invalid,
        "validation_error",
        format!("Invalid request body: {field}: {rule}"),
    )
    .with("field", field)
}

/// Turns a serde message into (field, rule). serde's own messages quote the value
/// ("invalid type: integer `12345678901`, expected a string"); only the expectation is
/// kept.
fn describe(path: &str, detail: &str) -> (String, String) {
    let field = |name: &str| {
        if name.is_empty() || name == "." {
            "body".to_owned()
        } else {
            name.to_owned()
        }
    };
    if let Some(rest) = detail.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or("");
        let full = if path.is_empty() || path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        return (field(&full), "is required".to_owned());
    }
    let expected = detail
        .split_once(", expected ")
        .map(|(_, e)| e.split(" at line ").next().unwrap_or(e).trim());
    let rule = if detail.starts_with("invalid type") {
        format!("must be {}", expected.unwrap_or("of another type"))
    } else if detail.starts_with("unknown variant") {
        match expected {
            Some(e) => format!("must be {e}"),
            None => "is not one of the accepted values".to_owned(),
        }
    } else if detail.starts_with("unknown field") {
        "is not a field of this request".to_owned()
    } else if detail.starts_with("invalid length") {
        format!("must have {}", expected.unwrap_or("another length"))
    } else if detail.starts_with("invalid value") {
        format!("must be {}", expected.unwrap_or("another value"))
    } else if detail.contains('`') || detail.contains('"') {
        // A custom message that may quote the input: keep only that it is invalid.
        "is not valid".to_owned()
    } else {
        detail
            .split(" at line ")
            .next()
            .unwrap_or(detail)
            .to_owned()
    };
    (field(path), rule)
}

/// `Json` that serialises with a status code; handy for 201 answers.
pub fn created<T: Serialize>(value: T) -> Response {
    (StatusCode::CREATED, axum::Json(value)).into_response()
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn names_the_field_and_the_rule_never_the_value() {
        assert_eq!(
            describe(".", "missing field `email`"),
            ("email".to_owned(), "is required".to_owned())
        );
        let (field, rule) = describe(
            "password",
            "invalid type: integer `12345678901`, expected a string",
        );
        assert_eq!(
            (field.as_str(), rule.as_str()),
            ("password", "must be a string")
        );
        assert!(!rule.contains("12345678901"));
        let (field, rule) = describe(
            "channel",
            "unknown variant `pigeon`, expected `email` or `sms`",
        );
        assert_eq!(field, "channel");
        assert!(!rule.contains("pigeon"), "{rule}");
        let (_, rule) = describe("amount", "invalid decimal \"1e999\"");
        assert_eq!(rule, "is not valid");
        assert_eq!(
            describe("", "invalid type: map, expected a string").0,
            "body"
        );
    }
}
