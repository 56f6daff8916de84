//! What the law keeps after an erasure, and for how long: tombstones of keyed hashes
//! (R9), sealed retained records with their wrapped keys (R10), and the purge that
//! removes both when their time is up.

use crate::{from_unix, in_tx, on_db, on_reader, to_unix, AuditEntry, Store, StoreError};
use offboard_core::AccountId;
use sqlx::Row;
use time::OffsetDateTime;

impl Store {
    /// R9: when a tombstoned keyed hash may register again, if it is still blocked.
    pub async fn tombstone_blocks(
        &self,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        on_reader!(self, pool => {
            let row = sqlx::query("SELECT MAX(allowed_from) AS until FROM tombstones WHERE hash = $1 AND allowed_from > $2")
                .bind(hash)
                .bind(to_unix(now))
                .fetch_one(pool)
                .await?;
            Ok(row.try_get::<Option<i64>, _>("until")?.map(from_unix))
        })
    }

    /// Lifts every tombstone of one keyed hash before its wait is over, and writes
    /// `audit` in the same transaction (R14), only when something was lifted. Only the
    /// dev-mode demo calls this, for its own fixture identity, so a newcomer can walk the
    /// deletion again; no user-facing or support path reaches it (R9). Returns how many
    /// tombstones went.
    pub async fn lift_tombstone(
        &self,
        hash: &str,
        audit: &AuditEntry<'_>,
    ) -> Result<u64, StoreError> {
        let lifted = in_tx!(self, tx => {
            let n = sqlx::query("DELETE FROM tombstones WHERE hash = $1")
                .bind(hash)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n > 0 {
                // Tests fail here to prove the lift and its audit line commit together.
                self.checkpoint()?;
                crate::audit::insert_audit!(tx, audit);
            }
            n
        });
        Ok(lifted)
    }

    /// Sealed retained records of an account: (kind, sealed, wrapped key).
    pub async fn retained_records(
        &self,
        account_id: AccountId,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        on_reader!(self, pool => {
            sqlx::query(
                "SELECT r.kind, r.sealed, k.wrapped_key FROM retained_records r JOIN retention_keys k ON k.record_id = r.id
                 WHERE r.account_id = $1 ORDER BY r.created_at, r.id",
            )
            .bind(account_id.to_string())
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("kind")?, r.try_get("sealed")?, r.try_get("wrapped_key")?)))
            .collect()
        })
    }
}

/// What a purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub tombstones: u64,
    pub retained_records: u64,
    pub login_attempts: u64,
}

/// Rows removed per purge transaction: short transactions keep locks brief and memory
/// bounded however many records fall due at once.
const PURGE_BATCH: i64 = 5_000;

impl Store {
    /// R9/R10 housekeeping: tombstones whose wait is over, and retained records whose
    /// period ended (the rows first, then their keys, in one transaction per batch:
    /// without its key nothing of a record is readable even from a backup). Idempotent;
    /// safe to run from several instances at once.
    pub async fn purge_expired(&self, now: OffsetDateTime) -> Result<PurgeReport, StoreError> {
        let at = to_unix(now);
        let mut report = PurgeReport::default();
        loop {
            let n = on_db!(self, pool => sqlx::query(
                "DELETE FROM tombstones WHERE id IN (SELECT id FROM tombstones WHERE allowed_from <= $1 LIMIT $2)",
            )
            .bind(at)
            .bind(PURGE_BATCH)
            .execute(pool)
            .await?
            .rows_affected());
            report.tombstones += n;
            if n < PURGE_BATCH as u64 {
                break;
            }
        }
        loop {
            let n = crate::in_tx!(self, tx => {
                let ids: Vec<String> = sqlx::query(
                    "DELETE FROM retained_records WHERE id IN (SELECT id FROM retained_records WHERE purge_after <= $1 LIMIT $2) RETURNING id",
                )
                .bind(at)
                .bind(PURGE_BATCH)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>("id"))
                .collect::<Result<_, _>>()?;
                if !ids.is_empty() {
                    // One statement for the batch's keys; the ids travel as one JSON array.
                    let ids_json = serde_json::to_string(&ids).unwrap_or_default();
                    sqlx::query(retention_keys_delete(self.backend()))
                        .bind(ids_json)
                        .execute(&mut *tx)
                        .await?;
                }
                ids.len() as u64
            });
            report.retained_records += n;
            if n < PURGE_BATCH as u64 {
                break;
            }
        }
        report.login_attempts = self.prune_login_attempts(now).await?;
        Ok(report)
    }
}

/// Deletes the keys whose record ids are in the JSON array `$1`.
fn retention_keys_delete(backend: crate::Backend) -> &'static str {
    match backend {
        crate::Backend::Sqlite => "DELETE FROM retention_keys WHERE record_id IN (SELECT value FROM json_each($1))",
        crate::Backend::Postgres => {
            "DELETE FROM retention_keys WHERE record_id IN (SELECT jsonb_array_elements_text($1::jsonb))"
        }
    }
}
