//! The period report, for certification and surveillance audits: over a framework and a date
//! range, each control's status at evenly spaced instants, the exceptions in force, the gaps in
//! agents' chains and the times agents were silent. HTML that prints cleanly to PDF.

use std::collections::BTreeMap;

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use vouch_evidence::api::SnapshotRef;
use vouch_evidence::{AssetKind, Timestamp};
use vouch_policies::ControlState;

use super::{SILENT_AFTER_SECS, WebUser, internal, page};
use crate::state::{AppState, parse_instant};
use crate::store::ControlChange;

/// How many instants the status table samples across the period.
pub const COLUMNS: i64 = 8;

/// Each control's status as recorded by `at` (its newest change recorded by then), from the
/// history (oldest first), by `framework:control`.
pub fn recorded_by(history: &[ControlChange], at: Timestamp) -> HashMap<String, ControlState> {
    let mut states = HashMap::new();
    for h in history.iter().filter(|h| h.recorded_at <= at) {
        if let Some(s) = ControlState::parse(&h.state) {
            states.insert(format!("{}:{}", h.framework, h.control), s);
        }
    }
    states
}

/// What a chain's snapshots in a period show about its completeness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// Sequence numbers are missing between two stored snapshots.
    Gap {
        /// The chain (kind, asset id, agent id).
        chain: (AssetKind, String, String),
        /// The last sequence before the gap.
        after: u64,
        /// The first sequence after it.
        before: u64,
    },
    /// No snapshot was collected for longer than the silence threshold.
    Silent {
        /// The chain.
        chain: (AssetKind, String, String),
        /// From (the last snapshot before the silence, or the period's start).
        from: Timestamp,
        /// To (the next snapshot, or the period's end).
        to: Timestamp,
    },
}

/// Gaps and silences of every chain over `[from, to)`, from the snapshots collected then.
pub fn findings(
    population: &[SnapshotRef],
    from: Timestamp,
    to: Timestamp,
    silent_after_secs: i64,
) -> Vec<Finding> {
    let mut chains: BTreeMap<(AssetKind, String, String), Vec<&SnapshotRef>> = BTreeMap::new();
    for s in population {
        chains
            .entry((s.asset_kind, s.asset_id.clone(), s.agent_id.clone()))
            .or_default()
            .push(s);
    }
    let limit = silent_after_secs * 1_000_000;
    let mut out = Vec::new();
    for (chain, mut snaps) in chains {
        snaps.sort_by_key(|s| s.sequence);
        for pair in snaps.windows(2) {
            if pair[1].sequence > pair[0].sequence + 1 {
                out.push(Finding::Gap {
                    chain: chain.clone(),
                    after: pair[0].sequence,
                    before: pair[1].sequence,
                });
            }
        }
        let mut times: Vec<Timestamp> = snaps.iter().map(|s| s.collected_at).collect();
        times.sort();
        let mut edges = vec![from];
        edges.extend(times);
        edges.push(to);
        for pair in edges.windows(2) {
            if pair[1].unix_micros() - pair[0].unix_micros() > limit {
                out.push(Finding::Silent {
                    chain: chain.clone(),
                    from: pair[0],
                    to: pair[1],
                });
            }
        }
    }
    out
}

