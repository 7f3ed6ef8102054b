//! The Okta Management API client: reqwest over rustls (ring, the CA bundle the configuration
//! names), `Authorization: SSWS <token>`, no redirect followed. Every answer's status and
//! headers are seen: `429` is waited out until `X-Rate-Limit-Reset` (or `Retry-After`) when that
//! ends before the deadline, `Link: <…>; rel="next"` pages are followed on the same origin only,
//! `401` is a credential problem of the whole run and `403` a missing permission named by the
//! OAuth scope the call needs.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::{CollectContext, remote};

/// Pause after a `429` that names no reset time (Okta's limits are per minute).
const DEFAULT_RATE_LIMIT_PAUSE: Duration = Duration::from_secs(60);

/// Why a call gave no usable answer; its `Display` is an evidence item's reason. None of them
/// holds the token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ApiError {
    /// `401`: Okta refused the token itself (invalid, expired, revoked, or of another org).
    #[error(
        "{call}: HTTP 401 {code}: {summary}: Okta refused the API token (invalid, expired or revoked; Okta revokes a token unused for 30 days): no Okta fact can be read until it is replaced"
    )]
    Unauthorized {
        /// `GET /path`.
        call: String,
        /// Okta's `errorCode` (`E0000011`).
        code: String,
        /// Okta's `errorSummary`.
        summary: String,
    },
    /// `403`: the token's administrator, or its OAuth scopes, do not allow the call.
    #[error(
        "{call}: HTTP 403 {code}: {summary}: the token lacks the permission {scope} (grant its administrator a role that includes it, e.g. Read-only Administrator)"
    )]
    Forbidden {
        /// `GET /path`.
        call: String,
        /// Okta's `errorCode` (`E0000006`).
        code: String,
        /// Okta's `errorSummary`.
        summary: String,
        /// The OAuth scope the call needs: Okta's `WWW-Authenticate` one when given.
        scope: String,
    },
    /// Another error status.
    #[error("{call}: HTTP {status} {code}: {summary}")]
    Status {
        /// `GET /path`.
        call: String,
        /// The status code.
        status: u16,
        /// Okta's `errorCode`, or `-`.
        code: String,
        /// Okta's `errorSummary`, or the start of the body.
        summary: String,
    },
    /// No usable answer: rate limited past the deadline, the request failed, or the answer is
    /// not what the API documents. The reason names the call.
    #[error("{0}")]
    Failed(String),
}

impl ApiError {
    /// Whether the token itself was refused: nothing else can be read.
    pub(crate) fn is_unauthorized(&self) -> bool {
        matches!(self, ApiError::Unauthorized { .. })
    }
}

/// Okta's error body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OktaError {
    #[serde(default)]
    error_code: String,
    #[serde(default)]
    error_summary: String,
}

/// A client for one Okta organisation.
pub(crate) struct Api {
    client: reqwest::Client,
    /// `scheme://authority` of the organisation's URL: requests and next-page links stay there.
    origin: String,
    /// `SSWS <token>`, marked sensitive.
    auth: HeaderValue,
    /// The most pages one listing may take.
    max_pages: usize,
}

impl Api {
    /// A client for `origin` (`https://acme.okta.com`), authenticating with `token`, trusting
    /// the PEM certificates of `ca_pem`. The error is a reason sentence.
    pub(crate) fn new(
        origin: &str,
        token: &str,
        ca_pem: &[u8],
        max_pages: usize,
    ) -> Result<Api, String> {
        let client = remote::https_client(ca_pem, "Okta client")?;
        let mut auth = HeaderValue::from_str(&format!("SSWS {}", token.trim()))
            .map_err(|_| "the Okta API token holds characters no HTTP header may".to_string())?;
        auth.set_sensitive(true);
        Ok(Api {
            client,
            origin: origin.trim_end_matches('/').to_string(),
            auth,
            max_pages,
        })
    }

