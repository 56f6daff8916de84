//! The complete journey under load, walked by `offboard-client`'s `journey::complete`
//! (the journey is written once, there): every request is timed by the client's
//! observer under its request name, the captcha's solving as `captcha_solve (client)`.

use super::vus::{fold, pause_after_error, run_users, ScenarioReport};
use crate::client::{Target, PASSWORD};
use crate::procfs::{self, CpuMeter};
use crate::stats::{round1, Summary};
use anyhow::Result;
use offboard_client::{journey, Client};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
                let result = one_journey(&vu.api, &run, n, i).await;
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

/// One complete journey for virtual user `n`'s `i`th person (fresh email and document).
async fn one_journey(api: &Client, run: &str, n: usize, i: usize) -> Result<()> {
    let email = format!("j{run}-{n}-{i}@bench.example.com");
    let document = format!("J{run}N{n}I{i}");
    let plan = journey::CompleteJourney::new(&email, PASSWORD, &document);
    journey::complete(api, &plan).await?;
    Ok(())
}
