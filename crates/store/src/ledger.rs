//! The embedded asset ledger: balances, a double-entry journal, deposits (idempotent),
//! withdrawals (pending → completed | failed) and holds. Every posting runs under the
//! account's lock in one transaction and writes journal lines that sum to zero, and the
//! cached `available` balance always equals the sum of the account's `available` lines
//! (checked by the conformance suite under concurrency).

use crate::{from_unix, locked_tx, on_db, on_reader, to_unix, Store, StoreError};
use offboard_core::money::Holdings;
use offboard_core::AccountId;
use rust_decimal::Decimal;
use sqlx::Row;
use std::str::FromStr;
use time::OffsetDateTime;

/// The user's spendable funds.
pub const BOOK_AVAILABLE: &str = "available";
/// Funds reserved by a pending withdrawal.
pub const BOOK_WITHDRAWING: &str = "withdrawing";
/// House side of deposits and completed withdrawals.
pub const BOOK_HOUSE: &str = "house";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DepositOutcome {
    Credited {
        deposit_id: String,
    },
    /// The same `Idempotency-Key` was used before with the same request.
    Repeated {
        deposit_id: String,
    },
    /// The key was used before with a different account, asset or amount.
    KeyReused,
    /// The account is deleted: the amount is recorded as unclaimed, not credited (R4).
    AccountDeleted {
        deposit_id: String,
    },
    NoSuchAccount,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WithdrawalOutcome {
    Requested {
        withdrawal_id: String,
    },
    InsufficientFunds {
        available: Decimal,
    },
    /// R17: the account was frozen (checked under the ledger lock the freeze takes).
    Frozen,
    /// A hold that stops withdrawals stands (R18: the caller answers the same for every
    /// such hold, whatever its kind).
    Held,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    Complete,
    Fail,
}

/// Who settles a withdrawal, for its audit line: the actor (`admin`, `system`) and a
/// note appended to `withdrawal=<id>` (e.g. `" (dev ledger)"`, or empty).
#[derive(Debug, Clone, Copy)]
pub struct SettledBy<'a> {
    pub actor: &'a str,
    pub note: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettleOutcome {
    Done,
    NotFound,
    /// Already completed or failed: a settled withdrawal never changes again.
    AlreadySettled {
        status: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositRow {
    pub id: String,
    pub asset: String,
    pub amount: Decimal,
    pub status: String,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalRow {
    pub id: String,
    pub asset: String,
    pub amount: Decimal,
    pub address: String,
    pub status: String,
    pub created_at: OffsetDateTime,
}

pub(crate) fn lock_key(account_id: &str) -> String {
    format!("ledger:{account_id}")
}

/// A stored amount; one that does not parse is corrupt data, never a stand-in value.
pub(crate) fn dec(text: &str) -> Result<Decimal, StoreError> {
    Decimal::from_str(text).map_err(|_| StoreError::Corrupt(format!("amount {text:?}")))
}

pub(crate) const BALANCES_SQL: &str =
    "SELECT asset, available FROM ledger_balances WHERE account_id = $1 ORDER BY asset";
pub(crate) const HOLDS_SQL: &str =
    "SELECT id, kind, reference FROM holds WHERE account_id = $1 ORDER BY created_at, id";
pub(crate) const PENDING_WITHDRAWALS_SQL: &str = "SELECT id, asset, amount FROM withdrawals WHERE account_id = $1 AND status = 'pending' ORDER BY created_at, id";

/// R4's facts about an account: non-zero balances, holds and pending withdrawals. The one
/// reading of them, for [`Store::holdings`] and for the erasure's re-check inside its
/// transaction; `$exec` is a pool or `&mut *tx`. A macro, like `on_db!`, because the
/// executor's concrete type differs per backend and per call site.
macro_rules! holdings_of {
    ($exec:expr, $account:expr) => {{
        use offboard_core::money::{Balance, Hold, Holdings, PendingItem};
        use sqlx::Row;
        let account: &str = $account;
        let balances = sqlx::query($crate::ledger::BALANCES_SQL)
            .bind(account)
            .fetch_all($exec)
            .await?
            .iter()
            .map(|r| {
                Ok(Balance {
                    asset: r.try_get("asset")?,
                    amount: $crate::ledger::dec(&r.try_get::<String, _>("available")?)?,
                })
            })
            .collect::<Result<Vec<_>, $crate::StoreError>>()?
            .into_iter()
            .filter(|b| b.amount != rust_decimal::Decimal::ZERO)
            .collect();
        let holds = sqlx::query($crate::ledger::HOLDS_SQL)
            .bind(account)
            .fetch_all($exec)
            .await?
            .iter()
            .map(|r| {
                Ok(Hold {
                    hold_id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    reference: r.try_get("reference")?,
                })
            })
            .collect::<Result<Vec<_>, $crate::StoreError>>()?;
        let pending = sqlx::query($crate::ledger::PENDING_WITHDRAWALS_SQL)
            .bind(account)
            .fetch_all($exec)
            .await?
            .iter()
            .map(|r| {
                Ok(PendingItem {
                    kind: "withdrawal".to_owned(),
                    id: r.try_get("id")?,
                    asset: r.try_get("asset")?,
                    amount: $crate::ledger::dec(&r.try_get::<String, _>("amount")?)?,
                })
            })
            .collect::<Result<Vec<_>, $crate::StoreError>>()?;
        Holdings {
            balances,
            holds,
            pending,
        }
    }};
}
pub(crate) use holdings_of;

/// Writes one journal line.
macro_rules! journal_line {
    ($tx:ident, $entry:expr, $now:expr, $account:expr, $book:expr, $asset:expr, $amount:expr, $kind:expr) => {
        sqlx::query(
            "INSERT INTO ledger_journal (entry_id, at, account_id, book, asset, amount, kind) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind($entry)
        .bind(to_unix($now))
        .bind($account)
        .bind($book)
        .bind($asset)
        .bind(($amount).to_string())
        .bind($kind)
        .execute(&mut *$tx)
        .await?
    };
}
pub(crate) use journal_line;

/// Reads the cached available balance inside the transaction.
macro_rules! available_in_tx {
    ($tx:ident, $account:expr, $asset:expr) => {{
        let row = sqlx::query(
            "SELECT available FROM ledger_balances WHERE account_id = $1 AND asset = $2",
        )
        .bind($account)
        .bind($asset)
        .fetch_optional(&mut *$tx)
        .await?;
        match row {
            Some(row) => dec(&row.try_get::<String, _>("available")?)?,
            None => Decimal::ZERO,
        }
    }};
}
pub(crate) use available_in_tx;

/// Writes the cached available balance inside the transaction.
macro_rules! set_available_in_tx {
    ($tx:ident, $account:expr, $asset:expr, $value:expr) => {
        sqlx::query(
            "INSERT INTO ledger_balances (account_id, asset, available) VALUES ($1, $2, $3)
             ON CONFLICT (account_id, asset) DO UPDATE SET available = excluded.available",
        )
        .bind($account)
        .bind($asset)
        .bind(($value).normalize().to_string())
        .execute(&mut *$tx)
        .await?
    };
}
pub(crate) use set_available_in_tx;

impl Store {
    /// Credits a deposit (R4: never to a deleted account). With an idempotency key, a
    /// retry of the same request credits once and answers the same id.
    pub async fn deposit(
        &self,
        account_id: AccountId,
        asset: &str,
        amount: Decimal,
        idempotency_key: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<DepositOutcome, StoreError> {
        let account = account_id.to_string();
        let outcome = locked_tx!(self, lock_key(&account), tx => {
            let mut outcome = None;
            if let Some(key) = idempotency_key {
                let prior = sqlx::query("SELECT id, account_id, asset, amount, status FROM deposits WHERE idempotency_key = $1")
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(row) = prior {
                    let same = row.try_get::<String, _>("account_id")? == account
                        && row.try_get::<String, _>("asset")? == asset
                        && dec(&row.try_get::<String, _>("amount")?)? == amount;
                    let id: String = row.try_get("id")?;
                    outcome = Some(if !same {
                        DepositOutcome::KeyReused
                    } else if row.try_get::<String, _>("status")? == "unclaimed" {
                        DepositOutcome::AccountDeleted { deposit_id: id }
                    } else {
                        DepositOutcome::Repeated { deposit_id: id }
                    });
                }
            }
            match outcome {
                Some(done) => done,
                None => {
                    let status: Option<String> = sqlx::query("SELECT status FROM accounts WHERE id = $1")
                        .bind(&account)
                        .fetch_optional(&mut *tx)
                        .await?
                        .map(|r| r.try_get("status"))
                        .transpose()?;
                    match status.as_deref() {
                        None => DepositOutcome::NoSuchAccount,
                        Some(status) => {
                            let id = uuid::Uuid::now_v7().to_string();
                            let credited = status == "active";
                            sqlx::query(
                                "INSERT INTO deposits (id, account_id, asset, amount, status, idempotency_key, created_at)
                                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                            )
                            .bind(&id)
                            .bind(&account)
                            .bind(asset)
                            .bind(amount.normalize().to_string())
                            .bind(if credited { "credited" } else { "unclaimed" })
                            .bind(idempotency_key)
                            .bind(to_unix(now))
                            .execute(&mut *tx)
                            .await?;
                            if credited {
                                let balance = available_in_tx!(tx, &account, asset);
                                journal_line!(tx, &id, now, Some(&account), BOOK_AVAILABLE, asset, amount, "deposit");
                                journal_line!(tx, &id, now, None::<&str>, BOOK_HOUSE, asset, -amount, "deposit");
                                set_available_in_tx!(tx, &account, asset, balance + amount);
                                DepositOutcome::Credited { deposit_id: id }
                            } else {
                                DepositOutcome::AccountDeleted { deposit_id: id }
                            }
                        }
                    }
                }
            }
        });
        Ok(outcome)
    }

    /// Reserves `amount` for a withdrawal if the balance covers it.
    pub async fn request_withdrawal(
        &self,
        account_id: AccountId,
        asset: &str,
        amount: Decimal,
        address: &str,
        now: OffsetDateTime,
    ) -> Result<WithdrawalOutcome, StoreError> {
        let account = account_id.to_string();
        let outcome = locked_tx!(self, lock_key(&account), tx => {
            let balance = available_in_tx!(tx, &account, asset);
            let frozen: Option<i64> = sqlx::query("SELECT frozen_at FROM accounts WHERE id = $1")
                .bind(&account)
                .fetch_one(&mut *tx)
                .await?
                .try_get("frozen_at")?;
            let held: i64 = sqlx::query("SELECT COUNT(*) AS n FROM holds WHERE account_id = $1 AND blocks_withdrawals = 1")
                .bind(&account)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            if frozen.is_some() {
                WithdrawalOutcome::Frozen
            } else if held > 0 {
                WithdrawalOutcome::Held
            } else if balance < amount {
                WithdrawalOutcome::InsufficientFunds { available: balance }
            } else {
                let id = uuid::Uuid::now_v7().to_string();
                sqlx::query(
                    "INSERT INTO withdrawals (id, account_id, asset, amount, address, status, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)",
                )
                .bind(&id)
                .bind(&account)
                .bind(asset)
                .bind(amount.normalize().to_string())
                .bind(address)
                .bind(to_unix(now))
                .execute(&mut *tx)
                .await?;
                journal_line!(tx, &id, now, Some(&account), BOOK_AVAILABLE, asset, -amount, "withdrawal");
                journal_line!(tx, &id, now, Some(&account), BOOK_WITHDRAWING, asset, amount, "withdrawal");
                set_available_in_tx!(tx, &account, asset, balance - amount);
                WithdrawalOutcome::Requested { withdrawal_id: id }
            }
        });
        Ok(outcome)
    }

    /// Completes (funds leave) or fails (funds return) a pending withdrawal, once.
    /// Completes or fails a pending withdrawal, with its audit line in the same
    /// transaction.
    pub async fn settle_withdrawal(
        &self,
        withdrawal_id: &str,
        how: Settlement,
        now: OffsetDateTime,
        settled_by: &SettledBy<'_>,
    ) -> Result<SettleOutcome, StoreError> {
        let owner: Option<String> = on_reader!(self, pool => sqlx::query("SELECT account_id FROM withdrawals WHERE id = $1")
            .bind(withdrawal_id)
            .fetch_optional(pool)
            .await?
            .map(|r| r.try_get("account_id"))
            .transpose())?;
        let Some(account) = owner else {
            return Ok(SettleOutcome::NotFound);
        };
        let outcome = locked_tx!(self, lock_key(&account), tx => {
            let row = sqlx::query("SELECT asset, amount, status FROM withdrawals WHERE id = $1")
                .bind(withdrawal_id)
                .fetch_one(&mut *tx)
                .await?;
            let status: String = row.try_get("status")?;
            if status != "pending" {
                SettleOutcome::AlreadySettled { status }
            } else {
                let asset: String = row.try_get("asset")?;
                let amount = dec(&row.try_get::<String, _>("amount")?)?;
                let (new_status, kind) = match how {
                    Settlement::Complete => ("completed", "withdrawal_completed"),
                    Settlement::Fail => ("failed", "withdrawal_failed"),
                };
                sqlx::query("UPDATE withdrawals SET status = $1, updated_at = $2 WHERE id = $3 AND status = 'pending'")
                    .bind(new_status)
                    .bind(to_unix(now))
                    .bind(withdrawal_id)
                    .execute(&mut *tx)
                    .await?;
                journal_line!(tx, withdrawal_id, now, Some(&account), BOOK_WITHDRAWING, &asset, -amount, kind);
                match how {
                    Settlement::Complete => {
                        journal_line!(tx, withdrawal_id, now, None::<&str>, BOOK_HOUSE, &asset, amount, kind);
                    }
                    Settlement::Fail => {
                        let balance = available_in_tx!(tx, &account, &asset);
                        journal_line!(tx, withdrawal_id, now, Some(&account), BOOK_AVAILABLE, &asset, amount, kind);
                        set_available_in_tx!(tx, &account, &asset, balance + amount);
                    }
                }
                // The settlement and its audit line commit together (R14).
                let detail = format!("withdrawal={withdrawal_id}{}", settled_by.note);
                let account_id = AccountId::from_str(&account).ok();
                crate::audit::insert_audit!(tx, &crate::AuditEntry {
                    at: now,
                    account_id,
                    actor: settled_by.actor,
                    action: kind,
                    detail: Some(&detail),
                });
                SettleOutcome::Done
            }
        });
        Ok(outcome)
    }

    pub async fn add_hold(
        &self,
        account_id: AccountId,
        kind: &str,
        reference: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError> {
        self.add_hold_blocking(account_id, kind, reference, false, now)
            .await
    }

    /// False if there was no such hold. A compliance hold is lifted only through
    /// [`Store::release_compliance_hold`], which audits it (R18).
    pub async fn release_hold(&self, hold_id: &str) -> Result<bool, StoreError> {
        let n = on_db!(self, pool => sqlx::query("DELETE FROM holds WHERE id = $1 AND compliance_reason IS NULL").bind(hold_id).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Balances (non-zero), holds and pending withdrawals of an account.
    pub async fn holdings(&self, account_id: AccountId) -> Result<Holdings, StoreError> {
        let account = account_id.to_string();
        Ok(on_db!(self, pool => holdings_of!(pool, &account)))
    }

    pub async fn deposits_of(&self, account_id: AccountId) -> Result<Vec<DepositRow>, StoreError> {
        on_reader!(self, pool => {
            sqlx::query("SELECT id, asset, amount, status, created_at FROM deposits WHERE account_id = $1 ORDER BY created_at, id")
                .bind(account_id.to_string())
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    Ok(DepositRow {
                        id: r.try_get("id")?,
                        asset: r.try_get("asset")?,
                        amount: dec(&r.try_get::<String, _>("amount")?)?,
                        status: r.try_get("status")?,
                        created_at: from_unix(r.try_get("created_at")?),
                    })
                })
                .collect()
        })
    }

    pub async fn withdrawals_of(
        &self,
        account_id: AccountId,
    ) -> Result<Vec<WithdrawalRow>, StoreError> {
        on_reader!(self, pool => {
            sqlx::query("SELECT id, asset, amount, address, status, created_at FROM withdrawals WHERE account_id = $1 ORDER BY created_at, id")
                .bind(account_id.to_string())
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    Ok(WithdrawalRow {
                        id: r.try_get("id")?,
                        asset: r.try_get("asset")?,
                        amount: dec(&r.try_get::<String, _>("amount")?)?,
                        address: r.try_get("address")?,
                        status: r.try_get("status")?,
                        created_at: from_unix(r.try_get("created_at")?),
                    })
                })
                .collect()
        })
    }

    /// For invariant checks: (account, book, asset) → sum of journal lines, and the
    /// cached available balances.
    pub async fn ledger_audit(&self) -> Result<LedgerAudit, StoreError> {
        on_reader!(self, pool => {
            let mut sums: std::collections::BTreeMap<(Option<String>, String, String), Decimal> = Default::default();
            for r in sqlx::query("SELECT account_id, book, asset, amount FROM ledger_journal").fetch_all(pool).await? {
                let key = (r.try_get::<Option<String>, _>("account_id")?, r.try_get("book")?, r.try_get("asset")?);
                *sums.entry(key).or_default() += dec(&r.try_get::<String, _>("amount")?)?;
            }
            let mut cached = std::collections::BTreeMap::new();
            for r in sqlx::query("SELECT account_id, asset, available FROM ledger_balances").fetch_all(pool).await? {
                cached.insert((r.try_get::<String, _>("account_id")?, r.try_get::<String, _>("asset")?), dec(&r.try_get::<String, _>("available")?)?);
            }
            Ok(LedgerAudit { sums, cached })
        })
    }
}

/// A snapshot for checking the double-entry invariants.
#[derive(Debug, Clone, Default)]
pub struct LedgerAudit {
    pub sums: std::collections::BTreeMap<(Option<String>, String, String), Decimal>,
    pub cached: std::collections::BTreeMap<(String, String), Decimal>,
}

impl LedgerAudit {
    /// Every asset's lines sum to zero, and every cached balance equals its lines.
    pub fn violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut per_asset: std::collections::BTreeMap<&str, Decimal> = Default::default();
        for ((_, _, asset), sum) in &self.sums {
            *per_asset.entry(asset).or_default() += *sum;
        }
        for (asset, sum) in per_asset {
            if sum != Decimal::ZERO {
                out.push(format!("{asset}: journal sums to {sum}, not 0"));
            }
        }
        for ((account, asset), cached) in &self.cached {
            let lines = self
                .sums
                .get(&(
                    Some(account.clone()),
                    BOOK_AVAILABLE.to_owned(),
                    asset.clone(),
                ))
                .copied()
                .unwrap_or_default();
            if lines != *cached {
                out.push(format!(
                    "{account}/{asset}: balance {cached} but journal {lines}"
                ));
            }
        }
        out
    }
}
