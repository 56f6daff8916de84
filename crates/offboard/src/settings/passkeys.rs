//! The passkeys' relying party from settings (R16). Dev defaults to `localhost` on the
//! listen port (WebAuthn takes no IP address as a relying party id, and plain http only
//! on localhost); production needs both settings, and refuses to start when the origin
//! is not https or `rp_id` is not its host or a parent domain of it.

use super::{Mode, Settings};
use anyhow::{bail, Result};
use offboard_app::PasskeyConfig;
use std::net::SocketAddr;

impl Settings {
    pub(super) fn passkeys(&self, listen: SocketAddr) -> Result<PasskeyConfig> {
        let dev = PasskeyConfig::dev_for(listen);
        let config = match (self.mode, &self.rp_id, &self.rp_origin) {
            (Mode::Production, None, _) | (Mode::Production, _, None) => bail!(
                "settings `rp_id` and `rp_origin` (OFFBOARD_RP_ID, OFFBOARD_RP_ORIGIN): production needs the passkeys' relying party, e.g. rp_id = \"example.com\", rp_origin = \"https://accounts.example.com\""
            ),
            (_, id, origin) => PasskeyConfig {
                rp_id: id.clone().unwrap_or(dev.rp_id),
                rp_origin: origin.clone().unwrap_or(dev.rp_origin),
            },
        };
        if self.mode == Mode::Production && !config.rp_origin.starts_with("https://") {
            bail!(
                "setting `rp_origin`: production needs an https origin, not {:?}",
                config.rp_origin
            );
        }
        if let Err(err) = offboard_app::passkeys::check_relying_party(&config) {
            bail!("settings `rp_id` / `rp_origin`: {err}");
        }
        Ok(config)
    }
}
