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

#[cfg(test)]
mod tests {
    use super::*;

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
