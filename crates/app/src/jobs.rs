//! The job runner (issue 7). Every instance may run one (`serve` does unless told not
//! to; `offboard worker` runs only this). Jobs live in the store and are claimed with a
//! lease, so a job whose instance died is taken over once its lease runs out. Failures
//! are retried with exponential backoff and jitter; after `max_attempts` a job is dead
//! until an operator replays it. Effects are idempotent or deduplicated downstream: a
//! webhook carries the same `webhook-id` on every attempt, mail is deleted from the
//! queue once sent, the purge and clean-up delete only what is due.

use crate::config::JobsConfig;
use crate::notify::Email;
use crate::state::AppState;
use offboard_store::{ClaimedJob, CleanupPolicy, JobKind};
use rand::Rng;
use std::sync::Arc;
use time::Duration;
use tokio::sync::{watch, Notify};

pub(crate) use crate::job_outcome::{Failure, Outcome};

/// Queues the periodic jobs if they are not queued yet (every instance does this at
/// start; the fixed ids make it harmless).
pub async fn ensure_periodic(state: &AppState) {
    let now = state.now();
    for kind in [JobKind::Purge, JobKind::Cleanup] {
        if let Err(err) = state.store.enqueue_job(kind.as_str(), kind, now).await {
            tracing::warn!(%err, kind = kind.as_str(), "periodic job not queued");
        }
    }
}

/// Sends an email that must not be lost: it is queued (recipient sealed) with its job,
/// tried at once, and retried by the runner with backoff if the relay is down.
pub async fn send_mail_with_retry(
    state: &AppState,
    to: &str,
    subject: &str,
    text: &str,
    html: Option<&str>,
) -> Result<(), offboard_store::StoreError> {
    let id = uuid::Uuid::now_v7().to_string();
    let sealed = seal_mail(state, to);
    let text = seal_mail(state, text);
    let html = html.map(|h| seal_mail(state, h));
    state
        .store
        .queue_mail(&id, &sealed, subject, &text, html.as_deref(), state.now())
        .await?;
    run_detached(state, &id).await;
    Ok(())
}

/// Seals a queued message's recipient or body (bodies may hold a one-time code, which
/// must not sit in a table in the clear: R20).
pub fn seal_mail(state: &AppState, text: &str) -> String {
    state.config.keys.retention.seal(b"mail", text.as_bytes())
}

fn open_mail(state: &AppState, sealed: &str) -> Result<String, Failure> {
    // Bodies queued by a version that did not seal them yet go out as they are.
    if offboard_core::crypto::sealed_key_id(sealed).is_none() {
        return Ok(sealed.to_owned());
    }
    let plain = state
        .config
        .keys
        .retention
        .open(b"mail", sealed)
        .ok_or_else(|| {
            Failure("a queued message cannot be opened with the current retention key".into())
        })?;
    Ok(String::from_utf8_lossy(&plain).into_owned())
}

/// Runs a job the request just queued without making the answer wait on it. With a
/// live transport the job runs in a task of its own: a slow relay must not show in the
/// timing of an answer that may not reveal whether an account exists. With the dev
/// outbox it runs at once (a local write, and dev mode shows every message anyway), so
/// the outbox holds the message when the answer arrives.
pub async fn run_detached(state: &AppState, id: &str) {
    if state.notifier.is_dev_outbox() {
        run_now(state, id).await;
    } else {
        spawn_now(state, id);
    }
}

/// Runs one job in a task of its own, right away; the runner retries it if that fails.
pub fn spawn_now(state: &AppState, id: &str) {
    let state = state.clone();
    let id = id.to_owned();
    tokio::spawn(async move { run_now(&state, &id).await });
}

/// Claims and runs one job right away (the request that queued it, say the deletion
/// notice). If another runner holds it, or it fails, the runner does the rest.
pub async fn run_now(state: &AppState, id: &str) {
    let cfg = state.config.jobs;
    match state
        .store
        .claim_job(id, &state.instance_id, state.now(), cfg.lease)
        .await
    {
        Ok(Some(job)) => execute(state, &state.instance_id, job).await,
        Ok(None) => {}
        Err(err) => tracing::warn!(%err, "job not claimed; the runner will pick it up"),
    }
}

