//! `offboard-bench run`: every scenario against one running server, in order, as named
//! phases (sign-up and login in rounds with the argon2id bound, `/me`, the login storm,
//! the paced deletion steps, the erasure alone, complete journeys, tombstones, purges),
//! then one JSON file of figures.

use crate::scenarios::{
    Account, ErasureReport, Interleaved, JourneyReport, MeLevel, Rounds, ScenarioReport,
    StepsReport, StormPlan, StormReport,
};
use crate::stats::{self, Summary};
use crate::store::{Argon2Report, PurgeRun, SeedReport};
use crate::{client, cores, log, loopback_only, procfs, scenarios, store, RunArgs};
use anyhow::{Context, Result};
use offboard_core::crypto::SecretKey;
use offboard_core::{Clock, SystemClock};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// Virtual users of the journey-steps scenario.
const STEPS_USERS: usize = 32;

/// Virtual users of the erasure scenario (closed loop, the final step only).
const ERASE_USERS: usize = 4;

/// Accounts the storm needs at least: one per connection, so no account ever has two
/// logins in flight, and some to spare so the rotation is not lock-step.
const STORM_ACCOUNTS_EXTRA: usize = 64;

/// How long each scenario runs and how much it seeds, quick or full.
struct Plan {
    /// Sign-ups, then logins, each in rounds with the argon2id bound.
    rounds: Rounds,
    me: Duration,
    me_levels: Vec<usize>,
    storm: Duration,
    steps: Duration,
    erase_flows: usize,
    /// Longest the erasures may run (they stop sooner when the flows run out).
    erase: Duration,
    journey: Duration,
    tombstones: Duration,
    probes: usize,
    retained: usize,
}

impl Plan {
    fn new(a: &RunArgs) -> Self {
        let q = a.quick;
        let secs = |quick: u64, full: u64| Duration::from_secs(if q { quick } else { full });
        Self {
            // Quick: 3 × (1 s + 1.5 s) per kind, 4.5 s of work and 3 s of bound each, as
            // the earlier 5 s runs between two 3 s bounds. Full: 6 × (1 s + 2.5 s).
            rounds: Rounds {
                rounds: if q { 3 } else { 6 },
                bound: Duration::from_secs(1),
                work: Duration::from_millis(if q { 1_500 } else { 2_500 }),
            },
            me: secs(3, 5),
            me_levels: if q {
                vec![8, 32]
            } else {
                vec![4, 8, 16, 32, 64]
            },
            storm: secs(5, 15),
            steps: secs(5, 15),
            erase_flows: if q { 40 } else { 160 },
            erase: secs(10, 30),
            journey: secs(10, 30),
            tombstones: secs(3, 10),
            probes: if q { 5_000 } else { 20_000 },
            retained: a.retained.unwrap_or(if q { 20_000 } else { 100_000 }),
        }
    }
}

/// The machine's state when the run began.
struct Start {
    run_id: String,
    loadavg: f64,
    pressure: Value,
    idle_rss: f64,
}

/// Sign-ups and logins, each in rounds with the argon2id bound.
struct Throughput {
    /// The bound pooled over every round (sign-up and login): `argon2_verifies_per_s`,
    /// and what the storm's offered rate is a multiple of.
    argon2: Argon2Report,
    signup: Interleaved,
    login: Interleaved,
}

/// `GET /api/v1/me` at each level, and the best level.
struct MeRun {
    levels: Vec<MeLevel>,
    best: MeLevel,
}

/// The paced deletion steps, and the flows that could not be prepared.
struct StepsRun {
    report: StepsReport,
    prepare_errors: u64,
}

/// Complete journeys, and the server's peak memory before them.
struct JourneyRun {
    report: JourneyReport,
    peak_rss_before_mb: f64,
}

