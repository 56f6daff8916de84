//! Issue 7 in one process, on both databases: the job runner delivers events to webhooks
//! signed the Standard Webhooks way (R13), retries, dead letters and replays; the purge
//! and clean-up jobs (R9, R10); `/metrics`. The API through the typed client; `/metrics`
//! (text and headers) and a body without `events` on raw HTTP.

use crate::both_backends;
use crate::deletion::{id_number, to_identity, user, ID};
use crate::helpers::{api_error, error_code, refused, spawn_app_with, TestApp, PASSWORD};
use crate::identity::Db;
use crate::ledger::{admin_post, ADMIN};
use axum::http::{HeaderMap, StatusCode};
use offboard_client::{Channel, Client, CodePurpose, Delivery};
use offboard_store::Backend;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

both_backends!(
    deletion_events_reach_webhooks_signed,
    failed_deliveries_retry_die_and_replay,
    the_webhook_admin_api_validates_and_guards,
    metrics_need_the_admin_token_and_count,
    purge_and_cleanup_jobs_run_in_the_background,
    settings_webhooks_are_signed_with_the_webhook_key,
);

/// An app whose job runner polls quickly and retries at once.
async fn app(backend: Backend, max_attempts: i64) -> TestApp {
    spawn_app_with(backend, move |c| {
        c.admin_token = Some(secrecy::SecretString::from(ADMIN));
        c.deletion.captcha = offboard_app::config::CaptchaPolicy::Never;
        c.jobs.run = true;
        c.jobs.poll = Duration::from_millis(50);
        c.jobs.retry_base = time::Duration::milliseconds(10);
        c.jobs.retry_cap = time::Duration::milliseconds(50);
        c.jobs.max_attempts = max_attempts;
        c.jobs.webhook_timeout = Duration::from_secs(5);
    })
    .await
}

