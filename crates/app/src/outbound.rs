//! The port through which the application calls other services over HTTP: SMS providers,
//! webhook endpoints and the host platform's holdings API. The application says what to
//! send; an adapter at the edge (`offboard_server::http::outbound`, on reqwest) sends it.
//! Keeping the client behind this trait keeps every HTTP stack out of this crate.

use secrecy::SecretString;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// An answer body larger than this is cut off by the adapter (holdings answers are small;
/// nothing else is read at all).
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// How the request authenticates. Debug prints no secret.
#[derive(Clone)]
pub enum Auth {
    Bearer(SecretString),
    Basic {
        user: String,
        password: SecretString,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Bearer(_) => f.write_str("Bearer([redacted])"),
            Auth::Basic { user, .. } => write!(f, "Basic({user}, [redacted])"),
        }
    }
}

#[derive(Clone)]
pub enum Body {
    /// Sent as `application/json`.
    Json(Vec<u8>),
    /// Sent as `application/x-www-form-urlencoded` (already encoded).
    Form(String),
}

/// One outgoing request. Redirects are never followed: an endpoint is the address it was
/// given, and a redirect counts as a failed answer. Debug prints neither URL (it may
/// carry a token in its query) nor body (it may hold a code).
#[derive(Clone)]
pub struct Request {
    pub method: Method,
    pub url: url::Url,
    pub headers: Vec<(&'static str, String)>,
    pub auth: Option<Auth>,
    pub body: Option<Body>,
    /// Bounds the whole exchange, connecting included.
    pub timeout: Duration,
    /// Whether the answer's body is wanted (most callers need only the status).
    pub read_body: bool,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("host", &self.url.host_str())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Request {
    pub fn new(method: Method, url: url::Url, timeout: Duration) -> Self {
        Self {
            method,
            url,
            headers: Vec::new(),
            auth: None,
            body: None,
            timeout,
            read_body: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Empty unless the request asked for it; at most [`MAX_RESPONSE_BYTES`].
    pub body: Vec<u8>,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why no answer came. The text never names the URL, a header or the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("timed out")]
    Timeout,
    #[error("connection failed")]
    Connect,
    #[error("request failed")]
    Failed,
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<Response, Error>> + Send + 'a>>;

/// Sends outgoing HTTP requests (implemented at the edge).
pub trait HttpClient: Send + Sync + fmt::Debug {
    fn send(&self, request: Request) -> SendFuture<'_>;
}
