//! The deletion journey (PRODUCT.md R1-R10, R12-R14), shared by the JSON API and the web
//! pages. `offboard_core::deletion` decides which request is allowed at which step; this
//! module gathers the facts (assets, codes, identity) and runs the final transaction.

mod erasure;
mod flow;
mod identity_step;

pub use flow::*;
pub(crate) use identity_step::identity_locked;
pub use identity_step::{number_matches, submit_identity};