    /// One page: `GET path_and_query`, rate limits waited out within the deadline. Returns the
    /// body and the next page's path and query.
    async fn page(
        &self,
        ctx: &CollectContext,
        path_and_query: &str,
    ) -> Result<(String, Option<String>), ApiError> {
        let call = format!("GET {path_and_query}");
        let url = format!("{}{path_and_query}", self.origin);
        let mut waited = 0;
        loop {
            let request = self
                .client
                .get(&url)
                .header(AUTHORIZATION, self.auth.clone())
                .header(ACCEPT, "application/json");
            let (status, headers, body) = remote::exchange(ctx, &call, request)
                .await
                .map_err(ApiError::Failed)?;
            if status == 429 {
                let until = rate_limited_until(&headers, SystemTime::now());
                remote::wait_out_rate_limit(ctx, &call, until, waited)
                    .await
                    .map_err(ApiError::Failed)?;
                waited += 1;
                continue;
            }
            if status >= 400 {
                return Err(refusal(call, status, &headers, &body));
            }
            if !(200..300).contains(&status) {
                return Err(ApiError::Status {
                    call,
                    status,
                    code: "-".into(),
                    summary: "unexpected status (redirects are not followed)".into(),
                });
            }
            let next = match next_link(&headers) {
                Some(url) => Some(self.same_origin(&call, &url)?),
                None => None,
            };
            return Ok((body, next));
        }
    }

    /// The path and query of `url` when it is on the organisation's origin.
    fn same_origin(&self, call: &str, url: &str) -> Result<String, ApiError> {
        url.strip_prefix(&self.origin)
            .filter(|rest| rest.starts_with('/'))
            .map(str::to_string)
            .ok_or_else(|| {
                ApiError::Failed(format!(
                    "{call}: unexpected answer: the next page's link {} leaves {}",
                    vouch_evidence::limits::truncate_echo(url),
                    self.origin
                ))
            })
    }

    /// `GET path_and_query` read as one `T`.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        ctx: &CollectContext,
        path_and_query: &str,
    ) -> Result<T, ApiError> {
        let (body, _) = self.page(ctx, path_and_query).await?;
        parse(path_and_query, &body)
    }

    /// Every item of a list, following `Link: rel="next"` from `path_and_query`, at most the
    /// configured number of pages.
    pub(crate) async fn get_all<T: DeserializeOwned>(
        &self,
        ctx: &CollectContext,
        path_and_query: &str,
    ) -> Result<Vec<T>, ApiError> {
        let mut items = Vec::new();
        let mut next = Some(path_and_query.to_string());
        let mut pages = 0;
        while let Some(path) = next {
            if pages == self.max_pages {
                return Err(ApiError::Failed(format!(
                    "GET {path_and_query}: more than {} pages (max_pages): the list is not complete",
                    self.max_pages
                )));
            }
            let (body, link) = self.page(ctx, &path).await?;
            items.extend(parse::<Vec<T>>(&path, &body)?);
            pages += 1;
            next = link;
        }
        Ok(items)
    }

    /// Every item of an IAM listing (`{"value": […], "_links": {"next": {"href": …}}}`),
    /// following the body's next link (or a `Link` header), on the same origin only.
    pub(crate) async fn get_all_values<T: DeserializeOwned>(
        &self,
        ctx: &CollectContext,
        path_and_query: &str,
    ) -> Result<Vec<T>, ApiError> {
        #[derive(Deserialize)]
        struct Href {
            href: String,
        }
        #[derive(Deserialize, Default)]
        struct Links {
            next: Option<Href>,
        }
        #[derive(Deserialize)]
        struct Values<T> {
            #[serde(default = "Vec::new")]
            value: Vec<T>,
            #[serde(default, rename = "_links")]
            links: Option<Links>,
        }
        let mut items = Vec::new();
        let mut next = Some(path_and_query.to_string());
        let mut pages = 0;
        while let Some(path) = next {
            if pages == self.max_pages {
                return Err(ApiError::Failed(format!(
                    "GET {path_and_query}: more than {} pages (max_pages): the list is not complete",
                    self.max_pages
                )));
            }
            let (body, link) = self.page(ctx, &path).await?;
            let page: Values<T> = parse(&path, &body)?;
            items.extend(page.value);
            pages += 1;
            next = match page.links.and_then(|l| l.next) {
                Some(href) => Some(self.same_origin(&format!("GET {path}"), &href.href)?),
                None => link,
            };
            if next.as_deref() == Some(path.as_str()) {
                return Err(ApiError::Failed(format!(
                    "GET {path}: unexpected answer: the next page is the same page"
                )));
            }
        }
        Ok(items)
    }
}

