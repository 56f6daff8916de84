//! `offboard support`: the operator creates and disables support agents (R11). A new
//! agent's password and authenticator secret are printed once, as JSON, and never again.

use anyhow::{bail, Context, Result};
use clap::{Subcommand, ValueEnum};
use offboard_core::crypto::SecretKey;
use offboard_core::{totp, Clock, EmailAddress, PasswordHasher, SystemClock};
use offboard_store::{AgentRole, NewAgent, Store, StoreError};
use rand::distributions::Alphanumeric;
use rand::{Rng, RngCore};

#[derive(Subcommand)]
pub enum SupportCommand {
    /// Create an agent; prints {"email", "password", "totp_secret"} once.
    AddAgent {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: Role,
    },
    /// Disable an agent and end its sessions.
    DisableAgent {
        #[arg(long)]
        email: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Role {
    Agent,
    Lead,
}

/// Length of a generated agent password (letters and digits: ~143 bits).
const PASSWORD_CHARS: usize = 24;

/// What `add-agent` prints, once.
#[derive(serde::Serialize)]
pub struct NewAgentCredentials {
    pub email: String,
    pub password: String,
    pub totp_secret: String,
}

pub async fn run(store: &Store, secrets: &SecretKey, command: SupportCommand) -> Result<()> {
    match command {
        SupportCommand::AddAgent { email, role } => {
            let role = match role {
                Role::Agent => AgentRole::Agent,
                Role::Lead => AgentRole::Lead,
            };
            let created = add_agent(store, secrets, &email, role).await?;
            println!("{}", serde_json::to_string(&created)?);
            Ok(())
        }
        SupportCommand::DisableAgent { email } => {
            let email = EmailAddress::parse(&email).context("--email")?;
            if !store
                .disable_agent(email.as_str(), SystemClock.now())
                .await?
            {
                bail!("no agent with the email {}", email.as_str());
            }
            eprintln!("agent {} disabled; its sessions ended", email.as_str());
            Ok(())
        }
    }
}

/// Creates the agent with a random password and authenticator secret.
/// The secret is stored sealed under the secrets key (R20) and printed once in the clear.
pub async fn add_agent(
    store: &Store,
    secrets: &SecretKey,
    email: &str,
    role: AgentRole,
) -> Result<NewAgentCredentials> {
    let email = EmailAddress::parse(email).context("--email")?;
    let password: String = rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(PASSWORD_CHARS)
        .map(char::from)
        .collect();
    let totp_secret = totp::generate_secret();
    let password_hash = tokio::task::spawn_blocking({
        let password = password.clone();
        move || PasswordHasher::new().hash(&password)
    })
    .await?;
    let mut id = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut id);
    let id = hex::encode(id);
    match store
        .create_agent(NewAgent {
            id: &id,
            email: email.as_str(),
            password_hash: &password_hash,
            totp_secret: &totp::seal_secret(secrets, &id, &totp_secret),
            role,
            now: SystemClock.now(),
        })
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            bail!("an agent with the email {} already exists", email.as_str())
        }
        Err(other) => return Err(other.into()),
    }
    Ok(NewAgentCredentials {
        email: email.as_str().to_owned(),
        password,
        totp_secret,
    })
}
