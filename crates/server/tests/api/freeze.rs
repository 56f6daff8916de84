//! The freeze (R17): by an alert's link (once, not expired, only for its account; a
//! parallel burst spends it once), by the owner; what a frozen account refuses, what it
//! still takes (deposits), and the ways out.

use crate::alerts::{app, login_from_new_device, newest_link};
use crate::both_backends;
use crate::helpers::{client, error_code, TestApp, PASSWORD};
use crate::ledger::deposit;
use crate::support::{add_agent, agent_login};
use offboard_store::{AgentRole, Backend};
use serde_json::{json, Value};

both_backends!(
    the_link_freezes_once_and_never_when_used_expired_or_for_another_account,
    the_link_page_asks_then_freezes_with_csrf,
    a_frozen_account_refuses_sign_in_withdrawals_factor_changes_and_deletion,
    a_parallel_burst_on_the_link_freezes_once,
    support_recovery_lifts_the_freeze_and_deletion_waits,
    the_owner_lifts_the_freeze_after_24_hours_with_every_factor_and_the_id_number,
    the_unfreeze_page_lifts_the_freeze_with_csrf,
);

const ADDRESS: &str = "0x52908400098527886E0F7030069857D2E4169EE7";

async fn freeze_with(app: &TestApp, account: &str, token: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/freeze",
        json!({"account_id": account, "token": token}),
    )
    .await
}

async fn events_of(app: &TestApp, kind: &str, account: &str) -> usize {
    app.state
        .store
        .events()
        .await
        .unwrap()
        .iter()
        .filter(|(t, payload)| t == kind && payload.contains(account))
        .count()
}

