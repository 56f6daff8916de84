//! The served API description (`/api/openapi.json`). utoipa builds it from the route
//! annotations; [`finish`] then adds the security schemes and the answers that many
//! operations share, derived from what each operation itself declares, so a route's
//! annotation lists only what is particular to it.
//!
//! Each rule adds a response only where the annotation did not document that status
//! (where it did, the shared cause is appended to its description):
//! - a JSON request body (`ApiJson`): 413 `payload_too_large`, 422 `validation_error`
//!   (malformed JSON, wrong types, missing fields, no `Content-Type: application/json`);
//! - a form body (pages, `CsrfForm`): 403 (the CSRF token is missing or does not match
//!   the cookie), 413 and 422 (an unreadable form), as HTML;
//! - any state-changing method: 403 from the cross-site guard (`Origin` /
//!   `Sec-Fetch-Site` of another site);
//! - security `user_token`, `admin_token` or `agent_token`: 401 `unauthorized`;
//!   `admin_token` also 404 (the admin API is off when no token is configured);
//! - security `session_cookie` alone (a page): 303 to `/login`; `agent_cookie`: 303 to
//!   `/support/login`;
//! - query parameters (axum's `Query`): 400 with a plain-text message when the query
//!   string does not parse;
//! - query parameters or a body holding NUL or another control character: 422
//!   `validation_error` naming the field (`crate::http::text`); a path segment holding
//!   one: 404;
//! - a body that stalls: 408 `request_timeout` (`crate::http::serve`);
//! - everything under `/api/`: 500 `internal_error`;
//! - an error status without content: `ErrorBody` JSON under `/api/`, an HTML page
//!   elsewhere; 303 answers get a `Location` header, 429 answers `Retry-After`.
//!
//! It also adds `links` from the answers that create something (a flow, an account, a
//! hold...) to the operations that take its id.

mod links;

use self::links::{add_links, METHODS};
use crate::http::cookies;
use crate::vocabulary::{self, StepName};
use crate::wire::BlockerView;
use serde_json::{json, Map, Value};
use utoipa::{PartialSchema, ToSchema};

/// The error object of every error answer: `code`, `message`, `help`, and the members
/// some codes add (API.md "Conventions"). Documentation only: `crate::error::ErrorObject`
/// serialises these from its `extra` map.
#[allow(dead_code)] // never built: its schema replaces the derived one
#[derive(ToSchema)]
#[schema(as = ErrorObject)]
struct ErrorObjectDoc {
    /// Stable machine-readable code, e.g. `validation_error`.
    code: String,
    /// What went wrong and what to do, for a person.
    message: String,
    /// A help page in the app, e.g. `/help/wrong-code`.
    #[schema(nullable = false)]
    help: Option<String>,
    /// `validation_error`, `identity_mismatch`: the field at fault (`body` or
    /// `content-type` for an unreadable body, `query` for query parameters).
    #[schema(nullable = false)]
    field: Option<String>,
    /// `wrong_step`: the step the flow is at.
    #[schema(nullable = false, value_type = Option<StepName>)]
    step: Option<String>,
    /// `resend_too_soon`, `rate_limited`, `delivery_failed`: seconds to wait.
    #[schema(nullable = false)]
    retry_after: Option<i64>,
    /// `identity_mismatch`, `invalid_code`: tries left.
    #[schema(nullable = false)]
    attempts_left: Option<i64>,
    /// `reregistration_blocked`, `deletion_cool_off`: when it becomes possible.
    #[schema(nullable = false, format = DateTime)]
    allowed_from: Option<String>,
    /// `identity_locked`: until when.
    #[schema(nullable = false, format = DateTime)]
    locked_until: Option<String>,
    /// `assets_remaining`: what still blocks the deletion.
    #[schema(nullable = false)]
    blocking: Option<Vec<BlockerView>>,
    /// `insufficient_funds`: the available balance, a decimal string.
    #[schema(nullable = false)]
    available: Option<String>,
    /// `account_deleted` on a deposit: the unclaimed deposit's id.
    #[schema(nullable = false)]
    deposit_id: Option<String>,
    /// Code errors: which factor (`email`, `sms`, `totp`).
    #[schema(nullable = false)]
    factor: Option<String>,
    /// `conflict` on a settled withdrawal: its status.
    #[schema(nullable = false)]
    status: Option<String>,
}

