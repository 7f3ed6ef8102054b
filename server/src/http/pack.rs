//! The policies API: the pack in force and its reload, explicit re-evaluations, and
//! exceptions (accepted risks). Reads are open to every role that reads evidence; reloading the
//! pack, asking for a re-evaluation and recording an exception need an admin or security-lead
//! token, and each is recorded with who asked.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use vouch_evidence::{AssetKind, Timestamp};
use vouch_policies::Severity;

use super::controls::{bad, policies_touched, running};
use crate::controls::{Policies, ReloadFailure};
use crate::evaluate::Judge as _;
use crate::http::{AppError, Manager, Reader};
use crate::state::{AppState, now};
use crate::store::{EvaluationRun, ExceptionRecord, NewException};

/// The longest an exception may run: risk acceptance is reviewed at least yearly.
pub const MAX_EXCEPTION_DAYS: i64 = 366;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/policies", get(policies))
        .route("/v1/policies/reload", post(reload))
        .route("/v1/evaluations", get(runs).post(request_run))
        .route("/v1/exceptions", get(exceptions).post(add_exception))
}

/// A policy of the pack in force.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct PolicyInfo {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its severity.
    pub severity: Severity,
    /// The controls it evidences.
    pub controls: Vec<String>,
    /// How (`exact` or `supporting`) and why it evidences each of them, in the same order; an
    /// ISO/IEC 27701:2025 one names the 2019 clause it is derived from.
    #[serde(default)]
    pub mappings: Vec<vouch_policies::Mapping>,
    /// The asset kinds it applies to.
    pub asset_kinds: Vec<AssetKind>,
    /// How long a verdict stays fresh, e.g. `24h`.
    pub freshness: String,
    /// Its file in the pack.
    pub file: String,
}

/// `GET /v1/policies`, and the answer to a successful reload.
#[derive(Clone, Debug, Serialize)]
pub struct PackInfo {
    /// The digest of the pack in force (policies and organisation settings).
    pub digest: String,
    /// Its policies.
    pub policies: Vec<PolicyInfo>,
    /// The last refused reload, unless a later one succeeded.
    pub last_failure: Option<ReloadFailure>,
}

/// `POST /v1/evaluations`: re-judge the snapshots collected in `[from, to)` with the pack in
/// force.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// Start of the period (collected at or after).
    pub from: Timestamp,
    /// End of the period (collected before).
    pub to: Timestamp,
    /// Why, for the record.
    pub reason: String,
}

/// A re-evaluation run in a listing.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct RunInfo {
    /// Its id.
    pub id: i64,
    /// Who asked.
    pub requested_by: String,
    /// When.
    pub requested_at: Timestamp,
    /// Why.
    pub reason: String,
    /// The pack that re-judges.
    pub pack: String,
    /// The period.
    pub from: Timestamp,
    /// End of the period.
    pub to: Timestamp,
    /// When it finished.
    pub finished_at: Option<Timestamp>,
    /// Snapshots judged.
    pub evaluated: u64,
}

impl From<EvaluationRun> for RunInfo {
    fn from(r: EvaluationRun) -> Self {
        RunInfo {
            id: r.id,
            requested_by: r.run.requested_by,
            requested_at: r.run.requested_at,
            reason: r.run.reason,
            pack: r.run.pack_digest,
            from: r.run.from,
            to: r.run.to,
            finished_at: r.finished_at,
            evaluated: r.evaluated,
        }
    }
}

/// `POST /v1/exceptions`: accept the risk of a failing policy, on one asset or all.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionRequest {
    /// The policy.
    pub policy: String,
    /// The asset's kind, with `asset_id`; both absent: every asset.
    #[serde(default)]
    pub asset_kind: Option<AssetKind>,
    /// The asset's id.
    #[serde(default)]
    pub asset_id: Option<String>,
    /// Why the risk is accepted (the risk treatment decision).
    pub justification: String,
    /// Who owns the risk.
    pub owner: String,
    /// When the exception lapses and the failure counts again.
    pub expires_at: Timestamp,
}

/// An exception in a listing.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct ExceptionInfo {
    /// Its id.
    pub id: i64,
    /// The policy.
    pub policy: String,
    /// The asset's kind, when it covers one asset.
    pub asset_kind: Option<AssetKind>,
    /// The asset's id.
    pub asset_id: Option<String>,
    /// Why.
    pub justification: String,
    /// Who owns the risk.
    pub owner: String,
    /// Who recorded it.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
    /// When it lapses.
    pub expires_at: Timestamp,
    /// Whether it is in force now.
    pub active: bool,
}

impl ExceptionInfo {
    fn of(x: ExceptionRecord, at: Timestamp) -> Self {
        let e = x.exception;
        let (asset_kind, asset_id) = e.asset.map_or((None, None), |(k, id)| (Some(k), Some(id)));
        ExceptionInfo {
            id: x.id,
            active: e.created_at <= at && at < e.expires_at,
            policy: e.policy_id,
            asset_kind,
            asset_id,
            justification: e.justification,
            owner: e.owner,
            created_by: e.created_by,
            created_at: e.created_at,
            expires_at: e.expires_at,
        }
    }
}

fn pack_info(policies: &Policies) -> PackInfo {
    let judge = policies.in_force();
    PackInfo {
        digest: judge.digest().to_string(),
        policies: judge
            .pack()
            .policies()
            .iter()
            .map(|p| PolicyInfo {
                id: p.id.clone(),
                title: p.title.clone(),
                severity: p.severity,
                controls: p.controls.iter().map(ToString::to_string).collect(),
                mappings: p.mappings.clone(),
                asset_kinds: p.asset_kinds.clone(),
                freshness: vouch_policies::metadata::format_freshness(p.freshness),
                file: p.file.clone(),
            })
            .collect(),
        last_failure: policies.last_failure(),
    }
}

