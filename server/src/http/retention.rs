//! The API of retention: audit periods opened, listed and closed, and expiry run on demand.
//!
//! `GET /v1/audit-periods` (readers), `POST /v1/audit-periods` and
//! `POST /v1/audit-periods/{id}/close` (admin, security lead), `POST /v1/retention/run` (admin).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use vouch_evidence::Timestamp;
use vouch_evidence::api::RejectReason;

use crate::http::{Admin, AppError, Manager, Reader};
use crate::state::AppState;

/// `POST /v1/audit-periods` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenPeriod {
    framework: String,
    label: String,
    from: Timestamp,
    to: Timestamp,
}

/// An audit period as the API shows it.
#[derive(Serialize)]
struct PeriodView {
    id: i64,
    framework: String,
    label: String,
    from: Timestamp,
    to: Timestamp,
    opened_at: Timestamp,
    closed_at: Option<Timestamp>,
    open: bool,
}

impl From<crate::store::AuditPeriod> for PeriodView {
    fn from(p: crate::store::AuditPeriod) -> Self {
        PeriodView {
            id: p.id,
            open: p.closed_at.is_none(),
            framework: p.period.framework,
            label: p.period.label,
            from: p.period.from,
            to: p.period.to,
            opened_at: p.period.opened_at,
            closed_at: p.closed_at,
        }
    }
}

/// The routes of audit periods and retention: `GET`/`POST /v1/audit-periods` (readers list;
/// admins and security leads open), `POST /v1/audit-periods/{id}/close`, and
/// `POST /v1/retention/run` (admin: apply retention now, answer the report).
pub fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/v1/audit-periods", get(list_periods).post(open_period))
        .route("/v1/audit-periods/{id}/close", post(close_period))
        .route("/v1/retention/run", post(run_now))
}

fn bad(state: &AppState, message: String) -> AppError {
    state.metrics().rejected(RejectReason::BadRequest);
    AppError::Client(RejectReason::BadRequest, message)
}

async fn list_periods(
    _reader: Reader,
    State(state): State<AppState>,
) -> Result<Response, AppError> {
    let periods: Vec<PeriodView> = state
        .store()
        .audit_periods()
        .await?
        .into_iter()
        .map(PeriodView::from)
        .collect();
    Ok(Json(periods).into_response())
}

async fn open_period(
    manager: Manager,
    State(state): State<AppState>,
    body: Result<Json<OpenPeriod>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, AppError> {
    let Json(body) = body.map_err(|e| bad(&state, e.body_text()))?;
    let mut problems = Vec::new();
    if state.catalogs().get(&body.framework).is_none() {
        problems.push(format!(
            "framework: {:?} is in no loaded catalog",
            body.framework
        ));
    }
    if body.label.trim().is_empty() || body.label.len() > 200 {
        problems.push("label: must be 1 to 200 characters".to_string());
    }
    if body.from >= body.to {
        problems.push(format!("to: {} is not after from {}", body.to, body.from));
    }
    if !problems.is_empty() {
        return Err(bad(&state, problems.join("; ")));
    }
    let period = crate::store::NewAuditPeriod {
        framework: body.framework,
        label: body.label.trim().to_string(),
        from: body.from,
        to: body.to,
        opened_at: crate::clock::now(),
    };
    let id = state.store().add_audit_period(period.clone()).await?;
    state
        .audit(
            &manager.who,
            "period.open",
            &format!("audit period {id}"),
            &format!(
                "{} {:?}, {} to {}",
                period.framework, period.label, period.from, period.to
            ),
        )
        .await?;
    tracing::info!(id, framework = %period.framework, label = %period.label, from = %period.from,
        to = %period.to, by = %manager.who, "audit period opened: retention holds its evidence");
    let view = PeriodView::from(crate::store::AuditPeriod {
        id,
        period,
        closed_at: None,
    });
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn close_period(
    manager: Manager,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    if !state
        .store()
        .close_audit_period(id, crate::clock::now())
        .await?
    {
        return Err(AppError::Client(
            RejectReason::NotFound,
            format!("no open audit period {id}"),
        ));
    }
    tracing::info!(id, by = %manager.who, "audit period closed");
    state
        .audit(
            &manager.who,
            "period.close",
            &format!("audit period {id}"),
            "",
        )
        .await?;
    let period = state
        .store()
        .audit_periods()
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .map(PeriodView::from);
    Ok(Json(period).into_response())
}

async fn run_now(admin: Admin, State(state): State<AppState>) -> Result<Response, AppError> {
    let report = state.expire().await?;
    tracing::info!(by = %admin.who, expired = report.expired, "retention applied on request");
    state
        .audit(
            &admin.who,
            "retention.run",
            "retention",
            &format!("{} snapshots expired", report.expired),
        )
        .await?;
    Ok(Json(report).into_response())
}
