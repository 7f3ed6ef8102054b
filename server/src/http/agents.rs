//! The routes agents call: enrolment and snapshot submission, with the body read under its
//! limits and every refusal counted.

use super::*;

pub(super) async fn enroll(
    State(state): State<AppState>,
    remote: Option<Extension<RemoteAddr>>,
    body: Bytes,
) -> Result<Response, AppError> {
    if let Some(Extension(RemoteAddr(addr))) = remote
        && let Err(wait) = state.guards().enroll.take(addr.ip())
    {
        return Err(rate_limited(
            &state,
            &addr.to_string(),
            wait,
            "too many enrolment attempts from this address",
        ));
    }
    let bad = |reason, msg: String| {
        state.metrics().rejected(reason);
        AppError::Client(reason, msg)
    };
    let req: EnrollRequest = serde_json::from_slice(&body).map_err(|e| {
        bad(
            RejectReason::Malformed,
            format!("not an enrolment request: {e}"),
        )
    })?;
    let public_key = PublicKey::from_base64(&req.public_key)
        .map_err(|e| bad(RejectReason::BadRequest, format!("public_key: {e}")))?;
    let name = req.name.trim();
    if name.is_empty() || name.len() > 253 || name.chars().any(char::is_control) {
        return Err(bad(
            RejectReason::BadRequest,
            "name must be 1 to 253 printable characters".into(),
        ));
    }
    if req.assets.len() > MAX_DECLARED_ASSETS {
        return Err(bad(
            RejectReason::BadRequest,
            format!("an agent declares at most {MAX_DECLARED_ASSETS} assets"),
        ));
    }
    let token_hash = hash_token(&req.token);
    // A usable token's scope and the agent's declaration make its binding; the token is
    // checked again as it is consumed, atomically, below.
    let Some(scope) = state
        .store()
        .enroll_token_scope(token_hash, state.now())
        .await?
    else {
        return Err(bad(
            RejectReason::BadToken,
            StoreError::BadToken.to_string(),
        ));
    };
    let binding = match scope.bind(&req.assets) {
        Ok(b) => b,
        Err(e @ BindError::OutOfScope(_)) => {
            return Err(bad(RejectReason::OutOfScope, e.to_string()));
        }
        Err(e @ BindError::Invalid(_)) => {
            return Err(bad(RejectReason::BadRequest, e.to_string()));
        }
    };
    let mut id = [0u8; 8];
    getrandom::fill(&mut id).map_err(|e| AppError::Internal(e.to_string()))?;
    let agent = AgentRecord {
        agent_id: format!("agt_{}", hex::encode(id)),
        public_key,
        name: name.to_string(),
        enrolled_at: state.now(),
        binding,
        revoked: None,
    };
    match state.store().enroll(token_hash, agent.clone()).await {
        Ok(()) => {}
        Err(StoreError::BadToken) => {
            return Err(bad(
                RejectReason::BadToken,
                StoreError::BadToken.to_string(),
            ));
        }
        Err(e @ StoreError::KeyTaken(_)) => {
            return Err(bad(RejectReason::BadRequest, e.to_string()));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(agent_id = %agent.agent_id, keyid = %agent.keyid(), name = %agent.name, binding = %agent.binding, "agent enrolled");
    state.metrics().enrolled();
    let response = EnrollResponse {
        agent_id: agent.agent_id.clone(),
        keyid: agent.keyid().to_string(),
        server_key: state.receipt_public_key().to_base64(),
    };
    state.add_agent(agent);
    Ok((StatusCode::CREATED, Json(response)).into_response())
}

/// `POST /v1/agents/rotate-key`: an agent hands its chains from its key to a new one. The
/// body is a key rotation ([`KeyRotation`]) signed by the old key and the new one: the
/// signatures are the authentication. The change is kept with the signed rotation; from then
/// on only the new key is taken (`key_rotated` for the old one). A retry of a rotation already
/// made answers the same.
pub(super) async fn rotate_key(
    State(state): State<AppState>,
    remote: Option<Extension<RemoteAddr>>,
    body: Bytes,
) -> Result<Response, AppError> {
    use vouch_evidence::rotation::{KEY_ROTATION_PAYLOAD_TYPE, KeyRotation, RotationError};
    use vouch_store::RotateOutcome;
    if let Some(Extension(RemoteAddr(addr))) = remote
        && let Err(wait) = state.guards().refusals.check(addr.ip())
    {
        return Err(rate_limited(
            &state,
            &addr.to_string(),
            wait,
            "too many refused requests from this address",
        ));
    }
    let bad = |reason, msg: String| {
        state.metrics().rejected(reason);
        AppError::Client(reason, msg)
    };
    let envelope = vouch_evidence::dsse::Envelope::from_slice(&body)
        .map_err(|e| bad(RejectReason::Malformed, format!("not a DSSE envelope: {e}")))?;
    if envelope.payload_type != KEY_ROTATION_PAYLOAD_TYPE {
        return Err(bad(
            RejectReason::PayloadType,
            format!("the payload type must be {KEY_ROTATION_PAYLOAD_TYPE}"),
        ));
    }
    envelope
        .within_signature_limit(vouch_evidence::limits::MAX_SIGNATURES)
        .map_err(|e| bad(RejectReason::LimitExceeded, e.to_string()))?;
    let rotation = KeyRotation::open(&envelope).map_err(|e| match e {
        RotationError::Signature(..) => bad(RejectReason::BadSignature, e.to_string()),
        other => bad(RejectReason::Malformed, other.to_string()),
    })?;
    let (old, new) = (
        rotation
            .old()
            .map_err(|e| bad(RejectReason::Malformed, e.to_string()))?,
        rotation
            .new_public()
            .map_err(|e| bad(RejectReason::Malformed, e.to_string()))?,
    );
    let now = state.now();
    let skew = state.inner.limits.clock_skew_secs as i64 * 1_000_000;
    if rotation.at.unix_micros() > now.unix_micros() + skew {
        return Err(bad(
            RejectReason::ClockSkew,
            format!("the rotation is dated {}, ahead of the server", rotation.at),
        ));
    }
    let outcome = match state
        .store()
        .rotate_agent_key(&rotation.owner, &old, &new, now, body.to_vec())
        .await
    {
        Ok(o) => o,
        Err(e @ StoreError::KeyTaken(_)) => {
            return Err(bad(
                RejectReason::BadRequest,
                format!("the new key cannot be used: {e}"),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let agent = match outcome {
        RotateOutcome::Rotated(a) => {
            tracing::info!(agent_id = %a.agent_id, old = %old.id(), new = %new.id(), "agent key rotated");
            state.rotated(a.clone(), &old, now, body.to_vec());
            a
        }
        RotateOutcome::Again(a) => {
            state.rotated(a.clone(), &old, now, body.to_vec());
            a
        }
        RotateOutcome::NotFound => {
            return Err(bad(
                RejectReason::UnknownKey,
                format!(
                    "no enrolled agent {}",
                    vouch_evidence::limits::truncate_echo(&rotation.owner)
                ),
            ));
        }
        RotateOutcome::Revoked => {
            return Err(bad(
                RejectReason::AgentRevoked,
                format!(
                    "agent {} is revoked: its keys change no more",
                    rotation.owner
                ),
            ));
        }
        RotateOutcome::NotCurrent(a) => {
            return Err(bad(
                RejectReason::KeyRotated,
                format!(
                    "key {} is not agent {}'s key now (it holds {})",
                    old.id(),
                    a.agent_id,
                    a.keyid()
                ),
            ));
        }
    };
    Ok((
        StatusCode::OK,
        Json(serde_json::json!({
            "agent_id": agent.agent_id,
            "keyid": agent.keyid().to_string(),
        })),
    )
        .into_response())
}

pub(super) async fn submit(
    State(state): State<AppState>,
    remote: Option<Extension<RemoteAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let started = Instant::now();
    let remote_addr = remote;
    let remote = remote_addr.as_ref().map_or_else(
        || "unknown".to_string(),
        |Extension(RemoteAddr(a))| a.to_string(),
    );
    // An address that keeps sending what is refused waits, before its body is read.
    if let Some(Extension(RemoteAddr(addr))) = remote_addr
        && let Err(wait) = state.guards().refusals.check(addr.ip())
    {
        return Err(rate_limited(
            &state,
            &remote,
            wait,
            "too many refused submissions from this address",
        ));
    }
    // An agent that keeps the log's checkpoint asks for the proofs (issue 19).
    let log_seen = match headers.get(vouch_evidence::logproofs::LOG_SIZE_HEADER) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| {
                    AppError::Client(
                        RejectReason::BadRequest,
                        format!(
                            "{} is not a number of leaves",
                            vouch_evidence::logproofs::LOG_SIZE_HEADER
                        ),
                    )
                })?,
        ),
    };
    let limit = state.inner.limits.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let oversize = |size: u64| Refusal {
        reason: RejectReason::Oversize,
        message: format!("body of {size} bytes exceeds the limit of {limit} bytes"),
        agent_id: None,
    };
    let (body, mut unverified_charge) = match declared {
        Some(n) if n > limit as u64 => {
            return Err(refuse(&state, &remote, &[], n, oversize(n)).await);
        }
        _ => match read_body(body, limit, declared, &state).await {
            Ok(read) => read,
            Err(BodyError::Busy) => {
                return Err(rate_limited(
                    &state,
                    &remote,
                    std::time::Duration::from_secs(1),
                    "the server holds as many unverified bodies as it accepts",
                ));
            }
            Err(BodyError::TooLarge(n)) => {
                return Err(refuse(&state, &remote, &[], n, oversize(n)).await);
            }
            // The client went away or broke the stream: nothing was submitted, nothing to log.
            Err(BodyError::Read(e)) => {
                return Err(AppError::Client(
                    RejectReason::BadRequest,
                    format!("the request body could not be read: {e}"),
                ));
            }
        },
    };
    // Cheap checks first (envelope, one signature, key id), then the key looked up by its id,
    // and only then one signature verified, off the async threads and outside any lock.
    let parsed = match ingest::parse(&body) {
        Ok(p) => p,
        Err(r) => return Err(refuse(&state, &remote, &body, body.len() as u64, r).await),
    };
    let mut agent = state.agent_by_key(&parsed.keyid);
    // A key this process has not seen may have enrolled through another replica sharing the
    // store: read the keyring from the store again, then look once more.
    if agent.is_none() {
        match state.reload_keys().await {
            Ok(()) => agent = state.agent_by_key(&parsed.keyid),
            Err(e) => tracing::error!(error = %e, "reloading the keyring failed"),
        }
    }
    let Some(agent) = agent else {
        let r = match state.retired_key(&parsed.keyid) {
            Some((agent_id, at)) => Refusal {
                reason: RejectReason::KeyRotated,
                message: format!(
                    "key {} of agent {agent_id} was rotated at {at}: nothing it signs is \
                     accepted any more; sign with the agent's new key",
                    parsed.keyid
                ),
                agent_id: None,
            },
            None => Refusal {
                reason: RejectReason::UnknownKey,
                message: format!("no enrolled agent has key {}", parsed.keyid),
                agent_id: None,
            },
        };
        return Err(refuse(&state, &remote, &body, body.len() as u64, r).await);
    };
    // A revoked agent's key stays known (what it signed before stays verifiable), but nothing
    // more of it is taken: refused before its signature costs anything.
    if let Some(r) = &agent.revoked {
        let r = Refusal {
            reason: RejectReason::AgentRevoked,
            message: format!(
                "agent {} was revoked at {} ({}): nothing it signs is accepted",
                agent.agent_id, r.at, r.reason
            ),
            agent_id: None,
        };
        return Err(refuse(&state, &remote, &body, body.len() as u64, r).await);
    }
    let skew = state.inner.limits.clock_skew_secs as i64 * 1_000_000;
    state.metrics().signature_checked();
    let now = state.now();
    let checked = tokio::task::spawn_blocking(move || ingest::verify(&parsed, &agent, now, skew))
        .await
        .map_err(|e| AppError::Internal(format!("verification task failed: {e}")))?;
    let checked = match checked {
        Ok(c) => c,
        Err(r) => return Err(refuse(&state, &remote, &body, body.len() as u64, r).await),
    };
    // Authenticated: its bytes no longer count against the unauthenticated budget.
    drop(unverified_charge.take());
    let snap = checked.snapshot;
    let chain = snap.link().chain;
    let received_at = state.now();
    let receipt = Receipt {
        digest: checked.digest,
        chain: chain.clone(),
        sequence: snap.sequence,
        received_at,
    }
    .sign(&state.inner.receipt_key)
    .to_vec();
    let new = NewSnapshot {
        digest: checked.digest,
        chain: chain.clone(),
        asset_name: snap.asset.name.clone(),
        sequence: snap.sequence,
        previous_digest: snap.previous_digest,
        collected_at: snap.collected_at,
        received_at,
        envelope: body.to_vec(),
        receipt,
    };
    let (status, duplicate, receipt) = match state.store().ingest(new).await {
        Ok(IngestOutcome::Stored { receipt }) => {
            state.metrics().accepted();
            if let Some(p) = state.policies() {
                p.evaluator().wake();
            }
            (StatusCode::CREATED, false, receipt)
        }
        Ok(IngestOutcome::Duplicate { receipt }) => {
            state.metrics().duplicate();
            (StatusCode::OK, true, receipt)
        }
        Err(StoreError::Chain { chain, source }) => {
            let reason = match source {
                vouch_evidence::chain::LinkError::Gap { .. } => RejectReason::ChainGap,
                // Never valid: final for the agent, as a schema fault is.
                vouch_evidence::chain::LinkError::BackInTime { .. } => {
                    RejectReason::InvalidSnapshot
                }
                _ => RejectReason::ChainConflict,
            };
            let refusal = Refusal {
                reason,
                message: format!("chain {chain}: {source}"),
                agent_id: Some(chain.agent_id.clone()),
            };
            return Err(refuse(&state, &remote, &body, body.len() as u64, refusal).await);
        }
        Err(e) => return Err(e.into()),
    };
    let receipt = Envelope::from_slice(&receipt)
        .map_err(|e| AppError::Internal(format!("stored receipt: {e}")))?;
    state.metrics().observe_ingest(started.elapsed());
    tracing::debug!(digest = %checked.digest, chain = %chain, sequence = snap.sequence, duplicate, "snapshot accepted");
    let log = match log_seen {
        None => None,
        Some(seen) => Some(super::log::proofs_for(&state, checked.digest, seen).await?),
    };
    let mut response = (
        status,
        Json(SubmitResponse {
            digest: checked.digest,
            duplicate,
            receipt,
            log,
        }),
    )
        .into_response();
    if let Some(warning) = checked.warning {
        state.metrics().clock_ahead();
        tracing::warn!(agent = %chain.agent_id, chain = %chain, sequence = snap.sequence, collected_at = %snap.collected_at, "{warning}");
        if let Ok(value) = axum::http::HeaderValue::from_str(&warning) {
            response
                .headers_mut()
                .append(vouch_evidence::api::WARNING_HEADER, value);
        }
    }
    Ok(response)
}

pub(super) enum BodyError {
    /// More than the limit arrived; the bytes seen so far.
    TooLarge(u64),
    /// The budget of unauthenticated bytes is spent.
    Busy,
    /// The stream failed.
    Read(axum::Error),
}

/// Reads a body of at most `limit` bytes, telling a body that is too large from one that
/// failed to arrive (the first is a rejection to log, the second is not).
///
/// While the body arrives its bytes are charged to the server's budget of unauthenticated
/// bytes ([`crate::connections::ConnectionLimits::max_unauthenticated_bytes`]): when the budget
/// is spent the read stops with [`BodyError::Busy`]. The charge is returned with the permit,
/// which the caller holds until the sender is authenticated.
pub(super) async fn read_body(
    mut body: Body,
    limit: usize,
    declared: Option<u64>,
    state: &AppState,
) -> Result<(Bytes, Option<tokio::sync::OwnedSemaphorePermit>), BodyError> {
    use axum::body::HttpBody as _;
    let budget = state.guards().unauthenticated.clone();
    let mut held: Option<tokio::sync::OwnedSemaphorePermit> = None;
    let mut charged_kib = 0usize;
    let mut buf = Vec::with_capacity(declared.map_or(64 * 1024, |n| n as usize).min(limit));
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let frame = frame.map_err(BodyError::Read)?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(BodyError::TooLarge((buf.len() + data.len()) as u64));
            }
            let need = (buf.len() + data.len()).div_ceil(1024);
            if need > charged_kib {
                let more = budget
                    .clone()
                    .try_acquire_many_owned((need - charged_kib) as u32)
                    .map_err(|_| BodyError::Busy)?;
                match held.as_mut() {
                    Some(p) => p.merge(more),
                    None => held = Some(more),
                }
                charged_kib = need;
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok((Bytes::from(buf), held))
}

/// Logs, counts and records a refused submission; stores nothing else. A refusal of an
/// enrolled agent's verified snapshot is kept as a row; anything refused before a signature
/// verified is only counted in memory (see [`crate::refusals`]): no disk write, whatever the
/// rate. Client-supplied text is truncated before it is logged, kept or sent back.
pub(super) async fn refuse(
    state: &AppState,
    remote: &str,
    body: &[u8],
    size: u64,
    r: Refusal,
) -> AppError {
    let message = vouch_evidence::limits::truncate_echo(&r.message);
    let remote = vouch_evidence::limits::truncate_echo(remote);
    tracing::warn!(remote, reason = %r.reason, agent_id = r.agent_id.as_deref().unwrap_or("-"), message = %message, "submission rejected");
    state.metrics().rejected(r.reason);
    let authenticated = r.agent_id.is_some();
    let rejection = Rejection {
        at: state.now(),
        remote,
        reason: r.reason.as_str().to_string(),
        message: message.clone(),
        agent_id: r.agent_id,
        body_sha256: Digest::of(body),
        body_size: size,
    };
    if !authenticated {
        if let Ok(addr) = rejection.remote.parse::<SocketAddr>() {
            let _ = state.guards().refusals.take(addr.ip());
        }
        state.refusals().count(r.reason.as_str(), rejection);
    } else if let Err(e) = state.store().record_rejection(rejection).await {
        return AppError::Internal(format!("cannot record rejection: {e}"));
    }
    AppError::Client(r.reason, message)
}
