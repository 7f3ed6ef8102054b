//! The Microsoft Graph client: reqwest over rustls (ring, the CA bundle the configuration
//! names), no redirect followed, an access token obtained with the OAuth 2.0 client-credentials
//! grant and kept until shortly before it expires.
//!
//! Every answer's status and headers are seen: `429` and `503` are waited out until
//! `Retry-After` when that ends before the deadline; `@odata.nextLink` pages are followed on
//! Graph's origin only; a refused credential (any refusal of the token endpoint, or Graph's
//! `401` to a fresh token) is a problem of the whole run, remembered so that no other call
//! asks again; `403` is a missing application permission, named by the call, or a missing
//! Entra ID P1/P2 licence; `AadPremiumLicenseRequired` (a `400`) is the missing Entra ID P2 or
//! Governance licence that Privileged Identity Management needs.

use std::time::{Duration, SystemTime};

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;

use super::model::{GraphError, Page, TokenAnswer, TokenError};
use crate::{CollectContext, remote};

/// Pause after a `429` or `503` that names no `Retry-After`.
const DEFAULT_RETRY_PAUSE: Duration = Duration::from_secs(10);

/// Graph's error code when the tenant lacks the licence a feature needs.
const NO_PREMIUM: &str = "Authentication_RequestFromNonPremiumTenantOrB2CTenant";

/// Graph's error code (with `400`) when the tenant lacks the Entra ID P2 or Governance licence
/// that Privileged Identity Management needs.
const NO_P2: &str = "AadPremiumLicenseRequired";

/// Why a call gave no usable answer; its `Display` is an evidence item's reason. None of them
/// holds the client secret or a token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ApiError {
    /// The credential itself was refused: no Graph call can succeed.
    #[error("{call}: HTTP {status} {code}: {summary}: {consequence}")]
    Unauthorized {
        /// `POST /{tenant}/oauth2/v2.0/token` or `GET /v1.0/…`.
        call: String,
        /// The status code.
        status: u16,
        /// `invalid_client` (the token endpoint) or `InvalidAuthenticationToken` (Graph).
        code: String,
        /// The first sentence of the answer (`AADSTS7000222: The provided client secret keys
        /// … are expired.`), without trace ids.
        summary: String,
        /// What it means for the run.
        consequence: &'static str,
    },
    /// `403`: the application lacks a permission, or the tenant a licence.
    #[error("{call}: HTTP 403 {code}: {summary}: {need}")]
    Forbidden {
        /// `GET /v1.0/…`.
        call: String,
        /// Graph's code (`Authorization_RequestDenied`).
        code: String,
        /// Graph's message.
        summary: String,
        /// What is missing: the permission the call needs, or the licence.
        need: String,
    },
    /// The tenant lacks the Entra ID P2 (or Governance) licence the call needs: the feature is
    /// not in use, so it has nothing to read.
    #[error("{call}: HTTP {status} {code}: {summary}: {need}")]
    Unlicensed {
        /// `GET /v1.0/roleManagement/…`.
        call: String,
        /// The status code (`400`).
        status: u16,
        /// `AadPremiumLicenseRequired`.
        code: String,
        /// Graph's message.
        summary: String,
        /// What it means.
        need: String,
    },
    /// Another error status.
    #[error("{call}: HTTP {status} {code}: {summary}")]
    Status {
        /// `GET /v1.0/…`.
        call: String,
        /// The status code.
        status: u16,
        /// Graph's code, or `-`.
        code: String,
        /// Graph's message, or the start of the body.
        summary: String,
    },
    /// No usable answer: rate limited past the deadline, the request failed, or the answer is
    /// not what the API documents. The reason names the call.
    #[error("{0}")]
    Failed(String),
}

impl ApiError {
    /// Whether the credential was refused: nothing else can be read.
    pub(crate) fn is_unauthorized(&self) -> bool {
        matches!(self, ApiError::Unauthorized { .. })
    }

