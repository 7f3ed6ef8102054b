//! Who is asking: the bearer-token extractors (reader, manager, admin) and the refusals of
//! unknown or unauthorised clients, rate-limited per address.

use super::*;

/// A request with a bearer token whose role may read evidence.
pub struct Reader(pub Role);

impl FromRequestParts<AppState> for Reader {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        authorize(parts, state, "read evidence", Role::can_read_evidence)
            .await
            .map(|(role, _)| Reader(role))
    }
}

/// A write a signed-in person made through a dashboard form, which the dashboard hands to the
/// API as a request of its own carrying this (a request extension: nothing from the network
/// can set one). The dashboard checked the form's CSRF token and the session first.
#[derive(Clone, Debug)]
pub struct DashboardWrite {
    /// The session's role.
    pub role: Role,
    /// Who, for records ([`crate::session::Current::who`]).
    pub who: String,
}

/// A request with a bearer token whose role manages policies, exceptions and manual evidence
/// (admin, security lead); carries who it is for the record.
pub struct Manager {
    /// The token's role.
    pub role: Role,
    /// Who, for records: the role and the first hex digits of the token's hash.
    pub who: String,
}

impl FromRequestParts<AppState> for Manager {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let (role, who) = authorize(parts, state, "manage policies and evidence", |r| {
            matches!(r, Role::Admin | Role::SecurityLead)
        })
        .await?;
        Ok(Manager { role, who })
    }
}

/// A caller with an admin token: provisioning (enrolment tokens for a fleet).
pub struct Admin {
    /// Who, for records.
    pub who: String,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let (_, who) = authorize(parts, state, "provision agents", |r| *r == Role::Admin).await?;
        Ok(Admin { who })
    }
}

/// The role of the request's bearer token (or dashboard session, or dashboard write) when
/// `allowed` lets it `what`, and who it is for records: the token's role and the first hex
/// digits of its hash, or the person. Reads by auditors are logged.
pub(super) async fn authorize(
    parts: &Parts,
    state: &AppState,
    what: &str,
    allowed: fn(&Role) -> bool,
) -> Result<(Role, String), AppError> {
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let forbidden = |role: Role| {
        state.metrics().rejected(RejectReason::Forbidden);
        AppError::Client(
            RejectReason::Forbidden,
            format!("role {role} may not {what}"),
        )
    };
    if let Some(write) = parts.extensions.get::<DashboardWrite>() {
        if !allowed(&write.role) {
            return Err(forbidden(write.role));
        }
        return Ok((write.role, write.who.clone()));
    }
    let Some(token) = bearer else {
        // A signed-in dashboard user may follow links to the API (an envelope download).
        let cookie = crate::session::cookies(&parts.headers);
        if let Some(current) = crate::session::current(state, cookie.as_deref())
            .await
            .filter(|c| !c.recheck_due)
        {
            let role = current.role;
            // A session only reads: a write through the API needs a bearer token, which no
            // other site can make a browser send.
            if !matches!(
                parts.method,
                axum::http::Method::GET | axum::http::Method::HEAD
            ) {
                state.metrics().rejected(RejectReason::CrossSite);
                return Err(AppError::Client(
                    RejectReason::CrossSite,
                    "API writes need an Authorization: Bearer token; a dashboard session only reads"
                        .into(),
                ));
            }
            if !allowed(&role) {
                return Err(forbidden(role));
            }
            crate::auth::log_read(role, &parts.method, &parts.uri);
            return Ok((role, current.who()));
        }
        state.metrics().rejected(RejectReason::Unauthorized);
        return Err(AppError::Client(
            RejectReason::Unauthorized,
            "an Authorization: Bearer token is required".into(),
        ));
    };
    let hash = hash_token(token);
    match state.token_role(hash).await? {
        Ok(role) if allowed(&role) => {
            crate::auth::log_read(role, &parts.method, &parts.uri);
            Ok((role, format!("{role} token {}", &hash.to_hex()[..12])))
        }
        Ok(role) => Err(forbidden(role)),
        Err(refusal) => Err(token_refused(state, refusal)),
    }
}

/// `429 rate_limited` with `Retry-After`, counted like any refusal of an unknown client.
pub(super) fn rate_limited(
    state: &AppState,
    remote: &str,
    wait: std::time::Duration,
    why: &str,
) -> AppError {
    let secs = wait.as_secs().max(1);
    state.metrics().rejected(RejectReason::RateLimited);
    let message = format!("{why}: retry in {secs} s");
    state.refusals().count(
        RejectReason::RateLimited.as_str(),
        Rejection {
            at: state.now(),
            remote: vouch_evidence::limits::truncate_echo(remote),
            reason: RejectReason::RateLimited.as_str().into(),
            message: message.clone(),
            agent_id: None,
            body_sha256: Digest::of(b""),
            body_size: 0,
        },
    );
    AppError::RateLimited(secs, message)
}

/// The answer to a bearer token that is unknown, expired or revoked.
pub(crate) fn token_refused(state: &AppState, refusal: TokenRefusal) -> AppError {
    let (reason, message) = match refusal {
        TokenRefusal::Unknown => (RejectReason::Unauthorized, "unknown token".to_string()),
        TokenRefusal::Expired(at) => (
            RejectReason::TokenExpired,
            format!("this token expired at {at}: ask an administrator for a new one"),
        ),
        TokenRefusal::Revoked(at) => (
            RejectReason::TokenRevoked,
            format!("this token was revoked at {at}"),
        ),
    };
    state.metrics().rejected(reason);
    AppError::Client(reason, message)
}
