//! Reading evidence: envelopes, receipts, assets, snapshots, keys; enrolment tokens and tags.

use super::*;

pub(super) fn parse_digest(s: &str) -> Result<Digest, AppError> {
    s.parse().map_err(|e: vouch_evidence::DigestParseError| {
        AppError::Client(RejectReason::BadRequest, e.to_string())
    })
}

pub(super) async fn get_envelope(
    _reader: Reader,
    State(state): State<AppState>,
    Path(digest): Path<String>,
) -> Result<Response, AppError> {
    let digest = parse_digest(&digest)?;
    let bytes =
        state.store().envelope(digest).await?.ok_or_else(|| {
            AppError::Client(RejectReason::NotFound, format!("no snapshot {digest}"))
        })?;
    Ok((
        [(header::CONTENT_TYPE, "application/vnd.vouch.envelope+json")],
        bytes,
    )
        .into_response())
}

pub(super) async fn get_receipt(
    _reader: Reader,
    State(state): State<AppState>,
    Path(digest): Path<String>,
) -> Result<Response, AppError> {
    let digest = parse_digest(&digest)?;
    let bytes =
        state.store().receipt(digest).await?.ok_or_else(|| {
            AppError::Client(RejectReason::NotFound, format!("no snapshot {digest}"))
        })?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

pub(super) async fn list_assets(
    _reader: Reader,
    State(state): State<AppState>,
) -> Result<Response, AppError> {
    Ok(Json(state.store().assets().await?).into_response())
}

/// Most enrolment tokens one request issues.
pub const MAX_ENROLL_TOKENS: u32 = 10_000;

/// Most assets an agent declares at enrolment (it writes one host and one cluster at most).
pub(super) const MAX_DECLARED_ASSETS: usize = 16;

/// `POST /v1/enroll-tokens` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EnrollTokensBody {
    /// How many one-time tokens (1 to [`MAX_ENROLL_TOKENS`]).
    count: u32,
    /// How long each stays valid, in seconds (at most 30 days).
    ttl_secs: u64,
    /// What each token's agent may write: `["host"]`, `["aws-account:123456789012"]`…
    /// (see [`Scope::parse`]).
    scope: Vec<String>,
    /// A label to remember them by.
    #[serde(default)]
    label: String,
}

/// `POST /v1/enroll-tokens`: one-time enrolment tokens for a fleet (admin only), each shown
/// once: `{"tokens": [...]}`. What a provisioning system (or `vouch loadgen`) hands its agents.
pub(super) async fn enroll_tokens(
    admin: Admin,
    State(state): State<AppState>,
    body: Result<Json<EnrollTokensBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, AppError> {
    let bad = |message: String| {
        state.metrics().rejected(RejectReason::BadRequest);
        AppError::Client(RejectReason::BadRequest, message)
    };
    let Json(body) = body.map_err(|e| bad(e.body_text()))?;
    if !(1..=MAX_ENROLL_TOKENS).contains(&body.count) {
        return Err(bad(format!(
            "count {} is outside 1..={MAX_ENROLL_TOKENS}",
            body.count
        )));
    }
    if !(60..=30 * 86_400).contains(&body.ttl_secs) {
        return Err(bad(format!(
            "ttl_secs {} is outside 60..=2592000 (one minute to 30 days)",
            body.ttl_secs
        )));
    }
    let scope = Scope::parse(&body.scope).map_err(bad)?;
    let mut tokens = Vec::with_capacity(body.count as usize);
    for _ in 0..body.count {
        tokens.push(
            state
                .create_enroll_token(body.ttl_secs, &scope, &body.label, &admin.who)
                .await?,
        );
    }
    tracing::info!(count = body.count, ttl_secs = body.ttl_secs, %scope, by = %admin.who, "enrolment tokens issued");
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "tokens": tokens })),
    )
        .into_response())
}

/// `PUT /v1/assets/{kind}/{id}/tags` body: the asset's tags, replacing those it had.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TagsBody {
    tags: std::collections::BTreeMap<String, String>,
}

/// `PUT /v1/assets/{kind}/{id}/tags`: sets the organisation's tags on an asset (admin or
/// security lead), for filtering; the evidence is not touched.
pub(super) async fn set_tags(
    manager: Manager,
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    body: Result<Json<TagsBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, AppError> {
    let bad = |message: String| {
        state.metrics().rejected(RejectReason::BadRequest);
        AppError::Client(RejectReason::BadRequest, message)
    };
    let kind =
        AssetKind::parse(&kind).ok_or_else(|| bad(format!("unknown asset kind {kind:?}")))?;
    let Json(body) = body.map_err(|e| bad(e.body_text()))?;
    let problems = vouch_evidence::api::tag_problems(&body.tags);
    if !problems.is_empty() {
        return Err(bad(problems.join("; ")));
    }
    if !state
        .store()
        .set_asset_tags(kind, id.clone(), body.tags.clone())
        .await?
    {
        return Err(AppError::Client(
            RejectReason::NotFound,
            format!("no asset {kind} {id} is stored"),
        ));
    }
    tracing::info!(%kind, asset = %id, tags = ?body.tags, by = %manager.who, "asset tags set");
    state
        .audit(
            &manager.who,
            "asset.tags",
            &format!("{kind} {id}"),
            &format!("{:?}", body.tags),
        )
        .await?;
    Ok(Json(body.tags).into_response())
}

#[derive(Deserialize)]
pub(super) struct Page {
    #[serde(default)]
    after_sequence: u64,
    limit: Option<u32>,
}

pub(super) async fn list_snapshots(
    _reader: Reader,
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    Query(page): Query<Page>,
) -> Result<Response, AppError> {
    let kind = AssetKind::parse(&kind).ok_or_else(|| {
        AppError::Client(
            RejectReason::BadRequest,
            format!("unknown asset kind {kind:?} ({})", AssetKind::wire_names()),
        )
    })?;
    let limit = page.limit.unwrap_or(1000).clamp(1, 10_000);
    Ok(Json(
        state
            .store()
            .snapshots(kind, &id, page.after_sequence, limit)
            .await?,
    )
    .into_response())
}

/// `GET /v1/keys/rotations/{keyid}`: the rotation that retired key `keyid`, as its owner signed
/// it with that key and its successor (an agent, or the server for its receipts or verdicts
/// key). No token: it is a public statement whose signatures are its proof, and agents follow
/// the server's receipts key with it.
pub(super) async fn key_rotation(
    State(state): State<AppState>,
    axum::extract::Path(keyid): axum::extract::Path<String>,
) -> Result<Response, AppError> {
    let id: vouch_evidence::KeyId = keyid
        .parse()
        .map_err(|_| AppError::Client(RejectReason::BadRequest, "not a key id".into()))?;
    match state.rotation_of(&id) {
        Some(bytes) => Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response()),
        None => Err(AppError::Client(
            RejectReason::NotFound,
            format!("key {id} was not rotated"),
        )),
    }
}

/// `GET /v1/keys/status`: the signed key-status list of every key `GET /v1/keys` lists.
pub(super) async fn key_status(
    _reader: Reader,
    State(state): State<AppState>,
) -> Result<Response, AppError> {
    let envelope = crate::bundle::key_status(&state.keys_text(), state.receipt_key(), state.now())
        .map_err(AppError::Internal)?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        envelope.to_vec(),
    )
        .into_response())
}

pub(super) async fn keys(_reader: Reader, State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        state.keys_text(),
    )
}