/// Sign-ups beside many tombstones, and the store's own probe of them.
struct TombstoneRun {
    seed: SeedReport,
    refused: ScenarioReport,
    refused_p99: f64,
    signups_beside: ScenarioReport,
    probe: Summary,
    blocked: u64,
}

/// The purge of due tombstones, then of seeded retained records.
struct PurgeRuns {
    tombstones: PurgeRun,
    retained_seed_s: f64,
    retained: PurgeRun,
}

pub async fn run(a: RunArgs) -> Result<()> {
    loopback_only(&a.url)?;
    let key = SecretKey::from_hex(&a.blind_index_key)
        .context("--blind-index-key must be 64 hex characters")?;
    let target = client::Target::new(&a.url, &a.admin_token)?;
    let plan = Plan::new(&a);
    let start = begin(&a).await?;
    let (throughput, mut accounts) = throughput(&a, &target, &plan, &start.run_id).await?;
    let me = me(&a, &target, &plan, &accounts).await?;
    let bound = throughput.argon2.verifies_per_s;
    let storm = storm(&a, &target, &plan, &start.run_id, bound, &mut accounts).await?;
    let steps = steps(&a, &target, &plan, &start.run_id, &mut accounts).await?;
    let erasure = erasure(&a, &target, &plan, &start.run_id, &mut accounts).await?;
    let journey = journey(&a, &target, &plan, &start.run_id).await?;
    let now = SystemClock.now();
    let wait = time::Duration::days(a.reregister_days);
    let tombstones = tombstones(&a, &target, &plan, &start.run_id, &key, now, now + wait).await?;
    let purges = purges(&a, &plan, now, now + wait).await?;
    let result = json!({
        "backend": a.backend,
        "mode": if a.quick { "quick" } else { "full" },
        "generated_at": SystemClock.now().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "argon2_verifies_per_s": throughput.argon2.verifies_per_s,
        "login_per_s": throughput.login.scenario.per_s,
        "login_ratio": throughput.login.ratio,
        "signup_per_s": throughput.signup.scenario.per_s,
        "signup_ratio": throughput.signup.ratio,
        "me_rps": me.best.rps,
        "me_p99_ms": me.best.p99_ms,
        "storm_offered_login_rps": storm.offered_login_rps,
        "storm_login_per_s": storm.login.per_s,
        "storm_login_p99_ms": seen(&storm.login, storm.login.p99_ms),
        "storm_refused_per_s": storm.refused.per_s,
        "storm_refused_fast_p99_ms": seen(&storm.refused, storm.refused.p99_ms),
        "storm_me_rps": storm.me.rps,
        "storm_me_p99_ms": seen(&storm.me.latency, storm.me.latency.p99_ms),
        "storm_errors": storm.errors,
        "storm_connections": storm.connections,
        "steps_rps": steps.report.steps_rps,
        "steps_p99_ms": steps.report.steps.p99_ms,
        "erase_p50_ms": seen(&erasure.erase, erasure.erase.p50_ms),
        "erase_p99_ms": seen(&erasure.erase, erasure.erase.p99_ms),
        "erasures_per_s": erasure.erasures_per_s,
        "journeys_per_s": journey.report.journeys_per_s,
        "tombstone_check_p99_ms": tombstones.refused_p99,
        "purge_per_s": purges.tombstones.per_s,
        "idle_rss_mb": stats::round1(start.idle_rss),
        "load_rss_mb": journey.report.load_rss_mb,
        "tombstone_query_p99_ms": tombstones.probe.p99_ms,
        "signup_with_tombstones_per_s": tombstones.signups_beside.per_s,
        "purge_retained_per_s": purges.retained.per_s,
        "argon2_verify_ms": throughput.argon2.verify_ms,
        "steps_offered_rps": a.steps_rate,
        "me_best_connections": me.best.connections,
        "peak_rss_before_journey_mb": stats::round1(journey.peak_rss_before_mb),
        "loadavg_start": start.loadavg,
        "loadavg_end": procfs::loadavg(),
        "pressure_start": start.pressure,
        "pressure_end": procfs::pressure(),
        "details": details(&throughput, &me, &storm, &steps, &erasure, &journey, &tombstones, &purges, &plan),
        "params": params(&a, &plan),
    });
    std::fs::write(&a.out, serde_json::to_string_pretty(&result)?)
        .with_context(|| format!("writing {}", a.out.display()))?;
    log(&format!("wrote {}", a.out.display()));
    Ok(())
}

