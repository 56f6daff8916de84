//! Persistence for offboard on SQLite and PostgreSQL.
//!
//! One [`Store`] facade, split into aggregates (`accounts`, `sessions`, `throttle`,
//! `outbox`, `audit`). Every query is written once, in SQL both engines accept (`$n`
//! placeholders, text ids, unix-second times), and the [`on_db!`] / [`in_tx!`] macros
//! expand it once per backend with that backend's concrete sqlx types. This keeps the
//! two implementations from drifting apart (the usual failure of dual-backend stores)
//! while leaving room for a backend-specific statement where the engines differ. The
//! conformance suite in `tests/conformance.rs` runs every store test on both.

mod accounts;
mod audit;
mod batch;
mod connect;
mod deletion;
mod error;
mod factors;
mod identity;
mod jobs;
pub use jobs::{ClaimedJob, CleanupPolicy, CleanupReport, JobCounts, JobKind, JobRow};
mod ledger;
pub use ledger::{
    DepositOutcome, DepositRow, LedgerAudit, SettleOutcome, SettledBy, Settlement,
    WithdrawalOutcome, WithdrawalRow,
};
mod freeze;
pub use freeze::{AlertMessage, Freeze, FreezeBy, FreezeOutcome, LinkRefusal, NewAlert};
mod compliance;
pub use compliance::ComplianceHoldRow;
mod outbox;
mod passkeys;
mod recovery;
mod sessions;
mod support;
mod support_requests;
#[cfg(feature = "testing")]
pub mod testing;
mod throttle;
mod webhooks;
pub use webhooks::{delivery_id, DeliveryAttempt, DeliveryRow, PendingDelivery, WebhookEndpoint};

pub use accounts::{AccountRow, AccountStatus, FactorSnapshot};
pub use audit::{AuditEntry, AuditRecord};
pub use connect::{Backend, ConnectReport};
pub use deletion::{
    EraseOutcome, Erasure, FlowRow, IdentityAttempt, PurgeReport, RetainedRecord, SealedNotice,
    Tombstone, ERASED_TABLES,
};
pub use error::StoreError;
pub use factors::{CodeCheck, CodeSlot, IssuedCode, NewCode, TotpRow, UnsealedSecret};
pub use identity::{IdentityChange, IdentityRow, NewIdentity, StoredDocumentNumber};
pub use outbox::{OutboxMessage, StoredMessage};
pub use passkeys::{
    AddPasskey, CeremonyLimits, CeremonyRow, NewCeremony, NewPasskey, PasskeyRow, RemovePasskey,
};
pub use recovery::{NewRecoveryRequest, RecoveryApproval};
pub use sessions::{NewSession, SessionKind, SessionRow, SignIn};
pub use support::{AgentRole, AgentRow, AgentSessionRow, NewAgent, RecoveryRow};
pub use support_requests::{NewSupportRequest, QueuedMail, SupportAnswer, SupportRequestRow};

use sqlx::{PgPool, SqlitePool};
use time::OffsetDateTime;

#[derive(Clone, Debug)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The handle every part of the server uses to reach the database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    /// On SQLite, the one writer connection: every write, and every read that is not
    /// marked as a read (`on_reader!`), goes through it.
    pub(crate) db: Db,
    /// SQLite only: `query_only` connections for the reads marked `on_reader!`. Writes
    /// queue in the application for the single writer (first come, first served) instead
    /// of sleeping in SQLite's busy handler, while reads (WAL: they never wait for the
    /// writer) run beside it. `None` on PostgreSQL and for an in-memory SQLite database.
    pub(crate) sqlite_readers: Option<SqlitePool>,
    /// SQLite: the WAL truncations erasures share (R20).
    pub(crate) wal: std::sync::Arc<deletion::WalTruncations>,
    /// SQLite: every read on the reader pool holds this shared; a WAL truncation holds
    /// it exclusively, so it never finds a reader on the WAL it is cutting (which made it
    /// wait in SQLite's busy handler, 1 to 25 ms sleeps, with the writer held).
    pub(crate) read_gate: std::sync::Arc<tokio::sync::RwLock<()>>,
    /// Fault injection for the final erasure (0 = off).
    #[cfg(feature = "testing")]
    pub(crate) faults: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

/// Runs the same body against whichever pool backs the store; `$pool` is bound to the
/// concrete `&SqlitePool` or `&PgPool`. On SQLite that is the writer connection: use this
/// for anything that writes, outside a transaction.
macro_rules! on_db {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            $crate::Db::Sqlite($pool) => $body,
            $crate::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_db;

/// Like [`on_db!`] for a body that only reads: on SQLite it runs on the reader pool (whose
/// connections are `query_only`, so a write put here by mistake fails loudly in tests).
macro_rules! on_reader {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            $crate::Db::Sqlite(writer) => {
                // Held while the read runs, so a WAL truncation (R20) can wait for the
                // reads in flight instead of sleeping in SQLite's busy handler. (Without
                // readers the writer reads, and a truncation holding it needs no gate.)
                let _reading = match &$store.sqlite_readers {
                    Some(_) => Some($store.read_gate.read().await),
                    None => None,
                };
                let $pool = $store.sqlite_readers.as_ref().unwrap_or(writer);
                $body
            }
            $crate::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_reader;

/// Runs the body inside one write transaction and commits it; an early `?` return rolls
/// back. SQLite transactions start `IMMEDIATE` so two writers queue on the busy timeout
/// instead of failing when a read lock would have to be upgraded.
macro_rules! in_tx {
    ($store:expr, $tx:ident => $body:expr) => {
        match &$store.db {
            $crate::Db::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::Db::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}
pub(crate) use in_tx;

/// Runs `$body` in a write transaction holding the per-account lock `$key`.
macro_rules! locked_tx {
    ($store:expr, $key:expr, $tx:ident => $body:expr) => {
        match &$store.db {
            $crate::Db::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::Db::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                    .bind($key)
                    .execute(&mut *$tx)
                    .await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}
pub(crate) use locked_tx;

impl Store {
    pub(crate) fn new(db: Db, sqlite_readers: Option<SqlitePool>) -> Store {
        Store {
            db,
            sqlite_readers,
            wal: Default::default(),
            read_gate: Default::default(),
            #[cfg(feature = "testing")]
            faults: Default::default(),
        }
    }

    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Readiness: the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn close(&self) {
        if let Some(readers) = &self.sqlite_readers {
            readers.close().await;
        }
        on_db!(self, pool => pool.close().await)
    }
}

pub(crate) fn to_unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

pub(crate) fn from_unix(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
