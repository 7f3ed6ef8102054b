//! The shared layout of every page (head, style, navigation, sign-out) and the helpers
//! pages have in common.

use super::*;

pub(super) const STYLE: &str = "
body{font:18px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#111;background:#fff}
header{background:#12263a;color:#fff;padding:.6em 1.2em;display:flex;gap:1.5em;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}header form{margin-left:auto}
main{padding:1em 1.2em;max-width:1300px}h1{font-size:1.6em;margin:.3em 0}h2{font-size:1.25em;margin-top:1.4em}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #ccd;vertical-align:top}
th{background:#eef1f5}tr:nth-child(even) td{background:#f8f9fb}code{font-size:.9em;word-break:break-all}
.badge{display:inline-block;padding:.05em .55em;border-radius:.8em;font-weight:700;font-size:.85em}
.ok,.pass{background:#d7f5dd;color:#0b5a1c}.fail{background:#ffd9d6;color:#8a1209}.stale,.silent{background:#ffefc2;color:#6b4b00}
.unavailable,.manual,.no_evidence,.not_applicable{background:#e6e6ea;color:#333}.accepted{background:#dde8ff;color:#123f8c}.provisional{background:#fff;color:#6b4b00;border:1px dashed #b08a00}.error{background:#f3d9ff;color:#5c0b7a}.num{font-size:2em;font-weight:700}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ccd;border-radius:.4em;padding:.6em 1em;min-width:10em}
input,select,button{font:inherit;padding:.25em .5em}.muted{color:#555}
form.act label{display:block;margin:.4em 0}td code{white-space:nowrap;word-break:normal}form.inline{display:inline}details{margin:.6em 0}summary{cursor:pointer;font-weight:600}
a.button{display:inline-block;background:#12263a;color:#fff;padding:.45em 1em;border-radius:.3em;text-decoration:none;font-weight:600}
@media print{header{display:none}}
";

pub(super) fn page(title: &str, user: Option<&WebUser>, body: Markup) -> Html<String> {
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
                            a href="/audit-log" { "Audit log" }
                            form method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(u.csrf);
                                span.muted style="color:#cfd8e3" {
                                    @if let Some(p) = &u.session.person { (p.short()) ", " }
                                    (u.role.as_str()) " "
                                }
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

pub(super) fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "dashboard page failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

/// The `as_of` parameter of a page: none, an instant, or the page naming the problem (400).
pub(super) fn as_of_param(
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
pub(super) async fn chains_at(
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

pub(super) fn is_silent(a: &AssetSummary, at: Timestamp) -> bool {
    at.unix_micros() - a.last_received_at.unix_micros() > SILENT_AFTER_SECS * 1_000_000
}

pub(super) fn asset_href(a: &AssetSummary) -> String {
    format!("/assets/{}/{}", a.kind, url_segment(&a.id))
}

/// Percent-encodes a path segment.
pub(super) fn url_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