// Rules R17, R21 (PRODUCT.md).
async fn the_link_freezes_once_and_never_when_used_expired_or_for_another_account(
    backend: Backend,
) {
    let app = app(backend).await;
    let alice = app.signup("alice@example.com").await;
    let bob = app.signup("bob@example.com").await;
    app.login("alice@example.com").await;
    login_from_new_device(&app, "alice@example.com", "Stranger/1").await;
    let (linked, old_token) = newest_link(&app, "alice@example.com").await;
    assert_eq!(linked, alice);

    // Another account's link does not freeze this one, nor does a made-up token.
    let (status, err) = error_code(freeze_with(&app, &bob, &old_token).await).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (404, Some("freeze_link_invalid"))
    );
    assert_eq!(err["error"]["help"], "/help/account-frozen");
    let (status, _) = error_code(freeze_with(&app, &alice, "not-a-token").await).await;
    assert_eq!(status, 404);
    let (status, _) = error_code(freeze_with(&app, "not-an-id", &old_token).await).await;
    assert_eq!(status, 404);

    // Seven days later the first link has expired; a fresh alert's link works.
    app.advance(7 * 24 * 3600 + 1).await;
    let (status, err) = error_code(freeze_with(&app, &alice, &old_token).await).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (410, Some("freeze_link_expired"))
    );
    login_from_new_device(&app, "alice@example.com", "Stranger/2").await;
    let (_, token) = newest_link(&app, "alice@example.com").await;
    let res = freeze_with(&app, &alice, &token).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["frozen"], true);
    assert_eq!(body["already_frozen"], false);

    let (status, err) = error_code(freeze_with(&app, &alice, &token).await).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("freeze_link_used"))
    );
    let page = app
        .api
        .get(app.url(&format!("/freeze/{alice}/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 409, "the page of a used link says so");
    // Bob was never touched.
    assert_eq!(
        app.post_json(
            "/api/v1/login",
            json!({"email": "bob@example.com", "password": PASSWORD})
        )
        .await
        .status(),
        200
    );
    assert_eq!(events_of(&app, "account.frozen", &alice).await, 1);
    assert_eq!(events_of(&app, "account.frozen", &bob).await, 0);
}

// Rules R17 (PRODUCT.md): a GET never freezes (mail scanners open links); the POST
// needs the page's CSRF token.
async fn the_link_page_asks_then_freezes_with_csrf(backend: Backend) {
    let app = app(backend).await;
    let id = app.signup("page@example.com").await;
    let session = app.login("page@example.com").await;
    login_from_new_device(&app, "page@example.com", "Stranger/1").await;
    let (_, token) = newest_link(&app, "page@example.com").await;
    let path = format!("/freeze/{id}/{token}");
    let browser = client(true);
    let csrf = app.csrf_token(&browser, &path).await;
    assert_eq!(
        app.get_as(&session, "/api/v1/me").await.status(),
        200,
        "a GET froze nothing"
    );
    let forged = browser
        .post(app.url(&path))
        .form(&[("csrf_token", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(app.get_as(&session, "/api/v1/me").await.status(), 200);
    let done = browser
        .post(app.url(&path))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("the account is frozen"));
    assert_eq!(
        app.get_as(&session, "/api/v1/me").await.status(),
        401,
        "signed out"
    );
}

/// A session that raced the freeze (started between the password check and the
/// freeze's commit): made directly, as the login would.
async fn racing_session(app: &TestApp, id: &str) -> String {
    offboard_app::sessions::start_session(&app.state, id.parse().unwrap(), None)
        .await
        .unwrap()
}

async fn assert_frozen(res: reqwest::Response, what: &str) {
    let (status, err) = error_code(res).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (403, Some("account_frozen")),
        "{what}: {err}"
    );
    assert_eq!(err["error"]["help"], "/help/account-frozen", "{what}");
}

// Rules R17, R4 (PRODUCT.md).
async fn a_frozen_account_refuses_sign_in_withdrawals_factor_changes_and_deletion(
    backend: Backend,
) {
    let app = app(backend).await;
    let email = "frozen@example.com";
    let id = app.signup(email).await;
    let token = app.login(email).await;
    let other = app.login(email).await;
    deposit(&app, &id, "ETH", "2").await;
    app.post_json_as(
        &token,
        "/api/v1/me/codes",
        json!({"channel": "email", "purpose": "withdrawal"}),
    )
    .await;
    let code = app.latest_code(email).await;
    let res = app
        .post_json_as(
            &token,
            "/api/v1/me/withdrawals",
            json!({"asset": "ETH", "amount": "1.5", "address": ADDRESS, "email_code": code}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let pending = res.json::<Value>().await.unwrap()["withdrawal_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let res = app
        .post_json_as(&token, "/api/v1/me/freeze", json!({}))
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["cancelled_withdrawals"],
        json!([pending]),
        "the pending withdrawal is cancelled"
    );
    for t in [&token, &other] {
        assert_eq!(
            app.get_as(t, "/api/v1/me").await.status(),
            401,
            "every session revoked"
        );
    }
    // Refunded: the whole balance is back, nothing pending, the books balance.
    let account: offboard_core::AccountId = id.parse().unwrap();
    let holdings = app.state.store.holdings(account).await.unwrap();
    assert!(holdings.pending.is_empty());
    assert_eq!(holdings.balances[0].amount.to_string(), "2");
    let withdrawals = app.state.store.withdrawals_of(account).await.unwrap();
    assert_eq!(withdrawals[0].status, "cancelled");
    assert!(app
        .state
        .store
        .ledger_audit()
        .await
        .unwrap()
        .violations()
        .is_empty());

    // Sign-in: a wrong password answers like any wrong password; the right one is told.
    let wrong = app
        .post_json(
            "/api/v1/login",
            json!({"email": email, "password": "not the password"}),
        )
        .await;
    let unknown = app
        .post_json(
            "/api/v1/login",
            json!({"email": "nobody@example.com", "password": "not the password"}),
        )
        .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(wrong.text().await.unwrap(), unknown.text().await.unwrap());
    assert_frozen(
        app.post_json(
            "/api/v1/login",
            json!({"email": email, "password": PASSWORD}),
        )
        .await,
        "sign-in",
    )
    .await;

    let raced = racing_session(&app, &id).await;
    app.post_json_as(
        &raced,
        "/api/v1/me/codes",
        json!({"channel": "email", "purpose": "withdrawal"}),
    )
    .await;
    let code = app.latest_code(email).await;
    assert_frozen(
        app.post_json_as(
            &raced,
            "/api/v1/me/withdrawals",
            json!({"asset": "ETH", "amount": "1", "address": ADDRESS, "email_code": code}),
        )
        .await,
        "withdrawal",
    )
    .await;
    assert_frozen(
        app.post_json_as(&raced, "/api/v1/me/totp", json!({})).await,
        "authenticator",
    )
    .await;
    assert_frozen(
        app.post_json_as(
            &raced,
            "/api/v1/me/phone",
            json!({"phone": "+447700900111"}),
        )
        .await,
        "phone",
    )
    .await;
    assert_frozen(
        app.post_json_as(&raced, "/api/v1/deletion", json!({}))
            .await,
        "deletion",
    )
    .await;

    // No money is lost: deposits still credit.
    deposit(&app, &id, "ETH", "0.5").await;
    let holdings = app.state.store.holdings(account).await.unwrap();
    assert_eq!(holdings.balances[0].amount.to_string(), "2.5");

    assert_eq!(events_of(&app, "account.frozen", &id).await, 1);
    let audit = app.state.store.audit_of_account(account).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert!(actions.contains(&"account_frozen"), "{actions:?}");
    assert!(actions.contains(&"withdrawal_cancelled"), "{actions:?}");
}

// Rules R17 (PRODUCT.md): one link, twelve parallel clicks, one freeze.
async fn a_parallel_burst_on_the_link_freezes_once(backend: Backend) {
    let app = app(backend).await;
    let id = app.signup("burst@example.com").await;
    app.login("burst@example.com").await;
    login_from_new_device(&app, "burst@example.com", "Stranger/1").await;
    let (_, token) = newest_link(&app, "burst@example.com").await;
    let answers = futures::future::join_all((0..12).map(|_| freeze_with(&app, &id, &token))).await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [[200].as_slice(), &[409; 11]].concat(),
        "spent once"
    );
    assert_eq!(events_of(&app, "account.frozen", &id).await, 1);
}

// Rules R17, R11 (PRODUCT.md).
async fn support_recovery_lifts_the_freeze_and_deletion_waits(backend: Backend) {
    let app = app(backend).await;
    let email = "thaw@example.com";
    let id = app.signup(email).await;
    let token = app.login(email).await;
    deposit(&app, &id, "BTC", "0.1").await;
    assert_eq!(
        app.post_json_as(&token, "/api/v1/me/freeze", json!({}))
            .await
            .status(),
        200
    );
    let res = app
        .post_json(
            "/api/v1/recovery",
            json!({"email": email, "message": "I froze it after a strange alert."}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let agent = add_agent(&app, "ann@support.test", AgentRole::Agent).await;
    let lead = add_agent(&app, "lea@support.test", AgentRole::Lead).await;
    let agent_token = agent_login(&app, &agent).await;
    let lead_token = agent_login(&app, &lead).await;
    let open: Vec<Value> = app
        .get_as(&lead_token, "/api/v1/support/recovery")
        .await
        .json()
        .await
        .unwrap();
    let approve = format!(
        "/api/v1/support/recovery/{}/approve",
        open[0]["id"].as_str().unwrap()
    );
    let (status, _) = error_code(
        app.post_json_as(&agent_token, &approve, json!({"reason": "checked"}))
            .await,
    )
    .await;
    assert_eq!(status, 403, "a funded account needs a lead");
    assert_frozen(
        app.post_json(
            "/api/v1/login",
            json!({"email": email, "password": PASSWORD}),
        )
        .await,
        "still frozen",
    )
    .await;
    let res = app
        .post_json_as(
            &lead_token,
            &approve,
            json!({"reason": "passport checked on a call"}),
        )
        .await;
    assert_eq!(res.status(), 204);

    let token = app.login(email).await;
    let flow: Value = app
        .post_json_as(&token, "/api/v1/deletion", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let confirm = format!("/api/v1/deletion/{}/confirm", flow["id"].as_str().unwrap());
    let (status, err) = error_code(
        app.post_json_as(&token, &confirm, json!({"acknowledged": true}))
            .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (403, Some("deletion_cool_off")),
        "24 h cool-off"
    );
    let audit = app
        .state
        .store
        .audit_of_account(id.parse().unwrap())
        .await
        .unwrap();
    assert!(audit.iter().any(|a| a.action == "support_recovery_approved"
        && a.detail.as_deref().is_some_and(|d| d.contains("unfrozen"))));
}

// Rules R17, R5, R6 (PRODUCT.md).
async fn the_owner_lifts_the_freeze_after_24_hours_with_every_factor_and_the_id_number(
    backend: Backend,
) {
    let app = app(backend).await;
    let email = "owner@example.com";
    let (token, secret) = app.user_with_totp(email).await;
    let body = json!({"document_type": "passport", "document_number": crate::support::DOC, "country": "DE", "expires_on": "2031-01-01"});
    assert_eq!(
        app.post_json_as(&token, "/api/v1/me/identity", body)
            .await
            .status(),
        202
    );
    assert_eq!(
        app.post_json_as(&token, "/api/v1/me/freeze", json!({}))
            .await
            .status(),
        200
    );

    let ask = |password: &str| {
        app.post_json(
            "/api/v1/unfreeze/codes",
            json!({"email": email, "password": password, "channel": "email"}),
        )
    };
    // A wrong password says nothing more than a failed login.
    let (status, err) = error_code(ask("not the password").await).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, err) = error_code(ask(PASSWORD).await).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (403, Some("unfreeze_too_early"))
    );
    assert!(err["error"]["allowed_from"].is_string());

    app.advance(24 * 3600 + 1).await;
    assert_eq!(ask(PASSWORD).await.status(), 202);
    let code = app.latest_code(email).await;
    let unfreeze = |body: Value| app.post_json("/api/v1/unfreeze", body);
    let base = json!({"email": email, "password": PASSWORD, "email_code": code, "id_number": crate::support::DOC});
    // Every bound factor: the authenticator too.
    let (status, err) = error_code(unfreeze(base.clone()).await).await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (422, Some("totp_code"))
    );
    let mut wrong_number = base.clone();
    wrong_number["totp_code"] = json!(app.next_totp(&secret).await);
    wrong_number["id_number"] = json!("X99999999");
    let (status, err) = error_code(unfreeze(wrong_number).await).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (400, Some("identity_mismatch"))
    );
    assert_frozen(
        app.post_json(
            "/api/v1/login",
            json!({"email": email, "password": PASSWORD}),
        )
        .await,
        "still frozen",
    )
    .await;

    let mut right = base.clone();
    right["totp_code"] = json!(app.next_totp(&secret).await);
    let res = unfreeze(right).await;
    assert_eq!(res.status(), 204, "{}", res.text().await.unwrap());
    let res = app
        .post_json("/api/v1/login", json!({"email": email, "password": PASSWORD, "totp_code": app.next_totp(&secret).await}))
        .await;
    assert_eq!(res.status(), 200, "signed in again");
    let (status, err) = error_code(app.post_json("/api/v1/unfreeze", base).await).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("not_frozen"))
    );
    let audit = app
        .state
        .store
        .audit_of_account(
            app.state
                .store
                .find_account_by_email(&app.state.parse_email(email).unwrap())
                .await
                .unwrap()
                .unwrap()
                .id,
        )
        .await
        .unwrap();
    assert!(audit
        .iter()
        .any(|a| a.action == "account_unfrozen" && a.actor == "user"));
}

// Rules R17 (PRODUCT.md): the same way out as a page, for an owner without a session.
async fn the_unfreeze_page_lifts_the_freeze_with_csrf(backend: Backend) {
    let app = app(backend).await;
    let email = "pageowner@example.com";
    app.signup(email).await;
    let token = app.login(email).await;
    let body = json!({"document_type": "passport", "document_number": crate::support::DOC, "country": "DE", "expires_on": "2031-01-01"});
    assert_eq!(
        app.post_json_as(&token, "/api/v1/me/identity", body)
            .await
            .status(),
        202
    );
    assert_eq!(
        app.post_json_as(&token, "/api/v1/me/freeze", json!({}))
            .await
            .status(),
        200
    );
    app.advance(24 * 3600 + 1).await;
    let browser = client(true);
    let csrf = app.csrf_token(&browser, "/unfreeze").await;
    let sent = browser
        .post(app.url("/unfreeze/codes"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", email),
            ("password", PASSWORD),
            ("channel", "email"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    assert!(sent.text().await.unwrap().contains("We sent you a code"));
    let code = app.latest_code(email).await;
    let form = |csrf: &str| {
        vec![
            ("csrf_token", csrf.to_owned()),
            ("email", email.to_owned()),
            ("password", PASSWORD.to_owned()),
            ("email_code", code.clone()),
            ("id_number", crate::support::DOC.to_owned()),
        ]
    };
    let forged = browser
        .post(app.url("/unfreeze"))
        .form(&form("forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let done = browser
        .post(app.url("/unfreeze"))
        .form(&form(&csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("The freeze is lifted"));
    app.login(email).await;
}