/// `body` read as a `T`; the error names the call and serde's complaint.
fn parse<T: DeserializeOwned>(path: &str, body: &str) -> Result<T, ApiError> {
    serde_json::from_str(body)
        .map_err(|e| ApiError::Failed(format!("GET {path}: unexpected answer: {e}")))
}

/// An error status as an [`ApiError`], with Okta's `errorCode` and `errorSummary`.
fn refusal(call: String, status: u16, headers: &HeaderMap, body: &str) -> ApiError {
    let (code, summary) = match serde_json::from_str::<OktaError>(body) {
        Ok(e) if !e.error_code.is_empty() || !e.error_summary.is_empty() => (
            vouch_evidence::limits::truncate_echo(&e.error_code),
            vouch_evidence::limits::truncate_echo(&e.error_summary),
        ),
        _ => (
            "-".to_string(),
            vouch_evidence::limits::truncate_echo(&body.chars().take(200).collect::<String>()),
        ),
    };
    match status {
        401 => ApiError::Unauthorized {
            call,
            code,
            summary,
        },
        403 => {
            let scope = challenge_scope(headers).unwrap_or_else(|| required_scope(&call).into());
            ApiError::Forbidden {
                call,
                code,
                summary,
                scope,
            }
        }
        _ => ApiError::Status {
            call,
            status,
            code,
            summary,
        },
    }
}

/// The OAuth scope a call needs, by its path (Okta's scope table for the Management API).
pub(crate) fn required_scope(call: &str) -> &'static str {
    let path = call.trim_start_matches("GET ").split('?').next().unwrap_or("");
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["api", "v1", "users", _, "roles", ..] | ["api", "v1", "iam", ..] => "okta.roles.read",
        ["api", "v1", "users", ..] => "okta.users.read",
        ["api", "v1", "policies", ..] => "okta.policies.read",
        ["api", "v1", "apps", ..] => "okta.apps.read",
        _ => "okta.orgs.read",
    }
}

/// The `scope="…"` of a `WWW-Authenticate` challenge (OAuth tokens' `insufficient_scope`).
fn challenge_scope(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("www-authenticate")?.to_str().ok()?;
    let start = value.find("scope=\"")? + 7;
    let end = value[start..].find('"')? + start;
    let scope = &value[start..end];
    (!scope.is_empty()
        && scope
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ' ' | '_')))
    .then(|| scope.to_string())
}

/// When a `429` answer allows calls again: `Retry-After` (seconds), else `X-Rate-Limit-Reset`
/// (Unix time by Okta's clock, so measured from the answer's `Date` when it has one), else a
/// minute from `now`.
fn rate_limited_until(headers: &HeaderMap, now: SystemTime) -> SystemTime {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(secs) = header("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return now + Duration::from_secs(secs);
    }
    if let Some(reset) = header("x-rate-limit-reset").and_then(|v| v.parse::<u64>().ok()) {
        let reset = UNIX_EPOCH + Duration::from_secs(reset);
        let server_now = header("date")
            .and_then(|d| {
                time::OffsetDateTime::parse(d, &time::format_description::well_known::Rfc2822)
                    .ok()
            })
            .and_then(|t| u64::try_from(t.unix_timestamp()).ok())
            .map(|s| UNIX_EPOCH + Duration::from_secs(s));
        return match server_now {
            Some(server_now) => now + reset.duration_since(server_now).unwrap_or_default(),
            None => reset.max(now),
        };
    }
    now + DEFAULT_RATE_LIMIT_PAUSE
}

