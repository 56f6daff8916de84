//! What the server needs to know, already validated by the binary's settings loader.

use offboard_core::crypto::SecretKey;
use offboard_core::session::SessionPolicy;
use secrecy::SecretString;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// Agent sessions end after 30 minutes idle and 8 hours at most (beside the user
/// sessions' configurable policy, so the clean-up job reads both from here).
pub const AGENT_SESSION_POLICY: SessionPolicy = SessionPolicy {
    idle_timeout: time::Duration::minutes(30),
    absolute_timeout: time::Duration::hours(8),
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Messages go to the dev outbox, the dev clock can move, cookies are not `Secure`.
    Dev,
    Production,
}

/// The server's secrets, one per purpose so a leak of one does not open the others.
/// Debug prints no key material.
#[derive(Debug, Clone)]
pub struct Keys {
    /// Keyed hashes (blind indexes) of login names and addresses for throttling, and
    /// later of emails, phones and document numbers.
    pub blind_index: SecretKey,
    /// Encrypts identity document numbers (XChaCha20-Poly1305).
    pub document: SecretKey,
    /// Seals retained records of deleted accounts.
    pub retention: SecretKey,
    /// Signs captcha challenges.
    pub captcha: SecretKey,
    /// Signs webhook deliveries defined in settings.
    pub webhook: SecretKey,
    /// Seals factor secrets at rest: authenticator seeds of users and agents (R20).
    pub secrets: SecretKey,
}

impl Keys {
    pub fn generate() -> Self {
        Self {
            blind_index: SecretKey::generate(),
            document: SecretKey::generate(),
            retention: SecretKey::generate(),
            captcha: SecretKey::generate(),
            webhook: SecretKey::generate(),
            secrets: SecretKey::generate(),
        }
    }
}

/// Where outgoing email and text messages go.
// Built once at start-up and read once by `AppState::new`; boxing would only make the
// settings loader's code noisier.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub enum Delivery {
    /// Kept in the dev outbox (dev mode only; production with this sends nothing).
    DevOutbox,
    /// Sent for real: email over SMTP, text messages through `sms` when configured.
    Live {
        smtp: SmtpConfig,
        sms: Option<SmsConfig>,
    },
}

/// By hand so no password or token can appear; the configs' own Debug redacts them too.
impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Delivery::DevOutbox => f.write_str("DevOutbox"),
            Delivery::Live { smtp, sms } => f
                .debug_struct("Live")
                .field("smtp", smtp)
                .field("sms", sms)
                .finish(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub mode: Mode,
    pub session_policy: SessionPolicy,
    pub keys: Keys,
    /// Threads that compute argon2id; defaults to one per core.
    pub password_workers: usize,
    /// Password hashes admitted per worker (running or waiting); more are refused with a
    /// 503 and `Retry-After` at once instead of queueing without end.
    pub password_queue: usize,
    /// Honour `X-Forwarded-For` from a trusted reverse proxy for the client address.
    pub trust_forwarded_for: bool,
    /// Where email and text messages go.
    pub delivery: Delivery,
    /// Bearer token of the host/admin API; `None` turns the admin API off.
    pub admin_token: Option<secrecy::SecretString>,
    /// Per-asset dust thresholds: balances at or under these do not block deletion.
    pub dust: std::collections::BTreeMap<String, String>,
    /// Where the deletion gate learns what an account still holds.
    pub asset_source: AssetSourceConfig,
    /// The assets the embedded ledger keeps, with their decimal places.
    pub assets: offboard_core::money::AssetRegistry,
    /// Dev mode: the embedded ledger completes a pending withdrawal this long after it
    /// was requested, as a live host would (`None`: it waits for the admin API).
    pub dev_settle_withdrawals: Option<time::Duration>,
    /// The deletion journey's policies and periods.
    pub deletion: DeletionConfig,
    pub jobs: JobsConfig,
    /// Webhook endpoints from the settings file, signed with the webhook key.
    pub webhooks: Vec<SettingsWebhook>,
    /// How long a client may take and how many may be connected (slow clients).
    pub connections: ConnectionLimits,
    /// What email addresses are accepted and how they are folded (R9).
    pub email_policy: offboard_core::EmailPolicy,
    /// The WebAuthn relying party of passkeys (R16).
    pub passkeys: PasskeyConfig,
    /// The site's public address (`https://accounts.example.com`), put in front of the
    /// links in messages (the alerts' freeze link); without it links are paths only.
    pub public_url: Option<String>,
}

