//! One asset: chain health, latest evidence by area, policy results and drift since the
//! previous snapshot, now or as of an instant.

use super::*;

/// The snapshot stored under `digest`, decoded (it was verified on ingest).
pub(super) async fn stored_snapshot(
    state: &AppState,
    digest: vouch_evidence::Digest,
) -> Option<Snapshot> {
    let bytes = state.store().envelope(digest).await.ok()??;
    let env = vouch_evidence::dsse::Envelope::from_slice(&bytes).ok()?;
    Snapshot::from_payload(&env.payload_bytes().ok()?).ok()
}

/// One line of drift between two snapshots.
pub(super) struct Change<'a> {
    id: &'a str,
    before: Option<&'a EvidenceItem>,
    after: Option<&'a EvidenceItem>,
}

pub(super) fn shown(item: Option<&EvidenceItem>) -> String {
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
pub(super) fn drift<'a>(before: &'a Snapshot, after: &'a Snapshot) -> Vec<Change<'a>> {
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
pub(super) struct AssetQuery {
    /// The instant to show the asset as it stood then (empty: now).
    #[serde(default)]
    as_of: String,
}

/// One policy result of the asset's newest judged snapshot, for the page.
pub(super) struct ResultRow {
    policy: String,
    title: String,
    controls: Vec<String>,
    status: String,
    reason: String,
}

/// The results of the snapshot `digest` as judged by `at` (newest evaluation made by then),
/// with the pack that made them; failures first.
pub(super) async fn results_of(
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

pub(super) async fn asset(
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
