//! The deletion journey over the JSON API (API.md "Deletion flow") and as web pages
//! (Security → Delete). Both call `offboard_app::deletion`.

mod api;
mod pages;
mod templates;

use offboard_app::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::api_start))
        .routes(routes!(api::api_get))
        .routes(routes!(api::api_confirm))
        .routes(routes!(api::api_assets))
        .routes(routes!(api::api_codes))
        .routes(routes!(api::api_verify))
        .routes(routes!(api::api_identity))
        .routes(routes!(pages::page_overview))
        .routes(routes!(pages::page_start))
        .routes(routes!(pages::page_flow))
        .routes(routes!(pages::page_confirm))
        .routes(routes!(pages::page_assets))
        .routes(routes!(pages::page_codes))
        .routes(routes!(pages::page_verify))
        .routes(routes!(pages::page_identity))
}
