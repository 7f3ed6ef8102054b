//! The control pages: every applicable control by status, per framework, now or as of an
//! instant; and one control with its failing assets, reasons, remediation, evidence ids and
//! manual evidence.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;
use vouch_evidence::{Snapshot, Timestamp};
use vouch_policies::{Attested, ControlState, ControlStatus};

use crate::controls::ControlsView;

use super::overview::since_text;
use super::{WebUser, internal, page, url_segment};
use crate::state::AppState;

/// Page parameters; empty strings (an empty form field) mean "not given".
#[derive(Deserialize, Default)]
pub(super) struct Filter {
    #[serde(default)]
    framework: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    pub(super) as_of: String,
    /// List every result of a control, however many (`1`).
    #[serde(default)]
    all: String,
}

impl Filter {
    /// The instant asked for: RFC 3339, or a date (midnight UTC); `Err` names the problem.
    pub(super) fn instant(&self) -> Result<Option<Timestamp>, String> {
        let t = self.as_of.trim();
        if t.is_empty() {
            return Ok(None);
        }
        crate::state::parse_instant(t).map(Some)
    }

    pub(super) fn query(&self) -> String {
        if self.as_of.trim().is_empty() {
            String::new()
        } else {
            format!("?as_of={}", url_segment(self.as_of.trim()))
        }
    }
}

/// The control view the page asks for (`as_of`), or the page to answer instead: a 500 when
/// evaluation is off or fails, the problem when the instant is not one.
pub(super) async fn view_for(
    state: &AppState,
    user: &WebUser,
    title: &str,
    filter: &Filter,
) -> Result<
    (
        std::sync::Arc<crate::controls::Policies>,
        std::sync::Arc<ControlsView>,
    ),
    Response,
> {
    let Some(policies) = state.policies().cloned() else {
        return Err(internal("policy evaluation is not running"));
    };
    let at = filter.instant().map_err(|problem| {
        page(
            title,
            Some(user),
            html! { h1 { (title) } p.badge.fail { (problem) } },
        )
        .into_response()
    })?;
    let view = policies.dashboard_view(at).await.map_err(internal)?;
    Ok((policies, view))
}

pub(super) fn badge(state: ControlState) -> Markup {
    html! { span class=(format!("badge {}", state.as_str())) { (state.as_str().replace('_', " ")) } }
}

/// What a provisional control (every ISO/IEC 27701:2025 one) is, for people.
pub(super) const PROVISIONAL: &str = "provisional: the ISO/IEC 27701:2025 id and its correspondence to the 2019 clause come from secondary sources and are not yet checked control by control";

/// The provisional flag beside a result, when the control is provisional.
pub(super) fn provisional_mark(provisional: bool) -> Markup {
    html! { @if provisional { " " span.badge.provisional title=(PROVISIONAL) { "provisional" } } }
}

/// How far a control is automated, why, and for a `partly` one the part its attestation covers.
fn level_text(c: &ControlStatus) -> Markup {
    html! {
        @match c.coverage {
            Some(l) => { strong { (l.as_str()) } }
            None => { span.muted { "unclassified" } }
        }
        @if let Some(why) = &c.rationale { " — " (why) }
        @if let Some(part) = &c.manual_part { br; "Manual part (attested): " (part) }
    }
}

pub(super) fn control_href(c: &ControlStatus, filter: &Filter) -> String {
    format!(
        "/controls/{}/{}{}",
        url_segment(&c.control.framework),
        url_segment(&c.control.control),
        filter.query()
    )
}

