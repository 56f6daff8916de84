use crate::{from_unix, on_db, to_unix, Store, StoreError};
use offboard_core::throttle::{FailureStats, WINDOW};
use sqlx::Row;
use time::OffsetDateTime;

impl Store {
    /// Records a login attempt before the password is checked, so parallel guesses see
    /// each other (the attempt counts as a failure until [`Store::forget_login_attempt`]).
    pub async fn record_login_attempt(
        &self,
        login_key: &str,
        address_key: &str,
        now: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        let id = on_db!(self, pool => sqlx::query(
            "INSERT INTO login_attempts (login_key, address_key, at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(login_key)
        .bind(address_key)
        .bind(to_unix(now))
        .fetch_one(pool)
        .await
        .and_then(|row| row.try_get::<i64, _>("id")))?;
        Ok(id)
    }

    pub async fn forget_login_attempt(&self, id: i64) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("DELETE FROM login_attempts WHERE id = $1").bind(id).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Failures within the throttle window by login name and by address, leaving out the
    /// caller's own attempt.
    pub async fn login_failure_stats(
        &self,
        login_key: &str,
        address_key: &str,
        except_id: i64,
        now: OffsetDateTime,
    ) -> Result<(FailureStats, FailureStats), StoreError> {
        let since = to_unix(now - WINDOW);
        let by_login = self
            .failure_stats("login_key", login_key, except_id, since)
            .await?;
        let by_address = self
            .failure_stats("address_key", address_key, except_id, since)
            .await?;
        Ok((by_login, by_address))
    }

    async fn failure_stats(
        &self,
        column: &str,
        key: &str,
        except_id: i64,
        since: i64,
    ) -> Result<FailureStats, StoreError> {
        // `column` is one of two constants above, never user input.
        let sql = format!(
            "SELECT COUNT(*) AS n, MAX(at) AS latest, MIN(at) AS oldest FROM login_attempts
             WHERE {column} = $1 AND at > $2 AND id <> $3"
        );
        on_db!(self, pool => {
            let row = sqlx::query(&sql).bind(key).bind(since).bind(except_id).fetch_one(pool).await?;
            let count: i64 = row.try_get("n")?;
            let latest: Option<i64> = row.try_get("latest")?;
            let oldest: Option<i64> = row.try_get("oldest")?;
            Ok(FailureStats {
                count: u32::try_from(count).unwrap_or(u32::MAX),
                latest: latest.map(from_unix),
                oldest: oldest.map(from_unix),
            })
        })
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
