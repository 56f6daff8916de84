//! One virtual user's HTTP client: times every request into its own histograms, sends a
//! client address of its own in `X-Forwarded-For` (the server trusts it only with
//! `trust_forwarded_for`, which bench/run sets, as behind a reverse proxy). Typed
//! requests (the deletion journey and steps, admin calls, the dev outbox) go through
//! `offboard-client`, whose observer records their latencies under the client's request
//! names; `Vu::call` sends the raw requests of the sign-up, login and `/me` loops.

use crate::stats::ByName;
use anyhow::{anyhow, bail, Context, Result};
use offboard_client::{Client, ClientError, Outcome};
use reqwest::Method;
use serde_json::Value;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Every bench account's password (meets the sign-up rules).
pub const PASSWORD: &str = "bench passphrase 4821";

/// The server under test. Cheap to clone (the reqwest client shares one connection pool).
#[derive(Clone)]
pub struct Target {
    pub http: reqwest::Client,
    pub base: Arc<str>,
    /// The typed client with the admin token (its clones share one connection pool).
    pub api: Client,
}

impl Target {
    pub fn new(base: &str, admin_token: &str) -> Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .pool_max_idle_per_host(1024)
            .build()
            .context("building the HTTP client")?;
        let api = Client::builder(base)
            .admin_token(admin_token)
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(1024)
            .build()
            .context("building the typed client")?;
        Ok(Self {
            http,
            base: Arc::from(base.trim_end_matches('/')),
            api,
        })
    }
}

/// Who a request is sent as.
#[derive(Debug, Clone, Copy)]
pub enum As<'a> {
    Nobody,
    User(&'a str),
}

/// A response whose status was the expected one.
pub struct Reply {
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Result<Value> {
        serde_json::from_slice(&self.body).context("a JSON answer")
    }
}

pub struct Vu {
    target: Target,
    /// This user's client address (loopback range, sent as a header only).
    xff: String,
    pub latencies: ByName,
    /// What the typed client's observer heard, until [`Vu::absorb_observed`].
    observed: Arc<Mutex<ByName>>,
    /// The typed client: admin token, this user's address, the observer.
    pub api: Client,
    pub errors: u64,
    pub error_samples: Vec<String>,
}

impl Vu {
    pub fn new(target: &Target, n: usize) -> Self {
        let n = n + 1;
        let xff = format!("127.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
        let observed = Arc::new(Mutex::new(ByName::default()));
        let sink = Arc::clone(&observed);
        let api = target
            .api
            .with_forwarded_for(&xff)
            .with_observer(move |event| {
                // Like `call`: an answer of any status is timed, a transport failure not.
                if event.outcome != Outcome::Transport {
                    let mut sink = sink.lock().unwrap_or_else(PoisonError::into_inner);
                    sink.record(event.name, event.elapsed);
                }
            });
        Self {
            target: target.clone(),
            xff,
            latencies: ByName::default(),
            observed,
            api,
            errors: 0,
            error_samples: Vec::new(),
        }
    }

    /// Sends one request; records its latency under `name` (from `since` when given: a
    /// paced request counts from its scheduled time, so a late start is not hidden).
    /// Any status other than `expect` is an error carrying the answer's start.
    #[allow(clippy::too_many_arguments)] // one place that spells out a request
    pub async fn call(
        &mut self,
        name: &'static str,
        method: Method,
        path: &str,
        who: As<'_>,
        body: Option<&Value>,
        expect: u16,
        since: Option<Instant>,
    ) -> Result<Reply> {
        let url = format!("{}{}", self.target.base, path);
        let mut req = self
            .target
            .http
            .request(method, url)
            .header("x-forwarded-for", &self.xff);
        req = match who {
            As::Nobody => req,
            As::User(token) => req.bearer_auth(token),
        };
        if let Some(body) = body {
            req = req.json(body);
        }
        let started = since.unwrap_or_else(Instant::now);
        let res = req
            .send()
            .await
            .with_context(|| format!("{name}: sending"))?;
        let status = res.status().as_u16();
        let body = res
            .bytes()
            .await
            .with_context(|| format!("{name}: reading the answer"))?
            .to_vec();
        self.latencies.record(name, started.elapsed());
        if status != expect {
            let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
            bail!("{name}: HTTP {status} (expected {expect}): {text}");
        }
        Ok(Reply { body })
    }

    /// Convenience for JSON requests that answer JSON.
    pub async fn json(
        &mut self,
        name: &'static str,
        method: Method,
        path: &str,
        who: As<'_>,
        body: Option<&Value>,
        expect: u16,
    ) -> Result<Value> {
        self.call(name, method, path, who, body, expect, None)
            .await?
            .json()
    }

    /// Moves what the typed client's observer heard into [`Vu::latencies`].
    pub fn absorb_observed(&mut self) {
        let mut observed = self.observed.lock().unwrap_or_else(PoisonError::into_inner);
        self.latencies.merge(&observed);
        *observed = ByName::default();
    }

    /// A paced typed request: its latency is recorded under `name` from its scheduled
    /// time `at` (not by the observer), unless no answer arrived.
    pub async fn paced<T>(
        &mut self,
        name: &'static str,
        at: Instant,
        request: impl Future<Output = Result<T, ClientError>>,
    ) -> Result<T> {
        let result = request.await;
        if !matches!(result, Err(ClientError::Transport { .. })) {
            self.latencies.record(name, at.elapsed());
        }
        Ok(result?)
    }

    pub fn fail(&mut self, err: anyhow::Error) {
        self.errors += 1;
        if self.error_samples.len() < 5 {
            self.error_samples.push(format!("{err:#}"));
        }
    }
}

/// A string field of a JSON answer.
pub fn field(v: &Value, name: &str) -> Result<String> {
    v[name]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no `{name}` in {v}"))
}