/// A latency figure, or null when nothing of its kind was measured (a p99 of no
/// samples would read as 0 ms, and meet its target).
fn seen(summary: &Summary, ms: f64) -> Value {
    if summary.count > 0 {
        json!(ms)
    } else {
        Value::Null
    }
}

/// The run's id (account names of this run start with it), the machine's load and the
/// server's idle memory.
async fn begin(a: &RunArgs) -> Result<Start> {
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    let loadavg = procfs::loadavg();
    let pressure = procfs::pressure();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = procfs::rss_mb(a.pid)?;
    log(&format!("{}: idle RSS {idle_rss:.1} MiB", a.backend));
    Ok(Start {
        run_id,
        loadavg,
        pressure,
        idle_rss,
    })
}

/// Sign-ups, then logins of the accounts made, each in rounds with the argon2id bound
/// (see `scenarios::interleave`). The accounts made, with the sessions logins gave them.
async fn throughput(
    a: &RunArgs,
    target: &client::Target,
    plan: &Plan,
    run_id: &str,
) -> Result<(Throughput, Vec<Account>)> {
    let r = plan.rounds;
    log(&format!(
        "sign-up only, {} rounds of (argon2id bound {} s, sign-ups {} s)",
        r.rounds,
        r.bound.as_secs_f64(),
        r.work.as_secs_f64()
    ));
    let (signup, mut accounts) =
        scenarios::signups(target, a.pid, &format!("s{run_id}"), a.users, r).await?;
    log(&format!(
        "  {} sign-ups/s, ratio {} (median round; pooled {}), {} errors",
        signup.scenario.per_s, signup.ratio, signup.pooled_ratio, signup.scenario.errors
    ));

    log(&format!(
        "login only, {} rounds of (argon2id bound {} s, logins {} s)",
        r.rounds,
        r.bound.as_secs_f64(),
        r.work.as_secs_f64()
    ));
    let login = scenarios::logins(target, a.pid, &mut accounts, a.users, r).await?;
    log(&format!(
        "  {} logins/s, ratio {} (median round; pooled {}), {} errors",
        login.scenario.per_s, login.ratio, login.pooled_ratio, login.scenario.errors
    ));
    let argon2 = Argon2Report::pooled([&signup.bound, &login.bound])
        .context("no round of the argon2id bound")?;
    log(&format!(
        "  argon2id bound over every round: {} verifies/s",
        argon2.verifies_per_s
    ));
    let throughput = Throughput {
        argon2,
        signup,
        login,
    };
    Ok((throughput, accounts))
}

/// `GET /api/v1/me` with the logged-in accounts' sessions at each level of the plan.
async fn me(
    a: &RunArgs,
    target: &client::Target,
    plan: &Plan,
    accounts: &[Account],
) -> Result<MeRun> {
    let tokens: Vec<String> = accounts.iter().filter_map(|x| x.token.clone()).collect();
    log(&format!(
        "GET /api/v1/me at {:?} connections",
        plan.me_levels
    ));
    let levels = scenarios::me(target, a.pid, &tokens, &plan.me_levels, plan.me).await?;
    let best = levels
        .iter()
        .max_by(|x, y| x.rps.total_cmp(&y.rps))
        .cloned()
        .context("no /me measurement")?;
    for level in &levels {
        log(&format!(
            "  {} connections: {} req/s, p99 {} ms",
            level.connections, level.rps, level.p99_ms
        ));
    }
    Ok(MeRun { levels, best })
}

