//! The asset ledger: the account's holdings and withdrawals, and the host/admin API that
//! credits deposits, settles withdrawals and reports holds (API.md "Accounts", "Host /
//! admin API"). Amounts are decimal strings, never floats.

use crate::client::{segment, Auth, Client, NoBody};
use crate::error::ClientError;
use crate::factors::FactorCodes;
use reqwest::Method;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Balance {
    pub asset: String,
    pub amount: String,
}

/// Something the exchange holds open (an order, a dispute, ...).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Hold {
    pub hold_id: String,
    pub kind: String,
    pub reference: String,
}

/// A deposit or withdrawal not settled yet.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Pending {
    /// `deposit` or `withdrawal`.
    pub kind: String,
    pub id: String,
    pub asset: String,
    pub amount: String,
}

/// `200` of `GET /api/v1/me/assets`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Assets {
    pub balances: Vec<Balance>,
    pub holds: Vec<Hold>,
    pub pending: Vec<Pending>,
}

/// `POST /api/v1/me/withdrawals`: a code for every bound factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WithdrawalRequest {
    pub asset: String,
    pub amount: String,
    pub address: String,
    #[serde(flatten)]
    pub codes: FactorCodes,
}

/// `201` of `POST /api/v1/me/withdrawals`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WithdrawalCreated {
    pub withdrawal_id: String,
    /// `pending` until the host completes or fails it.
    pub status: String,
}

/// The account a statement belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StatementAccount {
    pub account_id: String,
    pub email: String,
    pub created_at: String,
}

/// A deposit or withdrawal on a statement.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StatementLine {
    pub id: String,
    pub asset: String,
    pub amount: String,
    pub status: String,
    pub created_at: String,
    /// Withdrawals only: the destination address.
    #[serde(default)]
    pub address: Option<String>,
}

/// `200` of `GET /api/v1/me/export` (the JSON form; `?format=csv` is for people).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Statement {
    pub account: StatementAccount,
    pub balances: Vec<Balance>,
    pub deposits: Vec<StatementLine>,
    pub withdrawals: Vec<StatementLine>,
    pub generated_at: String,
}

#[derive(Serialize)]
struct Deposit<'a> {
    asset: &'a str,
    amount: &'a str,
}

/// `201` of the admin deposit.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DepositCreated {
    pub deposit_id: String,
}

#[derive(Serialize)]
struct NewHold<'a> {
    kind: &'a str,
    reference: &'a str,
}

/// `201` of the admin hold.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HoldCreated {
    pub hold_id: String,
}

impl Client {
    /// `me_assets`: `GET /api/v1/me/assets`.
    pub async fn assets(&self) -> Result<Assets, ClientError> {
        self.get("me_assets", "/api/v1/me/assets", Auth::Session, &[])
            .await
    }

    /// `me_export`: `GET /api/v1/me/export`, the account's statement as JSON.
    pub async fn statement(&self) -> Result<Statement, ClientError> {
        self.get("me_export", "/api/v1/me/export", Auth::Session, &[])
            .await
    }

    /// `withdrawal`: `POST /api/v1/me/withdrawals` → 201; too much is 409
    /// `insufficient_funds`.
    pub async fn withdraw(
        &self,
        request: &WithdrawalRequest,
    ) -> Result<WithdrawalCreated, ClientError> {
        self.post(
            "withdrawal",
            "/api/v1/me/withdrawals",
            Auth::Session,
            request,
            201,
        )
        .await
    }

    /// `admin_deposit`: `POST /api/v1/admin/accounts/{id}/deposits` → 201, with an
    /// `Idempotency-Key` when given (a retry with the same key credits once).
    pub async fn admin_deposit(
        &self,
        account_id: &str,
        asset: &str,
        amount: &str,
        idempotency_key: Option<&str>,
    ) -> Result<DepositCreated, ClientError> {
        let path = format!("/api/v1/admin/accounts/{}/deposits", segment(account_id));
        let mut req = self
            .request(Method::POST, &path, Auth::Admin)
            .json(&Deposit { asset, amount });
        if let Some(key) = idempotency_key {
            req = req.header("idempotency-key", key);
        }
        self.send_json("admin_deposit", req, 201).await
    }

    /// `admin_withdrawal_complete`: `POST /api/v1/admin/withdrawals/{id}/complete` → 204.
    pub async fn admin_complete_withdrawal(&self, withdrawal_id: &str) -> Result<(), ClientError> {
        let path = format!(
            "/api/v1/admin/withdrawals/{}/complete",
            segment(withdrawal_id)
        );
        self.post_empty(
            "admin_withdrawal_complete",
            &path,
            Auth::Admin,
            &NoBody {},
            204,
        )
        .await
    }

    /// `admin_withdrawal_fail`: `POST /api/v1/admin/withdrawals/{id}/fail` → 204, the
    /// funds return to the account.
    pub async fn admin_fail_withdrawal(&self, withdrawal_id: &str) -> Result<(), ClientError> {
        let path = format!("/api/v1/admin/withdrawals/{}/fail", segment(withdrawal_id));
        self.post_empty("admin_withdrawal_fail", &path, Auth::Admin, &NoBody {}, 204)
            .await
    }

    /// `admin_hold`: `POST /api/v1/admin/accounts/{id}/holds` → 201.
    pub async fn admin_add_hold(
        &self,
        account_id: &str,
        kind: &str,
        reference: &str,
    ) -> Result<HoldCreated, ClientError> {
        let path = format!("/api/v1/admin/accounts/{}/holds", segment(account_id));
        self.post(
            "admin_hold",
            &path,
            Auth::Admin,
            &NewHold { kind, reference },
            201,
        )
        .await
    }

    /// `admin_hold_release`: `DELETE /api/v1/admin/holds/{id}` → 204.
    pub async fn admin_release_hold(&self, hold_id: &str) -> Result<(), ClientError> {
        let path = format!("/api/v1/admin/holds/{}", segment(hold_id));
        let req = self.request(Method::DELETE, &path, Auth::Admin);
        self.send_empty("admin_hold_release", req, 204).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_withdrawal_carries_its_codes_beside_the_amount() {
        let request = WithdrawalRequest {
            asset: "BTC".into(),
            amount: "0.5".into(),
            address: "bc1q".into(),
            codes: FactorCodes {
                email_code: Some("123456".into()),
                ..FactorCodes::default()
            },
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({"asset": "BTC", "amount": "0.5", "address": "bc1q", "email_code": "123456"})
        );
    }

    #[test]
    fn assets_decode() {
        let assets: Assets = serde_json::from_value(json!({
            "balances": [{"asset": "BTC", "amount": "0.5"}],
            "holds": [{"hold_id": "h", "kind": "order", "reference": "BTC/USDT #1"}],
            "pending": [{"kind": "withdrawal", "id": "w", "asset": "BTC", "amount": "0.1"}]}))
        .unwrap();
        assert_eq!(assets.balances[0].amount, "0.5");
        assert_eq!(assets.holds[0].kind, "order");
        assert_eq!(assets.pending[0].kind, "withdrawal");
    }
}
