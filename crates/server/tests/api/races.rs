//! Every counter and limit under a parallel burst (issue 13, item 1). Each one reads a
//! count and writes a failure; done in two steps, a burst reads the same count many
//! times and slips past the limit. These tests fire the burst and count what was
//! actually evaluated, on both databases. The bursts go through the typed client; the
//! support-login burst counts `Retry-After` headers, so it stays on raw HTTP.

use crate::both_backends;
use crate::deletion::{id_number, to_identity, user as verified_user, ID};
use crate::helpers::{
    api_error, refused, spawn_app_with, wrong_password_burst_refused, TestApp, PASSWORD,
};
use crate::identity::Db;
use crate::ledger::{deposit, ADMIN};
use crate::support::add_agent;
use offboard_app::config::CaptchaPolicy;
use offboard_client::{
    captcha, Balance, Channel, Client, ClientError, CodePurpose, ConfirmNotes, FactorCodes,
    WithdrawalRequest,
};
use offboard_store::{AgentRole, Backend};
use serde_json::json;
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

/// What each answer of a burst was: its error code, or its status when it has none (the
/// success status `ok` for the answers that succeeded).
fn outcomes<T>(results: Vec<Result<T, ClientError>>, ok: u16) -> Vec<String> {
    let outcome = |result: Result<T, ClientError>| match result {
        Ok(_) => ok.to_string(),
        Err(e) => match (e.code(), e.status()) {
            (Some(code), _) => code.to_owned(),
            (None, Some(status)) => status.to_string(),
            (None, None) => e.to_string(),
        },
    };
    results.into_iter().map(outcome).collect()
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
    let api = app.client_as(&token);
    let (api, flow) = (&api, flow.as_str());
    let wrong = (0..39).map(|i| async move {
        let proof = id_number(&format!("WRONG{i:03}"));
        api.deletion_identity(flow, &proof).await
    });
    let right = async {
        // Last in the burst, while the wrong ones are still in flight.
        tokio::time::sleep(Duration::from_millis(50)).await;
        api.deletion_identity(flow, &id_number(ID)).await
    };
    let (mut responses, last) = tokio::join!(futures::future::join_all(wrong), right);
    responses.push(last);
    let codes = outcomes(responses, 200);
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
    refused(
        api.deletion_identity(flow, &id_number(ID)).await,
        423,
        "identity_locked",
    );
    api.me().await.expect("the account was not deleted");
}

// R5: twenty "Get code" presses at once send one code; the rest wait out the cooldown.
async fn r5_parallel_code_requests_send_one_code(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let api = app.user("presses@example.com").await.api;
    let presses = (0..20).map(|_| api.send_code(Channel::Email, CodePurpose::Withdrawal));
    let codes = outcomes(futures::future::join_all(presses).await, 202);
    assert_eq!(count(&codes, "202"), 1, "{codes:?}");
    assert_eq!(count(&codes, "resend_too_soon"), 19, "{codes:?}");
    let db = Db::open(&app).await;
    assert_eq!(db.count("otp_codes").await, 1, "one code row was written");
    db.close().await;
}

async fn funded_user(app: &TestApp, email: &str) -> Client {
    let user = app.user(email).await;
    deposit(app, &user.account_id, "ETH", "2").await;
    user.api
}

/// A funded user and the withdrawal code just emailed to them: (client, code).
async fn funded_user_with_code(app: &TestApp, email: &str) -> (Client, String) {
    let api = funded_user(app, email).await;
    api.send_code(Channel::Email, CodePurpose::Withdrawal)
        .await
        .unwrap();
    (api, app.latest_code(email).await)
}

const ADDRESS: &str = "0x52908400098527886E0F7030069857D2E4169EE7";

fn eth_withdrawal(amount: &str, email_code: &str) -> WithdrawalRequest {
    WithdrawalRequest {
        asset: "ETH".to_owned(),
        amount: amount.to_owned(),
        address: ADDRESS.to_owned(),
        codes: FactorCodes {
            email_code: Some(email_code.to_owned()),
            ..FactorCodes::default()
        },
    }
}

// R5: thirty wrong withdrawal codes at once cost the code exactly five tries.
async fn r5_parallel_wrong_withdrawal_codes_evaluate_at_most_five(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let email = "wrongwd@example.com";
    let (api, code) = funded_user_with_code(&app, email).await;
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let request = eth_withdrawal("1", &wrong);
    let guesses = (0..30).map(|_| api.withdraw(&request));
    let codes = outcomes(futures::future::join_all(guesses).await, 201);
    assert_eq!(count(&codes, "invalid_code"), 5, "{codes:?}");
    assert_eq!(count(&codes, "code_exhausted"), 25, "{codes:?}");
    let err = api_error(api.withdraw(&eth_withdrawal("1", &code)).await);
    assert_eq!(
        (err.status, err.code.as_str()),
        (400, "code_exhausted"),
        "the exhausted code stays dead, even when right"
    );
}

// R5: one right code, submitted ten times at once, pays out once.
async fn r5_one_withdrawal_code_pays_once_under_parallel_use(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let email = "doublespend@example.com";
    let (api, code) = funded_user_with_code(&app, email).await;
    let request = eth_withdrawal("0.5", &code);
    let spends = (0..10).map(|_| api.withdraw(&request));
    let codes = outcomes(futures::future::join_all(spends).await, 201);
    assert_eq!(count(&codes, "201"), 1, "{codes:?}");
    let assets = api.assets().await.unwrap();
    let left = Balance {
        asset: "ETH".to_owned(),
        amount: "1.5".to_owned(),
    };
    assert_eq!(assets.balances, [left]);
    assert_eq!(assets.pending.len(), 1);
}

// R5: the same authenticator code in ten parallel logins signs in once (a time step is
// never accepted twice).
async fn r5_one_authenticator_code_logs_in_once(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let email = "totpburst@example.com";
    let (_, secret) = app.user_with_totp(email).await;
    app.advance(30).await;
    let code = app.next_totp(&secret).await;
    let anonymous = app.client();
    let logins = (0..10).map(|_| anonymous.login_with_totp(email, PASSWORD, &code));
    let codes = outcomes(futures::future::join_all(logins).await, 200);
    assert_eq!(count(&codes, "200"), 1, "{codes:?}");
}

// R3: one solved captcha, sent with ten confirmations at once, is used once.
async fn r3_a_captcha_solution_counts_once_under_parallel_use(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Always).await;
    let api = app.user("captchaburst@example.com").await.api;
    let flow = api.deletion_start().await.unwrap();
    let challenge = flow.captcha.as_ref().expect("the notes show a captcha");
    let solution = captcha::solve(challenge).await.unwrap();
    let notes = ConfirmNotes::acknowledged(Some(solution));
    let confirms = (0..10).map(|_| api.deletion_confirm(&flow.id, &notes));
    let codes = outcomes(futures::future::join_all(confirms).await, 200);
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
    let throttled = wrong_password_burst_refused(&responses);
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
    let anonymous = app.client();
    for email in ["known.recover@example.com", "nobody.recover@example.com"] {
        let messages: Vec<String> = (0..20).map(|i| format!("lost my phone, try {i}")).collect();
        let requests = messages
            .iter()
            .map(|message| anonymous.recovery_request(email, message, None));
        let codes = outcomes(futures::future::join_all(requests).await, 202);
        assert_eq!(count(&codes, "202"), 20, "{email}: {codes:?}");
    }
    let db = Db::open(&app).await;
    assert_eq!(db.count("recovery_requests").await, 6);
    db.close().await;
}