/// The runner loop: claim a batch, run it concurrently, repeat; sleep `poll` when idle
/// (or until woken). On shutdown it finishes the jobs in hand and releases the rest.
pub async fn run(state: AppState, wake: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
    let cfg = state.config.jobs;
    ensure_periodic(&state).await;
    let owner = state.instance_id.clone();
    tracing::info!(%owner, "job runner started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        let claimed = match state
            .store
            .claim_jobs(&owner, state.now(), cfg.lease, cfg.concurrency as i64)
            .await
        {
            Ok(jobs) => jobs,
            Err(err) => {
                tracing::warn!(%err, "claiming jobs failed; trying again");
                Vec::new()
            }
        };
        if claimed.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(cfg.poll) => {}
                _ = wake.notified() => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        // Jobs in hand are finished even when shutdown arrives meanwhile.
        futures::future::join_all(claimed.into_iter().map(|job| execute(&state, &owner, job)))
            .await;
    }
    match state.store.release_jobs(&owner, state.now()).await {
        Ok(n) if n > 0 => tracing::info!(n, "released job leases"),
        Ok(_) => {}
        Err(err) => tracing::warn!(%err, "job leases not released; they run out by themselves"),
    }
    tracing::info!("job runner stopped");
}

async fn execute(state: &AppState, owner: &str, job: ClaimedJob) {
    let cfg = state.config.jobs;
    let kind = job.kind.as_str();
    let result = match job.kind {
        JobKind::Mail => send_mail(state, &job.id).await,
        JobKind::Event => fan_out(state, &job.id).await,
        JobKind::Webhook => crate::webhooks::deliver(state, &job, &cfg).await,
        JobKind::Purge => purge(state, &cfg).await,
        JobKind::Cleanup => cleanup(state, &cfg).await,
        JobKind::Scrub => scrub(state, &job.id).await,
    };
    let now = state.now();
    let store = &state.store;
    let recorded = match result {
        Ok(Outcome::Done) => {
            crate::metrics::job_outcome(kind, "done");
            store.finish_job(&job.id, owner, now).await
        }
        Ok(Outcome::Again(at)) => {
            crate::metrics::job_outcome(kind, "done");
            store.requeue_job(&job.id, owner, at, None, true, now).await
        }
        // Periodic jobs never become dead letters: a purge that fails (say, the database
        // was away) keeps retrying at the capped backoff.
        Err(Failure(error)) if job.attempts >= cfg.max_attempts && !is_periodic(job.kind) => {
            crate::metrics::job_outcome(kind, "dead");
            tracing::error!(job = %job.id, kind, attempts = job.attempts, %error, "job failed for good; it waits for a replay");
            store.bury_job(&job.id, owner, &error, now).await
        }
        Err(Failure(error)) => {
            crate::metrics::job_outcome(kind, "retry");
            let at = now + backoff(&cfg, job.attempts);
            tracing::warn!(job = %job.id, kind, attempts = job.attempts, %error, "job failed; retrying later");
            store
                .requeue_job(&job.id, owner, at, Some(&error), false, now)
                .await
        }
    };
    match recorded {
        Ok(true) => {}
        // The lease ran out and another instance holds the job now: its result counts.
        Ok(false) => tracing::warn!(job = %job.id, kind, "lease lost before the job ended"),
        Err(err) => {
            tracing::warn!(job = %job.id, kind, %err, "job result not recorded; the lease will run out and it runs again")
        }
    }
}

fn is_periodic(kind: JobKind) -> bool {
    matches!(kind, JobKind::Purge | JobKind::Cleanup)
}

/// `base * 2^(attempts-1)`, capped, plus up to a quarter of jitter so retries of many
/// jobs failing together spread out.
pub fn backoff(cfg: &JobsConfig, attempts: i64) -> Duration {
    let exp = attempts.saturating_sub(1).clamp(0, 30) as u32;
    let base = cfg.retry_base.whole_milliseconds().max(1) as i64;
    let cap = cfg.retry_cap.whole_milliseconds().max(1) as i64;
    let delay = base.saturating_mul(1_i64 << exp).min(cap);
    let jitter = rand::thread_rng().gen_range(0..=delay / 4);
    Duration::milliseconds(delay + jitter)
}

