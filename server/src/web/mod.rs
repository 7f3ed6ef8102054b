//! The dashboard: server-rendered HTML (no script, no external CDN), readable on a projector.
//! Login is by API token; the browser then holds a signed session cookie ([`session`]).
//!
//! Pages: the overview (assets by kind, silent agents, recent refusals), the asset list with
//! filters, and an asset (chain health, latest evidence by area, drift since the previous
//! snapshot). Every page answers in one request to the store per list it shows.

mod controls;
mod overview;
mod period;
pub mod session;

use std::collections::{BTreeMap, BTreeSet};

use axum::Form;
use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;
use vouch_evidence::api::{AssetSummary, RejectReason, SampleQuery};
use vouch_evidence::{AssetKind, EvidenceItem, ItemStatus, Snapshot, Timestamp};

use crate::auth::{Role, hash_token};
use crate::state::{AppState, now};

/// An agent whose newest snapshot arrived longer ago than this is listed as silent.
pub const SILENT_AFTER_SECS: i64 = 2 * 3600;

/// The dashboard's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview::overview))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/controls", get(controls::controls))
        .route("/controls/{framework}/{control}", get(controls::control))
        .route("/reports/soa", get(controls::soa))
        .route("/reports/period", get(period::period))
        .route("/assets", get(assets))
        .route("/assets/{kind}/{id}", get(asset))
        .route("/sample", get(sample_page))
}

/// A signed-in person (any role that may read evidence).
pub struct WebUser(pub Role, pub String);

impl FromRequestParts<AppState> for WebUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let cookie = session::cookies(&parts.headers);
        let cookie = cookie.as_deref();
        match session::role(state, cookie).await {
            Some(role) if role.can_read_evidence() => {
                crate::auth::log_read(role, &parts.method, &parts.uri);
                Ok(WebUser(role, session::csrf_of(cookie).unwrap_or_default()))
            }
            _ => Err(Redirect::to("/login").into_response()),
        }
    }
}

