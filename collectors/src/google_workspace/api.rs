//! The Admin SDK Directory API client: reqwest over rustls (ring, the CA bundle the
//! configuration names), no redirect followed, an access token obtained with the service
//! account's signed assertion (domain-wide delegation) and kept until shortly before it expires.
//!
//! Every answer's status and headers are seen: `429`, `503` and the `403` of a rate limit
//! (`userRateLimitExceeded`, `rateLimitExceeded`, `quotaExceeded`) are waited out, until
//! `Retry-After` when the answer names it, else by exponential backoff, when that ends before
//! the deadline; pages are followed by `nextPageToken`; a refused assertion (any refusal of the
//! token endpoint, or the API's `401` to a fresh token) is a problem of the whole run,
//! remembered so that no other call asks again; any other `403` is a missing scope or a missing
//! admin privilege, named by the call.

use std::time::{Duration, SystemTime};

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;

use super::auth::{Claims, Signer};
use super::model::{GoogleError, Page, TokenAnswer, TokenError};
use super::{GROUP_MEMBER_SCOPE, POLICY_SCOPE, REPORTS_SCOPE, ROLE_SCOPE, USER_SCOPE};
use crate::{CollectContext, remote};

/// The reasons of a `403` that is a rate limit, not a refusal.
const RATE_LIMITED: &[&str] = &[
    "userRateLimitExceeded",
    "rateLimitExceeded",
    "quotaExceeded",
    "RATE_LIMIT_EXCEEDED",
];

/// The reasons of a `403` for a token without the call's scope.
const SCOPE_MISSING: &[&str] = &["insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"];

/// The Reports API's warning that it has no data for the date asked.
pub(crate) const NO_DATA: &str = "DATA_NOT_AVAILABLE";

/// What a refused assertion or token costs the client of `admin_email`.
pub(crate) const ALL_LOST: &str = "no Google Workspace fact can be read";

/// The grant type of a signed assertion (RFC 7523).
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Why a call gave no usable answer; its `Display` is an evidence item's reason. None of them
/// holds the key, an assertion or a token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ApiError {
    /// The assertion or the token was refused: no call can succeed.
    #[error("{call}: HTTP {status} {code}: {summary}: {consequence}")]
    Unauthorized {
        /// `POST /token` or `GET /admin/directory/v1/…`.
        call: String,
        /// The status code.
        status: u16,
        /// `invalid_grant`, `unauthorized_client` (the token endpoint) or `authError` (the API).
        code: String,
        /// Google's description (`Invalid JWT Signature.`).
        summary: String,
        /// What it means for the run, and what to check.
        consequence: String,
    },
    /// `403`: the token lacks the call's scope, or the administrator it acts for the privilege.
    #[error("{call}: HTTP 403 {code}: {summary}: {need}")]
    Forbidden {
        /// `GET /admin/directory/v1/…`.
        call: String,
        /// Google's reason (`insufficientPermissions`, `forbidden`).
        code: String,
        /// Google's message.
        summary: String,
        /// What is missing, naming the scope.
        need: String,
    },
    /// Another error status.
    #[error("{call}: HTTP {status} {code}: {summary}")]
    Status {
        /// `GET /admin/directory/v1/…`.
        call: String,
        /// The status code.
        status: u16,
        /// Google's reason, or `-`.
        code: String,
        /// Google's message, or the start of the body.
        summary: String,
    },
    /// No usable answer: rate limited past the deadline, the request failed, or the answer is
    /// not what the API documents. The reason names the call.
    #[error("{0}")]
    Failed(String),
}

impl ApiError {
    /// Whether the assertion or the token was refused: nothing else can be read.
    pub(crate) fn is_unauthorized(&self) -> bool {
        matches!(self, ApiError::Unauthorized { .. })
    }

    /// Whether the Reports API has no data for the date asked yet: `400` "Data for dates later
    /// than … is not yet available", or the warning `DATA_NOT_AVAILABLE`.
    pub(crate) fn is_not_yet_reported(&self) -> bool {
        match self {
            ApiError::Status {
                status: 400,
                summary,
                ..
            } => summary.contains("not yet available"),
            ApiError::Failed(reason) => reason.contains(NO_DATA),
            _ => false,
        }
    }
}

