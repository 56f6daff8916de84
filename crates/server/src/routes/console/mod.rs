//! The support console (R11, R15): server-rendered pages for agents. Agents log in with
//! password + authenticator into a session cookie of their own, find accounts, work the
//! recovery queue and the contact queue, unlock the identity step, record a changed document number and read
//! the audit log. Every action calls the same function in [`offboard_app::support`] as the
//! Support API, so both refuse, audit and answer alike; the pages only translate forms
//! and render results. No page shows a secret, code, token or whole document number,
//! and no route here deletes an account (R1).

mod account;
mod audit;
mod contact;
mod login;
mod models;
mod queue;
mod search;

use offboard_app::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login::login_page, login::login_submit))
        .routes(routes!(login::logout_submit))
        .routes(routes!(search::search_page, search::document_search_submit))
        .routes(routes!(account::account_page))
        .routes(routes!(account::unlock_submit))
        .routes(routes!(account::document_change_submit))
        .routes(routes!(queue::recovery_page))
        .routes(routes!(queue::approve_submit))
        .routes(routes!(queue::reject_submit))
        .routes(routes!(contact::contact_queue_page))
        .routes(routes!(contact::answer_submit))
        .routes(routes!(audit::audit_page))
}
