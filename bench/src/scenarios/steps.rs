//! The deletion steps after the start, paced (open model): each latency counts from the
//! request's scheduled time. The requests go through `offboard-client`; the paced ones are
//! timed here (from their slot), the dev-outbox reads in between by the client's observer.

use super::vus::{fold, run_users, Account, Pace, ScenarioReport};
use crate::client::{Target, Vu};
use crate::procfs::{CpuMeter, CpuUse};
use crate::stats::{Latencies, Summary};
use anyhow::{Context, Result};
use offboard_client::{
    captcha, Channel, ConfirmNotes, Document, FactorCodes, IdentityProof, ReviewStatus, Step,
};
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An account whose deletion flow is started and whose captcha is solved.
#[derive(Debug, Clone)]
pub struct Prepared {
    email: String,
    pub(super) token: String,
    pub(super) flow: String,
    captcha: String,
    pub(super) document: String,
}

fn document_number(run: &str, n: usize) -> String {
    format!("D{run}{n}")
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
                match prepare_one(&vu, &run, i, account).await {
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

async fn prepare_one(vu: &Vu, run: &str, i: usize, account: &Account) -> Result<Prepared> {
    let token = account.token.clone().context("a session")?;
    let document = document_number(run, i);
    vu.api
        .admin_set_identity(
            &account.id,
            &Document::passport(&document),
            ReviewStatus::Approved,
        )
        .await?;
    let flow = vu.api.with_session(&token).deletion_start().await?;
    let challenge = flow.captcha.as_ref().context("the flow's captcha")?;
    let captcha = captcha::solve(challenge).await?;
    Ok(Prepared {
        email: account.email.clone(),
        token,
        flow: flow.id,
        captcha,
        document,
    })
}

/// Untimed: a prepared flow through its first three steps (confirm with the captcha,
/// email code, verify), so only the final one is left: the ID number, whose answer is
/// the erasure.
pub async fn advance_to_final(vu: &Vu, p: &Prepared) -> Result<()> {
    let api = vu.api.with_session(&p.token);
    let confirm = ConfirmNotes::acknowledged(Some(p.captcha.clone()));
    api.deletion_confirm(&p.flow, &confirm)
        .await?
        .expect("deletion_confirm", Step::Verification)?;
    api.deletion_send_code(&p.flow, Channel::Email).await?;
    let codes = FactorCodes {
        email_code: Some(vu.api.latest_code(&p.email).await?),
        ..FactorCodes::default()
    };
    api.deletion_verify(&p.flow, &codes)
        .await?
        .expect("deletion_verify", Step::Identity)?;
    Ok(())
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
    let cpu = CpuMeter::start(pid);
    let start = Instant::now() + Duration::from_millis(50);
    let pace = Arc::new(Pace::new(start, rate, duration));
    let (outs, _) = run_users(target, users, 500, |mut vu, _| {
        let (prepared, next, pace) = (Arc::clone(&prepared), Arc::clone(&next), Arc::clone(&pace));
        async move {
            let mut deleted = 0u64;
            let mut last_done = pace.start;
            while let Some(p) = prepared.get(next.fetch_add(1, Ordering::Relaxed)) {
                match walk(&mut vu, &pace, p, &mut last_done).await {
                    Ok(true) => deleted += 1,
                    Ok(false) => break,
                    Err(err) => vu.fail(err),
                }
            }
            (vu, (deleted, last_done))
        }
    })
    .await?;
    let cpu = cpu.stop();
    Ok(steps_report(&outs, start, cpu, rate, flows_prepared))
}

/// One prepared flow's four steps, each at its paced slot: `Ok(true)` once deleted,
/// `Ok(false)` if the deadline came first. `last_done` is when the last step answered.
async fn walk(vu: &mut Vu, pace: &Pace, p: &Prepared, last_done: &mut Instant) -> Result<bool> {
    // Timed from the slot here, so not by the observer too.
    let api = vu.api.without_observer().with_session(&p.token);
    let Some(at) = pace.next().await else {
        return Ok(false);
    };
    let confirm = ConfirmNotes::acknowledged(Some(p.captcha.clone()));
    let confirmed = vu
        .paced("step_confirm", at, api.deletion_confirm(&p.flow, &confirm))
        .await;
    *last_done = Instant::now();
    confirmed?.expect("deletion_confirm", Step::Verification)?;

    let Some(at) = pace.next().await else {
        return Ok(false);
    };
    let sent = vu
        .paced(
            "step_codes",
            at,
            api.deletion_send_code(&p.flow, Channel::Email),
        )
        .await;
    let code = match sent {
        Ok(_) => vu.api.latest_code(&p.email).await.map_err(Into::into),
        Err(err) => Err(err),
    };
    *last_done = Instant::now();
    let codes = FactorCodes {
        email_code: Some(code?),
        ..FactorCodes::default()
    };

    let Some(at) = pace.next().await else {
        return Ok(false);
    };
    let verified = vu
        .paced("step_verify", at, api.deletion_verify(&p.flow, &codes))
        .await;
    *last_done = Instant::now();
    verified?.expect("deletion_verify", Step::Identity)?;

    let Some(at) = pace.next().await else {
        return Ok(false);
    };
    let proof = IdentityProof::IdNumber(p.document.clone());
    let proved = vu
        .paced("step_identity", at, api.deletion_identity(&p.flow, &proof))
        .await;
    *last_done = Instant::now();
    proved?.expect("deletion_identity", Step::Deleted)?;
    Ok(true)
}

/// The steps' figures: every step latency together, over the window from the first slot
/// to the last answer.
fn steps_report(
    outs: &[(Vu, (u64, Instant))],
    start: Instant,
    cpu: CpuUse,
    rate: f64,
    flows_prepared: usize,
) -> StepsReport {
    let end = outs.iter().map(|(_, (_, t))| *t).max().unwrap_or(start);
    let window = end.saturating_duration_since(start);
    let mut combined = Latencies::new();
    for (vu, _) in outs {
        for name in STEP_NAMES {
            if let Some(h) = vu.latencies.0.get(name) {
                combined.merge(h);
            }
        }
    }
    let flows_deleted = outs.iter().map(|(_, (d, _))| *d).sum();
    let (scenario, _) = fold(outs, window, combined.count(), cpu);
    let steps = combined.summary(window);
    StepsReport {
        steps_rps: steps.per_s,
        steps,
        scenario,
        offered_rps: rate,
        flows_prepared,
        flows_deleted,
    }
}
