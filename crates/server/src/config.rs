//! What the server needs to know, already validated by the binary's settings loader.

use offboard_core::crypto::SecretKey;
use offboard_core::session::SessionPolicy;
use std::net::SocketAddr;

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
}

impl Keys {
    pub fn generate() -> Self {
        Self {
            blind_index: SecretKey::generate(),
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
    /// Honour `X-Forwarded-For` from a trusted reverse proxy for the client address.
    pub trust_forwarded_for: bool,
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
            trust_forwarded_for: false,
        }
    }

    pub fn is_dev(&self) -> bool {
        self.mode == Mode::Dev
    }
}
