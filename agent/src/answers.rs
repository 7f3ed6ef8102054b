//! Reading the server's answers: which refusals are final, how long `Retry-After` asks to
//! wait, and the backoff between delivery attempts.

use super::*;

/// Whether the server's refusal of a snapshot with `reason` is final for that snapshot (it is
/// moved to `spool/rejected/`), or means "not now" (it stays spooled and is retried).
///
/// Final: what is wrong is in the signed bytes themselves, and sending them again can only be
/// refused again — `malformed`, `oversize` (the server's own limit; a proxy's bare 413 is
/// retried), `payload_type`, `bad_signature`, `not_canonical`, `limit_exceeded`,
/// `invalid_snapshot`, `agent_mismatch`, `before_enrolment` (the collection instant is signed:
/// time will not make it later), and the chain refusals `chain_gap` and `chain_conflict` (the
/// later snapshots are then re-signed onto the refused one's predecessor).
///
/// Retried: `unknown_key` (an enrolment may not have reached every replica yet, or is being
/// repaired; the evidence is kept until an operator decides), `clock_skew` (the snapshot becomes
/// acceptable as the server's clock advances), the reasons that are about the request or the
/// route, not the snapshot — `bad_token`, `unauthorized`, `forbidden`, `not_found` (a wrong URL
/// or a proxy in between), `bad_request` (the server could not read the body: the stream
/// broke), `gone` — and any reason this agent does not know: evidence is never thrown away on a
/// guess. (The match is on the stable codes, so a reason added to the protocol is retried until
/// it is listed here.)
pub fn refusal_is_final(reason: RejectReason) -> bool {
    matches!(
        reason.as_str(),
        "malformed"
            | "oversize"
            | "payload_type"
            | "bad_signature"
            | "not_canonical"
            | "limit_exceeded"
            | "invalid_snapshot"
            | "agent_mismatch"
            | "chain_gap"
            | "chain_conflict"
            | "before_enrolment"
    )
}

/// Reads an answer that is not a success (see [`classify_answer`]).
pub(crate) async fn error_of(
    resp: reqwest::Response,
    is_final: fn(RejectReason) -> bool,
) -> AgentError {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp.bytes().await.unwrap_or_default();
    classify_answer(
        status,
        retry_after.as_deref(),
        &body,
        SystemTime::now(),
        is_final,
    )
}

/// Classifies an answer that is not a success. It is [`AgentError::Refused`] only when the
/// status is a 4xx other than 408, 425 and 429, the body is the Vouch server's [`ErrorBody`]
/// with a known [`RejectReason`] code sent with that reason's own status, and `is_final` says
/// the reason is final; anything else (a proxy's bare 4xx, every 5xx) is
/// [`AgentError::Transient`], with the wait its `Retry-After` asks for, if any.
pub fn classify_answer(
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
    now: SystemTime,
    is_final: fn(RejectReason) -> bool,
) -> AgentError {
    let retry_after = retry_after.and_then(|v| parse_retry_after(v, now));
    let vouch = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|b| {
            RejectReason::ALL
                .into_iter()
                .find(|r| r.as_str() == b.error && r.http_status() == status)
                .map(|r| (r, b.message))
        });
    let retryable_status = matches!(status, 408 | 425 | 429) || !(400..500).contains(&status);
    match vouch {
        Some((reason, message)) if !retryable_status && is_final(reason) => {
            AgentError::Refused { reason, message }
        }
        Some((reason, message)) => AgentError::Transient {
            message: format!("HTTP {status} {reason}: {message}"),
            retry_after,
            reason: Some(reason),
        },
        None => AgentError::Transient {
            message: format!("HTTP {status} (no Vouch refusal in the answer)"),
            retry_after,
            reason: None,
        },
    }
}

/// How long a `Retry-After` header value asks to wait from `now`: delay-seconds, or an
/// HTTP-date (IMF-fixdate, RFC 850 or asctime, RFC 9110 section 10.2.3), a date already past
/// being no wait. `None` when the value is neither.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = [
        "%a, %d %b %Y %H:%M:%S GMT",
        "%A, %d-%b-%y %H:%M:%S GMT",
        "%a %b %e %H:%M:%S %Y",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(value, f).ok())?;
    let at = UNIX_EPOCH + Duration::from_secs(u64::try_from(at.and_utc().timestamp()).ok()?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The wait a `Retry-After` of `asked` imposes, capped at `max` (the longest backoff delay,
/// `agent.backoff_max_secs`) so that an absurd value cannot stop delivery for days; capping is
/// logged.
pub fn cap_retry_after(asked: Duration, max: Duration) -> Duration {
    if asked > max {
        tracing::warn!(
            retry_after_secs = asked.as_secs(),
            capped_at_secs = max.as_secs(),
            "the server's Retry-After is longer than agent.backoff_max_secs; capped"
        );
        max
    } else {
        asked
    }
}

/// Exponential backoff with full jitter: each delay is uniform in [0, min(max, initial·2^n)].
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    /// A backoff starting at `initial`, capped at `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            attempt: 0,
        }
    }

    /// The cap of the next delay (before jitter).
    pub fn ceiling(&self) -> Duration {
        self.initial
            .saturating_mul(1u32 << self.attempt.min(30))
            .min(self.max)
    }

    /// The next delay, and advance.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let mut r = [0u8; 8];
        let _ = getrandom::fill(&mut r);
        let fraction = u64::from_le_bytes(r) as f64 / u64::MAX as f64;
        ceiling.mul_f64(fraction)
    }

    /// After a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}