const STYLE: &str = "
body{font:18px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#111;background:#fff}
header{background:#12263a;color:#fff;padding:.6em 1.2em;display:flex;gap:1.5em;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}header form{margin-left:auto}
main{padding:1em 1.2em;max-width:1300px}h1{font-size:1.6em;margin:.3em 0}h2{font-size:1.25em;margin-top:1.4em}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #ccd;vertical-align:top}
th{background:#eef1f5}tr:nth-child(even) td{background:#f8f9fb}code{font-size:.9em;word-break:break-all}
.badge{display:inline-block;padding:.05em .55em;border-radius:.8em;font-weight:700;font-size:.85em}
.ok,.pass{background:#d7f5dd;color:#0b5a1c}.fail{background:#ffd9d6;color:#8a1209}.stale,.silent{background:#ffefc2;color:#6b4b00}
.unavailable,.manual,.no_evidence,.not_applicable{background:#e6e6ea;color:#333}.accepted{background:#dde8ff;color:#123f8c}.error{background:#f3d9ff;color:#5c0b7a}.num{font-size:2em;font-weight:700}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ccd;border-radius:.4em;padding:.6em 1em;min-width:10em}
input,select,button{font:inherit;padding:.25em .5em}.muted{color:#555}
@media print{header{display:none}}
";

fn page(title: &str, user: Option<&WebUser>, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " — Vouch" }
                    style { (PreEscaped(STYLE)) }
                }
                body {
                    header {
                        a href="/" { "Vouch" }
                        @if let Some(u) = user {
                            a href="/" { "Overview" }
                            a href="/controls" { "Controls" }
                            a href="/reports/soa" { "SoA" }
                            a href="/reports/period" { "Period report" }
                            a href="/assets" { "Assets" }
                            a href="/sample" { "Sample" }
                            form method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(u.1);
                                span.muted style="color:#cfd8e3" { (u.0.as_str()) " " }
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                    main { (body) }
                }
            }
        }
        .into_string(),
    )
}

async fn login_form() -> Response {
    login_response(StatusCode::OK, None)
}

/// The sign-in page with `status` and `error`, and a fresh CSRF token: in a `__Host-` cookie
/// (which no other site, not even a sibling subdomain, can set) and in the form; the post
/// must carry both, equal.
fn login_response(status: StatusCode, error: Option<&str>) -> Response {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        return internal("no randomness for a CSRF token");
    }
    let csrf = hex::encode(bytes);
    (
        status,
        [(header::SET_COOKIE, session::login_csrf_cookie(&csrf))],
        login_page(error, &csrf),
    )
        .into_response()
}

fn login_page(error: Option<&str>, csrf: &str) -> Html<String> {
    page(
        "Sign in",
        None,
        html! {
            h1 { "Sign in" }
            p { "Paste an API token (" code { "vouch token create --role auditor" } ")." }
            @if let Some(e) = error { p.badge.fail { (e) } }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(csrf);
                input type="password" name="token" size="60" autocomplete="off" required;
                " "
                button type="submit" { "Sign in" }
            }
        },
    )
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
    #[serde(default)]
    csrf: String,
}

fn cross_site(state: &AppState, why: &str) -> Response {
    state.metrics().rejected(RejectReason::CrossSite);
    (
        StatusCode::FORBIDDEN,
        page(
            "Refused",
            None,
            html! { h1 { "Refused" } p { (why) } p { a href="/login" { "Sign in again" } } },
        ),
    )
        .into_response()
}

async fn login(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let cookies = session::cookies(&headers);
    let cookie = session::cookie(cookies.as_deref(), session::LOGIN_CSRF_COOKIE);
    if form.csrf.is_empty() || cookie != Some(form.csrf.as_str()) {
        return cross_site(
            &state,
            "the sign-in form's CSRF token is missing or does not match: sign in from this server's own page",
        );
    }
    let hash = hash_token(&form.token);
    match state.token_role(hash).await {
        Ok(Ok(role)) if role.can_read_evidence() => (
            StatusCode::SEE_OTHER,
            [
                (header::SET_COOKIE, session::issue(&state, hash, role)),
                (header::LOCATION, "/".to_string()),
            ],
        )
            .into_response(),
        Ok(Ok(role)) => login_response(
            StatusCode::FORBIDDEN,
            Some(&format!("role {role} may not use the dashboard")),
        ),
        Ok(Err(refusal)) => {
            let message = match refusal {
                crate::state::TokenRefusal::Unknown => "unknown token".to_string(),
                crate::state::TokenRefusal::Expired(at) => format!("this token expired at {at}"),
                crate::state::TokenRefusal::Revoked(at) => {
                    format!("this token was revoked at {at}")
                }
            };
            login_response(StatusCode::UNAUTHORIZED, Some(&message))
        }
        Err(e) => {
            tracing::error!(error = %e, "login lookup failed");
            login_response(StatusCode::INTERNAL_SERVER_ERROR, Some("internal error"))
        }
    }
}

#[derive(Deserialize)]
struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    let expected = session::csrf_of(session::cookies(&headers).as_deref());
    if expected.is_none_or(|e| e != form.csrf) {
        return cross_site(&state, "the sign-out form's CSRF token does not match");
    }
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, session::clear()),
            (header::LOCATION, "/login".to_string()),
        ],
    )
        .into_response()
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "dashboard page failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

/// The `as_of` parameter of a page: none, an instant, or the page naming the problem (400).
fn as_of_param(
    text: &str,
    title: &str,
    user: &WebUser,
) -> Result<Option<Timestamp>, Box<Response>> {
    match text.trim() {
        "" => Ok(None),
        t => crate::state::parse_instant(t).map(Some).map_err(|problem| {
            Box::new(
                (
                    StatusCode::BAD_REQUEST,
                    page(title, Some(user), html! { p.badge.fail { (problem) } }),
                )
                    .into_response(),
            )
        }),
    }
}

/// The asset chains (of one asset: `only`) now, or as they stood at `as_of`.
async fn chains_at(
    state: &AppState,
    as_of: Option<Timestamp>,
    only: Option<(AssetKind, String)>,
) -> Result<Vec<AssetSummary>, crate::store::StoreError> {
    match (as_of, only) {
        (None, None) => state.store().assets().await,
        (None, Some((kind, id))) => Ok(state
            .store()
            .assets()
            .await?
            .into_iter()
            .filter(|a| a.kind == kind && a.id == id)
            .collect()),
        (Some(t), only) => state.store().assets_as_of(t, only).await,
    }
}

