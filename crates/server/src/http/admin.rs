//! The host/admin API's authentication: `Authorization: Bearer $OFFBOARD_ADMIN_TOKEN`.
//! With no token configured the admin API does not exist (404), so a forgotten setting
//! never leaves it open.

use crate::error::ApiError;
use crate::error::ErrorKind;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use offboard_app::AppState;
use offboard_core::crypto::constant_time_eq;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

/// Proof that the request carried the admin token.
#[derive(Debug, Clone, Copy)]
pub struct AdminAuth;

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(expected) = &state.config.admin_token else {
            return Err(ApiError::not_found());
        };
        let sent = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .unwrap_or("");
        // Hash both sides first so the comparison takes the same time whatever the
        // lengths, then compare in constant time.
        let a = Sha256::digest(sent.as_bytes());
        let b = Sha256::digest(expected.expose_secret().as_bytes());
        if !sent.is_empty() && constant_time_eq(&a, &b) {
            Ok(AdminAuth)
        } else {
            Err(ApiError::new(
                ErrorKind::Unauthenticated,
                "unauthorized",
                "The admin API needs Authorization: Bearer <OFFBOARD_ADMIN_TOKEN>.",
            ))
        }
    }
}
