//! One rule for text at the edge: no NUL and no other control character (Unicode `Cc`:
//! C0, DEL, C1) in any field, parameter or path, except tab, line feed and carriage
//! return in bodies. PostgreSQL refuses NUL in text outright and a control character
//! in an email, a reference or an audit reason is never legitimate, so such input is
//! answered with 422 naming the field before any service sees it — never a 5xx, never
//! an action that happened without its audit entry (R11, R14).

use crate::error::ApiError;
use crate::error::AppError;
use crate::error::ErrorKind;
use crate::views;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// The message every refusal carries (it names the rule, never the value).
pub use crate::error::REFUSED_TEXT as REFUSED;

/// A character no text field may hold. Tab and line breaks are allowed in bodies
/// (free-text messages have lines); paths and query parameters refuse them too.
pub fn is_refused(c: char, allow_breaks: bool) -> bool {
    c.is_control() && !(allow_breaks && matches!(c, '\t' | '\n' | '\r'))
}

fn has_refused(text: &str, allow_breaks: bool) -> bool {
    text.chars().any(|c| is_refused(c, allow_breaks))
}

/// The path (`a.b[2]`) of the first string in a JSON body holding a refused character,
/// in a key or a value.
pub fn refused_in_json(value: &Value) -> Option<String> {
    fn walk(value: &Value, path: &str) -> Option<String> {
        match value {
            Value::String(s) if has_refused(s, true) => Some(path_or_body(path)),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, &format!("{path}[{i}]"))),
            Value::Object(map) => map.iter().find_map(|(k, v)| {
                let here = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if has_refused(k, false) {
                    Some(path_or_body(path))
                } else {
                    walk(v, &here)
                }
            }),
            _ => None,
        }
    }
    walk(value, "")
}

fn path_or_body(path: &str) -> String {
    if path.is_empty() || has_refused(path, false) {
        "body".to_owned()
    } else {
        path.to_owned()
    }
}

/// The name of the first form or query field whose name or value holds a refused
/// character (`allow_breaks` for form bodies, whose text areas have lines).
pub fn refused_in_pairs(pairs: &[(String, String)], allow_breaks: bool) -> Option<String> {
    pairs.iter().find_map(|(k, v)| {
        if has_refused(k, false) {
            Some("query".to_owned())
        } else {
            has_refused(v, allow_breaks).then(|| k.clone())
        }
    })
}

pub fn refused(field: &str) -> AppError {
    AppError::validation(field, REFUSED)
}

/// Middleware: refuses a request whose decoded path or query parameters hold a refused
/// character. A path answers 404 (no resource has such a name); a query parameter 422
/// naming it. API paths answer JSON, pages an error page.
pub async fn refuse_control_characters(req: Request, next: Next) -> Response {
    let uri = req.uri();
    let api = uri.path().starts_with("/api/");
    let path_bad = percent_encoding::percent_decode_str(uri.path())
        .decode_utf8()
        .map_or(true, |p| has_refused(&p, false));
    if path_bad {
        return if api {
            ApiError::new(
                ErrorKind::NotFound,
                "not_found",
                "Nothing lives at this address.",
            )
            .into_response()
        } else {
            views::status_page(
                StatusCode::NOT_FOUND,
                "Page not found",
                "Nothing lives at this address.",
            )
        };
    }
    if let Some(query) = uri.query() {
        let field = match serde_urlencoded::from_str::<Vec<(String, String)>>(query) {
            Ok(pairs) => refused_in_pairs(&pairs, false),
            // Not valid UTF-8 once decoded: unreadable, like a control character.
            Err(_) => Some("query".to_owned()),
        };
        if let Some(field) = field {
            return if api {
                ApiError(refused(&field)).into_response()
            } else {
                views::status_page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Unreadable address",
                    &format!("The parameter `{field}` {REFUSED}."),
                )
            };
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_nul_and_controls_with_their_field() {
        assert_eq!(
            refused_in_json(&json!({"a": "fine\nlines\tand tabs"})),
            None
        );
        assert_eq!(
            refused_in_json(&json!({"reason": "x\u{0}y"})).as_deref(),
            Some("reason")
        );
        assert_eq!(
            refused_in_json(&json!({"outer": {"list": ["ok", "bell\u{7}"]}})).as_deref(),
            Some("outer.list[1]")
        );
        assert_eq!(
            refused_in_json(&json!({"c1": "\u{85}"})).as_deref(),
            Some("c1")
        );
        assert_eq!(
            refused_in_json(&json!({"del": "\u{7f}"})).as_deref(),
            Some("del")
        );
        assert_eq!(
            refused_in_json(&json!({"bad\u{0}key": "v"})).as_deref(),
            Some("body")
        );
        assert_eq!(
            refused_in_json(&json!("\u{1b}[31m")).as_deref(),
            Some("body")
        );
    }

    #[test]
    fn pairs_name_the_field_and_refuse_breaks_in_queries() {
        let pairs = vec![("email".to_owned(), "a\nb".to_owned())];
        assert_eq!(refused_in_pairs(&pairs, true), None);
        assert_eq!(refused_in_pairs(&pairs, false).as_deref(), Some("email"));
    }
}