/// Security schemes, as the code names them (cookie names depend on the mode).
fn security_schemes(dev: bool) -> Value {
    let secure = !dev;
    json!({
        "user_token": {
            "type": "http", "scheme": "bearer",
            "description": "A user session token from `POST /api/v1/login` (the same sessions as the web pages' cookie)."
        },
        "session_cookie": {
            "type": "apiKey", "in": "cookie", "name": cookies::session_cookie_name(secure),
            "description": "The web pages' session cookie (`__Host-offboard_session` outside dev mode); its value is a user session token."
        },
        "admin_token": {
            "type": "http", "scheme": "bearer",
            "description": "`OFFBOARD_ADMIN_TOKEN`, for the host/admin API and `/metrics`. With no token configured these answer 404."
        },
        "agent_token": {
            "type": "http", "scheme": "bearer",
            "description": "A support agent's session token from `POST /api/v1/support/login` (30 minutes idle, 8 hours at most)."
        },
        "agent_cookie": {
            "type": "apiKey", "in": "cookie", "name": cookies::agent_session_cookie_name(secure),
            "description": "The support console's agent session cookie (`__Host-offboard_agent_session` outside dev mode)."
        }
    })
}

fn error_body() -> Value {
    json!({"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}})
}

fn html() -> Value {
    json!({"text/html": {"schema": {"type": "string"}}})
}

/// Adds `status` with `description` (and `content`), or appends the description to the
/// one documented and adds the media types it lacks.
fn add(responses: &mut Map<String, Value>, status: &str, description: &str, content: Value) {
    match responses.get_mut(status) {
        Some(existing) => {
            let old = existing["description"].as_str().unwrap_or("").to_owned();
            if !old.contains(description) {
                let joined = if old.is_empty() {
                    description.to_owned()
                } else {
                    format!("{old}. Also: {description}")
                };
                existing["description"] = Value::String(joined);
            }
            if let (Some(new), Some(old)) = (
                content.as_object(),
                existing.get_mut("content").and_then(Value::as_object_mut),
            ) {
                for (media_type, media) in new {
                    old.entry(media_type.clone())
                        .or_insert_with(|| media.clone());
                }
            }
        }
        None => {
            let mut response = json!({ "description": description });
            if !content.is_null() {
                response["content"] = content;
            }
            responses.insert(status.to_owned(), response);
        }
    }
}

/// The security scheme names an operation accepts.
fn schemes_of(op: &Value) -> Vec<String> {
    op["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|req| req.keys().cloned())
        .collect()
}

fn finish_operation(path: &str, method: &str, op: &mut Value) {
    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        for param in params {
            not_null(&mut param["schema"]);
        }
    }
    let shape = Shape::of(path, op);
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    add_input_refusals(responses, &shape);
    add_access_refusals(responses, method, &shape);
    if shape.api {
        add(
            responses,
            "500",
            "`internal_error`: something failed on our side; nothing was changed",
            error_body(),
        );
    }
    finish_responses(responses, &shape.error_content);
}

/// What an operation takes and who may call it: which answers the edge adds to it.
struct Shape {
    api: bool,
    json_body: bool,
    form_body: bool,
    query: bool,
    path_params: bool,
    schemes: Vec<String>,
    /// A bearer token (user, admin or agent) is one of its schemes.
    bearer: bool,
    /// Every alternative names a scheme (`{}` would make it optional).
    required: bool,
    error_content: Value,
}

impl Shape {
    fn of(path: &str, op: &Value) -> Self {
        let api = path.starts_with("/api/");
        let body_types: Vec<String> = op["requestBody"]["content"]
            .as_object()
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default();
        let schemes = schemes_of(op);
        let has = |name: &str| schemes.iter().any(|s| s == name);
        let bearer = has("user_token") || has("admin_token") || has("agent_token");
        let param_in = |place: &str| {
            op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["in"] == place))
        };
        Shape {
            api,
            json_body: body_types.iter().any(|t| t == "application/json"),
            form_body: body_types
                .iter()
                .any(|t| t == "application/x-www-form-urlencoded"),
            query: param_in("query"),
            path_params: param_in("path"),
            bearer,
            required: op["security"].as_array().is_some_and(|alts| {
                !alts.is_empty()
                    && alts
                        .iter()
                        .all(|a| a.as_object().is_some_and(|o| !o.is_empty()))
            }),
            schemes,
            error_content: if api { error_body() } else { html() },
        }
    }

    fn has(&self, scheme: &str) -> bool {
        self.schemes.iter().any(|s| s == scheme)
    }
}

