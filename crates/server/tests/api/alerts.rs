//! Security alerts (R21): each trigger sends its alert once, by email and (with a phone
//! bound) by SMS, through the mail queue, with a working one-time freeze link (R17).

use crate::both_backends;
use crate::helpers::{spawn_app_with, urlencode, TestApp, PASSWORD};
use crate::ledger::{deposit, ADMIN};
use crate::support::{add_agent, agent_login};
use offboard_app::config::CaptchaPolicy;
use offboard_store::{AgentRole, Backend};
use serde_json::{json, Value};

both_backends!(each_alert_is_sent_once_on_its_trigger_with_a_working_link);

pub(crate) const PHONE: &str = "+447911123987";

pub(crate) async fn app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |c| {
        c.deletion.captcha = CaptchaPolicy::Never;
        c.admin_token = Some(secrecy::SecretString::from(ADMIN));
    })
    .await
}

/// Every message the dev outbox holds for `to`, oldest first.
pub(crate) async fn outbox(app: &TestApp, to: &str) -> Vec<Value> {
    let mut messages: Vec<Value> = app
        .api
        .get(app.url(&format!("/api/v1/dev/outbox?to={}", urlencode(to))))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    messages.reverse();
    messages
}

/// The alert emails (subjects) sent to `to`, oldest first.
pub(crate) async fn alert_subjects(app: &TestApp, to: &str) -> Vec<String> {
    outbox(app, to)
        .await
        .iter()
        .filter_map(|m| m["subject"].as_str())
        .filter(|s| s.starts_with("offboard security alert"))
        .map(str::to_owned)
        .collect()
}

