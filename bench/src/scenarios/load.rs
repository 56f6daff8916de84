//! Sign-up, login and `/me` under load, sign-ups of tombstoned emails, and the untimed
//! top-up of accounts with sessions.

use super::vus::{fold, pause_after_error, run_users, Account, Measured, ScenarioReport};
use crate::client::{field, As, Target, PASSWORD};
use crate::procfs::{CpuMeter, CpuUse};
use anyhow::{anyhow, Result};
use reqwest::Method;
use serde::Serialize;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Sign-up only

/// Closed-loop sign-ups of fresh emails `<prefix><run>-<vu>-<i>@bench.example.com`.
pub async fn signup(
    target: &Target,
    pid: u32,
    prefix: &str,
    users: usize,
    duration: Duration,
) -> Result<(Measured, Vec<Account>)> {
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
    let (report, latencies) = fold(&outs, elapsed, completed, cpu.stop());
    let accounts = outs.into_iter().flat_map(|(_, m)| m).collect();
    let measured = Measured {
        report,
        latencies,
        elapsed,
    };
    Ok((measured, accounts))
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
) -> Result<Measured> {
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
    let (report, latencies) = fold(&outs, elapsed, completed, cpu.stop());
    for (_, tokens) in outs {
        for (idx, token) in tokens {
            if let Some(account) = accounts.get_mut(idx) {
                account.token = Some(token);
            }
        }
    }
    Ok(Measured {
        report,
        latencies,
        elapsed,
    })
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
