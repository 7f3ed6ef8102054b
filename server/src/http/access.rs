//! The API of access: agents and tokens listed and revoked (admin), the audit log (readers).
//!
//! `GET /v1/agents`, `POST /v1/agents/{id}/revoke`, `GET /v1/tokens`,
//! `POST /v1/tokens/{id}/revoke` (admin); `GET /v1/audit-log?limit=N` (any reader role).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use vouch_evidence::api::RejectReason;

use crate::http::{Admin, AppError, Reader};
use crate::state::AppState;
use crate::store::{AgentRecord, RevokeOutcome, TokenKind, TokenRecord};

/// The routes.
pub fn routes() -> Router<AppState> {
    use axum::routing::{get, post};
    Router::new()
        .route("/v1/agents", get(list_agents))
        .route("/v1/agents/{id}/revoke", post(revoke_agent))
        .route("/v1/tokens", get(list_tokens))
        .route("/v1/tokens/{id}/revoke", post(revoke_token))
        .route("/v1/audit-log", get(audit_log))
}

/// `POST …/revoke` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    /// Why, for the audit log (required, truncated).
    reason: String,
}

fn bad(state: &AppState, reason: RejectReason, message: String) -> AppError {
    state.metrics().rejected(reason);
    AppError::Client(reason, message)
}

fn reason_of(
    state: &AppState,
    body: Result<Json<RevokeBody>, JsonRejection>,
) -> Result<String, AppError> {
    let Json(body) = body.map_err(|e| bad(state, RejectReason::BadRequest, e.body_text()))?;
    if body.reason.trim().is_empty() {
        return Err(bad(
            state,
            RejectReason::BadRequest,
            "reason must say why".into(),
        ));
    }
    Ok(body.reason)
}

fn agent_json(a: &AgentRecord) -> Value {
    json!({
        "agent_id": a.agent_id,
        "keyid": a.keyid().to_string(),
        "name": a.name,
        "enrolled_at": a.enrolled_at,
        "assets": a.binding.assets().map(|x| x.to_string()).collect::<Vec<_>>(),
        "revoked": a.revoked.as_ref().map(|r| json!({
            "at": r.at, "reason": r.reason, "by": r.by,
        })),
    })
}

fn token_json(t: &TokenRecord) -> Value {
    let (scope, used_by) = match &t.kind {
        TokenKind::Enroll { scope, used_by } => (Some(scope.clone()), used_by.clone()),
        TokenKind::Api(_) => (None, None),
    };
    json!({
        "id": t.id(),
        "role": t.role_name(),
        "label": t.label,
        "created_at": t.created_at,
        "expires_at": t.expires_at,
        "last_used_at": t.last_used_at,
        "revoked_at": t.revoked_at,
        "scope": scope,
        "used_by": used_by,
    })
}

async fn list_agents(_: Admin, State(state): State<AppState>) -> Result<Response, AppError> {
    let agents: Vec<Value> = state.agents().await?.iter().map(agent_json).collect();
    Ok(Json(json!({ "agents": agents })).into_response())
}

async fn revoke_agent(
    admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<RevokeBody>, JsonRejection>,
) -> Result<Response, AppError> {
    let reason = reason_of(&state, body)?;
    let id = vouch_evidence::limits::truncate_echo(&id);
    match state.revoke_agent(&id, &reason, &admin.who).await? {
        RevokeOutcome::Revoked(a) => {
            tracing::warn!(target: "vouch::audit", agent_id = %a.agent_id, by = %admin.who, "agent revoked");
            Ok((StatusCode::OK, Json(agent_json(&a))).into_response())
        }
        RevokeOutcome::AlreadyRevoked(a) => {
            Ok((StatusCode::OK, Json(agent_json(&a))).into_response())
        }
        RevokeOutcome::NotFound | RevokeOutcome::Ambiguous(_) => Err(bad(
            &state,
            RejectReason::NotFound,
            format!("no agent has id {id:?}"),
        )),
    }
}

async fn list_tokens(_: Admin, State(state): State<AppState>) -> Result<Response, AppError> {
    let tokens: Vec<Value> = state.tokens().await?.iter().map(token_json).collect();
    Ok(Json(json!({ "tokens": tokens })).into_response())
}

async fn revoke_token(
    admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<RevokeBody>, JsonRejection>,
) -> Result<Response, AppError> {
    let reason = reason_of(&state, body)?;
    let id = vouch_evidence::limits::truncate_echo(&id);
    match state.revoke_token(&id, &reason, &admin.who).await? {
        RevokeOutcome::Revoked(t) => {
            tracing::warn!(target: "vouch::audit", token = %t.id(), role = t.role_name(), by = %admin.who, "token revoked");
            Ok(Json(token_json(&t)).into_response())
        }
        RevokeOutcome::AlreadyRevoked(t) => Ok(Json(token_json(&t)).into_response()),
        RevokeOutcome::NotFound => Err(bad(
            &state,
            RejectReason::NotFound,
            format!("no token has id {id:?} (at least 8 hex digits)"),
        )),
        RevokeOutcome::Ambiguous(n) => Err(bad(
            &state,
            RejectReason::BadRequest,
            format!("{n} tokens have ids starting {id:?}: give more digits"),
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogQuery {
    limit: Option<u32>,
}

async fn audit_log(
    _: Reader,
    State(state): State<AppState>,
    query: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let Query(q) = query.map_err(|e| bad(&state, RejectReason::BadRequest, e.body_text()))?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let entries: Vec<Value> = state
        .store()
        .audit_log(limit)
        .await?
        .into_iter()
        .map(|e| {
            json!({
                "at": e.at, "actor": e.actor, "action": e.action,
                "subject": e.subject, "detail": e.detail,
            })
        })
        .collect();
    Ok(Json(json!({ "entries": entries })).into_response())
}
