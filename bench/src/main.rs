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
mod run;
mod scenarios;
mod stats;
mod store;

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};
use offboard_core::{Clock, SystemClock};
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
    /// bench/profile) or for a smoke test: accounts are made first, then `login`, `me`,
    /// `steps` (paced at 300 req/s), `storm` (logins at 4× a 1 s argon2id bound over 256
    /// connections, /me beside them) or `erase` (up to 40 final steps, prepared first)
    /// runs for the given seconds, announced by a `LOAD-START` line.
    Load {
        #[arg(long)]
        url: String,
        #[arg(long, env = "OFFBOARD_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: String,
        #[arg(long)]
        pid: u32,
        /// `login`, `me`, `steps`, `storm` or `erase`.
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
        Command::Run(args) => run::run(args).await,
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
            load(&target, pid, &what, seconds, connections).await
        }
        Command::Report { out_dir, inputs } => report::write(&out_dir, &inputs),
    }
}

/// `offboard-bench load`: accounts (and flows) made first, untimed, then one scenario
/// for `seconds`, announced by a `LOAD-START` line for a profiler to start on.
async fn load(
    target: &client::Target,
    pid: u32,
    what: &str,
    seconds: u64,
    connections: usize,
) -> Result<()> {
    if !["login", "me", "steps", "storm", "erase"].contains(&what) {
        bail!("--what is login, me, steps, storm or erase, not {what}");
    }
    let duration = Duration::from_secs(seconds);
    let (mut accounts, prepared) = load_setup(target, pid, what, seconds).await?;
    let bound = if what == "storm" {
        store::argon2_bound(cores(), Duration::from_secs(1))?.verifies_per_s
    } else {
        0.0
    };
    // A profiler attached to the server starts when it sees this line.
    eprintln!("LOAD-START");
    let tokens: Vec<String> = accounts.iter().filter_map(|x| x.token.clone()).collect();
    let out = match what {
        "login" => serde_json::to_value(
            scenarios::login(target, pid, &mut accounts, connections, duration)
                .await?
                .report,
        )?,
        "me" => serde_json::to_value(
            scenarios::me(target, pid, &tokens, &[connections], duration).await?,
        )?,
        "steps" => serde_json::to_value(
            scenarios::steps(target, pid, prepared, 32, 300.0, duration).await?,
        )?,
        "storm" => {
            let emails = accounts.iter().map(|x| x.email.clone()).collect();
            let plan = scenarios::StormPlan::at_bound(bound, duration);
            serde_json::to_value(scenarios::storm(target, pid, emails, tokens, plan).await?)?
        }
        _ => {
            let prepare = (Duration::ZERO, 0);
            serde_json::to_value(
                scenarios::erasures(target, pid, prepared, 4, duration, prepare).await?,
            )?
        }
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// The untimed set-up of `load`: accounts (steps need one per four requests at 300
/// req/s, the storm one per connection), logged in unless the scenario is the logins,
/// and the flows the steps or the erasures start from.
async fn load_setup(
    target: &client::Target,
    pid: u32,
    what: &str,
    seconds: u64,
) -> Result<(Vec<scenarios::Account>, Vec<scenarios::Prepared>)> {
    let setup = match what {
        "steps" => Duration::from_secs_f64((seconds as f64 * 300.0 / 4.0 / 50.0).max(2.0)),
        // An account per storm connection (about 100 sign-ups/s on 2 cores).
        "storm" => Duration::from_secs(4),
        _ => Duration::from_secs(2),
    };
    let (_, mut accounts) = scenarios::signup(target, pid, "p", 4, setup).await?;
    if what != "login" {
        let setup_login = if what == "steps" {
            setup
        } else {
            Duration::from_secs(1)
        };
        scenarios::login(target, pid, &mut accounts, 4, setup_login).await?;
    }
    let prepared = match what {
        "steps" => scenarios::prepare_steps(target, "p", &accounts, 4).await?.0,
        "erase" => {
            let few = &accounts[..accounts.len().min(40)];
            scenarios::prepare_erasures(target, "p", few, 4, Duration::from_secs(60))
                .await?
                .0
        }
        _ => Vec::new(),
    };
    Ok((accounts, prepared))
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