/// `/controls`: per framework, the controls by status, then the list.
pub(super) async fn controls(
    user: WebUser,
    State(state): State<AppState>,
    Query(filter): Query<Filter>,
) -> Response {
    let (policies, view) = match view_for(&state, &user, "Controls", &filter).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let frameworks: Vec<&str> = state.catalogs().iter().map(|c| c.id.as_str()).collect();
    let framework = if filter.framework.is_empty() {
        frameworks.first().copied().unwrap_or_default().to_string()
    } else {
        filter.framework.clone()
    };
    let of_framework: Vec<&ControlStatus> = view
        .controls
        .iter()
        .filter(|c| c.control.framework == framework)
        .collect();
    let mut counts: BTreeMap<ControlState, usize> = BTreeMap::new();
    for c in &of_framework {
        *counts.entry(c.status).or_default() += 1;
    }
    let history = match policies.history(Some(&framework)).await {
        Ok(h) => h,
        Err(e) => return internal(e),
    };
    let shown: Vec<&&ControlStatus> = of_framework
        .iter()
        .filter(|c| filter.status.is_empty() || c.status.as_str() == filter.status)
        .collect();
    page(
        "Controls",
        Some(&user),
        html! {
            h1 { "Controls — " (framework) }
            p.muted {
                "As of " (view.at) " · " (view.assets)
                @if view.assets == 1 { " asset" } @else { " assets" }
                " with judged evidence · pack "
                code { (view.pack.get(..12).unwrap_or_default()) }
            }
            form method="get" action="/controls" {
                select name="framework" {
                    @for f in &frameworks {
                        option value=(f) selected[*f == framework] { (f) }
                    }
                }
                " "
                select name="status" {
                    option value="" { "any status" }
                    @for s in ControlState::ALL {
                        option value=(s.as_str()) selected[filter.status == s.as_str()] { (s.as_str().replace('_', " ")) }
                    }
                }
                " as of "
                input type="text" name="as_of" value=(filter.as_of) placeholder="now, or YYYY-MM-DD" size="22";
                " "
                button type="submit" { "Show" }
            }
            div.cards {
                @for s in ControlState::ALL {
                    @if let Some(n) = counts.get(&s) {
                        div.card { div.num { (n) } (badge(s)) }
                    }
                }
            }
            table {
                tr { th { "control" } th { "title" } th { "status" } th { "since" } th { "coverage" } th { "results" } }
                @for c in &shown {
                    tr {
                        td { a href=(control_href(c, &filter)) { (c.control.control) } }
                        td { (c.title) }
                        td { (badge(c.status)) (provisional_mark(c.provisional)) }
                        td.muted { (since_text(&history, c, view.at)) }
                        td { span title=(c.rationale.as_deref().unwrap_or_default()) { (c.coverage.map_or("—", |l| l.as_str())) } }
                        td {
                            @if c.outcomes.is_empty() {
                                span.muted { "—" }
                            } @else {
                                (c.count(ControlState::Pass)) " of " (c.outcomes.len()) " pass"
                            }
                            @let failing = c.count(ControlState::Fail);
                            @if failing > 0 { " · " span.badge.fail { (failing) " fail" } }
                        }
                    }
                }
            }
            @if super::actions::may_manage(&user) {
                h2 { "The policy pack" }
                form.act method="post" action="/act" {
                    (super::actions::form_head(&user, "reload", "/controls"))
                    button type="submit" { "Reload the policy pack" }
                }
                details {
                    summary { "Re-judge a period with the pack in force" }
                    form.act method="post" action="/act" {
                        (super::actions::form_head(&user, "evaluation", "/controls"))
                        label { "From " input type="date" name="from" required; }
                        label { "To " input type="date" name="to" required; }
                        label { "Why " input type="text" name="reason" size="60" required; }
                        button type="submit" { "Re-judge" }
                    }
                }
            }
        },
    )
    .into_response()
}