/// Where a client connects, and as whom.
pub(crate) struct Endpoints<'a> {
    /// `https://admin.googleapis.com`.
    pub api: &'a str,
    /// `https://oauth2.googleapis.com/token`: where the assertion is sent, and its audience.
    pub token_url: &'a str,
    /// The administrator the service account acts as.
    pub subject: &'a str,
    /// The scopes asked for.
    pub scopes: &'a [String],
    /// The configuration key naming the subject (`admin_email`, `policy_admin_email`), for
    /// reasons.
    pub subject_key: &'static str,
    /// What a refused assertion or token costs (`no Google Workspace fact can be read`).
    pub loss: &'static str,
}

/// A client for one account's directory.
pub(crate) struct Api {
    client: reqwest::Client,
    /// `scheme://authority` of the API: every request goes there.
    api: String,
    /// The token endpoint's URL.
    token_url: String,
    /// `POST /token`, for reasons.
    token_call: String,
    /// The service account's key: used only to sign assertions.
    signer: Signer,
    /// The administrator the service account acts as.
    subject: String,
    /// The scopes, space-separated.
    scope: String,
    /// The configuration key naming the subject, for reasons.
    subject_key: &'static str,
    /// What a refused assertion or token costs.
    loss: &'static str,
    /// The most pages one listing may take.
    max_pages: usize,
    /// The access token, obtained by one call at a time.
    token: remote::TokenCache<ApiError>,
}

impl Api {
    /// A client of `endpoints`, signing with `signer`, trusting the PEM certificates of
    /// `ca_pem`. The error is a reason sentence.
    pub(crate) fn new(
        endpoints: &Endpoints<'_>,
        signer: Signer,
        ca_pem: &[u8],
        max_pages: usize,
    ) -> Result<Api, String> {
        let client = remote::https_client(ca_pem, "Google Workspace client")?;
        let token_path = endpoints
            .token_url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or("/");
        Ok(Api {
            client,
            api: endpoints.api.trim_end_matches('/').to_string(),
            token_url: endpoints.token_url.to_string(),
            token_call: format!("POST {token_path}"),
            signer,
            subject: endpoints.subject.to_string(),
            scope: endpoints.scopes.join(" "),
            subject_key: endpoints.subject_key,
            loss: endpoints.loss,
            max_pages,
            token: remote::TokenCache::new(),
        })
    }

    /// The token to send and its generation: the one in use while it is fresh, else a new one.
    /// A refusal is remembered and answered again without asking.
    async fn bearer(&self, ctx: &CollectContext) -> Result<(HeaderValue, u64), ApiError> {
        self.token
            .bearer(|| self.fetch_token(ctx), ApiError::is_unauthorized)
            .await
    }

    /// Forgets token `generation` if it is still the one in use (the API refused it).
    async fn forget(&self, generation: u64) {
        self.token.forget(generation).await;
    }

    /// Remembers that the API refused even a fresh token.
    async fn give_up(&self, refusal: &ApiError) {
        self.token.give_up(refusal).await;
    }

