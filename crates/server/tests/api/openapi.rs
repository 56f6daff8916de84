//! The served API description (`/api/openapi.json`) is complete: unique operation ids in
//! one scheme, security schemes and requirements, the shared error answers, and the
//! statuses the routes really answer (issue 13, item 9). `platform.rs` checks that it
//! describes every route; `scripts/api-check` runs openapi-spec-validator and
//! schemathesis against it.

use crate::both_backends;
use crate::helpers::{spawn_app_with, TestApp};
use offboard_store::Backend;
use serde_json::{json, Value};
use std::collections::BTreeSet;

both_backends!(
    operation_ids_are_unique_and_follow_the_scheme,
    security_schemes_and_requirements,
    every_operation_documents_its_errors,
    answers_match_the_document,
);

const ADMIN_TOKEN: &str = "openapi-test-admin-token-0123456789abcdef";
const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

async fn app_and_doc(backend: Backend) -> (TestApp, Value) {
    let app = spawn_app_with(backend, |c| {
        c.admin_token = Some(secrecy::SecretString::from(ADMIN_TOKEN))
    })
    .await;
    let res = app
        .api
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    (app, doc)
}

/// (method, path, operation) for every operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    assert!(out.len() > 90, "the document lists the routes");
    out
}

fn schemes_of(op: &Value) -> BTreeSet<String> {
    op["security"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|req| req.as_object().unwrap().keys().cloned())
        .collect()
}

async fn operation_ids_are_unique_and_follow_the_scheme(backend: Backend) {
    let (_app, doc) = app_and_doc(backend).await;
    let mut seen = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(seen.insert(id.to_owned()), "operationId {id} is not unique");
        // `<tag>_<action>`; pages are `page_...` (or `static_...`), operations `ops_...`.
        let tag = op["tags"][0].as_str().unwrap_or("");
        let prefixes: &[&str] = match tag {
            "pages" => &["page_", "static_"],
            "operations" => &["ops_"],
            "accounts" => &["accounts_"],
            "factors" => &["factors_"],
            "identity" => &["identity_"],
            "assets" => &["assets_"],
            "deletion" => &["deletion_"],
            "admin" => &["admin_"],
            "support" => &["support_"],
            "console" => &["console_"],
            "dev" => &["dev_"],
            other => panic!("{method} {path}: unknown tag {other:?}"),
        };
        assert!(
            prefixes.iter().any(|p| id.starts_with(p))
                && id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{method} {path}: operationId {id} does not follow the scheme {prefixes:?}"
        );
    }
}

async fn security_schemes_and_requirements(backend: Backend) {
    let (_app, doc) = app_and_doc(backend).await;
    let schemes = &doc["components"]["securitySchemes"];
    for bearer in ["user_token", "admin_token", "agent_token"] {
        assert_eq!(schemes[bearer]["type"], "http", "{bearer}");
        assert_eq!(schemes[bearer]["scheme"], "bearer", "{bearer}");
    }
    for (cookie, name) in [
        ("session_cookie", "offboard_session"),
        ("agent_cookie", "offboard_agent_session"),
    ] {
        assert_eq!(schemes[cookie]["type"], "apiKey", "{cookie}");
        assert_eq!(schemes[cookie]["in"], "cookie", "{cookie}");
        assert_eq!(schemes[cookie]["name"], name, "{cookie} in dev mode");
    }
    let public_api = [
        "/api/v1/signup",
        "/api/v1/login",
        "/api/v1/password-reset",
        "/api/v1/password-reset/confirm",
        "/api/v1/recovery",
        "/api/v1/support/login",
        "/api/v1/freeze",
        "/api/v1/unfreeze",
        "/api/v1/unfreeze/codes",
    ];
    for (method, path, op) in operations(&doc) {
        let used = schemes_of(&op);
        for name in &used {
            assert!(
                schemes.get(name).is_some(),
                "{method} {path} names an undefined scheme {name}"
            );
        }
        let expected: &[&str] = if path.starts_with("/api/v1/admin/") || path == "/metrics" {
            &["admin_token"]
        } else if path.starts_with("/api/v1/support/") && path != "/api/v1/support/login" {
            &["agent_token"]
        } else if path.starts_with("/api/v1/me")
            || path.starts_with("/api/v1/deletion")
            || path == "/api/v1/support-requests"
            || path == "/api/v1/logout"
        {
            &["user_token", "session_cookie"]
        } else if public_api.contains(&path.as_str())
            || path.starts_with("/api/v1/dev/")
            || path.starts_with("/static/")
            || path == "/healthz"
            || path == "/readyz"
        {
            &[]
        } else {
            // Pages: their own cookie, required or optional.
            continue;
        };
        let expected: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(used, expected, "security of {method} {path}");
    }
    // Pages that need a session say so; the console uses the agent cookie.
    for (method, path, op) in operations(&doc) {
        if path.starts_with("/security") || path.starts_with("/assets") {
            assert_eq!(
                op["security"],
                json!([{"session_cookie": []}]),
                "{method} {path}"
            );
        }
        // The contact form is the account holder's page under /support (issue 15).
        if path == "/support/contact" {
            assert_eq!(
                op["security"],
                json!([{"session_cookie": []}]),
                "{method} {path}"
            );
        } else if path.starts_with("/support") && path != "/support/login" {
            assert!(
                schemes_of(&op).contains("agent_cookie"),
                "{method} {path} names the agent cookie"
            );
        }
    }
}

