//! What the API sources share: one request bounded by the collection's deadline and the
//! agent's shutdown, and rate-limit pauses that are taken only when they end before the
//! deadline (otherwise the fact is unavailable, "rate limited until …").

use std::future::Future;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;

use crate::CollectContext;

/// The longest one request may take, whatever the collection's remaining budget.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How many times one call waits out a rate limit before giving up.
pub(crate) const RATE_LIMIT_RETRIES: u32 = 3;

/// Runs one request, stopped at the deadline (or after [`REQUEST_TIMEOUT`]) or when the agent
/// shuts down. The error is a reason sentence without the call's name.
pub(crate) async fn bounded<T>(
    ctx: &CollectContext,
    request: impl Future<Output = T>,
) -> Result<T, String> {
    let remaining = ctx.deadline.saturating_duration_since(Instant::now());
    if remaining.is_zero() {
        return Err("not sent: the collection's time budget is spent".into());
    }
    let limit = remaining.min(REQUEST_TIMEOUT);
    tokio::select! {
        r = tokio::time::timeout(limit, request) => {
            r.map_err(|_| format!("no answer within {:.1} s", limit.as_secs_f64()))
        }
        () = ctx.shutdown.cancelled() => Err("stopped: the agent is shutting down".into()),
    }
}

/// Sleeps until `until`, when that is before the deadline and `waited` (the pauses this call
/// already took) is under [`RATE_LIMIT_RETRIES`]. The error says until when the API refuses,
/// or that the agent is shutting down; `call` (`GET /path`) is named in it.
pub(crate) async fn wait_out_rate_limit(
    ctx: &CollectContext,
    call: &str,
    until: SystemTime,
    waited: u32,
) -> Result<(), String> {
    let wait = until
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    if waited >= RATE_LIMIT_RETRIES || Instant::now() + wait >= ctx.deadline {
        return Err(format!("rate limited until {} ({call})", rfc3339(until)));
    }
    tracing::info!(call, wait_secs = wait.as_secs(), "rate limited: waiting");
    tokio::select! {
        () = tokio::time::sleep(wait) => Ok(()),
        () = ctx.shutdown.cancelled() => Err(format!("{call}: stopped: the agent is shutting down")),
    }
}

/// The context of an API source's collection: no files (root `/`), `timeout_secs` from now.
pub(crate) fn api_context(timeout_secs: u64, shutdown: CancellationToken) -> CollectContext {
    CollectContext {
        root: PathBuf::from("/"),
        deadline: Instant::now() + Duration::from_secs(timeout_secs),
        shutdown,
        clock: vouch_evidence::Clock::System,
    }
}

/// The configuration rules the API sources share, added to `errors`: `schedule` is a cron
/// expression with seconds (`example` is shown when it is not) and `timeout_secs` is in
/// 1..=3600.
pub(crate) fn check_schedule_and_budget(
    errors: &mut Vec<(&'static str, String)>,
    schedule: &str,
    example: &str,
    timeout_secs: u64,
) {
    if let Err(e) = cron::Schedule::from_str(schedule) {
        errors.push((
            "schedule",
            format!("{schedule:?} is not a cron expression with seconds (e.g. {example:?}): {e}"),
        ));
    }
    check_range(errors, "timeout_secs", timeout_secs, 1..=3600);
}

/// A problem for `key` unless `value` is in `range`.
pub(crate) fn check_range<T: PartialOrd + std::fmt::Display>(
    errors: &mut Vec<(&'static str, String)>,
    key: &'static str,
    value: T,
    range: RangeInclusive<T>,
) {
    if !range.contains(&value) {
        errors.push((
            key,
            format!("{value} is outside {}..={}", range.start(), range.end()),
        ));
    }
}

/// Whether the path of a request (`/api/v1/users/00u1/factors`) is that of `call`
/// (`GET /api/v1/users/{id}/factors`, as a source's table of calls writes it), `{…}` matching
/// any one segment; the call's query is not compared.
pub(crate) fn call_matches(call: &str, request_path: &str) -> bool {
    let pattern = call
        .trim_start_matches("GET ")
        .split('?')
        .next()
        .unwrap_or("");
    let (p, r): (Vec<&str>, Vec<&str>) = (
        pattern.split('/').collect(),
        request_path.split('/').collect(),
    );
    p.len() == r.len()
        && p.iter()
            .zip(&r)
            .all(|(p, r)| p == r || (p.starts_with('{') && p.ends_with('}') && !r.is_empty()))
}

/// The largest answer an API source reads, in bytes (a page of 500 users is well under 2 MiB).
pub(crate) const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// An HTTPS client for an API source: reqwest over rustls with ring, trusting only the PEM
/// certificates of `ca_pem` (the system bundle or the configured `ca_cert`), HTTPS only, no
/// redirect followed, [`REQUEST_TIMEOUT`] per request. `what` names the client in errors
/// (`Google Workspace client`). The error is a reason sentence.
pub(crate) fn https_client(ca_pem: &[u8], what: &str) -> Result<reqwest::Client, String> {
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
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("vouch-agent/", env!("CARGO_PKG_VERSION")))
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| format!("{what}: {e}"))
}