fn is_silent(a: &AssetSummary, at: Timestamp) -> bool {
    at.unix_micros() - a.last_received_at.unix_micros() > SILENT_AFTER_SECS * 1_000_000
}

fn asset_href(a: &AssetSummary) -> String {
    format!("/assets/{}/{}", a.kind, url_segment(&a.id))
}

/// Percent-encodes a path segment.
fn url_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Deserialize)]
struct AssetFilter {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    /// `key=value`, or `key` for any value.
    #[serde(default)]
    tag: String,
    #[serde(default)]
    as_of: String,
}

impl AssetFilter {
    fn tag_matches(&self, a: &AssetSummary) -> bool {
        let t = self.tag.trim();
        if t.is_empty() {
            return true;
        }
        match t.split_once('=') {
            Some((k, v)) => a.tags.get(k.trim()).is_some_and(|x| x == v.trim()),
            None => a.tags.contains_key(t),
        }
    }
}

/// The assets with a failing policy result at `at` (now: `None`), by kind and id; `None`
/// when policy evaluation is off.
async fn failing_assets(
    state: &AppState,
    at: Option<Timestamp>,
) -> Result<Option<BTreeSet<(String, String)>>, String> {
    let Some(policies) = state.policies() else {
        return Ok(None);
    };
    let view = policies
        .dashboard_view(at)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Some(
        view.controls
            .iter()
            .flat_map(|c| &c.outcomes)
            .filter(|o| o.state == vouch_policies::ControlState::Fail)
            .map(|o| (o.asset.kind.as_str().to_string(), o.asset.id.clone()))
            .collect(),
    ))
}

async fn assets(
    user: WebUser,
    State(state): State<AppState>,
    Query(filter): Query<AssetFilter>,
) -> Response {
    let as_of = match as_of_param(&filter.as_of, "Assets", &user) {
        Ok(t) => t,
        Err(page) => return *page,
    };
    let all = match chains_at(&state, as_of, None).await {
        Ok(a) => a,
        Err(e) => return internal(e),
    };
    let failing = if matches!(filter.status.as_str(), "failing" | "passing") {
        match failing_assets(&state, as_of).await {
            Ok(f) => f,
            Err(e) => return internal(e),
        }
    } else {
        None
    };
    let at = as_of.unwrap_or_else(now);
    let q = filter.q.to_lowercase();
    let shown: Vec<&AssetSummary> = all
        .iter()
        .filter(|a| filter.kind.is_empty() || a.kind.as_str() == filter.kind)
        .filter(|a| {
            q.is_empty() || a.name.to_lowercase().contains(&q) || a.id.to_lowercase().contains(&q)
        })
        .filter(|a| filter.tag_matches(a))
        .filter(|a| {
            let fails = || {
                failing
                    .as_ref()
                    .is_some_and(|f| f.contains(&(a.kind.as_str().to_string(), a.id.clone())))
            };
            match filter.status.as_str() {
                "silent" => is_silent(a, at),
                "reporting" => !is_silent(a, at),
                "failing" => fails(),
                "passing" => failing.is_some() && !fails(),
                _ => true,
            }
        })
        .collect();
    let tag_keys: BTreeSet<&str> = all
        .iter()
        .flat_map(|a| a.tags.keys().map(String::as_str))
        .collect();
    page(
        "Assets",
        Some(&user),
        html! {
            h1 { "Assets" }
            form method="get" action="/assets" {
                select name="kind" {
                    option value="" { "every kind" }
                    @for k in AssetKind::ALL {
                        option value=(k.as_str()) selected[filter.kind == k.as_str()] { (k.as_str()) }
                    }
                }
                " "
                select name="status" {
                    option value="" { "any status" }
                    @for (v, label) in [("reporting", "reporting"), ("silent", "silent"), ("failing", "failing a policy"), ("passing", "failing none")] {
                        option value=(v) selected[filter.status == v] { (label) }
                    }
                }
                " "
                input type="search" name="tag" value=(filter.tag) placeholder="tag: env=prod" list="tag-keys" size="14";
                datalist id="tag-keys" { @for k in &tag_keys { option value=(k) {} } }
                " "
                input type="search" name="q" value=(filter.q) placeholder="name or id";
                " as of "
                input type="text" name="as_of" value=(filter.as_of) placeholder="now, or YYYY-MM-DD" size="22";
                " "
                button type="submit" { "Filter" }
            }
            p.muted { (shown.len()) " of " (all.len()) " assets" @if let Some(t) = as_of { " as of " (t) } }
            table {
                tr { th { "asset" } th { "kind" } th { "tags" } th { "snapshots" } th { "last collected" } th { "status" } }
                @for a in &shown {
                    tr {
                        td {
                            a href=(format!("{}{}", asset_href(a), as_of.map(|t| format!("?as_of={}", url_segment(&t.to_string()))).unwrap_or_default())) { (a.name) }
                            br; code.muted { (a.id) }
                        }
                        td { (a.kind) }
                        td { @for (k, v) in &a.tags { code { (k) "=" (v) } " " } }
                        td { (a.snapshot_count) }
                        td { (a.last_collected_at) }
                        td {
                            @if is_silent(a, at) { span.badge.silent { "silent" } }
                            @else { span.badge.ok { "reporting" } }
                        }
                    }
                }
            }
        },
    )
    .into_response()
}

