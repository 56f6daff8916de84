//! Virtual users: spawning them, and folding what they measured into one report.

use crate::client::{Target, Vu};
use crate::procfs::CpuUse;
use crate::stats::{round1, round3, ByName, Summary};
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
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

/// One run of a closed-loop scenario with its raw histograms, so that several runs (the
/// rounds between measurements of the argon2id bound) can be combined into one report.
pub struct Measured {
    pub report: ScenarioReport,
    pub latencies: ByName,
    pub elapsed: Duration,
}

/// Several runs of one scenario as one report: counts, errors and CPU summed, histograms
/// merged, rates over the summed time (the gaps between runs are not the scenario's).
pub fn combine(runs: &[Measured]) -> ScenarioReport {
    let mut all = ByName::default();
    let elapsed: Duration = runs.iter().map(|r| r.elapsed).sum();
    let completed: u64 = runs.iter().map(|r| r.report.completed).sum();
    let mut samples = Vec::new();
    for run in runs {
        all.merge(&run.latencies);
        for s in &run.report.error_samples {
            if samples.len() < 5 {
                samples.push(s.clone());
            }
        }
    }
    ScenarioReport {
        users: runs.iter().map(|r| r.report.users).max().unwrap_or(0),
        seconds: round3(elapsed.as_secs_f64()),
        completed,
        per_s: round1(completed as f64 / elapsed.as_secs_f64().max(1e-9)),
        errors: runs.iter().map(|r| r.report.errors).sum(),
        error_samples: samples,
        latency: all.summaries(elapsed),
        cpu: CpuUse {
            server_cpu_s: round3(runs.iter().map(|r| r.report.cpu.server_cpu_s).sum()),
            bench_cpu_s: round3(runs.iter().map(|r| r.report.cpu.bench_cpu_s).sum()),
        },
    }
}

/// The pacing of an open-model scenario, shared by its virtual users: request slot `k`
/// is due at `start + k * interval`, and none after `deadline`. A slot taken late (every
/// user was busy) keeps its due time, so the wait counts in its latency.
pub struct Pace {
    slot: AtomicU64,
    pub start: Instant,
    interval: Duration,
    deadline: Instant,
}

impl Pace {
    /// `rate` slots per second from `start` for `duration`.
    pub fn new(start: Instant, rate: f64, duration: Duration) -> Self {
        Self {
            slot: AtomicU64::new(0),
            start,
            interval: Duration::from_secs_f64(1.0 / rate.max(1.0)),
            deadline: start + duration,
        }
    }

    /// How many slots fall within the window (the offered requests).
    pub fn offered(&self) -> u64 {
        let window = self.deadline.saturating_duration_since(self.start);
        (window.as_secs_f64() / self.interval.as_secs_f64()).floor() as u64 + 1
    }

    /// Sleeps until the next free slot and answers its time; `None` past the deadline.
    pub async fn next(&self) -> Option<Instant> {
        let k = self.slot.fetch_add(1, Ordering::Relaxed);
        let at = self.start + self.interval.mul_f64(k as f64);
        if at > self.deadline {
            return None;
        }
        tokio::time::sleep_until(at.into()).await;
        Some(at)
    }
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