async fn every_operation_documents_its_errors(backend: Backend) {
    let (_app, doc) = app_and_doc(backend).await;
    for (method, path, op) in operations(&doc) {
        let responses = op["responses"].as_object().unwrap();
        let has = |status: &str| responses.contains_key(status);
        let body_types: Vec<&String> = op["requestBody"]["content"]
            .as_object()
            .map(|c| c.keys().collect())
            .unwrap_or_default();
        let takes_input =
            !body_types.is_empty() || op["parameters"].as_array().is_some_and(|ps| !ps.is_empty());
        if takes_input {
            assert!(
                responses.keys().any(|s| s.starts_with('4')),
                "{method} {path} takes input but documents no 4xx"
            );
        }
        if body_types.iter().any(|t| *t == "application/json") {
            for status in ["413", "422"] {
                assert!(has(status), "{method} {path}: JSON body without {status}");
            }
        }
        if body_types
            .iter()
            .any(|t| *t == "application/x-www-form-urlencoded")
        {
            assert!(has("403"), "{method} {path}: a form without 403 (CSRF)");
        }
        if method != "get" {
            assert!(has("403"), "{method} {path}: no 403 (cross-site guard)");
        }
        let security = schemes_of(&op);
        if ["user_token", "admin_token", "agent_token"]
            .iter()
            .any(|s| security.contains(*s))
        {
            assert!(has("401"), "{method} {path}: authenticated without 401");
        }
        for (status, response) in responses {
            let content = response["content"].as_object();
            if status.starts_with('4') || status.starts_with('5') {
                let content =
                    content.unwrap_or_else(|| panic!("{method} {path} {status}: no content"));
                if path.starts_with("/api/") && status != "400" {
                    assert_eq!(
                        content["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
            if status == "429" {
                assert!(
                    response["headers"]["Retry-After"].is_object(),
                    "{method} {path}: 429 without Retry-After"
                );
            }
            if status == "303" {
                assert!(
                    response["headers"]["Location"].is_object(),
                    "{method} {path}: 303 without Location"
                );
            }
        }
    }
    // The statement is JSON by default and CSV on request.
    let export = &doc["paths"]["/api/v1/me/export"]["get"]["responses"]["200"]["content"];
    assert_eq!(
        export["application/json"]["schema"]["$ref"],
        "#/components/schemas/Statement"
    );
    assert!(export["text/csv"].is_object());
    // Request schemas carry formats.
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["SignupRequest"]["properties"]["email"]["format"],
        "email"
    );
    assert_eq!(
        schemas["IdentityRequest"]["properties"]["expires_on"]["format"],
        "date"
    );
    assert!(schemas["WithdrawalRequest"]["properties"]["amount"]["pattern"].is_string());
    assert_eq!(
        schemas["FlowView"]["properties"]["expires_at"]["format"],
        "date-time"
    );
    // Links name operations that exist, and the flow links are there.
    let ids: BTreeSet<String> = operations(&doc)
        .iter()
        .filter_map(|(_, _, op)| op["operationId"].as_str().map(str::to_owned))
        .collect();
    for (method, path, op) in operations(&doc) {
        for (status, response) in op["responses"].as_object().unwrap() {
            for (name, link) in response["links"].as_object().into_iter().flatten() {
                let target = link["operationId"].as_str().unwrap_or("");
                assert!(
                    ids.contains(target),
                    "{method} {path} {status}: link {name} to unknown {target}"
                );
            }
        }
    }
    assert_eq!(
        doc["paths"]["/api/v1/deletion"]["post"]["responses"]["201"]["links"]["confirm"]
            ["operationId"],
        "deletion_confirm"
    );
    // Every reference resolves.
    let text = doc.to_string();
    for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = part.split('"').next().unwrap();
        assert!(schemas.get(name).is_some(), "dangling $ref {name}");
    }
}

/// The operation a concrete request goes to.
fn operation<'a>(doc: &'a Value, method: &str, template: &str) -> &'a Value {
    let op = &doc["paths"][template][method];
    assert!(op.is_object(), "{method} {template} is not described");
    op
}

