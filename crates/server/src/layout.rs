//! The one page layout every page starts from: who is signed in, the CSRF token its
//! forms carry, whether the dev tools show, and the deletion this session has under way
//! (every page then offers a way back into it).

use crate::http::csrf::CsrfToken;
use crate::views::Layout;
use offboard_app::deletion;
use offboard_app::sessions::Authenticated;
use offboard_app::AppState;

pub async fn layout(state: &AppState, user: Option<&Authenticated>, csrf: &CsrfToken) -> Layout {
    let mut layout = Layout::new(user, &csrf.0, state.config.is_dev());
    if let Some(user) = user {
        // The banner is a convenience: a failed read leaves it out rather than failing
        // the page the person asked for.
        match deletion::underway(state, user).await {
            Ok(Some(underway)) => {
                layout.deletion_underway = Some(crate::views::UnderwayView {
                    href: format!("/deletion/{}", underway.flow_id),
                    step: underway.step.label().to_owned(),
                });
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(code = err.code, "could not read the deletion under way"),
        }
    }
    layout
}

/// The layout of a page no account holder is signed in to (sign-up, the console).
pub fn signed_out_layout(state: &AppState, csrf: &CsrfToken) -> Layout {
    Layout::new(None, &csrf.0, state.config.is_dev())
}
