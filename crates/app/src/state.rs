use crate::config::ServerConfig;
use crate::hashing::HashingPool;
use crate::notify::Notifier;
use crate::outbound::HttpClient;
use offboard_core::{Clock, DevClock};
use offboard_store::Store;
use std::ops::Deref;
use std::sync::Arc;

/// Everything a handler may reach. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
pub struct Inner {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// Present only in dev mode with the dev clock enabled.
    pub dev_clock: Option<Arc<DevClock>>,
    pub config: ServerConfig,
    pub hashing: HashingPool,
    pub notifier: Notifier,
    /// Names this process as the owner of the job leases it holds.
    pub instance_id: String,
    /// Wakes this process's job runner when work is queued.
    pub job_wake: Arc<tokio::sync::Notify>,
    /// Outgoing HTTP (SMS providers, webhooks, the host's holdings API), never following
    /// a redirect: an endpoint is the address it was given.
    pub http: Arc<dyn HttpClient>,
    /// The WebAuthn relying party and the passkey ceremonies under way (R16).
    pub passkeys: crate::passkeys::relying_party::RelyingParty,
    /// R20: this instance's scrub passes, one at a time (see `jobs::scrub`).
    pub scrubs: tokio::sync::Mutex<ScrubPasses>,
}

/// The scrub passes this instance made (R20, `jobs::scrub`): when the last began, and
/// the transaction id below which every erasure's old rows are gone (PostgreSQL).
#[derive(Debug, Default)]
pub struct ScrubPasses {
    pub(crate) last_at: Option<time::OffsetDateTime>,
    pub(crate) covered_below: u64,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// An email address in its one canonical form, under this server's policy
    /// (internationalised local parts, `+tag` folding): R9's uniqueness and tombstones
    /// compare canonical forms only.
    pub fn parse_email(
        &self,
        input: &str,
    ) -> Result<offboard_core::EmailAddress, offboard_core::email::EmailError> {
        offboard_core::EmailAddress::parse_with(input, &self.config.email_policy)
    }

    /// `http` sends the application's outgoing requests (the edge's adapter).
    pub fn new(
        store: Store,
        config: ServerConfig,
        dev_clock: Option<Arc<DevClock>>,
        http: Arc<dyn HttpClient>,
    ) -> Self {
        let clock: Arc<dyn Clock> = match &dev_clock {
            Some(dev) => dev.clone(),
            None => Arc::new(offboard_core::SystemClock),
        };
        let hashing = HashingPool::start(config.password_workers, config.password_queue);
        let passkeys = crate::passkeys::relying_party::RelyingParty::new(&config.passkeys);
        let notifier =
            Notifier::from_delivery(config.mode, &config.delivery, store.clone(), http.clone());
        Self(Arc::new(Inner {
            store,
            clock,
            dev_clock,
            config,
            hashing,
            notifier,
            instance_id: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            job_wake: Arc::new(tokio::sync::Notify::new()),
            http,
            passkeys,
            scrubs: tokio::sync::Mutex::default(),
        }))
    }

    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    /// The time authenticator codes are judged by: always the real one, because the
    /// phone's app knows nothing of the dev clock. Moving the dev clock (to try expiries)
    /// therefore never breaks a real authenticator app's codes (issue 15).
    pub fn authenticator_now(&self) -> time::OffsetDateTime {
        offboard_core::Clock::now(&offboard_core::SystemClock)
    }
}
