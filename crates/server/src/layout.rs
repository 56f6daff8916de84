//! The one page layout every page starts from: who is signed in, the CSRF token its
//! forms carry, and whether the dev tools show.

use crate::http::csrf::CsrfToken;
use crate::views::Layout;
use offboard_app::sessions::Authenticated;
use offboard_app::AppState;

pub fn layout(state: &AppState, user: Option<&Authenticated>, csrf: &CsrfToken) -> Layout {
    Layout::new(user, &csrf.0, state.config.is_dev())
}
