//! What a signed-in person changes from the dashboard, and the audit log that shows who did.
//!
//! Every form posts to `POST /act` with the session's CSRF token and an `action`; the form is
//! turned into the API's own request and handed to the API's router with a
//! [`DashboardWrite`] naming the person, so one handler checks and records each write whether
//! it came from a token or a person, and the audit log names either.

use axum::body::Body;
use tower::ServiceExt as _;

use super::*;
use crate::http::DashboardWrite;

/// The audit log entries shown.
const AUDIT_ROWS: u32 = 200;

/// A form's fields.
type Fields = BTreeMap<String, String>;

fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.get(name).map_or("", |v| v.trim())
}

/// A date from a form (`2027-01-31`), as the API's timestamp at the start (or, with `end`,
/// the end) of that day, UTC.
fn day(f: &Fields, name: &str, end: bool) -> Result<String, String> {
    let v = field(f, name);
    let ok = v.len() == 10
        && v.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !ok {
        return Err(format!("{name}: {v:?} is not a date such as 2027-01-31"));
    }
    Ok(if end {
        format!("{v}T23:59:59Z")
    } else {
        format!("{v}T00:00:00Z")
    })
}

/// The API request (method is always POST) a form stands for: its path and JSON body.
fn request_of(action: &str, f: &Fields) -> Result<(String, serde_json::Value), String> {
    use serde_json::json;
    Ok(match action {
        "exception" => {
            let mut body = json!({
                "policy": field(f, "policy"),
                "justification": field(f, "justification"),
                "owner": field(f, "owner"),
                "expires_at": day(f, "expires", true)?,
            });
            if let Some((kind, id)) = field(f, "asset").split_once('/') {
                body["asset_kind"] = json!(kind);
                body["asset_id"] = json!(id);
            }
            ("/v1/exceptions".into(), body)
        }
        "attestation" => (
            "/v1/attestations".into(),
            json!({
                "control": field(f, "control"),
                "statement": field(f, "statement"),
                "attested_by": field(f, "attested_by"),
                "valid_until": day(f, "valid_until", true)?,
            }),
        ),
        "evaluation" => (
            "/v1/evaluations".into(),
            json!({
                "from": day(f, "from", false)?,
                "to": day(f, "to", true)?,
                "reason": field(f, "reason"),
            }),
        ),
        "reload" => ("/v1/policies/reload".into(), json!(null)),
        "period-open" => (
            "/v1/audit-periods".into(),
            json!({
                "framework": field(f, "framework"),
                "label": field(f, "label"),
                "from": day(f, "from", false)?,
                "to": day(f, "to", true)?,
            }),
        ),
        "period-close" => {
            let id: i64 = field(f, "id")
                .parse()
                .map_err(|_| "id: not a period number".to_string())?;
            (format!("/v1/audit-periods/{id}/close"), json!(null))
        }
        "retention" => ("/v1/retention/run".into(), json!(null)),
        other => {
            return Err(format!(
                "unknown action {:?}",
                other.chars().take(40).collect::<String>()
            ));
        }
    })
}

/// A path of this server to go back to; anything else becomes `/`.
fn back(f: &Fields) -> String {
    let b = field(f, "back");
    if b.starts_with('/') && !b.starts_with("//") && !b.contains('\\') && b.len() <= 2048 {
        b.to_string()
    } else {
        "/".to_string()
    }
}

fn outcome(user: &WebUser, status: StatusCode, title: &str, message: &str, back: &str) -> Response {
    (
        status,
        page(
            title,
            Some(user),
            html! {
                h1 { (title) }
                p.badge.(if status.is_success() { "pass" } else { "fail" }) { (message) }
                p { a href=(back) { "Back" } }
            },
        ),
    )
        .into_response()
}

