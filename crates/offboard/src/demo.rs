//! `offboard demo` and `offboard demo-code` (dev mode only): one account a newcomer can
//! walk the whole journey with: a password, balances, an approved identity and a bound
//! authenticator. Running `demo` again reuses the account with a fresh password and the
//! same authenticator; after the demo was deleted it is created again, lifting its own
//! ID number's tombstone (R9). Balances are credited once per account.

use crate::settings::Validated;
use anyhow::{bail, Context, Result};
use offboard_app::identity::{document_index, submit, IdentitySubmission};
use offboard_app::AppState;
use offboard_core::identity::IdentityStatus;
use offboard_core::otp::Verdict;
use offboard_core::{totp, AccountId, Clock, EmailAddress, Purpose, SystemClock};
use offboard_server::ServerConfig;
use offboard_store::{AuditEntry, Store, StoreError};
use rust_decimal::Decimal;
use std::net::SocketAddr;

pub const DEMO_EMAIL: &str = "demo@offboard.test";
pub const DEMO_ID_NUMBER: &str = "P-4821 7730";
const DEMO_BALANCES: [(&str, &str); 2] = [("BTC", "0.25"), ("USDT", "1500")];

/// What `demo` did with the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Created,
    Reused,
    /// The demo had been deleted: its ID number's tombstone was lifted.
    CreatedAgain,
}

/// Everything `demo` prints, in `--json` or in words.
#[derive(serde::Serialize)]
struct DemoLogin {
    status: Outcome,
    /// The authenticator bound before this run is still the one (a phone keeps working).
    #[serde(skip)]
    authenticator_kept: bool,
    url: String,
    login: String,
    email: &'static str,
    password: String,
    otpauth_uri: String,
    totp_secret: String,
    id_number: &'static str,
    account_id: String,
    database: String,
    balances: serde_json::Map<String, serde_json::Value>,
}

pub async fn run(
    store: &Store,
    config: ServerConfig,
    validated: &Validated,
    json: bool,
) -> Result<()> {
    let email = EmailAddress::parse(DEMO_EMAIL).context("demo email")?;
    let password = demo_password();
    let state = offboard_server::startup::app_state(store.clone(), config, None)?;
    let hash = state.hashing.hash(&password).await?;
    let now = SystemClock.now();
    let submission = IdentitySubmission::parse("passport", DEMO_ID_NUMBER, "GB", "2031-05-31")
        .map_err(|e| anyhow::anyhow!(e.message))?;
    let (account_id, status) = demo_account(&state, &email, &hash, &submission, now).await?;

    // Balances, credited once per account however often the demo runs.
    for (asset, amount) in DEMO_BALANCES {
        let amount: Decimal = amount.parse()?;
        let key = format!("demo-seed-{account_id}-{asset}");
        store
            .deposit(account_id, asset, amount, Some(&key), now)
            .await?;
    }

    // An approved identity (passport).
    submit(
        &state,
        account_id,
        &submission,
        &offboard_core::actor::Actor::System,
        IdentityStatus::Approved,
        Some("demo"),
        None,
    )
    .await
    .map_err(|e| anyhow::anyhow!(e.message))?;

    let (secret, kept) = authenticator(&state, account_id, now).await?;
    let url = base_url(validated.listen);
    let balances = store
        .holdings(account_id)
        .await?
        .balances
        .into_iter()
        .map(|b| (b.asset, serde_json::Value::String(b.amount.to_string())))
        .collect();
    let login = DemoLogin {
        status,
        authenticator_kept: kept,
        login: format!("{url}/login"),
        url,
        email: DEMO_EMAIL,
        password,
        otpauth_uri: totp::otpauth_uri(&secret, DEMO_EMAIL)
            .map_err(|_| anyhow::anyhow!("the demo authenticator secret is unreadable"))?,
        totp_secret: secret,
        id_number: DEMO_ID_NUMBER,
        account_id: account_id.to_string(),
        database: database_location(&validated.settings.database_url),
        balances,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&login)?);
    } else {
        print!("{}", human(&login));
    }
    Ok(())
}

