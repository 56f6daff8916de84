//! The asset-source port. The deletion gate (R4) and the assets pages ask "what does this
//! account still hold?" of whichever source is configured: the embedded ledger, or the
//! host platform over HTTP (`GET {url}/accounts/{id}/holdings`, answering the same JSON as
//! `GET /api/v1/me/assets`).

use crate::config::AssetSourceConfig;
use crate::error::AppError;
use crate::error::ErrorKind;
use crate::outbound::{self, Auth, Method};
use crate::state::AppState;
use offboard_core::actor::Actor;
use offboard_core::money::{self, Blocker, Holdings};
use offboard_core::AccountId;
use offboard_store::{SettledBy, Settlement};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("the asset source did not answer: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] offboard_store::StoreError),
}

impl From<SourceError> for AppError {
    fn from(err: SourceError) -> Self {
        match err {
            SourceError::Store(e) => e.into(),
            SourceError::Unavailable(reason) => {
                tracing::warn!(%reason, "asset source unavailable");
                AppError::new(
                    ErrorKind::Unavailable,
                    "asset_source_unavailable",
                    "We could not check your assets just now. Nothing was changed; try again in a minute.",
                )
            }
        }
    }
}

/// The help page on what keeps assets busy (the deletion's assets step links it too).
pub const HELP_ASSETS: &str = "/help/assets-remaining";

/// The one answer to a withdrawal a hold stops, whatever the hold's kind (R18: a
/// compliance hold must read like any other).
pub fn withdrawals_paused() -> AppError {
    AppError::new(
        ErrorKind::Conflict,
        "withdrawals_paused",
        "Withdrawals from this account are paused for now. Nothing was sent and your balance is unchanged; contact support if this lasts.",
    )
    .with_help(HELP_ASSETS)
}

/// Refuses a withdrawal of a frozen account (R17) or one a hold stops (R18), before
/// any code is spent.
pub async fn ensure_can_withdraw(
    state: &AppState,
    account: &offboard_store::AccountRow,
) -> Result<(), AppError> {
    crate::freeze::ensure_not_frozen(account)?;
    if state.store.withdrawals_held(account.id).await? {
        return Err(withdrawals_paused());
    }
    Ok(())
}

/// What an account holds, from the configured source.
pub async fn holdings(state: &AppState, account_id: AccountId) -> Result<Holdings, SourceError> {
    match &state.config.asset_source {
        AssetSourceConfig::Embedded => {
            settle_due_dev_withdrawals(state, account_id).await?;
            Ok(state.store.holdings(account_id).await?)
        }
        AssetSourceConfig::Http {
            url,
            token,
            timeout,
        } => {
            let address = format!("{url}/accounts/{account_id}/holdings");
            let address = url::Url::parse(&address)
                .map_err(|_| SourceError::Unavailable("the holdings URL is not valid".into()))?;
            let mut request = outbound::Request::new(Method::Get, address, *timeout);
            request.auth = token.clone().map(Auth::Bearer);
            request.read_body = true;
            // The error names no URL: it may carry credentials in its query.
            let response = state
                .http
                .send(request)
                .await
                .map_err(|e| SourceError::Unavailable(e.to_string()))?;
            if !response.is_success() {
                return Err(SourceError::Unavailable(format!(
                    "answered {}",
                    response.status
                )));
            }
            serde_json::from_slice::<Holdings>(&response.body).map_err(|_| {
                SourceError::Unavailable("unreadable answer: not the expected JSON".into())
            })
        }
    }
}

/// Dev mode's embedded ledger behaves like a live host: a withdrawal still pending
/// `dev_settle_withdrawals` after it was requested is completed (funds leave), audited
/// as the system's. It runs when the account's holdings or withdrawals are read, so it
/// follows the dev clock and needs no background task. Off in production (start-up
/// refuses the setting) and in tests unless they switch it on.
pub async fn settle_due_dev_withdrawals(
    state: &AppState,
    account_id: AccountId,
) -> Result<(), offboard_store::StoreError> {
    let Some(after) = state
        .config
        .dev_settle_withdrawals
        .filter(|_| state.config.is_dev())
    else {
        return Ok(());
    };
    if !matches!(state.config.asset_source, AssetSourceConfig::Embedded) {
        return Ok(());
    }
    let due = state.now() - after;
    let system = Actor::System.to_string();
    for withdrawal in state.store.withdrawals_of(account_id).await? {
        if withdrawal.status != "pending" || withdrawal.created_at > due {
            continue;
        }
        // Settled meanwhile by the admin API or a parallel read: that one wrote the audit.
        let by = SettledBy {
            actor: &system,
            note: " (dev ledger)",
        };
        state
            .store
            .settle_withdrawal(&withdrawal.id, Settlement::Complete, state.now(), &by)
            .await?;
    }
    Ok(())
}

/// Dust thresholds from settings; invalid entries were refused at start-up.
pub fn dust(state: &AppState) -> BTreeMap<String, Decimal> {
    state
        .config
        .dust
        .iter()
        .filter_map(|(asset, text)| {
            Decimal::from_str(text)
                .ok()
                .map(|d| (asset.to_uppercase(), d))
        })
        .collect()
}

/// R4: what still blocks deleting the account.
pub async fn blockers(
    state: &AppState,
    account_id: AccountId,
) -> Result<Vec<Blocker>, SourceError> {
    let holdings = holdings(state, account_id).await?;
    Ok(money::blockers(&holdings, &dust(state)))
}
