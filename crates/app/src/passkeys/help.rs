//! The help pages passkey errors link to (R15).

pub const HELP_PASSKEYS: &str = "/help/passkeys";
pub const HELP_LOST_PASSKEY: &str = "/help/lost-passkey";
