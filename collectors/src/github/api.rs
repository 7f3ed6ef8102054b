//! The GitHub REST client: octocrab over our own hyper-rustls connector (ring, the CA bundle
//! the configuration names), so that every answer's status and headers are seen: rate limits
//! are waited out within the collection's deadline, `Link: rel="next"` pages are followed, and
//! an error becomes a reason sentence naming the call, the status and GitHub's message.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{ACCEPT, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use octocrab::service::middleware::auth_header::AuthHeaderLayer;
use octocrab::service::middleware::base_uri::BaseUriLayer;
use octocrab::service::middleware::extra_headers::ExtraHeadersLayer;
use octocrab::{AuthState, Octocrab, OctocrabBuilder};
use serde_json::Value;

use crate::{CollectContext, remote};

/// GitHub asks for at least a minute's pause after a secondary rate limit without a
/// `Retry-After`.
const SECONDARY_RATE_LIMIT_PAUSE: Duration = Duration::from_secs(60);

/// Why a call gave no usable answer; its `Display` is an evidence item's reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ApiError {
    /// GitHub answered with an error status.
    #[error("{call}: HTTP {status}: {message}")]
    Status {
        /// `GET /path`.
        call: String,
        /// The status code.
        status: u16,
        /// GitHub's `message`, or the start of the body.
        message: String,
    },
    /// No usable answer: rate limited past the deadline, the request failed, or the answer
    /// is not what the API documents. The reason names the call.
    #[error("{0}")]
    Failed(String),
}

impl ApiError {
    /// The status and GitHub's message, when GitHub answered with an error status.
    pub(crate) fn status(&self) -> Option<(u16, &str)> {
        match self {
            ApiError::Status {
                status, message, ..
            } => Some((*status, message.as_str())),
            _ => None,
        }
    }
}

/// A 2xx answer: its JSON body (`null` when empty, as for `204`).
pub(crate) struct Answer {
    /// The body.
    pub body: Value,
    /// The next page's path and query, from `Link: <…>; rel="next"`.
    pub next: Option<String>,
}

/// A client for one GitHub (or GitHub Enterprise Server) API.
pub(crate) struct Api {
    octo: Octocrab,
    /// The same, based at the GraphQL API's root (`https://api.github.com`, or
    /// `https://HOST/api` for GitHub Enterprise Server's `https://HOST/api/v3`).
    graphql: Octocrab,
    /// `scheme://authority` of the base URL: next-page links must stay there.
    origin: String,
}

