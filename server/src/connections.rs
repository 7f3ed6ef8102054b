//! Slow and greedy clients (issue 15, defect 6): timeouts on every stage of a connection, a cap
//! on connections, a cap on bytes buffered before a client is authenticated, and per-address
//! rate limits on what anyone may try without credentials.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use hyper::body::{Frame, SizeHint};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// `[connections]`: how long a client may take and how much it may hold.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionLimits {
    /// Seconds a client has to send a request's headers (HTTP/1.1), from the connection's
    /// start or the previous response; then the connection is closed (slowloris).
    pub header_timeout_secs: u64,
    /// Seconds a client has to send a request's whole body; then `400` and the connection ends.
    pub body_timeout_secs: u64,
    /// Seconds a connection may pass with no byte read or written before it is closed.
    pub idle_timeout_secs: u64,
    /// Most connections open at once; more are closed as they are accepted.
    pub max_connections: usize,
    /// Most bytes of request bodies held, across all requests, before their sender is
    /// authenticated (a snapshot's signature verified); beyond, `429 rate_limited`.
    pub max_unauthenticated_bytes: usize,
    /// Enrolment attempts allowed per client address and minute (a burst of as many).
    pub enroll_per_minute: u32,
    /// Submissions refused before authentication allowed per client address and minute;
    /// beyond, the address gets `429 rate_limited` before its body is read.
    pub refusals_per_minute: u32,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            idle_timeout_secs: 120,
            max_connections: 4096,
            max_unauthenticated_bytes: 64 * 1024 * 1024,
            enroll_per_minute: 300,
            refusals_per_minute: 600,
        }
    }
}

impl ConnectionLimits {
    /// Every problem, as `(key, problem)`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut range = |key: &str, v: u64, lo: u64, hi: u64| {
            if !(lo..=hi).contains(&v) {
                out.push((key.to_string(), format!("{v} is outside {lo}..={hi}")));
            }
        };
        range("header_timeout_secs", self.header_timeout_secs, 1, 300);
        range("body_timeout_secs", self.body_timeout_secs, 1, 3600);
        range("idle_timeout_secs", self.idle_timeout_secs, 1, 86_400);
        range("max_connections", self.max_connections as u64, 1, 1_000_000);
        range(
            "max_unauthenticated_bytes",
            self.max_unauthenticated_bytes as u64,
            64 * 1024,
            1 << 40,
        );
        range(
            "enroll_per_minute",
            self.enroll_per_minute.into(),
            1,
            1_000_000,
        );
        range(
            "refusals_per_minute",
            self.refusals_per_minute.into(),
            1,
            1_000_000,
        );
        out
    }
}

/// Per-address token buckets: `per_minute` tokens a minute, at most `per_minute` held.
pub struct RateLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

/// Addresses tracked at most; beyond, the full buckets are forgotten (they hold nothing).
const MAX_TRACKED: usize = 100_000;

impl RateLimiter {
    /// A limiter allowing `per_minute` per address.
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn level(&self, bucket: &(f64, Instant), now: Instant) -> f64 {
        let refill = now.duration_since(bucket.1).as_secs_f64() * self.per_minute / 60.0;
        (bucket.0 + refill).min(self.per_minute)
    }

    /// Takes one token for `ip`; `Err(wait)` when none is left.
    pub fn take(&self, ip: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("limiter lock");
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&ip) {
            buckets.retain(|_, b| self.level(b, now) < self.per_minute);
        }
        let bucket = buckets.entry(ip).or_insert((self.per_minute, now));
        let level = self.level(bucket, now);
        if level >= 1.0 {
            *bucket = (level - 1.0, now);
            Ok(())
        } else {
            *bucket = (level, now);
            Err(Duration::from_secs_f64(
                (1.0 - level) * 60.0 / self.per_minute,
            ))
        }
    }

    /// Whether `ip` has a token left, without taking it; `Err(wait)` when not.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let buckets = self.buckets.lock().expect("limiter lock");
        match buckets.get(&ip) {
            Some(b) if self.level(b, now) < 1.0 => Err(Duration::from_secs_f64(
                (1.0 - self.level(b, now)) * 60.0 / self.per_minute,
            )),
            _ => Ok(()),
        }
    }
}

/// The guards of one server: its limiters and the budget of unauthenticated bytes.
pub struct Guards {
    /// The limits in force.
    pub limits: ConnectionLimits,
    /// Enrolment attempts per address.
    pub enroll: RateLimiter,
    /// Unauthenticated refusals per address.
    pub refusals: RateLimiter,
    /// Bytes of unauthenticated bodies that may still be buffered, in KiB.
    pub unauthenticated: Arc<tokio::sync::Semaphore>,
}

impl Guards {
    /// Guards enforcing `limits`.
    pub fn new(limits: ConnectionLimits) -> Self {
        Guards {
            enroll: RateLimiter::new(limits.enroll_per_minute),
            refusals: RateLimiter::new(limits.refusals_per_minute),
            unauthenticated: Arc::new(tokio::sync::Semaphore::new(
                limits.max_unauthenticated_bytes.div_ceil(1024),
            )),
            limits,
        }
    }
}

impl Default for Guards {
    fn default() -> Self {
        Guards::new(ConnectionLimits::default())
    }
}

/// A request body that fails once its deadline passes before it has all arrived.
pub struct TimedBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
    limit: Duration,
}

impl TimedBody {
    /// `inner`, which must arrive within `limit`.
    pub fn new(inner: Body, limit: Duration) -> Self {
        TimedBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(limit)),
            limit,
        }
    }
}

/// The error of a body that did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the body did not arrive within {0:?}")]
pub struct BodyTimeout(pub Duration);

impl hyper::body::Body for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            let limit = self.limit;
            return Poll::Ready(Some(Err(Box::new(BodyTimeout(limit)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// An I/O stream that records when it last moved a byte (for the idle timeout).
pub struct Activity<T> {
    inner: T,
    last: Arc<AtomicU64>,
    start: Instant,
}

impl<T> Activity<T> {
    /// `inner`, with the instant of its last activity readable through the returned clock.
    pub fn new(inner: T) -> (Self, IdleClock) {
        let last = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        (
            Activity {
                inner,
                last: last.clone(),
                start,
            },
            IdleClock { last, start },
        )
    }

    fn touch(&self) {
        self.last
            .store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

/// How long the stream of an [`Activity`] has been idle.
pub struct IdleClock {
    last: Arc<AtomicU64>,
    start: Instant,
}

impl IdleClock {
    /// Resolves once the stream has moved no byte for `limit`.
    pub async fn idle_for(&self, limit: Duration) {
        loop {
            let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
            let idle = self.start.elapsed().saturating_sub(last);
            if idle >= limit {
                return;
            }
            tokio::time::sleep(limit - idle).await;
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Activity<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Activity<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_with_a_wait() {
        let l = RateLimiter::new(3);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            l.take(ip).unwrap();
        }
        let wait = l.take(ip).unwrap_err();
        assert!(
            wait > Duration::from_secs(1) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(l.check(ip).is_err());
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(
            l.check(other).is_ok() && l.take(other).is_ok(),
            "addresses are apart"
        );
    }
}