/// Asserts the answer's status and media type are documented for the operation.
async fn assert_documented(
    doc: &Value,
    method: &str,
    template: &str,
    res: reqwest::Response,
) -> u16 {
    let status = res.status().as_u16();
    let media = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_owned());
    let response = &operation(doc, method, template)["responses"][status.to_string()];
    assert!(
        response.is_object(),
        "{method} {template} answered {status}, which is not documented"
    );
    match (media, response["content"].as_object()) {
        (Some(media), Some(content)) if !media.is_empty() => assert!(
            content.contains_key(&media),
            "{method} {template} {status}: {media} is not documented ({:?})",
            content.keys().collect::<Vec<_>>()
        ),
        _ => {}
    }
    status
}

async fn answers_match_the_document(backend: Backend) {
    let (app, doc) = app_and_doc(backend).await;
    app.signup("openapi@example.com").await;
    let token = app.login("openapi@example.com").await;

    // 422 on DELETE /me/phone and /me/totp: a body that is not JSON.
    for path in ["/api/v1/me/phone", "/api/v1/me/totp"] {
        let res = app
            .api
            .delete(app.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(assert_documented(&doc, "delete", path, res).await, 422);
    }
    // 404 on an unknown flow.
    let res = app
        .get_as(
            &token,
            "/api/v1/deletion/00000000-0000-7000-8000-000000000000",
        )
        .await;
    assert_eq!(
        assert_documented(&doc, "get", "/api/v1/deletion/{id}", res).await,
        404
    );
    // 403 on a page POST without the CSRF token.
    let res = app
        .api
        .post(app.url("/login"))
        .form(&[("email", "a@example.com"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(assert_documented(&doc, "post", "/login", res).await, 403);
    // 400 on deliveries: a query string that does not parse.
    let webhook: Value = app
        .api
        .post(app.url("/api/v1/admin/webhooks"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"url": "http://127.0.0.1:9/hook", "events": ["account.deleted"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = webhook["webhook_id"].as_str().unwrap();
    let res = app
        .api
        .get(app.url(&format!(
            "/api/v1/admin/webhooks/{id}/deliveries?limit=99999999999999999999"
        )))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let template = "/api/v1/admin/webhooks/{webhook_id}/deliveries";
    assert_eq!(assert_documented(&doc, "get", template, res).await, 400);
    // 429 on totp/confirm after too many wrong codes, with Retry-After.
    let res = app.post_json_as(&token, "/api/v1/me/totp", json!({})).await;
    assert_eq!(
        assert_documented(&doc, "post", "/api/v1/me/totp", res).await,
        200
    );
    let mut last = 0;
    for _ in 0..12 {
        let res = app
            .post_json_as(&token, "/api/v1/me/totp/confirm", json!({"code": "000000"}))
            .await;
        let retry_after = res.headers().contains_key("retry-after");
        last = assert_documented(&doc, "post", "/api/v1/me/totp/confirm", res).await;
        if last == 429 {
            assert!(retry_after, "429 carries Retry-After");
            break;
        }
    }
    assert_eq!(last, 429, "wrong authenticator codes are rate limited");
    // The statement: JSON by default, CSV on request.
    for (query, media) in [("", "application/json"), ("?format=csv", "text/csv")] {
        let res = app
            .get_as(&token, &format!("/api/v1/me/export{query}"))
            .await;
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(media),
            "{query}"
        );
        assert_eq!(
            assert_documented(&doc, "get", "/api/v1/me/export", res).await,
            200
        );
    }
    // 413 on a body over 1 MiB.
    let res = app
        .api
        .post(app.url("/api/v1/signup"))
        .header("content-type", "application/json")
        .body(format!(
            "{{\"email\": \"{}\"}}",
            "a".repeat(1024 * 1024 + 10)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_documented(&doc, "post", "/api/v1/signup", res).await,
        413
    );
    // A page that needs a session sends the browser to the login page.
    let res = app.api.get(app.url("/security")).send().await.unwrap();
    assert_eq!(assert_documented(&doc, "get", "/security", res).await, 303);
}
