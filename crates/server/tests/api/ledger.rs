//! The ledger over HTTP: admin deposits, holds and settlements; user withdrawals with
//! every factor; bad amounts; the statement export; the HTTP asset source. Driven through
//! the typed client; non-string amounts, the CSV export and the page stay on raw HTTP.

use crate::both_backends;
use crate::helpers::{api_error, error_code, refused, spawn_app_with, TestApp};
use offboard_client::journey::BTC_ADDRESS;
use offboard_client::{
    Assets, Balance, Channel, Client, CodePurpose, FactorCodes, Hold, WithdrawalRequest,
};
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

/// A raw admin POST (for the tests that send what the typed client cannot).
pub async fn admin_post(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.api
        .post(app.url(path))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// The host credits `amount` of `asset` (`admin_deposit`); the deposit's id.
pub async fn deposit(app: &TestApp, account: &str, asset: &str, amount: &str) -> String {
    app.client()
        .admin_deposit(account, asset, amount, None)
        .await
        .unwrap()
        .deposit_id
}

async fn user(app: &TestApp, email: &str) -> (String, Client) {
    let user = app.user(email).await;
    (user.account_id, user.api)
}

fn balance(asset: &str, amount: &str) -> Balance {
    Balance {
        asset: asset.to_owned(),
        amount: amount.to_owned(),
    }
}

fn withdrawal(asset: &str, amount: &str, address: &str, codes: FactorCodes) -> WithdrawalRequest {
    WithdrawalRequest {
        asset: asset.to_owned(),
        amount: amount.to_owned(),
        address: address.to_owned(),
        codes,
    }
}

fn email_code(code: &str) -> FactorCodes {
    FactorCodes {
        email_code: Some(code.to_owned()),
        ..FactorCodes::default()
    }
}

async fn assets(api: &Client) -> Assets {
    api.assets().await.unwrap()
}

// Rules R4 (PRODUCT.md).
async fn admin_api_needs_its_token(backend: Backend) {
    let app = app(backend).await;
    let (id, _) = user(&app, "adm@example.com").await;
    let without = Client::new(&app.address).unwrap();
    let deposit = |api: Client| {
        let id = id.clone();
        async move { api.admin_deposit(&id, "BTC", "1", None).await }
    };
    assert_eq!(
        deposit(without.clone()).await.unwrap_err().status(),
        Some(401)
    );
    assert_eq!(
        deposit(without.with_admin_token("wrong"))
            .await
            .unwrap_err()
            .status(),
        Some(401)
    );
    deposit(without.with_admin_token(ADMIN)).await.unwrap();
    // No token configured: the admin API does not exist.
    let closed = crate::helpers::spawn_app(backend).await;
    let closed_api = Client::builder(&closed.address)
        .admin_token(ADMIN)
        .build()
        .unwrap();
    assert_eq!(deposit(closed_api).await.unwrap_err().status(), Some(404));
}

// Rules R4 (PRODUCT.md).
async fn deposits_are_idempotent_and_show_as_balances(backend: Backend) {
    let app = app(backend).await;
    let (id, api) = user(&app, "dep@example.com").await;
    let send = |key: &'static str, amount: &'static str| {
        let (api, id) = (api.clone(), id.clone());
        async move { api.admin_deposit(&id, "btc", amount, Some(key)).await }
    };
    let first = send("k-1", "0.5").await.unwrap();
    let retry = send("k-1", "0.5").await.unwrap();
    assert_eq!(retry.deposit_id, first.deposit_id);
    refused(send("k-1", "0.7").await, 409, "conflict");
    deposit(&app, &id, "USDT", "12.5").await;
    let a = assets(&api).await;
    assert_eq!(a.balances, [balance("BTC", "0.5"), balance("USDT", "12.5")]);
    assert!(a.holds.is_empty() && a.pending.is_empty(), "{a:?}");
    let unknown = "00000000-0000-7000-8000-000000000000";
    let res = api.admin_deposit(unknown, "BTC", "1", None).await;
    assert_eq!(res.unwrap_err().status(), Some(404));
}

// Rules R4 (PRODUCT.md). Raw HTTP: amounts that are not strings cannot be typed.
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
    let (id, api) = user(&app, "wd@example.com").await;
    deposit(&app, &id, "ETH", "2").await;
    let addr = "0x52908400098527886E0F7030069857D2E4169EE7";
    let none = FactorCodes::default;
    // Bad address and too much money are refused before any code is spent.
    let err = api_error(api.withdraw(&withdrawal("ETH", "1", "nope", none())).await);
    assert_eq!(
        (err.status, err.detail_str("field")),
        (422, Some("address"))
    );
    refused(
        api.withdraw(&withdrawal("ETH", "3", addr, none())).await,
        409,
        "insufficient_funds",
    );
    // The email code is required, and only a `withdrawal` code counts.
    let err = api_error(api.withdraw(&withdrawal("ETH", "1.5", addr, none())).await);
    assert_eq!(
        (err.status, err.detail_str("field")),
        (422, Some("email_code"))
    );
    api.send_code(Channel::Email, CodePurpose::Unbind)
        .await
        .unwrap();
    let unbind_code = app.latest_code("wd@example.com").await;
    let err = api_error(
        api.withdraw(&withdrawal("ETH", "1.5", addr, email_code(&unbind_code)))
            .await,
    );
    assert_eq!(err.status, 400);
    api.send_code(Channel::Email, CodePurpose::Withdrawal)
        .await
        .unwrap();
    let code = app.latest_code("wd@example.com").await;
    let body = api
        .withdraw(&withdrawal("ETH", "1.5", addr, email_code(&code)))
        .await
        .unwrap();
    assert_eq!(body.status, "pending");
    let a = assets(&api).await;
    assert_eq!(a.balances, [balance("ETH", "0.5")]);
    assert_eq!(a.pending[0].id, body.withdrawal_id);
    assert_eq!(a.pending[0].kind, "withdrawal");
    // The code was single use.
    refused(
        api.withdraw(&withdrawal("ETH", "0.1", addr, email_code(&code)))
            .await,
        400,
        "code_used",
    );
}

