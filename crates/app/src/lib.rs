//! The application services of offboard: sign-up and login, sessions, factors, identity,
//! the asset-source port, the deletion journey, recovery and support actions, audit,
//! tombstones, jobs, webhooks and outgoing messages.
//!
//! A service takes the [`AppState`], asks `offboard_core` to decide, has `offboard_store`
//! persist in one transaction, and answers a typed snapshot or an [`AppError`]. Nothing
//! here knows HTTP: the web edge (`offboard_server`) parses requests, calls a service and
//! turns its answer into JSON or a page. Outgoing HTTP goes through the
//! [`outbound::HttpClient`] port, which the edge implements.

pub mod accounts;
pub mod alerts;
pub mod audit;
pub mod bindings;
pub mod compliance;
pub mod config;
pub mod deletion;
pub mod error;
pub mod factors;
pub mod freeze;
pub mod hashing;
pub mod identity;
pub mod job_outcome;
pub mod jobs;
pub mod ledger;
pub mod metrics;
pub mod notify;
pub mod outbound;
pub mod passkeys;
pub mod recovery;
pub mod sessions;
pub mod state;
pub mod support;
pub mod tombstones;
pub mod unfreeze;
pub mod webhooks;

pub use config::{Keys, Mode, PasskeyConfig, ServerConfig};
pub use error::{AppError, AppResult, ErrorKind};
pub use state::AppState;