/// The snapshot stored under `digest`, decoded (it was verified on ingest).
async fn stored_snapshot(state: &AppState, digest: vouch_evidence::Digest) -> Option<Snapshot> {
    let bytes = state.store().envelope(digest).await.ok()??;
    let env = vouch_evidence::dsse::Envelope::from_slice(&bytes).ok()?;
    Snapshot::from_payload(&env.payload_bytes().ok()?).ok()
}

/// One line of drift between two snapshots.
struct Change<'a> {
    id: &'a str,
    before: Option<&'a EvidenceItem>,
    after: Option<&'a EvidenceItem>,
}

fn shown(item: Option<&EvidenceItem>) -> String {
    match item {
        None => "—".into(),
        Some(i) if i.status == ItemStatus::Unavailable => format!(
            "unavailable: {}",
            i.reason.as_deref().unwrap_or("no reason")
        ),
        Some(i) => match &i.value {
            serde_json::Value::String(s) => s.clone(),
            v => v.to_string(),
        },
    }
}

/// What changed from `before` to `after`, leaving out facts that change on every collection
/// (uptime, free memory…), which are declared volatile beside their collectors.
fn drift<'a>(before: &'a Snapshot, after: &'a Snapshot) -> Vec<Change<'a>> {
    let ids: BTreeSet<&str> = before
        .evidence
        .keys()
        .chain(after.evidence.keys())
        .map(String::as_str)
        .collect();
    ids.into_iter()
        .filter(|id| !vouch_evidence::is_volatile(id))
        .filter_map(|id| {
            let (b, a) = (before.evidence.get(id), after.evidence.get(id));
            (b != a).then_some(Change {
                id,
                before: b,
                after: a,
            })
        })
        .collect()
}

/// `/assets/{kind}/{id}` parameters.
#[derive(Deserialize, Default)]
struct AssetQuery {
    /// The instant to show the asset as it stood then (empty: now).
    #[serde(default)]
    as_of: String,
}

/// One policy result of the asset's newest judged snapshot, for the page.
struct ResultRow {
    policy: String,
    title: String,
    controls: Vec<String>,
    status: String,
    reason: String,
}

