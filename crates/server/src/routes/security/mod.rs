//! The security page and its forms: authenticator and phone binding and removal, codes.

use crate::error::ApiError;
use crate::error::AppError;
use crate::http::csrf::{CsrfForm, CsrfToken, EmptyForm};
use crate::http::session::{Authenticated, PageUser};
use crate::layout::layout;
use crate::views::{
    self, FactorView, PhoneConfirmPage, Removal, SecurityPage, SessionView, TotpSetupPage,
};
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use offboard_app::bindings;
use offboard_app::factors::{self, FactorCodes};
use offboard_app::AppState;
use offboard_core::{totp, PhoneNumber};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

mod passkeys;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(passkeys::routes())
        .routes(routes!(security_page))
        .routes(routes!(totp_setup_submit))
        .routes(routes!(totp_setup_page))
        .routes(routes!(totp_qr))
        .routes(routes!(totp_confirm_submit))
        .routes(routes!(totp_remove_submit))
        .routes(routes!(phone_submit))
        .routes(routes!(phone_confirm_page, phone_confirm_submit))
        .routes(routes!(phone_remove_submit))
        .routes(routes!(codes_submit))
}

fn notice_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "totp_bound" => "Your authenticator is on. Signing in now asks for its code.",
        "totp_removed" => "The authenticator was removed.",
        "phone_bound" => "Your phone is bound. SMS codes go to it from now on.",
        "phone_removed" => "The phone was removed.",
        "passkey_added" => "Your passkey is added. You can sign in with it, and it now confirms withdrawals, factor changes and the deletion.",
        "passkey_renamed" => "The passkey was renamed.",
        "passkey_removed" => "The passkey was removed. Delete it from your device's passkey list too.",
        "passkey_required_on" => "Withdrawals, factor changes, the deletion and signing in now need your passkey.",
        "passkey_required_off" => "A passkey is no longer required.",
        "code_sent_email" => "We emailed you a code. It works for 10 minutes.",
        "code_sent_sms" => "We texted you a code. It works for 10 minutes.",
        _ => return None,
    })
}

/// `GET /security`: a notice after a form succeeded, and the removal form to show open.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct SecurityQuery {
    pub notice: Option<String>,
    /// `totp`, `phone` or `passkey`: opens that factor's removal form (after its code was
    /// sent).
    pub open: Option<String>,
}

/// The bound methods as the page lists them.
fn factor_views(
    email: &str,
    masked_phone: Option<&str>,
    totp: bool,
    passkeys: usize,
) -> Vec<FactorView> {
    let mut views = vec![FactorView {
        label: "Email codes".to_owned(),
        detail: format!("Codes go to {email}"),
    }];
    if let Some(masked) = masked_phone {
        views.push(FactorView {
            label: "SMS codes".to_owned(),
            detail: format!("Codes go to {masked}"),
        });
    }
    if totp {
        views.push(FactorView {
            label: "Authenticator app".to_owned(),
            detail: "On: signing in asks for its code".to_owned(),
        });
    }
    if passkeys > 0 {
        views.push(FactorView {
            label: "Passkeys".to_owned(),
            detail: format!(
                "{passkeys} on this account: sign in without a password, or as the second step"
            ),
        });
    }
    views
}

/// Renders the security page, with a notice or an error; `open` shows that removal
/// form open, with the notice or error inside it.
async fn render_security(
    state: &AppState,
    user: &Authenticated,
    csrf: &CsrfToken,
    notice: Option<&str>,
    error: Option<&AppError>,
    open: Option<Removal>,
) -> Response {
    let page = async {
        let sessions = state.store.list_sessions(user.account.id).await?;
        let bound = factors::current_factors(state, &user.account).await?;
        let passkeys = offboard_app::passkeys::list(state, user.account.id).await?;
        Ok::<_, AppError>((sessions, bound, passkeys))
    }
    .await;
    let (email_wait, sms_wait) =
        views::code_waits(state, user.account.id, offboard_core::Purpose::Unbind).await;
    let (sessions, bound, (passkeys, require_passkey)) = match page {
        Ok(v) => v,
        Err(err) => return views::error_page(&err, Some(layout(state, Some(user), csrf).await)),
    };
    let phone = user
        .account
        .phone
        .as_deref()
        .and_then(|p| PhoneNumber::parse(p).ok())
        .map(|p| p.masked());
    let factor_views = factor_views(
        &user.account.email,
        phone.as_deref(),
        bound.totp,
        passkeys.len(),
    );
    let sessions = sessions
        .into_iter()
        .map(|s| SessionView {
            device: views::device_label(s.user_agent.as_deref()),
            started: views::When::at(s.created_at),
            last_seen: views::When::at(s.last_seen_at),
            current: s.token_hash == user.token_hash,
        })
        .collect();
    let (message, help, status) = views::error_parts(error);
    let page = SecurityPage {
        layout: layout(state, Some(user), csrf).await,
        email: user.account.email.clone(),
        factors: factor_views,
        identity_status: offboard_app::identity::status_line(state, user.account.id).await,
        sessions,
        totp_bound: bound.totp,
        passkeys: passkeys.into_iter().map(views::PasskeyItem::from).collect(),
        require_passkey,
        passkey_limit: offboard_core::passkey::MAX_PASSKEYS,
        phone,
        notice: notice.and_then(notice_text).map(str::to_owned),
        error: message,
        error_help: help,
        // A removal form opens only for a factor that is still bound.
        open_removal: open.filter(|r| match r {
            Removal::Totp => bound.totp,
            Removal::Phone => bound.sms,
            Removal::Passkey => bound.passkey,
        }),
        field_errors: views::FieldErrors::of(error),
        email_wait,
        sms_wait,
    };
    views::render_with_status(status, &page)
}