    /// Signs an assertion dated by the collection's clock and exchanges it at the token
    /// endpoint, waiting out `429` and `503` within the deadline. Returns the header to send and
    /// the token's lifetime.
    async fn fetch_token(&self, ctx: &CollectContext) -> Result<(HeaderValue, Duration), ApiError> {
        let call = &self.token_call;
        let mut waited = 0;
        loop {
            let assertion = self
                .signer
                .assertion(&Claims {
                    subject: &self.subject,
                    scope: &self.scope,
                    audience: &self.token_url,
                    issued_at: ctx.clock.now().datetime().unix_timestamp(),
                })
                .map_err(|e| ApiError::Failed(format!("{call}: {e}")))?;
            let form = [("grant_type", JWT_BEARER), ("assertion", assertion.as_str())];
            let request = self
                .client
                .post(&self.token_url)
                .header(ACCEPT, "application/json")
                .form(&form);
            let (status, headers, body) = remote::exchange(ctx, call, request)
                .await
                .map_err(ApiError::Failed)?;
            if matches!(status, 429 | 503) {
                let until = pause_until(&headers, waited);
                remote::wait_out_rate_limit(ctx, call, until, waited)
                    .await
                    .map_err(ApiError::Failed)?;
                waited += 1;
                continue;
            }
            if !(200..300).contains(&status) {
                return Err(self.costed(token_refusal(
                    call,
                    status,
                    &body,
                    &self.scope,
                    self.subject_key,
                )));
            }
            let answer: TokenAnswer = serde_json::from_str(&body)
                .map_err(|e| ApiError::Failed(format!("{call}: unexpected answer: {e}")))?;
            if !answer.token_type.is_empty() && !answer.token_type.eq_ignore_ascii_case("bearer")
            {
                return Err(ApiError::Failed(format!(
                    "{call}: unexpected answer: a token of type {:?}, not Bearer",
                    vouch_evidence::limits::truncate_echo(&answer.token_type)
                )));
            }
            let mut header = HeaderValue::from_str(&format!("Bearer {}", answer.access_token))
                .ok()
                .filter(|_| !answer.access_token.is_empty())
                .ok_or_else(|| {
                    ApiError::Failed(format!(
                        "{call}: unexpected answer: the access token is empty or not fit for a header"
                    ))
                })?;
            header.set_sensitive(true);
            return Ok((header, Duration::from_secs(answer.expires_in)));
        }
    }

    /// `e` with what a refusal costs this client: the default consequence names every fact.
    fn costed(&self, e: ApiError) -> ApiError {
        match e {
            ApiError::Unauthorized {
                call,
                status,
                code,
                summary,
                consequence,
            } => ApiError::Unauthorized {
                call,
                status,
                code,
                summary,
                consequence: consequence.replace(ALL_LOST, self.loss),
            },
            other => other,
        }
    }

    /// `GET path_and_query` (`/admin/directory/v1/users?…`) on the API: throttling waited out
    /// within the deadline, a refused token replaced once. Returns the body.
    async fn fetch(&self, ctx: &CollectContext, path_and_query: &str) -> Result<String, ApiError> {
        let call = format!("GET {path_and_query}");
        let url = format!("{}{path_and_query}", self.api);
        let mut waited = 0;
        let mut renewed = false;
        loop {
            let (auth, generation) = match self.bearer(ctx).await {
                Ok(b) => b,
                // The token's reason names its own call; say which call needed it.
                Err(e @ ApiError::Unauthorized { .. }) => return Err(e),
                Err(e) => return Err(ApiError::Failed(format!("{call}: no access token: {e}"))),
            };
            let request = self
                .client
                .get(&url)
                .header(AUTHORIZATION, auth)
                .header(ACCEPT, "application/json");
            let (status, headers, body) = remote::exchange(ctx, &call, request)
                .await
                .map_err(ApiError::Failed)?;
            match status {
                200..=299 => return Ok(body),
                429 | 503 => {}
                403 if is_rate_limit(&body) => {}
                401 if !renewed => {
                    // The token may have expired in flight: one fresh token is worth a try.
                    renewed = true;
                    self.forget(generation).await;
                    continue;
                }
                _ => {
                    let e = self.costed(refusal(call, status, &body));
                    if e.is_unauthorized() {
                        self.give_up(&e).await;
                    }
                    return Err(e);
                }
            }
            let until = pause_until(&headers, waited);
            remote::wait_out_rate_limit(ctx, &call, until, waited)
                .await
                .map_err(ApiError::Failed)?;
            waited += 1;
        }
    }

