//! Identity (KYC) records: the document on file, every number the account verified with
//! (sealed, with a blind index for look-ups) and the history of changes.
//!
//! The store never sees a document number in the clear: callers pass the ciphertext,
//! the keyed hash and the masked form (`•••456`), and only the masked form ever reaches
//! the history. Writes for one account are serialised (SQLite's single writer; a
//! PostgreSQL advisory lock), so two submissions at once cannot interleave their number
//! lists.

use crate::{from_unix, on_reader, to_unix, Db, Store, StoreError};
use offboard_core::identity::{format_date, Country, DocumentType, IdentityStatus};
use offboard_core::AccountId;
use sqlx::Row;
use time::{Date, OffsetDateTime};

/// Runs `$body` in a write transaction that holds the per-account identity lock.
macro_rules! identity_tx {
    ($store:expr, $account:expr, $tx:ident => $body:expr) => {
        match &$store.db {
            Db::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            Db::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                    .bind(format!("identity:{}", $account))
                    .execute(&mut *$tx)
                    .await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

/// R19, before an approval: every number of `$account` not yet approved (plus `$new`, a
/// number about to be recorded) becomes approved, so it is refused (with
/// [`StoreError::DocumentHeld`]) when another account holds one of those blind indexes
/// approved. Deleted accounts hold none (the erasure removes their numbers), so "another
/// account" means a live one. On PostgreSQL each index is locked first (in sorted order,
/// so two approvals cannot deadlock); SQLite's single writer already serialises the
/// transaction.
macro_rules! ensure_documents_free {
    ($store:expr, $tx:ident, $account:expr, $new:expr) => {{
        let mut indexes: Vec<String> = sqlx::query(
            "SELECT number_index FROM identity_numbers WHERE account_id = $1 AND approved_at IS NULL",
        )
        .bind($account)
        .fetch_all(&mut *$tx)
        .await?
        .iter()
        .map(|r| r.try_get("number_index"))
        .collect::<Result<_, _>>()?;
        let new: Option<&str> = $new;
        indexes.extend(new.map(str::to_owned));
        indexes.sort();
        indexes.dedup();
        for index in &indexes {
            if $store.backend() == crate::Backend::Postgres {
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                    .bind(format!("document:{index}"))
                    .execute(&mut *$tx)
                    .await?;
            }
            let held = sqlx::query(
                "SELECT 1 AS held FROM identity_numbers WHERE number_index = $1 AND account_id <> $2 AND approved_at IS NOT NULL LIMIT 1",
            )
            .bind(index)
            .bind($account)
            .fetch_optional(&mut *$tx)
            .await?;
            if held.is_some() {
                return Err(StoreError::DocumentHeld);
            }
        }
    }};
}

/// Writes the identity row of `$new`: replaced when `$exists`, otherwise created.
macro_rules! write_identity_row {
    ($tx:ident, $new:expr, $account:expr, $expires:expr, $now:expr, $exists:expr) => {{
        if $exists {
            sqlx::query(
                "UPDATE identities SET document_type = $1, country = $2, expires_on = $3, status = $4, updated_at = $5
                 WHERE account_id = $6",
            )
            .bind($new.document_type.as_str())
            .bind($new.country.as_str())
            .bind($expires)
            .bind($new.status.as_str())
            .bind($now)
            .bind($account)
            .execute(&mut *$tx)
            .await?;
        } else {
            sqlx::query(
                "INSERT INTO identities (account_id, document_type, country, expires_on, status, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind($account)
            .bind($new.document_type.as_str())
            .bind($new.country.as_str())
            .bind($expires)
            .bind($new.status.as_str())
            .bind($now)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

/// Records the number of `$new`: numbers not yet approved are replaced, a number already
/// on file moves to the end of the list (keeping its approval), and an approved record
/// approves every number on file from `$now`.
macro_rules! record_number {
    ($tx:ident, $new:expr, $account:expr, $now:expr) => {{
        sqlx::query("DELETE FROM identity_numbers WHERE account_id = $1 AND approved_at IS NULL")
            .bind($account)
            .execute(&mut *$tx)
            .await?;
        let same: Option<Option<i64>> = sqlx::query(
            "SELECT approved_at FROM identity_numbers WHERE account_id = $1 AND number_index = $2",
        )
        .bind($account)
        .bind($new.number_index)
        .fetch_optional(&mut *$tx)
        .await?
        .map(|row| row.try_get("approved_at"))
        .transpose()?;
        if same.is_some() {
            sqlx::query("DELETE FROM identity_numbers WHERE account_id = $1 AND number_index = $2")
                .bind($account)
                .bind($new.number_index)
                .execute(&mut *$tx)
                .await?;
        }
        let approved_at = match (same.flatten(), $new.status) {
            (Some(at), _) => Some(at),
            (None, IdentityStatus::Approved) => Some($now),
            (None, _) => None,
        };
        sqlx::query(
            "INSERT INTO identity_numbers (account_id, number_sealed, number_index, added_at, approved_at, reason)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind($account)
        .bind($new.number_sealed)
        .bind($new.number_index)
        .bind($now)
        .bind(approved_at)
        .bind($new.reason)
        .execute(&mut *$tx)
        .await?;
        if $new.status == IdentityStatus::Approved {
            sqlx::query("UPDATE identity_numbers SET approved_at = $1 WHERE account_id = $2 AND approved_at IS NULL")
                .bind($now)
                .bind($account)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}

/// A submitted or host-reported document, ready to store. The number arrives only as
/// ciphertext, blind index and masked form.
#[derive(Debug, Clone)]
pub struct NewIdentity<'a> {
    pub account_id: AccountId,
    pub document_type: DocumentType,
    pub country: Country,
    pub expires_on: Date,
    pub status: IdentityStatus,
    /// AEAD ciphertext of the normalised number (`v1.<key id>.<blob>`).
    pub number_sealed: &'a str,
    /// Keyed hash of the normalised number.
    pub number_index: &'a str,
    /// `•••456`: the most of the number the history may hold.
    pub number_masked: &'a str,
    /// Why this number was recorded (e.g. support recording a changed document).
    pub reason: Option<&'a str>,
    /// `user`, `system`, `admin`, or `agent:<id>`.
    pub actor: &'a str,
    pub now: OffsetDateTime,
    /// Audit lines written in the same transaction (R11, R14).
    pub audit: Vec<crate::AuditEntry<'a>>,
}

/// One number the account verified with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocumentNumber {
    /// AEAD ciphertext; open it with the document key whose id it names.
    pub sealed: String,
    /// Blind index (keyed hash) of the normalised number.
    pub index: String,
    pub added_at: OffsetDateTime,
    /// When a verification with this number was approved; `None` while pending.
    pub approved_at: Option<OffsetDateTime>,
    pub reason: Option<String>,
}

/// The identity record of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRow {
    pub account_id: AccountId,
    pub document_type: DocumentType,
    pub country: Country,
    pub expires_on: Date,
    pub status: IdentityStatus,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// Every number on file, oldest first (newest last).
    pub numbers: Vec<StoredDocumentNumber>,
}

impl IdentityRow {
    /// The number recorded last: the document currently on file.
    pub fn latest_number(&self) -> Option<&StoredDocumentNumber> {
        self.numbers.last()
    }

    /// Numbers whose verification was approved: the ones the identity step accepts.
    pub fn approved_numbers(&self) -> impl Iterator<Item = &StoredDocumentNumber> {
        self.numbers.iter().filter(|n| n.approved_at.is_some())
    }
}

/// One line of an identity's history. Never holds a whole document number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityChange {
    pub at: OffsetDateTime,
    pub actor: String,
    pub change: String,
}

fn parse_date(text: &str) -> Result<Date, StoreError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format).map_err(|_| StoreError::Corrupt(format!("identity date {text:?}")))
}

fn parse_status(text: &str) -> Result<IdentityStatus, StoreError> {
    IdentityStatus::parse(text)
        .map_err(|_| StoreError::Corrupt(format!("identity status {text:?}")))
}

fn parse_account(text: &str) -> Result<AccountId, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("account id {text:?}")))
}

/// The history line of a recorded document; holds the masked number only.
fn history_change(new: &NewIdentity<'_>, previous: Option<&str>, expires: &str) -> String {
    let mut change = format!(
        "{}: {}, {}, expires {}, number {}, status {}",
        if previous.is_some() {
            "document updated"
        } else {
            "document submitted"
        },
        new.document_type.as_str(),
        new.country.as_str(),
        expires,
        new.number_masked,
        new.status.as_str(),
    );
    if let Some(before) = previous {
        change.push_str(&format!(" (was {before})"));
    }
    if let Some(reason) = new.reason {
        change.push_str(&format!("; reason: {reason}"));
    }
    change
}

impl Store {
    /// Records a document in one transaction: the identity row (created or replaced),
    /// the number list and a history line.
    ///
    /// Numbers not yet approved are replaced (a resubmission while pending or rejected
    /// swaps the number); approved numbers stay on file, so the original document keeps
    /// working after a changed number is recorded. A number already on file moves to the
    /// end of the list instead of being stored twice. With `status` approved, every
    /// number on file counts as approved from `now`.
    pub async fn upsert_identity(&self, new: NewIdentity<'_>) -> Result<(), StoreError> {
        let account = new.account_id.to_string();
        let now = to_unix(new.now);
        let expires = format_date(new.expires_on);
        identity_tx!(self, account, tx => {
            let previous: Option<String> = sqlx::query("SELECT status FROM identities WHERE account_id = $1")
                .bind(&account)
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| row.try_get("status"))
                .transpose()?;
            if new.status == IdentityStatus::Approved {
                // Every number on file becomes approved, and the new one with them.
                ensure_documents_free!(self, tx, &account, Some(new.number_index));
            }
            write_identity_row!(tx, new, &account, &expires, now, previous.is_some());
            record_number!(tx, new, &account, now);
            let change = history_change(&new, previous.as_deref(), &expires);
            sqlx::query("INSERT INTO identity_history (account_id, at, actor, change) VALUES ($1, $2, $3, $4)")
                .bind(&account)
                .bind(now)
                .bind(new.actor)
                .bind(&change)
                .execute(&mut *tx)
                .await?;
            for entry in &new.audit {
                crate::audit::insert_audit!(tx, entry);
            }
        });
        Ok(())
    }

    /// What `GET /api/v1/me` shows in one query: a confirmed authenticator, the number
    /// of passkeys, and the identity status.
    pub async fn factor_overview(
        &self,
        account_id: AccountId,
    ) -> Result<(bool, usize, Option<IdentityStatus>), StoreError> {
        let (confirmed_at, passkeys, status): (Option<i64>, i64, Option<String>) = on_reader!(self, pool => {
            let row = sqlx::query(
                "SELECT (SELECT confirmed_at FROM totp_factors WHERE account_id = $1) AS confirmed_at,
                        (SELECT COUNT(*) FROM passkeys WHERE account_id = $1) AS passkeys,
                        (SELECT status FROM identities WHERE account_id = $1) AS status",
            )
            .bind(account_id.to_string())
            .fetch_one(pool)
            .await?;
            (row.try_get("confirmed_at")?, row.try_get("passkeys")?, row.try_get("status")?)
        });
        Ok((
            confirmed_at.is_some(),
            usize::try_from(passkeys).unwrap_or(usize::MAX),
            status.as_deref().map(parse_status).transpose()?,
        ))
    }

    /// Whether the account's authenticator is confirmed and its identity record's status,
    /// in one query: what `GET /api/v1/me` shows besides the account row.
    pub async fn authenticator_and_identity_status(
        &self,
        account_id: AccountId,
    ) -> Result<(bool, Option<IdentityStatus>), StoreError> {
        let (confirmed_at, status): (Option<i64>, Option<String>) = on_reader!(self, pool => {
            let row = sqlx::query(
                "SELECT (SELECT confirmed_at FROM totp_factors WHERE account_id = $1) AS confirmed_at,
                        (SELECT status FROM identities WHERE account_id = $1) AS status",
            )
            .bind(account_id.to_string())
            .fetch_one(pool)
            .await?;
            (row.try_get("confirmed_at")?, row.try_get("status")?)
        });
        Ok((
            confirmed_at.is_some(),
            status.as_deref().map(parse_status).transpose()?,
        ))
    }

    /// The account's identity record with every number on file, or `None`.
    pub async fn identity(&self, account_id: AccountId) -> Result<Option<IdentityRow>, StoreError> {
        let account = account_id.to_string();
        type Head = (String, String, String, String, i64, i64);
        type Number = (String, String, i64, Option<i64>, Option<String>);
        let (head, numbers): (Option<Head>, Vec<Number>) = on_reader!(self, pool => {
            let head = sqlx::query(
                "SELECT document_type, country, expires_on, status, created_at, updated_at FROM identities WHERE account_id = $1",
            )
            .bind(&account)
            .fetch_optional(pool)
            .await?;
            let head = match head {
                Some(row) => Some((
                    row.try_get("document_type")?,
                    row.try_get("country")?,
                    row.try_get("expires_on")?,
                    row.try_get("status")?,
                    row.try_get("created_at")?,
                    row.try_get("updated_at")?,
                )),
                None => None,
            };
            let rows = sqlx::query(
                "SELECT number_sealed, number_index, added_at, approved_at, reason FROM identity_numbers
                 WHERE account_id = $1 ORDER BY id",
            )
            .bind(&account)
            .fetch_all(pool)
            .await?;
            let numbers = rows
                .iter()
                .map(|row| {
                    Ok::<_, sqlx::Error>((
                        row.try_get("number_sealed")?,
                        row.try_get("number_index")?,
                        row.try_get("added_at")?,
                        row.try_get("approved_at")?,
                        row.try_get("reason")?,
                    ))
                })
                .collect::<Result<Vec<_>, _>>()?;
            (head, numbers)
        });
        let Some((document_type, country, expires_on, status, created_at, updated_at)) = head
        else {
            return Ok(None);
        };
        Ok(Some(IdentityRow {
            account_id,
            document_type: DocumentType::parse(&document_type)
                .map_err(|_| StoreError::Corrupt(format!("document type {document_type:?}")))?,
            country: Country::parse(&country)
                .map_err(|_| StoreError::Corrupt(format!("country {country:?}")))?,
            expires_on: parse_date(&expires_on)?,
            status: parse_status(&status)?,
            created_at: from_unix(created_at),
            updated_at: from_unix(updated_at),
            numbers: numbers
                .into_iter()
                .map(
                    |(sealed, index, added_at, approved_at, reason)| StoredDocumentNumber {
                        sealed,
                        index,
                        added_at: from_unix(added_at),
                        approved_at: approved_at.map(from_unix),
                        reason,
                    },
                )
                .collect(),
        }))
    }

    /// Sets the verification status (approval by the host, support or dev mode) and
    /// notes it in the history. Approval marks every number on file approved. `false` if
    /// the account has no identity record.
    pub async fn set_identity_status(
        &self,
        account_id: AccountId,
        status: IdentityStatus,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let account = account_id.to_string();
        let at = to_unix(now);
        let found = identity_tx!(self, account, tx => {
            let previous: Option<String> = sqlx::query("SELECT status FROM identities WHERE account_id = $1")
                .bind(&account)
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| row.try_get("status"))
                .transpose()?;
            match previous {
                None => false,
                Some(before) => {
                    if status == IdentityStatus::Approved {
                        ensure_documents_free!(self, tx, &account, None);
                    }
                    sqlx::query("UPDATE identities SET status = $1, updated_at = $2 WHERE account_id = $3")
                        .bind(status.as_str())
                        .bind(at)
                        .bind(&account)
                        .execute(&mut *tx)
                        .await?;
                    if status == IdentityStatus::Approved {
                        sqlx::query("UPDATE identity_numbers SET approved_at = $1 WHERE account_id = $2 AND approved_at IS NULL")
                            .bind(at)
                            .bind(&account)
                            .execute(&mut *tx)
                            .await?;
                    }
                    sqlx::query("INSERT INTO identity_history (account_id, at, actor, change) VALUES ($1, $2, $3, $4)")
                        .bind(&account)
                        .bind(at)
                        .bind(actor)
                        .bind(format!("status: {before} → {}", status.as_str()))
                        .execute(&mut *tx)
                        .await?;
                    true
                }
            }
        });
        Ok(found)
    }

    /// Accounts with this blind index among their numbers (any status), oldest first.
    pub async fn accounts_by_document_index(
        &self,
        index: &str,
    ) -> Result<Vec<AccountId>, StoreError> {
        let ids: Vec<String> = on_reader!(self, pool => {
            let rows = sqlx::query(
                "SELECT account_id, MIN(id) AS first_id FROM identity_numbers WHERE number_index = $1
                 GROUP BY account_id ORDER BY first_id",
            )
            .bind(index)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| row.try_get("account_id"))
                .collect::<Result<Vec<String>, _>>()?
        });
        ids.iter().map(|id| parse_account(id)).collect()
    }

    /// The identity's history, oldest first.
    pub async fn identity_history(
        &self,
        account_id: AccountId,
    ) -> Result<Vec<IdentityChange>, StoreError> {
        let rows: Vec<(i64, String, String)> = on_reader!(self, pool => {
            let rows = sqlx::query("SELECT at, actor, change FROM identity_history WHERE account_id = $1 ORDER BY id")
                .bind(account_id.to_string())
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|row| Ok::<_, sqlx::Error>((row.try_get("at")?, row.try_get("actor")?, row.try_get("change")?)))
                .collect::<Result<Vec<_>, _>>()?
        });
        Ok(rows
            .into_iter()
            .map(|(at, actor, change)| IdentityChange {
                at: from_unix(at),
                actor,
                change,
            })
            .collect())
    }
}
