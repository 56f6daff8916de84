//! `offboard-client`: a typed async client of offboard's JSON API (the contract in
//! API.md, served as `/api/openapi.json`), and the deletion journey written once on top of
//! it, for the HTTP tests and the bench (modelled on kanidm's testkit `KanidmClient`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), offboard_client::ClientError> {
//! use offboard_client::{journey, Client};
//! let api = Client::builder("http://127.0.0.1:8080").admin_token("admin").build()?;
//! let plan = journey::CompleteJourney::new("me@example.com", "a long passphrase", "X1234567");
//! let erased = journey::complete(&api, &plan).await?;
//! println!("deleted at {}", erased.deleted_at);
//! # Ok(()) }
//! ```
//!
//! Every request method answers `Result<T, ClientError>`: the typed answer for the
//! contract's success status, the contract's error body as [`ApiError`], or a transport
//! failure. Each request has a name (documented on its method, e.g. `deletion_verify`);
//! an [`Observer`] set on the client hears every request with its name, duration and
//! status (the bench's latency tables are keyed by these names).

mod accounts;
pub mod authenticator;
pub mod captcha;
mod client;
mod contact;
mod deletion;
mod dev;
mod error;
mod factors;
mod identity;
pub mod journey;
mod kinds;
mod ledger;
mod support;
mod webhooks;

pub use accounts::{IdentitySummary, LoggedIn, Me, SignedUp};
pub use authenticator::Authenticator;
pub use captcha::Challenge;
pub use client::{Client, ClientBuilder, Event, Observer, Outcome};
pub use contact::{ContactRequestItem, SupportRequest};
pub use deletion::{Blocker, ConfirmNotes, Flow, IdentityProof};
pub use dev::{ClockNow, OutboxMessage};
pub use error::{ApiError, ClientError};
pub use factors::{CodeSent, FactorCodes, TotpSetup};
pub use identity::{Document, IdentityRecord, IdentitySubmitted};
pub use kinds::{
    AccountStatus, BlockerKind, Channel, CodePurpose, DocumentType, Factor, IdNumberCheck,
    IdentityMethod, IdentityStatus, ReviewStatus, Step, SupportRequestStatus, SupportTopic,
};
pub use ledger::{
    Assets, Balance, DepositCreated, Hold, HoldCreated, Pending, Statement, StatementAccount,
    StatementLine, WithdrawalCreated, WithdrawalRequest,
};
pub use support::{AccountLookup, AccountSummary, AgentToken, AuditItem, AuditScope, RecoveryItem};
pub use webhooks::{Delivery, WebhookCreated, WebhookSummary};