/// `/controls/{framework}/{control}`: one control in full.
pub(super) async fn control(
    user: WebUser,
    State(state): State<AppState>,
    Path((framework, id)): Path<(String, String)>,
    Query(filter): Query<Filter>,
) -> Response {
    let (policies, view) = match view_for(&state, &user, "Control", &filter).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let Some(c) = view
        .controls
        .iter()
        .find(|c| c.control.framework == framework && c.control.control == id)
    else {
        return (
            axum::http::StatusCode::NOT_FOUND,
            page("Control", Some(&user), html! { h1 { "No control " (framework) ":" (id) } p { "It is in no loaded catalog, or does not apply to this organisation." } }),
        )
            .into_response();
    };
    // What every reader sees alike is rendered once per view shown now (see
    // `state::Rendered`); a view of a past instant is rendered for its request.
    let key = format!(
        "control\0{framework}\0{id}\0{}\0{}\0{}",
        filter.framework, filter.status, filter.all
    );
    let body = if filter.as_of.trim().is_empty() {
        state
            .rendered()
            .get_or_render(&view, &key, || async {
                Ok(control_body(&state, &policies, &view, c, &filter)
                    .await?
                    .into_string())
            })
            .await
    } else {
        control_body(&state, &policies, &view, c, &filter)
            .await
            .map(|b| Arc::<str>::from(b.into_string()))
    };
    let body = match body {
        Ok(body) => body,
        Err(page) => return page,
    };
    page(
        &c.control.to_string(),
        Some(&user),
        html! {
            (PreEscaped(&*body))
            @if super::actions::may_manage(&user) {
                (act_on_control(&user, c))
            }
        },
    )
    .into_response()
}

/// The part of a control's page every reader sees alike: its status, results, evidence
/// excerpts and history.
async fn control_body(
    state: &AppState,
    policies: &crate::controls::Policies,
    view: &ControlsView,
    c: &ControlStatus,
    filter: &Filter,
) -> Result<Markup, Response> {
    let history = policies
        .history(Some(&c.control.framework))
        .await
        .map_err(internal)?;
    // Evidence excerpts: the values behind the first failing results, from their snapshots.
    let mut excerpts: HashMap<String, Snapshot> = HashMap::new();
    for o in c
        .outcomes
        .iter()
        .filter(|o| o.state != ControlState::Pass)
        .take(EXCERPTS)
    {
        let key = format!("{}/{}", o.asset.kind, o.asset.id);
        if excerpts.contains_key(&key) {
            continue;
        }
        let Some(digest) = view
            .snapshots
            .get(&key)
            .and_then(|(d, _)| d.parse::<vouch_evidence::Digest>().ok())
        else {
            continue;
        };
        if let Some(snapshot) = super::stored_snapshot(state, digest).await {
            excerpts.insert(key, snapshot);
        }
    }
    let thresholds = thresholds(policies.in_force().pack(), &c.control);
    Ok(html! {
            h1 { (c.control) " " (c.title) " " (badge(c.status)) (provisional_mark(c.provisional)) }
            p.muted {
                "As of " (view.at) " · " (c.status.as_str().replace('_', " ")) " since " (since_text(&history, c, view.at))
                " · coverage " (c.coverage.map_or("unclassified", |l| l.as_str()))
                " · " a href=(format!("/controls?framework={}", url_segment(&c.control.framework))) { "all controls" }
            }
            p.level { "Coverage: " (level_text(c)) }
            @if c.provisional { p.muted { "This result is " (PROVISIONAL) "." } }
            @if let Some(missing) = &c.missing { p { "Missing: " (missing) } }
            @match &c.attested {
                Some(Attested::Holds { reference, by, until }) => {
                    p { "Attested by " (by) ", holds until " (until) " · " a href=(format!("/v1/attestations/{reference}")) { "signed attestation" } }
                }
                Some(Attested::Expired { reference, until }) => {
                    p { span.badge.stale { "attestation expired " (until) } " · " a href=(format!("/v1/attestations/{reference}")) { "last attestation" } }
                }
                Some(Attested::Missing) => {
                    p { span.badge.manual { "manual evidence needed" } " — record an attestation: " code { "vouch evidence add --control " (c.control) " …" } }
                }
                None => {}
            }
            (thresholds)
            h2 { "Policy results (" (c.outcomes.len()) ")" }
            @if c.outcomes.is_empty() {
                p.muted { "No policy result speaks of this control." }
            } @else {
                (policy_summary(c))
                @let others: Vec<_> = c.outcomes.iter().filter(|o| o.state != ControlState::Pass).collect();
                @let passing = c.outcomes.len() - others.len();
                @let listed = if filter.all.is_empty() { ROWS } else { usize::MAX };
                @if !others.is_empty() {
                    h3 { "Results other than pass (" (others.len()) "), worst first" }
                    (outcome_rows(others.iter().copied().take(listed), &excerpts))
                    @if others.len() > listed {
                        p.muted { "… and " (others.len() - listed) " more: " a href=(all_href(c, filter)) { "list every result" } }
                    }
                }
                @if passing > 0 {
                    h3 { "Passing results (" (passing) ")" }
                    @if passing <= ROWS || !filter.all.is_empty() {
                        (outcome_rows(c.outcomes.iter().filter(|o| o.state == ControlState::Pass), &excerpts))
                    } @else {
                        p.muted { (passing) " results pass. " a href=(all_href(c, filter)) { "List every result" } " (a long page), or open an asset." }
                    }
                }
            }
            @let mine: Vec<_> = history.iter().filter(|h| h.control == c.control.control && h.since <= view.at).collect();
            h2 { "History" }
            @if mine.is_empty() {
                p.muted { "No change of status recorded by " (view.at) "." }
            } @else {
                table {
                    tr { th { "from" } th { "status" } th { "recorded" } }
                    @for h in mine.iter().rev().take(50) {
                        tr {
                            td { a href=(format!("/controls/{}/{}?as_of={}", url_segment(&h.framework), url_segment(&h.control), url_segment(&h.since.to_string()))) { (h.since) } }
                            td { (ControlState::parse(&h.state).map(badge).unwrap_or_else(|| html! { (h.state) })) }
                            td.muted { (h.recorded_at) }
                        }
                    }
                }
                @if mine.len() > 50 { p.muted { "… and " (mine.len() - 50) " earlier changes." } }
            }
    })
}