/// `demo-code`: the demo authenticator's code right now, for people without an app. The
/// code alone goes to stdout (so scripts can take it); the explanation to stderr.
pub async fn code(store: &Store, config: ServerConfig) -> Result<()> {
    let email = EmailAddress::parse(DEMO_EMAIL).context("demo email")?;
    let Some(account) = store.find_account_by_email(&email).await? else {
        bail!("there is no demo account in this database yet; run `offboard demo` first (in the same folder as `offboard serve`)");
    };
    let secret = store
        .totp_factor(account.id)
        .await?
        .filter(|f| f.confirmed)
        .and_then(|f| totp::open_secret(&config.keys.secrets, &account.id.to_string(), &f.secret))
        .context(
            "the demo account has no authenticator now; run `offboard demo` to bind one again",
        )?;
    // Real time, as a phone would: the server judges authenticator codes by real time.
    let now = SystemClock.now();
    let step = totp::step_of(now);
    let code = totp::code_at_step(&secret, step)
        .map_err(|_| anyhow::anyhow!("the demo authenticator secret is unreadable"))?;
    let left = (step + 1) * totp::STEP_SECONDS - now.unix_timestamp();
    println!("{code}");
    eprintln!(
        "The demo authenticator's code, good for {left} more seconds. Each code is accepted once: if a page asks again, wait for the next one and run `offboard demo-code` again."
    );
    Ok(())
}

/// The demo's account: the existing one reused with the new password, or a new one. A
/// new one after a deletion first lifts the tombstone of the demo's own ID number, so the
/// fixture identity can be verified again at once (dev mode only; R9 holds for everyone
/// else).
async fn demo_account(
    state: &AppState,
    email: &EmailAddress,
    hash: &str,
    submission: &IdentitySubmission,
    now: time::OffsetDateTime,
) -> Result<(AccountId, Outcome)> {
    let store = &state.store;
    if let Some(existing) = store.find_account_by_email(email).await? {
        store.set_password(existing.id, hash, now).await?;
        return Ok((existing.id, Outcome::Reused));
    }
    let id = AccountId::new();
    match store.create_account(id, email, hash, now).await {
        Ok(()) => {}
        // Another `demo` run created it a moment ago.
        Err(StoreError::Conflict) => bail!(
            "the demo account was being created by another command; run `offboard demo` again"
        ),
        Err(other) => return Err(other.into()),
    }
    let audit = AuditEntry {
        at: now,
        account_id: Some(id),
        actor: "system",
        action: "demo_tombstone_lifted",
        detail: Some("kind=document; offboard demo in dev mode"),
    };
    let lifted = store
        .lift_tombstone(&document_index(state, &submission.number), &audit)
        .await?;
    Ok((
        id,
        if lifted > 0 {
            Outcome::CreatedAgain
        } else {
            Outcome::Created
        },
    ))
}

/// The demo's authenticator secret: the bound one if it still opens (a phone that holds it
/// keeps working; `true`), otherwise a newly bound one (`false`).
async fn authenticator(
    state: &AppState,
    account_id: AccountId,
    now: time::OffsetDateTime,
) -> Result<(String, bool)> {
    let bound = state
        .store
        .totp_factor(account_id)
        .await?
        .filter(|f| f.confirmed);
    if let Some(secret) = bound.and_then(|f| {
        totp::open_secret(
            &state.config.keys.secrets,
            &account_id.to_string(),
            &f.secret,
        )
    }) {
        return Ok((secret, true));
    }
    Ok((bind_authenticator(state, account_id, now).await?, false))
}

