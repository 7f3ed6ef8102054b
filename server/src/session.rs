//! Web sessions: after a login with an API token, or through the identity provider, the
//! browser holds a cookie that the server signed (a DSSE envelope of its own payload type, so
//! it can never pass for a receipt or a manifest). The cookie names a token's hash, not a
//! token; every request re-checks that the token still exists with the same role, so revoking
//! the token ends its sessions (replicas share nothing but the key and the database).
//!
//! A session of a person signed in through the provider names them, and its token is one
//! started for it alone ([`AppState::start_session`]), with the absolute lifetime; it also
//! ends after `[oidc] idle_secs` without a request, at sign-out (the token is revoked), and
//! every `recheck_secs` it goes back to the provider to read the person's groups again.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use vouch_evidence::dsse::{self, Envelope};
use vouch_evidence::{Digest, Timestamp};

use crate::auth::{Person, Role};
use crate::state::AppState;

/// The cookie's name.
pub const COOKIE: &str = "vouch_session";
/// The payload type of a session.
pub const PAYLOAD_TYPE: &str = "application/vnd.vouch.session+json";
/// How long a session lasts.
pub const LIFETIME_SECS: i64 = 8 * 3600;

/// The payload type of a sign-in through the provider under way.
pub const FLOW_PAYLOAD_TYPE: &str = "application/vnd.vouch.oidc-flow+json";
/// The cookie holding a sign-in through the provider under way. `SameSite=Lax`: the provider
/// sends the browser back with a top-level navigation from its own site.
pub const FLOW_COOKIE: &str = "__Host-vouch_oidc";
/// How long a sign-in through the provider may take.
pub const FLOW_LIFETIME_SECS: i64 = 600;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Session {
    token: Digest,
    role: String,
    expires_at: Timestamp,
    /// The person, for a session started through the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    person: Option<Person>,
    /// Seconds without a request after which the session ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    idle_secs: Option<u64>,
    /// When the session goes back to the provider to read the groups again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recheck_at: Option<Timestamp>,
}

/// A sign-in through the provider under way, as its cookie holds it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowCookie {
    /// The flow's `state`, `nonce` and PKCE verifier.
    pub flow: crate::sso::Flow,
    /// Where to go once signed in (a path of this server).
    pub next: String,
    /// Whether it is a session's silent recheck (`prompt=none`).
    pub silent: bool,
    /// Until when the callback is accepted.
    pub expires_at: Timestamp,
}

fn seal<T: Serialize>(state: &AppState, payload_type: &str, value: &T) -> String {
    let payload = serde_json::to_vec(value).expect("serialisable");
    let env = dsse::sign(state.receipt_key(), payload_type, &payload);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(env.to_vec())
}

fn open<T: serde::de::DeserializeOwned>(
    state: &AppState,
    payload_type: &str,
    value: &str,
) -> Option<T> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .ok()?;
    let env = Envelope::from_slice(&bytes).ok()?;
    let key = state.receipt_public_key();
    let verified = env
        .verify(payload_type, |id| (*id == key.id()).then_some(key))
        .ok()?;
    serde_json::from_slice(&verified.payload).ok()
}

/// `secs` after now by the server's clock (which tests move).
fn after(state: &AppState, secs: i64) -> Timestamp {
    Timestamp::from_unix_micros(state.now().unix_micros() + secs * 1_000_000).expect("in range")
}

/// The `Set-Cookie` value of a new session for the token with hash `token` and `role`.
pub fn issue(state: &AppState, token: Digest, role: Role) -> String {
    let value = seal(
        state,
        PAYLOAD_TYPE,
        &Session {
            token,
            role: role.as_str().into(),
            expires_at: after(state, LIFETIME_SECS),
            person: None,
            idle_secs: None,
            recheck_at: None,
        },
    );
    format!("{COOKIE}={value}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={LIFETIME_SECS}")
}

/// The `Set-Cookie` value of a new session of `person` with `role`, on the token with hash
/// `token` ([`AppState::start_session`]), with the lifetimes of `config`.
pub fn issue_for_person(
    state: &AppState,
    token: Digest,
    role: Role,
    person: Person,
    config: &crate::sso::SsoConfig,
) -> String {
    let lifetime = config.absolute_secs as i64;
    let value = seal(
        state,
        PAYLOAD_TYPE,
        &Session {
            token,
            role: role.as_str().into(),
            expires_at: after(state, lifetime),
            person: Some(person),
            idle_secs: Some(config.idle_secs),
            recheck_at: Some(after(state, config.recheck_secs as i64)),
        },
    );
    format!("{COOKIE}={value}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={lifetime}")
}