/// The forms of a control's page for those who manage it: attest its manual part, accept the
/// risk of one of its failing policies. Each write is recorded with the person.
fn act_on_control(user: &WebUser, c: &ControlStatus) -> Markup {
    let back = format!(
        "/controls/{}/{}",
        url_segment(&c.control.framework),
        url_segment(&c.control.control)
    );
    let failing: BTreeSet<&str> = c
        .outcomes
        .iter()
        .filter(|o| o.state == ControlState::Fail)
        .map(|o| o.policy.id.as_str())
        .collect();
    let by = user
        .session
        .person
        .as_ref()
        .map(|p| p.short())
        .unwrap_or_default();
    html! {
        h2 { "Act on this control" }
        details {
            summary { "Record an attestation" }
            form.act method="post" action="/act" {
                (super::actions::form_head(user, "attestation", &back))
                input type="hidden" name="control" value=(c.control);
                label { "Statement " textarea name="statement" rows="3" cols="70" required {} }
                label { "Attested by " input type="text" name="attested_by" value=(by) required; }
                label { "Valid until " input type="date" name="valid_until" required; }
                button type="submit" { "Record attestation" }
            }
        }
        @if !failing.is_empty() {
            details {
                summary { "Accept the risk of a failing policy" }
                form.act method="post" action="/act" {
                    (super::actions::form_head(user, "exception", &back))
                    label { "Policy " select name="policy" { @for p in &failing { option value=(p) { (p) } } } }
                    label { "Asset (kind/id; empty: every asset) " input type="text" name="asset" placeholder="host/web-1"; }
                    label { "Justification " textarea name="justification" rows="3" cols="70" required {} }
                    label { "Risk owner " input type="text" name="owner" required; }
                    label { "Until " input type="date" name="expires" required; }
                    button type="submit" { "Accept the risk" }
                }
            }
        }
    }
}

/// Rows listed per table before the page asks to list every result (`all=1`).
const ROWS: usize = 200;

fn all_href(c: &ControlStatus, filter: &Filter) -> String {
    let href = control_href(c, filter);
    let sep = if href.contains('?') { '&' } else { '?' };
    format!("{href}{sep}all=1")
}

