//! The load scenarios, each a set of virtual users (tokio tasks) with a deadline.
//! Closed-loop scenarios (sign-up, login, `/me`, journeys) send the next request as soon
//! as the previous one answers; the journey-steps scenario is paced (open model) at a
//! fixed request rate and measures each latency from the request's scheduled time.

use crate::client::{field, As, Target, Vu};
use crate::procfs::{self, CpuMeter, CpuUse};
use crate::stats::{round1, round3, ByName, Latencies, Summary};
use anyhow::{anyhow, Context, Result};
use offboard_core::{totp, Clock, SystemClock};
use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use crate::client::PASSWORD;
/// A BTC address the withdrawal form accepts.
const BTC_ADDRESS: &str = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";

#[derive(Debug, Clone)]
pub struct Account {
    pub email: String,
    pub id: String,
    pub token: Option<String>,
}

/// What one scenario measured.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    pub users: usize,
    pub seconds: f64,
    /// Units of work completed (sign-ups, logins, requests or journeys).
    pub completed: u64,
    pub per_s: f64,
    pub errors: u64,
    pub error_samples: Vec<String>,
    /// Latency by request name.
    pub latency: BTreeMap<String, Summary>,
    pub cpu: CpuUse,
}

/// Spawns `users` virtual users numbered from `first`, waits for all, and returns them
/// with the wall time from first spawn to last finish.
async fn run_users<T, F, Fut>(
    target: &Target,
    users: usize,
    first: usize,
    f: F,
) -> Result<(Vec<(Vu, T)>, Duration)>
where
    F: Fn(Vu, usize) -> Fut,
    Fut: Future<Output = (Vu, T)> + Send + 'static,
    T: Send + 'static,
{
    let started = Instant::now();
    let handles: Vec<_> = (0..users)
        .map(|i| tokio::spawn(f(Vu::new(target, first + i), i)))
        .collect();
    let mut out = Vec::with_capacity(users);
    for handle in handles {
        out.push(handle.await.context("a virtual user stopped")?);
    }
    Ok((out, started.elapsed()))
}

fn fold<T>(
    outs: &[(Vu, T)],
    elapsed: Duration,
    completed: u64,
    cpu: CpuUse,
) -> (ScenarioReport, ByName) {
    let mut all = ByName::default();
    let mut errors = 0;
    let mut samples = Vec::new();
    for (vu, _) in outs {
        all.merge(&vu.latencies);
        errors += vu.errors;
        for s in &vu.error_samples {
            if samples.len() < 5 {
                samples.push(s.clone());
            }
        }
    }
    let report = ScenarioReport {
        users: outs.len(),
        seconds: round3(elapsed.as_secs_f64()),
        completed,
        per_s: round1(completed as f64 / elapsed.as_secs_f64().max(1e-9)),
        errors,
        error_samples: samples,
        latency: all.summaries(elapsed),
        cpu,
    };
    (report, all)
}

async fn pause_after_error() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

// ---------------------------------------------------------------------------------------
// Sign-up only

/// Closed-loop sign-ups of fresh emails `<prefix><run>-<vu>-<i>@bench.example.com`.
pub async fn signup(
    target: &Target,
    pid: u32,
    prefix: &str,
    users: usize,
    duration: Duration,
) -> Result<(ScenarioReport, Vec<Account>)> {
    let cpu = CpuMeter::start(pid);
    let deadline = Instant::now() + duration;
    let prefix = prefix.to_owned();
    let (outs, elapsed) = run_users(target, users, 100, |mut vu, n| {
        let prefix = prefix.clone();
        async move {
            let mut made = Vec::new();
            let mut i = 0u64;
            while Instant::now() < deadline {
                let email = format!("{prefix}-{n}-{i}@bench.example.com");
                i += 1;
                let body = json!({"email": email, "password": PASSWORD});
                let answer = vu
                    .json(
                        "signup",
                        Method::POST,
                        "/api/v1/signup",
                        As::Nobody,
                        Some(&body),
                        201,
                    )
                    .await
                    .and_then(|v| field(&v, "account_id"));
                match answer {
                    Ok(id) => made.push(Account {
                        email,
                        id,
                        token: None,
                    }),
                    Err(err) => {
                        vu.fail(err);
                        pause_after_error().await;
                    }
                }
            }
            (vu, made)
        }
    })
    .await?;
    let completed = outs.iter().map(|(_, m)| m.len() as u64).sum();
    let (report, _) = fold(&outs, elapsed, completed, cpu.stop());
    let accounts = outs.into_iter().flat_map(|(_, m)| m).collect();
    Ok((report, accounts))
}