    /// Every item of a Directory API list, from `path_and_query` (which has a query already)
    /// and then page by page with `pageToken`, at most the configured number of pages.
    pub(crate) async fn get_all<T: DeserializeOwned>(
        &self,
        ctx: &CollectContext,
        path_and_query: &str,
    ) -> Result<Vec<T>, ApiError> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            if pages == self.max_pages {
                return Err(ApiError::Failed(format!(
                    "GET {path_and_query}: more than {} pages (max_pages): the list is not complete",
                    self.max_pages
                )));
            }
            let path = match &token {
                None => path_and_query.to_string(),
                Some(t) => format!("{path_and_query}&pageToken={}", query_value(t)),
            };
            let body = self.fetch(ctx, &path).await?;
            let page: Page<T> = serde_json::from_str(&body)
                .map_err(|e| ApiError::Failed(format!("GET {path}: unexpected answer: {e}")))?;
            // The Reports API answers a day it has no data for with a warning, not an error.
            if let Some(w) = page.warnings.iter().find(|w| w.code == NO_DATA) {
                return Err(ApiError::Failed(format!(
                    "GET {path}: {NO_DATA}: {}",
                    first_line(&w.message)
                )));
            }
            items.extend(page.entries);
            pages += 1;
            match page.next_page_token.filter(|t| !t.is_empty()) {
                None => return Ok(items),
                Some(next) if token.as_deref() == Some(next.as_str()) => {
                    return Err(ApiError::Failed(format!(
                        "GET {path}: unexpected answer: the next page is the same page"
                    )));
                }
                Some(next) => token = Some(next),
            }
        }
    }
}

/// `value` percent-encoded for a query: everything but RFC 3986's unreserved characters.
pub(crate) fn query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// When a throttled call may be made again: `Retry-After` when the answer names it, else by
/// exponential backoff after the `waited`-th pause (1 s, 2 s, 4 s…), as Google advises.
fn pause_until(headers: &HeaderMap, waited: u32) -> SystemTime {
    let now = SystemTime::now();
    remote::retry_after(headers, now)
        .unwrap_or_else(|| now + Duration::from_secs(1 << waited.min(6)))
}

/// Whether a `403`'s body says it is a rate limit.
fn is_rate_limit(body: &str) -> bool {
    serde_json::from_str::<GoogleError>(body).is_ok_and(|e| e.error.has_reason(RATE_LIMITED))
}

/// The first line of a text another party chose, cut like any such text.
fn first_line(text: &str) -> String {
    vouch_evidence::limits::truncate_echo(text.lines().next().unwrap_or("").trim())
}

/// A refusal of the token endpoint: any error but throttling and server errors means the
/// assertion was refused, with what Google's answer points to.
fn token_refusal(
    call: &str,
    status: u16,
    body: &str,
    scope: &str,
    subject_key: &str,
) -> ApiError {
    let (code, summary) = match serde_json::from_str::<TokenError>(body) {
        Ok(e) if !e.error.is_empty() => (
            vouch_evidence::limits::truncate_echo(&e.error),
            first_line(&e.error_description),
        ),
        _ => (
            "-".to_string(),
            first_line(&body.chars().take(200).collect::<String>()),
        ),
    };
    if !(400..500).contains(&status) {
        return ApiError::Status {
            call: call.to_string(),
            status,
            code,
            summary,
        };
    }
    let hint = if code == "unauthorized_client" {
        format!(
            "the service account's client id is not authorised for domain-wide delegation of every scope asked ({scope}) in the Admin console (Security > Access and data control > API controls)"
        )
    } else if summary.contains("JWT Signature") {
        "the service account's key was deleted or disabled, or the key file is not that of client_email".to_string()
    } else if summary.contains("short-lived") || summary.contains("timeframe") {
        "the agent's clock is off by more than Google allows: check its time synchronisation"
            .to_string()
    } else if summary.contains("email") || summary.contains("sub") || code == "invalid_request" {
        format!("{subject_key} is not an active user of the account")
    } else {
        "the service account, its key or its delegation is not usable".to_string()
    };
    ApiError::Unauthorized {
        call: call.to_string(),
        status,
        code,
        summary,
        consequence: format!(
            "Google refused the service account's assertion ({hint}): {ALL_LOST} until that is fixed"
        ),
    }
}

