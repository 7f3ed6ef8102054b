//! The HTTP API: `app(state)` builds the router, so tests call it with `oneshot`, no socket.

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

/// The router of the whole API.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .route("/v1/enroll", post(enroll))
        .route("/v1/enroll-tokens", post(enroll_tokens))
        .route("/v1/snapshots", post(submit))
        .route("/v1/snapshots/{digest}", get(get_envelope))
        .route("/v1/snapshots/{digest}/receipt", get(get_receipt))
        .route("/v1/assets", get(list_assets))
        .route("/v1/assets/{kind}/{id}/snapshots", get(list_snapshots))
        .route("/v1/assets/{kind}/{id}/tags", axum::routing::put(set_tags))
        .route("/v1/keys", get(keys))
        .route("/v1/sample", get(sample))
        .route("/v1/export", get(export))
        .merge(crate::access::routes())
        .merge(crate::manual::routes())
        .merge(crate::retention::routes())
        .merge(crate::controls::api::routes())
        .merge(crate::web::routes())
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

/// `GET /metrics` on the HTTPS listener: 404 when `[metrics] listen` gives it its own address.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
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
async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
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

/// A request with a bearer token whose role may read evidence.
pub struct Reader(pub Role);

impl FromRequestParts<AppState> for Reader {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        authorize(parts, state, "read evidence", Role::can_read_evidence)
            .await
            .map(|(role, _)| Reader(role))
    }
}

/// A request with a bearer token whose role manages policies, exceptions and manual evidence
/// (admin, security lead); carries who it is for the record.
pub struct Manager {
    /// The token's role.
    pub role: Role,
    /// Who, for records: the role and the first hex digits of the token's hash.
    pub who: String,
}

impl FromRequestParts<AppState> for Manager {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let (role, hash) = authorize(parts, state, "manage policies and evidence", |r| {
            matches!(r, Role::Admin | Role::SecurityLead)
        })
        .await?;
        let who = match hash {
            Some(h) => format!("{role} token {}", &h.to_hex()[..12]),
            None => format!("{role} session"),
        };
        Ok(Manager { role, who })
    }
}

/// The role of the request's bearer token (or dashboard session) when `allowed` lets it
/// `what`; with the token's hash when a token was given. Reads by auditors are logged.
/// A caller with an admin token: provisioning (enrolment tokens for a fleet).
pub struct Admin {
    /// Who, for records.
    pub who: String,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let (role, hash) =
            authorize(parts, state, "provision agents", |r| *r == Role::Admin).await?;
        let who = match hash {
            Some(h) => format!("{role} token {}", &h.to_hex()[..12]),
            None => format!("{role} session"),
        };
        Ok(Admin { who })
    }
}

async fn authorize(
    parts: &Parts,
    state: &AppState,
    what: &str,
    allowed: fn(&Role) -> bool,
) -> Result<(Role, Option<Digest>), AppError> {
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let forbidden = |role: Role| {
        state.metrics().rejected(RejectReason::Forbidden);
        AppError::Client(
            RejectReason::Forbidden,
            format!("role {role} may not {what}"),
        )
    };
    let Some(token) = bearer else {
        // A signed-in dashboard user may follow links to the API (an envelope download).
        let cookie = crate::web::session::cookies(&parts.headers);
        if let Some(role) = crate::web::session::role(state, cookie.as_deref()).await {
            // A session only reads: a write through the API needs a bearer token, which no
            // other site can make a browser send.
            if !matches!(
                parts.method,
                axum::http::Method::GET | axum::http::Method::HEAD
            ) {
                state.metrics().rejected(RejectReason::CrossSite);
                return Err(AppError::Client(
                    RejectReason::CrossSite,
                    "API writes need an Authorization: Bearer token; a dashboard session only reads"
                        .into(),
                ));
            }
            if !allowed(&role) {
                return Err(forbidden(role));
            }
            crate::auth::log_read(role, &parts.method, &parts.uri);
            return Ok((role, None));
        }
        state.metrics().rejected(RejectReason::Unauthorized);
        return Err(AppError::Client(
            RejectReason::Unauthorized,
            "an Authorization: Bearer token is required".into(),
        ));
    };
    let hash = hash_token(token);
    match state.token_role(hash).await? {
        Ok(role) if allowed(&role) => {
            crate::auth::log_read(role, &parts.method, &parts.uri);
            Ok((role, Some(hash)))
        }
        Ok(role) => Err(forbidden(role)),
        Err(refusal) => Err(token_refused(state, refusal)),
    }
}