/// `GET /v1/policies`: the pack in force and the last refused reload.
async fn policies(_reader: Reader, State(state): State<AppState>) -> Result<Response, AppError> {
    Ok(Json(pack_info(running(&state)?)).into_response())
}

/// `POST /v1/policies/reload`: loads the configured pack again; refused with every problem
/// named when it does not load (the pack in force stays).
async fn reload(manager: Manager, State(state): State<AppState>) -> Result<Response, AppError> {
    let policies = running(&state)?;
    tracing::info!(who = %manager.who, "policy pack reload requested");
    match policies.reload().await {
        Ok(_) => {
            state
                .audit(
                    &manager.who,
                    "pack.reload",
                    "policy pack",
                    &format!("{} in force", policies.in_force().digest()),
                )
                .await?;
            Ok(Json(pack_info(policies)).into_response())
        }
        Err(errors) => Err(bad(
            &state,
            format!(
                "the pack does not load; {} stays in force:\n{errors}",
                policies.in_force().digest()
            ),
        )),
    }
}

/// `GET /v1/evaluations`: every re-evaluation run, newest first.
async fn runs(_reader: Reader, State(state): State<AppState>) -> Result<Response, AppError> {
    let runs: Vec<RunInfo> = state
        .store()
        .runs()
        .await?
        .into_iter()
        .map(RunInfo::from)
        .collect();
    Ok(Json(runs).into_response())
}

/// `POST /v1/evaluations`: re-judge a period with the pack in force, recorded with who and why.
async fn request_run(
    manager: Manager,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let req: RunRequest = serde_json::from_slice(&body)
        .map_err(|e| bad(&state, format!("not a re-evaluation request: {e}")))?;
    if req.from >= req.to {
        return Err(bad(&state, "from must be before to".into()));
    }
    let reason = req.reason.trim();
    if reason.is_empty() {
        return Err(bad(
            &state,
            "reason must say why history is re-judged".into(),
        ));
    }
    let id = running(&state)?
        .evaluator()
        .request_run(&manager.who, reason, req.from, req.to)
        .await?;
    state
        .audit(
            &manager.who,
            "evaluation.request",
            &format!("re-evaluation {id}"),
            &format!("{} to {}: {reason}", req.from, req.to),
        )
        .await?;
    let run = state
        .store()
        .runs()
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| AppError::Internal(format!("run {id} was not recorded")))?;
    Ok((StatusCode::ACCEPTED, Json(RunInfo::from(run))).into_response())
}

/// `GET /v1/exceptions`: every exception ever recorded (lapsed ones too), oldest first.
async fn exceptions(_reader: Reader, State(state): State<AppState>) -> Result<Response, AppError> {
    let at = now();
    let list: Vec<ExceptionInfo> = state
        .store()
        .exceptions()
        .await?
        .into_iter()
        .map(|x| ExceptionInfo::of(x, at))
        .collect();
    Ok(Json(list).into_response())
}

/// `POST /v1/exceptions`: accept the risk of a failing policy until a date.
async fn add_exception(
    manager: Manager,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let req: ExceptionRequest = serde_json::from_slice(&body)
        .map_err(|e| bad(&state, format!("not an exception request: {e}")))?;
    let policies = running(&state)?;
    let mut problems = Vec::new();
    if policies.in_force().pack().policy(&req.policy).is_none() {
        problems.push(format!(
            "policy {:?} is not in the pack in force",
            req.policy
        ));
    }
    let asset = match (req.asset_kind, req.asset_id.as_deref().map(str::trim)) {
        (Some(kind), Some(id)) if !id.is_empty() => Some((kind, id.to_string())),
        (None, None) => None,
        _ => {
            problems.push("asset_kind and asset_id go together (both absent: every asset)".into());
            None
        }
    };
    let justification = req.justification.trim();
    if justification.len() < 10 {
        problems.push("justification must say why the risk is accepted".into());
    }
    let owner = req.owner.trim();
    if owner.is_empty() {
        problems.push("owner must name who owns the risk".into());
    }
    let created_at = now();
    let longest = created_at.unix_micros() + MAX_EXCEPTION_DAYS * 86_400 * 1_000_000;
    if req.expires_at <= created_at {
        problems.push(format!(
            "expires_at {} is not in the future",
            req.expires_at
        ));
    } else if req.expires_at.unix_micros() > longest {
        problems.push(format!(
            "expires_at {} is more than {MAX_EXCEPTION_DAYS} days away: accepted risks are reviewed at least yearly",
            req.expires_at
        ));
    }
    if !problems.is_empty() {
        return Err(bad(&state, problems.join("; ")));
    }
    let exception = NewException {
        policy_id: req.policy.clone(),
        asset,
        justification: justification.to_string(),
        owner: owner.to_string(),
        created_by: manager.who.clone(),
        created_at,
        expires_at: req.expires_at,
    };
    let id = state.store().add_exception(exception.clone()).await?;
    state
        .audit(
            &manager.who,
            "exception.add",
            &format!("exception {id}"),
            &format!(
                "policy {} on {}, owner {:?}, until {}",
                req.policy,
                exception
                    .asset
                    .as_ref()
                    .map_or("every asset".to_string(), |(k, i)| format!("{k} {i}")),
                exception.owner,
                exception.expires_at
            ),
        )
        .await?;
    policies_touched(&state);
    tracing::info!(
        exception = id,
        policy = %req.policy,
        who = %manager.who,
        expires_at = %req.expires_at,
        "exception recorded"
    );
    Ok((
        StatusCode::CREATED,
        Json(ExceptionInfo::of(
            ExceptionRecord { id, exception },
            created_at,
        )),
    )
        .into_response())
}