/// The `Set-Cookie` value of a sign-in through the provider under way.
pub fn flow_cookie(state: &AppState, flow: crate::sso::Flow, next: &str, silent: bool) -> String {
    let value = seal(
        state,
        FLOW_PAYLOAD_TYPE,
        &FlowCookie {
            flow,
            next: next.to_string(),
            silent,
            expires_at: after(state, FLOW_LIFETIME_SECS),
        },
    );
    format!(
        "{FLOW_COOKIE}={value}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age={FLOW_LIFETIME_SECS}"
    )
}

/// The sign-in under way in the request's `Cookie` header, if its signature holds and it has
/// not expired.
pub fn flow(state: &AppState, cookie_header: Option<&str>) -> Option<FlowCookie> {
    let flow: FlowCookie = open(
        state,
        FLOW_PAYLOAD_TYPE,
        cookie(cookie_header, FLOW_COOKIE)?,
    )?;
    (flow.expires_at > state.now()).then_some(flow)
}

/// The `Set-Cookie` value that forgets the sign-in under way.
pub fn clear_flow() -> String {
    format!("{FLOW_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0")
}

/// Every cookie of a request as one `Cookie` header value: HTTP/2 clients send each cookie in
/// a header of its own.
pub fn cookies(headers: &axum::http::HeaderMap) -> Option<String> {
    let all: Vec<&str> = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!all.is_empty()).then(|| all.join("; "))
}

/// The value of cookie `name` in a `Cookie` header value (see [`cookies`]).
pub fn cookie<'a>(cookie_header: Option<&'a str>, name: &str) -> Option<&'a str> {
    cookie_header?
        .split(';')
        .map(str::trim)
        .find_map(|c| c.strip_prefix(name)?.strip_prefix('='))
}

/// The cookie holding the sign-in form's CSRF token.
pub const LOGIN_CSRF_COOKIE: &str = "__Host-vouch_csrf";

/// The `Set-Cookie` value of the sign-in form's CSRF token.
pub fn login_csrf_cookie(token: &str) -> String {
    format!("{LOGIN_CSRF_COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=3600")
}

/// The CSRF token of the session in a `Cookie` header: derived from the session cookie, which
/// another site can neither read nor set, so a form that carries it came from our own page.
pub fn csrf_of(cookie_header: Option<&str>) -> Option<String> {
    let value = cookie(cookie_header, COOKIE)?;
    if value.is_empty() {
        return None;
    }
    let digest = Digest::of(format!("vouch-csrf\0{value}").as_bytes());
    Some(digest.to_hex()[..32].to_string())
}

/// The `Set-Cookie` value that ends the session.
pub fn clear() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0")
}

/// A valid session.
#[derive(Clone, Debug)]
pub struct Current {
    /// Its role.
    pub role: Role,
    /// The person, for a session started through the provider.
    pub person: Option<Person>,
    /// The hash of its token.
    pub token: Digest,
    /// Whether it is time to read the person's groups at the provider again.
    pub recheck_due: bool,
}

impl Current {
    /// Who, for records: the person (name, e-mail, role, subject), or the role and the
    /// first hex digits of the token a dashboard session was opened with.
    pub fn who(&self) -> String {
        match &self.person {
            Some(p) => p.describe(self.role),
            None => format!(
                "{} token {} (dashboard)",
                self.role,
                &self.token.to_hex()[..12]
            ),
        }
    }
}

/// The session in the request's `Cookie` header, if it is valid (signed by this server,
/// unexpired, not idle too long) and its token still has its role.
pub async fn current(state: &AppState, cookie_header: Option<&str>) -> Option<Current> {
    let session: Session = open(state, PAYLOAD_TYPE, cookie(cookie_header, COOKIE)?)?;
    let at = state.now();
    if session.expires_at <= at {
        return None;
    }
    let role = Role::parse(&session.role)?;
    match state
        .token_role_unless_idle(session.token, session.idle_secs)
        .await
    {
        Ok(Ok(current)) if current == role => Some(Current {
            role,
            recheck_due: session.recheck_at.is_some_and(|r| r <= at),
            person: session.person,
            token: session.token,
        }),
        _ => None,
    }
}

/// The role of the session in the request's `Cookie` header, if it is valid (see [`current`])
/// and not due for a recheck at the provider.
pub async fn role(state: &AppState, cookie_header: Option<&str>) -> Option<Role> {
    current(state, cookie_header)
        .await
        .filter(|c| !c.recheck_due)
        .map(|c| c.role)
}