    /// Whether the answer was `404`: the object does not exist (or has no record).
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, ApiError::Status { status: 404, .. })
    }

    /// Whether the answer was `403`.
    pub(crate) fn is_forbidden(&self) -> bool {
        matches!(self, ApiError::Forbidden { .. })
    }

    /// Whether the tenant lacks the Entra ID P2 licence the call needs.
    pub(crate) fn is_unlicensed(&self) -> bool {
        matches!(self, ApiError::Unlicensed { .. })
    }
}

/// What a refusal of the token endpoint means.
const CREDENTIALS_REFUSED: &str = "Entra ID refused the application's credentials (a client secret that expired, is wrong or was deleted, or a client or tenant id that does not match): no Entra ID fact can be read until they are fixed";

/// What Graph's refusal of a fresh token means.
const TOKEN_REFUSED: &str = "Microsoft Graph refused the application's access token twice, the second freshly issued (check that login_url and graph_url are of the same cloud): no Entra ID fact can be read until that is fixed";

/// A client for one tenant's Graph data.
pub(crate) struct Api {
    client: reqwest::Client,
    /// `scheme://authority` of Graph: requests and next-page links stay there.
    graph: String,
    /// The token endpoint's URL.
    token_url: String,
    /// `POST /{tenant}/oauth2/v2.0/token`, for reasons.
    token_call: String,
    /// `https://graph.microsoft.com/.default`.
    scope: String,
    /// The application (client) id.
    client_id: String,
    /// The client secret: sent only in the token request's body, never logged or shown.
    secret: String,
    /// The most pages one listing may take.
    max_pages: usize,
    /// The access token, obtained by one call at a time.
    token: remote::TokenCache<ApiError>,
}

/// Where a client connects, and as whom.
pub(crate) struct Endpoints<'a> {
    /// `https://login.microsoftonline.com`.
    pub login: &'a str,
    /// `https://graph.microsoft.com`.
    pub graph: &'a str,
    /// The tenant id.
    pub tenant_id: &'a str,
    /// The application (client) id.
    pub client_id: &'a str,
}

impl Api {
    /// A client of `endpoints`, authenticating with `secret`, trusting the PEM certificates of
    /// `ca_pem`. The error is a reason sentence.
    pub(crate) fn new(
        endpoints: &Endpoints<'_>,
        secret: &str,
        ca_pem: &[u8],
        max_pages: usize,
    ) -> Result<Api, String> {
        let client = remote::https_client(ca_pem, "Microsoft Graph client")?;
        let graph = endpoints.graph.trim_end_matches('/').to_string();
        let token_path = format!("/{}/oauth2/v2.0/token", endpoints.tenant_id);
        Ok(Api {
            client,
            token_url: format!("{}{token_path}", endpoints.login.trim_end_matches('/')),
            token_call: format!("POST {token_path}"),
            scope: format!("{graph}/.default"),
            graph,
            client_id: endpoints.client_id.to_string(),
            secret: secret.trim().to_string(),
            max_pages,
            token: remote::TokenCache::new(),
        })
    }

    /// The token to send and its generation: the one in use while it is fresh, else a new one.
    /// A refusal of the credentials is remembered and answered again without asking.
    async fn bearer(&self, ctx: &CollectContext) -> Result<(HeaderValue, u64), ApiError> {
        self.token
            .bearer(|| self.fetch_token(ctx), ApiError::is_unauthorized)
            .await
    }

    /// Forgets token `generation` if it is still the one in use (Graph refused it).
    async fn forget(&self, generation: u64) {
        self.token.forget(generation).await;
    }

    /// Remembers that Graph refused even a fresh token.
    async fn give_up(&self, refusal: &ApiError) {
        self.token.give_up(refusal).await;
    }

