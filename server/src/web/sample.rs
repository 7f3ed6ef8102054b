//! Drawing an audit sample and linking its bundle.

use super::*;

#[derive(Deserialize, Default)]
pub(super) struct SampleForm {
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
pub(super) async fn sample_page(
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
