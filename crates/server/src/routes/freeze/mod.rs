//! R17's freeze: the confirmation page an alert's link opens (no sign-in; the POST is
//! CSRF-protected and spends the link), the Security page's freeze button, and the same
//! over the JSON API; and the owner's unfreeze after 24 hours.

mod api;
mod pages;

use offboard_app::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::freeze_by_link))
        .routes(routes!(api::freeze_mine))
        .routes(routes!(api::unfreeze_code))
        .routes(routes!(api::unfreeze_mine))
        .routes(routes!(pages::link_page, pages::link_submit))
        .routes(routes!(pages::security_freeze_submit))
        .routes(routes!(pages::unfreeze_form, pages::unfreeze_submit))
        .routes(routes!(pages::unfreeze_code_submit))
}
