//! A login storm: correct-password logins offered open-loop at a multiple of the argon2id
//! bound (far more than the server can hash) over many keep-alive HTTP/1.1 connections,
//! with `GET /api/v1/me` paced beside them. What the server should do under it: finish
//! the logins it takes in bounded time, refuse the rest fast (503 `unavailable` with
//! `Retry-After`, once its bounded hash queue is full) and keep session checks fast.
//!
//! Every latency counts from the request's scheduled time (no coordinated omission): a
//! login due while every connection is busy waits for one, and the wait counts. In-flight
//! logins are bounded by the connections, so the bench's memory is too.

use super::vus::{run_users, Pace};
use crate::client::{As, Target, PASSWORD};
use crate::procfs::{CpuMeter, CpuUse};
use crate::stats::{round3, Latencies, Summary};
use anyhow::{Context, Result};
use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// What the storm offers.
#[derive(Debug, Clone, Copy)]
pub struct StormPlan {
    /// Logins offered per second (a multiple of the measured bound).
    pub login_rate: f64,
    /// Connections (and so logins in flight) at most.
    pub connections: usize,
    pub me_rate: f64,
    pub me_connections: usize,
    /// The window in which requests are due.
    pub duration: Duration,
    /// After the window, how long logins still waiting for a connection may be sent;
    /// the ones left then are counted as unsent (the storm ends in bounded time).
    pub drain: Duration,
}

impl StormPlan {
    /// Issue 18's storm: logins at 4× the bound over 256 connections, `/me` at 500 req/s
    /// over 8, for `duration`; the logins still waiting after it get as long again.
    pub fn at_bound(verifies_per_s: f64, duration: Duration) -> Self {
        Self {
            login_rate: 4.0 * verifies_per_s,
            connections: 256,
            me_rate: 500.0,
            me_connections: 8,
            duration,
            drain: duration,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StormReport {
    pub offered_login_rps: f64,
    pub connections: usize,
    /// Accounts the logins rotate through (none has two logins in flight).
    pub accounts: usize,
    pub window_s: f64,
    /// From the first due time to the last login answer: the rates divide by it.
    pub seconds: f64,
    /// Logins due within the window, sent, and still waiting at the end of the drain.
    pub offered: u64,
    pub sent: u64,
    pub unsent: u64,
    /// 200: signed in.
    pub login: Summary,
    /// 503 `unavailable` with `Retry-After`: refused by the bounded hash queue.
    pub refused: Summary,
    /// Any other answer, or none.
    pub errors: u64,
    pub errors_by_status: BTreeMap<String, u64>,
    pub error_samples: Vec<String>,
    pub cpu: CpuUse,
    pub me: MeBeside,
}

/// `GET /api/v1/me` paced during the storm's window.
#[derive(Debug, Clone, Serialize)]
pub struct MeBeside {
    pub offered_rps: f64,
    pub connections: usize,
    pub seconds: f64,
    pub rps: f64,
    pub latency: Summary,
    pub errors: u64,
    pub error_samples: Vec<String>,
}

/// How one storm login ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Login,
    Refused,
    /// Anything else, by status and error code (or `transport`).
    Error(String),
}

/// A login's answer sorted: 200 signed in; 503 `unavailable` with `Retry-After` refused;
/// anything else an error named by its status and code.
fn classify(status: u16, retry_after: bool, body: &[u8]) -> Outcome {
    let code = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_owned));
    match (status, code.as_deref()) {
        (200, _) => Outcome::Login,
        (503, Some("unavailable")) if retry_after => Outcome::Refused,
        (503, Some("unavailable")) => Outcome::Error("503 unavailable without Retry-After".into()),
        (status, Some(code)) => Outcome::Error(format!("{status} {code}")),
        (status, None) => Outcome::Error(status.to_string()),
    }
}

