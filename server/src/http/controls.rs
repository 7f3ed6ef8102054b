//! The policies API: control status now or as of an instant, the pack in force and its
//! reload, explicit re-evaluations, and exceptions (accepted risks).
//!
//! Reads are open to every role that reads evidence; reloading the pack, asking for a
//! re-evaluation and recording an exception need an admin or security-lead token, and each is
//! recorded with who asked.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use vouch_evidence::api::RejectReason;
use vouch_evidence::{AssetKind, Timestamp};
use vouch_policies::{ControlId, ControlState, ControlStatus, Severity};

use crate::controls::{ControlsView, Policies, PolicyError, ReloadFailure};
use crate::evaluate::Judge as _;
use crate::http::{AppError, Manager, Reader};
use crate::state::{AppState, now};
use crate::store::{EvaluationRun, ExceptionRecord, NewException};

/// The longest an exception may run: risk acceptance is reviewed at least yearly.
pub const MAX_EXCEPTION_DAYS: i64 = 366;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/controls", get(controls))
        .route("/v1/controls/{control}", get(control))
        .route("/v1/history", get(history))
        .route("/v1/oscal", get(oscal))
        .route("/v1/findings", get(findings))
        .route("/v1/policies", get(policies))
        .route("/v1/policies/reload", post(reload))
        .route("/v1/evaluations", get(runs).post(request_run))
        .route("/v1/exceptions", get(exceptions).post(add_exception))
}

/// `GET /v1/controls` parameters.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ControlsQuery {
    /// The instant (RFC 3339); now when absent.
    #[serde(default)]
    pub as_of: Option<Timestamp>,
    /// Only this framework's controls (`iso27001-2022`).
    #[serde(default)]
    pub framework: Option<String>,
    /// Only controls in this state (`fail`, `stale`, …).
    #[serde(default)]
    pub status: Option<String>,
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

/// Tells the running policies (if any) that the control view must be made again.
pub(crate) fn policies_touched(state: &AppState) {
    if let Some(p) = state.policies() {
        p.touched();
    }
}

fn running(state: &AppState) -> Result<&std::sync::Arc<Policies>, AppError> {
    state
        .policies()
        .ok_or_else(|| AppError::Internal("policy evaluation is not running".into()))
}

fn bad(state: &AppState, message: String) -> AppError {
    state.metrics().rejected(RejectReason::BadRequest);
    AppError::Client(RejectReason::BadRequest, message)
}

impl From<PolicyError> for AppError {
    fn from(e: PolicyError) -> Self {
        AppError::Internal(e.to_string())
    }
}

fn controls_query(
    state: &AppState,
    q: Result<Query<ControlsQuery>, QueryRejection>,
) -> Result<ControlsQuery, AppError> {
    let q = q.map(|Query(q)| q).map_err(|e| {
        bad(
            state,
            format!("{} (expected as_of, framework, status)", e.body_text()),
        )
    })?;
    if let Some(s) = &q.status
        && ControlState::parse(s).is_none()
    {
        let names: Vec<&str> = ControlState::ALL.iter().map(|s| s.as_str()).collect();
        return Err(bad(
            state,
            format!("status {s:?} is not one of {}", names.join(", ")),
        ));
    }
    if let Some(f) = &q.framework
        && state.catalogs().get(f).is_none()
    {
        return Err(bad(
            state,
            format!("framework {f:?} is in no loaded catalog"),
        ));
    }
    Ok(q)
}

/// `GET /v1/controls`: every applicable control with its status, as of an instant.
async fn controls(
    _reader: Reader,
    State(state): State<AppState>,
    query: Result<Query<ControlsQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let q = controls_query(&state, query)?;
    let policies = running(&state)?;
    let mut view = ControlsView::clone(&*policies.controls(q.as_of).await?);
    view.controls.retain(|c| {
        q.framework
            .as_ref()
            .is_none_or(|f| &c.control.framework == f)
            && q.status.as_ref().is_none_or(|s| c.status.as_str() == s)
    });
    let history = policies.history(q.framework.as_deref()).await?;
    let since = view
        .controls
        .iter()
        .filter_map(|c| {
            let (s, t) = crate::controls::history::at(
                &history,
                &c.control.framework,
                &c.control.control,
                view.at,
            )?;
            (s == c.status).then(|| (c.control.to_string(), t))
        })
        .collect();
    Ok(Json(ControlsAnswer { view, since }).into_response())
}

/// [`controls`]'s answer: the view, and when each control's status began (for those whose
/// start the history records).
#[derive(Clone, Debug, Serialize)]
pub struct ControlsAnswer {
    /// The view.
    #[serde(flatten)]
    pub view: ControlsView,
    /// Control id → the instant its status began.
    pub since: std::collections::BTreeMap<String, Timestamp>,
}

/// `GET /v1/oscal`: the assessment results of one framework (default ISO/IEC 27001:2022), now
/// or as of an instant, in the OSCAL 1.1 assessment-results JSON model.
async fn oscal(
    _reader: Reader,
    State(state): State<AppState>,
    query: Result<Query<ControlsQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let q = controls_query(&state, query)?;
    if q.status.is_some() {
        return Err(bad(
            &state,
            "status: an OSCAL export covers every status".into(),
        ));
    }
    let framework = q.framework.as_deref().unwrap_or("iso27001-2022");
    let catalog = state.catalogs().get(framework).ok_or_else(|| {
        bad(
            &state,
            format!("framework {framework:?} is in no loaded catalog"),
        )
    })?;
    let policies = running(&state)?;
    let view = policies.controls(q.as_of).await?;
    let exclusions = policies.exclusions();
    let document = crate::oscal::Export {
        catalog,
        view: &view,
        exclusions: &exclusions,
        generated_at: now(),
    }
    .document();
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec_pretty(&document).map_err(|e| AppError::Internal(e.to_string()))?,
    )
        .into_response())
}