/// The organisation parameters the policies of `control` judge with (configured in
/// `[policies.organisation.parameters]`), with their values in force; nothing when none does.
fn thresholds(pack: &vouch_policies::PolicyPack, control: &vouch_policies::ControlId) -> Markup {
    let mut used: BTreeMap<&str, (&vouch_policies::ParameterInfo, Vec<&str>)> = BTreeMap::new();
    for p in pack
        .policies()
        .iter()
        .filter(|p| p.controls.contains(control))
    {
        for info in pack.parameters_of(&p.id) {
            used.entry(info.name)
                .or_insert_with(|| (info, Vec::new()))
                .1
                .push(&p.id);
        }
    }
    let values = &pack.config().parameters;
    html! {
        @if !used.is_empty() {
            h2 { "Thresholds" }
            p.muted { "Set by the organisation in " code { "[policies.organisation.parameters]" } " (defaults: the CIS benchmarks' values)." }
            table {
                tr { th { "parameter" } th { "value" } th { "meaning" } th { "policies" } }
                @for (name, (info, ids)) in &used {
                    tr {
                        td { code { (name) } }
                        td { (values.value(name).unwrap_or_default()) }
                        td { (info.meaning) }
                        td { @for id in ids { code.muted { (id) } " " } }
                    }
                }
            }
        }
    }
}

/// Per policy of a control: its counts by state and, once, its remediation.
fn policy_summary(c: &ControlStatus) -> Markup {
    let mut by_policy: BTreeMap<
        &str,
        (
            &vouch_policies::PolicyOutcome,
            BTreeMap<ControlState, usize>,
        ),
    > = BTreeMap::new();
    for o in &c.outcomes {
        *by_policy
            .entry(o.policy.id.as_str())
            .or_insert_with(|| (o, BTreeMap::new()))
            .1
            .entry(o.state)
            .or_default() += 1;
    }
    html! {
        table {
            tr { th { "policy" } th { "results" } th { "remediation" } }
            @for (o, counts) in by_policy.values() {
                tr {
                    td { (o.policy.title) br; code.muted { (o.policy.id) } " · " (o.policy.severity.as_str()) }
                    td { @for (s, n) in counts { (badge(*s)) " " (n) " " } }
                    td { "Remediation: " (o.policy.remediation) }
                }
            }
        }
    }
}

/// An evidence item's value for a table cell: at most 160 characters.
fn excerpt(item: &vouch_evidence::EvidenceItem) -> String {
    let text = super::shown(Some(item));
    match text.char_indices().nth(160) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// Failing results shown with the values of their evidence.
const EXCERPTS: usize = 20;

/// One row per outcome: asset, policy, state, reason, evidence (with its value when the
/// asset's snapshot is among `excerpts`).
fn outcome_rows<'a>(
    outcomes: impl Iterator<Item = &'a vouch_policies::PolicyOutcome>,
    excerpts: &HashMap<String, Snapshot>,
) -> Markup {
    html! {
        table {
            tr { th { "asset" } th { "policy" } th { "status" } th { "why" } th { "evidence" } }
            @for o in outcomes {
                tr {
                    td { a href=(format!("/assets/{}/{}", o.asset.kind, url_segment(&o.asset.id))) { (o.asset.name) } br; span.muted { (o.asset.kind) } }
                    td { code { (o.policy.id) } }
                    td { (badge(o.state)) }
                    td { (o.reason) }
                    td {
                        @let snapshot = excerpts.get(&format!("{}/{}", o.asset.kind, o.asset.id));
                        @for e in o.evidence.iter() {
                            code { (e) }
                            @if let Some(item) = snapshot.and_then(|s| s.evidence.get(e)) {
                                " = " code.excerpt { (excerpt(item)) }
                            }
                            br;
                        }
                        span.muted { "collected " (o.collected_at) }
                    }
                }
            }
        }
    }
}

