//! `spawn_app`: the real application on port 0, over a throw-away SQLite file or a fresh
//! PostgreSQL database, with the dev clock and the dev outbox; its typed client
//! ([`TestApp::client`], offboard-client) that tests drive whole behaviours with, and the
//! raw `reqwest` client for the tests of the wire itself (malformed bodies, headers, bytes).

use offboard_client::{journey, ApiError, Client, ClientError};
use offboard_core::DevClock;
use offboard_server::{AppState, Application, Mode, ServerConfig};
use offboard_store::testing::TestDatabase;
use offboard_store::Backend;
use reqwest::header::HeaderMap;
use secrecy::ExposeSecret;
use serde_json::Value;
use std::fmt::Debug;
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

    pub async fn delete_json_as(&self, token: &str, path: &str, body: Value) -> reqwest::Response {
        self.api
            .delete(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// The typed client of this server, without a session; it carries the admin token
    /// when the server has one, so admin requests work from it and every clone.
    pub fn client(&self) -> Client {
        let mut builder = Client::builder(&self.address);
        if let Some(token) = &self.state.config.admin_token {
            builder = builder.admin_token(token.expose_secret());
        }
        builder.build().unwrap()
    }

    /// [`TestApp::client`] with a session token (a user's or an agent's).
    pub fn client_as(&self, token: &str) -> Client {
        self.client().with_session(token)
    }

    /// Signs up with [`PASSWORD`] and logs in: the journey's signed-in user handle.
    pub async fn user(&self, email: &str) -> journey::User {
        journey::sign_up(&self.client(), email, PASSWORD)
            .await
            .unwrap_or_else(|e| panic!("sign-up and login of {email}: {e}"))
    }

    /// Signs up with [`PASSWORD`]; the account id.
    pub async fn signup(&self, email: &str) -> String {
        let signed_up = self.client().signup(email, PASSWORD).await;
        signed_up
            .unwrap_or_else(|e| panic!("signup of {email}: {e}"))
            .account_id
    }

    /// Logs in with [`PASSWORD`]; the session token.
    pub async fn login(&self, email: &str) -> String {
        let session = self.client().login(email, PASSWORD).await;
        session
            .unwrap_or_else(|e| panic!("login of {email}: {e}"))
            .token
    }

    pub async fn advance(&self, seconds: i64) {
        self.client().dev_advance_clock(seconds).await.unwrap();
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
        self.client()
            .latest_code(to)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The authenticator code for the real current time (optionally some steps away): the
    /// server judges codes by the real time, whatever its dev clock says.
    pub fn totp_now(&self, secret: &str, step_offset: i64) -> String {
        let step = offboard_core::totp::step_of(self.state.authenticator_now()) + step_offset;
        offboard_core::totp::code_at_step(secret, step).unwrap()
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
        let api = self.client_as(&token);
        let secret = api.totp_begin().await.unwrap().secret;
        api.totp_confirm(&self.next_totp(&secret).await)
            .await
            .unwrap();
        (token, secret)
    }
}

/// The contract error `result` ended in; panics when it succeeded or ended otherwise
/// (transport, a body outside the contract).
#[track_caller]
pub fn api_error<T: Debug>(result: Result<T, ClientError>) -> ApiError {
    match result {
        Err(ClientError::Api { error, .. }) => *error,
        other => panic!("expected a contract error, got {other:?}"),
    }
}

/// [`api_error`], checking its status and code; the error, for its details.
#[track_caller]
pub fn refused<T: Debug>(result: Result<T, ClientError>, status: u16, code: &str) -> ApiError {
    let error = api_error(result);
    assert_eq!(
        (error.status, error.code.as_str()),
        (status, code),
        "{error}: {:?}",
        error.details
    );
    error
}

pub fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace('@', "%40")
}

/// A burst of wrong passwords: every answer is a 401 or, where the bounded hash queue
/// (two threads, four places each) was full, a 503 refused before it was counted or
/// checked, so nothing is let through. Returns how many answers carry `Retry-After`.
pub fn wrong_password_burst_refused(responses: &[reqwest::Response]) -> usize {
    assert!(
        responses
            .iter()
            .all(|r| r.status() == 401 || r.status() == 503),
        "{:?}",
        responses.iter().map(|r| r.status()).collect::<Vec<_>>()
    );
    responses
        .iter()
        .filter(|r| r.headers().contains_key("retry-after"))
        .count()
}
