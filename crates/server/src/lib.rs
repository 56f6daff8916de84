//! The HTTP face of offboard: web pages and the JSON API over one set of sessions.
//!
//! A request flows router → handler (parses input into domain types) → `offboard_core`
//! decides → `offboard_store` persists → response. Handlers stay thin.

pub mod accounts;
pub mod config;
pub mod deletion;
pub mod error;
pub mod factors;
pub mod hashing;
pub mod help;
pub mod http;
pub mod identity;
pub mod jobs;
pub mod ledger;
pub mod metrics;
pub mod notify;
pub mod openapi;
pub mod routes;
pub mod startup;
pub mod state;
pub mod support;
pub mod views;
pub mod webhooks;

pub use config::{Keys, Mode, ServerConfig};
pub use startup::Application;
pub use state::AppState;