/// The WebAuthn relying party: the id (a registrable domain, or `localhost`) and the
/// origin browsers show. A passkey is bound to the id for good: changing it later makes
/// every registered passkey unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyConfig {
    pub rp_id: String,
    /// `https://accounts.example.com`, or `http://localhost:PORT` in dev.
    pub rp_origin: String,
}

impl PasskeyConfig {
    /// The dev relying party for a listen address: `localhost` on its port (WebAuthn
    /// accepts no IP address as a relying party id, and `http` only on `localhost`).
    pub fn dev_for(listen: SocketAddr) -> Self {
        Self {
            rp_id: "localhost".to_owned(),
            rp_origin: format!("http://localhost:{}", listen.port()),
        }
    }
}

/// Limits that keep slow or idle clients from holding the server (issue 13, item 5).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Time to send a request's headers (also how long an idle keep-alive connection
    /// may wait for its next request); then the connection is closed.
    pub header_timeout: std::time::Duration,
    /// Time to send a request's body once its headers arrived; then 408.
    pub body_timeout: std::time::Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: std::time::Duration::from_secs(10),
            body_timeout: std::time::Duration::from_secs(10),
            max_connections: 1024,
        }
    }
}

/// The background job runner (issue 7).
#[derive(Debug, Clone, Copy)]
pub struct JobsConfig {
    /// Run jobs in this process (`serve` may leave them to dedicated `offboard worker`s).
    pub run: bool,
    /// How long a claimed job is ours; after that another instance may take it over.
    pub lease: time::Duration,
    /// How often an idle runner looks for due jobs.
    pub poll: std::time::Duration,
    /// Jobs run at once by one runner.
    pub concurrency: usize,
    /// The first retry waits this long, doubling up to `retry_cap`.
    pub retry_base: time::Duration,
    pub retry_cap: time::Duration,
    /// After this many failed attempts a job is dead (a dead letter an operator replays).
    pub max_attempts: i64,
    pub webhook_timeout: std::time::Duration,
    /// How often the purge (R9, R10) and the clean-up run.
    pub purge_every: time::Duration,
    pub cleanup_every: time::Duration,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            run: true,
            lease: time::Duration::seconds(60),
            poll: std::time::Duration::from_secs(1),
            concurrency: 8,
            retry_base: time::Duration::seconds(10),
            retry_cap: time::Duration::hours(1),
            max_attempts: 12,
            webhook_timeout: std::time::Duration::from_secs(10),
            purge_every: time::Duration::minutes(10),
            cleanup_every: time::Duration::minutes(10),
        }
    }
}

/// A webhook endpoint named in the settings file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SettingsWebhook {
    pub url: String,
    pub events: Vec<String>,
}

/// When the captcha is asked (R3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptchaPolicy {
    Always,
    Never,
    /// Asked when a risk signal is present (docs/security.md lists them).
    Risk,
}

#[derive(Debug, Clone, Copy)]
pub struct DeletionConfig {
    pub captcha: CaptchaPolicy,
    /// Proof-of-work difficulty: the search space of the captcha.
    pub captcha_max_number: u64,
    /// R9: how long the same identity waits before registering again.
    pub reregister_wait: time::Duration,
    /// R10: how long retained records are kept.
    pub retention: time::Duration,
    /// R2: idle expiry of a flow.
    pub flow_idle: time::Duration,
    /// R20, PostgreSQL: the scrub job rewrites the erased tables (`VACUUM FULL`) instead
    /// of a plain `VACUUM`.
    pub rewrite_erased_tables: bool,
    /// R20, PostgreSQL: the shortest time between two scrub passes. One pass covers
    /// every erasure before it, so under a stream of deletions the tables are rewritten
    /// this often, not once per deletion.
    pub scrub_every: time::Duration,
}

