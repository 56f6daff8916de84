//! Every counter and limit under a parallel burst (issue 13, item 1). Each one reads a
//! count and writes a failure; done in two steps, a burst reads the same count many
//! times and slips past the limit. These tests fire the burst and count what was
//! actually evaluated, on both databases.

use crate::both_backends;
use crate::deletion::{post, to_identity, user as verified_user, ID};
use crate::helpers::{error_code, spawn_app_with, TestApp, PASSWORD};
use crate::identity::Db;
use crate::ledger::{deposit, ADMIN};
use crate::support::add_agent;
use offboard_app::config::CaptchaPolicy;
use offboard_store::{AgentRole, Backend};
use serde_json::{json, Value};
use std::time::Duration;

both_backends!(
    r6_parallel_identity_answers_evaluate_at_most_five,
    r5_parallel_code_requests_send_one_code,
    r5_parallel_wrong_withdrawal_codes_evaluate_at_most_five,
    r5_one_withdrawal_code_pays_once_under_parallel_use,
    r5_one_authenticator_code_logs_in_once,
    r3_a_captcha_solution_counts_once_under_parallel_use,
    r11_parallel_support_logins_cannot_skip_the_throttle,
    r11_parallel_recovery_requests_keep_the_limit,
);

async fn app(backend: Backend, captcha: CaptchaPolicy) -> TestApp {
    spawn_app_with(backend, move |c| {
        c.admin_token = Some(secrecy::SecretString::from(ADMIN));
        c.deletion.captcha = captcha;
    })
    .await
}

async fn codes_of(responses: Vec<reqwest::Response>) -> Vec<String> {
    let mut codes = Vec::new();
    for res in responses {
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        codes.push(match body["error"]["code"].as_str() {
            Some(code) => code.to_owned(),
            None => status.to_string(),
        });
    }
    codes
}

fn count(codes: &[String], code: &str) -> usize {
    codes.iter().filter(|c| *c == code).count()
}

// R6: 39 wrong ID numbers and the right one, all at once. The answer is counted and the
// lock checked in one serialised step, so at most five are evaluated; the right number
// comes too late and the account stays.
async fn r6_parallel_identity_answers_evaluate_at_most_five(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let email = "burst@example.com";
    let (account, token) = verified_user(&app, email).await;
    let flow = to_identity(&app, &token, email).await;
    let wrong = (0..39).map(|i| {
        post(
            &app,
            &token,
            &flow,
            "identity",
            json!({"id_number": format!("WRONG{i:03}")}),
        )
    });
    let right = async {
        // Last in the burst, while the wrong ones are still in flight.
        tokio::time::sleep(Duration::from_millis(50)).await;
        post(&app, &token, &flow, "identity", json!({"id_number": ID})).await
    };
    let (mut responses, last) = tokio::join!(futures::future::join_all(wrong), right);
    responses.push(last);
    let codes = codes_of(responses).await;
    let mismatches = count(&codes, "identity_mismatch");
    let locked = count(&codes, "identity_locked");
    assert_eq!(
        mismatches + locked,
        40,
        "every answer was refused: {codes:?}"
    );
    assert_eq!(
        mismatches, 4,
        "four wrong answers told their tries left; the fifth locked: {codes:?}"
    );
    let db = Db::open(&app).await;
    assert_eq!(
        db.count("identity_failures").await,
        5,
        "exactly five answers were evaluated"
    );
    db.close().await;
    let audit = app
        .state
        .store
        .audit_of_account(account.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.action == "deletion_identity_failed")
            .count(),
        5
    );
    // Locked: the right number is refused too, and the account is intact.
    let (status, err) =
        error_code(post(&app, &token, &flow, "identity", json!({"id_number": ID})).await).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (423, Some("identity_locked"))
    );
    let me = app.get_as(&token, "/api/v1/me").await;
    assert_eq!(me.status(), 200, "the account was not deleted");
}

// R5: twenty "Get code" presses at once send one code; the rest wait out the cooldown.
async fn r5_parallel_code_requests_send_one_code(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let email = "presses@example.com";
    app.signup(email).await;
    let token = app.login(email).await;
    let presses = (0..20).map(|_| {
        app.post_json_as(
            &token,
            "/api/v1/me/codes",
            json!({"channel": "email", "purpose": "withdrawal"}),
        )
    });
    let codes = codes_of(futures::future::join_all(presses).await).await;
    assert_eq!(count(&codes, "202"), 1, "{codes:?}");
    assert_eq!(count(&codes, "resend_too_soon"), 19, "{codes:?}");
    let db = Db::open(&app).await;
    assert_eq!(db.count("otp_codes").await, 1, "one code row was written");
    db.close().await;
}

async fn funded_user(app: &TestApp, email: &str) -> String {
    let account = app.signup(email).await;
    deposit(app, &account, "ETH", "2").await;
    app.login(email).await
}

