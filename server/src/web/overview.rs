//! The overview: per framework, the controls by status with a 90-day trend read from the
//! recorded history, the controls failing and since when; then the assets by kind, the agents
//! gone silent and the newest refused submissions. Viewable as of a past instant.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};
use vouch_evidence::Timestamp;
use vouch_evidence::api::AssetSummary;
use vouch_policies::{ControlState, ControlStatus};

use super::controls::{Filter, badge, control_href, view_for};
use super::{SILENT_AFTER_SECS, WebUser, asset_href, internal, is_silent, page};
use crate::controls::history::{self, TrendPoint};
use crate::state::AppState;
use crate::store::ControlChange;

/// Days the trend covers.
pub const TREND_DAYS: u32 = 90;

/// The states the overview counts, in the order the chart stacks them (bottom first).
const STACKED: [ControlState; 7] = [
    ControlState::Pass,
    ControlState::Accepted,
    ControlState::Manual,
    ControlState::NoEvidence,
    ControlState::Stale,
    ControlState::Error,
    ControlState::Fail,
];

fn colour(s: ControlState) -> &'static str {
    match s {
        ControlState::Pass => "#2e9e4f",
        ControlState::Fail => "#d0362b",
        ControlState::Accepted => "#4a78d0",
        ControlState::Stale => "#e0a800",
        ControlState::Manual => "#9aa0aa",
        ControlState::Error => "#9b3fc4",
        ControlState::NoEvidence | ControlState::NotApplicable => "#cfd3da",
    }
}

/// `/`: see the module documentation.
pub(super) async fn overview(
    user: WebUser,
    State(state): State<AppState>,
    Query(filter): Query<Filter>,
) -> Response {
    // Without policy evaluation (a server that only stores evidence) the page shows the assets.
    let judged = if state.policies().is_some() {
        let (policies, view) = match view_for(&state, &user, "Overview", &filter).await {
            Ok(found) => found,
            Err(page) => return page,
        };
        match policies.history(None).await {
            Ok(h) => Some((view, h)),
            Err(e) => return internal(e),
        }
    } else {
        None
    };
    let as_of = match filter.instant() {
        Ok(t) => t,
        Err(problem) => {
            return page(
                "Overview",
                Some(&user),
                html! { p.badge.fail { (problem) } },
            )
            .into_response();
        }
    };
    let at = judged
        .as_ref()
        .map_or_else(|| as_of.unwrap_or_else(crate::clock::now), |(v, _)| v.at);
    let assets = match super::chains_at(&state, as_of, None).await {
        Ok(a) => a,
        Err(e) => return internal(e),
    };
    // Refusals of enrolled agents (kept) and of unknown clients (held in memory), newest first.
    let mut rejections = state.store().rejections(10).await.unwrap_or_default();
    rejections.extend(state.refusals().recent());
    rejections.sort_by_key(|r| std::cmp::Reverse(r.at));
    let rejections: Vec<_> = rejections
        .into_iter()
        .filter(|r| r.at <= at)
        .take(10)
        .collect();
    let assets: Vec<&AssetSummary> = assets.iter().collect();
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &assets {
        *by_kind.entry(a.kind.as_str()).or_default() += 1;
    }
    let silent: Vec<&&AssetSummary> = assets.iter().filter(|a| is_silent(a, at)).collect();
    let frameworks: Vec<(&str, &str)> = state
        .catalogs()
        .iter()
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();
    page(
        "Overview",
        Some(&user),
        html! {
            h1 { "Overview" }
            form method="get" action="/" {
                "As of "
                input type="text" name="as_of" value=(filter.as_of) placeholder="now, or YYYY-MM-DD" size="22";
                " "
                button type="submit" { "Show" }
                span.muted { " · " (at) }
                @if let Some((view, _)) = &judged { span.muted { " · " (view.assets) @if view.assets == 1 { " asset" } @else { " assets" } " with judged evidence" } }
            }
            @if let Some((view, history)) = &judged {
                @for (id, name) in &frameworks {
                    @let controls: Vec<&ControlStatus> = view.controls.iter().filter(|c| c.control.framework == *id).collect();
                    @let rows: Vec<&ControlChange> = history.iter().filter(|h| h.framework == *id).collect();
                    (framework_section(id, name, &controls, &rows, at, &filter))
                }
            } @else {
                p.muted { "Policy evaluation is off on this server: no control status." }
            }
            h2 { "Assets" }
            div.cards {
                div.card { div.num { (assets.len()) } "assets" }
                @for (kind, n) in &by_kind {
                    div.card { div.num { (n) } (kind) }
                }
                div.card { div.num { (silent.len()) } "silent for over " (SILENT_AFTER_SECS / 3600) " h" }
            }
            h2 { "Silent agents" }
            @if silent.is_empty() {
                p.muted { "Every asset reported within the " (SILENT_AFTER_SECS / 3600) " hours before " (at) "." }
            } @else {
                table {
                    tr { th { "asset" } th { "kind" } th { "agent" } th { "last received" } }
                    @for a in &silent {
                        tr {
                            td { a href=(asset_href(a)) { (a.name) } }
                            td { (a.kind) }
                            td { code { (a.agent_id) } }
                            td { span.badge.silent { (a.last_received_at) } }
                        }
                    }
                }
            }
            h2 { "Recent refused submissions" }
            @if rejections.is_empty() {
                p.muted { "None." }
            } @else {
                table {
                    tr { th { "at" } th { "reason" } th { "message" } th { "from" } }
                    @for r in &rejections {
                        tr { td { (r.at) } td { span.badge.fail { (r.reason) } } td { (r.message) } td { (r.remote) } }
                    }
                }
            }
        },
    )
    .into_response()
}

