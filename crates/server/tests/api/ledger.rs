//! The ledger over HTTP: admin deposits, holds and settlements; user withdrawals with
//! every factor; bad amounts; the statement export; the HTTP asset source.

use crate::both_backends;
use crate::helpers::{error_code, spawn_app_with, TestApp};
use offboard_store::Backend;
use serde_json::{json, Value};

both_backends!(
    admin_api_needs_its_token,
    deposits_are_idempotent_and_show_as_balances,
    every_bad_amount_is_refused,
    withdrawal_needs_every_factor_and_funds,
    failed_withdrawal_returns_funds_and_settlement_is_final,
    holds_are_added_and_released,
    deposit_to_a_deleted_account_is_unclaimed,
    statement_exports_as_json_and_csv,
    assets_page_withdraws_with_codes,
    http_asset_source_is_read,
    dev_ledger_settles_a_pending_withdrawal_by_itself,
);

pub const ADMIN: &str = "admin-token-0123456789abcdefghijklmnopqrstuv";

pub async fn app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |c| {
        c.admin_token = Some(secrecy::SecretString::from(ADMIN))
    })
    .await
}

pub async fn admin_post(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.api
        .post(app.url(path))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub async fn deposit(app: &TestApp, account: &str, asset: &str, amount: &str) -> String {
    let res = admin_post(
        app,
        &format!("/api/v1/admin/accounts/{account}/deposits"),
        json!({"asset": asset, "amount": amount}),
    )
    .await;
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["deposit_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn user(app: &TestApp, email: &str) -> (String, String) {
    let id = app.signup(email).await;
    (id, app.login(email).await)
}

async fn assets(app: &TestApp, token: &str) -> Value {
    app.get_as(token, "/api/v1/me/assets")
        .await
        .json()
        .await
        .unwrap()
}

// Rules R4 (PRODUCT.md).
async fn admin_api_needs_its_token(backend: Backend) {
    let app = app(backend).await;
    let (id, _) = user(&app, "adm@example.com").await;
    let path = app.url(&format!("/api/v1/admin/accounts/{id}/deposits"));
    let body = json!({"asset": "BTC", "amount": "1"});
    assert_eq!(
        app.api
            .post(&path)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        app.api
            .post(&path)
            .bearer_auth("wrong")
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        app.api
            .post(&path)
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    // No token configured: the admin API does not exist.
    let closed = crate::helpers::spawn_app(backend).await;
    let res = closed
        .api
        .post(closed.url(&format!("/api/v1/admin/accounts/{id}/deposits")))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

// Rules R4 (PRODUCT.md).
async fn deposits_are_idempotent_and_show_as_balances(backend: Backend) {
    let app = app(backend).await;
    let (id, token) = user(&app, "dep@example.com").await;
    let path = app.url(&format!("/api/v1/admin/accounts/{id}/deposits"));
    let send = |key: &'static str, amount: &'static str| {
        app.api
            .post(&path)
            .bearer_auth(ADMIN)
            .header("idempotency-key", key)
            .json(&json!({"asset": "btc", "amount": amount}))
            .send()
    };
    let first: Value = send("k-1", "0.5").await.unwrap().json().await.unwrap();
    let retry = send("k-1", "0.5").await.unwrap();
    assert_eq!(retry.status(), 201);
    assert_eq!(
        retry.json::<Value>().await.unwrap()["deposit_id"],
        first["deposit_id"]
    );
    let (status, err) = error_code(send("k-1", "0.7").await.unwrap()).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("conflict"))
    );
    deposit(&app, &id, "USDT", "12.5").await;
    let a = assets(&app, &token).await;
    assert_eq!(
        a["balances"],
        json!([{"asset": "BTC", "amount": "0.5"}, {"asset": "USDT", "amount": "12.5"}])
    );
    assert_eq!(a["holds"], json!([]));
    assert_eq!(a["pending"], json!([]));
    let res = admin_post(
        &app,
        "/api/v1/admin/accounts/00000000-0000-7000-8000-000000000000/deposits",
        json!({"asset": "BTC", "amount": "1"}),
    )
    .await;
    assert_eq!(res.status(), 404);
}

// Rules R4 (PRODUCT.md).
async fn every_bad_amount_is_refused(backend: Backend) {
    let app = app(backend).await;
    let (id, _) = user(&app, "bad@example.com").await;
    let path = format!("/api/v1/admin/accounts/{id}/deposits");
    for (amount, why) in [
        (json!("-1"), "more than 0"),
        (json!("0"), "more than 0"),
        (json!("abc"), "not a number"),
        (json!("0.000000001"), "decimal places"),
        (json!("1000000000000000000"), "larger"),
        (json!(1.5), "strings"),
        (json!(null), "strings"),
    ] {
        let (status, err) =
            error_code(admin_post(&app, &path, json!({"asset": "BTC", "amount": amount})).await)
                .await;
        assert_eq!(
            (status, err["error"]["field"].as_str()),
            (422, Some("amount")),
            "{amount}"
        );
        assert!(
            err["error"]["message"].as_str().unwrap().contains(why),
            "{amount}: {err}"
        );
    }
    let (status, err) =
        error_code(admin_post(&app, &path, json!({"asset": "DOGE", "amount": "1"})).await).await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (422, Some("asset"))
    );
}

// Rules R4 (PRODUCT.md).
async fn withdrawal_needs_every_factor_and_funds(backend: Backend) {
    let app = app(backend).await;
    let (id, token) = user(&app, "wd@example.com").await;
    deposit(&app, &id, "ETH", "2").await;
    let addr = "0x52908400098527886E0F7030069857D2E4169EE7";
    let withdraw = |body: Value| app.post_json_as(&token, "/api/v1/me/withdrawals", body);
    // Bad address and too much money are refused before any code is spent.
    let (status, err) =
        error_code(withdraw(json!({"asset": "ETH", "amount": "1", "address": "nope"})).await).await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (422, Some("address"))
    );
    let (status, err) =
        error_code(withdraw(json!({"asset": "ETH", "amount": "3", "address": addr})).await).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("insufficient_funds"))
    );
    // The email code is required, and only a `withdrawal` code counts.
    let (status, err) =
        error_code(withdraw(json!({"asset": "ETH", "amount": "1.5", "address": addr})).await).await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (422, Some("email_code"))
    );
    app.post_json_as(
        &token,
        "/api/v1/me/codes",
        json!({"channel": "email", "purpose": "unbind"}),
    )
    .await;
    let unbind_code = app.latest_code("wd@example.com").await;
    let (status, _) = error_code(
        withdraw(
            json!({"asset": "ETH", "amount": "1.5", "address": addr, "email_code": unbind_code}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    app.post_json_as(
        &token,
        "/api/v1/me/codes",
        json!({"channel": "email", "purpose": "withdrawal"}),
    )
    .await;
    let code = app.latest_code("wd@example.com").await;
    let res =
        withdraw(json!({"asset": "ETH", "amount": "1.5", "address": addr, "email_code": code}))
            .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "pending");
    let a = assets(&app, &token).await;
    assert_eq!(a["balances"], json!([{"asset": "ETH", "amount": "0.5"}]));
    assert_eq!(a["pending"][0]["id"], body["withdrawal_id"]);
    assert_eq!(a["pending"][0]["kind"], "withdrawal");
    // The code was single use.
    let (status, err) = error_code(
        withdraw(json!({"asset": "ETH", "amount": "0.1", "address": addr, "email_code": code}))
            .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (400, Some("code_used"))
    );
}

async fn withdraw_all(
    app: &TestApp,
    token: &str,
    email: &str,
    asset: &str,
    amount: &str,
    address: &str,
) -> String {
    app.advance(61).await;
    app.post_json_as(
        token,
        "/api/v1/me/codes",
        json!({"channel": "email", "purpose": "withdrawal"}),
    )
    .await;
    let code = app.latest_code(email).await;
    let res = app
        .post_json_as(
            token,
            "/api/v1/me/withdrawals",
            json!({"asset": asset, "amount": amount, "address": address, "email_code": code}),
        )
        .await;
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["withdrawal_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

// Rules R4 (PRODUCT.md).
async fn failed_withdrawal_returns_funds_and_settlement_is_final(backend: Backend) {
    let app = app(backend).await;
    let (id, token) = user(&app, "fail@example.com").await;
    deposit(&app, &id, "BTC", "1").await;
    let w = withdraw_all(
        &app,
        &token,
        "fail@example.com",
        "BTC",
        "1",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    )
    .await;
    assert_eq!(assets(&app, &token).await["balances"], json!([]));
    assert_eq!(
        admin_post(
            &app,
            &format!("/api/v1/admin/withdrawals/{w}/fail"),
            json!({})
        )
        .await
        .status(),
        204
    );
    assert_eq!(
        assets(&app, &token).await["balances"],
        json!([{"asset": "BTC", "amount": "1"}])
    );
    let (status, err) = error_code(
        admin_post(
            &app,
            &format!("/api/v1/admin/withdrawals/{w}/complete"),
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("conflict"))
    );
    let w2 = withdraw_all(
        &app,
        &token,
        "fail@example.com",
        "BTC",
        "1",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    )
    .await;
    assert_eq!(
        admin_post(
            &app,
            &format!("/api/v1/admin/withdrawals/{w2}/complete"),
            json!({})
        )
        .await
        .status(),
        204
    );
    assert_eq!(
        admin_post(
            &app,
            &format!("/api/v1/admin/withdrawals/{w2}/fail"),
            json!({})
        )
        .await
        .status(),
        409
    );
    assert_eq!(
        admin_post(&app, "/api/v1/admin/withdrawals/unknown/fail", json!({}))
            .await
            .status(),
        404
    );
    let a = assets(&app, &token).await;
    assert_eq!(
        (a["balances"].clone(), a["pending"].clone()),
        (json!([]), json!([]))
    );
    assert_eq!(
        app.state.store.ledger_audit().await.unwrap().violations(),
        Vec::<String>::new()
    );
}

// Rules R4 (PRODUCT.md).
async fn holds_are_added_and_released(backend: Backend) {
    let app = app(backend).await;
    let (id, token) = user(&app, "hold@example.com").await;
    let res = admin_post(
        &app,
        &format!("/api/v1/admin/accounts/{id}/holds"),
        json!({"kind": "bot", "reference": "grid-bot-42"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let hold_id = res.json::<Value>().await.unwrap()["hold_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        assets(&app, &token).await["holds"],
        json!([{"hold_id": hold_id, "kind": "bot", "reference": "grid-bot-42"}])
    );
    let (status, err) = error_code(
        admin_post(
            &app,
            &format!("/api/v1/admin/accounts/{id}/holds"),
            json!({"kind": "", "reference": "x"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (422, Some("kind"))
    );
    let del = |h: String| {
        app.api
            .delete(app.url(&format!("/api/v1/admin/holds/{h}")))
            .bearer_auth(ADMIN)
            .send()
    };
    assert_eq!(del(hold_id.clone()).await.unwrap().status(), 204);
    assert_eq!(del(hold_id).await.unwrap().status(), 404);
    assert_eq!(assets(&app, &token).await["holds"], json!([]));
}

// Rules R4 (PRODUCT.md).
async fn deposit_to_a_deleted_account_is_unclaimed(backend: Backend) {
    let app = app(backend).await;
    let (id, _) = user(&app, "late@example.com").await;
    offboard_store::testing::mark_deleted(&app.state.store, id.parse().unwrap())
        .await
        .unwrap();
    let (status, err) = error_code(
        admin_post(
            &app,
            &format!("/api/v1/admin/accounts/{id}/deposits"),
            json!({"asset": "BTC", "amount": "1"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("account_deleted"))
    );
    assert!(
        err["error"]["deposit_id"].is_string(),
        "recorded for support"
    );
}

// Rules R4 (PRODUCT.md).
async fn statement_exports_as_json_and_csv(backend: Backend) {
    let app = app(backend).await;
    let (id, token) = user(&app, "stmt@example.com").await;
    deposit(&app, &id, "USDT", "100").await;
    withdraw_all(
        &app,
        &token,
        "stmt@example.com",
        "USDT",
        "40",
        "0x52908400098527886E0F7030069857D2E4169EE7",
    )
    .await;
    let json: Value = app
        .get_as(&token, "/api/v1/me/export")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json["account"]["email"], "stmt@example.com");
    assert_eq!(json["balances"], json!([{"asset": "USDT", "amount": "60"}]));
    assert_eq!(json["deposits"][0]["amount"], "100");
    assert_eq!(json["withdrawals"][0]["status"], "pending");
    let res = app.get_as(&token, "/api/v1/me/export?format=csv").await;
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let lines: Vec<_> = csv.lines().collect();
    assert_eq!(lines[0], "type,id,asset,amount,status,created_at,address");
    assert!(lines
        .iter()
        .any(|l| l.starts_with("\"balance\"") && l.contains("\"60\"")));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("\"withdrawal\"") && l.contains("0x5290")));
    assert_eq!(
        app.get_as(&token, "/api/v1/me/export?format=xml")
            .await
            .status(),
        422
    );
}

// Rules R4 (PRODUCT.md).
async fn assets_page_withdraws_with_codes(backend: Backend) {
    let app = app(backend).await;
    let (id, _) = user(&app, "page@example.com").await;
    deposit(&app, &id, "BTC", "0.3").await;
    let browser = crate::helpers::client(true);
    let csrf = app.csrf_token(&browser, "/login").await;
    browser
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "page@example.com"),
            ("password", crate::helpers::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let html = browser
        .get(app.url("/assets"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("0.3") && html.contains("id=\"withdraw\""));
    let res = browser
        .post(app.url("/assets/codes"))
        .form(&[("csrf_token", csrf.as_str()), ("channel", "email")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let code = app.latest_code("page@example.com").await;
    let form = |amount: &'static str, code: String| {
        vec![
            ("csrf_token", csrf.clone()),
            ("asset", "BTC".to_owned()),
            ("amount", amount.to_owned()),
            (
                "address",
                "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq".to_owned(),
            ),
            ("email_code", code),
        ]
    };
    let res = browser
        .post(app.url("/assets/withdraw"))
        .form(&form("5", code.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("available"));
    let res = browser
        .post(app.url("/assets/withdraw"))
        .form(&form("0.3", code))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["location"],
        "/assets?notice=withdrawal_requested#main"
    );
    let html = browser
        .get(app.url("/assets?notice=withdrawal_requested"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Pending"));
}

// Rules R4 (PRODUCT.md).
async fn http_asset_source_is_read(backend: Backend) {
    use axum::routing::get;
    // The host platform's holdings endpoint, on loopback.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    let host = axum::Router::new().route(
        "/accounts/{id}/holdings",
        get(
            move |axum::extract::Path(id): axum::extract::Path<String>,
                  headers: axum::http::HeaderMap| {
                let log = log.clone();
                async move {
                    log.lock().unwrap().push(format!(
                        "{id} {}",
                        headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                    ));
                    axum::Json(json!({
                        "balances": [{"asset": "BTC", "amount": "0.75"}],
                        "holds": [{"hold_id": "o-1", "kind": "order", "reference": "BTC/USDT #9"}],
                        "pending": [{"kind": "deposit", "id": "d-9", "asset": "ETH", "amount": "1"}]
                    }))
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, host).await });
    let app = spawn_app_with(backend, |c| {
        c.asset_source = offboard_app::config::AssetSourceConfig::Http {
            url: url.clone(),
            token: Some(secrecy::SecretString::from("host-secret")),
            timeout: std::time::Duration::from_secs(2),
        }
    })
    .await;
    let (id, token) = user(&app, "host@example.com").await;
    let a = assets(&app, &token).await;
    assert_eq!(a["balances"], json!([{"asset": "BTC", "amount": "0.75"}]));
    assert_eq!(a["pending"][0]["kind"], "deposit");
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        [format!("{id} Bearer host-secret")]
    );
    let blockers = offboard_app::ledger::blockers(&app.state, id.parse().unwrap())
        .await
        .unwrap();
    let kinds: Vec<_> = blockers.iter().map(|b| b.kind.as_str()).collect();
    assert_eq!(kinds, ["balance", "pending_deposit", "hold"]);
    // A host that does not answer: a clear 503, nothing assumed.
    let dead = spawn_app_with(backend, |c| {
        c.asset_source = offboard_app::config::AssetSourceConfig::Http {
            url: "http://127.0.0.1:9".into(),
            token: None,
            timeout: std::time::Duration::from_secs(1),
        }
    })
    .await;
    let (_, token) = user(&dead, "dead@example.com").await;
    let (status, err) = error_code(dead.get_as(&token, "/api/v1/me/assets").await).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (503, Some("asset_source_unavailable"))
    );
}

// Issue 15 (R4): in dev mode the embedded ledger completes a pending withdrawal after the
// settable delay, so the tour's deletion is not blocked for ever; before the delay it
// still blocks, and the completion is audited as the system's.
async fn dev_ledger_settles_a_pending_withdrawal_by_itself(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.admin_token = Some(secrecy::SecretString::from(ADMIN));
        c.dev_settle_withdrawals = Some(time::Duration::seconds(15));
    })
    .await;
    let (id, token) = user(&app, "settle@example.com").await;
    deposit(&app, &id, "BTC", "0.5").await;
    let w = withdraw_all(
        &app,
        &token,
        "settle@example.com",
        "BTC",
        "0.5",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    )
    .await;
    app.advance(10).await;
    let pending = assets(&app, &token).await["pending"].clone();
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
    app.advance(6).await;
    let after = assets(&app, &token).await;
    assert_eq!(
        (after["balances"].clone(), after["pending"].clone()),
        (json!([]), json!([]))
    );
    // Settled once: the admin API now finds it completed.
    let (status, err) = error_code(
        admin_post(
            &app,
            &format!("/api/v1/admin/withdrawals/{w}/complete"),
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("conflict"))
    );
    assert!(err.to_string().contains("completed"), "{err}");
    let audit = app
        .state
        .store
        .audit_of_account(id.parse().unwrap())
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "withdrawal_completed" && e.actor == "system"),
        "{audit:?}"
    );
}
