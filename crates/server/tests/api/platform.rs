//! Health, headers, OpenAPI, the dev outbox and clock, production mode.

use crate::both_backends;
use crate::helpers::{client, error_code, spawn_app, spawn_app_with};
use offboard_server::Mode;
use offboard_store::Backend;
use serde_json::{json, Value};

both_backends!(
    health_and_readiness,
    security_headers_on_every_response,
    openapi_describes_every_route,
    dev_outbox_keeps_messages_newest_first,
    dev_clock_moves_forward_only,
    production_mode_hides_dev_routes_and_hardens_cookies,
    unknown_paths_get_404_in_the_right_format,
    every_help_link_the_app_gives_resolves,
);

async fn health_and_readiness(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(
        app.api
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    assert_eq!(
        app.api
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.state.store.close().await;
    assert_eq!(
        app.api
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    assert_eq!(
        app.api
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

async fn security_headers_on_every_response(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/", "/login", "/api/v1/me", "/nowhere", "/api/v1/nowhere"] {
        let res = app.api.get(app.url(path)).send().await.unwrap();
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert_eq!(h["cache-control"], "no-store", "{path}");
    }
}

/// Every route the server answers, by method and OpenAPI path.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/signup"),
    ("post", "/api/v1/login"),
    ("post", "/api/v1/logout"),
    ("post", "/api/v1/password-reset"),
    ("post", "/api/v1/password-reset/confirm"),
    ("post", "/api/v1/recovery"),
    ("get", "/recovery"),
    ("post", "/recovery"),
    ("get", "/password-reset"),
    ("post", "/password-reset"),
    ("post", "/password-reset/confirm"),
    ("post", "/api/v1/support/login"),
    ("get", "/api/v1/support/accounts"),
    ("get", "/api/v1/support/recovery"),
    ("post", "/api/v1/support/recovery/{id}/approve"),
    ("post", "/api/v1/support/recovery/{id}/reject"),
    (
        "post",
        "/api/v1/support/accounts/{account_id}/identity-unlock",
    ),
    (
        "post",
        "/api/v1/support/accounts/{account_id}/document-change",
    ),
    ("get", "/api/v1/support/audit"),
    ("get", "/support/login"),
    ("post", "/support/login"),
    ("post", "/support/logout"),
    ("get", "/support"),
    ("post", "/support"),
    ("get", "/support/accounts/{account_id}"),
    ("post", "/support/accounts/{account_id}/identity-unlock"),
    ("post", "/support/accounts/{account_id}/document-change"),
    ("get", "/support/recovery"),
    ("post", "/support/recovery/{id}/approve"),
    ("post", "/support/recovery/{id}/reject"),
    ("get", "/support/audit"),
    ("get", "/api/v1/me"),
    ("post", "/api/v1/deletion"),
    ("get", "/api/v1/deletion/{id}"),
    ("post", "/api/v1/deletion/{id}/confirm"),
    ("post", "/api/v1/deletion/{id}/assets"),
    ("post", "/api/v1/deletion/{id}/codes"),
    ("post", "/api/v1/deletion/{id}/verify"),
    ("post", "/api/v1/deletion/{id}/identity"),
    ("post", "/security/delete"),
    ("get", "/deletion/{id}"),
    ("post", "/deletion/{id}/confirm"),
    ("post", "/deletion/{id}/assets"),
    ("post", "/deletion/{id}/codes"),
    ("post", "/deletion/{id}/verify"),
    ("post", "/deletion/{id}/identity"),
    ("get", "/api/v1/me/assets"),
    ("post", "/api/v1/me/withdrawals"),
    ("get", "/api/v1/me/export"),
    ("get", "/assets"),
    ("post", "/assets/withdraw"),
    ("post", "/assets/codes"),
    ("post", "/api/v1/admin/accounts/{account_id}/deposits"),
    ("post", "/api/v1/admin/withdrawals/{withdrawal_id}/complete"),
    ("post", "/api/v1/admin/withdrawals/{withdrawal_id}/fail"),
    ("post", "/api/v1/admin/accounts/{account_id}/holds"),
    ("delete", "/api/v1/admin/holds/{hold_id}"),
    ("post", "/api/v1/me/identity"),
    ("get", "/api/v1/me/identity"),
    ("put", "/api/v1/admin/accounts/{account_id}/identity"),
    ("get", "/identity"),
    ("post", "/identity"),
    ("post", "/api/v1/me/totp"),
    ("delete", "/api/v1/me/totp"),
    ("post", "/api/v1/me/totp/confirm"),
    ("post", "/api/v1/me/phone"),
    ("delete", "/api/v1/me/phone"),
    ("post", "/api/v1/me/phone/confirm"),
    ("post", "/api/v1/me/codes"),
    ("get", "/api/v1/me/passkeys"),
    ("post", "/api/v1/me/passkeys"),
    ("post", "/api/v1/me/passkeys/registration"),
    ("patch", "/api/v1/me/passkeys/{id}"),
    ("delete", "/api/v1/me/passkeys/{id}"),
    ("post", "/api/v1/me/passkeys/challenge"),
    ("put", "/api/v1/me/passkeys/required"),
    ("post", "/api/v1/login/passkey/options"),
    ("post", "/api/v1/login/passkey"),
    ("post", "/login/passkey"),
    ("post", "/security/passkeys/{id}/rename"),
    ("post", "/security/passkeys/{id}/remove"),
    ("post", "/security/passkeys/require"),
    ("post", "/security/passkeys/require/off"),
    ("get", "/static/passkey.js"),
    ("get", "/api/v1/dev/outbox"),
    ("post", "/api/v1/dev/clock"),
    ("get", "/dev/outbox"),
    ("get", "/"),
    ("get", "/signup"),
    ("post", "/signup"),
    ("get", "/login"),
    ("post", "/login"),
    ("post", "/logout"),
    ("get", "/security"),
    ("post", "/security/totp/setup"),
    ("get", "/security/totp"),
    ("get", "/security/totp/qr.svg"),
    ("post", "/security/totp/confirm"),
    ("post", "/security/totp/remove"),
    ("post", "/security/phone"),
    ("get", "/security/phone/confirm"),
    ("post", "/security/phone/confirm"),
    ("post", "/security/phone/remove"),
    ("post", "/security/codes"),
    ("get", "/security/delete"),
    ("get", "/static/app.css"),
    ("get", "/static/captcha.js"),
    ("get", "/static/captcha-worker.js"),
    ("get", "/static/countdown.js"),
    ("get", "/static/page.js"),
    ("get", "/help"),
    ("get", "/help/{slug}"),
    ("post", "/api/v1/support-requests"),
    ("get", "/api/v1/support-requests"),
    ("get", "/api/v1/support/contact-requests"),
    ("post", "/api/v1/support/contact-requests/{id}/answer"),
    ("get", "/support/contact"),
    ("post", "/support/contact"),
    ("get", "/support/contact-requests"),
    ("post", "/support/contact-requests/{id}/answer"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("post", "/api/v1/admin/webhooks"),
    ("get", "/api/v1/admin/webhooks"),
    ("get", "/api/v1/admin/webhooks/{webhook_id}/deliveries"),
    (
        "post",
        "/api/v1/admin/webhooks/deliveries/{delivery_id}/replay",
    ),
    // Issue 17: freeze, unfreeze, compliance holds.
    ("post", "/api/v1/freeze"),
    ("post", "/api/v1/me/freeze"),
    ("post", "/api/v1/unfreeze/codes"),
    ("post", "/api/v1/unfreeze"),
    ("get", "/freeze/{account_id}/{token}"),
    ("post", "/freeze/{account_id}/{token}"),
    ("post", "/security/freeze"),
    ("get", "/unfreeze"),
    ("post", "/unfreeze"),
    ("post", "/unfreeze/codes"),
    (
        "post",
        "/api/v1/admin/accounts/{account_id}/compliance-holds",
    ),
    (
        "get",
        "/api/v1/admin/accounts/{account_id}/compliance-holds",
    ),
    ("delete", "/api/v1/admin/compliance-holds/{hold_id}"),
    (
        "post",
        "/api/v1/support/accounts/{account_id}/compliance-holds",
    ),
    (
        "get",
        "/api/v1/support/accounts/{account_id}/compliance-holds",
    ),
    ("delete", "/api/v1/support/compliance-holds/{hold_id}"),
];

async fn openapi_describes_every_route(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.admin_token = Some(secrecy::SecretString::from("t".repeat(40)))
    })
    .await;
    let doc: Value = app
        .api
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut described = 0;
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            described += 1;
            assert!(
                ROUTES.contains(&(method.as_str(), path.as_str())),
                "OpenAPI describes {method} {path}, which the test does not know"
            );
        }
    }
    assert_eq!(described, ROUTES.len(), "every route is described");
    for (method, path) in ROUTES {
        // Fill path parameters: a real help slug, dummy ids elsewhere.
        let path = path.replace("{slug}", "cannot-log-in");
        let path = path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    "00000000-0000-7000-8000-000000000000"
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let req = match *method {
            "get" => app.api.get(app.url(&path)),
            "delete" => app.api.delete(app.url(&path)),
            "put" => app.api.put(app.url(&path)),
            "patch" => app.api.patch(app.url(&path)),
            _ => app.api.post(app.url(&path)),
        };
        let res = req.bearer_auth("t".repeat(40)).send().await.unwrap();
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        // A handler may answer 404 for an unknown id; the router's own 404 says so.
        let router_404 = status == 404
            && (body.contains("There is nothing at this address")
                || body.contains("There is no page at this address"));
        assert!(
            !router_404 && status != 405,
            "{method} {path} is described but not routed ({status})"
        );
    }
}