#[utoipa::path(get, path = "/security", tag = "pages", operation_id = "page_security", params(SecurityQuery), security(("session_cookie" = [])),
    responses((status = 200, description = "security page", content_type = "text/html")))]
pub async fn security_page(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    Query(q): Query<SecurityQuery>,
) -> Response {
    let open = q.open.as_deref().and_then(Removal::parse);
    render_security(&state, &user, &csrf, q.notice.as_deref(), None, open).await
}

#[utoipa::path(post, path = "/security/totp/setup", tag = "pages", operation_id = "page_totp_setup_submit", security(("session_cookie" = [])),
    request_body(content = EmptyForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "to the setup page"),
        (status = 409, description = "the security page with the error: an authenticator is already bound", content_type = "text/html")))]
pub async fn totp_setup_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    CsrfForm(_form): CsrfForm<EmptyForm>,
) -> Response {
    match bindings::begin_totp(&state, &user.account).await {
        Ok(_) => Redirect::to("/security/totp").into_response(),
        Err(err) => render_security(&state, &user, &csrf, None, Some(&err), None).await,
    }
}

/// The pending secret, if a setup is under way.
async fn pending_secret(
    state: &AppState,
    user: &Authenticated,
) -> Result<Option<String>, AppError> {
    Ok(state
        .store
        .totp_factor(user.account.id)
        .await?
        .filter(|t| !t.confirmed)
        .and_then(|t| {
            totp::open_secret(
                &state.config.keys.secrets,
                &user.account.id.to_string(),
                &t.secret,
            )
        }))
}

async fn render_totp_setup(
    state: &AppState,
    user: &Authenticated,
    csrf: &CsrfToken,
    error: Option<&AppError>,
) -> Response {
    let secret = match pending_secret(state, user).await {
        Ok(Some(secret)) => secret,
        Ok(None) => return Redirect::to("/security").into_response(),
        Err(err) => return views::error_page(&err, Some(layout(state, Some(user), csrf).await)),
    };
    let uri = totp::otpauth_uri(&secret, &user.account.email).unwrap_or_default();
    let grouped = secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let (message, help, status) = views::error_parts(error);
    let page = TotpSetupPage {
        layout: layout(state, Some(user), csrf).await,
        secret_grouped: grouped,
        otpauth_uri: uri,
        error: message,
        error_help: help,
    };
    views::render_with_status(status, &page)
}

#[utoipa::path(get, path = "/security/totp", tag = "pages", operation_id = "page_totp_setup", security(("session_cookie" = [])),
    responses((status = 200, description = "QR code, secret and the confirm form", content_type = "text/html"),
        (status = 303, description = "no setup under way: to the security page")))]
pub async fn totp_setup_page(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
) -> Response {
    render_totp_setup(&state, &user, &csrf, None).await
}

/// The pending secret as a QR code (SVG), served from our own origin.
#[utoipa::path(get, path = "/security/totp/qr.svg", tag = "pages", operation_id = "page_totp_qr", security(("session_cookie" = [])),
    responses((status = 200, description = "QR code", body = String, content_type = "image/svg+xml"),
        (status = 404, description = "no setup under way (empty body)")))]
