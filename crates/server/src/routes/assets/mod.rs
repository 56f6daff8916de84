//! Assets for the account holder: balances, pending items and holds, withdrawals (with a
//! code from every bound factor), the statement export, and the assets page.

mod api;
mod pages;

use offboard_app::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::my_assets))
        .routes(routes!(api::withdraw))
        .routes(routes!(api::export))
        .routes(routes!(pages::assets_page))
        .routes(routes!(pages::withdraw_submit))
        .routes(routes!(pages::codes_submit))
}
