//! Virtual users: spawning them, and folding what they measured into one report.

use crate::client::{Target, Vu};
use crate::procfs::CpuUse;
use crate::stats::{round1, round3, ByName, Summary};
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

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
pub async fn run_users<T, F, Fut>(
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
        let (mut vu, t) = handle.await.context("a virtual user stopped")?;
        vu.absorb_observed();
        out.push((vu, t));
    }
    Ok((out, started.elapsed()))
}

pub fn fold<T>(
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

pub async fn pause_after_error() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}
