//! Passkeys (R16): the JSON API (the owner's list, registration, the factor challenge,
//! passkey sign-in). The Security page's passkey forms live with that page
//! (`routes/security/passkeys.rs`), the login page's with it (`routes/pages.rs`).

mod api;

pub use api::routes;