/// The results of the snapshot `digest` as judged by `at` (newest evaluation made by then),
/// with the pack that made them; failures first.
async fn results_of(
    state: &AppState,
    digest: vouch_evidence::Digest,
    at: Timestamp,
) -> Result<Option<(crate::store::Evaluation, Vec<ResultRow>)>, String> {
    let Some(policies) = state.policies() else {
        return Ok(None);
    };
    let evaluations = state
        .store()
        .evaluations_of(digest)
        .await
        .map_err(|e| e.to_string())?;
    let Some(newest) = evaluations
        .into_iter()
        .filter(|e| e.evaluated_at <= at)
        .max_by_key(|e| e.evaluated_at)
    else {
        return Ok(None);
    };
    let judge = policies
        .kept(&newest.pack_digest)
        .await
        .map_err(|e| e.to_string())?;
    let mut rows: Vec<ResultRow> = newest
        .results
        .iter()
        .map(|r| {
            let policy = judge.pack().policy(&r.policy_id);
            ResultRow {
                policy: r.policy_id.clone(),
                title: policy.map(|p| p.title.clone()).unwrap_or_default(),
                controls: policy
                    .map(|p| p.controls.iter().map(ToString::to_string).collect())
                    .unwrap_or_default(),
                status: r.status.clone(),
                reason: r.reason.clone(),
            }
        })
        .collect();
    let rank = |s: &str| match s {
        "fail" => 0,
        "error" => 1,
        "pass" => 2,
        _ => 3,
    };
    rows.sort_by(|a, b| (rank(&a.status), &a.policy).cmp(&(rank(&b.status), &b.policy)));
    Ok(Some((newest, rows)))
}