impl Api {
    /// A client for `base_url`, authenticating with `token`, trusting the PEM certificates of
    /// `ca_pem`. The error is a reason sentence.
    pub(crate) fn new(base_url: &str, token: &str, ca_pem: &[u8]) -> Result<Api, String> {
        let base: http::Uri = base_url
            .parse()
            .map_err(|e| format!("base URL {base_url:?}: {e}"))?;
        let origin = match (base.scheme_str(), base.authority()) {
            (Some(s), Some(a)) => format!("{s}://{a}"),
            _ => return Err(format!("base URL {base_url:?} has no scheme or host")),
        };
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pemfile::certs(&mut &ca_pem[..]) {
            let cert = cert.map_err(|e| format!("CA bundle: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("CA certificate: {e}"))?;
        }
        if roots.is_empty() {
            return Err("the CA bundle holds no certificate".into());
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .build();
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(connector);
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.trim()))
            .map_err(|_| "the GitHub token holds characters no HTTP header may".to_string())?;
        auth.set_sensitive(true);
        let headers = vec![
            (
                USER_AGENT,
                HeaderValue::from_static(concat!("vouch-agent/", env!("CARGO_PKG_VERSION"))),
            ),
            (
                ACCEPT,
                HeaderValue::from_static("application/vnd.github+json"),
            ),
            (
                HeaderName::from_static("x-github-api-version"),
                HeaderValue::from_static("2022-11-28"),
            ),
        ];
        // Outermost first: the token only for the base URL's host, then the headers, then the
        // base URL (its path kept, for GitHub Enterprise's `/api/v3`).
        let build = |base: http::Uri| {
            OctocrabBuilder::new_empty()
                .with_service(client.clone())
                .with_layer(&BaseUriLayer::new(base.clone()))
                .with_layer(&ExtraHeadersLayer::new(Arc::new(headers.clone())))
                .with_layer(&AuthHeaderLayer::new(Some(auth.clone()), base.clone(), base))
                .with_auth(AuthState::None)
                .build()
                .map_err(|e| e.to_string())
        };
        let graphql_base: http::Uri = format!("{origin}{}", graphql_root(base.path()))
            .parse()
            .map_err(|e| format!("base URL {base_url:?}: {e}"))?;
        Ok(Api {
            octo: build(base)?,
            graphql: build(graphql_base)?,
            origin,
        })
    }

    /// Sends the request `send` makes again while GitHub rate-limits it (within the deadline);
    /// answers its status, headers and body (JSON; an error's body that is not JSON as a
    /// string), or an error status as [`ApiError::Status`] with GitHub's message.
    async fn answer<F, Fut>(
        &self,
        ctx: &CollectContext,
        call: &str,
        send: F,
    ) -> Result<(HeaderMap, Value), ApiError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<(u16, HeaderMap, String), octocrab::Error>>,
    {
        let mut waited = 0;
        loop {
            let (status, headers, text) = match remote::bounded(ctx, send()).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(e)) => {
                    return Err(ApiError::Failed(format!(
                        "{call}: request failed: {}",
                        describe(&e)
                    )));
                }
                Err(reason) => return Err(ApiError::Failed(format!("{call}: {reason}"))),
            };
            if matches!(status, 403 | 429)
                && let Some(until) = rate_limited_until(&headers, &text, SystemTime::now())
            {
                remote::wait_out_rate_limit(ctx, call, until, waited)
                    .await
                    .map_err(ApiError::Failed)?;
                waited += 1;
                continue;
            }
            let body: Value = if text.trim().is_empty() {
                Value::Null
            } else {
                match serde_json::from_str(&text) {
                    Ok(v) => v,
                    Err(_) if status >= 400 => Value::String(text.chars().take(200).collect()),
                    Err(e) => {
                        return Err(ApiError::Failed(format!(
                            "{call}: unexpected answer: not JSON: {e}"
                        )));
                    }
                }
            };
            if status >= 400 {
                let message = match &body {
                    Value::Object(o) => o
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("(no message)")
                        .to_string(),
                    Value::String(s) => s.clone(),
                    _ => "(no message)".to_string(),
                };
                return Err(ApiError::Status {
                    call: call.to_string(),
                    status,
                    message,
                });
            }
            return Ok((headers, body));
        }
    }

    /// `POST /graphql` of `query` with `variables`, waiting out rate limits within the
    /// deadline. Answers `data`; GraphQL's own errors (a `FORBIDDEN` field, a query GitHub
    /// refuses) are the reason, naming the first one's type and message.
    pub(crate) async fn graphql(
        &self,
        ctx: &CollectContext,
        query: &str,
        variables: Value,
    ) -> Result<Value, ApiError> {
        let call = "POST /graphql";
        let request = serde_json::json!({"query": query, "variables": variables});
        let (_, body) = self
            .answer(ctx, call, || async {
                let response = self.graphql._post("/graphql", Some(&request)).await?;
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let text = self.graphql.body_to_string(response).await?;
                Ok((status, headers, text))
            })
            .await?;
        if let Some(first) = body
            .get("errors")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
        {
            let text = |key: &str| first.get(key).and_then(Value::as_str).unwrap_or("-");
            return Err(ApiError::Failed(format!(
                "{call}: {}: {}",
                vouch_evidence::limits::truncate_echo(text("type")),
                vouch_evidence::limits::truncate_echo(text("message"))
            )));
        }
        match body.get("data") {
            Some(data) if data.is_object() => Ok(data.clone()),
            _ => Err(ApiError::Failed(format!(
                "{call}: unexpected answer: no data"
            ))),
        }
    }

    /// `GET path_and_query`, waiting out rate limits within the deadline.
    pub(crate) async fn get(
        &self,
        ctx: &CollectContext,
        path_and_query: &str,
    ) -> Result<Answer, ApiError> {
        let call = format!("GET {path_and_query}");
        let (headers, body) = self
            .answer(ctx, &call, || async {
                let response = self.octo._get(path_and_query).await?;
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let text = self.octo.body_to_string(response).await?;
                Ok((status, headers, text))
            })
            .await?;
        let next = match next_link(&headers) {
            Some(url) => Some(
                url.strip_prefix(&self.origin)
                    .filter(|rest| rest.starts_with('/'))
                    .map(str::to_string)
                    .ok_or_else(|| {
                        ApiError::Failed(format!(
                            "{call}: unexpected answer: the next page's link {url} leaves {}",
                            self.origin
                        ))
                    })?,
            ),
            None => None,
        };
        Ok(Answer { body, next })
    }

    /// Every item of a paginated list, following `Link: rel="next"` from `path_and_query`.
    pub(crate) async fn get_all(
        &self,
        ctx: &CollectContext,
        path_and_query: &str,
    ) -> Result<Vec<Value>, ApiError> {
        let mut items = Vec::new();
        let mut next = Some(path_and_query.to_string());
        while let Some(path) = next {
            let answer = self.get(ctx, &path).await?;
            match answer.body {
                Value::Array(page) => items.extend(page),
                other => {
                    return Err(ApiError::Failed(format!(
                        "GET {path}: unexpected answer: expected a list, got {}",
                        kind(&other)
                    )));
                }
            }
            next = answer.next;
        }
        Ok(items)
    }
}

