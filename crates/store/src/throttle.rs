use crate::{from_unix, on_db, to_unix, Db, Store, StoreError};
use offboard_core::throttle::{FailureStats, LoginFailures, WINDOW};
use sqlx::Row;
use time::OffsetDateTime;

/// The three counts of one login attempt; the same SQL on both backends.
const STATS_SQL: &str = "SELECT
    COUNT(CASE WHEN address_key = $2 THEN 1 END) AS pair_n,
    MAX(CASE WHEN address_key = $2 THEN at END) AS pair_latest,
    MIN(CASE WHEN address_key = $2 THEN at END) AS pair_oldest,
    COUNT(*) AS login_n, MAX(at) AS login_latest, MIN(at) AS login_oldest
  FROM login_attempts WHERE login_key = $1 AND at > $3";
const ADDRESS_SQL: &str =
    "SELECT COUNT(*) AS n, MAX(at) AS latest, MIN(at) AS oldest FROM login_attempts WHERE address_key = $1 AND at > $2";
const INSERT_SQL: &str =
    "INSERT INTO login_attempts (login_key, address_key, at) VALUES ($1, $2, $3) RETURNING id";

fn stats<R: Row>(row: &R, n: &str, latest: &str, oldest: &str) -> Result<FailureStats, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let count: i64 = row.try_get(n)?;
    let latest: Option<i64> = row.try_get(latest)?;
    let oldest: Option<i64> = row.try_get(oldest)?;
    Ok(FailureStats {
        count: u32::try_from(count).unwrap_or(u32::MAX),
        latest: latest.map(from_unix),
        oldest: oldest.map(from_unix),
    })
}

impl Store {
    /// Counts the recent failures of this login name and address, then records this
    /// attempt (as a failure until [`Store::forget_login_attempt`]), in one serialised
    /// transaction: parallel attempts each see every attempt before them, so a burst
    /// cannot slip past the free budget. SQLite serialises writers (`BEGIN IMMEDIATE`);
    /// PostgreSQL takes a transaction-scoped advisory lock on the login name.
    pub async fn begin_login_attempt(
        &self,
        login_key: &str,
        address_key: &str,
        now: OffsetDateTime,
    ) -> Result<(i64, LoginFailures), StoreError> {
        let since = to_unix(now - WINDOW);
        macro_rules! body {
            ($tx:ident) => {{
                let row = sqlx::query(STATS_SQL)
                    .bind(login_key)
                    .bind(address_key)
                    .bind(since)
                    .fetch_one(&mut *$tx)
                    .await?;
                let pair = stats(&row, "pair_n", "pair_latest", "pair_oldest")?;
                let account = stats(&row, "login_n", "login_latest", "login_oldest")?;
                let row = sqlx::query(ADDRESS_SQL)
                    .bind(address_key)
                    .bind(since)
                    .fetch_one(&mut *$tx)
                    .await?;
                let address = stats(&row, "n", "latest", "oldest")?;
                let id: i64 = sqlx::query(INSERT_SQL)
                    .bind(login_key)
                    .bind(address_key)
                    .bind(to_unix(now))
                    .fetch_one(&mut *$tx)
                    .await?
                    .try_get("id")?;
                (
                    id,
                    LoginFailures {
                        pair,
                        account,
                        address,
                    },
                )
            }};
        }
        let result = match &self.db {
            Db::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = body!(tx);
                tx.commit().await?;
                out
            }
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                    .bind(login_key)
                    .execute(&mut *tx)
                    .await?;
                let out = body!(tx);
                tx.commit().await?;
                out
            }
        };
        Ok(result)
    }

    pub async fn forget_login_attempt(&self, id: i64) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("DELETE FROM login_attempts WHERE id = $1").bind(id).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Removes attempts older than the window (housekeeping).
    pub async fn prune_login_attempts(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let n = on_db!(self, pool => sqlx::query("DELETE FROM login_attempts WHERE at <= $1")
            .bind(to_unix(now - WINDOW))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n)
    }
}
