//! `offboard-bench`: the load generator behind `bench/run`.
//!
//! - `argon2`: the hardware bound, argon2id verifies per second on every core.
//! - `run`: every scenario against one running `offboard serve` (started by bench/run in
//!   dev mode on loopback), writing one backend's figures as JSON.
//! - `report`: merges the backends' JSON into `latest.json` and `latest.md`.
//!
//! Load goes to the given loopback URL only; every scenario stops at its deadline.

#![recursion_limit = "256"]

mod client;
mod procfs;
mod report;
mod scenarios;
mod stats;
mod store;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use offboard_core::crypto::SecretKey;
use offboard_core::{Clock, SystemClock};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "offboard-bench",
    about = "Load generator and benchmark report for offboard"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// argon2id verifies per second with offboard's parameters on every core.
    Argon2 {
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
    /// Runs every scenario against one running server and writes its figures as JSON.
    Run(RunArgs),
    /// One scenario alone for a profiler to watch (`perf record -p <server pid>`, see
    /// bench/profile): accounts are made first, then `login`, `me` or `steps` (paced at
    /// 300 req/s) runs for the given seconds, announced by a `LOAD-START` line.
    Load {
        #[arg(long)]
        url: String,
        #[arg(long, env = "OFFBOARD_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: String,
        #[arg(long)]
        pid: u32,
        /// `login`, `me` or `steps`.
        #[arg(long)]
        what: String,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 16)]
        connections: usize,
    },
    /// Merges per-backend JSON files into latest.json and latest.md.
    Report {
        /// Directory for latest.json and latest.md.
        #[arg(long)]
        out_dir: PathBuf,
        /// Per-backend JSON files written by `run`.
        inputs: Vec<PathBuf>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Base URL of the server, on loopback (e.g. http://127.0.0.1:38080).
    #[arg(long)]
    url: String,
    /// The server's process id, for its memory and CPU time.
    #[arg(long)]
    pid: u32,
    /// The server's database, for seeding tombstones and timing the purge.
    #[arg(long)]
    db_url: String,
    #[arg(long, env = "OFFBOARD_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
    /// The server's blind-index key (64 hex), so seeded tombstones hash as the server's do.
    #[arg(long, env = "OFFBOARD_BLIND_INDEX_KEY", hide_env_values = true)]
    blind_index_key: String,
    /// `sqlite` or `postgres` (a label for the report).
    #[arg(long)]
    backend: String,
    /// Shorter scenarios (the whole run within 5 minutes on 2 cores).
    #[arg(long)]
    quick: bool,
    #[arg(long)]
    out: PathBuf,
    /// Virtual users of the sign-up and login scenarios.
    #[arg(long, default_value_t = 8)]
    users: usize,
    /// Virtual users walking the complete journey.
    #[arg(long, default_value_t = 8)]
    journey_users: usize,
    /// Offered rate of the journey-steps scenario, requests per second.
    #[arg(long, default_value_t = 300.0)]
    steps_rate: f64,
    /// Tombstones seeded before the sign-up-with-tombstones scenario and purged after.
    #[arg(long, default_value_t = 1_000_000)]
    tombstones: usize,
    /// Retained records seeded for the purge of retained records (default: 20,000 quick,
    /// 100,000 full).
    #[arg(long)]
    retained: Option<usize>,
    /// Re-registration wait of the server, days (OFFBOARD_REREGISTER_DAYS).
    #[arg(long, default_value_t = 30)]
    reregister_days: i64,
}

#[tokio::main]
async fn main() {
    if let Err(err) = real_main().await {
        eprintln!("offboard-bench: {err:#}");
        std::process::exit(1);
    }
}

async fn real_main() -> Result<()> {
    match Cli::parse().command {
        Command::Argon2 { seconds } => {
            let report = store::argon2_bound(cores(), Duration::from_secs_f64(seconds))?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::Run(args) => run(args).await,
        Command::Load {
            url,
            admin_token,
            pid,
            what,
            seconds,
            connections,
        } => {
            loopback_only(&url)?;
            let target = client::Target::new(&url, &admin_token)?;
            let duration = Duration::from_secs(seconds);
            // Accounts first (steps need one per four requests at 300 req/s).
            let setup = match what.as_str() {
                "steps" => Duration::from_secs_f64((seconds as f64 * 300.0 / 4.0 / 50.0).max(2.0)),
                _ => Duration::from_secs(2),
            };
            let (_, mut accounts) = scenarios::signup(&target, pid, "p", 4, setup).await?;
            let setup_login = match what.as_str() {
                "steps" => setup,
                _ => Duration::from_secs(1),
            };
            if what != "login" {
                scenarios::login(&target, pid, &mut accounts, 4, setup_login).await?;
            }
            let prepared = if what == "steps" {
                scenarios::prepare_steps(&target, "p", &accounts, 4)
                    .await?
                    .0
            } else {
                Vec::new()
            };
            // A profiler attached to the server starts when it sees this line.
            eprintln!("LOAD-START");
            let out = match what.as_str() {
                "login" => serde_json::to_value(
                    scenarios::login(&target, pid, &mut accounts, connections, duration).await?,
                )?,
                "me" => {
                    let tokens: Vec<String> =
                        accounts.iter().filter_map(|x| x.token.clone()).collect();
                    serde_json::to_value(
                        scenarios::me(&target, pid, &tokens, &[connections], duration).await?,
                    )?
                }
                "steps" => serde_json::to_value(
                    scenarios::steps(&target, pid, prepared, 32, 300.0, duration).await?,
                )?,
                other => bail!("--what is login, me or steps, not {other}"),
            };
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
        Command::Report { out_dir, inputs } => report::write(&out_dir, &inputs),
    }
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

fn log(what: &str) {
    eprintln!(
        "[bench {}] {what}",
        SystemClock
            .now()
            .time()
            .format(&time::macros::format_description!(
                "[hour]:[minute]:[second]"
            ))
            .unwrap_or_default()
    );
}

fn loopback_only(url: &str) -> Result<()> {
    let host = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split(['/', ':']).next())
        .unwrap_or("");
    if host == "localhost" || host.starts_with("127.") || host == "[" {
        Ok(())
    } else {
        bail!("the bench sends load to loopback only (http://127.x.x.x:PORT), not {url}")
    }
}

async fn run(a: RunArgs) -> Result<()> {
    loopback_only(&a.url)?;
    let key = SecretKey::from_hex(&a.blind_index_key)
        .context("--blind-index-key must be 64 hex characters")?;
    let target = client::Target::new(&a.url, &a.admin_token)?;
    let q = a.quick;
    let secs = |quick: u64, full: u64| Duration::from_secs(if q { quick } else { full });
    let d_argon2 = secs(3, 5);
    let d_signup = secs(5, 15);
    let d_login = secs(5, 15);
    let d_me = secs(3, 5);
    let me_levels: Vec<usize> = if q {
        vec![8, 32]
    } else {
        vec![4, 8, 16, 32, 64]
    };
    let d_steps = secs(5, 15);
    let d_journey = secs(10, 30);
    let d_tomb = secs(3, 10);
    let probes = if q { 5_000 } else { 20_000 };
    let retained = a.retained.unwrap_or(if q { 20_000 } else { 100_000 });
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    let loadavg_start = procfs::loadavg();
    let pressure_start = procfs::pressure();

    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = procfs::rss_mb(a.pid)?;
    log(&format!("{}: idle RSS {idle_rss:.1} MiB", a.backend));

    // The bound, measured right before sign-ups and again right after logins with the
    // server idle; the higher of the two is used (the machine is shared, and a bound
    // measured while something else runs would flatter the ratios).
    log("argon2id bound");
    let argon2_before =
        tokio::task::spawn_blocking(move || store::argon2_bound(cores(), d_argon2)).await??;
    log(&format!("  {} verifies/s", argon2_before.verifies_per_s));

    log("sign-up only");
    let (signup, mut accounts) =
        scenarios::signup(&target, a.pid, &format!("s{run_id}"), a.users, d_signup).await?;
    log(&format!(
        "  {} sign-ups/s, {} errors",
        signup.per_s, signup.errors
    ));

    log("login only");
    let login = scenarios::login(&target, a.pid, &mut accounts, a.users, d_login).await?;
    log(&format!(
        "  {} logins/s, {} errors",
        login.per_s, login.errors
    ));

    log("argon2id bound again");
    let argon2_after =
        tokio::task::spawn_blocking(move || store::argon2_bound(cores(), d_argon2)).await??;
    log(&format!("  {} verifies/s", argon2_after.verifies_per_s));
    let argon2 = if argon2_after.verifies_per_s > argon2_before.verifies_per_s {
        argon2_after.clone()
    } else {
        argon2_before.clone()
    };

    let tokens: Vec<String> = accounts.iter().filter_map(|x| x.token.clone()).collect();
    log(&format!("GET /api/v1/me at {me_levels:?} connections"));
    let me = scenarios::me(&target, a.pid, &tokens, &me_levels, d_me).await?;
    let best_me = me
        .iter()
        .max_by(|x, y| x.rps.total_cmp(&y.rps))
        .cloned()
        .context("no /me measurement")?;
    for level in &me {
        log(&format!(
            "  {} connections: {} req/s, p99 {} ms",
            level.connections, level.rps, level.p99_ms
        ));
    }

    let needed = ((a.steps_rate * d_steps.as_secs_f64()) / 4.0).ceil() as usize + 8;
    let with_session = accounts.iter().filter(|x| x.token.is_some()).count();
    if with_session < needed {
        log(&format!(
            "journey steps: {} more accounts with sessions (untimed)",
            needed - with_session
        ));
        let more = scenarios::top_up(
            &target,
            &run_id,
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
    let (prepared, prep_errors) =
        scenarios::prepare_steps(&target, &run_id, &accounts[..take], a.users).await?;
    log(&format!("journey steps at {} req/s", a.steps_rate));
    let steps = scenarios::steps(&target, a.pid, prepared, 32, a.steps_rate, d_steps).await?;
    log(&format!(
        "  {} steps/s, p99 {} ms, {} errors",
        steps.steps_rps, steps.steps.p99_ms, steps.scenario.errors
    ));

    let peak_before_journey = procfs::peak_rss_mb(a.pid).unwrap_or(0.0);
    log(&format!("complete journeys, {} users", a.journey_users));
    let journey = scenarios::journey(&target, a.pid, &run_id, a.journey_users, d_journey).await?;
    log(&format!(
        "  {} journeys/s, {} errors, peak RSS {} MiB",
        journey.journeys_per_s, journey.scenario.errors, journey.load_rss_mb
    ));

    let now = SystemClock.now();
    let wait = time::Duration::days(a.reregister_days);
    log(&format!("seeding {} tombstones", a.tombstones));
    let seed = store::seed_tombstones(&a.db_url, &key, a.tombstones, now, now + wait).await?;
    log(&format!("  {} s ({})", seed.insert_s, seed.method));
    let refused = scenarios::refused_signups(&target, a.pid, a.tombstones, 2, d_tomb).await?;
    let refused_p99 = refused
        .latency
        .get("signup_refused")
        .map(|s| s.p99_ms)
        .unwrap_or(0.0);
    log(&format!("  refused sign-ups p99 {refused_p99} ms"));
    let (signup_t, _) =
        scenarios::signup(&target, a.pid, &format!("f{run_id}"), a.users, d_tomb).await?;
    let (probe, blocked) =
        store::probe_tombstones(&a.db_url, &key, a.tombstones, probes, SystemClock.now()).await?;
    log(&format!(
        "  sign-ups beside them {} /s; Store::tombstone_blocks p99 {} ms",
        signup_t.per_s, probe.p99_ms
    ));

    log("purge of due tombstones");
    let purge = store::purge(&a.db_url, now + wait + time::Duration::days(1), false).await?;
    log(&format!(
        "  {} tombstones in {} s",
        purge.tombstones, purge.seconds
    ));
    let retained_due = now + wait + time::Duration::days(10);
    let retained_seed_s = store::seed_retained(&a.db_url, retained, now, retained_due).await?;
    let purge_retained =
        store::purge(&a.db_url, retained_due + time::Duration::days(1), true).await?;
    log(&format!(
        "  {} retained records in {} s",
        purge_retained.retained_records, purge_retained.seconds
    ));

    let ratio = |x: f64| stats::round3(x / argon2.verifies_per_s.max(1e-9));
    let result: Value = json!({
        "backend": a.backend,
        "mode": if q { "quick" } else { "full" },
        "generated_at": SystemClock.now().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "argon2_verifies_per_s": argon2.verifies_per_s,
        "login_per_s": login.per_s,
        "login_ratio": ratio(login.per_s),
        "signup_per_s": signup.per_s,
        "signup_ratio": ratio(signup.per_s),
        "me_rps": best_me.rps,
        "me_p99_ms": best_me.p99_ms,
        "steps_rps": steps.steps_rps,
        "steps_p99_ms": steps.steps.p99_ms,
        "journeys_per_s": journey.journeys_per_s,
        "tombstone_check_p99_ms": refused_p99,
        "purge_per_s": purge.per_s,
        "idle_rss_mb": stats::round1(idle_rss),
        "load_rss_mb": journey.load_rss_mb,
        "tombstone_query_p99_ms": probe.p99_ms,
        "signup_with_tombstones_per_s": signup_t.per_s,
        "purge_retained_per_s": purge_retained.per_s,
        "argon2_verify_ms": argon2.verify_ms,
        "steps_offered_rps": a.steps_rate,
        "me_best_connections": best_me.connections,
        "peak_rss_before_journey_mb": stats::round1(peak_before_journey),
        "loadavg_start": loadavg_start,
        "loadavg_end": procfs::loadavg(),
        "pressure_start": pressure_start,
        "pressure_end": procfs::pressure(),
        "details": {
            "argon2": argon2,
            "argon2_before_signup": argon2_before,
            "argon2_after_login": argon2_after,
            "signup": signup,
            "login": login,
            "me": me,
            "steps": steps,
            "steps_prepare_errors": prep_errors,
            "journey": journey,
            "tombstones": {
                "seed": seed,
                "refused_signups": refused,
                "signups_beside_tombstones": signup_t,
                "store_probe": probe,
                "store_probe_blocked": blocked,
            },
            "purge": {
                "tombstones": purge,
                "retained_seeded": retained,
                "retained_seed_s": retained_seed_s,
                "retained": purge_retained,
            },
        },
        "params": {
            "cores": cores(),
            "users": a.users,
            "journey_users": a.journey_users,
            "steps_users": 32,
            "seconds": {
                "argon2": d_argon2.as_secs(), "signup": d_signup.as_secs(), "login": d_login.as_secs(),
                "me_per_level": d_me.as_secs(), "steps": d_steps.as_secs(), "journey": d_journey.as_secs(),
                "tombstone_scenarios": d_tomb.as_secs(),
            },
            "me_levels": me_levels,
            "tombstones_seeded": a.tombstones,
            "tombstone_probes": probes,
            "retained_seeded": retained,
        },
    });
    std::fs::write(&a.out, serde_json::to_string_pretty(&result)?)
        .with_context(|| format!("writing {}", a.out.display()))?;
    log(&format!("wrote {}", a.out.display()));
    Ok(())
}
