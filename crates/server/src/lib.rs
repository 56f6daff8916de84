//! The web face of offboard: server-rendered pages and the JSON API over one set of
//! sessions, on axum.
//!
//! A request flows router → extractor (session, CSRF, body into domain types) →
//! `offboard_app` service → answer: the service's typed snapshot serialised as JSON
//! ([`wire`]) or formatted into a page ([`views`]). Business rules live in
//! `offboard_app` and `offboard_core`; nothing here decides them.

pub mod error;
pub mod help;
pub mod http;
pub mod layout;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod startup;
pub mod views;
pub mod vocabulary;
pub mod wire;

pub use offboard_app::{config, AppState, Keys, Mode, ServerConfig};
pub use startup::Application;
