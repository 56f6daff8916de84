//! Issue 7: several `offboard` processes on one PostgreSQL database. A journey hops
//! between instances on every request; a job held by a killed instance is finished by
//! the other; 1,000 webhook deliveries to a receiver failing every third request all
//! arrive, each signed. Real processes, a real database, a receiver on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use axum::http::{HeaderMap, StatusCode};
use offboard_core::Clock;
use offboard_store::testing::TestDatabase;
use offboard_store::{Backend, Store};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ADMIN: &str = "instances-admin-token-0123456789abcdefghij";
const PASSWORD: &str = "correct horse battery staple";

struct Instance {
    child: Child,
    base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Instance {
    /// Starts `offboard serve` on `db_url` and waits until it is ready. Every instance
    /// gets the same keys, as a real deployment would from its secret store.
    async fn start(db_url: &str) -> Instance {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_offboard"));
        cmd.current_dir(&dir)
            .arg("serve")
            .env("OFFBOARD_CONFIG", "/nonexistent/offboard.toml")
            .env("OFFBOARD_DATABASE_URL", db_url)
            .env("OFFBOARD_LISTEN", format!("127.0.0.1:{port}"))
            .env("OFFBOARD_MODE", "dev")
            // Both instances must agree on the time: the real clock, not the dev clock.
            .env("OFFBOARD_CLOCK", "system")
            .env("OFFBOARD_CAPTCHA", "never")
            .env("OFFBOARD_ADMIN_TOKEN", ADMIN)
            .env("OFFBOARD_PASSWORD_WORKERS", "1")
            .env("OFFBOARD_JOB_POLL_MS", "50")
            .env("OFFBOARD_JOB_LEASE_SECS", "3")
            .env("OFFBOARD_WEBHOOK_TIMEOUT_SECS", "2")
            .env("OFFBOARD_JOB_RETRY_BASE_MS", "100")
            .env("OFFBOARD_JOB_RETRY_CAP_SECS", "1")
            .env("OFFBOARD_JOB_MAX_ATTEMPTS", "50")
            .env("OFFBOARD_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (i, name) in ["BLIND_INDEX", "DOCUMENT", "RETENTION", "CAPTCHA", "WEBHOOK"]
            .iter()
            .enumerate()
        {
            // Letters, so the environment parser reads each key as text, not a number.
            cmd.env(
                format!("OFFBOARD_{name}_KEY"),
                format!("{:x}", 10 + i).repeat(64),
            );
        }
        let mut instance = Instance {
            child: cmd.spawn().unwrap(),
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = instance.child.try_wait().unwrap() {
                panic!("offboard serve exited before it was ready: {status}");
            }
            if let Ok(res) = client.get(instance.url("/readyz")).send().await {
                if res.status() == 200 {
                    return instance;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("offboard serve did not become ready on {}", instance.base);
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGTERM: a graceful shutdown; waits for the exit status.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap()
    }

    /// SIGKILL: no graceful shutdown, the leases it holds stay behind.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    async fn post(&self, token: Option<&str>, path: &str, body: Value) -> reqwest::Response {
        let mut req = reqwest::Client::new().post(self.url(path)).json(&body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.unwrap()
    }

    async fn register_webhook(&self, url: &str) -> (String, String) {
        let res = self
            .post(
                Some(ADMIN),
                "/api/v1/admin/webhooks",
                json!({"url": url, "events": ["account.deleted"]}),
            )
            .await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        (
            body["webhook_id"].as_str().unwrap().to_owned(),
            body["secret"].as_str().unwrap().to_owned(),
        )
    }

    async fn deliveries(&self, webhook: &str) -> Vec<Value> {
        reqwest::Client::new()
            .get(self.url(&format!(
                "/api/v1/admin/webhooks/{webhook}/deliveries?limit=1000"
            )))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

async fn postgres() -> (TestDatabase, Store) {
    let db = TestDatabase::new(Backend::Postgres)
        .await
        .expect("PostgreSQL for tests (OFFBOARD_TEST_POSTGRES_URL)");
    let store = db.store().await.unwrap();
    (db, store)
}

async fn wait_until(what: &str, secs: u64, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

// R1-R8 across instances: every step may land on either process; R5's resend cooldown
// is in the database, so the other instance refuses it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journey_alternating_between_two_instances_succeeds() {
    let (_db, _store) = postgres().await;
    let a = Instance::start(&_db.url).await;
    let b = Instance::start(&_db.url).await;
    let email = "hopper@example.com";

    let res = a
        .post(
            None,
            "/api/v1/signup",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let res = b
        .post(
            None,
            "/api/v1/login",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let token: String = res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let t = Some(token.as_str());

    let flow: Value = a
        .post(t, "/api/v1/deletion", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let id = flow["id"].as_str().unwrap().to_owned();
    let step = |path: &str| format!("/api/v1/deletion/{id}/{path}");
    let res = b
        .post(t, &step("confirm"), json!({"acknowledged": true}))
        .await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let res = a.post(t, &step("codes"), json!({"channel": "email"})).await;
    assert_eq!(res.status(), 202);
    // The resend cooldown is in the database: the other instance refuses too.
    let res = b.post(t, &step("codes"), json!({"channel": "email"})).await;
    assert_eq!(res.status(), 429, "{:?}", res.text().await);
    let outbox: Vec<Value> = reqwest::get(b.url(&format!("/api/v1/dev/outbox?to={email}")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = outbox.iter().find_map(|m| m["code"].as_str()).unwrap();
    let res = b
        .post(t, &step("verify"), json!({"email_code": code}))
        .await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let res = a
        .post(t, &step("identity"), json!({"password": PASSWORD}))
        .await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let done: Value = res.json().await.unwrap();
    assert_eq!(done["step"], "deleted");
    let res = b
        .post(
            None,
            "/api/v1/login",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 401, "the account is gone on every instance");
}

/// A receiver on loopback that records each request's `webhook-id`.
struct Receiver {
    url: String,
    ids: Arc<Mutex<Vec<String>>>,
}

async fn receiver<F, Fut>(handle: F) -> Receiver
where
    F: Fn(usize, HeaderMap, String, Arc<Mutex<Vec<String>>>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = StatusCode> + Send,
{
    let ids = Arc::new(Mutex::new(Vec::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let shared = ids.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            handle(n, headers, body, shared.clone())
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { url, ids }
}

fn webhook_id(headers: &HeaderMap) -> String {
    headers["webhook-id"].to_str().unwrap().to_owned()
}

// R13: an event delivery survives its instance dying mid-request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_held_by_a_killed_instance_is_finished_by_the_other_once() {
    let (db, store) = postgres().await;
    let mut a = Instance::start(&db.url).await;
    // The first request hangs (its sender dies mid-request); later ones succeed.
    let hook = receiver(
        |n, headers, _body, ids: Arc<Mutex<Vec<String>>>| async move {
            ids.lock().unwrap().push(webhook_id(&headers));
            if n == 1 {
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
            StatusCode::NO_CONTENT
        },
    )
    .await;
    let (webhook, _) = a.register_webhook(&hook.url).await;
    store
        .record_event(
            "account.deleted",
            r#"{"account_id":"killed-test"}"#,
            offboard_core::SystemClock.now(),
        )
        .await
        .unwrap();
    let ids = hook.ids.clone();
    wait_until("instance A is delivering", 30, async || {
        !ids.lock().unwrap().is_empty()
    })
    .await;
    a.kill();

    let b = Instance::start(&db.url).await;
    wait_until(
        "instance B delivered after A's lease ran out",
        30,
        async || {
            b.deliveries(&webhook)
                .await
                .first()
                .is_some_and(|d| d["status"] == "delivered")
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let seen = ids.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "A's attempt and B's: {seen:?}");
    assert_eq!(
        seen[0], seen[1],
        "the same webhook-id, so the effect happens once"
    );
    let delivery = &b.deliveries(&webhook).await[0];
    let job = store
        .job(delivery["delivery_id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (job.state.as_str(), job.attempts),
        ("done", 2),
        "claimed by A, taken over by B"
    );
}

// R13: at-least-once, signed delivery with retries; none lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_deliveries_to_a_flaky_receiver_all_arrive_signed() {
    let (db, store) = postgres().await;
    let a = Instance::start(&db.url).await;
    let b = Instance::start(&db.url).await;
    let secret = Arc::new(Mutex::new(String::new()));
    let bad = Arc::new(AtomicUsize::new(0));
    let (s, bad2) = (secret.clone(), bad.clone());
    let hook = receiver(
        move |n, headers, body: String, ids: Arc<Mutex<Vec<String>>>| {
            let (s, bad) = (s.clone(), bad2.clone());
            async move {
                if n % 3 == 0 {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                let key = s.lock().unwrap().clone();
                let verified = standardwebhooks::Webhook::new(&key)
                    .and_then(|w| w.verify(body.as_bytes(), &headers))
                    .is_ok();
                if !verified {
                    bad.fetch_add(1, Ordering::SeqCst);
                    return StatusCode::BAD_REQUEST;
                }
                ids.lock().unwrap().push(webhook_id(&headers));
                StatusCode::NO_CONTENT
            }
        },
    )
    .await;
    let (webhook, key) = a.register_webhook(&hook.url).await;
    *secret.lock().unwrap() = key;
    let mut events = HashSet::new();
    for i in 0..1000 {
        let id = store
            .record_event(
                "account.deleted",
                &format!(r#"{{"account_id":"acct-{i}"}}"#),
                offboard_core::SystemClock.now(),
            )
            .await
            .unwrap();
        events.insert(id);
    }
    let ids = hook.ids.clone();
    wait_until("every event arrived", 240, async || {
        ids.lock().unwrap().iter().collect::<HashSet<_>>().len() >= 1000
    })
    .await;
    let arrived: HashSet<String> = ids.lock().unwrap().iter().cloned().collect();
    assert_eq!(
        arrived, events,
        "each event arrived, none lost, none invented"
    );
    assert_eq!(
        bad.load(Ordering::SeqCst),
        0,
        "every delivery verified by its signature"
    );
    wait_until("every delivery is recorded as delivered", 60, async || {
        let rows = b.deliveries(&webhook).await;
        rows.len() == 1000 && rows.iter().all(|d| d["status"] == "delivered")
    })
    .await;
}

// R13 and graceful shutdown: the delivery in hand is finished, not abandoned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_delivery_in_hand_before_exiting() {
    let (db, store) = postgres().await;
    let mut a = Instance::start(&db.url).await;
    // The receiver takes a second to answer: long enough for SIGTERM to arrive mid-request.
    let hook = receiver(
        |_n, headers, _body, ids: Arc<Mutex<Vec<String>>>| async move {
            ids.lock().unwrap().push(webhook_id(&headers));
            tokio::time::sleep(Duration::from_millis(1000)).await;
            StatusCode::NO_CONTENT
        },
    )
    .await;
    let (webhook, _) = a.register_webhook(&hook.url).await;
    store
        .record_event(
            "account.deleted",
            r#"{"account_id":"graceful"}"#,
            offboard_core::SystemClock.now(),
        )
        .await
        .unwrap();
    let ids = hook.ids.clone();
    wait_until("the delivery is in flight", 30, async || {
        !ids.lock().unwrap().is_empty()
    })
    .await;
    let status = a.terminate();
    assert!(status.success(), "a clean exit: {status}");
    let rows = store.deliveries_of(&webhook, 10).await.unwrap();
    assert_eq!(
        (rows[0].status.as_str(), rows[0].attempts),
        ("delivered", 1),
        "the job in hand was finished, not abandoned"
    );
    let job = store.job(&rows[0].id).await.unwrap().unwrap();
    assert_eq!((job.state.as_str(), job.lease_owner), ("done", None));
    assert_eq!(ids.lock().unwrap().len(), 1, "sent once");
}