/// The client address of the storm's `k`th login: one of its own for every request (the
/// per-address throttle counts a login in flight as a failure), in 127.64.0.0/10, away
/// from the virtual users' 127.0.x.x, as load.rs spells them.
fn storm_address(k: u64) -> String {
    let n = 0x40_0001 + (k % 0x3F_0000);
    format!("127.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
}

/// What the login senders measured, shared (one histogram per kind, not per sender).
#[derive(Default)]
struct Tally {
    login: Latencies,
    refused: Latencies,
    sent: u64,
    errors_by_status: BTreeMap<String, u64>,
    error_samples: Vec<String>,
    last_answer: Option<Instant>,
}

impl Tally {
    fn record(&mut self, outcome: Outcome, latency: Duration, detail: Option<String>) {
        self.sent += 1;
        self.last_answer = Some(Instant::now());
        match outcome {
            Outcome::Login => self.login.record(latency),
            Outcome::Refused => self.refused.record(latency),
            Outcome::Error(kind) => {
                *self.errors_by_status.entry(kind).or_default() += 1;
                if let Some(detail) = detail {
                    if self.error_samples.len() < 5 {
                        self.error_samples.push(detail);
                    }
                }
            }
        }
    }
}

/// What every login sender shares.
struct Senders {
    http: reqwest::Client,
    url: String,
    emails: Vec<String>,
    /// Accounts with no login in flight, oldest-used first.
    free: Mutex<VecDeque<usize>>,
    pace: Pace,
    drain_until: Instant,
    next_address: AtomicU64,
    tally: Mutex<Tally>,
}

/// The storm: logins of `emails` (existing accounts, right password) over the plan's
/// connections and, at the same time, `/me` with `tokens` (existing sessions).
pub async fn storm(
    target: &Target,
    pid: u32,
    emails: Vec<String>,
    tokens: Vec<String>,
    plan: StormPlan,
) -> Result<StormReport> {
    anyhow::ensure!(!emails.is_empty(), "no account to log in during the storm");
    anyhow::ensure!(
        !tokens.is_empty(),
        "no session to read /me with during the storm"
    );
    let cpu = CpuMeter::start(pid);
    let start = Instant::now() + Duration::from_millis(50);
    let accounts = emails.len();
    let senders = Arc::new(Senders {
        http: storm_client(plan.connections)?,
        url: format!("{}/api/v1/login", target.base),
        free: Mutex::new((0..accounts).collect()),
        emails,
        pace: Pace::new(start, plan.login_rate, plan.duration),
        drain_until: start + plan.duration + plan.drain,
        next_address: AtomicU64::new(0),
        tally: Mutex::new(Tally::default()),
    });
    let (_, me) = tokio::try_join!(
        logins(Arc::clone(&senders), plan.connections),
        me_beside(target, tokens, start, plan),
    )?;
    let cpu = cpu.stop();
    let offered = senders.pace.offered();
    let tally = senders.tally.lock().unwrap_or_else(PoisonError::into_inner);
    let window = tally
        .last_answer
        .unwrap_or(start)
        .saturating_duration_since(start);
    Ok(StormReport {
        offered_login_rps: crate::stats::round1(plan.login_rate),
        connections: plan.connections,
        accounts,
        window_s: round3(plan.duration.as_secs_f64()),
        seconds: round3(window.as_secs_f64()),
        offered,
        sent: tally.sent,
        unsent: offered.saturating_sub(tally.sent),
        login: tally.login.summary(window),
        refused: tally.refused.summary(window),
        errors: tally.errors_by_status.values().sum(),
        errors_by_status: tally.errors_by_status.clone(),
        error_samples: tally.error_samples.clone(),
        cpu,
        me,
    })
}

/// The storm's own HTTP/1.1 client: keep-alive connections, as many kept as it sends on.
fn storm_client(connections: usize) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .http1_only()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .tcp_nodelay(true)
        .pool_max_idle_per_host(connections)
        .build()
        .context("building the storm's HTTP client")
}

/// `connections` senders, each one login at a time, taking the due slots in turn.
async fn logins(senders: Arc<Senders>, connections: usize) -> Result<()> {
    let handles: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(sender(Arc::clone(&senders))))
        .collect();
    for handle in handles {
        handle.await.context("a storm sender stopped")?;
    }
    Ok(())
}