async fn send_mail(state: &AppState, id: &str) -> Result<Outcome, Failure> {
    let Some((sealed, subject, text, html)) = state.store.queued_mail_by_id(id).await? else {
        return Ok(Outcome::Done); // sent already
    };
    let to = open_mail(state, &sealed)?;
    let text = open_mail(state, &text)?;
    let html = html.as_deref().map(|h| open_mail(state, h)).transpose()?;
    // A security alert's text message rides the same queue (R21).
    if state.store.queued_mail_channel(id).await?.as_deref() == Some("sms") {
        let sms = crate::notify::Sms {
            to: &to,
            body: &text,
            code: None,
        };
        state.notifier.send_sms(sms, state.now()).await?;
        state.store.forget_mail(id).await?;
        return Ok(Outcome::Done);
    }
    let email = Email {
        to: &to,
        subject: &subject,
        body: &text,
        html: html.as_deref(),
        code: None,
    };
    state.notifier.send_email(email, state.now()).await?;
    state.store.forget_mail(id).await?;
    Ok(Outcome::Done)
}

/// R20: one scrub pass at a time; a job whose erasure an earlier pass covered is done
/// at once, and passes are at least `scrub_every` apart (a job due sooner waits for the
/// next one, which covers it). The first erasure after a quiet spell is scrubbed at once.
async fn scrub(state: &AppState, id: &str) -> Result<Outcome, Failure> {
    let deletion = &state.config.deletion;
    let mut passes = state.scrubs.lock().await;
    let now = state.now();
    let xid = state.store.scrub_job_xid(id).await?;
    if let Some(xid) = xid {
        if xid < passes.covered_below {
            return Ok(Outcome::Done);
        }
        if let Some(next) = passes.last_at.map(|at| at + deletion.scrub_every) {
            if next > now {
                return Ok(Outcome::Again(next));
            }
        }
    }
    let covered = state
        .store
        .scrub_storage(id, xid, deletion.rewrite_erased_tables, now)
        .await?;
    passes.last_at = Some(now);
    passes.covered_below = passes.covered_below.max(covered.unwrap_or(0));
    Ok(Outcome::Done)
}

async fn fan_out(state: &AppState, event_id: &str) -> Result<Outcome, Failure> {
    let added = state.store.fan_out_event(event_id, state.now()).await?;
    if added > 0 {
        // The deliveries are due now; this instance's runner may be asleep.
        state.job_wake.notify_one();
    }
    Ok(Outcome::Done)
}

async fn purge(state: &AppState, cfg: &JobsConfig) -> Result<Outcome, Failure> {
    let report = state.store.purge_expired(state.now()).await?;
    if report != offboard_store::PurgeReport::default() {
        tracing::info!(?report, "purged expired records");
    }
    Ok(Outcome::Again(state.now() + cfg.purge_every))
}

async fn cleanup(state: &AppState, cfg: &JobsConfig) -> Result<Outcome, Failure> {
    let policy = CleanupPolicy {
        session_idle: state.config.session_policy.idle_timeout,
        session_absolute: state.config.session_policy.absolute_timeout,
        agent_session_idle: crate::config::AGENT_SESSION_POLICY.idle_timeout,
        agent_session_absolute: crate::config::AGENT_SESSION_POLICY.absolute_timeout,
        flow_idle: state.config.deletion.flow_idle,
        code_grace: Duration::days(7),
        finished_jobs: Duration::days(7),
    };
    let report = state.store.cleanup_expired(state.now(), &policy).await?;
    if report != offboard_store::CleanupReport::default() {
        tracing::info!(?report, "cleaned up expired records");
    }
    Ok(Outcome::Again(state.now() + cfg.cleanup_every))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_stops_at_the_cap() {
        let cfg = JobsConfig {
            retry_base: Duration::seconds(10),
            retry_cap: Duration::minutes(5),
            ..JobsConfig::default()
        };
        for (attempts, base) in [(1, 10), (2, 20), (3, 40), (5, 160)] {
            let d = backoff(&cfg, attempts).whole_milliseconds();
            let base = base * 1000;
            assert!(
                (base..=base + base / 4).contains(&d),
                "attempt {attempts}: {d} ms"
            );
        }
        for attempts in [6, 12, 40, i64::MAX] {
            let d = backoff(&cfg, attempts).whole_milliseconds();
            assert!(
                (300_000..=375_000).contains(&d),
                "attempt {attempts}: {d} ms"
            );
        }
    }

    #[test]
    fn only_the_purge_and_cleanup_are_periodic() {
        let periodic: Vec<_> = JobKind::ALL
            .into_iter()
            .filter(|k| is_periodic(*k))
            .collect();
        assert_eq!(periodic, [JobKind::Purge, JobKind::Cleanup]);
    }
}
