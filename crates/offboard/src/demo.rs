//! `offboard demo`: one account a newcomer can walk the whole journey with: a password,
//! balances, an approved identity and a bound authenticator. Running it again gives the
//! account a fresh password and authenticator; balances are credited once.

use crate::settings::Validated;
use anyhow::{Context, Result};
use offboard_app::identity::{submit, IdentitySubmission};
use offboard_core::identity::IdentityStatus;
use offboard_core::otp::Verdict;
use offboard_core::{totp, AccountId, Clock, EmailAddress, Purpose, SystemClock};
use offboard_server::ServerConfig;
use offboard_store::{Store, StoreError};
use rust_decimal::Decimal;

pub const DEMO_EMAIL: &str = "demo@offboard.test";
pub const DEMO_ID_NUMBER: &str = "P-4821 7730";

pub async fn run(store: &Store, config: ServerConfig, validated: &Validated) -> Result<()> {
    let email = EmailAddress::parse(DEMO_EMAIL).context("demo email")?;
    let password = demo_password();
    let state = offboard_server::startup::app_state(store.clone(), config, None)?;
    let hash = state.hashing.hash(&password).await?;
    let now = SystemClock.now();
    let account_id = demo_account(store, &email, &hash, now).await?;

    // Balances, credited once however often the demo runs.
    for (asset, amount) in [("BTC", "0.25"), ("USDT", "1500")] {
        let amount: Decimal = amount.parse()?;
        store
            .deposit(
                account_id,
                asset,
                amount,
                Some(&format!("demo-seed-{account_id}-{asset}")),
                now,
            )
            .await?;
    }

    // An approved identity (passport).
    let submission = IdentitySubmission::parse("passport", DEMO_ID_NUMBER, "GB", "2031-05-31")
        .map_err(|e| anyhow::anyhow!(e.message))?;
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

    let secret = bind_authenticator(&state, account_id, now).await?;

    let url = format!("http://{}", validated.listen);
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "url": url,
            "login": format!("{url}/login"),
            "email": DEMO_EMAIL,
            "password": password,
            "totp_secret": secret,
            "id_number": DEMO_ID_NUMBER,
            "account_id": account_id.to_string(),
            "balances": {"BTC": "0.25", "USDT": "1500"},
        }))?
    );
    eprintln!(
        "Start the server with `offboard serve`, open {url}/login, sign in with the email and password above and the code from an authenticator app holding totp_secret."
    );
    Ok(())
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

/// The demo account, created, or given the new password if it exists.
async fn demo_account(
    store: &Store,
    email: &EmailAddress,
    hash: &str,
    now: time::OffsetDateTime,
) -> Result<AccountId> {
    let account_id = match store
        .create_account(AccountId::new(), email, hash, now)
        .await
    {
        Ok(()) => {
            store
                .find_account_by_email(email)
                .await?
                .context("demo account")?
                .id
        }
        Err(StoreError::Conflict) => {
            let existing = store
                .find_account_by_email(email)
                .await?
                .context("demo account vanished")?;
            store.set_password(existing.id, hash, now).await?;
            existing.id
        }
        Err(other) => return Err(other.into()),
    };
    Ok(account_id)
}

/// A bound authenticator; returns its secret for the person to add to their app.
async fn bind_authenticator(
    state: &offboard_app::AppState,
    account_id: AccountId,
    now: time::OffsetDateTime,
) -> Result<String> {
    let store = &state.store;
    // A bound authenticator: replace any previous one, confirm at the previous step so
    // the code the app shows now works at login.
    store.remove_totp(account_id, now).await?;
    let secret = totp::generate_secret();
    let sealed = totp::seal_secret(&state.config.keys.secrets, &account_id.to_string(), &secret);
    store.begin_totp(account_id, &sealed, now).await?;
    let step = totp::step_of(now) - 1;
    store
        .check_totp(account_id, Purpose::FactorSetup, now, true, |_, _, _| {
            (Verdict::Accepted, Some(step))
        })
        .await?;
    Ok(secret)
}