    /// Asks the token endpoint for an access token (client credentials), waiting out `429` and
    /// `503` within the deadline. Returns the header to send and the token's lifetime.
    async fn fetch_token(&self, ctx: &CollectContext) -> Result<(HeaderValue, Duration), ApiError> {
        let call = &self.token_call;
        let mut waited = 0;
        loop {
            let form = [
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.secret.as_str()),
                ("scope", self.scope.as_str()),
            ];
            let request = self
                .client
                .post(&self.token_url)
                .header(ACCEPT, "application/json")
                .form(&form);
            let (status, headers, body) = self.send(ctx, call, request).await?;
            if matches!(status, 429 | 503) {
                let until = retry_at(&headers, SystemTime::now());
                remote::wait_out_rate_limit(ctx, call, until, waited)
                    .await
                    .map_err(ApiError::Failed)?;
                waited += 1;
                continue;
            }
            if !(200..300).contains(&status) {
                return Err(token_refusal(call, status, &body));
            }
            let answer: TokenAnswer = serde_json::from_str(&body).map_err(|e| {
                ApiError::Failed(format!("{call}: unexpected answer: {e}"))
            })?;
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

    /// Sends `request`, bounded by the deadline, and reads the status, headers and body.
    async fn send(
        &self,
        ctx: &CollectContext,
        call: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, HeaderMap, String), ApiError> {
        remote::exchange(ctx, call, request)
            .await
            .map_err(ApiError::Failed)
    }

    /// `GET path_and_query` (`/v1.0/users?…`) on Graph: throttling waited out within the
    /// deadline, a refused token replaced once. Returns the body.
    async fn fetch(&self, ctx: &CollectContext, path_and_query: &str) -> Result<String, ApiError> {
        let call = format!("GET {path_and_query}");
        let url = format!("{}{path_and_query}", self.graph);
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
            let (status, headers, body) = self.send(ctx, &call, request).await?;
            match status {
                429 | 503 => {
                    let until = retry_at(&headers, SystemTime::now());
                    remote::wait_out_rate_limit(ctx, &call, until, waited)
                        .await
                        .map_err(ApiError::Failed)?;
                    waited += 1;
                }
                401 if !renewed => {
                    // The token may have expired in flight: one fresh token is worth a try.
                    renewed = true;
                    self.forget(generation).await;
                }
                200..=299 => return Ok(body),
                _ => {
                    let e = refusal(call, status, &body);
                    if e.is_unauthorized() {
                        self.give_up(&e).await;
                    }
                    return Err(e);
                }
            }
        }
    }

    /// `GET path_and_query` read as one `T`.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        ctx: &CollectContext,
        path_and_query: &str,
    ) -> Result<T, ApiError> {
        let body = self.fetch(ctx, path_and_query).await?;
        parse(path_and_query, &body)
    }

    /// Every item of a collection, following `@odata.nextLink` from `path_and_query` on
    /// Graph's origin, at most the configured number of pages.
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
            let body = self.fetch(ctx, &path).await?;
            let page: Page<T> = parse(&path, &body)?;
            items.extend(page.value);
            pages += 1;
            next = match page.next_link {
                Some(url) => Some(self.same_origin(&path, &url)?),
                None => None,
            };
            if next.as_deref() == Some(path.as_str()) {
                return Err(ApiError::Failed(format!(
                    "GET {path}: unexpected answer: the next page is the same page"
                )));
            }
        }
        Ok(items)
    }

    /// The path and query of `url` when it is on Graph's origin.
    fn same_origin(&self, path: &str, url: &str) -> Result<String, ApiError> {
        on_origin(&self.graph, url).ok_or_else(|| {
            ApiError::Failed(format!(
                "GET {path}: unexpected answer: the next page's link {} leaves {}",
                vouch_evidence::limits::truncate_echo(url),
                self.graph
            ))
        })
    }
}

/// The path and query of `url` when it is on `origin` (`https://graph.microsoft.com`): the same
/// scheme, host and port, followed by a path.
fn on_origin(origin: &str, url: &str) -> Option<String> {
    url.strip_prefix(origin)
        .filter(|rest| rest.starts_with('/'))
        .map(str::to_string)
}

/// `body` read as a `T`; the error names the call and serde's complaint.
fn parse<T: DeserializeOwned>(path: &str, body: &str) -> Result<T, ApiError> {
    serde_json::from_str(body)
        .map_err(|e| ApiError::Failed(format!("GET {path}: unexpected answer: {e}")))
}