/// Logins offered at 4× the bound over 256 connections, `/me` paced beside them (see
/// `scenarios::storm`). Every account made so far takes part (one login in flight each);
/// accounts are topped up (untimed) when there are fewer than the connections.
async fn storm(
    a: &RunArgs,
    target: &client::Target,
    plan: &Plan,
    run_id: &str,
    bound: f64,
    accounts: &mut Vec<Account>,
) -> Result<StormReport> {
    let storm = StormPlan::at_bound(bound, plan.storm);
    let needed = storm.connections + STORM_ACCOUNTS_EXTRA;
    if accounts.len() < needed {
        log(&format!(
            "login storm: {} more accounts (untimed)",
            needed - accounts.len()
        ));
        let tag = format!("{run_id}s");
        let more = scenarios::top_up(
            target,
            &tag,
            needed - accounts.len(),
            a.users,
            Duration::from_secs(60),
        )
        .await?;
        accounts.extend(more);
    }
    let emails: Vec<String> = accounts.iter().map(|x| x.email.clone()).collect();
    let tokens: Vec<String> = accounts.iter().filter_map(|x| x.token.clone()).collect();
    log(&format!(
        "login storm: {} logins/s offered over {} connections ({} accounts), /me at {} req/s over {}, {} s",
        storm.login_rate,
        storm.connections,
        emails.len(),
        storm.me_rate,
        storm.me_connections,
        storm.duration.as_secs_f64()
    ));
    let report = scenarios::storm(target, a.pid, emails, tokens, storm).await?;
    log(&format!(
        "  {} logins/s p99 {} ms, {} refused/s p99 {} ms, {} errors, {} unsent; /me {} req/s p99 {} ms",
        report.login.per_s,
        report.login.p99_ms,
        report.refused.per_s,
        report.refused.p99_ms,
        report.errors,
        report.unsent,
        report.me.rps,
        report.me.latency.p99_ms
    ));
    Ok(report)
}

/// Up to `needed` accounts with sessions, taken out of `accounts` (the scenarios that
/// use them delete them). When too few have a session, more are signed up and logged in
/// first (untimed, emails tagged `tag`, within a minute).
async fn take_with_sessions(
    a: &RunArgs,
    target: &client::Target,
    tag: &str,
    accounts: &mut Vec<Account>,
    needed: usize,
    what: &str,
) -> Result<Vec<Account>> {
    let with_session = accounts.iter().filter(|x| x.token.is_some()).count();
    if with_session < needed {
        log(&format!(
            "{what}: {} more accounts with sessions (untimed)",
            needed - with_session
        ));
        let more = scenarios::top_up(
            target,
            tag,
            needed - with_session,
            a.users,
            Duration::from_secs(60),
        )
        .await?;
        accounts.extend(more);
    }
    let (mut taken, rest): (Vec<Account>, Vec<Account>) =
        accounts.drain(..).partition(|x| x.token.is_some());
    let spare = taken.split_off(needed.min(taken.len()));
    accounts.extend(spare);
    accounts.extend(rest);
    Ok(taken)
}

/// The paced steps need one flow per four requests (plus a few): accounts with sessions
/// are topped up (untimed) when the earlier scenarios made too few, flows prepared
/// (untimed), then the steps run at the offered rate.
async fn steps(
    a: &RunArgs,
    target: &client::Target,
    plan: &Plan,
    run_id: &str,
    accounts: &mut Vec<Account>,
) -> Result<StepsRun> {
    let needed = ((a.steps_rate * plan.steps.as_secs_f64()) / 4.0).ceil() as usize + 8;
    let taken = take_with_sessions(a, target, run_id, accounts, needed, "journey steps").await?;
    log(&format!(
        "journey steps: preparing {} flows (untimed)",
        taken.len()
    ));
    let (prepared, prepare_errors) =
        scenarios::prepare_steps(target, run_id, &taken, a.users).await?;
    log(&format!("journey steps at {} req/s", a.steps_rate));
    let report = scenarios::steps(
        target,
        a.pid,
        prepared,
        STEPS_USERS,
        a.steps_rate,
        plan.steps,
    )
    .await?;
    log(&format!(
        "  {} steps/s, p99 {} ms, {} errors",
        report.steps_rps, report.steps.p99_ms, report.scenario.errors
    ));
    Ok(StepsRun {
        report,
        prepare_errors,
    })
}