/// Sends `request`, bounded by the deadline (see [`bounded`]), and reads the status, the headers
/// and the whole body as text (at most [`MAX_BODY_BYTES`]). The error is a reason sentence that
/// names `call` (`GET /path`), never the request's headers or body.
pub(crate) async fn exchange(
    ctx: &CollectContext,
    call: &str,
    request: reqwest::RequestBuilder,
) -> Result<(u16, reqwest::header::HeaderMap, String), String> {
    enum Failure {
        Request(reqwest::Error),
        Body(String),
    }
    let answer = async {
        let mut response = request.send().await.map_err(Failure::Request)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(Failure::Request)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(Failure::Body(format!("more than {MAX_BODY_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        let body = String::from_utf8(body).map_err(|_| Failure::Body("not UTF-8".into()))?;
        Ok((status, headers, body))
    };
    match bounded(ctx, answer).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(Failure::Request(e))) => Err(format!("{call}: request failed: {}", describe(&e))),
        Ok(Err(Failure::Body(e))) => Err(format!("{call}: unexpected answer: {e}")),
        Err(reason) => Err(format!("{call}: {reason}")),
    }
}

/// The innermost cause of a client error, for reasons (reqwest's own display names the URL,
/// query and all).
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message = s.to_string();
        source = s.source();
    }
    message
}

/// When an answer's `Retry-After` (seconds, or an HTTP date) allows calls again, measured from
/// `now`; `None` when it has none or one that cannot be read. A date in the past is `now`.
pub(crate) fn retry_after(
    headers: &reqwest::header::HeaderMap,
    now: SystemTime,
) -> Option<SystemTime> {
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(now + Duration::from_secs(secs));
    }
    let date = value.replace(" GMT", " +0000");
    let t =
        time::OffsetDateTime::parse(&date, &time::format_description::well_known::Rfc2822).ok()?;
    let at = UNIX_EPOCH + Duration::from_secs(u64::try_from(t.unix_timestamp()).unwrap_or(0));
    Some(at.max(now))
}

/// `t` as RFC 3339 UTC, to the second.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("Unix time {secs}"))
}

/// The text of a file holding a secret, refused when its group or others may read it;
/// `what` names the secret in that refusal (`token`, `client secret`). The error is a reason
/// sentence that never holds the secret.
pub(crate) fn read_private_file(path: &std::path::Path, what: &str) -> Result<String, String> {
    let shown = path.display().to_string();
    vouch_config::secret_file_mode(path)
        .map_err(|e| crate::describe_io(&shown, &e))?
        .map_or(Ok(()), |mode| {
            Err(format!(
                "{shown} is readable by group or others (mode {mode:04o}): a {what} file must \
                 be 0600 (chmod 600 {shown})"
            ))
        })?;
    std::fs::read_to_string(path).map_err(|e| crate::describe_io(&shown, &e))
}

