//! Support agents (R11): their own login (password + authenticator, always), their own
//! sessions (a separate table, so an agent token never reaches a user route and a user
//! token never reaches a support route), and the audited actions they may take. Nothing
//! here deletes an account (R1).
//!
//! The actions live here, not in a route module, because two front ends call them: the
//! Support API (`routes::support`, bearer token) and the support console pages
//! (`routes::console`, agent cookie). Both must refuse, audit and answer alike.

mod agents;
mod audit_log;
mod contact;
mod lookup;
mod recovery;

pub use agents::*;
pub use audit_log::{audit_entries, AuditItem, AuditScope};
pub use contact::{
    answer_request, my_requests, open_contact_requests, open_request, parse_topic, ContactRequest,
};
pub use lookup::{find_accounts, AccountLookup, AccountSummary};
pub use recovery::{approve_recovery, open_recovery, reject_recovery, RecoveryItem};
