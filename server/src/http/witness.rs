//! The witness API (C2SP `tlog-witness`), when `[witness]` names logs to follow:
//! `POST /v1/witness/add-checkpoint` (no token: the log's signature on the checkpoint is the
//! authentication) and `GET /v1/witness/key` (the witness's verifier key). Each refusal has the
//! protocol's status: 400, 403, 404, 409 (the body the size last cosigned, `text/x.tlog.size`)
//! or 422.

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use vouch_evidence::cosign::WitnessRefusal;

use crate::state::AppState;
use crate::witness::WitnessError;

/// The largest request: a note and 63 proof lines.
const MAX_REQUEST_BYTES: usize = 128 * 1024;

/// The routes of the witness.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/witness/add-checkpoint",
            post(add_checkpoint).layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
        )
        .route("/v1/witness/key", get(key))
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn key(State(state): State<AppState>) -> Response {
    match state.witness() {
        Some(w) => text(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            format!("{}\n", w.verifier()),
        ),
        None => text(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "this server witnesses no log\n".into(),
        ),
    }
}

async fn add_checkpoint(State(state): State<AppState>, body: String) -> Response {
    let Some(witness) = state.witness() else {
        return text(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "this server witnesses no log\n".into(),
        );
    };
    let time = u64::try_from(state.now().unix_micros() / 1_000_000).unwrap_or(0);
    match witness.add(&body, time).await {
        Ok(lines) => text(StatusCode::OK, "text/plain; charset=utf-8", lines),
        Err(WitnessError::Refused(WitnessRefusal::Conflict(size))) => text(
            StatusCode::CONFLICT,
            "text/x.tlog.size",
            format!("{size}\n"),
        ),
        Err(WitnessError::Refused(r)) => {
            tracing::warn!(refusal = %r, "witness: checkpoint not cosigned");
            let status = StatusCode::from_u16(r.status()).expect("a valid status");
            text(status, "text/plain; charset=utf-8", format!("{r}\n"))
        }
        Err(e @ WitnessError::Io(_)) => {
            tracing::error!(error = %e, "witness: the record could not be kept");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain; charset=utf-8",
                "internal error\n".into(),
            )
        }
    }
}
