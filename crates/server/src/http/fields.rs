//! Request fields the API parses the same way wherever they appear.

use crate::error::AppError;
use offboard_app::AppState;

/// Parses an amount field that must be a decimal *string* (API.md: never floats).
pub fn amount_field(
    state: &AppState,
    asset: &str,
    value: &serde_json::Value,
) -> Result<rust_decimal::Decimal, AppError> {
    let Some(text) = value.as_str() else {
        return Err(AppError::validation(
            "amount",
            "send amounts as decimal strings such as \"12.5\", never as JSON numbers",
        ));
    };
    state
        .config
        .assets
        .amount(asset, text)
        .map_err(|e| AppError::validation("amount", e))
}

pub fn asset_field(state: &AppState, asset: &str) -> Result<String, AppError> {
    state
        .config
        .assets
        .asset(asset)
        .map(|(code, _)| code)
        .map_err(|e| AppError::validation("asset", e))
}
