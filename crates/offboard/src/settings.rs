//! Settings: embedded defaults, then `offboard.toml` (or `--config`), then `OFFBOARD_*`
//! environment variables. Anything invalid stops start-up with a message naming the
//! setting; production refuses every dev convenience.

use anyhow::{bail, Context, Result};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use offboard_app::config::{AssetSourceConfig, Delivery};
use offboard_app::notify::{SmsConfig, SmtpConfig, SmtpTls};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Dev,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClockSetting {
    System,
    Dev,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaptchaSetting {
    Risk,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailDelivery {
    Outbox,
    Smtp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Every setting, as read. Secrets are `SecretString`, whose Debug prints nothing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub listen: String,
    pub database_url: String,
    pub mode: Mode,
    /// `dev` (movable, dev mode only) or `system`. Defaults to `dev` in dev mode.
    pub clock: Option<ClockSetting>,
    #[serde(skip_serializing)]
    pub admin_token: Option<SecretString>,
    pub captcha: CaptchaSetting,
    pub reregister_days: u32,
    /// R10: retention of sealed records of deleted accounts (default 5 years, AML).
    pub retention_days: u32,
    /// R2: a deletion flow expires after this many idle minutes.
    pub deletion_flow_idle_minutes: u32,
    /// R3: proof-of-work difficulty (search space of the captcha).
    pub captcha_max_number: u64,
    /// R20, PostgreSQL: after an erasure the scrub job rewrites the touched tables
    /// (`VACUUM FULL`, a short exclusive lock per table) so the erased values leave the
    /// table files; `false` runs a plain `VACUUM` (docs/security.md says what remains).
    pub erasure_rewrite_tables: bool,
    /// R20, PostgreSQL: seconds between two scrub passes at least (one pass covers every
    /// erasure before it; the first after a quiet spell runs at once).
    pub erasure_scrub_every_secs: u64,
    /// Dev mode: the embedded ledger behaves like a live host and completes a pending
    /// withdrawal this many seconds after it was requested (default 15; 0 leaves them
    /// pending until the admin API settles them). Production refuses it.
    pub dev_settle_withdrawals_secs: Option<u32>,
    pub session_idle_minutes: u32,
    pub session_absolute_hours: u32,
    /// Seconds a client may take to send a request's headers (and an idle keep-alive
    /// connection may stay open); then the connection is closed.
    pub header_timeout_secs: u64,
    /// Seconds a client may take to send a request's body; then 408.
    pub body_timeout_secs: u64,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// R9: accept email addresses whose local part is not ASCII (kept in NFKC form).
    pub allow_international_email: bool,
    /// R9: treat `name+tag@domain` as `name@domain` (one account, one tombstone).
    pub fold_plus_tags: bool,
    /// The site's public address (e.g. `https://accounts.example.com`), put in front of
    /// the freeze link in security alerts (R17); without it the link is a path only.
    pub public_url: Option<String>,
    /// Where dev mode keeps its generated keys; defaults to beside the SQLite file.
    pub keys_file: Option<PathBuf>,
    /// 64 hex characters. Required in production (or in `keys_file`).
    #[serde(skip_serializing)]
    pub blind_index_key: Option<SecretString>,
    /// Encrypts identity document numbers (AEAD). 64 hex characters.
    #[serde(skip_serializing)]
    pub document_key: Option<SecretString>,
    /// Seals retained records of deleted accounts. 64 hex characters.
    #[serde(skip_serializing)]
    pub retention_key: Option<SecretString>,
    /// Signs captcha challenges. 64 hex characters.
    #[serde(skip_serializing)]
    pub captcha_key: Option<SecretString>,
    /// Signs settings-defined webhooks. 64 hex characters.
    #[serde(skip_serializing)]
    pub webhook_key: Option<SecretString>,
    /// Seals factor secrets at rest (authenticator seeds of users and agents). 64 hex
    /// characters.
    #[serde(skip_serializing)]
    pub secrets_key: Option<SecretString>,
    pub email_delivery: Option<EmailDelivery>,
    pub password_workers: Option<usize>,
    /// Password hashes admitted per worker before a 503 (see `ServerConfig`).
    pub password_queue: usize,
    pub trust_forwarded_for: bool,
    pub log_format: LogFormat,
    /// SMTP relay for email (required when `email_delivery = "smtp"`, the production default).
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    pub smtp_tls: SmtpTls,
    pub smtp_username: Option<String>,
    #[serde(skip_serializing)]
    pub smtp_password: Option<SecretString>,
    /// The From address, e.g. `offboard <no-reply@exchange.example>`.
    pub smtp_from: Option<String>,
    pub smtp_timeout_secs: u64,
    /// `none`, `webhook` (JSON POST) or `twilio`.
    pub sms_provider: SmsProvider,
    /// Webhook provider: the URL that receives `{"to", "body"}`.
    pub sms_url: Option<String>,
    /// Webhook provider: bearer token; Twilio: the auth token.
    #[serde(skip_serializing)]
    pub sms_token: Option<SecretString>,
    pub twilio_base_url: String,
    pub twilio_account_sid: Option<String>,
    /// Twilio: the sending number or messaging service.
    pub sms_from: Option<String>,
    pub sms_timeout_secs: u64,
    /// Per-asset dust thresholds (`[dust] BTC = "0.00001"`): balances at or under these
    /// do not block deletion. Default 0 for every asset.
    pub dust: BTreeMap<String, String>,
    /// The host platform's holdings endpoint; unset means the embedded ledger.
    pub asset_source_url: Option<String>,
    #[serde(skip_serializing)]
    pub asset_source_token: Option<SecretString>,
    pub asset_source_timeout_secs: u64,
    /// Assets of the embedded ledger and their decimal places (`[assets] BTC = 8`).
    pub assets: BTreeMap<String, u32>,
    /// Run background jobs in `serve` (turn off when dedicated `offboard worker`s run).
    pub jobs_in_serve: bool,
    /// Seconds a claimed job is held before another instance may take it over.
    pub job_lease_secs: u64,
    /// Milliseconds an idle job runner waits before looking for due jobs again.
    pub job_poll_ms: u64,
    pub job_concurrency: usize,
    /// First retry delay in milliseconds; it doubles per attempt up to `job_retry_cap_secs`.
    pub job_retry_base_ms: u64,
    pub job_retry_cap_secs: u64,
    /// Failed attempts after which a job is dead (a dead letter to replay).
    pub job_max_attempts: u32,
    pub webhook_timeout_secs: u64,
    /// Webhook endpoints (`[[webhooks]] url = "...", events = ["account.deleted"]`), signed
    /// with `webhook_key` (receivers use `whsec_` + base64 of that key).
    pub webhooks: Vec<offboard_app::config::SettingsWebhook>,
    /// The WebAuthn relying party of passkeys (R16): a registrable domain, or `localhost`
    /// (dev default). Required in production, with `rp_origin`; see `passkeys.rs`.
    pub rp_id: Option<String>,
    /// The origin browsers show, e.g. `https://accounts.example.com` (dev default
    /// `http://localhost:<listen port>`).
    pub rp_origin: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    None,
    Webhook,
    Twilio,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://offboard.db".into(),
            mode: Mode::Dev,
            clock: None,
            admin_token: None,
            captcha: CaptchaSetting::Risk,
            reregister_days: 30,
            retention_days: 1827,
            deletion_flow_idle_minutes: 15,
            jobs_in_serve: true,
            job_lease_secs: 60,
            job_poll_ms: 1000,
            job_concurrency: 8,
            job_retry_base_ms: 10_000,
            job_retry_cap_secs: 3600,
            job_max_attempts: 12,
            webhook_timeout_secs: 10,
            webhooks: Vec::new(),
            rp_id: None,
            rp_origin: None,
            captcha_max_number: 100_000,
            erasure_rewrite_tables: true,
            erasure_scrub_every_secs: 30,
            dev_settle_withdrawals_secs: None,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            header_timeout_secs: 10,
            body_timeout_secs: 10,
            max_connections: 1024,
            allow_international_email: false,
            fold_plus_tags: false,
            public_url: None,
            keys_file: None,
            blind_index_key: None,
            document_key: None,
            retention_key: None,
            captcha_key: None,
            webhook_key: None,
            secrets_key: None,
            email_delivery: None,
            password_workers: None,
            password_queue: offboard_app::hashing::DEFAULT_QUEUE_PER_WORKER,
            trust_forwarded_for: false,
            log_format: LogFormat::Text,
            smtp_host: None,
            smtp_port: 587,
            smtp_tls: SmtpTls::Starttls,
            smtp_username: None,
            smtp_password: None,
            smtp_from: None,
            smtp_timeout_secs: 10,
            sms_provider: SmsProvider::None,
            sms_url: None,
            sms_token: None,
            twilio_base_url: "https://api.twilio.com".into(),
            twilio_account_sid: None,
            sms_from: None,
            sms_timeout_secs: 10,
            dust: BTreeMap::new(),
            asset_source_url: None,
            asset_source_token: None,
            asset_source_timeout_secs: 5,
            assets: BTreeMap::from([
                ("BTC".to_owned(), 8),
                ("ETH".to_owned(), 18),
                ("USDT".to_owned(), 6),
            ]),
        }
    }
}