/// Withdraws with an email code (after the resend wait); the withdrawal's id.
async fn withdraw_all(
    app: &TestApp,
    api: &Client,
    email: &str,
    asset: &str,
    amount: &str,
    address: &str,
) -> String {
    app.advance(61).await;
    api.send_code(Channel::Email, CodePurpose::Withdrawal)
        .await
        .unwrap();
    let code = app.latest_code(email).await;
    api.withdraw(&withdrawal(asset, amount, address, email_code(&code)))
        .await
        .unwrap()
        .withdrawal_id
}

// Rules R4 (PRODUCT.md).
async fn failed_withdrawal_returns_funds_and_settlement_is_final(backend: Backend) {
    let app = app(backend).await;
    let email = "fail@example.com";
    let (id, api) = user(&app, email).await;
    deposit(&app, &id, "BTC", "1").await;
    let w = withdraw_all(&app, &api, email, "BTC", "1", BTC_ADDRESS).await;
    assert!(assets(&api).await.balances.is_empty());
    api.admin_fail_withdrawal(&w).await.unwrap();
    assert_eq!(assets(&api).await.balances, [balance("BTC", "1")]);
    refused(api.admin_complete_withdrawal(&w).await, 409, "conflict");
    let w2 = withdraw_all(&app, &api, email, "BTC", "1", BTC_ADDRESS).await;
    api.admin_complete_withdrawal(&w2).await.unwrap();
    assert_eq!(
        api.admin_fail_withdrawal(&w2).await.unwrap_err().status(),
        Some(409)
    );
    assert_eq!(
        api.admin_fail_withdrawal("unknown")
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );
    let a = assets(&api).await;
    assert!(a.balances.is_empty() && a.pending.is_empty(), "{a:?}");
    assert_eq!(
        app.state.store.ledger_audit().await.unwrap().violations(),
        Vec::<String>::new()
    );
}

// Rules R4 (PRODUCT.md).
async fn holds_are_added_and_released(backend: Backend) {
    let app = app(backend).await;
    let (id, api) = user(&app, "hold@example.com").await;
    let hold_id = api
        .admin_add_hold(&id, "bot", "grid-bot-42")
        .await
        .unwrap()
        .hold_id;
    let expected = Hold {
        hold_id: hold_id.clone(),
        kind: "bot".to_owned(),
        reference: "grid-bot-42".to_owned(),
    };
    assert_eq!(assets(&api).await.holds, [expected]);
    let err = api_error(api.admin_add_hold(&id, "", "x").await);
    assert_eq!((err.status, err.detail_str("field")), (422, Some("kind")));
    api.admin_release_hold(&hold_id).await.unwrap();
    assert_eq!(
        api.admin_release_hold(&hold_id).await.unwrap_err().status(),
        Some(404)
    );
    assert!(assets(&api).await.holds.is_empty());
}

// Rules R4 (PRODUCT.md).
async fn deposit_to_a_deleted_account_is_unclaimed(backend: Backend) {
    let app = app(backend).await;
    let (id, api) = user(&app, "late@example.com").await;
    offboard_store::testing::mark_deleted(&app.state.store, id.parse().unwrap())
        .await
        .unwrap();
    let err = refused(
        api.admin_deposit(&id, "BTC", "1", None).await,
        409,
        "account_deleted",
    );
    assert!(
        err.detail_str("deposit_id").is_some(),
        "recorded for support"
    );
}

// Rules R4 (PRODUCT.md). The CSV form and its content type on raw HTTP.
async fn statement_exports_as_json_and_csv(backend: Backend) {
    let app = app(backend).await;
    let email = "stmt@example.com";
    let (id, api) = user(&app, email).await;
    let token = api.session().unwrap().to_owned();
    deposit(&app, &id, "USDT", "100").await;
    let address = "0x52908400098527886E0F7030069857D2E4169EE7";
    withdraw_all(&app, &api, email, "USDT", "40", address).await;
    let statement = api.statement().await.unwrap();
    assert_eq!(statement.account.email, "stmt@example.com");
    assert_eq!(statement.balances, [balance("USDT", "60")]);
    assert_eq!(statement.deposits[0].amount, "100");
    assert_eq!(statement.withdrawals[0].status, "pending");
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
    let (id, api) = user(&app, "host@example.com").await;
    let a = assets(&api).await;
    assert_eq!(a.balances, [balance("BTC", "0.75")]);
    assert_eq!(a.pending[0].kind, "deposit");
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
    let (_, api) = user(&dead, "dead@example.com").await;
    refused(api.assets().await, 503, "asset_source_unavailable");
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
    let email = "settle@example.com";
    let (id, api) = user(&app, email).await;
    deposit(&app, &id, "BTC", "0.5").await;
    let w = withdraw_all(&app, &api, email, "BTC", "0.5", BTC_ADDRESS).await;
    app.advance(10).await;
    let pending = assets(&api).await.pending;
    assert_eq!(pending.len(), 1, "{pending:?}");
    app.advance(6).await;
    let after = assets(&api).await;
    assert!(
        after.balances.is_empty() && after.pending.is_empty(),
        "{after:?}"
    );
    // Settled once: the admin API now finds it completed.
    let err = refused(api.admin_complete_withdrawal(&w).await, 409, "conflict");
    assert!(err.message.contains("completed"), "{err}");
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