/// One connection's loop: the next due slot, an account with no login in flight, a fresh
/// client address, the login, its outcome timed from the slot.
async fn sender(s: Arc<Senders>) {
    while let Some(at) = s.pace.next().await {
        if Instant::now() > s.drain_until {
            break;
        }
        let k = s.next_address.fetch_add(1, Ordering::Relaxed);
        // Never empty while there are at least as many accounts as connections; else
        // an account is shared (the account's throttle allows that many in flight).
        let popped = s
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front();
        let idx = popped.unwrap_or(usize::try_from(k).unwrap_or(0) % s.emails.len());
        let answer = send_login(&s, &s.emails[idx], &storm_address(k)).await;
        let latency = at.elapsed();
        if let Some(idx) = popped {
            s.free
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push_back(idx);
        }
        let (outcome, detail) = match answer {
            Ok((status, retry_after, body)) => {
                let outcome = classify(status, retry_after, &body);
                let detail = matches!(outcome, Outcome::Error(_)).then(|| {
                    let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
                    format!("login: HTTP {status}: {text}")
                });
                (outcome, detail)
            }
            Err(err) => (Outcome::Error("transport".into()), Some(format!("{err:#}"))),
        };
        s.tally
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(outcome, latency, detail);
    }
}

/// One login: its status, whether `Retry-After` came with it, and its body.
async fn send_login(s: &Senders, email: &str, address: &str) -> Result<(u16, bool, Vec<u8>)> {
    let res = s
        .http
        .post(&s.url)
        .header("x-forwarded-for", address)
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .context("login: sending")?;
    let status = res.status().as_u16();
    let retry_after = res.headers().contains_key(reqwest::header::RETRY_AFTER);
    let body = res.bytes().await.context("login: reading the answer")?;
    Ok((status, retry_after, body.to_vec()))
}

/// `GET /api/v1/me` paced at the plan's rate over its connections during the window,
/// each latency from the request's slot.
async fn me_beside(
    target: &Target,
    tokens: Vec<String>,
    start: Instant,
    plan: StormPlan,
) -> Result<MeBeside> {
    let tokens = Arc::new(tokens);
    let pace = Arc::new(Pace::new(start, plan.me_rate, plan.duration));
    let (outs, _) = run_users(target, plan.me_connections, 900, |mut vu, n| {
        let (tokens, pace) = (Arc::clone(&tokens), Arc::clone(&pace));
        async move {
            let token = tokens[n % tokens.len()].clone();
            let (mut done, mut last) = (0u64, start);
            while let Some(at) = pace.next().await {
                let answer = vu
                    .call(
                        "storm_me",
                        Method::GET,
                        "/api/v1/me",
                        As::User(&token),
                        None,
                        200,
                        Some(at),
                    )
                    .await;
                last = Instant::now();
                match answer {
                    Ok(_) => done += 1,
                    Err(err) => vu.fail(err),
                }
            }
            (vu, (done, last))
        }
    })
    .await?;
    let end = outs.iter().map(|(_, (_, t))| *t).max().unwrap_or(start);
    let window = end.saturating_duration_since(start);
    let mut latency = Latencies::new();
    let mut error_samples = Vec::new();
    for (vu, _) in &outs {
        if let Some(h) = vu.latencies.0.get("storm_me") {
            latency.merge(h);
        }
        error_samples.extend(vu.error_samples.iter().take(5).cloned());
    }
    error_samples.truncate(5);
    let done: u64 = outs.iter().map(|(_, (d, _))| *d).sum();
    Ok(MeBeside {
        offered_rps: plan.me_rate,
        connections: plan.me_connections,
        seconds: round3(window.as_secs_f64()),
        rps: crate::stats::round1(done as f64 / window.as_secs_f64().max(1e-9)),
        latency: latency.summary(window),
        errors: outs.iter().map(|(vu, _)| vu.errors).sum(),
        error_samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_sorted_by_status_code_and_header() {
        let unavailable = br#"{"error": {"code": "unavailable", "message": "Busy."}}"#;
        assert_eq!(classify(200, false, b"{}"), Outcome::Login);
        assert_eq!(classify(503, true, unavailable), Outcome::Refused);
        assert_eq!(
            classify(503, false, unavailable),
            Outcome::Error("503 unavailable without Retry-After".into())
        );
        let throttled = br#"{"error": {"code": "unauthorized", "message": "No."}}"#;
        assert_eq!(
            classify(401, true, throttled),
            Outcome::Error("401 unauthorized".into())
        );
        assert_eq!(
            classify(502, false, b"bad gateway"),
            Outcome::Error("502".into())
        );
    }

    #[test]
    fn every_storm_login_has_an_address_of_its_own() {
        assert_eq!(storm_address(0), "127.64.0.1");
        assert_eq!(storm_address(257), "127.64.1.2");
        let a: std::collections::BTreeSet<String> = (0..100_000).map(storm_address).collect();
        assert_eq!(a.len(), 100_000);
    }
}
