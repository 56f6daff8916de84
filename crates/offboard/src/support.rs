//! `offboard support`: the operator creates and disables support agents (R11). A new
//! agent's password and authenticator secret are printed once, as the JSON API.md
//! promises on stdout, and never again; the console address and what to do next go to
//! stderr in words (`--json` leaves them out).

use anyhow::{bail, Context, Result};
use clap::{Subcommand, ValueEnum};
use offboard_core::crypto::SecretKey;
use offboard_core::{totp, Clock, EmailAddress, PasswordHasher, SystemClock};
use offboard_store::{AgentRole, NewAgent, Store, StoreError};
use rand::distributions::Alphanumeric;
use rand::{Rng, RngCore};

#[derive(Subcommand)]
pub enum SupportCommand {
    /// Create an agent; prints {"email", "password", "totp_secret"} once, and on stderr
    /// the console address and what to do next.
    AddAgent {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: Role,
        /// Print only the JSON, without the words on stderr.
        #[arg(long)]
        json: bool,
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

/// Where agents sign in (crates/server/src/routes/console/login.rs).
const CONSOLE_LOGIN_PATH: &str = "/support/login";

pub async fn run(
    store: &Store,
    secrets: &SecretKey,
    base_url: &str,
    command: SupportCommand,
) -> Result<()> {
    match command {
        SupportCommand::AddAgent { email, role, json } => {
            let (role, role_name) = match role {
                Role::Agent => (AgentRole::Agent, "agent"),
                Role::Lead => (AgentRole::Lead, "lead"),
            };
            let created = add_agent(store, secrets, &email, role).await?;
            // stdout stays the JSON of API.md, which scripts parse; the words are for
            // the person at the terminal.
            println!("{}", serde_json::to_string(&created)?);
            if !json {
                let console = format!("{base_url}{CONSOLE_LOGIN_PATH}");
                eprint!("{}", human(&created, role_name, &console)?);
            }
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

/// The new agent's sign-in details in words. The product has no password change for
/// agents, so the text says what to do instead of promising one.
fn human(created: &NewAgentCredentials, role: &str, console: &str) -> Result<String> {
    let uri = totp::otpauth_uri(&created.totp_secret, &created.email)
        .map_err(|_| anyhow::anyhow!("the new authenticator secret is unreadable"))?;
    Ok(format!(
        "
Support agent {email} ({role}) is ready. The password and authenticator secret above
are shown only this once.

  Console        {console}
  Authenticator  {uri}

Give them to the agent privately. The agent adds the authenticator to an app, then
signs in at the console with the email, the password and the app's current code.
offboard does not ask agents to change this password, and agents cannot change it
themselves: the agent should keep it in a password manager. If it may have leaked, run
`offboard support disable-agent --email {email}` and create a new agent.
",
        email = created.email,
    ))
}