/// The freeze link path in a message body: `/freeze/{account}/{token}`.
pub(crate) fn freeze_path(body: &str) -> Option<String> {
    let start = body.find("/freeze/")?;
    let rest = &body[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

/// (account id, token) of the newest alert's freeze link sent to `to`.
pub(crate) async fn newest_link(app: &TestApp, to: &str) -> (String, String) {
    let messages = outbox(app, to).await;
    let body = messages
        .iter()
        .rev()
        .find(|m| {
            m["subject"]
                .as_str()
                .is_some_and(|s| s.starts_with("offboard security alert"))
        })
        .and_then(|m| m["body"].as_str())
        .expect("an alert in the outbox");
    let path = freeze_path(body).expect("a freeze link in the alert");
    let mut parts = path.trim_start_matches("/freeze/").splitn(2, '/');
    (
        parts.next().unwrap().to_owned(),
        parts.next().unwrap().to_owned(),
    )
}

/// Signs in as a browser the account has never seen.
pub(crate) async fn login_from_new_device(app: &TestApp, email: &str, agent: &str) -> String {
    let res = app
        .api
        .post(app.url("/api/v1/login"))
        .header("user-agent", agent)
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn code(app: &TestApp, token: &str, channel: &str, purpose: &str, to: &str) -> String {
    let res = app
        .post_json_as(
            token,
            "/api/v1/me/codes",
            json!({"channel": channel, "purpose": purpose}),
        )
        .await;
    assert_eq!(res.status(), 202, "code {channel} {purpose}");
    app.latest_code(to).await
}

/// The alerts so far, checked against what is expected and each link opening its page.
async fn expect_alerts(app: &TestApp, to: &str, expected: &[&str]) {
    let subjects = alert_subjects(app, to).await;
    let expected: Vec<String> = expected
        .iter()
        .map(|s| format!("offboard security alert: {s}"))
        .collect();
    assert_eq!(subjects, expected, "alerts to {to}");
    for m in outbox(app, to).await {
        if let Some(path) = m["body"].as_str().and_then(freeze_path) {
            let page = app.api.get(app.url(&path)).send().await.unwrap();
            assert_eq!(page.status(), 200, "the link of {:?} opens", m["subject"]);
            assert!(page.text().await.unwrap().contains("Freeze my account"));
        }
    }
}

// Rules R21, R17 (PRODUCT.md).
async fn each_alert_is_sent_once_on_its_trigger_with_a_working_link(backend: Backend) {
    let app = app(backend).await;
    let email = "alerts@example.com";
    let account = app.signup(email).await;
    // The first sign-in is the sign-up's own device; signing in again from it is no news.
    let token = app.login(email).await;
    app.login(email).await;
    expect_alerts(&app, email, &[]).await;

    login_from_new_device(&app, email, "Intruder/1.0").await;
    expect_alerts(&app, email, &["new sign-in"]).await;

    let res = app
        .post_json_as(&token, "/api/v1/me/phone", json!({"phone": PHONE}))
        .await;
    assert_eq!(res.status(), 202);
    let sms = app.latest_code(PHONE).await;
    let res = app
        .post_json_as(&token, "/api/v1/me/phone/confirm", json!({"code": sms}))
        .await;
    assert_eq!(res.status(), 204);
    expect_alerts(&app, email, &["new sign-in", "second factor added"]).await;

    deposit(&app, &account, "ETH", "2").await;
    let email_code = code(&app, &token, "email", "withdrawal", email).await;
    let sms_code = code(&app, &token, "sms", "withdrawal", PHONE).await;
    let res = app
        .post_json_as(
            &token,
            "/api/v1/me/withdrawals",
            json!({"asset": "ETH", "amount": "1", "address": "0x52908400098527886E0F7030069857D2E4169EE7",
                   "email_code": email_code, "sms_code": sms_code}),
        )
        .await;
    assert_eq!(res.status(), 201);

    let res = app
        .post_json_as(&token, "/api/v1/deletion", json!({}))
        .await;
    assert_eq!(res.status(), 201);
    // Resuming the same flow is not a new deletion.
    app.post_json_as(&token, "/api/v1/deletion", json!({}))
        .await;

    let email_code = code(&app, &token, "email", "unbind", email).await;
    let sms_code = code(&app, &token, "sms", "unbind", PHONE).await;
    let res = app
        .delete_json_as(
            &token,
            "/api/v1/me/phone",
            json!({"email_code": email_code, "sms_code": sms_code}),
        )
        .await;
    assert_eq!(res.status(), 204);
    let so_far = [
        "new sign-in",
        "second factor added",
        "withdrawal requested",
        "deletion started",
        "second factor removed",
    ];
    expect_alerts(&app, email, &so_far).await;
    // While the phone was bound, its alerts went by SMS too, with the same kind of link.
    let texts: Vec<String> = outbox(&app, PHONE)
        .await
        .iter()
        .filter_map(|m| m["body"].as_str())
        .filter(|b| b.starts_with("offboard alert:"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        texts.len(),
        3,
        "factor added, withdrawal, factor removed: {texts:?}"
    );
    assert!(texts.iter().all(|t| freeze_path(t).is_some()), "{texts:?}");

    assert_eq!(
        app.post_json("/api/v1/password-reset", json!({"email": email}))
            .await
            .status(),
        202
    );
    let reset = app.latest_code(email).await;
    let res = app
        .post_json(
            "/api/v1/password-reset/confirm",
            json!({"email": email, "code": reset, "new_password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 204);

    let res = app
        .post_json(
            "/api/v1/recovery",
            json!({"email": email, "message": "I lost my phone."}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let lead = add_agent(&app, "lead@support.test", AgentRole::Lead).await;
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
    let res = app
        .post_json_as(&lead_token, &approve, json!({"reason": "called back"}))
        .await;
    assert_eq!(res.status(), 204);
    let mut all = so_far.to_vec();
    all.extend(["password reset", "account recovered"]);
    expect_alerts(&app, email, &all).await;

    // Each alert holds its own token, stored only as a hash, valid 7 days.
    let tokens = app
        .state
        .store
        .freeze_tokens_of(account.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(tokens.len(), all.len());
    assert!(tokens
        .iter()
        .all(
            |(_, made, expires, used)| *expires - *made == time::Duration::days(7)
                && used.is_none()
        ));
}
