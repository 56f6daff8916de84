//! The application's outgoing HTTP ([`offboard_app::outbound`]) on reqwest: one client
//! with its connection pool, which never follows a redirect (an endpoint is the address
//! it was given; a redirect is a failed answer).

use offboard_app::outbound::{
    Auth, Body, Error, HttpClient, Method, Request, Response, SendFuture, MAX_RESPONSE_BYTES,
};
use secrecy::ExposeSecret;

#[derive(Debug, Clone)]
pub struct ReqwestClient(reqwest::Client);

impl ReqwestClient {
    /// Fails instead of falling back to a default client: a default would follow
    /// redirects.
    pub fn new() -> Result<Self, reqwest::Error> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map(ReqwestClient)
    }

    async fn exchange(&self, request: Request) -> Result<Response, Error> {
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        let mut builder = self.0.request(method, request.url).timeout(request.timeout);
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        builder = match request.auth {
            Some(Auth::Bearer(token)) => builder.bearer_auth(token.expose_secret()),
            Some(Auth::Basic { user, password }) => {
                builder.basic_auth(user, Some(password.expose_secret()))
            }
            None => builder,
        };
        builder = match request.body {
            Some(Body::Json(bytes)) => builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes),
            Some(Body::Form(text)) => builder
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(text),
            None => builder,
        };
        let mut response = builder.send().await.map_err(kind)?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        if request.read_body {
            while let Some(chunk) = response.chunk().await.map_err(kind)? {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(Error::Failed);
                }
                body.extend_from_slice(&chunk);
            }
        }
        Ok(Response { status, body })
    }
}

/// reqwest's errors name the URL, which may carry credentials; only the kind goes on.
fn kind(err: reqwest::Error) -> Error {
    if err.is_timeout() {
        Error::Timeout
    } else if err.is_connect() {
        Error::Connect
    } else {
        Error::Failed
    }
}

impl HttpClient for ReqwestClient {
    fn send(&self, request: Request) -> SendFuture<'_> {
        Box::pin(self.exchange(request))
    }
}