/// A funded user and the withdrawal code just emailed to them: (token, code).
async fn funded_user_with_code(app: &TestApp, email: &str) -> (String, String) {
    let token = funded_user(app, email).await;
    let res = app
        .post_json_as(
            &token,
            "/api/v1/me/codes",
            json!({"channel": "email", "purpose": "withdrawal"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    (token, app.latest_code(email).await)
}

const ADDRESS: &str = "0x52908400098527886E0F7030069857D2E4169EE7";

// R5: thirty wrong withdrawal codes at once cost the code exactly five tries.
async fn r5_parallel_wrong_withdrawal_codes_evaluate_at_most_five(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let email = "wrongwd@example.com";
    let (token, code) = funded_user_with_code(&app, email).await;
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let guesses = (0..30).map(|_| {
        app.post_json_as(
            &token,
            "/api/v1/me/withdrawals",
            json!({"asset": "ETH", "amount": "1", "address": ADDRESS, "email_code": wrong}),
        )
    });
    let codes = codes_of(futures::future::join_all(guesses).await).await;
    assert_eq!(count(&codes, "invalid_code"), 5, "{codes:?}");
    assert_eq!(count(&codes, "code_exhausted"), 25, "{codes:?}");
    let (status, err) = error_code(
        app.post_json_as(
            &token,
            "/api/v1/me/withdrawals",
            json!({"asset": "ETH", "amount": "1", "address": ADDRESS, "email_code": code}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (400, Some("code_exhausted")),
        "the exhausted code stays dead, even when right"
    );
}

// R5: one right code, submitted ten times at once, pays out once.
async fn r5_one_withdrawal_code_pays_once_under_parallel_use(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let email = "doublespend@example.com";
    let (token, code) = funded_user_with_code(&app, email).await;
    let spends = (0..10).map(|_| {
        app.post_json_as(
            &token,
            "/api/v1/me/withdrawals",
            json!({"asset": "ETH", "amount": "0.5", "address": ADDRESS, "email_code": code}),
        )
    });
    let codes = codes_of(futures::future::join_all(spends).await).await;
    assert_eq!(count(&codes, "201"), 1, "{codes:?}");
    let assets: Value = app
        .get_as(&token, "/api/v1/me/assets")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        assets["balances"],
        json!([{"asset": "ETH", "amount": "1.5"}])
    );
    assert_eq!(assets["pending"].as_array().unwrap().len(), 1);
}

// R5: the same authenticator code in ten parallel logins signs in once (a time step is
// never accepted twice).
async fn r5_one_authenticator_code_logs_in_once(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let email = "totpburst@example.com";
    let (_, secret) = app.user_with_totp(email).await;
    app.advance(30).await;
    let code = app.next_totp(&secret).await;
    let logins = (0..10).map(|_| {
        app.post_json(
            "/api/v1/login",
            json!({"email": email, "password": PASSWORD, "totp_code": code}),
        )
    });
    let codes = codes_of(futures::future::join_all(logins).await).await;
    assert_eq!(count(&codes, "200"), 1, "{codes:?}");
}

// R3: one solved captcha, sent with ten confirmations at once, is used once.
async fn r3_a_captcha_solution_counts_once_under_parallel_use(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Always).await;
    let email = "captchaburst@example.com";
    app.signup(email).await;
    let token = app.login(email).await;
    let flow: Value = app
        .post_json_as(&token, "/api/v1/deletion", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let id = flow["id"].as_str().unwrap();
    let challenge: offboard_core::captcha::Challenge =
        serde_json::from_value(flow["captcha"].clone()).unwrap();
    let solution = offboard_core::captcha::solve(&challenge).unwrap();
    let confirms = (0..10).map(|_| {
        post(
            &app,
            &token,
            id,
            "confirm",
            json!({"acknowledged": true, "captcha": solution}),
        )
    });
    let codes = codes_of(futures::future::join_all(confirms).await).await;
    assert_eq!(count(&codes, "200"), 1, "{codes:?}");
    let db = Db::open(&app).await;
    assert_eq!(db.count("captcha_used").await, 1);
    db.close().await;
}

// R11: the agent login throttle holds under a burst, like the user one.
async fn r11_parallel_support_logins_cannot_skip_the_throttle(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let agent = add_agent(&app, "burst.agent@example.com", AgentRole::Agent).await;
    let before = app.state.hashing.verifications();
    let logins = (0..30).map(|_| {
        app.post_json(
            "/api/v1/support/login",
            json!({"email": agent.email, "password": "wrong password!", "totp_code": "000000"}),
        )
    });
    let responses = futures::future::join_all(logins).await;
    assert!(responses.iter().all(|r| r.status() == 401));
    let throttled = responses
        .iter()
        .filter(|r| r.headers().contains_key("retry-after"))
        .count();
    assert_eq!(
        app.state.hashing.verifications() - before,
        5,
        "exactly the five free attempts were checked"
    );
    assert_eq!(throttled, 25);
}

// R11: recovery requests per address are limited, counted under a burst, and the limit
// behaves the same for an address with an account and one without (no enumeration):
// every answer is 202 (API.md), only the first three are recorded.
async fn r11_parallel_recovery_requests_keep_the_limit(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    app.signup("known.recover@example.com").await;
    for email in ["known.recover@example.com", "nobody.recover@example.com"] {
        let requests = (0..20).map(|i| {
            app.post_json(
                "/api/v1/recovery",
                json!({"email": email, "message": format!("lost my phone, try {i}")}),
            )
        });
        let codes = codes_of(futures::future::join_all(requests).await).await;
        assert_eq!(count(&codes, "202"), 20, "{email}: {codes:?}");
    }
    let db = Db::open(&app).await;
    assert_eq!(db.count("recovery_requests").await, 6);
    db.close().await;
}
