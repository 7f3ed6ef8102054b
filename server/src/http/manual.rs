//! Manual evidence over the API: signed attestations for organisational controls.
//!
//! `POST /v1/attestations` (admin, security lead) takes who attests what about which control,
//! until when, and optionally a document (base64); the server checks the control against the
//! catalogs, signs the attestation with its key (DSSE, like a receipt) and keeps the envelope and
//! the document verbatim. `GET /v1/attestations[?control=]` lists them, `GET
//! /v1/attestations/{digest}` answers the envelope byte for byte and `.../document` the document,
//! for any reader of evidence. An attestation past its `valid_until` no longer supports its
//! control, which then shows as stale.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use vouch_evidence::api::RejectReason;
use vouch_evidence::{Attestation, Digest, DocumentRef, Timestamp};
use vouch_policies::ControlId;

use crate::http::{AppError, Manager, Reader};
use crate::state::{AppState, now};
use crate::store::AttestationRecord;

/// The largest document accepted, in bytes (before base64).
pub const MAX_DOCUMENT_BYTES: usize = 2 * 1024 * 1024;

/// The body of `POST /v1/attestations`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationRequest {
    /// The control, qualified (`iso27001-2022:A.5.1`).
    pub control: String,
    /// What is attested.
    pub statement: String,
    /// Who attests.
    pub attested_by: String,
    /// Until when it holds (RFC 3339).
    pub valid_until: Timestamp,
    /// The attached document's file name.
    #[serde(default)]
    pub document_name: Option<String>,
    /// The attached document, base64.
    #[serde(default)]
    pub document_base64: Option<String>,
}

/// One attestation in a listing, and the answer to a POST.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct AttestationSummary {
    /// Digest of its payload.
    pub digest: Digest,
    /// The control.
    pub control: String,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// Until when it holds.
    pub valid_until: Timestamp,
    /// Whether it holds now.
    pub current: bool,
}

/// The routes of this module.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/v1/attestations", get(list).post(add))
        .route("/v1/attestations/{digest}", get(envelope))
        .route("/v1/attestations/{digest}/document", get(document))
}

fn bad(state: &AppState, message: String) -> AppError {
    state.metrics().rejected(RejectReason::BadRequest);
    AppError::Client(RejectReason::BadRequest, message)
}

async fn add(
    State(state): State<AppState>,
    manager: Manager,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let req: AttestationRequest = serde_json::from_slice(&body)
        .map_err(|e| bad(&state, format!("not an attestation request: {e}")))?;
    let id: ControlId = req.control.parse().map_err(|e: String| bad(&state, e))?;
    if state.catalogs().control(&id).is_none() {
        return Err(bad(&state, format!("control {id} is in no loaded catalog")));
    }
    let document = match (&req.document_name, &req.document_base64) {
        (None, None) => None,
        (Some(name), Some(b64)) => {
            let bytes = B64
                .decode(b64)
                .map_err(|e| bad(&state, format!("document_base64: {e}")))?;
            if bytes.len() > MAX_DOCUMENT_BYTES {
                return Err(bad(
                    &state,
                    format!(
                        "the document has {} bytes; at most {MAX_DOCUMENT_BYTES} are accepted",
                        bytes.len()
                    ),
                ));
            }
            let name = name.trim();
            if name.is_empty() || name.contains(['/', '\\']) || name.chars().any(char::is_control) {
                return Err(bad(
                    &state,
                    "document_name must be a plain file name".into(),
                ));
            }
            Some((name.to_string(), bytes))
        }
        _ => {
            return Err(bad(
                &state,
                "document_name and document_base64 go together".into(),
            ));
        }
    };
    let attestation = Attestation {
        control: id.to_string(),
        statement: req.statement.trim().to_string(),
        attested_by: req.attested_by.trim().to_string(),
        recorded_by: manager.who.clone(),
        recorded_at: now(),
        valid_until: req.valid_until,
        document: document.as_ref().map(|(name, bytes)| DocumentRef {
            name: name.clone(),
            size: bytes.len() as u64,
            sha256: Digest::of(bytes),
        }),
    };
    attestation
        .validate()
        .map_err(|e| bad(&state, e.to_string()))?;
    let (envelope, digest) = attestation.sign(state.receipt_key());
    state
        .store()
        .add_attestation(
            AttestationRecord {
                digest,
                control: attestation.control.clone(),
                recorded_at: attestation.recorded_at,
                valid_until: attestation.valid_until,
                envelope: envelope.to_vec(),
            },
            document.map(|(_, bytes)| bytes),
        )
        .await?;
    crate::http::controls::policies_touched(&state);
    tracing::info!(%digest, control = %attestation.control, by = %manager.who, "attestation recorded");
    state
        .audit(
            &manager.who,
            "attestation.add",
            &format!("attestation {}", &digest.to_hex()[..12]),
            &format!(
                "{} attested by {:?} until {}",
                attestation.control, attestation.attested_by, attestation.valid_until
            ),
        )
        .await?;
    let summary = AttestationSummary {
        digest,
        control: attestation.control,
        recorded_at: attestation.recorded_at,
        valid_until: attestation.valid_until,
        current: true,
    };
    Ok((StatusCode::CREATED, Json(summary)).into_response())
}

/// `?control=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    control: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    _reader: Reader,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<AttestationSummary>>, AppError> {
    let at = now();
    let rows = state.store().attestations(q.control).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| AttestationSummary {
                current: r.recorded_at <= at && at < r.valid_until,
                digest: r.digest,
                control: r.control,
                recorded_at: r.recorded_at,
                valid_until: r.valid_until,
            })
            .collect(),
    ))
}

fn parse_digest(state: &AppState, s: &str) -> Result<Digest, AppError> {
    s.parse().map_err(|e| bad(state, format!("digest: {e}")))
}

fn not_found(what: &str) -> AppError {
    AppError::Client(RejectReason::NotFound, format!("no such {what}"))
}

async fn envelope(
    State(state): State<AppState>,
    _reader: Reader,
    Path(digest): Path<String>,
) -> Result<Response, AppError> {
    let digest = parse_digest(&state, &digest)?;
    let row = state
        .store()
        .attestations(None)
        .await?
        .into_iter()
        .find(|r| r.digest == digest)
        .ok_or_else(|| not_found("attestation"))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], row.envelope).into_response())
}

async fn document(
    State(state): State<AppState>,
    _reader: Reader,
    Path(digest): Path<String>,
) -> Result<Response, AppError> {
    let digest = parse_digest(&state, &digest)?;
    let bytes = state
        .store()
        .attestation_document(digest)
        .await?
        .ok_or_else(|| not_found("document"))?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}
