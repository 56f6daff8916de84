//! Recovery requests: people who cannot log in ask support for help (R11).

use crate::{on_db, to_unix, Store, StoreError};
use offboard_core::AccountId;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct NewRecoveryRequest<'a> {
    pub account_id: Option<AccountId>,
    pub email: &'a str,
    pub message: &'a str,
    pub id_number_check: &'a str,
    pub now: OffsetDateTime,
}

impl Store {
    pub async fn add_recovery_request(
        &self,
        r: NewRecoveryRequest<'_>,
    ) -> Result<String, StoreError> {
        let id = uuid::Uuid::now_v7().to_string();
        on_db!(self, pool => sqlx::query(
            "INSERT INTO recovery_requests (id, account_id, email, message, id_number_check, status, created_at)
             VALUES ($1, $2, $3, $4, $5, 'open', $6)",
        )
        .bind(&id)
        .bind(r.account_id.map(|a| a.to_string()))
        .bind(r.email)
        .bind(r.message)
        .bind(r.id_number_check)
        .bind(to_unix(r.now))
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(id)
    }

    pub async fn open_recovery_requests(
        &self,
    ) -> Result<Vec<(String, Option<String>, String, String)>, StoreError> {
        use sqlx::Row;
        on_db!(self, pool => {
            sqlx::query("SELECT id, account_id, email, id_number_check FROM recovery_requests WHERE status = 'open' ORDER BY created_at, id")
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| Ok((r.try_get("id")?, r.try_get("account_id")?, r.try_get("email")?, r.try_get("id_number_check")?)))
                .collect()
        })
    }
}
