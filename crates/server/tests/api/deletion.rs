//! The deletion journey over HTTP (PRODUCT.md R1-R10, R12-R14), on both databases.

use crate::both_backends;
use crate::helpers::{error_code, spawn_app_with, TestApp, PASSWORD};
use crate::identity::Db;
use crate::ledger::{admin_post, deposit, ADMIN};
use offboard_app::config::CaptchaPolicy;
use offboard_store::Backend;
use serde_json::{json, Value};

both_backends!(
    the_whole_journey_with_every_obstacle,
    final_step_and_deposit_race,
    two_tabs_delete_once,
    every_statement_of_the_final_step_is_all_or_nothing,
    identity_step_locks_after_five_tries_across_flows,
    flows_expire_when_idle_and_only_one_is_live,
    accounts_without_identity_confirm_with_their_password,
    cool_off_after_a_reset_refuses_deletion,
    nothing_personal_is_left_in_any_table,
    purge_removes_tombstones_and_retained_records_when_due,
);

pub(crate) const ID: &str = "X12-345.678";

pub(crate) async fn app(backend: Backend, captcha: CaptchaPolicy) -> TestApp {
    spawn_app_with(backend, move |c| {
        c.admin_token = Some(secrecy::SecretString::from(ADMIN));
        c.deletion.captcha = captcha;
    })
    .await
}

/// A user with an approved identity (dev mode approves at once); returns (id, token).
pub(crate) async fn user(app: &TestApp, email: &str) -> (String, String) {
    user_with_document(app, email, ID).await
}

/// A user verified with `document` (R19: one document number per live account).
pub(crate) async fn user_with_document(
    app: &TestApp,
    email: &str,
    document: &str,
) -> (String, String) {
    let id = app.signup(email).await;
    let token = app.login(email).await;
    let body = json!({"document_type": "passport", "document_number": document, "country": "DE", "expires_on": "2020-01-31"});
    assert_eq!(
        app.post_json_as(&token, "/api/v1/me/identity", body)
            .await
            .status(),
        202
    );
    (id, token)
}

async fn start(app: &TestApp, token: &str) -> Value {
    let res = app.post_json_as(token, "/api/v1/deletion", json!({})).await;
    assert!(res.status() == 201 || res.status() == 200);
    res.json().await.unwrap()
}

fn solve(flow: &Value) -> String {
    let challenge: offboard_core::captcha::Challenge =
        serde_json::from_value(flow["captcha"].clone()).unwrap();
    offboard_core::captcha::solve(&challenge).unwrap()
}

pub(crate) async fn post(
    app: &TestApp,
    token: &str,
    flow: &str,
    action: &str,
    body: Value,
) -> reqwest::Response {
    app.post_json_as(token, &format!("/api/v1/deletion/{flow}/{action}"), body)
        .await
}

/// Requests a deletion code by email (waiting out the cooldown) and returns it.
async fn email_code(app: &TestApp, token: &str, flow: &str, email: &str) -> String {
    app.advance(61).await;
    let res = post(app, token, flow, "codes", json!({"channel": "email"})).await;
    assert_eq!(res.status(), 202, "{:?}", res.text().await);
    app.latest_code(email).await
}

/// Walks a fresh user to the identity step (no captcha, nothing blocking).
pub(crate) async fn to_identity(app: &TestApp, token: &str, email: &str) -> String {
    to_identity_with(app, token, || app.latest_code(email)).await
}

/// [`to_identity`] with the email code read by `code` once it was requested (say, from
/// an SMTP sink instead of the dev outbox).
pub(crate) async fn to_identity_with<F, Fut>(app: &TestApp, token: &str, code: F) -> String
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let flow = start(app, token).await;
    let id = flow["id"].as_str().unwrap().to_owned();
    let body = match flow["captcha"].is_null() {
        true => json!({"acknowledged": true}),
        false => json!({"acknowledged": true, "captcha": solve(&flow)}),
    };
    let res = post(app, token, &id, "confirm", body).await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    app.advance(61).await;
    let res = post(app, token, &id, "codes", json!({"channel": "email"})).await;
    assert_eq!(res.status(), 202, "{:?}", res.text().await);
    let code = code().await;
    let res = post(app, token, &id, "verify", json!({"email_code": code})).await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    id
}