/// The first sentence of an answer's text, without Entra's trace and correlation ids (they
/// differ at every call), cut like any text another party chose.
fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    let line = line.split(" Trace ID:").next().unwrap_or(line).trim();
    vouch_evidence::limits::truncate_echo(line)
}

/// A refusal of the token endpoint: any error but throttling means the credentials, the
/// application or the tenant were refused (`invalid_client` with AADSTS7000215 or 7000222,
/// `unauthorized_client` with AADSTS700016, `invalid_request` with AADSTS90002), except a
/// server error.
fn token_refusal(call: &str, status: u16, body: &str) -> ApiError {
    let (code, summary) = match serde_json::from_str::<TokenError>(body) {
        Ok(e) if !e.error.is_empty() => (
            vouch_evidence::limits::truncate_echo(&e.error),
            first_line(&e.error_description),
        ),
        _ => ("-".to_string(), first_line(&body.chars().take(200).collect::<String>())),
    };
    if (400..500).contains(&status) {
        ApiError::Unauthorized {
            call: call.to_string(),
            status,
            code,
            summary,
            consequence: CREDENTIALS_REFUSED,
        }
    } else {
        ApiError::Status {
            call: call.to_string(),
            status,
            code,
            summary,
        }
    }
}

/// An error status of Graph as an [`ApiError`], with Graph's code and message.
fn refusal(call: String, status: u16, body: &str) -> ApiError {
    let (code, summary) = match serde_json::from_str::<GraphError>(body) {
        Ok(e) if !e.error.code.is_empty() || !e.error.message.is_empty() => (
            vouch_evidence::limits::truncate_echo(&e.error.code),
            first_line(&e.error.message),
        ),
        _ => (
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
            consequence: TOKEN_REFUSED,
        },
        400..=499 if code == NO_P2 => ApiError::Unlicensed {
            call,
            status,
            code,
            summary,
            need: "the tenant has no Microsoft Entra ID P2 or Entra ID Governance licence, which Privileged Identity Management needs: no role can be made eligible in it, so only active assignments hold roles".into(),
        },
        403 => {
            let permission = required_permission(&call);
            let need = if code == NO_PREMIUM || summary.contains("premium license") {
                format!(
                    "the tenant has no Microsoft Entra ID P1 or P2 licence, which this call needs (with the application permission {permission})"
                )
            } else {
                format!(
                    "the application lacks the permission {permission} (grant it as an application permission of Microsoft Graph, with admin consent)"
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

/// The least privileged application permission of Microsoft Graph a call needs, by its path
/// (Graph's permission tables; `signInActivity` needs `AuditLog.Read.All` besides
/// `User.Read.All`).
pub(crate) fn required_permission(call: &str) -> &'static str {
    let target = call.trim_start_matches("GET ");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["v1.0", "users", _, "appRoleAssignments"] => "Directory.Read.All",
        ["v1.0", "users", ..] if query.contains("signInActivity") => {
            "User.Read.All and AuditLog.Read.All"
        }
        ["v1.0", "users", ..] => "User.Read.All",
        ["v1.0", "reports", "authenticationMethods", ..] => "AuditLog.Read.All",
        ["v1.0", "directoryRoles", ..] => "RoleManagement.Read.Directory",
        ["v1.0", "roleManagement", "directory", "roleEligibilityScheduleInstances", ..] => {
            "RoleEligibilitySchedule.Read.Directory or RoleManagement.Read.Directory"
        }
        ["v1.0", "groups", ..] => "GroupMember.Read.All",
        ["v1.0", "identity", "conditionalAccess", ..] | ["v1.0", "policies", ..] => {
            "Policy.Read.All"
        }
        ["v1.0", "domains", ..] => "Domain.Read.All",
        _ => "Directory.Read.All",
    }
}

/// When a `429` or `503` answer allows calls again: `Retry-After` in seconds or as an HTTP
/// date, else [`DEFAULT_RETRY_PAUSE`] from `now`.
fn retry_at(headers: &HeaderMap, now: SystemTime) -> SystemTime {
    remote::retry_after(headers, now).unwrap_or(now + DEFAULT_RETRY_PAUSE)
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
    fn retry_after_is_seconds_or_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        assert_eq!(
            retry_at(&headers(&[("retry-after", "7")]), now),
            now + Duration::from_secs(7)
        );
        assert_eq!(
            retry_at(
                &headers(&[("retry-after", "Thu, 01 Jan 1970 00:17:00 GMT")]),
                now
            ),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_020)
        );
        assert_eq!(
            retry_at(&headers(&[("retry-after", "soon")]), now),
            now + DEFAULT_RETRY_PAUSE
        );
        assert_eq!(retry_at(&HeaderMap::new(), now), now + DEFAULT_RETRY_PAUSE);
    }

    #[test]
    fn next_links_stay_on_graphs_origin() {
        let graph = "https://graph.microsoft.com";
        assert_eq!(
            on_origin(graph, "https://graph.microsoft.com/v1.0/users?$skiptoken=X").as_deref(),
            Some("/v1.0/users?$skiptoken=X")
        );
        for elsewhere in [
            "https://graph.microsoft.com.evil.example/v1.0/users",
            "https://graph.microsoft.com:8443/v1.0/users",
            "http://graph.microsoft.com/v1.0/users",
            "https://evil.example/v1.0/users",
            "/v1.0/users",
        ] {
            assert_eq!(on_origin(graph, elsewhere), None, "{elsewhere}");
        }
    }

    #[test]
    fn refusals_name_the_permission_or_the_licence() {
        let denied = r#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"date":"2025-11-24T08:00:01","request-id":"4f1c…","client-request-id":"4f1c…"}}}"#;
        assert_eq!(
            refusal("GET /v1.0/directoryRoles".into(), 403, denied).to_string(),
            "GET /v1.0/directoryRoles: HTTP 403 Authorization_RequestDenied: Insufficient privileges to complete the operation.: the application lacks the permission RoleManagement.Read.Directory (grant it as an application permission of Microsoft Graph, with admin consent)"
        );
        let premium = r#"{"error":{"code":"Authentication_RequestFromNonPremiumTenantOrB2CTenant","message":"Neither tenant is B2C or tenant doesn't have premium license","innerError":{}}}"#;
        let e = refusal(
            "GET /v1.0/users?$select=id,signInActivity&$top=500".into(),
            403,
            premium,
        );
        assert!(e.is_forbidden());
        assert!(
            e.to_string().ends_with(
                "doesn't have premium license: the tenant has no Microsoft Entra ID P1 or P2 licence, which this call needs (with the application permission User.Read.All and AuditLog.Read.All)"
            ),
            "{e}"
        );
        // A tenant without Entra ID P2 (Privileged Identity Management), as Graph answers it.
        let pim = "GET /v1.0/roleManagement/directory/roleEligibilityScheduleInstances?$expand=principal,roleDefinition";
        let no_p2 = refusal(
            pim.into(),
            400,
            r#"{"error":{"code":"AadPremiumLicenseRequired","message":"The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license.","innerError":{"date":"2025-11-24T08:00:01","request-id":"bcee6ed2-437a-4b54-bbbf-d5d615099cb6","client-request-id":"bcee6ed2-437a-4b54-bbbf-d5d615099cb6"}}}"#,
        );
        assert!(no_p2.is_unlicensed() && !no_p2.is_forbidden());
        assert_eq!(
            no_p2.to_string(),
            format!(
                "{pim}: HTTP 400 AadPremiumLicenseRequired: The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license.: the tenant has no Microsoft Entra ID P2 or Entra ID Governance licence, which Privileged Identity Management needs: no role can be made eligible in it, so only active assignments hold roles"
            )
        );
        let pim_denied = refusal(pim.into(), 403, denied);
        assert!(pim_denied.is_forbidden() && !pim_denied.is_unlicensed());
        assert!(
            pim_denied.to_string().ends_with(
                "the application lacks the permission RoleEligibilitySchedule.Read.Directory or RoleManagement.Read.Directory (grant it as an application permission of Microsoft Graph, with admin consent)"
            ),
            "{pim_denied}"
        );
        let expired = refusal(
            "GET /v1.0/domains".into(),
            401,
            r#"{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid.","innerError":{}}}"#,
        );
        assert!(expired.is_unauthorized());
        let missing = refusal(
            "GET /v1.0/users/x".into(),
            404,
            r#"{"error":{"code":"Request_ResourceNotFound","message":"Resource 'x' does not exist."}}"#,
        );
        assert!(missing.is_not_found());
        assert_eq!(
            refusal("GET /v1.0/domains".into(), 502, "<html>").to_string(),
            "GET /v1.0/domains: HTTP 502 -: <html>"
        );
    }

    #[test]
    fn token_refusals_keep_the_aadsts_sentence_without_trace_ids() {
        let body = r#"{"error":"invalid_client","error_description":"AADSTS7000222: The provided client secret keys for app '3f0c9a4e-1b2d-4c5e-8f6a-7b8c9d0e1f2a' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds. Trace ID: 0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e00 Correlation ID: 9f8e7d6c-5b4a-3c2d-1e0f-a9b8c7d6e5f4 Timestamp: 2025-11-24 08:00:00Z","error_codes":[7000222],"timestamp":"2025-11-24 08:00:00Z","trace_id":"0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e00","correlation_id":"9f8e7d6c-5b4a-3c2d-1e0f-a9b8c7d6e5f4","error_uri":"https://login.microsoftonline.com/error?code=7000222"}"#;
        let e = token_refusal("POST /t/oauth2/v2.0/token", 401, body);
        assert!(e.is_unauthorized());
        let text = e.to_string();
        assert!(
            text.starts_with("POST /t/oauth2/v2.0/token: HTTP 401 invalid_client: AADSTS7000222: The provided client secret keys for app '3f0c9a4e-1b2d-4c5e-8f6a-7b8c9d0e1f2a' are expired.")
                && text.ends_with(CREDENTIALS_REFUSED)
                && !text.contains("Trace ID"),
            "{text}"
        );
        let tenant = token_refusal(
            "POST /t/oauth2/v2.0/token",
            400,
            "{\"error\":\"invalid_request\",\"error_description\":\"AADSTS90002: Tenant 't' not found.\\r\\nTrace ID: x\"}",
        );
        assert!(tenant.to_string().contains("AADSTS90002: Tenant 't' not found.: Entra ID refused"));
        assert!(!token_refusal("POST /t", 500, "").is_unauthorized());
    }

    #[test]
    fn permissions_follow_the_path() {
        for (call, permission) in [
            ("GET /v1.0/users?$select=id&$top=500", "User.Read.All"),
            (
                "GET /v1.0/users?$select=id,signInActivity&$top=500",
                "User.Read.All and AuditLog.Read.All",
            ),
            ("GET /v1.0/users/u1?$select=id", "User.Read.All"),
            ("GET /v1.0/users/u1/appRoleAssignments", "Directory.Read.All"),
            (
                "GET /v1.0/reports/authenticationMethods/userRegistrationDetails",
                "AuditLog.Read.All",
            ),
            ("GET /v1.0/directoryRoles/r1/members", "RoleManagement.Read.Directory"),
            ("GET /v1.0/groups/g1/members", "GroupMember.Read.All"),
            ("GET /v1.0/identity/conditionalAccess/policies", "Policy.Read.All"),
            (
                "GET /v1.0/policies/identitySecurityDefaultsEnforcementPolicy",
                "Policy.Read.All",
            ),
            ("GET /v1.0/domains", "Domain.Read.All"),
            ("GET /v1.0/groupSettings", "Directory.Read.All"),
        ] {
            assert_eq!(required_permission(call), permission, "{call}");
        }
    }

    #[test]
    fn bad_bundles_are_refused_with_reasons() {
        let endpoints = Endpoints {
            login: "https://login.microsoftonline.com",
            graph: "https://graph.microsoft.com",
            tenant_id: "t",
            client_id: "c",
        };
        let err = Api::new(&endpoints, "s", b"not pem", 10).err().unwrap();
        assert_eq!(err, "the CA bundle holds no certificate");
    }
}