/// A secret from `file` when one is configured, else from the environment variable `env`;
/// trimmed, never empty. `name` names it in errors (`Okta API token`), `what` in the refusal
/// of a file others may read.
pub(crate) fn read_secret(
    file: Option<&std::path::Path>,
    env: &str,
    name: &str,
    what: &str,
) -> Result<String, String> {
    let secret = match file {
        Some(path) => read_private_file(path, what)?,
        None => std::env::var(env)
            .map_err(|_| format!("no {name}: the environment variable {env} is not set"))?,
    };
    let secret = secret.trim().to_string();
    if secret.is_empty() {
        return Err(format!("no {name}: it is empty"));
    }
    Ok(secret)
}

/// An item source: the API call `GET path`.
pub(crate) fn get_call(path: impl std::fmt::Display) -> vouch_evidence::Source {
    vouch_evidence::Source::Api(format!("GET {path}"))
}

/// The most people (or other names another party chose) one evidence item lists; its count
/// beside it is always whole.
pub(crate) const MAX_LISTED: usize = 100;

/// Names fit for evidence: each cut like any string another party chose, sorted, without
/// repeats, at most [`MAX_LISTED`].
pub(crate) fn listed<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut names: Vec<String> = names
        .into_iter()
        .map(vouch_evidence::limits::truncate_echo)
        .collect();
    names.sort();
    names.dedup();
    names.truncate(MAX_LISTED);
    names
}

/// How long before its expiry an OAuth access token is replaced, at most (and at most half its
/// lifetime).
const TOKEN_MARGIN: Duration = Duration::from_secs(300);

/// How long a token of `lifetime` is used: until [`TOKEN_MARGIN`] before it expires, or half
/// its lifetime when that is shorter.
fn refresh_after(lifetime: Duration) -> Duration {
    lifetime - TOKEN_MARGIN.min(lifetime / 2)
}

/// An access token and when to replace it.
struct CachedToken {
    /// `Bearer <token>`, marked sensitive.
    header: reqwest::header::HeaderValue,
    /// When to ask for a new one.
    refresh_at: Instant,
    /// Which token this is (1 for the first of the run).
    generation: u64,
}

/// The token as the run knows it.
struct TokenState<E> {
    /// The token in use.
    current: Option<CachedToken>,
    /// The refusal that ended the run's hope of a token, answered to every later call.
    refused: Option<E>,
    /// Tokens obtained so far.
    issued: u64,
}

/// The OAuth access token of one API source's run (Entra ID's client credentials, Google's
/// signed assertion): obtained by one call at a time, used until shortly before it expires,
/// forgotten when the API refuses it, and a refusal of the credentials remembered and answered
/// again without asking. `E` is the source's error.
pub(crate) struct TokenCache<E> {
    state: tokio::sync::Mutex<TokenState<E>>,
}

impl<E: Clone> TokenCache<E> {
    /// A cache holding no token yet.
    pub(crate) fn new() -> Self {
        TokenCache {
            state: tokio::sync::Mutex::new(TokenState {
                current: None,
                refused: None,
                issued: 0,
            }),
        }
    }

    /// The token to send and its generation: the one in use while it is fresh, else one from
    /// `fetch` (the header and the token's lifetime). A failure `for_good` says is a refusal
    /// of the credentials is remembered.
    pub(crate) async fn bearer<F, Fut>(
        &self,
        fetch: F,
        for_good: impl Fn(&E) -> bool,
    ) -> Result<(reqwest::header::HeaderValue, u64), E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(reqwest::header::HeaderValue, Duration), E>>,
    {
        let mut state = self.state.lock().await;
        if let Some(refused) = &state.refused {
            return Err(refused.clone());
        }
        if let Some(t) = state
            .current
            .as_ref()
            .filter(|t| Instant::now() < t.refresh_at)
        {
            return Ok((t.header.clone(), t.generation));
        }
        match fetch().await {
            Ok((header, lifetime)) => {
                state.issued += 1;
                let generation = state.issued;
                state.current = Some(CachedToken {
                    header: header.clone(),
                    refresh_at: Instant::now() + refresh_after(lifetime),
                    generation,
                });
                Ok((header, generation))
            }
            Err(e) => {
                if for_good(&e) {
                    state.refused = Some(e.clone());
                }
                Err(e)
            }
        }
    }

