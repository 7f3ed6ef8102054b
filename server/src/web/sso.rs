//! Signing in through the company's OpenID provider ([`crate::sso`]): `/oidc/login` starts the
//! flow (a signed, short-lived cookie keeps its `state`, `nonce` and PKCE verifier), and
//! `/oidc/callback` finishes it: the person gets a session with the role their groups map to,
//! or a page saying they have none.

use super::*;

/// The most groups named on the "no access" page.
const GROUPS_SHOWN: usize = 20;
/// The longest `error_description` from the provider shown.
const PROVIDER_MESSAGE_CHARS: usize = 200;
/// The provider's answers to `prompt=none` that mean "the person must sign in again".
const PROMPT_NEEDED: &[&str] = &[
    "login_required",
    "interaction_required",
    "consent_required",
    "account_selection_required",
];

#[derive(Deserialize)]
pub(super) struct BeginQuery {
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    silent: bool,
}

/// A path of this server to go to after signing in; anything else (another site, `//host`)
/// becomes `/`.
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && p.len() <= 2048
                && !p.chars().any(char::is_control) =>
        {
            p.to_string()
        }
        _ => "/".to_string(),
    }
}

fn message(status: StatusCode, title: &str, body: Markup) -> Response {
    (status, page(title, None, body)).into_response()
}

/// `GET /oidc/login`: off to the provider.
pub(super) async fn begin(State(state): State<AppState>, Query(q): Query<BeginQuery>) -> Response {
    let Some(sso) = state.sso() else {
        return message(
            StatusCode::NOT_FOUND,
            "Single sign-on",
            html! { h1 { "Single sign-on is not configured" } p { a href="/login" { "Sign in with a token" } } },
        );
    };
    let next = local_path(q.next.as_deref());
    match sso.begin(q.silent).await {
        Ok((url, flow)) => (
            StatusCode::SEE_OTHER,
            [
                (
                    header::SET_COOKIE,
                    session::flow_cookie(&state, flow, &next, q.silent),
                ),
                (header::LOCATION, url),
            ],
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "single sign-on cannot start");
            message(
                StatusCode::BAD_GATEWAY,
                "Single sign-on",
                html! {
                    h1 { "The identity provider cannot be reached" }
                    p { "Try again in a moment, or " a href="/login" { "sign in with a token" } "." }
                },
            )
        }
    }
}

#[derive(Deserialize)]
pub(super) struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
    /// The issuer of the answer (RFC 9207), when the provider names it.
    #[serde(default)]
    iss: Option<String>,
}

/// Ends the person's previous session in this browser, if any (a new sign-in replaces it; a
/// failed recheck ends it).
async fn end_previous(state: &AppState, cookies: Option<&str>, reason: &str) {
    if let Some(previous) = session::current(state, cookies).await
        && previous.person.is_some()
        && let Err(e) = state
            .end_session(previous.token, reason, &previous.who())
            .await
    {
        tracing::error!(error = %e, "cannot end a session");
    }
}

fn refused(state: &AppState, status: StatusCode, why: &str) -> Response {
    let reason = if status == StatusCode::FORBIDDEN {
        RejectReason::Forbidden
    } else {
        RejectReason::Unauthorized
    };
    state.metrics().rejected(reason);
    (
        status,
        [(header::SET_COOKIE, session::clear_flow())],
        page(
            "Sign-in refused",
            None,
            html! {
                h1 { "Sign-in refused" }
                p { (why) }
                p { a href="/login" { "Sign in again" } }
            },
        ),
    )
        .into_response()
}