async fn the_whole_journey_with_every_obstacle(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Always).await;
    let email = "journey@example.com";
    let (account, token) = user(&app, email).await;
    deposit(&app, &account, "BTC", "0.5").await;
    let hold: Value = admin_post(
        &app,
        &format!("/api/v1/admin/accounts/{account}/holds"),
        json!({"kind": "order", "reference": "BTC/USDT #1"}),
    )
    .await
    .json()
    .await
    .unwrap();

    let flow = start(&app, &token).await;
    let id = flow["id"].as_str().unwrap().to_owned();
    assert_eq!(flow["step"], "notes");
    assert_eq!(flow["factors"], json!(["email"]));
    assert_eq!(flow["identity_method"], "id_number");
    assert_eq!(
        start(&app, &token).await["id"],
        flow["id"],
        "R2: starting again returns the live flow"
    );

    // R2: a skipped step answers with the current one.
    let (status, err) =
        error_code(post(&app, &token, &id, "identity", json!({"id_number": ID})).await).await;
    assert_eq!(
        (
            status,
            err["error"]["code"].as_str(),
            err["error"]["step"].as_str()
        ),
        (409, Some("wrong_step"), Some("notes"))
    );
    // R3: captcha missing, then wrong.
    let (status, err) =
        error_code(post(&app, &token, &id, "confirm", json!({"acknowledged": true})).await).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (400, Some("captcha_required"))
    );
    let (status, err) = error_code(
        post(
            &app,
            &token,
            &id,
            "confirm",
            json!({"acknowledged": true, "captcha": "bm9wZQ=="}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (400, Some("captcha_invalid"))
    );
    let (status, _) = error_code(
        post(
            &app,
            &token,
            &id,
            "confirm",
            json!({"acknowledged": false, "captcha": solve(&flow)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "the notes must be acknowledged");
    let solution = solve(&flow);
    let res = post(
        &app,
        &token,
        &id,
        "confirm",
        json!({"acknowledged": true, "captcha": solution}),
    )
    .await;
    let at_assets: Value = res.json().await.unwrap();
    assert_eq!(at_assets["step"], "assets", "R4: something blocks");
    let kinds: Vec<_> = at_assets["blocking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["balance", "hold"]);
    assert_eq!(at_assets["blocking"][0]["action"], "withdraw");

    // Withdraw the balance: it is pending, which still blocks.
    app.post_json_as(
        &token,
        "/api/v1/me/codes",
        json!({"channel": "email", "purpose": "withdrawal"}),
    )
    .await;
    let code = app.latest_code(email).await;
    let w: Value = app
        .post_json_as(&token, "/api/v1/me/withdrawals", json!({"asset": "BTC", "amount": "0.5", "address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "email_code": code}))
        .await
        .json()
        .await
        .unwrap();
    let (status, err) = error_code(post(&app, &token, &id, "assets", json!({})).await).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("assets_remaining"))
    );
    let kinds: Vec<_> = err["error"]["blocking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["pending_withdrawal", "hold"]);
    admin_post(
        &app,
        &format!(
            "/api/v1/admin/withdrawals/{}/complete",
            w["withdrawal_id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    app.api
        .delete(app.url(&format!(
            "/api/v1/admin/holds/{}",
            hold["hold_id"].as_str().unwrap()
        )))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    let res = post(&app, &token, &id, "assets", json!({})).await;
    assert_eq!(res.json::<Value>().await.unwrap()["step"], "verification");

    // R5: codes of another purpose are refused; the deletion code passes.
    app.advance(61).await;
    app.post_json_as(
        &token,
        "/api/v1/me/codes",
        json!({"channel": "email", "purpose": "withdrawal"}),
    )
    .await;
    let wrong_purpose = app.latest_code(email).await;
    let (status, err) = error_code(
        post(
            &app,
            &token,
            &id,
            "verify",
            json!({"email_code": wrong_purpose}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (400, Some("invalid_code"))
    );
    let code = email_code(&app, &token, &id, email).await;
    let res = post(&app, &token, &id, "verify", json!({"email_code": code})).await;
    assert_eq!(res.json::<Value>().await.unwrap()["step"], "identity");

    // R6: a wrong ID number counts down.
    let (status, err) = error_code(
        post(
            &app,
            &token,
            &id,
            "identity",
            json!({"id_number": "X12345679"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (
            status,
            err["error"]["code"].as_str(),
            err["error"]["attempts_left"].as_u64()
        ),
        (400, Some("identity_mismatch"), Some(4))
    );

    // R4: a deposit lands between the steps: the final step stops, the account is intact.
    deposit(&app, &account, "USDT", "5").await;
    let (status, err) =
        error_code(post(&app, &token, &id, "identity", json!({"id_number": ID})).await).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("assets_remaining"))
    );
    assert_eq!(
        app.get_as(&token, "/api/v1/me").await.status(),
        200,
        "still there"
    );
    let flow_now: Value = app
        .get_as(&token, &format!("/api/v1/deletion/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(flow_now["step"], "assets", "back to the assets step");
    app.advance(61).await;
    app.post_json_as(
        &token,
        "/api/v1/me/codes",
        json!({"channel": "email", "purpose": "withdrawal"}),
    )
    .await;
    let code = app.latest_code(email).await;
    let w: Value = app
        .post_json_as(&token, "/api/v1/me/withdrawals", json!({"asset": "USDT", "amount": "5", "address": "0x52908400098527886E0F7030069857D2E4169EE7", "email_code": code}))
        .await
        .json()
        .await
        .unwrap();
    admin_post(
        &app,
        &format!(
            "/api/v1/admin/withdrawals/{}/complete",
            w["withdrawal_id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    assert_eq!(
        post(&app, &token, &id, "assets", json!({})).await.status(),
        200
    );
    let code = email_code(&app, &token, &id, email).await;
    assert_eq!(
        post(&app, &token, &id, "verify", json!({"email_code": code}))
            .await
            .status(),
        200
    );

    // R6: success with the number typed in another format (expired document is fine).
    let res = post(
        &app,
        &token,
        &id,
        "identity",
        json!({"id_number": " x12 345 678 "}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let done: Value = res.json().await.unwrap();
    assert_eq!(done["step"], "deleted");
    let deleted_at = time::OffsetDateTime::parse(
        done["deleted_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let after = time::OffsetDateTime::parse(
        done["reregister_after"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(after - deleted_at, time::Duration::days(30));

    // R7/R8: the session is gone; old credentials behave exactly like unknown ones.
    assert_eq!(app.get_as(&token, "/api/v1/me").await.status(), 401);
    let old = app
        .post_json(
            "/api/v1/login",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    let unknown = app
        .post_json(
            "/api/v1/login",
            json!({"email": "never@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(old.status(), unknown.status());
    assert_eq!(old.text().await.unwrap(), unknown.text().await.unwrap());
    // R12: the notice with both dates.
    let outbox: Vec<Value> = app
        .api
        .get(app.url(&format!(
            "/api/v1/dev/outbox?to={}",
            crate::helpers::urlencode(email)
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let notice = outbox
        .iter()
        .find(|m| m["subject"].as_str().unwrap_or("").contains("deleted"))
        .expect("deletion notice");
    assert!(notice["body"]
        .as_str()
        .unwrap()
        .contains(&deleted_at.year().to_string()));
    // R13: the event, with no personal data.
    let events = deleted_events(&app).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "account.deleted");
    assert!(events[0].1.contains(&account) && !events[0].1.contains(email));
    // R4: a late deposit is refused and kept as unclaimed.
    let (status, err) = error_code(
        admin_post(
            &app,
            &format!("/api/v1/admin/accounts/{account}/deposits"),
            json!({"asset": "BTC", "amount": "1"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("account_deleted"))
    );
    // R9: the same email and ID wait 30 days, then work.
    let (status, err) = error_code(
        app.post_json(
            "/api/v1/signup",
            json!({"email": email, "password": PASSWORD}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (403, Some("reregistration_blocked"))
    );
    assert_eq!(err["error"]["allowed_from"], done["reregister_after"]);
    let other = app.signup("someone.else@example.com").await;
    let _ = other;
    let other_token = app.login("someone.else@example.com").await;
    let body = json!({"document_type": "passport", "document_number": "x12345678", "country": "DE", "expires_on": "2030-01-31"});
    let (status, err) = error_code(
        app.post_json_as(&other_token, "/api/v1/me/identity", body.clone())
            .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (403, Some("reregistration_blocked"))
    );
    app.advance(30 * 24 * 3600).await;
    assert_eq!(
        app.post_json(
            "/api/v1/signup",
            json!({"email": email, "password": PASSWORD})
        )
        .await
        .status(),
        201
    );
    let other_token = app.login("someone.else@example.com").await;
    assert_eq!(
        app.post_json_as(&other_token, "/api/v1/me/identity", body)
            .await
            .status(),
        202
    );
    // R3: a used captcha is not accepted again (a new flow of the new account).
    let _ = solution;
}

async fn final_step_and_deposit_race(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    for round in 0..6 {
        let email = format!("race{round}@example.com");
        let document = format!("RACE-{round}-1234");
        let (account, token) = user_with_document(&app, &email, &document).await;
        let id = to_identity(&app, &token, &email).await;
        let final_step = post(
            &app,
            &token,
            &id,
            "identity",
            json!({"id_number": document}),
        );
        let path = format!("/api/v1/admin/accounts/{account}/deposits");
        let late = admin_post(&app, &path, json!({"asset": "BTC", "amount": "0.1"}));
        let (a, b) = tokio::join!(final_step, late);
        let (deleted, deposit_status) = (a.status() == 200, b.status().as_u16());
        let alive = app
            .state
            .store
            .get_account(account.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        let holdings = app
            .state
            .store
            .holdings(account.parse().unwrap())
            .await
            .unwrap();
        let unclaimed = app
            .state
            .store
            .deposits_of(account.parse().unwrap())
            .await
            .unwrap()
            .iter()
            .any(|d| d.status == "unclaimed");
        if deleted {
            assert_eq!(
                deposit_status, 409,
                "round {round}: deleted, so the deposit was refused"
            );
            assert!(
                unclaimed && holdings.balances.is_empty(),
                "round {round}: kept as unclaimed, never credited"
            );
            assert_eq!(alive.status, offboard_store::AccountStatus::Deleted);
        } else {
            assert_eq!(
                deposit_status, 201,
                "round {round}: the deposit landed first"
            );
            assert_eq!(
                holdings.balances.len(),
                1,
                "round {round}: the account holds it"
            );
            assert!(!unclaimed);
            assert_eq!(alive.status, offboard_store::AccountStatus::Active);
        }
    }
}

async fn two_tabs_delete_once(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let email = "tabs@example.com";
    let (_, token) = user(&app, email).await;
    let id = to_identity(&app, &token, email).await;
    let (a, b) = tokio::join!(
        post(&app, &token, &id, "identity", json!({"id_number": ID})),
        post(&app, &token, &id, "identity", json!({"id_number": ID}))
    );
    let statuses = [a.status().as_u16(), b.status().as_u16()];
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        deleted_events(&app).await.len(),
        1,
        "one deletion, one event"
    );
}

async fn every_statement_of_the_final_step_is_all_or_nothing(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let email = "fault@example.com";
    let (account, token) = user(&app, email).await;
    app.post_json_as(
        &token,
        "/api/v1/me/phone",
        json!({"phone": "+447911123456"}),
    )
    .await;
    let sms = app.latest_code("+447911123456").await;
    app.post_json_as(&token, "/api/v1/me/phone/confirm", json!({"code": sms}))
        .await;
    let flow = start(&app, &token).await;
    let id = flow["id"].as_str().unwrap().to_owned();
    post(&app, &token, &id, "confirm", json!({"acknowledged": true})).await;
    let code = email_code(&app, &token, &id, email).await;
    post(&app, &token, &id, "codes", json!({"channel": "sms"})).await;
    let sms = app.latest_code("+447911123456").await;
    assert_eq!(
        post(
            &app,
            &token,
            &id,
            "verify",
            json!({"email_code": code, "sms_code": sms})
        )
        .await
        .status(),
        200
    );
    let mut n = 1;
    loop {
        app.state.store.inject_erasure_fault(n);
        let res = post(&app, &token, &id, "identity", json!({"id_number": ID})).await;
        if res.status() == 200 {
            break;
        }
        assert_eq!(res.status(), 500, "fault at statement {n}");
        // Untouched: the session works, the flow waits at identity, nothing was written.
        let me: Value = app.get_as(&token, "/api/v1/me").await.json().await.unwrap();
        assert_eq!(
            (me["email"].as_str(), me["phone"].as_str()),
            (Some(email), Some("+447911123456")),
            "fault at {n}"
        );
        let flow: Value = app
            .get_as(&token, &format!("/api/v1/deletion/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(flow["step"], "identity", "fault at {n}");
        assert!(deleted_events(&app).await.is_empty(), "fault at {n}");
        assert!(
            app.state
                .store
                .retained_records(account.parse().unwrap())
                .await
                .unwrap()
                .is_empty(),
            "fault at {n}"
        );
        n += 1;
        assert!(n < 100, "the final step never succeeded");
    }
    assert!(n > 10, "the fault walked through every statement ({n})");
    app.state.store.inject_erasure_fault(0);
    assert_eq!(deleted_events(&app).await.len(), 1);
    let retained = app
        .state
        .store
        .retained_records(account.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        retained.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["identity", "transactions"]
    );
}

async fn identity_step_locks_after_five_tries_across_flows(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let email = "lock@example.com";
    let (_, token) = user(&app, email).await;
    let id = to_identity(&app, &token, email).await;
    for left in [4, 3] {
        let (_, err) = error_code(
            post(
                &app,
                &token,
                &id,
                "identity",
                json!({"id_number": "WRONG123"}),
            )
            .await,
        )
        .await;
        assert_eq!(err["error"]["attempts_left"], left);
    }
    // A new flow (after expiry) does not reset the count.
    app.advance(16 * 60).await;
    let token = app.login(email).await;
    let id = to_identity(&app, &token, email).await;
    for left in [2, 1] {
        let (_, err) = error_code(
            post(
                &app,
                &token,
                &id,
                "identity",
                json!({"id_number": "WRONG123"}),
            )
            .await,
        )
        .await;
        assert_eq!(err["error"]["attempts_left"], left);
    }
    let (status, err) = error_code(
        post(
            &app,
            &token,
            &id,
            "identity",
            json!({"id_number": "WRONG123"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (
            status,
            err["error"]["code"].as_str(),
            err["error"]["help"].as_str()
        ),
        (
            423,
            Some("identity_locked"),
            Some("/help/identity-check-failed")
        )
    );
    let (status, _) =
        error_code(post(&app, &token, &id, "identity", json!({"id_number": ID})).await).await;
    assert_eq!(status, 423, "locked even for the right number");
}

async fn flows_expire_when_idle_and_only_one_is_live(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let (_, token) = user(&app, "idle@example.com").await;
    let flow = start(&app, &token).await;
    let id = flow["id"].as_str().unwrap();
    app.advance(14 * 60).await;
    assert_eq!(
        app.get_as(&token, &format!("/api/v1/deletion/{id}"))
            .await
            .status(),
        200
    );
    app.advance(15 * 60).await;
    let token = app.login("idle@example.com").await; // the session idled out too
    let (status, _) = error_code(app.get_as(&token, &format!("/api/v1/deletion/{id}")).await).await;
    assert_eq!(status, 404, "a flow belongs to its session");
    // Another session starts a new flow; the old one is replaced.
    let fresh = start(&app, &token).await;
    assert_ne!(fresh["id"], flow["id"]);
    // Someone else's flow id is just "not found".
    let (_, stranger) = user_with_document(&app, "stranger@example.com", "STR-0001").await;
    assert_eq!(
        app.get_as(
            &stranger,
            &format!("/api/v1/deletion/{}", fresh["id"].as_str().unwrap())
        )
        .await
        .status(),
        404
    );
    // Idle on the same session: expired.
    app.advance(15 * 60 - 1).await;
    let token = app.login("idle@example.com").await;
    let second = start(&app, &token).await;
    let second_id = second["id"].as_str().unwrap().to_owned();
    app.advance(10 * 60).await;
    app.get_as(&token, "/api/v1/me").await;
    app.advance(6 * 60).await;
    let (status, err) = error_code(
        app.get_as(&token, &format!("/api/v1/deletion/{second_id}"))
            .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (410, Some("flow_expired"))
    );
}

async fn accounts_without_identity_confirm_with_their_password(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let email = "noid@example.com";
    app.signup(email).await;
    let token = app.login(email).await;
    let flow = start(&app, &token).await;
    assert_eq!(flow["identity_method"], "password");
    let id = flow["id"].as_str().unwrap().to_owned();
    post(&app, &token, &id, "confirm", json!({"acknowledged": true})).await;
    let code = email_code(&app, &token, &id, email).await;
    post(&app, &token, &id, "verify", json!({"email_code": code})).await;
    let (status, err) = error_code(
        post(
            &app,
            &token,
            &id,
            "identity",
            json!({"password": "not my password"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["attempts_left"].as_u64()),
        (400, Some(4))
    );
    assert_eq!(
        post(&app, &token, &id, "identity", json!({"password": PASSWORD}))
            .await
            .status(),
        200
    );
}

async fn cool_off_after_a_reset_refuses_deletion(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let (account, token) = user(&app, "cool@example.com").await;
    let until = app.state.now() + time::Duration::hours(24);
    app.state
        .store
        .set_cooloff_until(account.parse().unwrap(), until)
        .await
        .unwrap();
    let flow = start(&app, &token).await;
    assert!(flow["cooloff_until"].is_string(), "the notes step says so");
    let id = flow["id"].as_str().unwrap();
    let (status, err) =
        error_code(post(&app, &token, id, "confirm", json!({"acknowledged": true})).await).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (403, Some("deletion_cool_off"))
    );
    assert!(err["error"]["allowed_from"].is_string());
    app.advance(24 * 3600).await;
    let token = app.login("cool@example.com").await;
    let flow = start(&app, &token).await;
    assert_eq!(
        post(
            &app,
            &token,
            flow["id"].as_str().unwrap(),
            "confirm",
            json!({"acknowledged": true})
        )
        .await
        .status(),
        200
    );
}

async fn nothing_personal_is_left_in_any_table(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let email = "pii.person@example.com";
    let (account, token) = user(&app, email).await;
    app.post_json_as(
        &token,
        "/api/v1/me/phone",
        json!({"phone": "+4915123456789"}),
    )
    .await;
    let sms = app.latest_code("+4915123456789").await;
    app.post_json_as(&token, "/api/v1/me/phone/confirm", json!({"code": sms}))
        .await;
    deposit(&app, &account, "ETH", "1").await;
    app.post_json_as(
        &token,
        "/api/v1/me/codes",
        json!({"channel": "email", "purpose": "withdrawal"}),
    )
    .await;
    let code = app.latest_code(email).await;
    let address = "0xAbCdEf0123456789aBcDeF0123456789AbCdEf01";
    let w: Value = app
        .post_json_as(&token, "/api/v1/me/withdrawals", json!({"asset": "ETH", "amount": "1", "address": address, "email_code": code, "sms_code": "000000"}))
        .await
        .json()
        .await
        .unwrap();
    // The SMS code was needed too: do it properly.
    if w.get("withdrawal_id").is_none() {
        app.advance(61).await;
        app.post_json_as(
            &token,
            "/api/v1/me/codes",
            json!({"channel": "email", "purpose": "withdrawal"}),
        )
        .await;
        app.post_json_as(
            &token,
            "/api/v1/me/codes",
            json!({"channel": "sms", "purpose": "withdrawal"}),
        )
        .await;
        let (e, s) = (
            app.latest_code(email).await,
            app.latest_code("+4915123456789").await,
        );
        let w: Value = app
            .post_json_as(&token, "/api/v1/me/withdrawals", json!({"asset": "ETH", "amount": "1", "address": address, "email_code": e, "sms_code": s}))
            .await
            .json()
            .await
            .unwrap();
        admin_post(
            &app,
            &format!(
                "/api/v1/admin/withdrawals/{}/complete",
                w["withdrawal_id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    }
    let flow = start(&app, &token).await;
    let id = flow["id"].as_str().unwrap().to_owned();
    post(&app, &token, &id, "confirm", json!({"acknowledged": true})).await;
    let code = email_code(&app, &token, &id, email).await;
    post(&app, &token, &id, "codes", json!({"channel": "sms"})).await;
    let sms = app.latest_code("+4915123456789").await;
    assert_eq!(
        post(
            &app,
            &token,
            &id,
            "verify",
            json!({"email_code": code, "sms_code": sms})
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        post(&app, &token, &id, "identity", json!({"id_number": ID}))
            .await
            .status(),
        200
    );

    let db = Db::open(&app).await;
    let needles = [
        email.to_owned(),
        "pii.person".to_owned(),
        "4915123456789".to_owned(),
        "X12345678".to_owned(),
        address.to_lowercase(),
    ];
    for (cell, value) in db.every_cell().await {
        // The dev outbox is the mailbox of dev mode (the user's inbox, not our records).
        if cell.starts_with("dev_outbox.") {
            continue;
        }
        let lower = value.to_lowercase();
        for needle in &needles {
            assert!(
                !lower.contains(&needle.to_lowercase()),
                "{cell} still holds {needle:?}: {value}"
            );
        }
    }
    db.close().await;
}

// Rules R9, R10 (PRODUCT.md): tombstones go after the wait, retained records (rows, then
// their keys) after the retention period; re-registration works after the purge.
async fn purge_removes_tombstones_and_retained_records_when_due(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let email = "purge@example.com";
    let (account, token) = user(&app, email).await;
    let id = to_identity(&app, &token, email).await;
    assert_eq!(
        post(&app, &token, &id, "identity", json!({"id_number": ID}))
            .await
            .status(),
        200
    );
    let account: offboard_core::AccountId = account.parse().unwrap();
    let report = app
        .state
        .store
        .purge_expired(app.state.now())
        .await
        .unwrap();
    assert_eq!(
        (report.tombstones, report.retained_records),
        (0, 0),
        "nothing is due yet"
    );
    app.advance(30 * 24 * 3600).await;
    let report = app
        .state
        .store
        .purge_expired(app.state.now())
        .await
        .unwrap();
    assert_eq!(report.tombstones, 2, "the email and the document number");
    assert_eq!(
        app.state
            .store
            .retained_records(account)
            .await
            .unwrap()
            .len(),
        2,
        "kept for the retention period"
    );
    assert_eq!(
        app.post_json(
            "/api/v1/signup",
            json!({"email": email, "password": PASSWORD})
        )
        .await
        .status(),
        201
    );
    app.advance(5 * 366 * 24 * 3600).await;
    let report = app
        .state
        .store
        .purge_expired(app.state.now())
        .await
        .unwrap();
    assert_eq!(report.retained_records, 2);
    assert!(app
        .state
        .store
        .retained_records(account)
        .await
        .unwrap()
        .is_empty());
    let db = Db::open(&app).await;
    let keys_left = db
        .every_cell()
        .await
        .into_iter()
        .filter(|(cell, _)| cell.starts_with("retention_keys."))
        .count();
    assert_eq!(
        keys_left, 0,
        "the per-record keys are gone too (crypto-shredding)"
    );
    db.close().await;
}

/// The `account.deleted` events of the outbox (starting a flow writes
/// `account.deletion_started` too).
async fn deleted_events(app: &TestApp) -> Vec<(String, String)> {
    let mut events = app.state.store.events().await.unwrap();
    events.retain(|(kind, _)| kind == "account.deleted");
    events
}