/// An error status of the API as an [`ApiError`], with Google's reason and message.
fn refusal(call: String, status: u16, body: &str) -> ApiError {
    let parsed = serde_json::from_str::<GoogleError>(body).ok();
    let (code, summary) = match &parsed {
        Some(e) => (
            vouch_evidence::limits::truncate_echo(e.error.reason()),
            first_line(&e.error.message),
        ),
        None => (
            "-".to_string(),
            first_line(&body.chars().take(200).collect::<String>()),
        ),
    };
    match status {
        401 => ApiError::Unauthorized {
            call,
            status,
            code,
            summary,
            consequence: format!("the Directory API refused the access token twice, the second freshly issued (check that token_url and api_url are Google's): {ALL_LOST} until that is fixed"),
        },
        403 => {
            let scope = required_scope(&call);
            let need = if parsed
                .as_ref()
                .is_some_and(|e| e.error.has_reason(SCOPE_MISSING))
            {
                format!(
                    "the access token lacks the scope {scope} (add it to scopes, and authorise it for the service account's client id in the Admin console's domain-wide delegation)"
                )
            } else if scope == POLICY_SCOPE {
                "the administrator Vouch acts as for the password policies (policy_admin_email) may not read them: the Cloud Identity Policy API answers super administrators of this account only".to_string()
            } else {
                format!(
                    "the administrator Vouch acts as (admin_email) may not read this: its admin role lacks the privilege behind the scope {scope}, or it is not an administrator of this account"
                )
            };
            ApiError::Forbidden {
                call,
                code,
                summary,
                need,
            }
        }
        300..=399 => ApiError::Status {
            call,
            status,
            code: "-".into(),
            summary: "unexpected status (redirects are not followed)".into(),
        },
        _ => ApiError::Status {
            call,
            status,
            code,
            summary,
        },
    }
}

