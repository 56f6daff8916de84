//! For people who cannot log in (API.md): password reset by email code, and the recovery
//! request that goes to support — as JSON API and as pages. Every answer is the same
//! whether or not the account exists (no enumeration).

mod api;
mod pages;

use offboard_app::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::password_reset))
        .routes(routes!(api::password_reset_confirm))
        .routes(routes!(api::recovery))
        .routes(routes!(pages::recovery_page, pages::recovery_submit))
        .routes(routes!(pages::reset_page, pages::reset_submit))
        .routes(routes!(pages::reset_confirm_submit))
}
