//! The [`Client`]: one server's base URL, the credentials requests go out with (a user's
//! or agent's bearer session, the host's admin token), the `X-Forwarded-For` address it
//! speaks for, and an optional observer told of every request. Redirects are never
//! followed. The request methods live beside their types, one module per resource.

use crate::error::{snippet, ApiError, ClientError};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::RETRY_AFTER;
use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a request ended, as the observer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An answer with this status arrived and its body was read.
    Status(u16),
    /// No answer (connection refused, timeout, ...).
    Transport,
    /// Work on the client, not a request (e.g. solving the captcha).
    Local,
}

/// One timed request (or piece of client work), for the observer.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    /// The request's name: the method's documented name, e.g. `deletion_verify`.
    pub name: &'static str,
    /// When the request was sent.
    pub started: Instant,
    /// From sending to the end of the answer's body.
    pub elapsed: Duration,
    pub outcome: Outcome,
}

/// Told of every request a client (and its clones) sends, after the answer's body is read.
pub type Observer = Arc<dyn Fn(&Event) + Send + Sync>;

/// A typed client of offboard's JSON API. Cheap to clone; clones share one connection
/// pool, and the `with_*` methods give a clone with one thing changed.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Arc<str>,
    session: Option<Arc<str>>,
    admin_token: Option<Arc<str>>,
    forwarded_for: Option<Arc<str>>,
    observer: Option<Observer>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("session", &self.session.as_ref().map(|_| "***"))
            .field("admin_token", &self.admin_token.as_ref().map(|_| "***"))
            .field("forwarded_for", &self.forwarded_for)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

/// Settings of a [`Client`]; [`Client::builder`] starts one.
pub struct ClientBuilder {
    base: String,
    session: Option<String>,
    admin_token: Option<String>,
    forwarded_for: Option<String>,
    observer: Option<Observer>,
    timeout: Duration,
    pool_max_idle_per_host: usize,
    cookies: bool,
}

impl ClientBuilder {
    /// Bearer token of the host/admin API (`OFFBOARD_ADMIN_TOKEN`), sent on admin requests.
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_token = Some(token.into());
        self
    }

    /// A session token (from login or support login), sent on user and agent requests.
    pub fn session(mut self, token: impl Into<String>) -> Self {
        self.session = Some(token.into());
        self
    }

    /// The client address to send in `X-Forwarded-For` (the server believes it only
    /// with `trust_forwarded_for`, as behind a reverse proxy).
    pub fn forwarded_for(mut self, address: impl Into<String>) -> Self {
        self.forwarded_for = Some(address.into());
        self
    }

    pub fn observer(mut self, observer: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// The whole request's limit; 30 seconds unless set.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Idle connections kept per host (many virtual users: raise it).
    pub fn pool_max_idle_per_host(mut self, n: usize) -> Self {
        self.pool_max_idle_per_host = n;
        self
    }

    /// Keep cookies like a browser (the API itself needs none).
    pub fn cookie_store(mut self, on: bool) -> Self {
        self.cookies = on;
        self
    }

    pub fn build(self) -> Result<Client, ClientError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .tcp_nodelay(true)
            .pool_max_idle_per_host(self.pool_max_idle_per_host)
            .cookie_store(self.cookies)
            .build()
            .map_err(|source| ClientError::Transport {
                request: "client_build",
                source,
            })?;
        Ok(Client {
            http,
            base: Arc::from(self.base.trim_end_matches('/')),
            session: self.session.map(Arc::from),
            admin_token: self.admin_token.map(Arc::from),
            forwarded_for: self.forwarded_for.map(Arc::from),
            observer: self.observer,
        })
    }
}

/// The credential a request goes out with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    /// None (sign-up, login, the dev routes).
    Public,
    /// The session token, if the client has one (user and agent requests).
    Session,
    /// The admin token, if the client has one.
    Admin,
}

/// What a path segment may hold unescaped (RFC 3986 unreserved characters).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `text` escaped for use as one path segment (ids come from the server, but a test may
/// send anything).
pub(crate) fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

