//! The embedded asset ledger.
