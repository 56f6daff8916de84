//! `offboard`: the binary. Reads settings, then serves, migrates or seeds a demo.

mod demo;
mod events;
mod keys;
mod settings;
mod support;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use offboard_app::config::{CaptchaPolicy, JobsConfig};
use offboard_core::session::SessionPolicy;
use offboard_core::DevClock;
use offboard_server::{Application, Mode as ServerMode, ServerConfig};
use offboard_store::Store;
use settings::{CaptchaSetting, ClockSetting, LogFormat, Mode, Settings, Validated};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "offboard",
    version,
    about = "Accounts with safe, self-service account deletion"
)]
struct Cli {
    /// Settings file (TOML). Environment variables OFFBOARD_* override it.
    #[arg(
        long,
        global = true,
        env = "OFFBOARD_CONFIG",
        default_value = "offboard.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web pages and the API.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Dev mode: seed the demo account (or reuse it) and print how to sign in.
    Demo {
        /// Print the details as JSON instead of words.
        #[arg(long)]
        json: bool,
    },
    /// Dev mode: print the demo authenticator's current code, for people without an
    /// authenticator app.
    DemoCode,
    /// Purge what is due now: tombstones after the re-registration wait (R9), retained
    /// records after their period (R10), old login attempts. The job runner also does this every
    /// ten minutes.
    Purge,
    /// Run only the background jobs (mail, webhooks, purge, clean-up), no HTTP: for
    /// deployments that keep them apart from the web instances.
    Worker,
    /// Webhook endpoints, deliveries and dead letters.
    Events {
        #[command(subcommand)]
        command: events::EventsCommand,
    },
    /// Manage support agents.
    Support {
        #[command(subcommand)]
        command: support::SupportCommand,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(err) = run(cli).await {
        eprintln!("offboard: {err:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    let settings = Settings::load(&cli.config)?;
    if settings.mode == Mode::Production
        && matches!(cli.command, Command::Demo { .. } | Command::DemoCode)
    {
        // The demo is a fixture with a known ID number and printed secrets.
        bail!("`offboard demo` and `offboard demo-code` work only in dev mode: the demo account has a published ID number and its secrets are printed. This offboard runs in production mode (setting `mode`), so nothing was changed.");
    }
    let validated = settings.validate()?;
    init_logging(validated.settings.log_format);
    match cli.command {
        Command::Serve => serve(validated).await,
        Command::Migrate => {
            let store = connect(&validated.settings).await?;
            tracing::info!("migrations applied");
            store.close().await;
            Ok(())
        }
        Command::Purge => {
            let store = connect(&validated.settings).await?;
            let report = store
                .purge_expired(offboard_core::Clock::now(&offboard_core::SystemClock))
                .await?;
            println!(
                "{}",
                serde_json::json!({
                    "tombstones": report.tombstones,
                    "retained_records": report.retained_records,
                    "login_attempts": report.login_attempts,
                })
            );
            store.close().await;
            Ok(())
        }
        Command::Demo { json } => {
            let store = connect(&validated.settings).await?;
            let config = server_config(&validated)?;
            let outcome = demo::run(&store, config, &validated, json).await;
            store.close().await;
            outcome
        }
        Command::DemoCode => {
            let store = connect(&validated.settings).await?;
            let config = server_config(&validated)?;
            let outcome = demo::code(&store, config).await;
            store.close().await;
            outcome
        }
        Command::Worker => worker(validated).await,
        Command::Events { command } => {
            let store = connect(&validated.settings).await?;
            let outcome = events::run(&store, command).await;
            store.close().await;
            outcome
        }
        Command::Support { command } => {
            let store = connect(&validated.settings).await?;
            let keys = server_config(&validated)?.keys;
            let base_url = demo::base_url(validated.listen);
            let outcome = support::run(&store, &keys.secrets, &base_url, command).await;
            store.close().await;
            outcome
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OFFBOARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn connect(settings: &Settings) -> Result<Store> {
    let (store, report) = Store::connect(&settings.database_url)
        .await
        .with_context(|| {
            format!(
                "connecting to the database of setting `database_url` ({})",
                redact_url(&settings.database_url)
            )
        })?;
    if let Some(path) = report.created_sqlite_file {
        tracing::warn!(
            path = %path.display(),
            "no SQLite database existed at this path, so a new empty one was created; if you expected existing data, check OFFBOARD_DATABASE_URL"
        );
    }
    Ok(store)
}

/// Hides a password in a database URL before it is logged.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

async fn serve(validated: Validated) -> Result<()> {
    let settings = &validated.settings;
    match settings.mode {
        Mode::Dev => tracing::warn!(
            database = %redact_url(&settings.database_url),
            listen = %validated.listen,
            email_delivery = ?validated.email_delivery,
            "DEV MODE: messages go to the dev outbox (/dev/outbox), the clock can be moved, cookies are not Secure. Set OFFBOARD_MODE=production for real use."
        ),
        Mode::Production => {
            tracing::info!(database = %redact_url(&settings.database_url), listen = %validated.listen, "production mode")
        }
    }
    let config = server_config(&validated)?;
    let store = connect(settings).await?;
    let dev_clock = (validated.clock == ClockSetting::Dev).then(|| Arc::new(DevClock::new()));
    let app = Application::build(config, store.clone(), dev_clock)
        .await
        .with_context(|| format!("binding setting `listen` ({})", validated.listen))?;
    tracing::info!("offboard listening on http://{}", app.address());
    app.run_until(offboard_server::startup::shutdown_signal())
        .await?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn worker(validated: Validated) -> Result<()> {
    let config = server_config(&validated)?;
    let store = connect(&validated.settings).await?;
    let dev_clock = (validated.clock == ClockSetting::Dev).then(|| Arc::new(DevClock::new()));
    let dev_clock = if config.is_dev() { dev_clock } else { None };
    let state = offboard_server::startup::app_state(store.clone(), config, dev_clock)?;
    tracing::info!("offboard worker running jobs");
    offboard_server::startup::run_worker(state, offboard_server::startup::shutdown_signal())
        .await?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The server's configuration from validated settings (keys loaded or, in dev, made).
pub fn server_config(validated: &Validated) -> Result<ServerConfig> {
    let settings = &validated.settings;
    let keys = keys::load(settings)?;
    Ok(ServerConfig {
        listen: validated.listen,
        mode: match settings.mode {
            Mode::Dev => ServerMode::Dev,
            Mode::Production => ServerMode::Production,
        },
        session_policy: SessionPolicy {
            idle_timeout: time::Duration::minutes(i64::from(settings.session_idle_minutes)),
            absolute_timeout: time::Duration::hours(i64::from(settings.session_absolute_hours)),
        },
        keys,
        password_workers: settings.password_workers.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        }),
        password_queue: settings.password_queue,
        trust_forwarded_for: settings.trust_forwarded_for,
        delivery: validated.delivery.clone(),
        admin_token: settings.admin_token.clone(),
        dust: settings.dust.clone(),
        asset_source: validated.asset_source.clone(),
        assets: validated.assets.clone(),
        dev_settle_withdrawals: validated
            .dev_settle_withdrawals
            .map(|d| time::Duration::seconds(d.as_secs() as i64)),
        deletion: offboard_app::config::DeletionConfig {
            captcha: match settings.captcha {
                CaptchaSetting::Always => CaptchaPolicy::Always,
                CaptchaSetting::Never => CaptchaPolicy::Never,
                CaptchaSetting::Risk => CaptchaPolicy::Risk,
            },
            captcha_max_number: settings.captcha_max_number,
            reregister_wait: time::Duration::days(i64::from(settings.reregister_days)),
            retention: time::Duration::days(i64::from(settings.retention_days)),
            flow_idle: time::Duration::minutes(i64::from(settings.deletion_flow_idle_minutes)),
            rewrite_erased_tables: settings.erasure_rewrite_tables,
            scrub_every: time::Duration::seconds(
                i64::try_from(settings.erasure_scrub_every_secs).unwrap_or(i64::MAX),
            ),
        },
        jobs: JobsConfig {
            run: settings.jobs_in_serve,
            lease: time::Duration::seconds(settings.job_lease_secs as i64),
            poll: std::time::Duration::from_millis(settings.job_poll_ms),
            concurrency: settings.job_concurrency,
            retry_base: time::Duration::milliseconds(settings.job_retry_base_ms as i64),
            retry_cap: time::Duration::seconds(settings.job_retry_cap_secs as i64),
            max_attempts: i64::from(settings.job_max_attempts),
            webhook_timeout: std::time::Duration::from_secs(settings.webhook_timeout_secs),
            ..JobsConfig::default()
        },
        webhooks: settings.webhooks.clone(),
        connections: offboard_app::config::ConnectionLimits {
            header_timeout: std::time::Duration::from_secs(settings.header_timeout_secs),
            body_timeout: std::time::Duration::from_secs(settings.body_timeout_secs),
            max_connections: settings.max_connections,
        },
        email_policy: offboard_core::EmailPolicy {
            allow_international: settings.allow_international_email,
            fold_plus_tags: settings.fold_plus_tags,
        },
        passkeys: validated.passkeys.clone(),
        public_url: settings
            .public_url
            .as_deref()
            .map(|u| u.trim().trim_end_matches('/').to_owned())
            .filter(|u| !u.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn database_passwords_are_not_logged() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("sqlite://offboard.db"), "sqlite://offboard.db");
    }
}
