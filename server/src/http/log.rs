//! The API of the transparency log, for any reader of evidence: `GET /v1/log/checkpoint` (the
//! signed checkpoint of the current tree head, a C2SP checkpoint note, with the cosignatures
//! of the log's witnesses once they are in), `GET /v1/log/checkpoint/witnessed` (the newest
//! checkpoint a quorum of them cosigned), `GET /v1/log/timestamp[?covering=N]` (the RFC 3161
//! time-stamp of the first checkpoint holding leaf `N`, the newest by default), `GET
//! /v1/log/key` (the
//! log's verifier key), `GET /v1/log/inclusion?digest=…[&size=N]` (a snapshot's leaf index and
//! its inclusion proof in the tree of `size` leaves, the current one by default, with that
//! tree's checkpoint when it is the current one) and `GET /v1/log/consistency?from=M[&to=N]`
//! (the proof that the tree of `M` leaves is a prefix of the tree of `N`).

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use vouch_evidence::Digest;
use vouch_evidence::api::RejectReason;
use vouch_evidence::logproofs::LogProofs;
pub use vouch_evidence::logproofs::{ConsistencyProof, InclusionProof};
use vouch_evidence::tlog;

use crate::http::{AppError, Reader};
use crate::state::AppState;

/// The routes of the log.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/log/checkpoint", get(checkpoint))
        .route("/v1/log/checkpoint/witnessed", get(witnessed))
        .route("/v1/log/timestamp", get(timestamp))
        .route("/v1/log/key", get(key))
        .route("/v1/log/inclusion", get(inclusion))
        .route("/v1/log/consistency", get(consistency))
}

fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

fn bad(message: String) -> AppError {
    AppError::Client(RejectReason::BadRequest, message)
}

async fn checkpoint(_: Reader, State(state): State<AppState>) -> Result<Response, AppError> {
    Ok(text(state.checkpoint().await?.1))
}

async fn witnessed(_: Reader, State(state): State<AppState>) -> Result<Response, AppError> {
    match state.witnessed().await? {
        Some((_, note)) => Ok(text(note)),
        None => Err(AppError::Client(
            RejectReason::NotFound,
            "no checkpoint of this log has been cosigned by a quorum of its witnesses yet".into(),
        )),
    }
}

/// `GET /v1/log/timestamp` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TimestampQuery {
    covering: Option<u64>,
}

async fn timestamp(
    _: Reader,
    State(state): State<AppState>,
    Query(q): Query<TimestampQuery>,
) -> Result<Json<vouch_verify::timestamp::TimestampProof>, AppError> {
    match crate::timestamps::proof(&**state.store(), &state.log(), q.covering).await? {
        Some(p) => Ok(Json(p)),
        None => Err(AppError::Client(
            RejectReason::NotFound,
            match q.covering {
                Some(i) => format!("no time-stamped checkpoint holds leaf {i} yet"),
                None => "no checkpoint of this log has been time-stamped".into(),
            },
        )),
    }
}

async fn key(_: Reader, State(state): State<AppState>) -> Response {
    text(format!("{}\n", state.log().verifier()))
}

/// The log's proofs for a stored snapshot, for the agent that sent it and has seen the tree
/// of `seen` leaves: the current checkpoint, the snapshot's inclusion in it, and the
/// consistency of the tree the agent saw with it (none for 0, or for a size the log no longer
/// reaches: the agent then finds the log shrank).
pub(crate) async fn proofs_for(
    state: &AppState,
    digest: Digest,
    seen: u64,
) -> Result<LogProofs, AppError> {
    let index =
        state.store().log_index(digest).await?.ok_or_else(|| {
            AppError::Internal(format!("stored snapshot {digest} is not in the log"))
        })?;
    let (head, note) = state.checkpoint_covering((index + 1).max(seen)).await?;
    let inclusion = tlog::inclusion_ranges(index, head.size)
        .map_err(|e| AppError::Internal(format!("inclusion of {digest}: {e}")))?;
    let consistency = if seen == 0 || seen > head.size {
        Vec::new()
    } else {
        tlog::consistency_ranges(seen, head.size)
            .map_err(|e| AppError::Internal(format!("consistency from {seen}: {e}")))?
    };
    // Both proofs in one lookup: this runs on every delivery of an agent that keeps the log.
    let mut hashes: Vec<String> = state
        .store()
        .log_proof(&[inclusion.as_slice(), consistency.as_slice()].concat())
        .await?
        .iter()
        .map(|h| B64.encode(h))
        .collect();
    let consistency = hashes.split_off(inclusion.len());
    Ok(LogProofs {
        key: state.log().verifier().to_string(),
        index,
        checkpoint: note,
        inclusion: hashes,
        consistency,
    })
}

/// `GET /v1/log/inclusion` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionQuery {
    digest: String,
    size: Option<u64>,
}

async fn inclusion(
    _: Reader,
    State(state): State<AppState>,
    Query(q): Query<InclusionQuery>,
) -> Result<Json<InclusionProof>, AppError> {
    let digest: Digest = q.digest.parse().map_err(|e| bad(format!("digest: {e}")))?;
    let index = state.store().log_index(digest).await?.ok_or_else(|| {
        AppError::Client(
            RejectReason::NotFound,
            format!("no snapshot {digest} in the log"),
        )
    })?;
    let (head, note) = state.checkpoint().await?;
    let size = q.size.unwrap_or(head.size);
    if size > head.size {
        return Err(bad(format!(
            "the log holds {} leaves, not {size}",
            head.size
        )));
    }
    let ranges = tlog::inclusion_ranges(index, size).map_err(|e| bad(e.to_string()))?;
    let proof = state.store().log_proof(&ranges).await?;
    Ok(Json(InclusionProof {
        digest,
        index,
        size,
        proof: proof.iter().map(|h| B64.encode(h)).collect(),
        checkpoint: (size == head.size).then_some(note),
    }))
}

/// `GET /v1/log/consistency` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyQuery {
    from: u64,
    to: Option<u64>,
}

async fn consistency(
    _: Reader,
    State(state): State<AppState>,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Json<ConsistencyProof>, AppError> {
    let (head, note) = state.checkpoint().await?;
    let to = q.to.unwrap_or(head.size);
    if to > head.size {
        return Err(bad(format!("the log holds {} leaves, not {to}", head.size)));
    }
    let ranges = tlog::consistency_ranges(q.from, to).map_err(|e| bad(e.to_string()))?;
    let proof = state.store().log_proof(&ranges).await?;
    Ok(Json(ConsistencyProof {
        from: q.from,
        to,
        proof: proof.iter().map(|h| B64.encode(h)).collect(),
        checkpoint: (to == head.size).then_some(note),
    }))
}