/// `POST /act`: a write from a dashboard form.
pub(super) async fn act(
    State(state): State<AppState>,
    user: WebUser,
    Form(fields): Form<Fields>,
) -> Response {
    if field(&fields, "csrf").is_empty() || field(&fields, "csrf") != user.csrf {
        return cross_site(&state, "the form's CSRF token does not match this session");
    }
    let back = back(&fields);
    let action = field(&fields, "action").to_string();
    let (path, body) = match request_of(&action, &fields) {
        Ok(r) => r,
        Err(e) => {
            state.metrics().rejected(RejectReason::BadRequest);
            return outcome(&user, StatusCode::BAD_REQUEST, "Not done", &e, &back);
        }
    };
    let bytes = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(&body).expect("serialisable")
    };
    let mut request = match axum::http::Request::post(&path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(bytes))
    {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    request.extensions_mut().insert(DashboardWrite {
        role: user.role,
        who: user.session.who(),
    });
    let response = match crate::http::routes()
        .with_state(state.clone())
        .oneshot(request)
        .await
    {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let status = response.status();
    if status.is_success() {
        return Redirect::to(&back).into_response();
    }
    let text = match axum::body::to_bytes(response.into_body(), 64 * 1024).await {
        Ok(b) => serde_json::from_slice::<serde_json::Value>(&b)
            .ok()
            .and_then(|v| v["message"].as_str().map(String::from))
            .unwrap_or_else(|| String::from_utf8_lossy(&b).into_owned()),
        Err(_) => String::new(),
    };
    let text = if status.is_server_error() {
        "internal error (logged)".to_string()
    } else {
        text
    };
    outcome(&user, status, "Not done", &text, &back)
}

/// `GET /audit-log`: who did what, newest first.
pub(super) async fn audit_log(State(state): State<AppState>, user: WebUser) -> Response {
    let entries = match state.store().audit_log(AUDIT_ROWS).await {
        Ok(e) => e,
        Err(e) => return internal(e),
    };
    let periods = match state.store().audit_periods().await {
        Ok(p) => p,
        Err(e) => return internal(e),
    };
    let frameworks: Vec<String> = state.catalogs().iter().map(|c| c.id.clone()).collect();
    page(
        "Audit log",
        Some(&user),
        html! {
            h1 { "Audit log" }
            p.muted { "Every change made through the API or this dashboard, with who made it: a person signed in through the identity provider (name, e-mail, role, subject) or an API token (role and the first digits of its hash). The newest " (AUDIT_ROWS) " entries." }
            @if user.role == Role::Admin {
                form method="post" action="/act" {
                    input type="hidden" name="csrf" value=(user.csrf);
                    input type="hidden" name="action" value="retention";
                    input type="hidden" name="back" value="/audit-log";
                    button type="submit" { "Apply retention now" }
                }
            }
            h2 { "Audit periods" }
            p.muted { "Retention keeps every snapshot of an open period's window." }
            @if periods.is_empty() { p.muted { "None." } }
            @else {
                table {
                    tr { th { "#" } th { "framework" } th { "label" } th { "from" } th { "to" } th { "state" } }
                    @for p in &periods {
                        tr {
                            td { (p.id) } td { (p.period.framework) } td { (p.period.label) }
                            td { (p.period.from) } td { (p.period.to) }
                            td {
                                @match p.closed_at {
                                    Some(at) => { "closed " (at) }
                                    None => {
                                        "open"
                                        @if may_manage(&user) {
                                            form.inline method="post" action="/act" {
                                                (form_head(&user, "period-close", "/audit-log"))
                                                input type="hidden" name="id" value=(p.id);
                                                " " button type="submit" { "Close" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if may_manage(&user) {
                details {
                    summary { "Open an audit period" }
                    form.act method="post" action="/act" {
                        (form_head(&user, "period-open", "/audit-log"))
                        label { "Framework " select name="framework" { @for f in &frameworks { option value=(f) { (f) } } } }
                        label { "Label " input type="text" name="label" size="40" required; }
                        label { "From " input type="date" name="from" required; }
                        label { "To " input type="date" name="to" required; }
                        button type="submit" { "Open the period" }
                    }
                }
            }
            h2 { "Who did what" }
            table {
                thead { tr { th { "When" } th { "Who" } th { "Action" } th { "On" } th { "Detail" } } }
                tbody {
                    @for e in &entries {
                        tr {
                            td { (e.at) }
                            td { (e.actor) }
                            td { code { (e.action) } }
                            td { (e.subject) }
                            td { (e.detail) }
                        }
                    }
                }
            }
        },
    )
    .into_response()
}

/// The hidden fields every dashboard form carries.
pub(super) fn form_head(user: &WebUser, action: &str, back: &str) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(user.csrf);
        input type="hidden" name="action" value=(action);
        input type="hidden" name="back" value=(back);
    }
}

/// Whether the person may change policies, exceptions, manual evidence and periods.
pub(super) fn may_manage(user: &WebUser) -> bool {
    matches!(user.role, Role::Admin | Role::SecurityLead)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn forms_become_the_api_requests_they_stand_for() {
        let (path, body) = request_of(
            "exception",
            &fields(&[
                ("policy", "host/ssh_root_login"),
                ("asset", "host/web-1"),
                ("justification", "bastion replaced in Q1"),
                ("owner", "Alice"),
                ("expires", "2027-01-31"),
            ]),
        )
        .unwrap();
        assert_eq!(path, "/v1/exceptions");
        assert_eq!(body["asset_kind"], "host");
        assert_eq!(body["asset_id"], "web-1");
        assert_eq!(body["expires_at"], "2027-01-31T23:59:59Z");
        let (path, _) = request_of("period-close", &fields(&[("id", "7")])).unwrap();
        assert_eq!(path, "/v1/audit-periods/7/close");
        assert!(request_of("evaluation", &fields(&[("from", "yesterday")])).is_err());
        assert!(request_of("drop-tables", &fields(&[])).is_err());
        assert!(request_of("period-close", &fields(&[("id", "../x")])).is_err());
    }

    #[test]
    fn only_paths_of_this_server_are_gone_back_to() {
        assert_eq!(back(&fields(&[("back", "/controls")])), "/controls");
        for bad in ["https://evil.example/", "//evil.example", "/\\evil", ""] {
            assert_eq!(back(&fields(&[("back", bad)])), "/", "{bad:?}");
        }
    }
}
