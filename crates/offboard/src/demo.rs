//! `offboard demo`: one account a newcomer can log in with straight away. Running it
//! again gives the demo account a fresh password.

use crate::settings::Validated;
use anyhow::{Context, Result};
use offboard_core::{AccountId, EmailAddress, PasswordHasher};
use offboard_store::{Store, StoreError};

pub const DEMO_EMAIL: &str = "demo@offboard.test";

pub async fn run(store: &Store, validated: &Validated) -> Result<()> {
    let email = EmailAddress::parse(DEMO_EMAIL).context("demo email")?;
    // Readable but random: 4 groups of 5 URL-safe characters.
    let token = offboard_core::crypto::random_token();
    let password: String = token
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(20)
        .collect();
    let password = format!(
        "{}-{}-{}-{}",
        &password[0..5],
        &password[5..10],
        &password[10..15],
        &password[15..20]
    );
    let hash = tokio::task::spawn_blocking({
        let password = password.clone();
        move || PasswordHasher::new().hash(&password)
    })
    .await?;
    let now = offboard_core::Clock::now(&offboard_core::SystemClock);
    let account_id = match store
        .create_account(AccountId::new(), &email, &hash, now)
        .await
    {
        Ok(()) => store.find_account_by_email(&email).await?.map(|a| a.id),
        Err(StoreError::Conflict) => {
            let existing = store
                .find_account_by_email(&email)
                .await?
                .context("demo account vanished")?;
            store.set_password(existing.id, &hash, now).await?;
            Some(existing.id)
        }
        Err(other) => return Err(other.into()),
    };
    let url = format!("http://{}", validated.listen);
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "url": url,
            "login": format!("{url}/login"),
            "email": DEMO_EMAIL,
            "password": password,
            "account_id": account_id.map(|id| id.to_string()),
        }))?
    );
    eprintln!("Start the server with `offboard serve`, open {url}/login and sign in with the email and password above.");
    Ok(())
}