/// `/reports/soa`: the Statement of Applicability of one framework, as of an instant: every
/// control, applicable or excluded with its justification, its implementation status and links
/// to its evidence. Prints cleanly to PDF.
pub(super) async fn soa(
    user: WebUser,
    State(state): State<AppState>,
    Query(filter): Query<Filter>,
) -> Response {
    let framework = if filter.framework.is_empty() {
        "iso27001-2022".to_string()
    } else {
        filter.framework.clone()
    };
    let Some(catalog) = state.catalogs().get(&framework) else {
        return (
            axum::http::StatusCode::NOT_FOUND,
            page(
                "Statement of Applicability",
                Some(&user),
                html! { h1 { "No framework " (framework) } },
            ),
        )
            .into_response();
    };
    let (policies, view) =
        match view_for(&state, &user, "Statement of Applicability", &filter).await {
            Ok(found) => found,
            Err(page) => return page,
        };
    let statuses: BTreeMap<String, &ControlStatus> = view
        .controls
        .iter()
        .map(|c| (c.control.to_string(), c))
        .collect();
    let exclusions = policies.exclusions();
    let role = policies
        .in_force()
        .pack()
        .config()
        .roles
        .get(&framework)
        .copied();
    let mut applicable = 0;
    let mut counts: BTreeMap<ControlState, usize> = BTreeMap::new();
    for c in &catalog.controls {
        if let (Some(s), false) = (
            statuses.get(&c.id.to_string()),
            exclusions.contains_key(&c.id.to_string()),
        ) {
            applicable += 1;
            *counts.entry(s.status).or_default() += 1;
        }
    }
    page(
        "Statement of Applicability",
        Some(&user),
        html! {
            h1 { "Statement of Applicability — " (catalog.name) }
            p.muted {
                "As of " (view.at) " · pack " code { (view.pack.get(..12).unwrap_or_default()) }
                " · " (applicable) " of " (catalog.controls.len()) " controls applicable"
                @if let Some(r) = role { " · the organisation acts as PII " (format!("{r:?}").to_lowercase()) }
            }
            @if catalog.controls.iter().any(|c| c.provisional) {
                p { span.badge.provisional { "provisional" } " Controls so marked are " (PROVISIONAL) "." }
            }
            div.cards {
                @for (s, n) in &counts { div.card { div.num { (n) } (badge(*s)) } }
            }
            table {
                tr { th { "control" } th { "title" } th { "applicable" } th { "justification" } th { "status" } th { "evidence" } }
                @for c in &catalog.controls {
                    @let id = c.id.to_string();
                    @let status = statuses.get(&id);
                    tr {
                        td { (c.id.control) (provisional_mark(c.provisional)) }
                        td { (c.title) @if let Some(t) = &c.theme { br; span.muted { (t) } } }
                        @if let Some(why) = exclusions.get(&id) {
                            td { "no" }
                            td { (why) }
                            td { span.muted { "excluded" } }
                            td {}
                        } @else if let Some(s) = status {
                            td { "yes" }
                            td {
                                @match s.coverage {
                                    Some(_) => { "evidenced " (level_text(s)) }
                                    None => { "required by the framework" }
                                }
                            }
                            td {
                                (badge(s.status)) (provisional_mark(s.provisional))
                                @if let Some(m) = &s.missing { br; span.muted { "missing " (m) } }
                            }
                            td {
                                @if !s.outcomes.is_empty() {
                                    (s.count(ControlState::Pass)) " of " (s.outcomes.len()) " policy results pass · "
                                }
                                @if let Some(Attested::Holds { reference, until, .. }) = &s.attested {
                                    a href=(format!("/v1/attestations/{reference}")) { "attestation" } " until " (until) " · "
                                }
                                a href=(control_href(s, &filter)) { "details" }
                            }
                        } @else {
                            td { "no" }
                            td { "applies to another PII role than the organisation's" }
                            td { span.muted { "excluded" } }
                            td {}
                        }
                    }
                }
            }
        },
    )
    .into_response()
}
