//! The whole application as one axum `Router`: the API ([`crate::http`]) and the dashboard's
//! pages ([`crate::web`]), behind the same middleware. Tests call it with `oneshot`, no socket;
//! [`crate::serve::start`] runs it on one.

use axum::Router;

use crate::state::AppState;

/// The router of the API and the dashboard.
pub fn app(state: AppState) -> Router {
    crate::http::serve(crate::http::routes().merge(crate::web::routes()), state)
}