/// A webhook receiver on loopback: records every request; answers 200, or 500 while
/// `failing` is set.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    failing: Arc<AtomicBool>,
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        let receiver = Receiver::default();
        let r = receiver.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let r = r.clone();
                async move {
                    r.seen.lock().unwrap().push((headers, body));
                    if r.failing.load(Ordering::SeqCst) {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::NO_CONTENT
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn seen(&self) -> Vec<(HeaderMap, String)> {
        self.seen.lock().unwrap().clone()
    }

    async fn wait_for(&self, n: usize) -> Vec<(HeaderMap, String)> {
        for _ in 0..400 {
            if self.seen().len() >= n {
                return self.seen();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the receiver got {} requests, not {n}", self.seen().len());
    }
}

async fn register(app: &TestApp, url: &str, events: &[&str]) -> (String, String) {
    let created = app.client().admin_register_webhook(url, events).await;
    let created = created.unwrap();
    (created.webhook_id, created.secret)
}

async fn deliveries(app: &TestApp, webhook: &str) -> Vec<Delivery> {
    let rows = app.client().admin_webhook_deliveries(webhook).await;
    rows.unwrap()
}

async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..400 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

// R13: starting and finishing a deletion reach the endpoint, signed; no personal data.
async fn deletion_events_reach_webhooks_signed(backend: Backend) {
    let app = app(backend, 5).await;
    let (receiver, url) = Receiver::start().await;
    let (webhook, secret) =
        register(&app, &url, &["account.deleted", "account.deletion_started"]).await;
    assert!(secret.starts_with("whsec_"));
    let email = "hooked@example.com";
    let (account, token) = user(&app, email).await;
    let flow = to_identity(&app, &token, email).await;
    let api = app.client_as(&token);
    api.deletion_identity(&flow, &id_number(ID)).await.unwrap();

    let seen = receiver.wait_for(2).await;
    let verifier = standardwebhooks::Webhook::new(&secret).unwrap();
    let mut types = Vec::new();
    for (headers, body) in &seen {
        verifier
            .verify(body.as_bytes(), headers)
            .expect("a valid Standard Webhooks signature");
        let event: Value = serde_json::from_str(body).unwrap();
        assert_eq!(event["data"]["account_id"], account.as_str());
        assert!(
            !body.contains(email) && !body.contains("X12"),
            "no personal data: {body}"
        );
        types.push(event["type"].as_str().unwrap().to_owned());
    }
    types.sort();
    assert_eq!(types, ["account.deleted", "account.deletion_started"]);
    // A forged signature fails the same check.
    let (mut headers, body) = seen[0].clone();
    headers.insert("webhook-signature", "v1,AAAA".parse().unwrap());
    assert!(verifier.verify(body.as_bytes(), &headers).is_err());

    wait_until("both deliveries are recorded as delivered", async || {
        let rows = deliveries(&app, &webhook).await;
        rows.len() == 2
            && rows
                .iter()
                .all(|d| d.status == "delivered" && d.attempts == 1)
    })
    .await;
    let rows = deliveries(&app, &webhook).await;
    let ids: Vec<&str> = seen
        .iter()
        .map(|(h, _)| h["webhook-id"].to_str().unwrap())
        .collect();
    for row in &rows {
        assert!(
            ids.contains(&row.event_id.as_str()),
            "webhook-id is the event id"
        );
    }
}

// R13: failures are retried with backoff, then dead; a replay delivers it.
async fn failed_deliveries_retry_die_and_replay(backend: Backend) {
    let app = app(backend, 3).await;
    let (receiver, url) = Receiver::start().await;
    receiver.failing.store(true, Ordering::SeqCst);
    let (webhook, _) = register(&app, &url, &["account.recovered"]).await;
    app.state
        .store
        .record_event(
            "account.recovered",
            r#"{"account_id":"a1"}"#,
            app.state.now(),
        )
        .await
        .unwrap();
    wait_until("the delivery is dead", async || {
        deliveries(&app, &webhook)
            .await
            .first()
            .is_some_and(|d| d.status == "dead")
    })
    .await;
    let row = deliveries(&app, &webhook).await.remove(0);
    assert_eq!((row.attempts, row.last_status), (3, Some(500)));
    let seen = receiver.seen();
    assert_eq!(seen.len(), 3, "three attempts, then it stops");
    assert!(
        seen.iter()
            .all(|(h, _)| h["webhook-id"] == seen[0].0["webhook-id"]),
        "every attempt carries the same webhook-id, so receivers deduplicate"
    );

    receiver.failing.store(false, Ordering::SeqCst);
    let admin = app.client();
    admin.admin_replay_delivery(&row.delivery_id).await.unwrap();
    wait_until("the replay is delivered", async || {
        deliveries(&app, &webhook).await[0].status == "delivered"
    })
    .await;
    refused(
        admin.admin_replay_delivery(&row.delivery_id).await,
        409,
        "not_dead",
    );
}

async fn the_webhook_admin_api_validates_and_guards(backend: Backend) {
    let app = app(backend, 3).await;
    let deleted = ["account.deleted"];
    let no_token = Client::new(&app.address).unwrap();
    let res = no_token
        .admin_register_webhook("http://127.0.0.1:9/x", &deleted)
        .await;
    assert_eq!(res.unwrap_err().status(), Some(401));
    let admin = app.client();
    for (url, events, field) in [
        ("ftp://example.com/x", &deleted[..], "url"),
        ("not a url", &deleted[..], "url"),
        ("https://example.com/x", &[][..], "events"),
        ("https://example.com/x", &["account.created"][..], "events"),
    ] {
        let err = api_error(admin.admin_register_webhook(url, events).await);
        assert_eq!(
            (err.status, err.detail_str("field")),
            (422, Some(field)),
            "{err}"
        );
    }
    // Raw: a body without `events` at all.
    let (status, _) = error_code(
        admin_post(
            &app,
            "/api/v1/admin/webhooks",
            json!({"url": "https://example.com"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "events are required");
    let (webhook, secret) = register(&app, "https://example.com/hook", &deleted).await;
    // Raw: the whole listing is searched for the secret.
    let listed: Value = app
        .api
        .get(app.url("/api/v1/admin/webhooks"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["webhook_id"], webhook.as_str());
    assert!(
        !listed.to_string().contains(&secret[6..]),
        "the secret is shown once"
    );
    let unknown = admin.admin_webhook_deliveries("wh_nope").await;
    assert_eq!(unknown.unwrap_err().status(), Some(404));
    let err = api_error(admin.admin_replay_delivery("nope").await);
    assert_eq!(err.status, 409);
}

async fn metrics_need_the_admin_token_and_count(backend: Backend) {
    let app = app(backend, 3).await;
    assert_eq!(
        app.api
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let email = "metrics@example.com";
    let api = app.user(email).await.api;
    api.send_code(Channel::Email, CodePurpose::Withdrawal)
        .await
        .unwrap();
    let res = app
        .api
        .get(app.url("/metrics"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = res.text().await.unwrap();
    for needle in [
        r#"offboard_http_requests_total{route="/api/v1/signup",method="POST",status="201"}"#,
        "offboard_http_request_duration_seconds_bucket{route=\"/api/v1/login\"",
        r#"offboard_codes_sent_total{channel="email"}"#,
        r#"offboard_jobs{state="queued"}"#,
        "offboard_webhook_lag_seconds",
    ] {
        assert!(text.contains(needle), "/metrics lacks {needle}:\n{text}");
    }
    assert!(!text.contains(email), "no personal data in metrics");
}

// R9, R10 by the job runner: tombstones go after the wait (and the person may sign up
// again), retained records after their period; expired sessions are cleaned up.
async fn purge_and_cleanup_jobs_run_in_the_background(backend: Backend) {
    let app = app(backend, 3).await;
    let email = "purged-by-job@example.com";
    let (account, token) = user(&app, email).await;
    let flow = to_identity(&app, &token, email).await;
    let api = app.client_as(&token);
    api.deletion_identity(&flow, &id_number(ID)).await.unwrap();
    let bystander = "still-here@example.com";
    app.signup(bystander).await;
    app.login(bystander).await;
    let db = Db::open(&app).await;
    assert_eq!(db.count("tombstones").await, 2);
    assert_eq!(db.count("sessions").await, 1, "the bystander's session");
    let account: offboard_core::AccountId = account.parse().unwrap();

    app.advance(30 * 24 * 3600 + 60).await;
    wait_until("the purge job removed the tombstones", async || {
        db.count("tombstones").await == 0
    })
    .await;
    wait_until(
        "the clean-up job removed the expired sessions",
        async || db.count("sessions").await == 0,
    )
    .await;
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
    app.client()
        .signup(email, PASSWORD)
        .await
        .expect("re-registration after the purge");

    app.advance(5 * 366 * 24 * 3600).await;
    wait_until("the purge job removed the retained records", async || {
        app.state
            .store
            .retained_records(account)
            .await
            .unwrap()
            .is_empty()
    })
    .await;
    assert_eq!(
        db.count("retention_keys").await,
        0,
        "and their keys (crypto-shredding)"
    );
    db.close().await;
}

// R13: an endpoint from the settings file, signed with the webhook key.
async fn settings_webhooks_are_signed_with_the_webhook_key(backend: Backend) {
    let (receiver, url) = Receiver::start().await;
    let app = spawn_app_with(backend, move |c| {
        c.admin_token = Some(secrecy::SecretString::from(ADMIN));
        c.jobs.run = true;
        c.jobs.poll = Duration::from_millis(50);
        c.webhooks = vec![offboard_app::config::SettingsWebhook {
            url,
            events: vec!["account.recovered".into()],
        }];
    })
    .await;
    // Written at start; listed with its source.
    let listed = app.client().admin_webhooks().await.unwrap();
    assert_eq!(listed[0].source, "settings");
    app.state
        .store
        .record_event(
            "account.recovered",
            r#"{"account_id":"s1"}"#,
            app.state.now(),
        )
        .await
        .unwrap();
    let seen = receiver.wait_for(1).await;
    let secret = offboard_app::webhooks::settings_secret(&app.state.config.keys.webhook);
    standardwebhooks::Webhook::new(&secret)
        .unwrap()
        .verify(seen[0].1.as_bytes(), &seen[0].0)
        .expect("signed with whsec_ + base64 of the webhook key");
}