impl Client {
    /// A builder for the server at `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn builder(base_url: &str) -> ClientBuilder {
        ClientBuilder {
            base: base_url.to_owned(),
            session: None,
            admin_token: None,
            forwarded_for: None,
            observer: None,
            timeout: Duration::from_secs(30),
            pool_max_idle_per_host: 64,
            cookies: false,
        }
    }

    /// A client with the defaults: no credentials, no observer.
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        Self::builder(base_url).build()
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The session token requests go out with, if any.
    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// This client with a session token (e.g. [`crate::LoggedIn::token`]).
    pub fn with_session(&self, token: &str) -> Self {
        Self {
            session: Some(Arc::from(token)),
            ..self.clone()
        }
    }

    pub fn without_session(&self) -> Self {
        Self {
            session: None,
            ..self.clone()
        }
    }

    pub fn with_admin_token(&self, token: &str) -> Self {
        Self {
            admin_token: Some(Arc::from(token)),
            ..self.clone()
        }
    }

    pub fn with_forwarded_for(&self, address: &str) -> Self {
        Self {
            forwarded_for: Some(Arc::from(address)),
            ..self.clone()
        }
    }

    /// This client with another observer (replacing the one it had).
    pub fn with_observer(&self, observer: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        Self {
            observer: Some(Arc::new(observer)),
            ..self.clone()
        }
    }

    pub fn without_observer(&self) -> Self {
        Self {
            observer: None,
            ..self.clone()
        }
    }

    /// Tells the observer of client-side work that began at `started` (e.g. the journey's
    /// `captcha_solve (client)`).
    pub fn observe_local(&self, name: &'static str, started: Instant) {
        self.observe(name, started, Outcome::Local);
    }

    fn observe(&self, name: &'static str, started: Instant, outcome: Outcome) {
        if let Some(observer) = &self.observer {
            observer(&Event {
                name,
                started,
                elapsed: started.elapsed(),
                outcome,
            });
        }
    }

    /// A request to `path` (starting with `/`) with this client's address and `auth`.
    pub(crate) fn request(&self, method: Method, path: &str, auth: Auth) -> RequestBuilder {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(address) = &self.forwarded_for {
            req = req.header("x-forwarded-for", &**address);
        }
        let token = match auth {
            Auth::Public => None,
            Auth::Session => self.session.as_deref(),
            Auth::Admin => self.admin_token.as_deref(),
        };
        match token {
            Some(token) => req.bearer_auth(token),
            None => req,
        }
    }

    /// Sends `req` as request `name`; the body of an answer with status `expect`, else the
    /// error (the contract's, or [`ClientError::Unexpected`]).
    pub(crate) async fn send(
        &self,
        name: &'static str,
        req: RequestBuilder,
        expect: u16,
    ) -> Result<Vec<u8>, ClientError> {
        let started = Instant::now();
        let answer = async {
            let res = req.send().await?;
            let status = res.status().as_u16();
            let retry_after = res
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let body = res.bytes().await?;
            Ok::<_, reqwest::Error>((status, retry_after, body))
        }
        .await;
        let (status, retry_after, body) = match answer {
            Ok(answer) => answer,
            Err(source) => {
                self.observe(name, started, Outcome::Transport);
                return Err(ClientError::Transport {
                    request: name,
                    source,
                });
            }
        };
        self.observe(name, started, Outcome::Status(status));
        if status == expect {
            return Ok(body.to_vec());
        }
        match ApiError::parse(status, &body) {
            Some(mut error) if status >= 400 => {
                error.retry_after = retry_after;
                Err(ClientError::Api {
                    request: name,
                    error: Box::new(error),
                })
            }
            _ => Err(ClientError::Unexpected {
                request: name,
                status,
                expected: expect,
                body: snippet(&body),
            }),
        }
    }

    /// [`Self::send`], then the answer decoded as `T`.
    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        name: &'static str,
        req: RequestBuilder,
        expect: u16,
    ) -> Result<T, ClientError> {
        let body = self.send(name, req, expect).await?;
        decode(name, &body)
    }

    /// [`Self::send`] for answers whose body does not matter (204, 202 without a body).
    pub(crate) async fn send_empty(
        &self,
        name: &'static str,
        req: RequestBuilder,
        expect: u16,
    ) -> Result<(), ClientError> {
        self.send(name, req, expect).await.map(drop)
    }

    /// A JSON POST answered with JSON.
    pub(crate) async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        name: &'static str,
        path: &str,
        auth: Auth,
        body: &B,
        expect: u16,
    ) -> Result<T, ClientError> {
        let req = self.request(Method::POST, path, auth).json(body);
        self.send_json(name, req, expect).await
    }

    /// A JSON POST whose answer has no body that matters.
    pub(crate) async fn post_empty<B: Serialize + ?Sized>(
        &self,
        name: &'static str,
        path: &str,
        auth: Auth,
        body: &B,
        expect: u16,
    ) -> Result<(), ClientError> {
        let req = self.request(Method::POST, path, auth).json(body);
        self.send_empty(name, req, expect).await
    }

    /// A GET answered with JSON.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        name: &'static str,
        path: &str,
        auth: Auth,
        query: &[(&str, &str)],
    ) -> Result<T, ClientError> {
        let req = self.request(Method::GET, path, auth).query(query);
        self.send_json(name, req, 200).await
    }
}

/// An empty JSON object, the body of POSTs that take none.
#[derive(Serialize)]
pub(crate) struct NoBody {}

pub(crate) fn decode<T: DeserializeOwned>(
    name: &'static str,
    body: &[u8],
) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| ClientError::Decode {
        request: name,
        reason: e.to_string(),
        body: snippet(body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_escaped() {
        assert_eq!(
            segment("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"),
            "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
        );
        assert_eq!(segment("../admin"), "..%2Fadmin");
        assert_eq!(segment("a b?c#d"), "a%20b%3Fc%23d");
    }

    #[test]
    fn the_base_loses_its_trailing_slash_and_debug_hides_tokens() {
        let client = Client::builder("http://127.0.0.1:9/")
            .admin_token("admin-secret")
            .session("session-secret")
            .build()
            .unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:9");
        let shown = format!("{client:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert_eq!(client.session(), Some("session-secret"));
        assert_eq!(client.without_session().session(), None);
    }

    #[test]
    fn decode_errors_name_the_request() {
        let err = decode::<crate::SignedUp>("signup", b"{}").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("signup: the answer does not decode"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn transport_failures_are_observed_and_named() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        // Port 9 (discard) on loopback: nothing listens in a test environment.
        let client = Client::builder("http://127.0.0.1:9")
            .timeout(Duration::from_secs(5))
            .observer(move |e| sink.lock().unwrap().push((e.name, e.outcome)))
            .build()
            .unwrap();
        let err = client.me().await.unwrap_err();
        assert!(
            matches!(err, ClientError::Transport { request: "me", .. }),
            "{err}"
        );
        assert_eq!(*seen.lock().unwrap(), vec![("me", Outcome::Transport)]);
    }
}
