//! Contact support (issue 15): the signed-in form the help pages link to, the person's
//! own requests, and the agents' side of the same requests over the Support API. The
//! console's queue lives with the console (`routes::console`); both call
//! [`offboard_app::support`].

mod api;
mod pages;

use offboard_app::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::open_request, api::my_requests))
        .routes(routes!(api::agent_open_requests))
        .routes(routes!(api::agent_answer))
        .routes(routes!(pages::contact_page, pages::contact_submit))
}