// ---------------------------------------------------------------------------------------
// Login only

/// Closed-loop password logins; user `n` cycles through accounts n, n+users, ... so no
/// two logins of one account overlap (the per-account throttle counts an attempt in
/// flight as a failure until it succeeds). Each account keeps its newest token.
pub async fn login(
    target: &Target,
    pid: u32,
    accounts: &mut [Account],
    users: usize,
    duration: Duration,
) -> Result<ScenarioReport> {
    let users = users.min(accounts.len()).max(1);
    let emails: Arc<Vec<String>> = Arc::new(accounts.iter().map(|a| a.email.clone()).collect());
    let cpu = CpuMeter::start(pid);
    let deadline = Instant::now() + duration;
    let (outs, elapsed) = run_users(target, users, 200, |mut vu, n| {
        let emails = Arc::clone(&emails);
        async move {
            let mut tokens: Vec<(usize, String)> = Vec::new();
            let mine: Vec<usize> = (n..emails.len()).step_by(users).collect();
            let mut k = 0;
            while Instant::now() < deadline && !mine.is_empty() {
                let idx = mine[k % mine.len()];
                k += 1;
                let body = json!({"email": emails[idx], "password": PASSWORD});
                let answer = vu
                    .json(
                        "login",
                        Method::POST,
                        "/api/v1/login",
                        As::Nobody,
                        Some(&body),
                        200,
                    )
                    .await
                    .and_then(|v| field(&v, "token"));
                match answer {
                    Ok(token) => tokens.push((idx, token)),
                    Err(err) => {
                        vu.fail(err);
                        pause_after_error().await;
                    }
                }
            }
            (vu, tokens)
        }
    })
    .await?;
    let completed = outs.iter().map(|(_, t)| t.len() as u64).sum();
    let (report, _) = fold(&outs, elapsed, completed, cpu.stop());
    for (_, tokens) in outs {
        for (idx, token) in tokens {
            if let Some(account) = accounts.get_mut(idx) {
                account.token = Some(token);
            }
        }
    }
    Ok(report)
}

// ---------------------------------------------------------------------------------------
// GET /api/v1/me

#[derive(Debug, Clone, Serialize)]
pub struct MeLevel {
    pub connections: usize,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
    pub cpu: CpuUse,
}

