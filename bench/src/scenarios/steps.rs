//! The deletion steps after the start, paced (open model): each latency counts from the
//! request's scheduled time.

use super::vus::{fold, run_users, Account, ScenarioReport};
use crate::client::{field, As, Target, Vu};
use crate::procfs::CpuMeter;
use crate::stats::{Latencies, Summary};
use anyhow::{anyhow, Context, Result};
use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