async fn asset(
    user: WebUser,
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    Query(q): Query<AssetQuery>,
) -> Response {
    let as_of = match as_of_param(&q.as_of, "Asset", &user) {
        Ok(t) => t,
        Err(page) => return *page,
    };
    let at = as_of.unwrap_or_else(now);
    let all = match AssetKind::parse(&kind) {
        Some(k) => chains_at(&state, as_of, Some((k, id.clone()))).await,
        None => Ok(Vec::new()),
    };
    let all = match all {
        Ok(a) => a,
        Err(e) => return internal(e),
    };
    let chains: Vec<&AssetSummary> = all
        .iter()
        .filter(|a| a.kind.as_str() == kind && a.id == id)
        .collect();
    let Some(head) = chains.first() else {
        return (
            StatusCode::NOT_FOUND,
            page(
                "Not found",
                Some(&user),
                html! { h1 { "No such asset" } p { (kind) " " (id) @if let Some(t) = as_of { " as of " (t) } } },
            ),
        )
            .into_response();
    };
    let keys: BTreeMap<String, String> = match state.store().agents().await {
        Ok(agents) => agents
            .into_iter()
            .map(|a| (a.agent_id.clone(), a.keyid().to_string()))
            .collect(),
        Err(e) => return internal(e),
    };
    let recent = match state
        .store()
        .snapshots(head.kind, &head.id, head.last_sequence.saturating_sub(2), 2)
        .await
    {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let mut decoded = Vec::new();
    for s in recent.iter().filter(|s| s.sequence <= head.last_sequence) {
        if let Some(snap) = stored_snapshot(&state, s.digest).await {
            decoded.push(snap);
        }
    }
    let latest = decoded.last();
    let previous = (decoded.len() == 2).then(|| &decoded[0]);
    let changes = match (previous, latest) {
        (Some(p), Some(l)) => drift(p, l),
        _ => Vec::new(),
    };
    let results = match results_of(&state, head.last_digest, at).await {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let mut areas: BTreeMap<String, Vec<(&str, &EvidenceItem)>> = BTreeMap::new();
    if let Some(l) = latest {
        for (eid, item) in &l.evidence {
            let area = eid.splitn(3, '.').take(2).collect::<Vec<_>>().join(".");
            areas.entry(area).or_default().push((eid.as_str(), item));
        }
    }
    page(
        &head.name,
        Some(&user),
        html! {
            h1 { (head.name) " " span.muted style="font-size:.6em" { (head.kind) " " code { (head.id) } } }
            form method="get" {
                "As of "
                input type="text" name="as_of" value=(q.as_of) placeholder="now, or YYYY-MM-DD" size="22";
                " "
                button type="submit" { "Show" }
                span.muted { " · " (at) }
            }
            h2 { "Chain health" }
            table {
                @for c in &chains {
                    tr { th { "agent" } td { code { (c.agent_id) } } }
                    tr { th { "signing key" } td { code { (keys.get(&c.agent_id).map_or("unknown", String::as_str)) } } }
                    tr { th { "snapshots" } td { (c.snapshot_count) " (sequence 1 to " (c.last_sequence) ")" } }
                    tr { th { "completeness" } td {
                        @if c.snapshot_count == c.last_sequence { span.badge.ok { "no gap" } } @else { span.badge.fail { "gaps: " (c.last_sequence - c.snapshot_count) " missing" } }
                    } }
                    tr { th { "last collected" } td { (c.last_collected_at) } }
                    tr { th { "last received" } td {
                        (c.last_received_at) " "
                        @if is_silent(c, at) { span.badge.silent { "silent" } }
                    } }
                    tr { th { "newest digest" } td {
                        code { (c.last_digest) } br;
                        a href=(format!("/v1/snapshots/{}", c.last_digest)) { "signed envelope" } " · "
                        a href=(format!("/v1/snapshots/{}/receipt", c.last_digest)) { "server receipt" }
                    } }
                }
            }
            h2 { "Policy results" }
            @match &results {
                None => { p.muted { "Not judged by " (at) "." } }
                Some((evaluation, rows)) => {
                    p.muted {
                        "Snapshot " code { (evaluation.digest.to_string().get(..16).unwrap_or_default()) } " judged " (evaluation.evaluated_at)
                        " by pack " code { (evaluation.pack_digest.get(..12).unwrap_or_default()) }
                        " · " (rows.iter().filter(|r| r.status == "fail").count()) " fail, "
                        (rows.iter().filter(|r| r.status == "pass").count()) " pass"
                    }
                    table {
                        tr { th { "policy" } th { "status" } th { "why" } th { "controls" } }
                        @for r in rows {
                            tr {
                                td { (r.title) br; code.muted { (r.policy) } }
                                td { span class=(format!("badge {}", r.status)) { (r.status.replace('_', " ")) } }
                                td { (r.reason) }
                                td {
                                    @for c in &r.controls {
                                        @let (f, id) = c.split_once(':').unwrap_or(("", c));
                                        a href=(format!("/controls/{}/{}", url_segment(f), url_segment(id))) { (c) } br;
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "What changed since the previous snapshot" }
            @if previous.is_none() {
                p.muted { "Only one snapshot so far." }
            } @else if changes.is_empty() {
                p.muted { "Nothing changed (volatile facts such as uptime are left out)." }
            } @else {
                table {
                    tr { th { "evidence" } th { "before" } th { "now" } }
                    @for c in &changes {
                        tr { td { code { (c.id) } } td { (shown(c.before)) } td { (shown(c.after)) } }
                    }
                }
            }
            @if let Some(l) = latest {
                h2 { "Latest evidence, collected " (l.collected_at) }
                @for (area, items) in &areas {
                    h3 { (area) }
                    table {
                        @for (eid, item) in items {
                            tr {
                                td style="width:30%" { code { (eid) } }
                                td {
                                    @if item.status == ItemStatus::Ok { (shown(Some(item))) }
                                    @else { span.badge.unavailable { "unavailable" } " " (item.reason.as_deref().unwrap_or("")) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
    .into_response()
}

#[derive(Deserialize, Default)]
struct SampleForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    kinds: String,
    #[serde(default)]
    control: String,
    #[serde(default)]
    as_of: String,
    #[serde(default)]
    size: String,
    #[serde(default)]
    seed: String,
}

impl SampleForm {
    /// The query the form describes, or every problem with it.
    fn query(&self) -> Result<SampleQuery, Vec<String>> {
        let mut problems = Vec::new();
        let from = self.from.trim().parse::<Timestamp>().map_err(|e| {
            problems.push(format!("from: {e}"));
        });
        let to = self.to.trim().parse::<Timestamp>().map_err(|e| {
            problems.push(format!("to: {e}"));
        });
        let as_of = match self.as_of.trim() {
            "" => None,
            t => crate::state::parse_instant(t)
                .map_err(|e| problems.push(format!("as of: {e}")))
                .ok(),
        };
        let size = self.size.trim().parse::<u32>().map_err(|_| {
            problems.push(format!("size: {:?} is not a whole number", self.size));
        });
        if let (Ok(from), Ok(to), Ok(size)) = (from, to, size) {
            let q = SampleQuery {
                from,
                to,
                kinds: self.kinds.clone(),
                control: self.control.trim().to_string(),
                as_of,
                size,
                seed: self.seed.clone(),
            };
            problems.extend(q.problems());
            if problems.is_empty() {
                return Ok(q);
            }
        }
        Err(problems)
    }
}

/// The sampling page: the form, then the population and the sample, with the bundle's link.
async fn sample_page(
    user: WebUser,
    State(state): State<AppState>,
    Query(form): Query<SampleForm>,
) -> Response {
    let submitted = !form.seed.is_empty() || !form.from.is_empty();
    let outcome = if submitted {
        match form
            .query()
            .and_then(|q| crate::http::sample_scope(&state, q).map_err(|e| vec![e]))
        {
            Ok(q) => match crate::bundle::draw(state.store().as_ref(), &q).await {
                Ok((population, drawn)) => Some(Ok((q, population, drawn))),
                Err(e) => Some(Err(vec![e.to_string()])),
            },
            Err(problems) => Some(Err(problems)),
        }
    } else {
        None
    };
    page(
        "Sample",
        Some(&user),
        html! {
            h1 { "Audit sample" }
            p.muted { "The same population, size and seed always draw the same sample (vouch-sample-v1); the bundle verifies offline with " code { "vouch verify" } "." }
            form method="get" action="/sample" {
                label { "from " input type="text" name="from" value=(form.from) placeholder="2026-01-01T00:00:00Z" required; }
                " "
                label { "to " input type="text" name="to" value=(form.to) placeholder="2026-04-01T00:00:00Z" required; }
                " "
                label { "kinds " input type="text" name="kinds" value=(form.kinds) placeholder="host,aws-account"; }
                " "
                label { "framework or control " input type="text" name="control" value=(form.control) placeholder="iso27001-2022:A.8.24"; }
                " "
                label { "as held at " input type="text" name="as_of" value=(form.as_of) placeholder="now, or an instant"; }
                " "
                label { "size " input type="number" name="size" value=(form.size) min="1" max="10000" required; }
                " "
                label { "seed " input type="text" name="seed" value=(form.seed) required; }
                " "
                button type="submit" { "Draw" }
            }
            @match &outcome {
                None => {}
                Some(Err(problems)) => {
                    @for p in problems { p { span.badge.fail { "error" } " " (p) } }
                }
                Some(Ok((q, population, drawn))) => {
                    @let digests: Vec<vouch_evidence::Digest> = population.iter().map(|m| m.digest).collect();
                    p {
                        "Population: " strong { (population.len()) } " snapshot(s), fingerprint "
                        code { (vouch_evidence::sample::population_fingerprint(&digests)) }
                        @if !q.control.is_empty() {
                            br; span.muted { "Scope " code { (q.control) } ": asset kinds " code { (q.kinds) } " (those the pack's policies evidence it on)" }
                        }
                    }
                    p {
                        a href=(format!("/v1/export?from={}&to={}&kinds={}&control={}&size={}&seed={}{}",
                            url_segment(&q.from.to_string()), url_segment(&q.to.to_string()),
                            url_segment(&q.kinds), url_segment(&q.control), q.size, url_segment(&q.seed),
                            q.as_of.map(|t| format!("&as_of={}", url_segment(&t.to_string()))).unwrap_or_default())) {
                            "Download the evidence bundle (.tar.gz)"
                        }
                    }
                    table {
                        tr { th { "#" } th { "snapshot" } th { "asset" } th { "sequence" } th { "collected" } }
                        @for (i, m) in drawn.iter().enumerate() {
                            tr {
                                td { (i + 1) }
                                td { a href=(format!("/v1/snapshots/{}", m.digest)) { code { (m.digest) } } }
                                td { a href=(format!("/assets/{}/{}", m.asset_kind, url_segment(&m.asset_id))) { (m.asset_kind) " " (m.asset_id) } }
                                td { (m.sequence) }
                                td { (m.collected_at) }
                            }
                        }
                    }
                }
            }
        },
    )
    .into_response()
}