/// The final step alone: flows walked (untimed) to the identity step, then only that
/// step, closed-loop with a few users (see `scenarios::erasure`).
async fn erasure(
    a: &RunArgs,
    target: &client::Target,
    plan: &Plan,
    run_id: &str,
    accounts: &mut Vec<Account>,
) -> Result<ErasureReport> {
    let tag = format!("{run_id}e");
    let taken = take_with_sessions(a, target, &tag, accounts, plan.erase_flows, "erasure").await?;
    log(&format!(
        "erasure: preparing {} flows up to the final step (untimed)",
        taken.len()
    ));
    let began = Instant::now();
    // Document numbers of their own ("D<run>Z<i>"): the steps' flows tombstoned theirs.
    let documents = format!("{run_id}Z");
    let (flows, prepare_errors) = scenarios::prepare_erasures(
        target,
        &documents,
        &taken,
        a.users,
        Duration::from_secs(120),
    )
    .await?;
    let prepared_in = began.elapsed();
    log(&format!(
        "erasure: the final step of {} flows, closed loop, {ERASE_USERS} users",
        flows.len()
    ));
    let report = scenarios::erasures(
        target,
        a.pid,
        flows,
        ERASE_USERS,
        plan.erase,
        (prepared_in, prepare_errors),
    )
    .await?;
    log(&format!(
        "  {} erasures/s, p50 {} ms, p99 {} ms, {} errors",
        report.erasures_per_s, report.erase.p50_ms, report.erase.p99_ms, report.scenario.errors
    ));
    Ok(report)
}

/// Closed-loop complete journeys.
async fn journey(
    a: &RunArgs,
    target: &client::Target,
    plan: &Plan,
    run_id: &str,
) -> Result<JourneyRun> {
    let peak_rss_before_mb = procfs::peak_rss_mb(a.pid).unwrap_or(0.0);
    log(&format!("complete journeys, {} users", a.journey_users));
    let report = scenarios::journey(target, a.pid, run_id, a.journey_users, plan.journey).await?;
    log(&format!(
        "  {} journeys/s, {} errors, peak RSS {} MiB",
        report.journeys_per_s, report.scenario.errors, report.load_rss_mb
    ));
    Ok(JourneyRun {
        report,
        peak_rss_before_mb,
    })
}

/// Seeds the tombstones (deleted `now`, blocking until `allowed_from`), then sign-ups of
/// their emails (refused), sign-ups of fresh emails beside them, and the store's probe.
async fn tombstones(
    a: &RunArgs,
    target: &client::Target,
    plan: &Plan,
    run_id: &str,
    key: &SecretKey,
    now: OffsetDateTime,
    allowed_from: OffsetDateTime,
) -> Result<TombstoneRun> {
    log(&format!("seeding {} tombstones", a.tombstones));
    let seed = store::seed_tombstones(&a.db_url, key, a.tombstones, now, allowed_from).await?;
    log(&format!("  {} s ({})", seed.insert_s, seed.method));
    let refused =
        scenarios::refused_signups(target, a.pid, a.tombstones, 2, plan.tombstones).await?;
    let refused_p99 = refused
        .latency
        .get("signup_refused")
        .map(|s| s.p99_ms)
        .unwrap_or(0.0);
    log(&format!("  refused sign-ups p99 {refused_p99} ms"));
    let (beside, _) = scenarios::signup(
        target,
        a.pid,
        &format!("f{run_id}"),
        a.users,
        plan.tombstones,
    )
    .await?;
    let signups_beside = beside.report;
    let (probe, blocked) =
        store::probe_tombstones(&a.db_url, key, a.tombstones, plan.probes, SystemClock.now())
            .await?;
    log(&format!(
        "  sign-ups beside them {} /s; Store::tombstone_blocks p99 {} ms",
        signups_beside.per_s, probe.p99_ms
    ));
    Ok(TombstoneRun {
        seed,
        refused,
        refused_p99,
        signups_beside,
        probe,
        blocked,
    })
}

