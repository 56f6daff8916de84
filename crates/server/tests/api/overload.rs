//! Issue 18: the argon2id queue is bounded. Logins and sign-ups beyond it are refused at
//! once with `503` `unavailable` and `Retry-After` (API.md), before they write anything,
//! and the admitted ones finish normally. (How fast the refusal is, is measured by the
//! bench's storm scenario, not here.)

use crate::both_backends;
use crate::helpers::{spawn_app_with, TestApp, PASSWORD};
use crate::identity::Db;
use offboard_store::Backend;
use serde_json::{json, Value};

/// One hashing thread admitting two jobs: a burst of a dozen cannot all be admitted.
async fn small_queue(backend: Backend) -> TestApp {
    spawn_app_with(backend, |config| {
        config.password_workers = 1;
        config.password_queue = 2;
    })
    .await
}

/// Each answer's status, and that every refusal is the contract's 503.
async fn statuses(responses: Vec<reqwest::Response>) -> Vec<u16> {
    let mut statuses = Vec::new();
    for response in responses {
        let status = response.status().as_u16();
        if status == 503 {
            let retry_after = response.headers().get("retry-after").cloned();
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "unavailable", "{body}");
            assert!(retry_after.is_some(), "a refusal says when to retry");
        }
        statuses.push(status);
    }
    statuses
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

async fn a_login_burst_beyond_the_hash_queue_is_refused_at_once(backend: Backend) {
    let app = small_queue(backend).await;
    app.signup("storm@example.com").await;
    let before = app.state.hashing.verifications();
    let logins = (0..12).map(|_| {
        app.post_json(
            "/api/v1/login",
            json!({"email": "storm@example.com", "password": PASSWORD}),
        )
    });
    let statuses = statuses(futures::future::join_all(logins).await).await;
    let (signed_in, refused) = (count(&statuses, 200), count(&statuses, 503));
    assert_eq!(signed_in + refused, statuses.len(), "{statuses:?}");
    assert!(signed_in >= 1, "the admitted logins sign in: {statuses:?}");
    assert!(
        refused >= 1,
        "twelve at once overflow a queue of two: {statuses:?}"
    );
    // A refused login hashed nothing and charged no throttle attempt (R3's budget is
    // for passwords tried, not for a busy server).
    let verified = app.state.hashing.verifications() - before;
    assert_eq!(verified, signed_in as u64, "{statuses:?}");
    let db = Db::open(&app).await;
    assert_eq!(db.count("login_attempts").await, 0);
    assert_eq!(db.count("sessions").await, signed_in as i64);
    db.close().await;
}

async fn a_signup_burst_beyond_the_hash_queue_creates_only_the_admitted(backend: Backend) {
    let app = small_queue(backend).await;
    let signups = (0..12).map(|i| {
        app.post_json(
            "/api/v1/signup",
            json!({"email": format!("burst{i}@example.com"), "password": PASSWORD}),
        )
    });
    let statuses = statuses(futures::future::join_all(signups).await).await;
    let (created, refused) = (count(&statuses, 201), count(&statuses, 503));
    assert_eq!(created + refused, statuses.len(), "{statuses:?}");
    assert!(created >= 1 && refused >= 1, "{statuses:?}");
    let db = Db::open(&app).await;
    assert_eq!(db.count("accounts").await, created as i64);
    db.close().await;
}

both_backends!(
    a_login_burst_beyond_the_hash_queue_is_refused_at_once,
    a_signup_burst_beyond_the_hash_queue_creates_only_the_admitted,
);
