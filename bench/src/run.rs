//! `offboard-bench run`: every scenario against one running server, in order, as named
//! phases (throughput of sign-up and login beside the argon2id bound, `/me`, the paced
//! deletion steps, complete journeys, tombstones, purges), then one JSON file of figures.

use crate::scenarios::{Account, JourneyReport, MeLevel, ScenarioReport, StepsReport};
use crate::stats::{self, Summary};
use crate::store::{Argon2Report, PurgeRun, SeedReport};
use crate::{client, cores, log, loopback_only, procfs, scenarios, store, RunArgs};
use anyhow::{Context, Result};
use offboard_core::crypto::SecretKey;
use offboard_core::{Clock, SystemClock};
use serde_json::{json, Value};
use std::time::Duration;
use time::OffsetDateTime;

/// Virtual users of the journey-steps scenario.
const STEPS_USERS: usize = 32;

/// How long each scenario runs and how much it seeds, quick or full.
struct Plan {
    argon2: Duration,
    signup: Duration,
    login: Duration,
    me: Duration,
    me_levels: Vec<usize>,
    steps: Duration,
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
            argon2: secs(3, 5),
            signup: secs(5, 15),
            login: secs(5, 15),
            me: secs(3, 5),
            me_levels: if q {
                vec![8, 32]
            } else {
                vec![4, 8, 16, 32, 64]
            },
            steps: secs(5, 15),
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

/// Sign-ups and logins, between two measurements of the argon2id bound.
struct Throughput {
    argon2_before: Argon2Report,
    argon2_after: Argon2Report,
    /// The higher of the two bounds, which the ratios divide by.
    argon2: Argon2Report,
    signup: ScenarioReport,
    login: ScenarioReport,
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
    let steps = steps(&a, &target, &plan, &start.run_id, &mut accounts).await?;
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
        "login_per_s": throughput.login.per_s,
        "login_ratio": ratio(throughput.login.per_s, &throughput.argon2),
        "signup_per_s": throughput.signup.per_s,
        "signup_ratio": ratio(throughput.signup.per_s, &throughput.argon2),
        "me_rps": me.best.rps,
        "me_p99_ms": me.best.p99_ms,
        "steps_rps": steps.report.steps_rps,
        "steps_p99_ms": steps.report.steps.p99_ms,
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
        "details": details(&throughput, &me, &steps, &journey, &tombstones, &purges, &plan),
        "params": params(&a, &plan),
    });
    std::fs::write(&a.out, serde_json::to_string_pretty(&result)?)
        .with_context(|| format!("writing {}", a.out.display()))?;
    log(&format!("wrote {}", a.out.display()));
    Ok(())
}

/// A throughput as a share of the argon2id bound.
fn ratio(per_s: f64, argon2: &Argon2Report) -> f64 {
    stats::round3(per_s / argon2.verifies_per_s.max(1e-9))
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

/// argon2id verifies per second on every core for `duration`, off the async threads.
async fn argon2_bound(duration: Duration) -> Result<Argon2Report> {
    let report =
        tokio::task::spawn_blocking(move || store::argon2_bound(cores(), duration)).await??;
    log(&format!("  {} verifies/s", report.verifies_per_s));
    Ok(report)
}

/// The bound, measured right before sign-ups and again right after logins with the
/// server idle; the higher of the two is used (the machine is shared, and a bound
/// measured while something else runs would flatter the ratios). The accounts made.
async fn throughput(
    a: &RunArgs,
    target: &client::Target,
    plan: &Plan,
    run_id: &str,
) -> Result<(Throughput, Vec<Account>)> {
    log("argon2id bound");
    let argon2_before = argon2_bound(plan.argon2).await?;

    log("sign-up only");
    let (signup, mut accounts) =
        scenarios::signup(target, a.pid, &format!("s{run_id}"), a.users, plan.signup).await?;
    log(&format!(
        "  {} sign-ups/s, {} errors",
        signup.per_s, signup.errors
    ));

    log("login only");
    let login = scenarios::login(target, a.pid, &mut accounts, a.users, plan.login).await?;
    log(&format!(
        "  {} logins/s, {} errors",
        login.per_s, login.errors
    ));

    log("argon2id bound again");
    let argon2_after = argon2_bound(plan.argon2).await?;
    let argon2 = if argon2_after.verifies_per_s > argon2_before.verifies_per_s {
        argon2_after.clone()
    } else {
        argon2_before.clone()
    };
    let throughput = Throughput {
        argon2_before,
        argon2_after,
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
    let with_session = accounts.iter().filter(|x| x.token.is_some()).count();
    if with_session < needed {
        log(&format!(
            "journey steps: {} more accounts with sessions (untimed)",
            needed - with_session
        ));
        let more = scenarios::top_up(
            target,
            run_id,
            needed - with_session,
            a.users,
            Duration::from_secs(60),
        )
        .await?;
        accounts.retain(|x| x.token.is_some());
        accounts.extend(more);
    }
    let take = needed.min(accounts.len());
    log(&format!("journey steps: preparing {take} flows (untimed)"));
    let (prepared, prepare_errors) =
        scenarios::prepare_steps(target, run_id, &accounts[..take], a.users).await?;
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
    let (signups_beside, _) = scenarios::signup(
        target,
        a.pid,
        &format!("f{run_id}"),
        a.users,
        plan.tombstones,
    )
    .await?;
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
fn details(
    throughput: &Throughput,
    me: &MeRun,
    steps: &StepsRun,
    journey: &JourneyRun,
    tombstones: &TombstoneRun,
    purges: &PurgeRuns,
    plan: &Plan,
) -> Value {
    json!({
        "argon2": throughput.argon2,
        "argon2_before_signup": throughput.argon2_before,
        "argon2_after_login": throughput.argon2_after,
        "signup": throughput.signup,
        "login": throughput.login,
        "me": me.levels,
        "steps": steps.report,
        "steps_prepare_errors": steps.prepare_errors,
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
        "seconds": {
            "argon2": plan.argon2.as_secs(), "signup": plan.signup.as_secs(), "login": plan.login.as_secs(),
            "me_per_level": plan.me.as_secs(), "steps": plan.steps.as_secs(), "journey": plan.journey.as_secs(),
            "tombstone_scenarios": plan.tombstones.as_secs(),
        },
        "me_levels": plan.me_levels,
        "tombstones_seeded": a.tombstones,
        "tombstone_probes": plan.probes,
        "retained_seeded": plan.retained,
    })
}