/// The purge a day after the tombstones fall due, then of retained records seeded to fall
/// due ten days after.
async fn purges(
    a: &RunArgs,
    plan: &Plan,
    now: OffsetDateTime,
    allowed_from: OffsetDateTime,
) -> Result<PurgeRuns> {
    log("purge of due tombstones");
    let tombstones = store::purge(&a.db_url, allowed_from + time::Duration::days(1), false).await?;
    log(&format!(
        "  {} tombstones in {} s",
        tombstones.tombstones, tombstones.seconds
    ));
    let retained_due = allowed_from + time::Duration::days(10);
    let retained_seed_s = store::seed_retained(&a.db_url, plan.retained, now, retained_due).await?;
    let retained = store::purge(&a.db_url, retained_due + time::Duration::days(1), true).await?;
    log(&format!(
        "  {} retained records in {} s",
        retained.retained_records, retained.seconds
    ));
    Ok(PurgeRuns {
        tombstones,
        retained_seed_s,
        retained,
    })
}

/// Every scenario's whole report, under `details`.
#[allow(clippy::too_many_arguments)] // one argument per phase, in the run's order
fn details(
    throughput: &Throughput,
    me: &MeRun,
    storm: &StormReport,
    steps: &StepsRun,
    erasure: &ErasureReport,
    journey: &JourneyRun,
    tombstones: &TombstoneRun,
    purges: &PurgeRuns,
    plan: &Plan,
) -> Value {
    json!({
        "argon2": throughput.argon2,
        "signup": throughput.signup,
        "login": throughput.login,
        "me": me.levels,
        "storm": storm,
        "steps": steps.report,
        "steps_prepare_errors": steps.prepare_errors,
        "erasure": erasure,
        "journey": journey.report,
        "tombstones": {
            "seed": tombstones.seed,
            "refused_signups": tombstones.refused,
            "signups_beside_tombstones": tombstones.signups_beside,
            "store_probe": tombstones.probe,
            "store_probe_blocked": tombstones.blocked,
        },
        "purge": {
            "tombstones": purges.tombstones,
            "retained_seeded": plan.retained,
            "retained_seed_s": purges.retained_seed_s,
            "retained": purges.retained,
        },
    })
}

/// What the run was asked to do, under `params`.
fn params(a: &RunArgs, plan: &Plan) -> Value {
    json!({
        "cores": cores(),
        "users": a.users,
        "journey_users": a.journey_users,
        "steps_users": STEPS_USERS,
        "erase_users": ERASE_USERS,
        "erase_flows": plan.erase_flows,
        "rounds": plan.rounds.rounds,
        "seconds": {
            "argon2_per_round": plan.rounds.bound.as_secs_f64(),
            "signup_per_round": plan.rounds.work.as_secs_f64(),
            "login_per_round": plan.rounds.work.as_secs_f64(),
            "me_per_level": plan.me.as_secs(), "storm": plan.storm.as_secs(),
            "steps": plan.steps.as_secs(), "erase_limit": plan.erase.as_secs(),
            "journey": plan.journey.as_secs(), "tombstone_scenarios": plan.tombstones.as_secs(),
        },
        "me_levels": plan.me_levels,
        "tombstones_seeded": a.tombstones,
        "tombstone_probes": plan.probes,
        "retained_seeded": plan.retained,
    })
}
