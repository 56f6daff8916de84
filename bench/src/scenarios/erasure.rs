//! The erasure on its own: flows are walked (untimed) up to their last step, then only
//! the last step runs, closed-loop. Its answer is the erased account: the one
//! transaction (R7) that re-checks the assets, marks the account deleted, revokes
//! everything, erases personal data, seals what the law keeps, writes the tombstones and
//! queues the notice. The heaviest write of the product gets a figure of its own instead
//! of a quarter of the paced steps' latencies.

use super::steps::{advance_to_final, prepare_steps, Prepared};
use super::vus::{fold, run_users, Account, ScenarioReport};
use crate::client::Target;
use crate::procfs::CpuMeter;
use crate::stats::{round3, Summary};
use anyhow::Result;
use offboard_client::{IdentityProof, Step};
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize)]
pub struct ErasureReport {
    #[serde(flatten)]
    pub scenario: ScenarioReport,
    pub erasures_per_s: f64,
    /// The final step alone, from send to answer (closed loop: no schedule to count from).
    pub erase: Summary,
    pub flows_prepared: usize,
    pub prepare_errors: u64,
    /// Untimed preparation, seconds (for the run's total time, not a figure).
    pub prepare_s: f64,
}

/// Untimed: flows started (identity approved, captcha solved) for the accounts, then
/// walked to the identity step by `users` in parallel. No flow is taken up after
/// `limit`; the ones not ready count as preparation errors.
pub async fn prepare_erasures(
    target: &Target,
    run: &str,
    accounts: &[Account],
    users: usize,
    limit: Duration,
) -> Result<(Vec<Prepared>, u64)> {
    let deadline = Instant::now() + limit;
    let (started, start_errors) = prepare_steps(target, run, accounts, users).await?;
    let total = started.len();
    let started = Arc::new(started);
    let next = Arc::new(AtomicUsize::new(0));
    let (outs, _) = run_users(target, users, 950, |mut vu, _| {
        let (started, next) = (Arc::clone(&started), Arc::clone(&next));
        async move {
            let mut ready = Vec::new();
            while Instant::now() < deadline {
                let Some(p) = started.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    break;
                };
                match advance_to_final(&vu, p).await {
                    Ok(()) => ready.push(p.clone()),
                    Err(err) => vu.fail(err),
                }
            }
            (vu, ready)
        }
    })
    .await?;
    let ready: Vec<Prepared> = outs.into_iter().flat_map(|(_, r)| r).collect();
    let errors = start_errors + (total - ready.len()) as u64;
    Ok((ready, errors))
}

/// The final step (the ID number) of every prepared flow, closed-loop with `users`,
/// until the flows run out or `limit` passes. Each latency is one request's.
pub async fn erasures(
    target: &Target,
    pid: u32,
    flows: Vec<Prepared>,
    users: usize,
    limit: Duration,
    prepare: (Duration, u64),
) -> Result<ErasureReport> {
    let flows_prepared = flows.len();
    let flows = Arc::new(flows);
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + limit;
    let cpu = CpuMeter::start(pid);
    let (outs, elapsed) = run_users(target, users, 960, |mut vu, _| {
        let (flows, next) = (Arc::clone(&flows), Arc::clone(&next));
        async move {
            let mut erased = 0u64;
            while Instant::now() < deadline {
                let Some(p) = flows.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    break;
                };
                // Timed here, so not by the observer too.
                let api = vu.api.without_observer().with_session(&p.token);
                let proof = IdentityProof::IdNumber(p.document.clone());
                let started = Instant::now();
                let answer = vu
                    .paced("erase", started, api.deletion_identity(&p.flow, &proof))
                    .await
                    .and_then(|flow| {
                        flow.expect("deletion_identity", Step::Deleted)
                            .map_err(Into::into)
                    });
                match answer {
                    Ok(_) => erased += 1,
                    Err(err) => vu.fail(err),
                }
            }
            (vu, erased)
        }
    })
    .await?;
    let completed = outs.iter().map(|(_, n)| *n).sum();
    let (scenario, all) = fold(&outs, elapsed, completed, cpu.stop());
    let erase = all
        .0
        .get("erase")
        .cloned()
        .unwrap_or_default()
        .summary(elapsed);
    Ok(ErasureReport {
        erasures_per_s: scenario.per_s,
        erase,
        scenario,
        flows_prepared,
        prepare_errors: prepare.1,
        prepare_s: round3(prepare.0.as_secs_f64()),
    })
}
