//! The controls API: the status of every control now or as of an instant, one control with
//! its assets, the history of statuses, and the same as OSCAL and as OCSF findings. Open to
//! every role that reads evidence. The pack in force, re-evaluations and exceptions are in
//! [`super::pack`].

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use vouch_evidence::Timestamp;
use vouch_evidence::api::RejectReason;
use vouch_policies::{ControlId, ControlState, ControlStatus};

use crate::controls::{ControlsView, Policies, PolicyError};
use crate::http::{AppError, Reader};
use crate::state::{AppState, now};

pub use super::pack::{
    ExceptionInfo, ExceptionRequest, MAX_EXCEPTION_DAYS, PackInfo, PolicyInfo, RunInfo, RunRequest,
};

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/controls", get(controls))
        .route("/v1/controls/{control}", get(control))
        .route("/v1/history", get(history))
        .route("/v1/oscal", get(oscal))
        .route("/v1/findings", get(findings))
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

/// Tells the running policies (if any) that the control view must be made again.
pub(crate) fn policies_touched(state: &AppState) {
    if let Some(p) = state.policies() {
        p.touched();
    }
}

pub(super) fn running(state: &AppState) -> Result<&std::sync::Arc<Policies>, AppError> {
    state
        .policies()
        .ok_or_else(|| AppError::Internal("policy evaluation is not running".into()))
}

pub(super) fn bad(state: &AppState, message: String) -> AppError {
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
