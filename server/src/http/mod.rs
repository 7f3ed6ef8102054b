//! The HTTP API: [`routes`] are its routes and [`serve`] the middleware around them
//! ([`crate::app`] puts them and the dashboard's pages together). Here: the routes, the error answer and the middleware (security headers, same-origin writes,
//! request traces); the routes live by audience in [`agents`] (enrolment, submission),
//! [`evidence`] (reads, tokens, tags), [`sample`] (samples, bundles), [`metrics`], with the
//! callers' identities in [`extract`].

use std::net::SocketAddr;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use vouch_evidence::api::{
    EnrollRequest, EnrollResponse, ErrorBody, RejectReason, SampleQuery, SampleResponse,
    SubmitResponse,
};
use vouch_evidence::dsse::Envelope;
use vouch_evidence::{AssetKind, Digest, PublicKey, Receipt};

use crate::auth::{Role, hash_token};
use crate::bundle;
use crate::ingest::{self, Refusal};
use crate::scope::{BindError, Scope};
use crate::state::{AppState, TokenRefusal};
use crate::store::{AgentRecord, IngestOutcome, NewSnapshot, Rejection, StoreError};

pub mod access;
mod agents;
pub mod controls;
mod evidence;
mod extract;
pub mod log;
pub mod manual;
mod metrics;
pub mod pack;
pub mod retention;
mod sample;
pub mod verdicts;
pub mod witness;

use agents::*;
pub use evidence::*;
pub use extract::*;
pub use metrics::*;
pub use sample::*;

/// The client's address, put in each request's extensions by the connection loop.
#[derive(Clone, Copy, Debug)]
pub struct RemoteAddr(pub SocketAddr);

/// An error answer: the client's mistake (its own 4xx with a code) or an internal failure
/// (logged in full, answered as a bare 500).
#[derive(Debug)]
pub enum AppError {
    /// The client's mistake.
    Client(RejectReason, String),
    /// Too many requests: `429 rate_limited` with `Retry-After` in seconds.
    RateLimited(u64, String),
    /// Ours; the detail is logged, never sent.
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            e @ StoreError::Expired { .. } => AppError::Client(RejectReason::Gone, e.to_string()),
            e => AppError::Internal(e.to_string()),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            AppError::RateLimited(secs, message) => {
                let body = ErrorBody {
                    error: RejectReason::RateLimited.as_str().into(),
                    message,
                };
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, secs.to_string())],
                    Json(body),
                )
                    .into_response();
            }
            AppError::Client(reason, message) => (
                StatusCode::from_u16(reason.http_status()).expect("valid status"),
                ErrorBody {
                    error: reason.as_str().into(),
                    message,
                },
            ),
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorBody {
                        error: "internal".into(),
                        message: "internal error".into(),
                    },
                )
            }
        };
        (status, Json(body)).into_response()
    }
}

/// The routes of the API (the dashboard's pages are [`crate::web::routes`]; [`crate::app`]
/// serves both).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .route("/v1/enroll", post(enroll))
        .route("/v1/agents/rotate-key", post(rotate_key))
        .route("/v1/enroll-tokens", post(enroll_tokens))
        .route("/v1/snapshots", post(submit))
        .route("/v1/snapshots/{digest}", get(get_envelope))
        .route("/v1/snapshots/{digest}/receipt", get(get_receipt))
        .route("/v1/assets", get(list_assets))
        .route("/v1/assets/{kind}/{id}/snapshots", get(list_snapshots))
        .route("/v1/assets/{kind}/{id}/tags", axum::routing::put(set_tags))
        .route("/v1/keys", get(keys))
        .route("/v1/keys/status", get(key_status))
        .route("/v1/keys/rotations/{keyid}", get(key_rotation))
        .route("/v1/sample", get(sample))
        .route("/v1/export", get(export))
        .merge(access::routes())
        .merge(manual::routes())
        .merge(retention::routes())
        .merge(controls::routes())
        .merge(pack::routes())
        .merge(log::routes())
        .merge(witness::routes())
        .merge(verdicts::routes())
}

/// `routes` made a service: the answer to an unknown route, and the middleware every answer
/// goes through (same-origin writes, security headers, request traces).
pub fn serve(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .fallback(|| async { AppError::Client(RejectReason::NotFound, "no such route".into()) })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            same_origin_writes,
        ))
        .layer(middleware::map_response(security_headers))
        .layer(middleware::from_fn(trace_request))
        .with_state(state)
}

/// Headers on every answer: no script may run and no other site may frame a page (the
/// dashboard has no script), no referrer leaves for another site (`same-origin`: a browser then still sends `Origin` on its
/// own posts), no type is sniffed.
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("DENY"),
    );
    h.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    response
}

/// Refuses a state-changing request a browser sent from another site: `Sec-Fetch-Site` other
/// than `same-origin` or `none`, or an `Origin` other than this server's own. (Agents and
/// API clients send neither header; browsers always send one on a cross-site post.)
async fn same_origin_writes(State(state): State<AppState>, req: Request, next: Next) -> Response {
    use axum::http::Method;
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let fetch_site = headers
        .get("sec-fetch-site")
        .map(|v| v.to_str().unwrap_or("invalid"));
    if let Some(site) = fetch_site
        && !matches!(site, "same-origin" | "none")
    {
        return cross_site_refusal(&state, &format!("a {site} request may not change anything"));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| req.uri().authority().map(|a| a.as_str()));
        let own = host.map(|h| format!("https://{h}"));
        if own.as_deref() != Some(origin.to_str().unwrap_or("invalid")) {
            return cross_site_refusal(
                &state,
                &format!(
                    "origin {:?} is not this server's",
                    vouch_evidence::limits::truncate_echo(origin.to_str().unwrap_or("(not text)"))
                ),
            );
        }
    }
    next.run(req).await
}

fn cross_site_refusal(state: &AppState, message: &str) -> Response {
    state.metrics().rejected(RejectReason::CrossSite);
    AppError::Client(RejectReason::CrossSite, message.to_string()).into_response()
}

/// Logs every request with its method, path, status and latency: at `debug` when it succeeded
/// (ingest runs at thousands per second), `info` for a client error, `error` for a server error.
async fn trace_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1e3;
    match status {
        500.. => tracing::error!(%method, path, status, latency_ms, "request"),
        400..500 => tracing::info!(%method, path, status, latency_ms, "request"),
        _ => tracing::debug!(%method, path, status, latency_ms, "request"),
    }
    response
}