/// The read-only scope a call needs, by its path.
pub(crate) fn required_scope(call: &str) -> &'static str {
    let target = call.trim_start_matches("GET ");
    let path = target.split('?').next().unwrap_or(target);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["admin", "directory", "v1", "customer", _, "roles" | "roleassignments", ..] => ROLE_SCOPE,
        ["admin", "directory", "v1", "groups", ..] => GROUP_MEMBER_SCOPE,
        ["admin", "reports", ..] => REPORTS_SCOPE,
        ["v1", "policies", ..] => POLICY_SCOPE,
        _ => USER_SCOPE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_waits_for_retry_after_else_backs_off() {
        let before = SystemTime::now();
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("3"));
        let at = pause_until(&h, 0);
        assert!(at >= before + Duration::from_secs(3));
        for (waited, secs) in [(0, 1), (1, 2), (2, 4)] {
            let at = pause_until(&HeaderMap::new(), waited);
            let pause = at.duration_since(before).unwrap();
            assert!(
                pause >= Duration::from_secs(secs) && pause < Duration::from_secs(secs + 1),
                "{waited}: {pause:?}"
            );
        }
        assert!(is_rate_limit(
            r#"{"error":{"code":403,"message":"Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user'","errors":[{"message":"Quota exceeded","domain":"usageLimits","reason":"userRateLimitExceeded"}]}}"#
        ));
        assert!(!is_rate_limit(
            r#"{"error":{"code":403,"message":"Not Authorized to access this resource/api","errors":[{"message":"Not Authorized to access this resource/api","domain":"global","reason":"forbidden"}]}}"#
        ));
    }

    #[test]
    fn refusals_name_the_scope() {
        let scope = refusal(
            "GET /admin/directory/v1/groups/03ep43zb2k5y2ab/members?includeDerivedMembership=true&maxResults=200".into(),
            403,
            r#"{"error":{"code":403,"message":"Request had insufficient authentication scopes.","errors":[{"message":"Insufficient Permission","domain":"global","reason":"insufficientPermissions"}],"status":"PERMISSION_DENIED"}}"#,
        );
        assert!(
            scope.to_string().ends_with(
                "HTTP 403 insufficientPermissions: Request had insufficient authentication scopes.: the access token lacks the scope https://www.googleapis.com/auth/admin.directory.group.member.readonly (add it to scopes, and authorise it for the service account's client id in the Admin console's domain-wide delegation)"
            ),
            "{scope}"
        );
        let privilege = refusal(
            "GET /admin/directory/v1/customer/my_customer/roles?maxResults=100".into(),
            403,
            r#"{"error":{"code":403,"message":"Not Authorized to access this resource/api","errors":[{"message":"Not Authorized to access this resource/api","domain":"global","reason":"forbidden"}]}}"#,
        );
        assert!(
            privilege.to_string().contains(
                "HTTP 403 forbidden: Not Authorized to access this resource/api: the administrator Vouch acts as (admin_email) may not read this: its admin role lacks the privilege behind the scope https://www.googleapis.com/auth/admin.directory.rolemanagement.readonly"
            ),
            "{privilege}"
        );
        let expired = refusal(
            "GET /admin/directory/v1/users".into(),
            401,
            r#"{"error":{"code":401,"message":"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.","errors":[{"message":"Invalid Credentials","domain":"global","reason":"authError","location":"Authorization","locationType":"header"}],"status":"UNAUTHENTICATED"}}"#,
        );
        assert!(expired.is_unauthorized());
        assert!(expired.to_string().contains("HTTP 401 authError: Request had invalid authentication credentials."));
        assert_eq!(
            refusal("GET /x".into(), 502, "<html>").to_string(),
            "GET /x: HTTP 502 -: <html>"
        );
    }

    #[test]
    fn a_day_not_reported_yet_is_told_apart() {
        let late = refusal(
            "GET /admin/reports/v1/usage/users/all/dates/2025-11-22?parameters=accounts:num_security_keys".into(),
            400,
            r#"{"error":{"code":400,"message":"Data for dates later than 2025-11-21 is not yet available. Please check back later","errors":[{"message":"Data for dates later than 2025-11-21 is not yet available. Please check back later","domain":"global","reason":"invalid"}],"status":"INVALID_ARGUMENT"}}"#,
        );
        assert!(late.is_not_yet_reported(), "{late}");
        assert!(ApiError::Failed("GET /x: DATA_NOT_AVAILABLE: none".into()).is_not_yet_reported());
        let other = refusal(
            "GET /admin/reports/v1/usage/users/all/dates/2025-11-22".into(),
            400,
            r#"{"error":{"code":400,"message":"Invalid value 'accounts:nope'. Values must match the following regular expression: '...'","errors":[{"message":"Invalid value","domain":"global","reason":"invalid"}]}}"#,
        );
        assert!(!other.is_not_yet_reported());
    }

    #[test]
    fn token_refusals_say_what_to_check() {
        let scope = "https://www.googleapis.com/auth/admin.directory.user.readonly";
        for (body, hint) in [
            (
                r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
                "key was deleted or disabled",
            ),
            (
                r#"{"error":"invalid_grant","error_description":"Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."}"#,
                "clock is off",
            ),
            (
                r#"{"error":"unauthorized_client","error_description":"Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."}"#,
                "domain-wide delegation of every scope asked (https://www.googleapis.com/auth/admin.directory.user.readonly)",
            ),
            (
                r#"{"error":"invalid_grant","error_description":"Invalid email or User ID"}"#,
                "admin_email is not an active user",
            ),
        ] {
            let e = token_refusal("POST /token", 400, body, scope, "admin_email");
            assert!(e.is_unauthorized());
            assert!(e.to_string().contains(hint), "{e}");
            assert!(e.to_string().ends_with("no Google Workspace fact can be read until that is fixed"));
        }
        assert!(!token_refusal("POST /token", 500, "", scope, "admin_email").is_unauthorized());
    }

    #[test]
    fn scopes_follow_the_path_and_values_are_encoded() {
        assert_eq!(required_scope("GET /admin/directory/v1/users?customer=my_customer"), USER_SCOPE);
        assert_eq!(
            required_scope("GET /admin/directory/v1/customer/my_customer/roleassignments?maxResults=200"),
            ROLE_SCOPE
        );
        assert_eq!(
            required_scope("GET /admin/directory/v1/customer/my_customer/roles"),
            ROLE_SCOPE
        );
        assert_eq!(
            required_scope("GET /admin/directory/v1/groups/g/members"),
            GROUP_MEMBER_SCOPE
        );
        assert_eq!(
            required_scope(
                "GET /admin/reports/v1/usage/users/all/dates/2025-11-22?parameters=accounts:num_security_keys"
            ),
            REPORTS_SCOPE
        );
        assert_eq!(query_value("a+b/c=d~e_f"), "a%2Bb%2Fc%3Dd~e_f");
    }
}