/// The answers to unreadable input: query, path segments, bodies.
fn add_input_refusals(responses: &mut Map<String, Value>, shape: &Shape) {
    let (query, path_params, json_body, form_body) = (
        shape.query,
        shape.path_params,
        shape.json_body,
        shape.form_body,
    );
    let error_content = &shape.error_content;
    if query {
        // axum's `Query` rejection, answered before the handler runs.
        add(
            responses,
            "400",
            "the query string could not be read (a value of the wrong type, or a parameter given twice): a plain-text message",
            json!({"text/plain": {"schema": {"type": "string"}}}),
        );
        add(
            responses,
            "422",
            "`validation_error` naming the parameter: it holds NUL or another control character",
            error_content.clone(),
        );
    }
    if path_params {
        add(
            responses,
            "404",
            "`not_found`: nothing has this id (also a path segment holding a control character)",
            error_content.clone(),
        );
    }
    if json_body || form_body {
        add(
            responses,
            "408",
            "`request_timeout`: the body did not arrive within the body timeout; the connection closes",
            error_content.clone(),
        );
    }
    if json_body {
        add(
            responses,
            "413",
            "`payload_too_large`: the body is larger than 1 MiB",
            error_body(),
        );
        add(
            responses,
            "422",
            "`validation_error` naming the `field`: malformed JSON, a wrong type, a missing field or no `Content-Type: application/json`",
            error_body(),
        );
    }
    if form_body {
        add(
            responses,
            "403",
            "the form's `csrf_token` is missing or does not match the CSRF cookie (reload the page)",
            html(),
        );
        add(responses, "413", "the form is larger than 1 MiB", html());
        add(
            responses,
            "422",
            "the form is incomplete or unreadable",
            html(),
        );
    }
}

/// The answers to a caller without the right: another site, no token, no session.
fn add_access_refusals(responses: &mut Map<String, Value>, method: &str, shape: &Shape) {
    let (bearer, required, error_content) = (shape.bearer, shape.required, &shape.error_content);
    let has = |scheme: &str| shape.has(scheme);
    if !matches!(method, "get" | "head" | "options") {
        add(
            responses,
            "403",
            "`forbidden`: the request comes from another site (`Origin` or `Sec-Fetch-Site`)",
            error_content.clone(),
        );
    }
    if bearer {
        add(
            responses,
            "401",
            "`unauthorized`: no valid token",
            error_body(),
        );
    }
    if has("admin_token") {
        add(
            responses,
            "404",
            "`not_found`: the admin API is off (no `OFFBOARD_ADMIN_TOKEN` configured)",
            error_body(),
        );
    }
    if required && has("session_cookie") && !bearer {
        add(responses, "303", "not signed in: to `/login`", Value::Null);
    }
    if required && has("agent_cookie") {
        add(
            responses,
            "303",
            "no agent session: to `/support/login`",
            Value::Null,
        );
    }
}

/// Error answers without content get the error body (JSON or page); 303 and 429 name
/// their headers.
fn finish_responses(responses: &mut Map<String, Value>, error_content: &Value) {
    for (status, response) in responses.iter_mut() {
        let error = status.starts_with('4') || status.starts_with('5');
        if error && response.get("content").is_none() {
            response["content"] = error_content.clone();
        }
        if status == "303" {
            response["headers"]["Location"] = json!({
                "description": "where the browser goes next",
                "schema": {"type": "string"}
            });
        }
        if status == "429" {
            response["headers"]["Retry-After"] = json!({
                "description": "seconds to wait before trying again",
                "schema": {"type": "integer", "minimum": 0}
            });
        }
    }
}

/// Query, path and header parameters are absent or a value, never JSON `null`: drop the
/// `null` alternative utoipa gives `Option` fields.
fn not_null(schema: &mut Value) {
    if let Some(types) = schema["type"].as_array() {
        let kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        schema["type"] = if kept.len() == 1 {
            kept[0].clone()
        } else {
            Value::Array(kept)
        };
    }
    if let Some(alternatives) = schema["oneOf"].as_array() {
        let kept: Vec<Value> = alternatives
            .iter()
            .filter(|a| a["type"] != "null")
            .cloned()
            .collect();
        if kept.len() == 1 {
            *schema = kept[0].clone();
        }
    }
}

/// The served document: utoipa's, with security schemes, shared answers and the full
/// error object.
pub fn finish(doc: utoipa::openapi::OpenApi, dev: bool) -> Value {
    let mut doc = match serde_json::to_value(doc) {
        Ok(doc) => doc,
        Err(err) => {
            tracing::error!(%err, "the OpenAPI document could not be serialised");
            return Value::Null;
        }
    };
    doc["components"]["securitySchemes"] = security_schemes(dev);
    let mut extra = vec![("ErrorObject".to_owned(), ErrorObjectDoc::schema())];
    ErrorObjectDoc::schemas(&mut extra);
    vocabulary::all(&mut extra);
    for (name, schema) in extra {
        if let Ok(schema) = serde_json::to_value(schema) {
            doc["components"]["schemas"][name] = schema;
        }
    }
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            for method in METHODS {
                if let Some(op) = item.get_mut(method) {
                    finish_operation(path, method, op);
                }
            }
        }
    }
    add_links(&mut doc);
    doc
}