/// `429 rate_limited` with `Retry-After`, counted like any refusal of an unknown client.
fn rate_limited(state: &AppState, remote: &str, wait: std::time::Duration, why: &str) -> AppError {
    let secs = wait.as_secs().max(1);
    state.metrics().rejected(RejectReason::RateLimited);
    let message = format!("{why}: retry in {secs} s");
    state.refusals().count(
        RejectReason::RateLimited.as_str(),
        Rejection {
            at: state.now(),
            remote: vouch_evidence::limits::truncate_echo(remote),
            reason: RejectReason::RateLimited.as_str().into(),
            message: message.clone(),
            agent_id: None,
            body_sha256: Digest::of(b""),
            body_size: 0,
        },
    );
    AppError::RateLimited(secs, message)
}

/// The answer to a bearer token that is unknown, expired or revoked.
pub(crate) fn token_refused(state: &AppState, refusal: TokenRefusal) -> AppError {
    let (reason, message) = match refusal {
        TokenRefusal::Unknown => (RejectReason::Unauthorized, "unknown token".to_string()),
        TokenRefusal::Expired(at) => (
            RejectReason::TokenExpired,
            format!("this token expired at {at}: ask an administrator for a new one"),
        ),
        TokenRefusal::Revoked(at) => (
            RejectReason::TokenRevoked,
            format!("this token was revoked at {at}"),
        ),
    };
    state.metrics().rejected(reason);
    AppError::Client(reason, message)
}

