//! The asset list, filtered by kind, tag, silence or a failing policy.

use super::*;

#[derive(Deserialize)]
pub(super) struct AssetFilter {
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
pub(super) async fn failing_assets(
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

pub(super) async fn assets(
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