/// Settings checked and turned into the types the server takes.
#[derive(Debug)]
pub struct Validated {
    pub settings: Settings,
    pub listen: SocketAddr,
    pub clock: ClockSetting,
    pub email_delivery: EmailDelivery,
    pub delivery: Delivery,
    pub asset_source: AssetSourceConfig,
    pub assets: offboard_core::money::AssetRegistry,
    /// Dev mode's self-settling withdrawals (see `dev_settle_withdrawals_secs`).
    pub dev_settle_withdrawals: Option<Duration>,
    pub passkeys: offboard_app::PasskeyConfig,
}

impl Settings {
    pub fn load(config_file: &Path) -> Result<Settings> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if config_file.exists() {
            figment = figment.merge(Toml::file(config_file));
        }
        figment = figment.merge(Env::prefixed("OFFBOARD_").ignore(&["config"]));
        figment.extract::<Settings>().map_err(|err| {
            let mut text = String::from("invalid settings:");
            for e in err {
                text.push_str(&format!("\n  - {e}"));
            }
            anyhow::anyhow!(text)
        })
    }

    pub fn validate(self) -> Result<Validated> {
        let listen: SocketAddr = self
            .listen
            .parse()
            .with_context(|| format!("setting `listen` (OFFBOARD_LISTEN): {:?} is not an address:port such as 127.0.0.1:8080", self.listen))?;
        self.check_ranges()?;
        self.check_secrets()?;
        let (clock, email_delivery) = self.mode_choices()?;
        let delivery = self.delivery(email_delivery)?;
        self.check_dust()?;
        let asset_source = self.asset_source()?;
        let assets = self.asset_registry()?;
        let dev_settle_withdrawals = self.dev_settle_withdrawals()?;
        let passkeys = self.passkeys(listen)?;
        Ok(Validated {
            passkeys,
            dev_settle_withdrawals,
            listen,
            clock,
            email_delivery,
            delivery,
            asset_source,
            assets,
            settings: self,
        })
    }

    /// Every number within the range it makes sense in, and the database URL readable.
    fn check_ranges(&self) -> Result<()> {
        offboard_store::Backend::of_url(&self.database_url)
            .map_err(|e| anyhow::anyhow!("setting `database_url` (OFFBOARD_DATABASE_URL): {e}"))?;
        if self.reregister_days == 0 || self.reregister_days > 3650 {
            bail!("setting `reregister_days` (OFFBOARD_REREGISTER_DAYS) must be between 1 and 3650, not {}", self.reregister_days);
        }
        if self.retention_days == 0 || self.retention_days > 36_500 {
            bail!("setting `retention_days` must be between 1 and 36500");
        }
        if self.deletion_flow_idle_minutes == 0 || self.deletion_flow_idle_minutes > 24 * 60 {
            bail!("setting `deletion_flow_idle_minutes` must be between 1 and 1440");
        }
        if !(2..=3600).contains(&self.job_lease_secs) {
            bail!("setting `job_lease_secs` must be between 2 and 3600");
        }
        if self.webhook_timeout_secs == 0 || self.webhook_timeout_secs >= self.job_lease_secs {
            bail!("setting `webhook_timeout_secs` must be at least 1 and shorter than `job_lease_secs`, so a delivery ends before its lease");
        }
        if !(10..=60_000).contains(&self.job_poll_ms) {
            bail!("setting `job_poll_ms` must be between 10 and 60000");
        }
        if !(1..=256).contains(&self.job_concurrency) {
            bail!("setting `job_concurrency` must be between 1 and 256");
        }
        if self.job_retry_base_ms == 0 || self.job_retry_cap_secs == 0 {
            bail!("settings `job_retry_base_ms` and `job_retry_cap_secs` must be positive");
        }
        if !(1..=100).contains(&self.job_max_attempts) {
            bail!("setting `job_max_attempts` must be between 1 and 100");
        }
        for hook in &self.webhooks {
            offboard_app::webhooks::validate(&hook.url, &hook.events)
                .map_err(|e| anyhow::anyhow!("setting `webhooks` ({}): {e}", hook.url))?;
        }
        if !(1_000..=10_000_000).contains(&self.captcha_max_number) {
            bail!("setting `captcha_max_number` must be between 1000 and 10000000");
        }
        if self.session_idle_minutes == 0 || self.session_idle_minutes > 24 * 60 {
            bail!("setting `session_idle_minutes` must be between 1 and 1440");
        }
        if !(1..=300).contains(&self.header_timeout_secs) {
            bail!("setting `header_timeout_secs` must be between 1 and 300");
        }
        if !(1..=300).contains(&self.body_timeout_secs) {
            bail!("setting `body_timeout_secs` must be between 1 and 300");
        }
        if !(1..=100_000).contains(&self.max_connections) {
            bail!("setting `max_connections` must be between 1 and 100000");
        }
        if self.session_absolute_hours == 0 || self.session_absolute_hours > 24 * 30 {
            bail!("setting `session_absolute_hours` must be between 1 and 720");
        }
        Ok(())
    }

    /// Secrets that are set must be usable.
    fn check_secrets(&self) -> Result<()> {
        if let Some(token) = &self.admin_token {
            if token.expose_secret().len() < 32 {
                bail!(
                    "setting `admin_token` (OFFBOARD_ADMIN_TOKEN) must be at least 32 characters"
                );
            }
        }
        if let Some(key) = &self.blind_index_key {
            if offboard_core::crypto::SecretKey::from_hex(key.expose_secret()).is_none() {
                bail!("setting `blind_index_key` (OFFBOARD_BLIND_INDEX_KEY) must be 64 hex characters");
            }
        }
        if self.password_workers == Some(0) {
            bail!("setting `password_workers` must be at least 1");
        }
        if self.password_queue == 0 {
            bail!("setting `password_queue` must be at least 1");
        }
        Ok(())
    }

    /// The clock and the email delivery, with production refusing dev conveniences.
    fn mode_choices(&self) -> Result<(ClockSetting, EmailDelivery)> {
        let choices = match self.mode {
            Mode::Dev => (
                self.clock.unwrap_or(ClockSetting::Dev),
                self.email_delivery.unwrap_or(EmailDelivery::Outbox),
            ),
            Mode::Production => {
                if self.clock == Some(ClockSetting::Dev) {
                    bail!("setting `clock`: production mode refuses the dev clock; remove it or set clock = \"system\"");
                }
                let delivery = self.email_delivery.unwrap_or(EmailDelivery::Smtp);
                if delivery == EmailDelivery::Outbox {
                    bail!("setting `email_delivery`: production mode refuses the dev outbox; configure SMTP");
                }
                let every_key = [
                    &self.blind_index_key,
                    &self.document_key,
                    &self.retention_key,
                    &self.captcha_key,
                    &self.webhook_key,
                    &self.secrets_key,
                ]
                .iter()
                .all(|k| k.is_some());
                if !every_key && self.keys_file.is_none() {
                    bail!("settings `blind_index_key`, `document_key`, `retention_key`, `captcha_key`, `webhook_key`, `secrets_key` (or `keys_file`): production mode needs its own keys and refuses generated defaults");
                }
                (ClockSetting::System, delivery)
            }
        };
        Ok(choices)
    }

    fn delivery(&self, email_delivery: EmailDelivery) -> Result<Delivery> {
        Ok(match email_delivery {
            EmailDelivery::Outbox => Delivery::DevOutbox,
            EmailDelivery::Smtp => Delivery::Live {
                smtp: self.smtp_config()?,
                sms: self.sms_config()?,
            },
        })
    }

    /// Dust thresholds are decimals at or above 0.
    fn check_dust(&self) -> Result<()> {
        for (asset, threshold) in &self.dust {
            match threshold.parse::<rust_decimal::Decimal>() {
                Ok(d) if !d.is_sign_negative() => {}
                _ => bail!("setting `dust.{asset}`: {threshold:?} must be a decimal at or above 0, as a string (\"0.0001\")"),
            }
        }
        Ok(())
    }

    fn asset_source(&self) -> Result<AssetSourceConfig> {
        Ok(match &self.asset_source_url {
            None => AssetSourceConfig::Embedded,
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                if self.asset_source_timeout_secs == 0 || self.asset_source_timeout_secs > 60 {
                    bail!("setting `asset_source_timeout_secs` must be between 1 and 60");
                }
                AssetSourceConfig::Http {
                    url: url.trim_end_matches('/').to_owned(),
                    token: self.asset_source_token.clone(),
                    timeout: Duration::from_secs(self.asset_source_timeout_secs),
                }
            }
            Some(_) => bail!(
                "setting `asset_source_url` (OFFBOARD_ASSET_SOURCE_URL) must be an http(s) URL"
            ),
        })
    }

    /// Dev mode's self-settling withdrawals: 15 s unless set; production refuses them.
    fn dev_settle_withdrawals(&self) -> Result<Option<Duration>> {
        match (self.mode, self.dev_settle_withdrawals_secs) {
            (Mode::Production, Some(n)) if n > 0 => bail!(
                "setting `dev_settle_withdrawals_secs`: production mode refuses self-settling withdrawals; the host settles them through the admin API"
            ),
            (Mode::Production, _) => Ok(None),
            (Mode::Dev, None) => Ok(Some(Duration::from_secs(15))),
            (Mode::Dev, Some(0)) => Ok(None),
            (Mode::Dev, Some(n)) if n > 86_400 => {
                bail!("setting `dev_settle_withdrawals_secs` must be between 0 and 86400")
            }
            (Mode::Dev, Some(n)) => Ok(Some(Duration::from_secs(u64::from(n)))),
        }
    }

    /// The assets the embedded ledger keeps: codes of 2-10 letters or digits, 0-18 places.
    fn asset_registry(&self) -> Result<offboard_core::money::AssetRegistry> {
        let mut assets = BTreeMap::new();
        for (code, decimals) in &self.assets {
            let upper = code.to_uppercase();
            if upper.len() < 2
                || upper.len() > 10
                || !upper.chars().all(|c| c.is_ascii_alphanumeric())
                || *decimals > 18
            {
                bail!("setting `assets.{code}`: asset codes are 2-10 letters or digits with 0 to 18 decimal places");
            }
            assets.insert(upper, *decimals);
        }
        if assets.is_empty() {
            bail!("setting `assets` lists no asset");
        }
        Ok(offboard_core::money::AssetRegistry::new(assets))
    }

    fn smtp_config(&self) -> Result<SmtpConfig> {
        let host = self
            .smtp_host
            .clone()
            .filter(|h| !h.trim().is_empty())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "setting `smtp_host` (OFFBOARD_SMTP_HOST) is required to send email over SMTP"
                )
            })?;
        let from = self.smtp_from.clone().filter(|f| f.contains('@')).ok_or_else(|| {
            anyhow::anyhow!("setting `smtp_from` (OFFBOARD_SMTP_FROM) must be the sender address, e.g. \"offboard <no-reply@example.com>\"")
        })?;
        if self.smtp_timeout_secs == 0 || self.smtp_timeout_secs > 120 {
            bail!("setting `smtp_timeout_secs` must be between 1 and 120");
        }
        if self.smtp_password.is_some() && self.smtp_username.is_none() {
            bail!("setting `smtp_username` is required when `smtp_password` is set");
        }
        Ok(SmtpConfig {
            host,
            port: self.smtp_port,
            tls: self.smtp_tls,
            username: self.smtp_username.clone(),
            password: self.smtp_password.clone(),
            from,
            timeout: Duration::from_secs(self.smtp_timeout_secs),
        })
    }

    fn sms_config(&self) -> Result<Option<SmsConfig>> {
        if self.sms_timeout_secs == 0 || self.sms_timeout_secs > 120 {
            bail!("setting `sms_timeout_secs` must be between 1 and 120");
        }
        let timeout = Duration::from_secs(self.sms_timeout_secs);
        Ok(match self.sms_provider {
            SmsProvider::None => None,
            SmsProvider::Webhook => {
                let url = self.sms_url.clone().filter(|u| u.starts_with("http://") || u.starts_with("https://")).ok_or_else(|| {
                    anyhow::anyhow!("setting `sms_url` (OFFBOARD_SMS_URL) must be an http(s) URL for sms_provider = \"webhook\"")
                })?;
                Some(SmsConfig::Webhook {
                    url,
                    token: self.sms_token.clone(),
                    timeout,
                })
            }
            SmsProvider::Twilio => {
                let account_sid = self.twilio_account_sid.clone().ok_or_else(|| {
                    anyhow::anyhow!(
                        "setting `twilio_account_sid` is required for sms_provider = \"twilio\""
                    )
                })?;
                let auth_token = self.sms_token.clone().ok_or_else(|| {
                    anyhow::anyhow!("setting `sms_token` (the Twilio auth token) is required for sms_provider = \"twilio\"")
                })?;
                let from = self.sms_from.clone().ok_or_else(|| {
                    anyhow::anyhow!("setting `sms_from` is required for sms_provider = \"twilio\"")
                })?;
                Some(SmsConfig::Twilio {
                    base_url: self.twilio_base_url.clone(),
                    account_sid,
                    auth_token,
                    from,
                    timeout,
                })
            }
        })
    }
}

mod passkeys;
#[cfg(test)]
mod tests;
