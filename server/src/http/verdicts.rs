//! The feed of signed verdicts: `GET /v1/verdicts?after=<cursor>&limit=<n>` answers the
//! evaluations made after the cursor, oldest first, each as an in-toto statement in a DSSE
//! envelope signed with the server's verdict key, and the cursor of the last one (to
//! pass as `after` for the next page; absent when the page is the last).

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use vouch_evidence::api::RejectReason;
use vouch_evidence::dsse::Envelope;
use vouch_evidence::{Digest, Timestamp};

use crate::http::{AppError, Reader};
use crate::state::AppState;

/// The most verdicts a page holds (and the default).
pub const MAX_PAGE: u32 = 500;

/// The routes of the feed.
pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/verdicts", get(feed))
}

/// `GET /v1/verdicts` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedQuery {
    after: Option<String>,
    limit: Option<u32>,
}

/// One signed verdict.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedEntry {
    /// The snapshot judged.
    pub snapshot: Digest,
    /// The pack that judged.
    pub pack: String,
    /// The statement, signed.
    pub envelope: Envelope,
}

/// A page of the feed.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedPage {
    /// The verdicts, oldest first.
    pub verdicts: Vec<FeedEntry>,
    /// The cursor to ask the next page with; none after the last.
    pub next: Option<String>,
}

/// A cursor: `<evaluated_at micros>.<snapshot digest>.<pack digest>`.
fn parse_cursor(text: &str) -> Option<(Timestamp, Digest, String)> {
    let mut parts = text.splitn(3, '.');
    let at = Timestamp::from_unix_micros(parts.next()?.parse().ok()?)?;
    let digest = parts.next()?.parse().ok()?;
    let pack = parts.next()?;
    (!pack.is_empty() && pack.len() <= 64 && pack.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| (at, digest, pack.to_string()))
}

async fn feed(
    _: Reader,
    State(state): State<AppState>,
    Query(q): Query<FeedQuery>,
) -> Result<Json<FeedPage>, AppError> {
    let after = match &q.after {
        Some(text) => Some(parse_cursor(text).ok_or_else(|| {
            AppError::Client(
                RejectReason::BadRequest,
                "after: not a cursor of this feed (<micros>.<snapshot>.<pack>)".into(),
            )
        })?),
        None => None,
    };
    let limit = q.limit.unwrap_or(MAX_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::Client(
            RejectReason::BadRequest,
            format!("limit: {limit} is outside 1..={MAX_PAGE}"),
        ));
    }
    let rows = state.store().evaluations_after(after, limit).await?;
    let full = rows.len() == limit as usize;
    let signer = state.verdicts();
    let mut verdicts = Vec::with_capacity(rows.len());
    let mut next = None;
    for (snapshot, evaluation) in rows {
        next = Some(format!(
            "{}.{}.{}",
            evaluation.evaluated_at.unix_micros(),
            snapshot.digest,
            evaluation.pack_digest
        ));
        let pack = evaluation.pack_digest.clone();
        let envelope = signer
            .sign(state.store().as_ref(), &snapshot, evaluation)
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        verdicts.push(FeedEntry {
            snapshot: snapshot.digest,
            pack,
            envelope,
        });
    }
    Ok(Json(FeedPage {
        verdicts,
        next: if full { next } else { None },
    }))
}
