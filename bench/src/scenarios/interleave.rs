//! Sign-ups and logins interleaved with the argon2id bound: rounds of (bound, work), so
//! each round's ratio divides by a bound measured a moment before, on the same shared
//! machine. A busy minute then lowers both sides of the rounds it falls in, instead of
//! faking a ratio (work measured in a quiet minute against a bound measured in a busy
//! one) or hiding one (the reverse). The figure is the median round's ratio; the pooled
//! ratio and every round are kept in the details.

use super::load::{login, signup};
use super::vus::{combine, Account, Measured, ScenarioReport};
use crate::client::Target;
use crate::stats::{median, round1, round3};
use crate::store::{self, Argon2Report};
use crate::{cores, log};
use anyhow::{Context, Result};
use serde::Serialize;
use std::time::Duration;

/// How the interleaving runs: `rounds` times the bound for `bound`, then the work for
/// `work`.
#[derive(Debug, Clone, Copy)]
pub struct Rounds {
    pub rounds: usize,
    pub bound: Duration,
    pub work: Duration,
}

/// One round: the bound measured right before the work, and the work's share of it.
#[derive(Debug, Clone, Serialize)]
pub struct Round {
    pub bound_verifies_per_s: f64,
    pub seconds: f64,
    pub completed: u64,
    pub per_s: f64,
    pub ratio: f64,
}

/// Every round of one kind of work, together.
#[derive(Debug, Clone, Serialize)]
pub struct Interleaved {
    /// The work of all rounds as one scenario (counts summed, latencies merged, rates
    /// over the rounds' summed time).
    #[serde(flatten)]
    pub scenario: ScenarioReport,
    /// The median of the rounds' ratios: the figure reported.
    pub ratio: f64,
    /// All the work over all its time ÷ the bound pooled over the same rounds.
    pub pooled_ratio: f64,
    /// The bound pooled over this work's rounds.
    pub bound: Argon2Report,
    pub rounds: Vec<Round>,
}

/// A throughput as a share of a bound (verifies per second).
pub fn ratio(per_s: f64, bound: f64) -> f64 {
    round3(per_s / bound.max(1e-9))
}

/// argon2id verifies per second on every core for `duration`, off the async threads.
async fn bound(duration: Duration) -> Result<Argon2Report> {
    tokio::task::spawn_blocking(move || store::argon2_bound(cores(), duration)).await?
}

/// Rounds of (bound, closed-loop sign-ups of fresh emails); each round's emails have a
/// prefix of their own. Answers every account made.
pub async fn signups(
    target: &Target,
    pid: u32,
    prefix: &str,
    users: usize,
    plan: Rounds,
) -> Result<(Interleaved, Vec<Account>)> {
    let (mut bounds, mut runs, mut accounts) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..plan.rounds {
        let b = bound(plan.bound).await?;
        let (m, made) = signup(target, pid, &format!("{prefix}r{i}"), users, plan.work).await?;
        log_round("sign-ups", i, &b, &m);
        accounts.extend(made);
        bounds.push(b);
        runs.push(m);
    }
    Ok((interleaved(&bounds, &runs)?, accounts))
}

/// Rounds of (bound, closed-loop logins of `accounts`). Each round goes on with the
/// accounts after the ones the previous round logged in (the slice is rotated), so the
/// rounds together leave as many accounts with a session as one long run would.
pub async fn logins(
    target: &Target,
    pid: u32,
    accounts: &mut [Account],
    users: usize,
    plan: Rounds,
) -> Result<Interleaved> {
    let (mut bounds, mut runs) = (Vec::new(), Vec::new());
    for i in 0..plan.rounds {
        let b = bound(plan.bound).await?;
        let m = login(target, pid, accounts, users, plan.work).await?;
        log_round("logins", i, &b, &m);
        if !accounts.is_empty() {
            let done = usize::try_from(m.report.completed).unwrap_or(0);
            accounts.rotate_left(done % accounts.len());
        }
        bounds.push(b);
        runs.push(m);
    }
    interleaved(&bounds, &runs)
}

fn log_round(what: &str, i: usize, b: &Argon2Report, m: &Measured) {
    log(&format!(
        "  round {}: bound {} verifies/s, {} {what}/s (ratio {}), {} errors",
        i + 1,
        b.verifies_per_s,
        m.report.per_s,
        ratio(per_s(m), b.verifies_per_s),
        m.report.errors
    ));
}

/// Work per second of one run, unrounded.
fn per_s(m: &Measured) -> f64 {
    m.report.completed as f64 / m.elapsed.as_secs_f64().max(1e-9)
}

/// The rounds' figures: `bounds[i]` was measured right before `runs[i]`.
fn interleaved(bounds: &[Argon2Report], runs: &[Measured]) -> Result<Interleaved> {
    let rounds: Vec<Round> = bounds
        .iter()
        .zip(runs)
        .map(|(b, m)| Round {
            bound_verifies_per_s: b.verifies_per_s,
            seconds: round3(m.elapsed.as_secs_f64()),
            completed: m.report.completed,
            per_s: round1(per_s(m)),
            ratio: ratio(per_s(m), b.verifies_per_s),
        })
        .collect();
    let scenario = combine(runs);
    let bound = Argon2Report::pooled(bounds).context("no round of the argon2id bound")?;
    let total: u64 = runs.iter().map(|m| m.report.completed).sum();
    let time: f64 = runs.iter().map(|m| m.elapsed.as_secs_f64()).sum();
    let ratios: Vec<f64> = rounds.iter().map(|r| r.ratio).collect();
    Ok(Interleaved {
        ratio: round3(median(&ratios)),
        pooled_ratio: ratio(total as f64 / time.max(1e-9), bound.verifies_per_s),
        bound,
        scenario,
        rounds,
    })
}