async fn enroll(
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

async fn submit(
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
        let r = Refusal {
            reason: RejectReason::UnknownKey,
            message: format!("no enrolled agent has key {}", parsed.keyid),
            agent_id: None,
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
    let mut response = (
        status,
        Json(SubmitResponse {
            digest: checked.digest,
            duplicate,
            receipt,
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

enum BodyError {
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
async fn read_body(
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
async fn refuse(state: &AppState, remote: &str, body: &[u8], size: u64, r: Refusal) -> AppError {
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

fn parse_digest(s: &str) -> Result<Digest, AppError> {
    s.parse().map_err(|e: vouch_evidence::DigestParseError| {
        AppError::Client(RejectReason::BadRequest, e.to_string())
    })
}

async fn get_envelope(
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

async fn get_receipt(
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

async fn list_assets(_reader: Reader, State(state): State<AppState>) -> Result<Response, AppError> {
    Ok(Json(state.store().assets().await?).into_response())
}

/// Most enrolment tokens one request issues.
pub const MAX_ENROLL_TOKENS: u32 = 10_000;

/// Most assets an agent declares at enrolment (it writes one host and one cluster at most).
const MAX_DECLARED_ASSETS: usize = 16;

/// `POST /v1/enroll-tokens` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrollTokensBody {
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
async fn enroll_tokens(
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
struct TagsBody {
    tags: std::collections::BTreeMap<String, String>,
}

/// `PUT /v1/assets/{kind}/{id}/tags`: sets the organisation's tags on an asset (admin or
/// security lead), for filtering; the evidence is not touched.
async fn set_tags(
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
    Ok(Json(body.tags).into_response())
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    after_sequence: u64,
    limit: Option<u32>,
}

async fn list_snapshots(
    _reader: Reader,
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    Query(page): Query<Page>,
) -> Result<Response, AppError> {
    let kind = AssetKind::parse(&kind).ok_or_else(|| {
        AppError::Client(
            RejectReason::BadRequest,
            format!(
                "unknown asset kind {kind:?} (host, kubernetes-cluster, aws-account, github-org)"
            ),
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

/// `GET /v1/sample?from=…&to=…&kinds=…&size=…&seed=…`: the population's size and fingerprint
/// and the reproducible sample.
async fn sample(
    _reader: Reader,
    State(state): State<AppState>,
    query: Result<Query<SampleQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let query = scoped(&state, sample_query(query)?)?;
    let (population, drawn) = bundle::draw(state.store().as_ref(), &query)
        .await
        .map_err(bundle_error)?;
    let digests: Vec<Digest> = population.iter().map(|m| m.digest).collect();
    Ok(Json(SampleResponse {
        algorithm: vouch_evidence::sample::SAMPLE_ALGORITHM.into(),
        population_count: population.len() as u64,
        population_fingerprint: vouch_evidence::sample::population_fingerprint(&digests),
        sample: drawn,
        query,
    })
    .into_response())
}

/// `GET /v1/export?…` (the sample's parameters): the evidence bundle, `.tar.gz`, streamed as
/// it is made ([`bundle::stream`]).
async fn export(
    _reader: Reader,
    State(state): State<AppState>,
    query: Result<Query<SampleQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let query = scoped(&state, sample_query(query)?)?;
    let chunks = bundle::stream(
        state.store().clone(),
        // The task that writes the bundle outlives this call: it gets its own copy of the key.
        vouch_evidence::SigningKey::from_seed(&state.receipt_key().seed()),
        query,
        state.now(),
    )
    .await
    .map_err(bundle_error)?;
    let body = futures::stream::unfold(chunks, |mut chunks| async move {
        chunks.recv().await.map(|chunk| (chunk, chunks))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/gzip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"vouch-bundle.tar.gz\"".to_string(),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// The sampling query, or a JSON 400 naming what is wrong with it.
fn sample_query(q: Result<Query<SampleQuery>, QueryRejection>) -> Result<SampleQuery, AppError> {
    q.map(|Query(q)| q).map_err(|e| {
        AppError::Client(
            RejectReason::BadRequest,
            format!(
                "{} (expected from, to, size, seed and optionally kinds)",
                e.body_text()
            ),
        )
    })
}

/// The query with its scope (`control`) resolved to asset kinds, or a 400 naming the problem.
fn scoped(state: &AppState, query: SampleQuery) -> Result<SampleQuery, AppError> {
    sample_scope(state, query).map_err(|m| {
        state.metrics().rejected(RejectReason::BadRequest);
        AppError::Client(RejectReason::BadRequest, m)
    })
}

/// Resolves a sampling query's scope: a framework or control becomes the asset kinds the
/// policies of the pack in force evidence it with (intersected with the kinds asked for).
pub fn sample_scope(state: &AppState, mut query: SampleQuery) -> Result<SampleQuery, String> {
    let scope = query.control.trim().to_string();
    if scope.is_empty() {
        return Ok(query);
    }
    let (framework, control) = match scope.split_once(':') {
        Some((f, c)) => (f.to_string(), Some(c.to_string())),
        None => (scope.clone(), None),
    };
    let catalog = state
        .catalogs()
        .get(&framework)
        .ok_or_else(|| format!("control: framework {framework:?} is in no loaded catalog"))?;
    if let Some(c) = &control
        && !catalog.controls.iter().any(|x| &x.id.control == c)
    {
        return Err(format!("control: {scope} is not a control of {framework}"));
    }
    let policies = state
        .policies()
        .ok_or_else(|| "control: policy evaluation is off, so no scope by control".to_string())?;
    let judge = policies.in_force();
    let mut kinds: Vec<AssetKind> = judge
        .pack()
        .policies()
        .iter()
        .filter(|p| {
            p.controls.iter().any(|id| {
                id.framework == framework && control.as_ref().is_none_or(|c| &id.control == c)
            })
        })
        .flat_map(|p| p.asset_kinds.iter().copied())
        .collect();
    kinds.sort_by_key(|k| k.as_str());
    kinds.dedup();
    let asked = query.asset_kinds()?;
    kinds.retain(|k| asked.contains(k));
    if kinds.is_empty() {
        return Err(format!(
            "control: no policy of the pack in force evidences {scope} on the asset kinds asked for"
        ));
    }
    query.kinds = kinds
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(",");
    Ok(query)
}

fn bundle_error(e: bundle::BundleError) -> AppError {
    match e {
        bundle::BundleError::Query(m) => AppError::Client(RejectReason::BadRequest, m),
        other => AppError::Internal(other.to_string()),
    }
}

async fn keys(_reader: Reader, State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        state.keys_text(),
    )
}
