//! Passkeys (R16): sealed credentials, their names and use, and the owner's "require a
//! passkey" setting. Adding and removing run under the account's factor lock with their
//! audit line, so the limit holds under parallel requests and a change is never
//! unaudited.

use crate::audit::insert_audit;
use crate::{from_unix, locked_tx, on_db, on_reader, to_unix, AuditEntry, Store, StoreError};
use offboard_core::AccountId;
use sqlx::Row;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct PasskeyRow {
    pub id: String,
    pub account_id: AccountId,
    pub name: String,
    /// The credential, sealed (`offboard_core::passkey::seal_credential`).
    pub sealed: String,
    pub counter: i64,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

/// A passkey to store after a finished registration.
#[derive(Debug, Clone)]
pub struct NewPasskey<'a> {
    pub account_id: AccountId,
    pub credential_key: &'a str,
    pub name: &'a str,
    pub sealed: &'a str,
    pub counter: i64,
    pub now: OffsetDateTime,
    pub max: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddPasskey {
    Added {
        id: String,
    },
    /// The account already has `max` passkeys: nothing stored.
    LimitReached,
    /// This credential is already registered (to this or another account).
    Duplicate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovePasskey {
    Removed,
    NotFound,
    /// The last passkey while the owner requires one: turn the setting off first.
    StillRequired,
}

const COLUMNS: &str = "id, account_id, name, sealed, counter, created_at, last_used_at";

/// A [`PasskeyRow`] from a row of [`COLUMNS`] (a macro: each backend's row type).
macro_rules! passkey_row {
    ($row:expr) => {{
        let row = $row;
        let account: String = row.try_get("account_id")?;
        Ok::<_, StoreError>(PasskeyRow {
            id: row.try_get("id")?,
            account_id: account
                .parse()
                .map_err(|_| StoreError::Corrupt("passkey account id".into()))?,
            name: row.try_get("name")?,
            sealed: row.try_get("sealed")?,
            counter: row.try_get("counter")?,
            created_at: from_unix(row.try_get("created_at")?),
            last_used_at: row
                .try_get::<Option<i64>, _>("last_used_at")?
                .map(from_unix),
        })
    }};
}

impl Store {
    /// The account's passkeys, oldest first.
    pub async fn passkeys(&self, account_id: AccountId) -> Result<Vec<PasskeyRow>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM passkeys WHERE account_id = $1 ORDER BY created_at, id");
        on_reader!(self, pool => {
            let rows = sqlx::query(&sql).bind(account_id.to_string()).fetch_all(pool).await?;
            rows.iter().map(|r| passkey_row!(r)).collect()
        })
    }

    /// The passkey whose credential id hashes to `credential_key`, of any account.
    pub async fn passkey_by_credential(
        &self,
        credential_key: &str,
    ) -> Result<Option<PasskeyRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM passkeys WHERE credential_key = $1");
        on_reader!(self, pool => {
            let row = sqlx::query(&sql).bind(credential_key).fetch_optional(pool).await?;
            row.as_ref().map(|r| passkey_row!(r)).transpose()
        })
    }

    /// How many passkeys the account has and whether it requires one.
    pub async fn passkey_state(&self, account_id: AccountId) -> Result<(usize, bool), StoreError> {
        let (n, required): (i64, i64) = on_reader!(self, pool => {
            let row = sqlx::query(
                "SELECT (SELECT COUNT(*) FROM passkeys WHERE account_id = $1) AS n,
                        (SELECT require_passkey FROM accounts WHERE id = $1) AS required",
            )
            .bind(account_id.to_string())
            .fetch_one(pool)
            .await?;
            (row.try_get("n")?, row.try_get::<Option<i64>, _>("required")?.unwrap_or(0))
        });
        Ok((usize::try_from(n).unwrap_or(usize::MAX), required == 1))
    }

    /// Stores a registered passkey unless the account has `max` already, with its audit
    /// line, under the factor lock (so parallel registrations cannot pass the limit).
    pub async fn add_passkey(
        &self,
        new: &NewPasskey<'_>,
        audit: &AuditEntry<'_>,
    ) -> Result<AddPasskey, StoreError> {
        let account = new.account_id.to_string();
        let out = locked_tx!(self, crate::factors::lock_key(new.account_id), tx => {
            let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM passkeys WHERE account_id = $1")
                .bind(&account)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            let taken = sqlx::query("SELECT id FROM passkeys WHERE credential_key = $1")
                .bind(new.credential_key)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            if taken {
                AddPasskey::Duplicate
            } else if usize::try_from(n).unwrap_or(usize::MAX) >= new.max {
                AddPasskey::LimitReached
            } else {
                let id = uuid::Uuid::now_v7().to_string();
                sqlx::query(
                    "INSERT INTO passkeys (id, account_id, credential_key, name, sealed, counter, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&id)
                .bind(&account)
                .bind(new.credential_key)
                .bind(new.name)
                .bind(new.sealed)
                .bind(new.counter)
                .bind(to_unix(new.now))
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE accounts SET factors_changed_at = $1 WHERE id = $2")
                    .bind(to_unix(new.now))
                    .bind(&account)
                    .execute(&mut *tx)
                    .await?;
                insert_audit!(tx, audit);
                AddPasskey::Added { id }
            }
        });
        Ok(out)
    }

    /// Renames one of the account's passkeys; false if it has none by that id.
    pub async fn rename_passkey(
        &self,
        account_id: AccountId,
        id: &str,
        name: &str,
    ) -> Result<bool, StoreError> {
        let n = on_db!(self, pool => sqlx::query("UPDATE passkeys SET name = $1 WHERE id = $2 AND account_id = $3")
            .bind(name)
            .bind(id)
            .bind(account_id.to_string())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Removes one of the account's passkeys with its audit line; the last one stays
    /// while the owner requires a passkey.
    pub async fn remove_passkey(
        &self,
        account_id: AccountId,
        id: &str,
        now: OffsetDateTime,
        audit: &AuditEntry<'_>,
    ) -> Result<RemovePasskey, StoreError> {
        let account = account_id.to_string();
        let out = locked_tx!(self, crate::factors::lock_key(account_id), tx => {
            let row = sqlx::query(
                "SELECT (SELECT COUNT(*) FROM passkeys WHERE account_id = $1) AS n,
                        (SELECT COUNT(*) FROM passkeys WHERE account_id = $1 AND id = $2) AS mine,
                        (SELECT require_passkey FROM accounts WHERE id = $1) AS required",
            )
            .bind(&account)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            let n: i64 = row.try_get("n")?;
            let mine: i64 = row.try_get("mine")?;
            let required = row.try_get::<Option<i64>, _>("required")?.unwrap_or(0) == 1;
            if mine == 0 {
                RemovePasskey::NotFound
            } else if required && n <= 1 {
                RemovePasskey::StillRequired
            } else {
                sqlx::query("DELETE FROM passkeys WHERE id = $1 AND account_id = $2")
                    .bind(id)
                    .bind(&account)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE accounts SET factors_changed_at = $1 WHERE id = $2")
                    .bind(to_unix(now))
                    .bind(&account)
                    .execute(&mut *tx)
                    .await?;
                insert_audit!(tx, audit);
                RemovePasskey::Removed
            }
        });
        Ok(out)
    }

    /// Records a verified assertion: the updated sealed credential, its counter and the
    /// time. False when the stored counter has reached `counter` meanwhile (a parallel
    /// or replayed assertion): the caller refuses it. A counter of 0 means the
    /// authenticator keeps none (most synced passkeys), and then only 0 follows 0.
    pub async fn record_passkey_use(
        &self,
        id: &str,
        sealed: &str,
        counter: i64,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let n = on_db!(self, pool => sqlx::query(
            "UPDATE passkeys SET sealed = $1, counter = $2, last_used_at = $3
             WHERE id = $4 AND (counter < $2 OR (counter = 0 AND $2 = 0))",
        )
        .bind(sealed)
        .bind(counter)
        .bind(to_unix(now))
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Turns the "require a passkey" setting on (only with a passkey bound) or off,
    /// with its audit line. False if it was to be turned on without a passkey.
    pub async fn set_require_passkey(
        &self,
        account_id: AccountId,
        on: bool,
        audit: &AuditEntry<'_>,
    ) -> Result<bool, StoreError> {
        let account = account_id.to_string();
        let out = locked_tx!(self, crate::factors::lock_key(account_id), tx => {
            let n = sqlx::query(
                "UPDATE accounts SET require_passkey = $1
                 WHERE id = $2 AND ($1 = 0 OR EXISTS (SELECT 1 FROM passkeys WHERE account_id = $2))",
            )
            .bind(i64::from(on))
            .bind(&account)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                insert_audit!(tx, audit);
            }
            n == 1
        });
        Ok(out)
    }
}

/// A begun ceremony to keep (see migration 0011).
#[derive(Debug, Clone)]
pub struct NewCeremony<'a> {
    pub id_hash: &'a str,
    pub account_id: Option<AccountId>,
    pub session_hash: Option<&'a str>,
    /// Keyed hash of the client address, for anonymous sign-in ceremonies.
    pub address_key: Option<&'a str>,
    pub sealed: &'a str,
    pub now: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub limits: CeremonyLimits,
}

/// How many begun ceremonies may wait. Past a limit the oldest ones of that kind are
/// dropped (never the new one refused): a flood from one address or account only churns
/// its own, and the table stays bounded. Inserts take one lock, so the counts hold
/// exactly under parallel requests.
#[derive(Debug, Clone, Copy)]
pub struct CeremonyLimits {
    pub per_address: i64,
    pub per_account: i64,
    /// Anonymous (sign-in) ceremonies from every address together.
    pub anonymous: i64,
}

/// A ceremony taken back: its binding and sealed state.
#[derive(Debug, Clone)]
pub struct CeremonyRow {
    pub account_id: Option<AccountId>,
    pub session_hash: Option<String>,
    pub sealed: String,
}

/// Drops all but the newest `keep` ceremonies matching `filter` (`$1` is its value, if any).
/// `LIMIT .. OFFSET` reads the same on both engines.
fn trim_sql(filter: &str, param: &str) -> String {
    format!(
        "DELETE FROM passkey_ceremonies WHERE id_hash IN (
             SELECT id_hash FROM passkey_ceremonies WHERE {filter}
             ORDER BY expires_at DESC, id_hash LIMIT 1000000000 OFFSET {param})"
    )
}

impl Store {
    /// Keeps a begun ceremony, after dropping expired ones and, past a limit, the oldest
    /// of the same address, account or (for anonymous ones) of all anonymous ones.
    pub async fn keep_ceremony(&self, new: &NewCeremony<'_>) -> Result<(), StoreError> {
        let by_address = trim_sql("address_key = $1", "$2");
        let by_account = trim_sql("account_id = $1", "$2");
        let anonymous = trim_sql("account_id IS NULL", "$1");
        let limits = new.limits;
        // One lock for every ceremony insert: the trims of parallel inserts delete
        // overlapping rows, which on PostgreSQL deadlock without it (SQLite's writer is one
        // at a time anyway). Each holds it for a few short statements.
        crate::locked_tx!(self, "passkey-ceremonies", tx => {
            sqlx::query("DELETE FROM passkey_ceremonies WHERE expires_at <= $1")
                .bind(to_unix(new.now))
                .execute(&mut *tx)
                .await?;
            if let Some(address) = new.address_key {
                sqlx::query(&by_address)
                    .bind(address)
                    .bind((limits.per_address - 1).max(0))
                    .execute(&mut *tx)
                    .await?;
            }
            match new.account_id {
                Some(account) => sqlx::query(&by_account)
                    .bind(account.to_string())
                    .bind((limits.per_account - 1).max(0))
                    .execute(&mut *tx)
                    .await?,
                None => sqlx::query(&anonymous)
                    .bind((limits.anonymous - 1).max(0))
                    .execute(&mut *tx)
                    .await?,
            };
            sqlx::query(
                "INSERT INTO passkey_ceremonies (id_hash, account_id, session_hash, address_key, sealed, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(new.id_hash)
            .bind(new.account_id.map(|a| a.to_string()))
            .bind(new.session_hash)
            .bind(new.address_key)
            .bind(new.sealed)
            .bind(to_unix(new.expires_at))
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// Takes a ceremony out, so it can never be finished twice; `None` if unknown,
    /// already taken or expired.
    pub async fn take_ceremony(
        &self,
        id_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<CeremonyRow>, StoreError> {
        let row: Option<(Option<String>, Option<String>, String, i64)> = on_db!(self, pool => {
            let row = sqlx::query(
                "DELETE FROM passkey_ceremonies WHERE id_hash = $1
                 RETURNING account_id, session_hash, sealed, expires_at",
            )
            .bind(id_hash)
            .fetch_optional(pool)
            .await?;
            match row {
                Some(r) => Some((r.try_get("account_id")?, r.try_get("session_hash")?, r.try_get("sealed")?, r.try_get("expires_at")?)),
                None => None,
            }
        });
        let Some((account, session_hash, sealed, expires_at)) = row else {
            return Ok(None);
        };
        if expires_at <= to_unix(now) {
            return Ok(None);
        }
        let account_id = account
            .map(|a| a.parse())
            .transpose()
            .map_err(|_| StoreError::Corrupt("ceremony account id".into()))?;
        Ok(Some(CeremonyRow {
            account_id,
            session_hash,
            sealed,
        }))
    }
}