pub async fn totp_qr(State(state): State<AppState>, PageUser(user): PageUser) -> Response {
    let secret = match pending_secret(&state, &user).await {
        Ok(Some(secret)) => secret,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(err) => return ApiError(err).into_response(),
    };
    let Ok(uri) = totp::otpauth_uri(&secret, &user.account.email) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(220, 220)
                .quiet_zone(true)
                .build();
            (
                [
                    (header::CONTENT_TYPE, "image/svg+xml"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                svg,
            )
                .into_response()
        }
        Err(err) => ApiError::internal(err).into_response(),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct CodeForm {
    #[serde(default)]
    #[schema(pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub code: String,
}

#[utoipa::path(post, path = "/security/totp/confirm", tag = "pages", operation_id = "page_totp_confirm_submit", security(("session_cookie" = [])),
    request_body(content = CodeForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "bound; to the security page (also when no setup is under way)"),
        (status = 400, description = "the setup page with the error", content_type = "text/html"),
        (status = 429, description = "the setup page: too many wrong codes", content_type = "text/html")))]
pub async fn totp_confirm_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Response {
    match factors::confirm_authenticator(&state, user.account.id, &form.code).await {
        Ok(()) => Redirect::to("/security?notice=totp_bound").into_response(),
        Err(err) => render_totp_setup(&state, &user, &csrf, Some(&err)).await,
    }
}

/// Codes of every bound factor, and the passkey assertion the page's script adds.
#[derive(Deserialize, ToSchema)]
pub struct FactorCodesForm {
    #[serde(default)]
    #[schema(nullable = false, pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub email_code: Option<String>,
    #[serde(default)]
    #[schema(nullable = false, pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub sms_code: Option<String>,
    #[serde(default)]
    #[schema(nullable = false, pattern = r"^\s*([0-9]\s*){6}$", example = "123456")]
    pub totp_code: Option<String>,
    /// Filled by the page's passkey script: the ceremony and the assertion (JSON).
    #[serde(default)]
    #[schema(nullable = false)]
    pub passkey_ceremony: Option<String>,
    #[serde(default)]
    #[schema(nullable = false)]
    pub passkey_credential: Option<String>,
}

impl FactorCodesForm {
    /// The codes, with the passkey assertion bound to this session.
    pub fn codes(self, user: &Authenticated) -> FactorCodes {
        let passkey = views::passkey_from_form(
            self.passkey_ceremony.as_deref(),
            self.passkey_credential.as_deref(),
        );
        FactorCodes {
            email_code: self.email_code,
            sms_code: self.sms_code,
            totp_code: self.totp_code,
            passkey: passkey.map(|p| p.proof(user)),
        }
    }
}

#[utoipa::path(post, path = "/security/totp/remove", tag = "pages", operation_id = "page_totp_remove_submit", security(("session_cookie" = [])),
    request_body(content = FactorCodesForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "removed"),
        (status = 400, description = "the page with the error: a code is wrong, expired, used or exhausted", content_type = "text/html"),
        (status = 404, description = "the page with the error: nothing to remove", content_type = "text/html"),
        (status = 422, description = "the page with the error: a code of a bound factor is missing", content_type = "text/html"),
        (status = 429, description = "the page with the error: too many wrong codes", content_type = "text/html")))]
pub async fn totp_remove_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<FactorCodesForm>,
) -> Response {
    match bindings::remove_totp(&state, &user.account, form.codes(&user)).await {
        Ok(()) => Redirect::to("/security?notice=totp_removed#main").into_response(),
        Err(err) => {
            let open = Some(Removal::Totp);
            render_security(&state, &user, &csrf, None, Some(&err), open).await
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct PhoneForm {
    #[serde(default)]
    pub phone: String,
}

#[utoipa::path(post, path = "/security/phone", tag = "pages", operation_id = "page_phone_submit", security(("session_cookie" = [])),
    request_body(content = PhoneForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "code sent; to the confirm page"),
        (status = 403, description = "the security page: the number belonged to a recently deleted account", content_type = "text/html"),
        (status = 409, description = "the security page: a phone is already bound", content_type = "text/html"),
        (status = 422, description = "the security page with the error", content_type = "text/html"),
        (status = 429, description = "the security page with the wait", content_type = "text/html"),
        (status = 503, description = "the security page: the SMS could not be sent", content_type = "text/html")))]
pub async fn phone_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<PhoneForm>,
) -> Response {
    match bindings::begin_phone(&state, &user.account, &form.phone).await {
        Ok(_) => Redirect::to("/security/phone/confirm").into_response(),
        Err(err) => render_security(&state, &user, &csrf, None, Some(&err), None).await,
    }
}

/// The number the latest phone-binding code went to.
async fn pending_phone(state: &AppState, user: &Authenticated) -> Result<Option<String>, AppError> {
    Ok(state
        .store
        .pending_destination(user.account.id, offboard_core::Purpose::PhoneBinding)
        .await?)
}

