//! Passkeys (R16): adding, listing, renaming and removing them, and their ceremonies.
//! A ceremony's state is kept sealed in the database ([`ceremonies`]); the client gets
//! only its id and the options for `navigator.credentials`. Assertions (sign-in, a
//! factor of an action) are in [`assertion`]. This file only names the parts: each
//! imports the leaf it needs (`common`), so no two import each other.

pub(crate) mod assertion;
mod ceremonies;
pub(crate) mod common;
mod help;
mod manage;
pub(crate) mod registration;
pub mod relying_party;

pub use self::assertion::{
    begin_assertion, begin_sign_in, finish_sign_in, PasskeyProof, PasskeyUse, SignedIn,
};
pub use self::common::{
    challenge_json, credential_ids, list, Challenge, PasskeySummary, HELP_LOST_PASSKEY,
    HELP_PASSKEYS,
};
pub use self::manage::{remove, set_required};
pub use self::registration::{begin_registration, finish_registration, rename};
pub use self::relying_party::{check_relying_party, RelyingParty};