/// `GET /v1/findings` parameters.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingsQuery {
    /// The format: `ocsf` (OCSF 1.8.0 Compliance Findings, one JSON object per line), the
    /// only one and the default.
    #[serde(default)]
    pub format: Option<String>,
    /// The instant (RFC 3339); now when absent.
    #[serde(default)]
    pub as_of: Option<Timestamp>,
    /// Only results counting towards this framework's controls (`iso27001-2022`).
    #[serde(default)]
    pub framework: Option<String>,
    /// Only results in this state (`fail`, `stale`, `accepted`, `error`, `pass`,
    /// `not_applicable`).
    #[serde(default)]
    pub status: Option<String>,
}

/// Findings per response chunk (about 2 KB each).
const FINDINGS_PER_CHUNK: usize = 256;

/// `GET /v1/findings?format=ocsf`: every current policy result (or as of an instant) as an
/// OCSF Compliance Finding, one per line (`application/x-ndjson`), streamed as it is made.
async fn findings(
    _reader: Reader,
    State(state): State<AppState>,
    query: Result<Query<FindingsQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let q = query.map(|Query(q)| q).map_err(|e| {
        bad(
            &state,
            format!(
                "{} (expected format, as_of, framework, status)",
                e.body_text()
            ),
        )
    })?;
    if let Some(f) = q.format.as_deref().filter(|f| *f != "ocsf") {
        return Err(bad(
            &state,
            format!(
                "format {:?} is not one of: ocsf",
                vouch_evidence::limits::truncate_echo(f)
            ),
        ));
    }
    let checked = controls_query(
        &state,
        Ok(Query(ControlsQuery {
            as_of: q.as_of,
            framework: q.framework.clone(),
            status: q.status.clone(),
        })),
    )?;
    let states: Vec<ControlState> = checked
        .status
        .as_deref()
        .and_then(ControlState::parse)
        .into_iter()
        .collect();
    let standards = state
        .catalogs()
        .iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    let view = running(&state)?.controls(checked.as_of).await?;
    let findings = std::sync::Arc::new(crate::controls::Findings::new(
        view,
        standards,
        checked.framework.as_deref(),
        &states,
    ));
    let body = futures::stream::unfold(0usize, move |from| {
        let findings = findings.clone();
        async move {
            if from >= findings.len() {
                return None;
            }
            let to = (from + FINDINGS_PER_CHUNK).min(findings.len());
            let mut chunk = Vec::with_capacity((to - from) * 2048);
            for i in from..to {
                // A `Value` always serialises.
                serde_json::to_writer(&mut chunk, &findings.finding(i)).ok()?;
                chunk.push(b'\n');
            }
            Some((Ok::<_, std::convert::Infallible>(chunk), to))
        }
    });
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/x-ndjson")],
        axum::body::Body::from_stream(body),
    )
        .into_response())
}

/// `GET /v1/history` parameters.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Only this framework's controls.
    #[serde(default)]
    pub framework: Option<String>,
    /// Only this control (`A.8.24`, with `framework`).
    #[serde(default)]
    pub control: Option<String>,
}

/// One row of `GET /v1/history`.
#[derive(Clone, Debug, Serialize)]
pub struct HistoryRow {
    /// The control (`iso27001-2022:A.8.24`).
    pub control: String,
    /// The status it turned to.
    pub status: String,
    /// When that status began.
    pub since: Timestamp,
    /// When the server recorded the change.
    pub recorded_at: Timestamp,
}

/// `GET /v1/history`: every recorded change of control status, oldest first.
async fn history(
    _reader: Reader,
    State(state): State<AppState>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(q) = query.map_err(|e| bad(&state, e.body_text()))?;
    let rows = running(&state)?.history(q.framework.as_deref()).await?;
    let rows: Vec<HistoryRow> = rows
        .into_iter()
        .filter(|r| q.control.as_ref().is_none_or(|c| &r.control == c))
        .map(|r| HistoryRow {
            control: format!("{}:{}", r.framework, r.control),
            status: r.state,
            since: r.since,
            recorded_at: r.recorded_at,
        })
        .collect();
    Ok(Json(rows).into_response())
}

/// One control in [`control`]'s answer.
#[derive(Clone, Debug, Serialize)]
pub struct ControlAnswer {
    /// The instant.
    pub at: Timestamp,
    /// The pack in force.
    pub pack: String,
    /// The control.
    #[serde(flatten)]
    pub control: ControlStatus,
    /// When its status began, when the history records it.
    pub since: Option<Timestamp>,
}

/// `GET /v1/controls/{control}`: one control with every outcome, as of an instant.
async fn control(
    _reader: Reader,
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<ControlsQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let q = controls_query(&state, query)?;
    let id: ControlId = id.parse().map_err(|e: String| bad(&state, e))?;
    let policies = running(&state)?;
    let view = policies.controls(q.as_of).await?;
    let control = view
        .controls
        .iter()
        .find(|c| c.control == id)
        .cloned()
        .ok_or_else(|| {
            AppError::Client(
                RejectReason::NotFound,
                format!("control {id} is in no loaded catalog or does not apply"),
            )
        })?;
    let history = policies.history(Some(&id.framework)).await?;
    let since = crate::controls::history::at(&history, &id.framework, &id.control, view.at)
        .filter(|(s, _)| *s == control.status)
        .map(|(_, t)| t);
    Ok(Json(ControlAnswer {
        at: view.at,
        pack: view.pack.clone(),
        since,
        control,
    })
    .into_response())
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