/// The `rel="next"` URL of the `Link` headers (Okta sends `self` and `next` as two headers).
fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|part| {
            let (url, params) = part.trim().split_once(';')?;
            let is_next = params
                .split(';')
                .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"));
            let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
            is_next.then(|| url.to_string())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn next_links_are_found_in_separate_headers() {
        let h = headers(&[
            (
                "link",
                "<https://acme.okta.com/api/v1/users?limit=200>; rel=\"self\"",
            ),
            (
                "link",
                "<https://acme.okta.com/api/v1/users?after=00u1&limit=200>; rel=\"next\"",
            ),
        ]);
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://acme.okta.com/api/v1/users?after=00u1&limit=200")
        );
        let last = headers(&[(
            "link",
            "<https://acme.okta.com/api/v1/users?limit=200>; rel=\"self\"",
        )]);
        assert_eq!(next_link(&last), None);
    }

    #[test]
    fn rate_limit_resets_are_read_by_oktas_clock() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        assert_eq!(
            rate_limited_until(&headers(&[("retry-after", "7")]), now),
            now + Duration::from_secs(7)
        );
        // Okta's clock is 500 s ahead of ours: the reset is 20 s away by its clock.
        let skewed = headers(&[
            ("x-rate-limit-reset", "1520"),
            ("date", "Thu, 01 Jan 1970 00:25:00 +0000"),
        ]);
        assert_eq!(
            rate_limited_until(&skewed, now),
            now + Duration::from_secs(20)
        );
        let no_date = headers(&[("x-rate-limit-reset", "1030")]);
        assert_eq!(
            rate_limited_until(&no_date, now),
            UNIX_EPOCH + Duration::from_secs(1030)
        );
        let past = headers(&[("x-rate-limit-reset", "10")]);
        assert_eq!(rate_limited_until(&past, now), now);
        assert_eq!(
            rate_limited_until(&HeaderMap::new(), now),
            now + DEFAULT_RATE_LIMIT_PAUSE
        );
    }

    #[test]
    fn refusals_name_the_scope_the_call_needs() {
        let body = r#"{"errorCode":"E0000006","errorSummary":"You do not have permission to perform the requested action","errorLink":"E0000006","errorId":"oaeX","errorCauses":[]}"#;
        let e = refusal(
            "GET /api/v1/users/00u1/roles".into(),
            403,
            &HeaderMap::new(),
            body,
        );
        assert_eq!(
            e.to_string(),
            "GET /api/v1/users/00u1/roles: HTTP 403 E0000006: You do not have permission to perform the requested action: the token lacks the permission okta.roles.read (grant its administrator a role that includes it, e.g. Read-only Administrator)"
        );
        // An OAuth token's challenge names the scope itself.
        let challenge = headers(&[(
            "www-authenticate",
            "Bearer authorization_uri=\"http://acme.okta.com/oauth2/v1/authorize\", realm=\"http://acme.okta.com\", scope=\"okta.policies.read\", error=\"insufficient_scope\", error_description=\"The access token provided does not contain the required scopes.\", resource=\"/api/v1/policies\"",
        )]);
        match refusal("GET /api/v1/policies?type=PASSWORD".into(), 403, &challenge, body) {
            ApiError::Forbidden { scope, .. } => assert_eq!(scope, "okta.policies.read"),
            other => panic!("{other:?}"),
        }
        let expired = refusal(
            "GET /api/v1/users?limit=200".into(),
            401,
            &HeaderMap::new(),
            r#"{"errorCode":"E0000011","errorSummary":"Invalid token provided","errorLink":"E0000011","errorId":"oaeY","errorCauses":[]}"#,
        );
        assert!(expired.is_unauthorized());
        assert!(
            expired
                .to_string()
                .starts_with("GET /api/v1/users?limit=200: HTTP 401 E0000011: Invalid token provided: Okta refused the API token")
        );
        let other = refusal("GET /api/v1/users".into(), 500, &HeaderMap::new(), "<html>");
        assert_eq!(other.to_string(), "GET /api/v1/users: HTTP 500 -: <html>");
    }

    #[test]
    fn scopes_follow_the_path() {
        for (call, scope) in [
            ("GET /api/v1/users?limit=200", "okta.users.read"),
            ("GET /api/v1/users/00u1/factors", "okta.users.read"),
            ("GET /api/v1/users/00u1/roles", "okta.roles.read"),
            ("GET /api/v1/iam/assignees/users?limit=100", "okta.roles.read"),
            ("GET /api/v1/policies?type=PASSWORD", "okta.policies.read"),
            ("GET /api/v1/policies/00p1/rules", "okta.policies.read"),
            ("GET /api/v1/apps?filter=x", "okta.apps.read"),
        ] {
            assert_eq!(required_scope(call), scope, "{call}");
        }
    }

    #[test]
    fn bad_bundles_and_tokens_are_refused_with_reasons() {
        let err = |token: &str, pem: &[u8]| {
            Api::new("https://acme.okta.com", token, pem, 10)
                .err()
                .unwrap()
        };
        assert_eq!(err("t", b"not pem"), "the CA bundle holds no certificate");
    }
}
