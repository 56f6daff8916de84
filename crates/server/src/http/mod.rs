//! Request plumbing shared by the pages and the API: body parsing with contract errors,
//! sessions from cookie or bearer token, CSRF, client addresses and response headers.

pub mod admin;
pub mod agent;
pub mod client;
pub mod cookies;
pub mod csrf;
pub mod fields;
pub mod guard;
pub mod json;
pub mod outbound;
pub mod serve;
pub mod session;
pub mod text;

/// Request bodies above this size are refused with 413 `payload_too_large`.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
