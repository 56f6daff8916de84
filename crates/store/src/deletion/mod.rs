//! Deletion (R1–R10, R20): the flows with their captcha single use and cool-off, the
//! identity step's failure count, the final erasure and its storage scrub, what the
//! erasure leaves for delivery (the notice, the events) and what the law keeps
//! (tombstones, retained records) until the purge.

mod erasure;
mod flows;
mod identity_attempts;
mod notice;
mod retention;
mod scrub;
mod wal;

pub use erasure::{EraseOutcome, Erasure, RetainedRecord, SealedNotice, Tombstone};
pub use flows::FlowRow;
pub use identity_attempts::IdentityAttempt;
pub use retention::PurgeReport;
pub use scrub::ERASED_TABLES;
pub(crate) use wal::WalTruncations;
