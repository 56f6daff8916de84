//! `spawn_app`: the real application on port 0, over a throw-away SQLite file or a fresh
//! PostgreSQL database, with the dev clock and the dev outbox.

use offboard_core::DevClock;
use offboard_server::{AppState, Application, Mode, ServerConfig};
use offboard_store::testing::TestDatabase;
use offboard_store::Backend;
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use std::sync::Arc;

/// Runs each listed `async fn name(backend: Backend)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(offboard_store::Backend::Sqlite).await } )* }
        mod postgres { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(offboard_store::Backend::Postgres).await } )* }
    };
}

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub address: String,
    /// A plain API client: no cookies, no redirects followed.
    pub api: reqwest::Client,
    pub state: AppState,
    /// The test database's URL, for tests that inspect the tables directly.
    pub db_url: String,
    /// The newest authenticator step handed out per secret (see [`TestApp::next_totp`]).
    totp_steps: std::sync::Mutex<std::collections::HashMap<String, i64>>,
    _db: TestDatabase,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(
    backend: Backend,
    configure: impl FnOnce(&mut ServerConfig),
) -> TestApp {
    let db = TestDatabase::new(backend).await.expect("test database");
    let store = db.store().await.expect("store");
    let mut config = ServerConfig::dev_defaults();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.password_workers = 2;
    // The job runner polls in the background; tests that exercise it switch it on, the
    // rest stay deterministic (the requests that queue mail still send it at once).
    config.jobs.run = false;
    configure(&mut config);
    let dev_clock = Arc::new(DevClock::new());
    let app = Application::build(config, store, Some(dev_clock))
        .await
        .expect("build app");
    let address = format!("http://{}", app.address());
    let state = app.state().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        address,
        api: client(false),
        state,
        db_url: db.url.clone(),
        totp_steps: Default::default(),
        _db: db,
    }
}

/// A client; with `cookies` it behaves like a browser session (cookie jar).
pub fn client(cookies: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(cookies)
        .build()
        .unwrap()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn is_production(&self) -> bool {
        self.state.config.mode == Mode::Production
    }

    pub async fn post_json(&self, path: &str, body: Value) -> reqwest::Response {
        self.api
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json_as(&self, token: &str, path: &str, body: Value) -> reqwest::Response {
        self.api
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_as(&self, token: &str, path: &str) -> reqwest::Response {
        self.api
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn signup(&self, email: &str) -> String {
        let res = self
            .post_json(
                "/api/v1/signup",
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status(), 201, "signup of {email}");
        res.json::<Value>().await.unwrap()["account_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn login(&self, email: &str) -> String {
        let res = self
            .post_json(
                "/api/v1/login",
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status(), 200, "login of {email}");
        res.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn advance(&self, seconds: i64) {
        let res = self
            .post_json("/api/v1/dev/clock", json!({"advance_seconds": seconds}))
            .await;
        assert_eq!(res.status(), 200);
    }

    /// GETs a page with a browser-like client and returns the CSRF token in its forms.
    pub async fn csrf_token(&self, browser: &reqwest::Client, path: &str) -> String {
        let html = browser
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        extract_csrf(&html).expect("a csrf_token field on the page")
    }
}

pub fn extract_csrf(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// An error body's `error.code`, checking the API.md shape on the way.
pub async fn error_code(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.expect("a JSON error body");
    let error = &body["error"];
    assert!(error["code"].is_string(), "error.code in {body}");
    assert!(error["message"].is_string(), "error.message in {body}");
    (status, body)
}

/// Headers minus the ones that legitimately differ between two answers.
pub fn comparable(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut out: Vec<_> = headers
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "date" | "set-cookie"))
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    out.sort();
    out
}

impl TestApp {
    /// The newest one-time code the dev outbox holds for this address or phone.
    pub async fn latest_code(&self, to: &str) -> String {
        let messages: Vec<Value> = self
            .api
            .get(self.url(&format!("/api/v1/dev/outbox?to={}", urlencode(to))))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        messages
            .iter()
            .find_map(|m| m["code"].as_str())
            .unwrap_or_else(|| panic!("no code in the outbox for {to}: {messages:?}"))
            .to_owned()
    }

    /// The authenticator code for the real current time (optionally some steps away): the
    /// server judges codes by the real time, whatever its dev clock says.
    pub fn totp_now(&self, secret: &str, step_offset: i64) -> String {
        let step = offboard_core::totp::step_of(self.state.authenticator_now()) + step_offset;
        offboard_core::totp::code_at_step(secret, step).unwrap()
    }

    pub async fn delete_json_as(&self, token: &str, path: &str, body: Value) -> reqwest::Response {
        self.api
            .delete(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// A code of a real-time step this test has not handed out for `secret` yet: the
    /// current one, else the next (the server accepts one step of skew; never a step in
    /// the past, which a step boundary between here and the server could push out of the
    /// window). Waits for the next 30-second step when both are used (the server never accepts a step
    /// twice, and it judges codes by the real time, not the dev clock).
    pub async fn next_totp(&self, secret: &str) -> String {
        use offboard_core::totp::{code_at_step, step_of, SKEW_STEPS, STEP_SECONDS};
        loop {
            let now = self.state.authenticator_now();
            let current = step_of(now);
            let step = {
                let mut steps = self.totp_steps.lock().unwrap();
                let candidate = steps
                    .get(secret)
                    .map_or(current, |last| (last + 1).max(current));
                (candidate <= current + SKEW_STEPS).then(|| {
                    steps.insert(secret.to_owned(), candidate);
                    candidate
                })
            };
            if let Some(step) = step {
                return code_at_step(secret, step).unwrap();
            }
            let wait = (current + 1) * STEP_SECONDS - now.unix_timestamp();
            tokio::time::sleep(std::time::Duration::from_millis(
                wait.max(0) as u64 * 1000 + 50,
            ))
            .await;
        }
    }

    /// Signs up, logs in, binds an authenticator; returns (token, secret).
    pub async fn user_with_totp(&self, email: &str) -> (String, String) {
        self.signup(email).await;
        let token = self.login(email).await;
        let setup: Value = self
            .post_json_as(&token, "/api/v1/me/totp", json!({}))
            .await
            .json()
            .await
            .unwrap();
        let secret = setup["secret"].as_str().unwrap().to_owned();
        let res = self
            .post_json_as(
                &token,
                "/api/v1/me/totp/confirm",
                json!({"code": self.next_totp(&secret).await}),
            )
            .await;
        assert_eq!(res.status(), 204);
        (token, secret)
    }
}

pub fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace('@', "%40")
}