/// The path of the GraphQL API's root for a REST base path: GitHub Enterprise Server serves
/// REST under `/api/v3` and GraphQL at `/api/graphql`; github.com both at the root.
fn graphql_root(rest_path: &str) -> &str {
    let path = rest_path.trim_end_matches('/');
    path.strip_suffix("/v3").unwrap_or(path)
}

/// The JSON type of `v`, for messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The innermost cause of a client error, for reasons (octocrab's own display is generic).
fn describe(e: &octocrab::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message = s.to_string();
        source = s.source();
    }
    message
}

/// When a `403`/`429` answer is a rate limit, the instant GitHub allows calls again:
/// `Retry-After` (seconds), else `x-ratelimit-remaining: 0` with `x-ratelimit-reset` (Unix
/// time), else a secondary rate limit named in the message (a minute's pause). `None`: the
/// answer is a refusal, not a rate limit.
fn rate_limited_until(headers: &HeaderMap, body: &str, now: SystemTime) -> Option<SystemTime> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(secs) = header("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(now + Duration::from_secs(secs));
    }
    if header("x-ratelimit-remaining") == Some("0")
        && let Some(reset) = header("x-ratelimit-reset").and_then(|v| v.parse::<u64>().ok())
    {
        return Some((UNIX_EPOCH + Duration::from_secs(reset)).max(now));
    }
    if body.to_ascii_lowercase().contains("secondary rate limit") {
        return Some(now + SECONDARY_RATE_LIMIT_PAUSE);
    }
    None
}

/// The `rel="next"` URL of a `Link` header.
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

    #[test]
    fn graphql_lives_beside_the_rest_api() {
        assert_eq!(graphql_root(""), "");
        assert_eq!(graphql_root("/"), "");
        assert_eq!(graphql_root("/api/v3"), "/api");
        assert_eq!(graphql_root("/api/v3/"), "/api");
        assert_eq!(graphql_root("/github"), "/github");
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn next_links_are_found_among_the_others() {
        let h = headers(&[(
            "link",
            "<https://api.github.com/organizations/9/repos?page=1>; rel=\"prev\", \
             <https://api.github.com/organizations/9/repos?page=3>; rel=\"next\", \
             <https://api.github.com/organizations/9/repos?page=5>; rel=\"last\"",
        )]);
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://api.github.com/organizations/9/repos?page=3")
        );
        let last_page = headers(&[(
            "link",
            "<https://api.github.com/x?page=1>; rel=\"first\", <https://api.github.com/x?page=1>; rel=\"prev\"",
        )]);
        assert_eq!(next_link(&last_page), None);
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn rate_limits_are_told_from_refusals() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        assert_eq!(
            rate_limited_until(&headers(&[("retry-after", "30")]), "", now),
            Some(now + Duration::from_secs(30))
        );
        let exhausted = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1600"),
        ]);
        assert_eq!(
            rate_limited_until(&exhausted, "", now),
            Some(UNIX_EPOCH + Duration::from_secs(1600))
        );
        // A reset already past: retry now, not in the past.
        let past = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "10")]);
        assert_eq!(rate_limited_until(&past, "", now), Some(now));
        // Calls left: a 403 is a refusal (missing permission), not a rate limit.
        let refusal = headers(&[
            ("x-ratelimit-remaining", "4999"),
            ("x-ratelimit-reset", "1600"),
        ]);
        assert_eq!(
            rate_limited_until(&refusal, r#"{"message":"Must have admin rights"}"#, now),
            None
        );
        assert_eq!(
            rate_limited_until(
                &HeaderMap::new(),
                r#"{"message":"You have exceeded a secondary rate limit."}"#,
                now
            ),
            Some(now + SECONDARY_RATE_LIMIT_PAUSE)
        );
    }

    #[test]
    fn bad_bases_and_bundles_are_refused_with_reasons() {
        let err = |base: &str, pem: &[u8]| Api::new(base, "t", pem).err().unwrap();
        assert!(err("api.github.com", b"").contains("no scheme or host"));
        assert_eq!(
            err("https://api.github.com", b"not pem"),
            "the CA bundle holds no certificate"
        );
    }
}