/// Binds a new authenticator (replacing any half-done one) and returns its secret.
async fn bind_authenticator(
    state: &AppState,
    account_id: AccountId,
    now: time::OffsetDateTime,
) -> Result<String> {
    let store = &state.store;
    store.remove_totp(account_id, now).await?;
    let secret = totp::generate_secret();
    let sealed = totp::seal_secret(&state.config.keys.secrets, &account_id.to_string(), &secret);
    store.begin_totp(account_id, &sealed, now).await?;
    // Confirmed at the previous step, so the code an app shows now works at login.
    let step = totp::step_of(now) - 1;
    store
        .check_totp(account_id, Purpose::FactorSetup, now, true, |_, _, _| {
            (Verdict::Accepted, Some(step))
        })
        .await?;
    Ok(secret)
}

/// A fresh password for the demo account, in four groups of five letters or digits.
fn demo_password() -> String {
    let token = offboard_core::crypto::random_token();
    let password: String = token
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(20)
        .collect();
    format!(
        "{}-{}-{}-{}",
        &password[0..5],
        &password[5..10],
        &password[10..15],
        &password[15..20]
    )
}

/// The address a browser on this machine opens: a wildcard listen address (0.0.0.0, ::)
/// is reached through loopback.
pub fn base_url(listen: SocketAddr) -> String {
    let host = match listen.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        ip if ip.is_unspecified() => "[::1]".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("http://{host}:{}", listen.port())
}

/// Where the data lives: a SQLite file's absolute path, or the PostgreSQL URL without
/// its password.
fn database_location(url: &str) -> String {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return crate::redact_url(url);
    };
    let path = std::path::Path::new(rest.split('?').next().unwrap_or(rest));
    std::fs::canonicalize(path)
        .or_else(|_| std::env::current_dir().map(|dir| dir.join(path)))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| rest.to_owned())
}

fn human(l: &DemoLogin) -> String {
    let headline = match l.status {
        Outcome::Created => "The demo account is ready.".to_owned(),
        Outcome::Reused if l.authenticator_kept => "The demo account already existed, so it was reused. Its password is new; its authenticator is the same.".to_owned(),
        Outcome::Reused => "The demo account already existed, so it was reused. Its password and its authenticator are new.".to_owned(),
        Outcome::CreatedAgain => "The demo account had been deleted, so it was created again. Its ID number may verify again straight away (dev mode only; anyone else waits out the re-registration period).".to_owned(),
    };
    let balances = l
        .balances
        .iter()
        .map(|(asset, amount)| format!("{} {asset}", amount.as_str().unwrap_or("?")))
        .collect::<Vec<_>>()
        .join(", ");
    let balances = if balances.is_empty() {
        "none (already withdrawn)".to_owned()
    } else {
        balances
    };
    format!(
        "{headline}

  Sign in at     {login}
  Email          {email}
  Password       {password}
  Authenticator  {uri}
  ID number      {id}   (asked at the last step of the deletion)
  Balances       {balances}

Sign-in asks for an authenticator code. Add the authenticator to an app (paste the
otpauth:// address, or type the text after `secret=` as the key), or run
`offboard demo-code` in this folder to print the current code.
Email codes are in the dev outbox: {url}/dev/outbox

Database: {database}
`offboard serve` must use this same database: run it in this folder, or give it the same
OFFBOARD_DATABASE_URL. Then open {login}
",
        login = l.login,
        email = l.email,
        password = l.password,
        uri = l.otpauth_uri,
        id = l.id_number,
        url = l.url,
        database = l.database,
    )
}

#[cfg(test)]
mod tests {
    use super::base_url;

    #[test]
    fn a_wildcard_listen_address_is_opened_through_loopback() {
        assert_eq!(
            base_url("127.0.0.1:8080".parse().unwrap()),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            base_url("0.0.0.0:80".parse().unwrap()),
            "http://127.0.0.1:80"
        );
        assert_eq!(base_url("[::]:8080".parse().unwrap()), "http://[::1]:8080");
    }
}