/// Page parameters.
#[derive(Deserialize, Default)]
pub(super) struct PeriodQuery {
    #[serde(default)]
    framework: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

fn hours(from: Timestamp, to: Timestamp) -> String {
    format!(
        "{:.1} h",
        (to.unix_micros() - from.unix_micros()) as f64 / 3.6e9
    )
}

/// `/reports/period?framework=&from=&to=`.
pub(super) async fn period(
    user: WebUser,
    State(state): State<AppState>,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let Some(policies) = state.policies() else {
        return internal("policy evaluation is not running");
    };
    let framework = if q.framework.is_empty() {
        "iso27001-2022".to_string()
    } else {
        q.framework.clone()
    };
    let (Ok(from), Ok(to)) = (parse_instant(&q.from), parse_instant(&q.to)) else {
        return page(
            "Period report",
            Some(&user),
            html! {
                h1 { "Period report" }
                form method="get" action="/reports/period" {
                    input type="text" name="framework" value=(framework) size="16";
                    " from " input type="text" name="from" value=(q.from) placeholder="YYYY-MM-DD" size="12";
                    " to " input type="text" name="to" value=(q.to) placeholder="YYYY-MM-DD" size="12";
                    " " button type="submit" { "Report" }
                }
                @if !q.from.is_empty() || !q.to.is_empty() {
                    p.badge.fail { "from and to must be dates (YYYY-MM-DD) or RFC 3339 instants" }
                }
            },
        )
        .into_response();
    };
    if from >= to || state.catalogs().get(&framework).is_none() {
        return page(
            "Period report",
            Some(&user),
            html! { p.badge.fail { "from must be before to, and the framework a loaded catalog" } },
        )
        .into_response();
    }
    let step = (to.unix_micros() - from.unix_micros()) / COLUMNS;
    let instants: Vec<Timestamp> = (1..=COLUMNS)
        .filter_map(|i| Timestamp::from_unix_micros(from.unix_micros() + step * i - 1))
        .collect();
    // Each instant's statuses: from the recorded history of control statuses once it covers
    // the instant (each control's newest change recorded by then: as the server judged it
    // then), else from a control view made for the instant from the stored results (the eight
    // views side by side, one per core).
    let history = match policies.history(Some(&framework)).await {
        Ok(h) => h,
        Err(e) => return internal(e),
    };
    let history_from = history.iter().map(|h| h.recorded_at).min();
    let mut columns: Vec<Option<HashMap<String, ControlState>>> = vec![None; instants.len()];
    let mut tasks = tokio::task::JoinSet::new();
    for (i, at) in instants.iter().enumerate() {
        if history_from.is_some_and(|first| first <= *at) {
            columns[i] = Some(recorded_by(&history, *at));
        } else {
            let (policies, at) = (policies.clone(), *at);
            tasks.spawn(async move { (i, policies.controls(Some(at)).await) });
        }
    }
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((i, Ok(v))) => {
                columns[i] = Some(
                    v.controls
                        .iter()
                        .map(|c| (c.control.to_string(), c.status))
                        .collect(),
                );
            }
            Ok((_, Err(e))) => return internal(e),
            Err(e) => return internal(e),
        }
    }
    let columns: Vec<HashMap<String, ControlState>> = columns.into_iter().flatten().collect();
    // The applicable controls, in catalog order, from the view the dashboard keeps.
    let applicable = match policies.dashboard_view(None).await {
        Ok(v) => v,
        Err(e) => return internal(e),
    };
    let population = match state
        .store()
        .population(from, to, AssetKind::ALL.to_vec(), None)
        .await
    {
        Ok(p) => p,
        Err(e) => return internal(e),
    };
    let found = findings(&population, from, to, SILENT_AFTER_SECS);
    let exceptions = match state.store().exceptions().await {
        Ok(x) => x,
        Err(e) => return internal(e),
    };
    let exceptions: Vec<_> = exceptions
        .iter()
        .filter(|x| x.exception.created_at < to && x.exception.expires_at > from)
        .collect();
    let rows: Vec<(String, String, Vec<ControlState>)> = applicable
        .controls
        .iter()
        .filter(|c| c.control.framework == framework)
        .map(|c| {
            let id = c.control.to_string();
            let states = columns
                .iter()
                .map(|col| col.get(&id).copied().unwrap_or(ControlState::NoEvidence))
                .collect();
            (id, c.title.clone(), states)
        })
        .collect();
    let changed = rows
        .iter()
        .filter(|r| r.2.windows(2).any(|w| w[0] != w[1]))
        .count();
    page(
        "Period report",
        Some(&user),
        html! {
            h1 { "Period report — " (framework) }
            p.muted { "From " (from) " to " (to) " · " (population.len()) " snapshots collected · "
                (changed) " controls changed status · generated " (crate::clock::now()) }
            h2 { "Control status over the period" }
            table {
                tr { th { "control" } th { "title" } @for at in &instants { th { (at.to_string().get(..10).unwrap_or_default()) } } }
                @for (id, title, states) in &rows {
                    tr {
                        td { (id.split(':').nth(1).unwrap_or(id)) }
                        td { (title) }
                        @for s in states { td { span class=(format!("badge {}", s.as_str())) { (s.as_str().replace('_', " ")) } } }
                    }
                }
            }
            h2 { "Exceptions in force during the period (" (exceptions.len()) ")" }
            @if exceptions.is_empty() { p.muted { "None." } } @else {
                table {
                    tr { th { "id" } th { "policy" } th { "asset" } th { "owner" } th { "accepted by" } th { "from" } th { "until" } th { "justification" } }
                    @for x in &exceptions {
                        tr {
                            td { (x.id) } td { code { (x.exception.policy_id) } }
                            td { (x.exception.asset.as_ref().map_or("every asset".to_string(), |(k, id)| format!("{k}/{id}"))) }
                            td { (x.exception.owner) } td { (x.exception.created_by) }
                            td { (x.exception.created_at) } td { (x.exception.expires_at) }
                            td { (x.exception.justification) }
                        }
                    }
                }
            }
            h2 { "Gaps in chains" }
            @let gaps: Vec<&Finding> = found.iter().filter(|f| matches!(f, Finding::Gap { .. })).collect();
            @if gaps.is_empty() { p.muted { "No sequence number is missing in any chain over the period." } } @else {
                table {
                    tr { th { "asset" } th { "agent" } th { "missing" } }
                    @for f in &gaps {
                        @if let Finding::Gap { chain, after, before } = f {
                            tr { td { (chain.0) "/" (chain.1) } td { code { (chain.2) } } td { span.badge.fail { "sequences " (after + 1) "–" (before - 1) } } }
                        }
                    }
                }
            }
            h2 { "Agents silent for over " (SILENT_AFTER_SECS / 3600) " h" }
            @let silences: Vec<&Finding> = found.iter().filter(|f| matches!(f, Finding::Silent { .. })).collect();
            @if silences.is_empty() { p.muted { "Every agent reported throughout the period." } } @else {
                table {
                    tr { th { "asset" } th { "agent" } th { "from" } th { "to" } th { "for" } }
                    @for f in &silences {
                        @if let Finding::Silent { chain, from, to } = f {
                            tr { td { (chain.0) "/" (chain.1) } td { code { (chain.2) } } td { (from) } td { (to) } td { span.badge.silent { (hours(*from, *to)) } } }
                        }
                    }
                }
            }
        },
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vouch_evidence::Digest;

    /// The period report's status at an instant is what the server had recorded by then: a
    /// change recorded later (even about earlier evidence) is not shown yet.
    #[test]
    fn statuses_are_those_recorded_by_the_instant() {
        let t = |h: i64| {
            Timestamp::from_unix_micros(1_800_000_000_000_000 + h * 3_600_000_000).unwrap()
        };
        let row = |state: &str, since: i64, recorded: i64| ControlChange {
            framework: "iso27001-2022".into(),
            control: "A.8.8".into(),
            state: state.into(),
            since: t(since),
            recorded_at: t(recorded),
        };
        let history = vec![row("pass", 0, 1), row("fail", 2, 5)];
        let id = "iso27001-2022:A.8.8";
        assert!(recorded_by(&history, t(0)).is_empty());
        assert_eq!(recorded_by(&history, t(3))[id], ControlState::Pass);
        assert_eq!(recorded_by(&history, t(5))[id], ControlState::Fail);
    }

    fn snap(seq: u64, hour: i64) -> SnapshotRef {
        SnapshotRef {
            digest: Digest::of(&seq.to_le_bytes()),
            agent_id: "agt_1".into(),
            asset_kind: AssetKind::Host,
            asset_id: "m1".into(),
            sequence: seq,
            previous_digest: None,
            collected_at: Timestamp::from_unix_micros(1_790_000_000_000_000 + hour * 3_600_000_000)
                .unwrap(),
        }
    }

    /// A missing sequence is a gap; a stretch without snapshots longer than the threshold, at
    /// the edges of the period too, is a silence.
    #[test]
    fn gaps_and_silences_are_found() {
        let from = snap(0, 0).collected_at;
        let to = snap(0, 12).collected_at;
        let population = [snap(1, 1), snap(2, 2), snap(4, 3), snap(5, 8)];
        let f = findings(&population, from, to, 2 * 3600);
        let chain = (AssetKind::Host, "m1".to_string(), "agt_1".to_string());
        assert_eq!(
            f,
            vec![
                Finding::Gap {
                    chain: chain.clone(),
                    after: 2,
                    before: 4
                },
                Finding::Silent {
                    chain: chain.clone(),
                    from: snap(0, 3).collected_at,
                    to: snap(0, 8).collected_at
                },
                Finding::Silent {
                    chain,
                    from: snap(0, 8).collected_at,
                    to
                },
            ]
        );
    }
}