    /// Forgets token `generation` if it is still the one in use (the API refused it).
    pub(crate) async fn forget(&self, generation: u64) {
        let mut state = self.state.lock().await;
        if state
            .current
            .as_ref()
            .is_some_and(|t| t.generation == generation)
        {
            state.current = None;
        }
    }

    /// Remembers that the API refused even a fresh token.
    pub(crate) async fn give_up(&self, refusal: &E) {
        let mut state = self.state.lock().await;
        state.current = None;
        state.refused.get_or_insert_with(|| refusal.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_replaced_shortly_before_they_expire() {
        assert_eq!(
            refresh_after(Duration::from_secs(3599)),
            Duration::from_secs(3299)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(120)),
            Duration::from_secs(60)
        );
        assert_eq!(refresh_after(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn instants_print_as_rfc3339_seconds() {
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_millis(4_102_444_800_250)),
            "2100-01-01T00:00:00Z"
        );
    }

    #[test]
    fn shared_config_rules_name_their_keys() {
        let mut errors = Vec::new();
        check_schedule_and_budget(&mut errors, "0 0 * * * *", "0 0 * * * *", 600);
        assert!(errors.is_empty());
        check_schedule_and_budget(&mut errors, "hourly", "0 0 * * * *", 0);
        check_range(&mut errors, "page_size", 5001, 1..=5000);
        let keys: Vec<&str> = errors.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["schedule", "timeout_secs", "page_size"]);
        assert!(
            errors[0].1.contains("(e.g. \"0 0 * * * *\")"),
            "{}",
            errors[0].1
        );
        assert_eq!(errors[2].1, "5001 is outside 1..=5000");
    }

    #[test]
    fn retry_after_is_seconds_or_a_date() {
        use reqwest::header::{HeaderMap, HeaderValue};
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert("retry-after", HeaderValue::from_str(v).unwrap());
            h
        };
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        assert_eq!(
            retry_after(&with("7"), now),
            Some(now + Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(&with("Thu, 01 Jan 1970 00:17:00 GMT"), now),
            Some(UNIX_EPOCH + Duration::from_secs(1_020))
        );
        assert_eq!(
            retry_after(&with("Thu, 01 Jan 1970 00:00:01 GMT"), now),
            Some(now)
        );
        assert_eq!(retry_after(&with("soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn clients_need_a_ca() {
        assert_eq!(
            https_client(b"not pem", "x").unwrap_err(),
            "the CA bundle holds no certificate"
        );
    }

    #[tokio::test]
    async fn waits_end_before_the_deadline_or_are_refused() {
        let mut ctx = CollectContext::for_test("/");
        ctx.deadline = Instant::now() + Duration::from_secs(5);
        let soon = SystemTime::now() + Duration::from_millis(50);
        assert_eq!(wait_out_rate_limit(&ctx, "GET /x", soon, 0).await, Ok(()));
        let reason = wait_out_rate_limit(&ctx, "GET /x", soon, RATE_LIMIT_RETRIES)
            .await
            .unwrap_err();
        assert!(reason.starts_with("rate limited until "), "{reason}");
        let late = UNIX_EPOCH + Duration::from_secs(4_102_444_800);
        assert_eq!(
            wait_out_rate_limit(&ctx, "GET /x", late, 0)
                .await
                .unwrap_err(),
            "rate limited until 2100-01-01T00:00:00Z (GET /x)"
        );
    }

    #[tokio::test]
    async fn requests_stop_at_the_deadline_or_shutdown() {
        let mut ctx = CollectContext::for_test("/");
        ctx.deadline = Instant::now() + Duration::from_millis(100);
        let slow = tokio::time::sleep(Duration::from_secs(5));
        let late = bounded(&ctx, slow).await.unwrap_err();
        assert!(late.starts_with("no answer within 0."), "{late}");
        let stopped = CollectContext::for_test("/");
        stopped.shutdown.cancel();
        let slow = tokio::time::sleep(Duration::from_secs(5));
        assert_eq!(
            bounded(&stopped, slow).await.unwrap_err(),
            "stopped: the agent is shutting down"
        );
    }
}
