//! Signing in with an API token (or, when it is configured, through the identity provider:
//! [`super::sso`]) and signing out; both refuse cross-site posts. Signing out of a session
//! started through the provider ends it on the server too.

use super::*;

pub(super) async fn login_form(State(state): State<AppState>) -> Response {
    login_response(&state, StatusCode::OK, None)
}

/// The sign-in page with `status` and `error`, and a fresh CSRF token: in a `__Host-` cookie
/// (which no other site, not even a sibling subdomain, can set) and in the form; the post
/// must carry both, equal.
pub(super) fn login_response(
    state: &AppState,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        return internal("no randomness for a CSRF token");
    }
    let csrf = hex::encode(bytes);
    (
        status,
        [(header::SET_COOKIE, session::login_csrf_cookie(&csrf))],
        login_page(
            error,
            &csrf,
            state
                .sso()
                .map(|s| s.config().display_name.clone())
                .as_deref(),
        ),
    )
        .into_response()
}

pub(super) fn login_page(error: Option<&str>, csrf: &str, sso: Option<&str>) -> Html<String> {
    page(
        "Sign in",
        None,
        html! {
            h1 { "Sign in" }
            @if let Some(name) = sso {
                p { a.button href="/oidc/login" { "Sign in with " (name) } }
                p.muted { "Or, for installs and machines without the identity provider:" }
            }
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
pub(super) struct LoginForm {
    token: String,
    #[serde(default)]
    csrf: String,
}

pub(super) fn cross_site(state: &AppState, why: &str) -> Response {
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

pub(super) async fn login(
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
            &state,
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
            login_response(&state, StatusCode::UNAUTHORIZED, Some(&message))
        }
        Err(e) => {
            tracing::error!(error = %e, "login lookup failed");
            login_response(
                &state,
                StatusCode::INTERNAL_SERVER_ERROR,
                Some("internal error"),
            )
        }
    }
}

#[derive(Deserialize)]
pub(super) struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

pub(super) async fn logout(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    let cookies = session::cookies(&headers);
    let expected = session::csrf_of(cookies.as_deref());
    if expected.is_none_or(|e| e != form.csrf) {
        return cross_site(&state, "the sign-out form's CSRF token does not match");
    }
    // A person's session ends on the server too: the cookie, if it was copied, is worth
    // nothing from now on. (A token's session only forgets the cookie: the token lives on.)
    if let Some(current) = session::current(&state, cookies.as_deref()).await
        && current.person.is_some()
        && let Err(e) = state
            .end_session(current.token, "signed out", &current.who())
            .await
    {
        tracing::error!(error = %e, "cannot end a session at sign-out");
        return internal(e);
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