/// `GET /oidc/callback`: the provider sends the person back.
pub(super) async fn callback(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let Some(sso) = state.sso() else {
        return refused(
            &state,
            StatusCode::NOT_FOUND,
            "single sign-on is not configured",
        );
    };
    let cookies = session::cookies(&headers);
    let cookies = cookies.as_deref();
    let Some(flow) = session::flow(&state, cookies) else {
        return refused(
            &state,
            StatusCode::BAD_REQUEST,
            "this sign-in expired or was not started from this browser",
        );
    };
    if q.state.as_deref() != Some(flow.flow.state.as_str()) {
        return cross_site(
            &state,
            "the identity provider's answer does not carry this sign-in's state",
        );
    }
    // An answer naming another issuer is a mix-up (RFC 9207), whatever it carries.
    if let (Some(iss), Some(ours)) = (q.iss.as_deref(), sso.config().issuer.as_deref())
        && iss.trim_end_matches('/') != ours.trim_end_matches('/')
    {
        return refused(
            &state,
            StatusCode::UNAUTHORIZED,
            "the answer comes from another identity provider than the one configured",
        );
    }
    if let Some(error) = q.error.as_deref() {
        let error = vouch_evidence::limits::truncate_echo(error);
        if flow.silent && PROMPT_NEEDED.contains(&error.as_str()) {
            end_previous(&state, cookies, "the identity provider's session ended").await;
            return (
                StatusCode::SEE_OTHER,
                [
                    (header::SET_COOKIE, session::clear()),
                    (header::LOCATION, "/login".to_string()),
                ],
            )
                .into_response();
        }
        let detail: String = q
            .error_description
            .as_deref()
            .unwrap_or_default()
            .chars()
            .take(PROVIDER_MESSAGE_CHARS)
            .collect();
        tracing::warn!(%error, detail = %detail, "the identity provider refused a sign-in");
        return refused(
            &state,
            StatusCode::UNAUTHORIZED,
            &format!("the identity provider answered {error}: {detail}"),
        );
    }
    let Some(code) = q.code.as_deref() else {
        return refused(
            &state,
            StatusCode::BAD_REQUEST,
            "the identity provider sent no code",
        );
    };
    let signed_in = match sso.finish(code, &flow.flow, state.now()).await {
        Ok(s) => s,
        Err(e @ (crate::sso::SsoError::IdToken(_) | crate::sso::SsoError::NoIdToken)) => {
            tracing::warn!(error = %e, "a sign-in through the identity provider is refused");
            return refused(&state, StatusCode::UNAUTHORIZED, &e.to_string());
        }
        Err(e) => {
            tracing::error!(error = %e, "a sign-in through the identity provider failed");
            return refused(
                &state,
                StatusCode::BAD_GATEWAY,
                "the identity provider could not be asked for the sign-in's tokens (the reason is logged); try again",
            );
        }
    };
    let person = signed_in.person;
    let Some(role) = sso.config().role_for(&signed_in.groups) else {
        end_previous(&state, cookies, "no longer in a group that gives access").await;
        let who = format!("{}, subject {}", person.short(), person.subject);
        if let Err(e) = state
            .audit(
                &who,
                "session.refused",
                "dashboard",
                &format!("groups {:?} map to no role", signed_in.groups),
            )
            .await
        {
            tracing::error!(error = %e, "cannot write the audit log");
        }
        tracing::warn!(person = %who, groups = signed_in.groups.len(), "a person in no mapped group was refused");
        state.metrics().rejected(RejectReason::Forbidden);
        let mapped: Vec<&String> = sso.config().groups.keys().collect();
        return (
            StatusCode::FORBIDDEN,
            axum::response::AppendHeaders([
                (header::SET_COOKIE, session::clear()),
                (header::SET_COOKIE, session::clear_flow()),
            ]),
            page(
                "No access",
                None,
                html! {
                    h1 { "No access to Vouch" }
                    p { "You are signed in at the identity provider as " strong { (person.short()) } ", but none of your groups gives a role in Vouch." }
                    p.muted {
                        "Your groups: "
                        @if signed_in.groups.is_empty() { "none" }
                        @for (i, g) in signed_in.groups.iter().take(GROUPS_SHOWN).enumerate() {
                            @if i > 0 { ", " } code { (g) }
                        }
                        @if signed_in.groups.len() > GROUPS_SHOWN { " and " (signed_in.groups.len() - GROUPS_SHOWN) " more" }
                    }
                    p { "Ask an administrator to add you to one of: "
                        @for (i, g) in mapped.iter().enumerate() { @if i > 0 { ", " } code { (g) } }
                        "."
                    }
                },
            ),
        )
            .into_response();
    };
    end_previous(&state, cookies, "replaced by a new sign-in").await;
    let token = match state
        .start_session(role, &person, sso.config().absolute_secs)
        .await
    {
        Ok(t) => t,
        Err(e) => return internal(e),
    };
    tracing::info!(target: "vouch::audit", person = %person.describe(role), "signed in through the identity provider");
    let cookie = session::issue_for_person(&state, token, role, person, sso.config());
    // A page of our own that moves on, not a redirect: the session cookie is `SameSite=Strict`,
    // and a redirect would still belong to the navigation the provider's site started.
    let next = flow.next;
    (
        StatusCode::OK,
        axum::response::AppendHeaders([
            (header::SET_COOKIE, cookie),
            (header::SET_COOKIE, session::clear_flow()),
        ]),
        Html(
            html! {
                (DOCTYPE)
                html lang="en" {
                    head {
                        meta charset="utf-8";
                        meta http-equiv="refresh" content=(format!("0;url={next}"));
                        title { "Signed in — Vouch" }
                    }
                    body { p { "Signed in. " a href=(next) { "Continue" } } }
                }
            }
            .into_string(),
        ),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_paths_of_this_server_are_followed_after_sign_in() {
        assert_eq!(local_path(Some("/controls?x=1")), "/controls?x=1");
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "evil",
            "/a\nb",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(local_path(None), "/");
    }
}