async fn dev_outbox_keeps_messages_newest_first(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signup("sam@example.com").await;
    app.signup("tess@example.com").await;
    let all: Vec<Value> = app
        .api
        .get(app.url("/api/v1/dev/outbox"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all[0]["to"], "tess@example.com", "newest first");
    assert_eq!(all[1]["to"], "sam@example.com");
    let sam: Vec<Value> = app
        .api
        .get(app.url("/api/v1/dev/outbox?to=SAM@example.com"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sam.len(), 1);
    assert_eq!(sam[0]["channel"], "email");
    assert!(sam[0]["subject"].as_str().unwrap().contains("ready"));
    assert!(sam[0]["sent_at"].as_str().unwrap().ends_with('Z'));
    let html = client(true)
        .get(app.url("/dev/outbox"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("sam@example.com") && html.contains("tess@example.com"));
}

async fn dev_clock_moves_forward_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app
        .post_json("/api/v1/dev/clock", json!({"advance_seconds": 86400}))
        .await;
    assert_eq!(res.status(), 200);
    let now: Value = res.json().await.unwrap();
    let now = time::OffsetDateTime::parse(
        now["now"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    #[allow(clippy::disallowed_methods)]
    let real = time::OffsetDateTime::now_utc();
    assert!(now - real > time::Duration::hours(23));
    for bad in [
        json!({"advance_seconds": -5}),
        json!({"advance_seconds": 0}),
        json!({"advance_seconds": "soon"}),
        json!({}),
    ] {
        let (status, body) =
            error_code(app.post_json("/api/v1/dev/clock", bad.clone()).await).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (422, Some("validation_error")),
            "{bad}"
        );
    }
}

async fn production_mode_hides_dev_routes_and_hardens_cookies(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.mode = Mode::Production).await;
    assert!(app.is_production());
    for path in ["/api/v1/dev/outbox", "/dev/outbox"] {
        assert_eq!(
            app.api.get(app.url(path)).send().await.unwrap().status(),
            404,
            "{path}"
        );
    }
    assert_eq!(
        app.post_json("/api/v1/dev/clock", json!({"advance_seconds": 60}))
            .await
            .status(),
        404
    );

    let res = app.api.get(app.url("/login")).send().await.unwrap();
    assert!(res.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .contains("max-age="));
    let csrf_cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        csrf_cookie.starts_with("__Host-offboard_csrf="),
        "{csrf_cookie}"
    );
    assert!(
        csrf_cookie.contains("Secure")
            && csrf_cookie.contains("HttpOnly")
            && csrf_cookie.contains("Path=/")
    );

    // A web login sets the __Host- session cookie with Secure.
    app.signup("uma@example.com").await;
    let csrf = crate::helpers::extract_csrf(&res.text().await.unwrap()).unwrap();
    let cookie_value = csrf_cookie.split(';').next().unwrap().to_owned();
    let res = app
        .api
        .post(app.url("/login"))
        .header("cookie", cookie_value)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "uma@example.com"),
            ("password", crate::helpers::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let session = res.headers()["set-cookie"].to_str().unwrap();
    assert!(
        session.starts_with("__Host-offboard_session=")
            && session.contains("Secure")
            && session.contains("SameSite=Lax"),
        "{session}"
    );
}

async fn unknown_paths_get_404_in_the_right_format(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, body) = error_code(
        app.api
            .get(app.url("/api/v1/nothing-here"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let res = app.api.get(app.url("/nothing-here")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
}

/// R15: the help links in errors and pages point at pages that exist.
async fn every_help_link_the_app_gives_resolves(backend: Backend) {
    let app = spawn_app(backend).await;
    let index = app
        .api
        .get(app.url("/help"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for topic in offboard_server::help::TOPICS {
        assert!(
            index.contains(&format!("/help/{}", topic.slug)),
            "the index lists {}",
            topic.slug
        );
        let res = app
            .api
            .get(app.url(&format!("/help/{}", topic.slug)))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", topic.slug);
        assert!(res.text().await.unwrap().contains(topic.title));
    }
    assert_eq!(
        app.api
            .get(app.url("/help/no-such-topic"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // Links inside error bodies resolve too.
    let res = app
        .post_json(
            "/api/v1/login",
            json!({"email": "x@example.com", "password": "wrong password!"}),
        )
        .await;
    let body: Value = res.json().await.unwrap();
    let help = body["error"]["help"].as_str().unwrap();
    assert_eq!(
        app.api.get(app.url(help)).send().await.unwrap().status(),
        200,
        "{help}"
    );
}
