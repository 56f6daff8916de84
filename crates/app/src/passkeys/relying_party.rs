//! The WebAuthn relying party built from settings, and the check the settings loader
//! runs so production refuses a missing or mismatched id and origin.

use crate::config::PasskeyConfig;
use crate::error::{AppError, ErrorKind};
use webauthn_rs::prelude::Url;
use webauthn_rs::{Webauthn, WebauthnBuilder};

/// The relying party (absent when the settings do not make one: passkeys then answer
/// `passkey_unavailable`).
pub struct RelyingParty {
    webauthn: Option<Webauthn>,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelyingParty")
            .field("configured", &self.webauthn.is_some())
            .finish_non_exhaustive()
    }
}

/// The relying party of `config`, or why it cannot be one.
fn build(config: &PasskeyConfig) -> Result<Webauthn, String> {
    let origin = Url::parse(&config.rp_origin)
        .map_err(|e| format!("`rp_origin` {:?} is not a URL: {e}", config.rp_origin))?;
    if origin.path() != "/" || origin.query().is_some() {
        return Err(format!(
            "`rp_origin` {:?} must be an origin only (scheme, host, port), without a path",
            config.rp_origin
        ));
    }
    let secure = origin.scheme() == "https"
        || (origin.scheme() == "http" && origin.host_str() == Some("localhost"));
    if !secure {
        return Err(format!(
            "`rp_origin` {:?} must be https (browsers allow http only on localhost)",
            config.rp_origin
        ));
    }
    WebauthnBuilder::new(&config.rp_id, &origin)
        .and_then(|b| b.rp_name("offboard").build())
        .map_err(|_| {
            format!(
                "`rp_id` {:?} must be the host of `rp_origin` {:?} or a parent domain of it (an IP address cannot be a relying party id)",
                config.rp_id, config.rp_origin
            )
        })
}

/// Whether `config` makes a relying party; the settings loader refuses to start without.
pub fn check_relying_party(config: &PasskeyConfig) -> Result<(), String> {
    build(config).map(|_| ())
}

impl RelyingParty {
    pub fn new(config: &PasskeyConfig) -> Self {
        let webauthn = match build(config) {
            Ok(w) => Some(w),
            Err(err) => {
                tracing::error!(%err, "passkeys are off: the relying party settings are invalid");
                None
            }
        };
        Self { webauthn }
    }

    pub(crate) fn webauthn(&self) -> Result<&Webauthn, AppError> {
        self.webauthn.as_ref().ok_or_else(|| {
            AppError::new(
                ErrorKind::Unavailable,
                "passkey_unavailable",
                "Passkeys are not set up on this server. Use your other sign-in methods, or ask the operator.",
            )
            .with_help(super::help::HELP_PASSKEYS)
        })
    }
}
