//! Web sessions: after a login with an API token, the browser holds a cookie that the server
//! signed (a DSSE envelope of its own payload type, so it can never pass for a receipt or a
//! manifest). The cookie names the token's hash, not the token; every request re-checks that
//! the token still exists with the same role, so revoking the token ends its sessions, and no
//! session table is needed (replicas share nothing but the key and the database).

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use vouch_evidence::dsse::{self, Envelope};
use vouch_evidence::{Digest, Timestamp};

use crate::auth::Role;
use crate::state::{AppState, now};

/// The cookie's name.
pub const COOKIE: &str = "vouch_session";
/// The payload type of a session.
pub const PAYLOAD_TYPE: &str = "application/vnd.vouch.session+json";
/// How long a session lasts.
pub const LIFETIME_SECS: i64 = 8 * 3600;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Session {
    token: Digest,
    role: String,
    expires_at: Timestamp,
}

/// The `Set-Cookie` value of a new session for the token with hash `token` and `role`.
pub fn issue(state: &AppState, token: Digest, role: Role) -> String {
    let expires_at = Timestamp::from_unix_micros(now().unix_micros() + LIFETIME_SECS * 1_000_000)
        .expect("in range");
    let payload = serde_json::to_vec(&Session {
        token,
        role: role.as_str().into(),
        expires_at,
    })
    .expect("serialisable");
    let env = dsse::sign(state.receipt_key(), PAYLOAD_TYPE, &payload);
    let value = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(env.to_vec());
    format!("{COOKIE}={value}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={LIFETIME_SECS}")
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

/// The role of the session in the request's `Cookie` header, if it is valid, unexpired and its
/// token still has that role.
pub async fn role(state: &AppState, cookie_header: Option<&str>) -> Option<Role> {
    let value = cookie(cookie_header, COOKIE)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .ok()?;
    let env = Envelope::from_slice(&bytes).ok()?;
    let key = state.receipt_public_key();
    let verified = env
        .verify(PAYLOAD_TYPE, |id| (*id == key.id()).then_some(key))
        .ok()?;
    let session: Session = serde_json::from_slice(&verified.payload).ok()?;
    if session.expires_at <= now() {
        return None;
    }
    let role = Role::parse(&session.role)?;
    match state.token_role(session.token).await {
        Ok(Ok(current)) if current == role => Some(role),
        _ => None,
    }
}
