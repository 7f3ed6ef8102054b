//! `/metrics`: on the HTTPS listener, or on its own address (optionally behind a token).

use super::*;

/// `GET /metrics` on the HTTPS listener: 404 when `[metrics] listen` gives it its own address.
pub(super) async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if !state.metrics_access().on_main_listener {
        return Err(AppError::Client(
            RejectReason::NotFound,
            "/metrics is served on its own address ([metrics] listen)".into(),
        ));
    }
    scrape(State(state), headers).await
}

/// The router of the separate metrics address (`[metrics] listen`): `/metrics` only.
pub fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

/// `/metrics`: counters kept in memory and gauges refreshed in the background (the
/// object-storage backlog every 10 s): a scrape costs no query, however often it comes. With
/// `[metrics] token_file`, only a scrape presenting that bearer token is answered.
pub(super) async fn scrape(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if let Some(want) = state.metrics_access().token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| Digest::of(t.trim().as_bytes()));
        // Compared as SHA-256 digests: how long a comparison takes tells nothing usable
        // about the token itself.
        if given != Some(want) {
            state.metrics().rejected(RejectReason::Unauthorized);
            return Err(AppError::Client(
                RejectReason::Unauthorized,
                "/metrics needs the scrape token (Authorization: Bearer …)".into(),
            ));
        }
    }
    let mut text = state.metrics().render();
    if state.store().objects().is_some()
        && let Some(n) = state.metrics().objects_pending()
    {
        text.push_str(&format!(
            "# HELP vouch_objects_pending Envelopes held in the database, not yet moved to object storage (refreshed every 10 s).\n# TYPE vouch_objects_pending gauge\nvouch_objects_pending {n}\n"
        ));
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}