async fn render_phone_confirm(
    state: &AppState,
    user: &Authenticated,
    csrf: &CsrfToken,
    error: Option<&AppError>,
) -> Response {
    let phone = match pending_phone(state, user).await {
        Ok(Some(phone)) => phone,
        Ok(None) => return Redirect::to("/security").into_response(),
        Err(err) => return views::error_page(&err, Some(layout(state, Some(user), csrf).await)),
    };
    let (message, help, status) = views::error_parts(error);
    let page = PhoneConfirmPage {
        layout: layout(state, Some(user), csrf).await,
        phone,
        error: message,
        error_help: help,
    };
    views::render_with_status(status, &page)
}

#[utoipa::path(get, path = "/security/phone/confirm", tag = "pages", operation_id = "page_phone_confirm", security(("session_cookie" = [])),
    responses((status = 200, description = "enter the SMS code", content_type = "text/html"),
        (status = 303, description = "no phone binding under way: to the security page")))]
pub async fn phone_confirm_page(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
) -> Response {
    render_phone_confirm(&state, &user, &csrf, None).await
}

#[utoipa::path(post, path = "/security/phone/confirm", tag = "pages", operation_id = "page_phone_confirm_submit", security(("session_cookie" = [])),
    request_body(content = CodeForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "bound; or no binding under way: to the security page"),
        (status = 400, description = "the confirm page with the error", content_type = "text/html"),
        (status = 409, description = "the confirm page: the number is bound to another account", content_type = "text/html"),
        (status = 422, description = "the confirm page: the code is not 6 digits", content_type = "text/html"),
        (status = 429, description = "the confirm page: too many wrong codes", content_type = "text/html")))]
pub async fn phone_confirm_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Response {
    match bindings::confirm_phone(&state, &user.account, &form.code).await {
        Ok(()) => Redirect::to("/security?notice=phone_bound").into_response(),
        Err(err) => render_phone_confirm(&state, &user, &csrf, Some(&err)).await,
    }
}

#[utoipa::path(post, path = "/security/phone/remove", tag = "pages", operation_id = "page_phone_remove_submit", security(("session_cookie" = [])),
    request_body(content = FactorCodesForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "removed"),
        (status = 400, description = "the page with the error: a code is wrong, expired, used or exhausted", content_type = "text/html"),
        (status = 404, description = "the page with the error: nothing to remove", content_type = "text/html"),
        (status = 422, description = "the page with the error: a code of a bound factor is missing", content_type = "text/html"),
        (status = 429, description = "the page with the error: too many wrong codes", content_type = "text/html")))]
pub async fn phone_remove_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<FactorCodesForm>,
) -> Response {
    match bindings::remove_phone(&state, &user.account, form.codes(&user)).await {
        Ok(()) => Redirect::to("/security?notice=phone_removed#main").into_response(),
        Err(err) => {
            let open = Some(Removal::Phone);
            render_security(&state, &user, &csrf, None, Some(&err), open).await
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct SendCodeForm {
    #[serde(default)]
    #[schema(value_type = crate::vocabulary::ChannelName)]
    pub channel: String,
    #[serde(default)]
    #[schema(value_type = crate::vocabulary::ActionPurpose)]
    pub purpose: String,
    /// `totp` or `phone`: the removal form the code is for, shown open afterwards.
    #[serde(default)]
    #[schema(nullable = false)]
    pub open: Option<String>,
}

#[utoipa::path(post, path = "/security/codes", tag = "pages", operation_id = "page_security_codes_submit", security(("session_cookie" = [])),
    request_body(content = SendCodeForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "sent; back to the security page"),
        (status = 422, description = "the security page: an unknown channel or purpose", content_type = "text/html"),
        (status = 429, description = "the security page with the wait", content_type = "text/html"),
        (status = 503, description = "the security page: the code could not be sent", content_type = "text/html")))]
pub async fn codes_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<SendCodeForm>,
) -> Response {
    let open = form.open.as_deref().and_then(Removal::parse);
    match bindings::send_action_code(&state, &user.account, &form.channel, &form.purpose).await {
        Ok(_) => {
            let which = if form.channel == "sms" {
                "sms"
            } else {
                "email"
            };
            let target = match open {
                Some(r) => format!("&open={0}#remove-{0}", r.as_str()),
                None => String::new(),
            };
            Redirect::to(&format!("/security?notice=code_sent_{which}{target}")).into_response()
        }
        Err(err) => render_security(&state, &user, &csrf, None, Some(&err), open).await,
    }
}
