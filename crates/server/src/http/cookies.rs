//! Cookie names and attributes. Outside dev mode cookies carry the `__Host-` prefix,
//! which browsers accept only with `Secure`, `Path=/` and no `Domain`, so a sibling
//! subdomain cannot plant or overwrite them.

use axum_extra::extract::cookie::{Cookie, SameSite};

pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-offboard_session"
    } else {
        "offboard_session"
    }
}

/// The support console's agent session. A name of its own, read only by the console's
/// extractors (`support::PageAgent`), so an agent session and a user session held by the
/// same browser never stand in for each other.
pub fn agent_session_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-offboard_agent_session"
    } else {
        "offboard_agent_session"
    }
}

pub fn csrf_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-offboard_csrf"
    } else {
        "offboard_csrf"
    }
}

pub fn build(
    name: &'static str,
    value: String,
    secure: bool,
    same_site: SameSite,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .secure(secure)
        .same_site(same_site)
        .path("/")
        .build()
}

pub fn removal(name: &'static str, secure: bool) -> Cookie<'static> {
    let mut cookie = build(name, String::new(), secure, SameSite::Lax);
    cookie.make_removal();
    cookie
}
