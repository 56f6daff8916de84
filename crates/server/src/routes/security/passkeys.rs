//! The Security page's passkey forms (R16): rename, remove (every factor, a passkey
//! among them) and "require a passkey". Adding one runs in the page's script
//! (`static/passkey.js`) over the JSON API, since the browser's ceremony needs it.

use super::{render_security, FactorCodesForm};
use crate::http::csrf::{CsrfForm, CsrfToken, EmptyForm};
use crate::http::session::PageUser;
use crate::views::Removal;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use offboard_app::factors::FactorCodes;
use offboard_app::passkeys;
use offboard_app::AppState;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(rename_submit))
        .routes(routes!(remove_submit))
        .routes(routes!(require_on_submit))
        .routes(routes!(require_off_submit))
}

#[derive(Deserialize, ToSchema)]
pub struct PasskeyNameForm {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
}

#[utoipa::path(post, path = "/security/passkeys/{id}/rename", tag = "pages", operation_id = "page_passkey_rename_submit",
    params(("id" = String, Path, format = "uuid", description = "The passkey's id")), security(("session_cookie" = [])),
    request_body(content = PasskeyNameForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "renamed; back to the security page"),
        (status = 404, description = "the security page: no such passkey", content_type = "text/html"),
        (status = 422, description = "the security page: the name", content_type = "text/html")))]
pub async fn rename_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<PasskeyNameForm>,
) -> Response {
    match passkeys::rename(&state, user.account.id, &id, &form.name).await {
        Ok(()) => Redirect::to("/security?notice=passkey_renamed#passkeys-heading").into_response(),
        Err(err) => {
            render_security(
                &state,
                &user,
                &csrf,
                None,
                Some(&err),
                Some(Removal::Passkey),
            )
            .await
        }
    }
}

#[utoipa::path(post, path = "/security/passkeys/{id}/remove", tag = "pages", operation_id = "page_passkey_remove_submit",
    params(("id" = String, Path, format = "uuid", description = "The passkey's id")), security(("session_cookie" = [])),
    request_body(content = FactorCodesForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "removed"),
        (status = 400, description = "the page with the error: a code or the passkey was refused", content_type = "text/html"),
        (status = 404, description = "the page with the error: nothing to remove", content_type = "text/html"),
        (status = 409, description = "the page: the last passkey while one is required", content_type = "text/html"),
        (status = 422, description = "the page with the error: a code or the passkey is missing", content_type = "text/html"),
        (status = 429, description = "the page with the error: too many wrong codes", content_type = "text/html")))]
pub async fn remove_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<FactorCodesForm>,
) -> Response {
    let codes = form.codes(&user);
    match passkeys::remove(&state, &user.account, &id, &codes).await {
        Ok(()) => Redirect::to("/security?notice=passkey_removed#passkeys-heading").into_response(),
        Err(err) => {
            render_security(
                &state,
                &user,
                &csrf,
                None,
                Some(&err),
                Some(Removal::Passkey),
            )
            .await
        }
    }
}

#[utoipa::path(post, path = "/security/passkeys/require", tag = "pages", operation_id = "page_passkey_require_submit", security(("session_cookie" = [])),
    request_body(content = EmptyForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "on; back to the security page"),
        (status = 409, description = "the security page: no passkey to require", content_type = "text/html")))]
pub async fn require_on_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    CsrfForm(_form): CsrfForm<EmptyForm>,
) -> Response {
    match passkeys::set_required(&state, &user.account, true, &FactorCodes::default()).await {
        Ok(()) => {
            Redirect::to("/security?notice=passkey_required_on#passkeys-heading").into_response()
        }
        Err(err) => render_security(&state, &user, &csrf, None, Some(&err), None).await,
    }
}

#[utoipa::path(post, path = "/security/passkeys/require/off", tag = "pages", operation_id = "page_passkey_require_off_submit", security(("session_cookie" = [])),
    request_body(content = FactorCodesForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "off; back to the security page"),
        (status = 400, description = "the page with the error: a code or the passkey was refused", content_type = "text/html"),
        (status = 422, description = "the page with the error: a code or the passkey is missing", content_type = "text/html")))]
pub async fn require_off_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<FactorCodesForm>,
) -> Response {
    let codes = form.codes(&user);
    match passkeys::set_required(&state, &user.account, false, &codes).await {
        Ok(()) => {
            Redirect::to("/security?notice=passkey_required_off#passkeys-heading").into_response()
        }
        Err(err) => {
            render_security(
                &state,
                &user,
                &csrf,
                None,
                Some(&err),
                Some(Removal::Passkey),
            )
            .await
        }
    }
}