/// `GET /api/v1/me` closed-loop at each concurrency in `levels` (one session per user).
pub async fn me(
    target: &Target,
    pid: u32,
    tokens: &[String],
    levels: &[usize],
    duration: Duration,
) -> Result<Vec<MeLevel>> {
    if tokens.is_empty() {
        return Err(anyhow!("no session to read /me with"));
    }
    let tokens: Arc<Vec<String>> = Arc::new(tokens.to_vec());
    let mut out = Vec::new();
    for &connections in levels {
        let cpu = CpuMeter::start(pid);
        let deadline = Instant::now() + duration;
        let (outs, elapsed) = run_users(target, connections, 300, |mut vu, n| {
            let tokens = Arc::clone(&tokens);
            async move {
                let token = tokens[n % tokens.len()].clone();
                let mut done = 0u64;
                while Instant::now() < deadline {
                    match vu
                        .call(
                            "me",
                            Method::GET,
                            "/api/v1/me",
                            As::User(&token),
                            None,
                            200,
                            None,
                        )
                        .await
                    {
                        Ok(_) => done += 1,
                        Err(err) => {
                            vu.fail(err);
                            pause_after_error().await;
                        }
                    }
                }
                (vu, done)
            }
        })
        .await?;
        let completed = outs.iter().map(|(_, d)| *d).sum();
        let (report, all) = fold(&outs, elapsed, completed, cpu.stop());
        let lat = all.0.get("me").cloned().unwrap_or_default();
        let s = lat.summary(elapsed);
        out.push(MeLevel {
            connections,
            rps: report.per_s,
            p50_ms: s.p50_ms,
            p99_ms: s.p99_ms,
            errors: report.errors,
            cpu: report.cpu,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Journey steps only (no password hashing)

/// An account whose deletion flow is started and whose captcha is solved.
#[derive(Debug, Clone)]
pub struct Prepared {
    email: String,
    token: String,
    flow: String,
    captcha: String,
    document: String,
}

fn document_number(run: &str, n: usize) -> String {
    format!("D{run}{n}")
}

async fn solve_captcha(flow: &Value) -> Result<String> {
    let challenge: offboard_core::captcha::Challenge =
        serde_json::from_value(flow["captcha"].clone()).context("the flow's captcha")?;
    tokio::task::spawn_blocking(move || offboard_core::captcha::solve(&challenge))
        .await?
        .ok_or_else(|| anyhow!("captcha without a solution"))
}

/// Untimed preparation: approved identity (so the last step checks the ID number, not a
/// password), a started flow, its captcha solved by offboard-core's solver.
pub async fn prepare_steps(
    target: &Target,
    run: &str,
    accounts: &[Account],
    users: usize,
) -> Result<(Vec<Prepared>, u64)> {
    let ready: Arc<Vec<Account>> = Arc::new(
        accounts
            .iter()
            .filter(|a| a.token.is_some())
            .cloned()
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let run = run.to_owned();
    let (outs, _) = run_users(target, users, 400, |mut vu, _| {
        let ready = Arc::clone(&ready);
        let next = Arc::clone(&next);
        let run = run.clone();
        async move {
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(account) = ready.get(i) else { break };
                match prepare_one(&mut vu, &run, i, account).await {
                    Ok(p) => made.push(p),
                    Err(err) => vu.fail(err),
                }
            }
            (vu, made)
        }
    })
    .await?;
    let errors = outs.iter().map(|(vu, _)| vu.errors).sum();
    Ok((outs.into_iter().flat_map(|(_, m)| m).collect(), errors))
}

async fn prepare_one(vu: &mut Vu, run: &str, i: usize, account: &Account) -> Result<Prepared> {
    let token = account.token.clone().context("a session")?;
    let document = document_number(run, i);
    let identity = json!({"document_type": "passport", "document_number": document,
        "country": "DE", "expires_on": "2031-01-31", "status": "approved"});
    vu.call(
        "admin_identity",
        Method::PUT,
        &format!("/api/v1/admin/accounts/{}/identity", account.id),
        As::Admin,
        Some(&identity),
        204,
        None,
    )
    .await?;
    let flow = vu
        .json(
            "deletion_start",
            Method::POST,
            "/api/v1/deletion",
            As::User(&token),
            Some(&json!({})),
            201,
        )
        .await?;
    let captcha = solve_captcha(&flow).await?;
    Ok(Prepared {
        email: account.email.clone(),
        token,
        flow: field(&flow, "id")?,
        captcha,
        document,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct StepsReport {
    #[serde(flatten)]
    pub scenario: ScenarioReport,
    pub offered_rps: f64,
    pub steps_rps: f64,
    pub steps: Summary,
    pub flows_prepared: usize,
    pub flows_deleted: u64,
}

const STEP_NAMES: [&str; 4] = ["step_confirm", "step_codes", "step_verify", "step_identity"];

/// The four steps after the start (confirm with captcha, email code, verify, ID number)
/// at `rate` step requests per second for at most `duration`; the dev-outbox reads in
/// between are timed apart and not paced.
pub async fn steps(
    target: &Target,
    pid: u32,
    prepared: Vec<Prepared>,
    users: usize,
    rate: f64,
    duration: Duration,
) -> Result<StepsReport> {
    let flows_prepared = prepared.len();
    let prepared = Arc::new(prepared);
    let next = Arc::new(AtomicUsize::new(0));
    let slot = Arc::new(AtomicU64::new(0));
    let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let cpu = CpuMeter::start(pid);
    let start = Instant::now() + Duration::from_millis(50);
    let deadline = start + duration;
    let (outs, _) = run_users(target, users, 500, |mut vu, _| {
        let prepared = Arc::clone(&prepared);
        let next = Arc::clone(&next);
        let slot = Arc::clone(&slot);
        async move {
            let mut deleted = 0u64;
            let mut last_done = start;
            'accounts: loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = prepared.get(i) else { break };
                let mut email_code = String::new();
                for step in STEP_NAMES {
                    let k = slot.fetch_add(1, Ordering::Relaxed);
                    let at = start + interval.mul_f64(k as f64);
                    if at > deadline {
                        break 'accounts;
                    }
                    tokio::time::sleep_until(at.into()).await;
                    let outcome = match step {
                        "step_confirm" => {
                            let body = json!({"acknowledged": true, "captcha": p.captcha});
                            step_call(
                                &mut vu,
                                step,
                                &p.flow,
                                "confirm",
                                &p.token,
                                &body,
                                200,
                                at,
                                Some("verification"),
                            )
                            .await
                        }
                        "step_codes" => {
                            let body = json!({"channel": "email"});
                            match step_call(
                                &mut vu, step, &p.flow, "codes", &p.token, &body, 202, at, None,
                            )
                            .await
                            {
                                Ok(()) => vu.outbox_code(&p.email).await.map(|c| email_code = c),
                                Err(e) => Err(e),
                            }
                        }
                        "step_verify" => {
                            let body = json!({"email_code": email_code});
                            step_call(
                                &mut vu,
                                step,
                                &p.flow,
                                "verify",
                                &p.token,
                                &body,
                                200,
                                at,
                                Some("identity"),
                            )
                            .await
                        }
                        _ => {
                            let body = json!({"id_number": p.document});
                            step_call(
                                &mut vu,
                                step,
                                &p.flow,
                                "identity",
                                &p.token,
                                &body,
                                200,
                                at,
                                Some("deleted"),
                            )
                            .await
                        }
                    };
                    last_done = Instant::now();
                    if let Err(err) = outcome {
                        vu.fail(err);
                        continue 'accounts;
                    }
                }
                deleted += 1;
            }
            (vu, (deleted, last_done))
        }
    })
    .await?;
    let end = outs.iter().map(|(_, (_, t))| *t).max().unwrap_or(start);
    let window = end.saturating_duration_since(start);
    let mut combined = Latencies::new();
    let mut count = 0;
    for (vu, _) in &outs {
        for name in STEP_NAMES {
            if let Some(h) = vu.latencies.0.get(name) {
                combined.merge(h);
            }
        }
    }
    count += combined.count();
    let flows_deleted = outs.iter().map(|(_, (d, _))| *d).sum();
    let (scenario, _) = fold(&outs, window, count, cpu.stop());
    let steps = combined.summary(window);
    Ok(StepsReport {
        steps_rps: steps.per_s,
        steps,
        scenario,
        offered_rps: rate,
        flows_prepared,
        flows_deleted,
    })
}

#[allow(clippy::too_many_arguments)]
async fn step_call(
    vu: &mut Vu,
    name: &'static str,
    flow: &str,
    action: &str,
    token: &str,
    body: &Value,
    expect: u16,
    at: Instant,
    want_step: Option<&str>,
) -> Result<()> {
    let reply = vu
        .call(
            name,
            Method::POST,
            &format!("/api/v1/deletion/{flow}/{action}"),
            As::User(token),
            Some(body),
            expect,
            Some(at),
        )
        .await?;
    if let Some(want) = want_step {
        let v = reply.json()?;
        if v["step"] != want {
            return Err(anyhow!("{name}: step {} instead of {want}", v["step"]));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The complete journey

/// Authenticator codes the way a careful client uses them: each code's step is later than
/// the last one used (the server refuses replays) and within the ±1 step the server
/// accepts; waits for the next 30-second step only when all three are used up.
struct Authenticator {
    secret: String,
    last_step: Option<i64>,
}

impl Authenticator {
    async fn code(&mut self) -> Result<String> {
        loop {
            let now = SystemClock.now();
            let current = totp::step_of(now);
            let candidate = self
                .last_step
                .map_or(current - 1, |last| (last + 1).max(current - 1));
            if candidate <= current + 1 {
                self.last_step = Some(candidate);
                return totp::code_at_step(&self.secret, candidate)
                    .map_err(|e| anyhow!("authenticator code: {e}"));
            }
            let next_step_at = (current + 1) * totp::STEP_SECONDS;
            let wait = next_step_at - now.unix_timestamp();
            tokio::time::sleep(Duration::from_millis(
                u64::try_from(wait.max(0)).unwrap_or(0) * 1000 + 50,
            ))
            .await;
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct JourneyReport {
    #[serde(flatten)]
    pub scenario: ScenarioReport,
    pub journeys_per_s: f64,
    pub journey: Summary,
    /// Peak RSS of the server during the journeys (VmHWM after a reset), MiB.
    pub load_rss_mb: f64,
    pub peak_reset: bool,
    /// Highest VmRSS seen by sampling every 100 ms, MiB.
    pub sampled_max_rss_mb: f64,
}

/// Closed-loop complete journeys: sign-up, login, admin deposit, identity by the admin
/// API, withdrawal of the deposit (email code), admin completes it, authenticator bound,
/// login with password + authenticator, an open order (admin hold), then the five steps:
/// notes (captcha), assets (the hold blocks; the admin lifts it), verification (email +
/// authenticator codes), identity (ID number), deleted.
pub async fn journey(
    target: &Target,
    pid: u32,
    run: &str,
    users: usize,
    duration: Duration,
) -> Result<JourneyReport> {
    let peak_reset = procfs::reset_peak(pid);
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = Arc::clone(&sampling);
        tokio::spawn(async move {
            let mut max = 0.0f64;
            while sampling.load(Ordering::Relaxed) {
                if let Ok(rss) = procfs::rss_mb(pid) {
                    max = max.max(rss);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            max
        })
    };
    let cpu = CpuMeter::start(pid);
    let deadline = Instant::now() + duration;
    let run = run.to_owned();
    let (outs, elapsed) = run_users(target, users, 600, |mut vu, n| {
        let run = run.clone();
        async move {
            let mut done = 0u64;
            let mut i = 0usize;
            while Instant::now() < deadline {
                let started = Instant::now();
                let result = one_journey(&mut vu, &run, n, i).await;
                i += 1;
                match result {
                    Ok(()) => {
                        done += 1;
                        vu.latencies.record("journey", started.elapsed());
                    }
                    Err(err) => {
                        vu.fail(err);
                        pause_after_error().await;
                    }
                }
            }
            (vu, done)
        }
    })
    .await?;
    sampling.store(false, Ordering::Relaxed);
    let sampled_max = sampler.await.unwrap_or(0.0);
    let load_rss = if peak_reset {
        procfs::peak_rss_mb(pid).unwrap_or(sampled_max)
    } else {
        sampled_max
    };
    let completed = outs.iter().map(|(_, d)| *d).sum();
    let (scenario, all) = fold(&outs, elapsed, completed, cpu.stop());
    let journey = all
        .0
        .get("journey")
        .cloned()
        .unwrap_or_default()
        .summary(elapsed);
    Ok(JourneyReport {
        journeys_per_s: scenario.per_s,
        journey,
        scenario,
        load_rss_mb: round1(load_rss),
        peak_reset,
        sampled_max_rss_mb: round1(sampled_max),
    })
}

async fn one_journey(vu: &mut Vu, run: &str, n: usize, i: usize) -> Result<()> {
    let email = format!("j{run}-{n}-{i}@bench.example.com");
    let document = format!("J{run}N{n}I{i}");
    let creds = json!({"email": email, "password": PASSWORD});
    let signup = vu
        .json(
            "signup",
            Method::POST,
            "/api/v1/signup",
            As::Nobody,
            Some(&creds),
            201,
        )
        .await?;
    let account = field(&signup, "account_id")?;
    let token = field(
        &vu.json(
            "login",
            Method::POST,
            "/api/v1/login",
            As::Nobody,
            Some(&creds),
            200,
        )
        .await?,
        "token",
    )?;
    let me = As::User(&token);
    vu.call(
        "admin_deposit",
        Method::POST,
        &format!("/api/v1/admin/accounts/{account}/deposits"),
        As::Admin,
        Some(&json!({"asset": "BTC", "amount": "0.5"})),
        201,
        None,
    )
    .await?;
    let identity = json!({"document_type": "passport", "document_number": document,
        "country": "DE", "expires_on": "2031-01-31", "status": "approved"});
    vu.call(
        "admin_identity",
        Method::PUT,
        &format!("/api/v1/admin/accounts/{account}/identity"),
        As::Admin,
        Some(&identity),
        204,
        None,
    )
    .await?;

    // Empty the account: a withdrawal confirmed by an email code, completed by the host.
    vu.call(
        "me_codes",
        Method::POST,
        "/api/v1/me/codes",
        me,
        Some(&json!({"channel": "email", "purpose": "withdrawal"})),
        202,
        None,
    )
    .await?;
    let code = vu.outbox_code(&email).await?;
    let withdrawal = vu
        .json(
            "withdrawal",
            Method::POST,
            "/api/v1/me/withdrawals",
            me,
            Some(&json!({"asset": "BTC", "amount": "0.5", "address": BTC_ADDRESS, "email_code": code})),
            201,
        )
        .await?;
    vu.call(
        "admin_withdrawal_complete",
        Method::POST,
        &format!(
            "/api/v1/admin/withdrawals/{}/complete",
            field(&withdrawal, "withdrawal_id")?
        ),
        As::Admin,
        Some(&json!({})),
        204,
        None,
    )
    .await?;

    // Bind an authenticator, then log in with it.
    let setup = vu
        .json(
            "totp_setup",
            Method::POST,
            "/api/v1/me/totp",
            me,
            Some(&json!({})),
            200,
        )
        .await?;
    let mut authenticator = Authenticator {
        secret: field(&setup, "secret")?,
        last_step: None,
    };
    let mut tries = 0;
    loop {
        let code = authenticator.code().await?;
        let body = json!({"code": code});
        match vu
            .call(
                "totp_confirm",
                Method::POST,
                "/api/v1/me/totp/confirm",
                me,
                Some(&body),
                204,
                None,
            )
            .await
        {
            Ok(_) => break,
            Err(err) if retry_code(&err, &mut tries) => continue,
            Err(err) => return Err(err),
        }
    }
    let mut tries = 0;
    let token = loop {
        let code = authenticator.code().await?;
        let body = json!({"email": email, "password": PASSWORD, "totp_code": code});
        match vu
            .json(
                "login_totp",
                Method::POST,
                "/api/v1/login",
                As::Nobody,
                Some(&body),
                200,
            )
            .await
        {
            Ok(v) => break field(&v, "token")?,
            Err(err) if retry_code(&err, &mut tries) => continue,
            Err(err) => return Err(err),
        }
    };
    let me = As::User(&token);

    // An open order the host reports: the assets step must wait for it.
    let hold = vu
        .json(
            "admin_hold",
            Method::POST,
            &format!("/api/v1/admin/accounts/{account}/holds"),
            As::Admin,
            Some(&json!({"kind": "order", "reference": "BTC/USDT #1"})),
            201,
        )
        .await?;
    let flow = vu
        .json(
            "deletion_start",
            Method::POST,
            "/api/v1/deletion",
            me,
            Some(&json!({})),
            201,
        )
        .await?;
    let id = field(&flow, "id")?;
    let path = |action: &str| format!("/api/v1/deletion/{id}/{action}");
    let solving = Instant::now();
    let captcha = solve_captcha(&flow).await?;
    vu.latencies
        .record("captcha_solve (client)", solving.elapsed());
    expect_step(
        vu.json(
            "deletion_confirm",
            Method::POST,
            &path("confirm"),
            me,
            Some(&json!({"acknowledged": true, "captcha": captcha})),
            200,
        )
        .await?,
        "assets",
    )?;
    vu.call(
        "admin_hold_release",
        Method::DELETE,
        &format!("/api/v1/admin/holds/{}", field(&hold, "hold_id")?),
        As::Admin,
        None,
        204,
        None,
    )
    .await?;
    expect_step(
        vu.json(
            "deletion_assets",
            Method::POST,
            &path("assets"),
            me,
            Some(&json!({})),
            200,
        )
        .await?,
        "verification",
    )?;
    vu.call(
        "deletion_codes",
        Method::POST,
        &path("codes"),
        me,
        Some(&json!({"channel": "email"})),
        202,
        None,
    )
    .await?;
    let email_code = vu.outbox_code(&email).await?;
    let mut tries = 0;
    let verified = loop {
        let totp_code = authenticator.code().await?;
        let body = json!({"email_code": email_code, "totp_code": totp_code});
        match vu
            .json(
                "deletion_verify",
                Method::POST,
                &path("verify"),
                me,
                Some(&body),
                200,
            )
            .await
        {
            Ok(v) => break v,
            Err(err) if retry_code(&err, &mut tries) => continue,
            Err(err) => return Err(err),
        }
    };
    expect_step(verified, "identity")?;
    expect_step(
        vu.json(
            "deletion_identity",
            Method::POST,
            &path("identity"),
            me,
            Some(&json!({"id_number": document})),
            200,
        )
        .await?,
        "deleted",
    )?;
    Ok(())
}

fn expect_step(flow: Value, want: &str) -> Result<()> {
    if flow["step"] == want {
        Ok(())
    } else {
        Err(anyhow!(
            "flow at {} instead of {want}: {flow}",
            flow["step"]
        ))
    }
}

/// Authenticator codes can straddle a 30-second step boundary between client and
/// server; one retry with a fresh code settles it (the bench counts no error then).
fn retry_code(err: &anyhow::Error, tries: &mut u32) -> bool {
    *tries += 1;
    *tries == 1 && format!("{err:#}").contains("invalid_code")
}

// ---------------------------------------------------------------------------------------
// Sign-up of tombstoned emails (R9's check, no password hashing)

/// Closed-loop sign-ups of emails that hold a tombstone: each is refused with 403
/// `reregistration_blocked` after the email is parsed, keyed-hashed and looked up.
pub async fn refused_signups(
    target: &Target,
    pid: u32,
    seeded: usize,
    users: usize,
    duration: Duration,
) -> Result<ScenarioReport> {
    let cpu = CpuMeter::start(pid);
    let deadline = Instant::now() + duration;
    let (outs, elapsed) = run_users(target, users, 700, |mut vu, n| async move {
        let mut done = 0u64;
        let mut x: u64 = 0x2545_F491_4F6C_DD1D ^ (n as u64 + 1);
        while Instant::now() < deadline && seeded > 0 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = usize::try_from(x % seeded as u64).unwrap_or(0);
            let body = json!({"email": crate::store::tombstone_email(i), "password": PASSWORD});
            let refused = vu
                .json(
                    "signup_refused",
                    Method::POST,
                    "/api/v1/signup",
                    As::Nobody,
                    Some(&body),
                    403,
                )
                .await
                .and_then(|v| {
                    if v["error"]["code"] == "reregistration_blocked" {
                        Ok(())
                    } else {
                        Err(anyhow!("refused for another reason: {v}"))
                    }
                });
            match refused {
                Ok(()) => done += 1,
                Err(err) => {
                    vu.fail(err);
                    pause_after_error().await;
                }
            }
        }
        (vu, done)
    })
    .await?;
    let completed = outs.iter().map(|(_, d)| *d).sum();
    Ok(fold(&outs, elapsed, completed, cpu.stop()).0)
}

// ---------------------------------------------------------------------------------------
// Untimed accounts with sessions

/// Signs up and logs in `n` more accounts (untimed; the journey-steps scenario needs one
/// per four requests when the sign-up scenario made too few). Stops after `limit`.
pub async fn top_up(
    target: &Target,
    run: &str,
    n: usize,
    users: usize,
    limit: Duration,
) -> Result<Vec<Account>> {
    let made = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + limit;
    let run = run.to_owned();
    let (outs, _) = run_users(target, users, 800, |mut vu, v| {
        let made = Arc::clone(&made);
        let run = run.clone();
        async move {
            let mut out = Vec::new();
            let mut i = 0;
            while made.fetch_add(1, Ordering::Relaxed) < n && Instant::now() < deadline {
                let email = format!("x{run}-{v}-{i}@bench.example.com");
                i += 1;
                let creds = json!({"email": email, "password": PASSWORD});
                let made_one = async {
                    let signup = vu
                        .json(
                            "signup",
                            Method::POST,
                            "/api/v1/signup",
                            As::Nobody,
                            Some(&creds),
                            201,
                        )
                        .await?;
                    let login = vu
                        .json(
                            "login",
                            Method::POST,
                            "/api/v1/login",
                            As::Nobody,
                            Some(&creds),
                            200,
                        )
                        .await?;
                    Ok::<_, anyhow::Error>(Account {
                        email: email.clone(),
                        id: field(&signup, "account_id")?,
                        token: Some(field(&login, "token")?),
                    })
                }
                .await;
                match made_one {
                    Ok(account) => out.push(account),
                    Err(err) => vu.fail(err),
                }
            }
            (vu, out)
        }
    })
    .await?;
    Ok(outs.into_iter().flat_map(|(_, m)| m).collect())
}