impl Default for DeletionConfig {
    fn default() -> Self {
        Self {
            captcha: CaptchaPolicy::Risk,
            captcha_max_number: 100_000,
            reregister_wait: offboard_core::deletion::DEFAULT_REREGISTER_WAIT,
            retention: offboard_core::deletion::DEFAULT_RETENTION,
            flow_idle: offboard_core::deletion::DEFAULT_FLOW_IDLE,
            rewrite_erased_tables: true,
            scrub_every: time::Duration::seconds(30),
        }
    }
}

/// The asset source: the embedded ledger, or the host platform over HTTP.
#[derive(Clone, Default)]
pub enum AssetSourceConfig {
    #[default]
    Embedded,
    /// `GET {url}/accounts/{account_id}/holdings` with `Authorization: Bearer {token}`.
    Http {
        url: String,
        token: Option<secrecy::SecretString>,
        timeout: std::time::Duration,
    },
}

impl std::fmt::Debug for AssetSourceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AssetSourceConfig::Embedded => f.write_str("Embedded"),
            AssetSourceConfig::Http { url, timeout, .. } => f
                .debug_struct("Http")
                .field("url", url)
                .field("timeout", timeout)
                .finish_non_exhaustive(),
        }
    }
}

impl ServerConfig {
    pub fn dev_defaults() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            mode: Mode::Dev,
            session_policy: SessionPolicy::default(),
            keys: Keys::generate(),
            password_workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            password_queue: crate::hashing::DEFAULT_QUEUE_PER_WORKER,
            trust_forwarded_for: false,
            delivery: Delivery::DevOutbox,
            admin_token: None,
            dust: std::collections::BTreeMap::new(),
            asset_source: AssetSourceConfig::Embedded,
            assets: offboard_core::money::AssetRegistry::default(),
            // Tests settle withdrawals themselves; `offboard serve` in dev mode turns this on.
            dev_settle_withdrawals: None,
            deletion: DeletionConfig::default(),
            jobs: JobsConfig::default(),
            webhooks: Vec::new(),
            connections: ConnectionLimits::default(),
            email_policy: offboard_core::EmailPolicy::default(),
            passkeys: PasskeyConfig::dev_for(SocketAddr::from(([127, 0, 0, 1], 8080))),
            public_url: None,
        }
    }

    pub fn is_dev(&self) -> bool {
        self.mode == Mode::Dev
    }
}

/// How to reach the SMTP server.
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// The sender, `no-reply@example.com` or `offboard <no-reply@example.com>`.
    pub from: String,
    /// Bounds one whole delivery attempt, from connecting to the server's last answer.
    pub timeout: Duration,
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text. Only for a relay on the same machine or a test sink.
    None,
    /// Connect in plain text, then require STARTTLS (usually port 587).
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

/// Which SMS provider to call, and how.
#[derive(Clone)]
pub enum SmsConfig {
    /// POST {url} with JSON {"to", "body"} and `Authorization: Bearer {token}`; any 2xx is success.
    Webhook {
        url: String,
        token: Option<SecretString>,
        timeout: Duration,
    },
    /// Twilio's Messages API shape: POST {base_url}/2010-04-01/Accounts/{account_sid}/Messages.json,
    /// form fields To, From, Body, HTTP basic auth account_sid:auth_token. base_url defaults
    /// to https://api.twilio.com in settings; tests point it at loopback.
    Twilio {
        base_url: String,
        account_sid: String,
        auth_token: SecretString,
        from: String,
        timeout: Duration,
    },
}

impl fmt::Debug for SmsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The URL is left out too: webhook URLs sometimes carry a token in the query.
            SmsConfig::Webhook { token, timeout, .. } => f
                .debug_struct("Webhook")
                .field("url", &"[redacted]")
                .field("token", &token.as_ref().map(|_| "[redacted]"))
                .field("timeout", timeout)
                .finish(),
            SmsConfig::Twilio {
                base_url,
                account_sid,
                from,
                timeout,
                ..
            } => f
                .debug_struct("Twilio")
                .field("base_url", base_url)
                .field("account_sid", account_sid)
                .field("auth_token", &"[redacted]")
                .field("from", from)
                .field("timeout", timeout)
                .finish(),
        }
    }
}