/// One framework: counts, the trend, the failing controls with their start.
fn framework_section(
    id: &str,
    name: &str,
    controls: &[&ControlStatus],
    rows: &[&ControlChange],
    at: Timestamp,
    filter: &Filter,
) -> Markup {
    let mut counts: BTreeMap<ControlState, usize> = BTreeMap::new();
    for c in controls {
        *counts.entry(c.status).or_default() += 1;
    }
    let owned: Vec<ControlChange> = rows.iter().map(|r| (*r).clone()).collect();
    let points = history::trend(&owned, at, TREND_DAYS);
    let failing: Vec<&&ControlStatus> = controls
        .iter()
        .filter(|c| matches!(c.status, ControlState::Fail | ControlState::Error))
        .collect();
    html! {
        section.framework id=(id) {
            h2 { (name) " " span.muted { "(" (id) ")" } (super::controls::provisional_mark(controls.iter().any(|c| c.provisional))) }
            div.cards {
                @for s in ControlState::ALL {
                    @if let Some(n) = counts.get(&s) {
                        div.card {
                            div.num { (n) }
                            a href=(format!("/controls?framework={id}&status={}{}", s.as_str(), as_of_param(filter))) { (badge(s)) }
                        }
                    }
                }
            }
            h3 { "Controls by status, last " (TREND_DAYS) " days" }
            (trend_chart(&points))
            @if failing.is_empty() {
                p.muted { "No control fails." }
            } @else {
                table {
                    tr { th { "failing control" } th { "title" } th { "status" } th { "since" } }
                    @for c in &failing {
                        tr {
                            td { a href=(control_href(c, filter)) { (c.control.control) } }
                            td { (c.title) }
                            td { (badge(c.status)) }
                            td { (since_text(&owned, c, at)) }
                        }
                    }
                }
            }
        }
    }
}

fn as_of_param(filter: &Filter) -> String {
    let q = filter.query();
    q.strip_prefix('?')
        .map(|s| format!("&{s}"))
        .unwrap_or_default()
}

/// "since …" for a control's status at `at`, from the history; "—" when the history does not
/// record that status then (it began before the history was kept).
pub(super) fn since_text(history: &[ControlChange], c: &ControlStatus, at: Timestamp) -> String {
    match history::at(history, &c.control.framework, &c.control.control, at) {
        Some((state, since)) if state == c.status => since.to_string(),
        _ => "—".into(),
    }
}

/// The trend as an inline SVG bar chart (no script), one stacked bar per day, with a legend
/// and the figures in a table for those who cannot see the colours.
fn trend_chart(points: &[TrendPoint]) -> Markup {
    const W: f64 = 900.0;
    const H: f64 = 160.0;
    let most = points
        .iter()
        .map(|p| p.counts.values().sum::<usize>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let bar = W / points.len().max(1) as f64;
    let mut svg = String::new();
    for (i, p) in points.iter().enumerate() {
        let mut y = H;
        for s in STACKED {
            let n = p.counts.get(&s).copied().unwrap_or(0);
            if n == 0 {
                continue;
            }
            let h = n as f64 / most * H;
            y -= h;
            svg.push_str(&format!(
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{}\"><title>{}: {n} {}</title></rect>",
                i as f64 * bar,
                (bar - 1.0).max(1.0),
                colour(s),
                &p.at.to_string()[..10],
                s.as_str()
            ));
        }
    }
    let recorded = points.iter().any(|p| !p.counts.is_empty());
    html! {
        @if !recorded {
            p.muted { "No control status recorded in this period yet." }
        } @else {
            figure.trend {
                svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {W} {H}")) width="100%" height="160" role="img" aria-label="controls by status per day" preserveAspectRatio="none" {
                    (PreEscaped(svg))
                }
                figcaption {
                    span.muted { (&points[0].at.to_string()[..10]) " … " (&points[points.len() - 1].at.to_string()[..10]) " · " }
                    @for s in STACKED {
                        span style=(format!("display:inline-block;width:.8em;height:.8em;background:{};margin:0 .25em 0 .6em", colour(s))) {}
                        (s.as_str().replace('_', " "))
                    }
                }
            }
            details {
                summary { "Figures per day" }
                table {
                    tr { th { "day" } @for s in STACKED { th { (s.as_str().replace('_', " ")) } } }
                    @for p in points.iter().rev() {
                        tr {
                            td { (&p.at.to_string()[..10]) }
                            @for s in STACKED { td { (p.counts.get(&s).copied().unwrap_or(0)) } }
                        }
                    }
                }
            }
        }
    }
}
