//! Server metrics in the Prometheus text format, kept in atomics.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use vouch_evidence::api::RejectReason;

/// Upper bounds (seconds) of the ingest latency histogram buckets.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Counters and histograms of the server.
#[derive(Debug, Default)]
pub struct Metrics {
    accepted: AtomicU64,
    duplicates: AtomicU64,
    clock_ahead: AtomicU64,
    enrollments: AtomicU64,
    signatures_checked: AtomicU64,
    rejected: [AtomicU64; RejectReason::ALL.len()],
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    objects_moved: AtomicU64,
    objects_failed: AtomicU64,
    expired: AtomicU64,
    /// The object-storage backlog plus one (0: not measured yet).
    objects_pending: AtomicU64,
    witness_cosigned: AtomicU64,
    witness_failed: AtomicU64,
    witness_alarms: AtomicU64,
    timestamps: AtomicU64,
    timestamp_failures: AtomicU64,
}

impl Metrics {
    /// Records the object-storage backlog (a gauge refreshed in the background).
    pub fn set_objects_pending(&self, n: u64) {
        self.objects_pending
            .store(n.saturating_add(1), Ordering::Relaxed);
    }

    /// The object-storage backlog last measured, if any.
    pub fn objects_pending(&self) -> Option<u64> {
        match self.objects_pending.load(Ordering::Relaxed) {
            0 => None,
            n => Some(n - 1),
        }
    }

    /// A witness cosigned the log's checkpoint.
    pub fn witness_cosigned(&self) {
        self.witness_cosigned.fetch_add(1, Ordering::Relaxed);
    }

    /// A witness could not be asked, or refused for a reason of its own.
    pub fn witness_failed(&self) {
        self.witness_failed.fetch_add(1, Ordering::Relaxed);
    }

    /// A witness was shown another history of the log.
    pub fn witness_alarm(&self) {
        self.witness_alarms.fetch_add(1, Ordering::Relaxed);
    }

    /// The log's checkpoint was time-stamped.
    pub fn timestamped(&self) {
        self.timestamps.fetch_add(1, Ordering::Relaxed);
    }

    /// A time-stamp could not be had.
    pub fn timestamp_failed(&self) {
        self.timestamp_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// How many alarms witnesses raised.
    pub fn witness_alarms(&self) -> u64 {
        self.witness_alarms.load(Ordering::Relaxed)
    }

    /// A snapshot was stored.
    pub fn accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// A snapshot was already stored.
    pub fn duplicate(&self) {
        self.duplicates.fetch_add(1, Ordering::Relaxed);
    }

    /// A snapshot was accepted with a warning that its agent's clock runs ahead.
    pub fn clock_ahead(&self) {
        self.clock_ahead.fetch_add(1, Ordering::Relaxed);
    }

    /// Snapshots submitted and answered as stored or as duplicates, since start.
    pub fn submissions(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed) + self.duplicates.load(Ordering::Relaxed)
    }

    /// A snapshot's signature is about to be verified (after every cheap check passed).
    pub fn signature_checked(&self) {
        self.signatures_checked.fetch_add(1, Ordering::Relaxed);
    }

    /// Signatures verified since start.
    pub fn signatures_checked(&self) -> u64 {
        self.signatures_checked.load(Ordering::Relaxed)
    }

    /// An agent enrolled.
    pub fn enrolled(&self) {
        self.enrollments.fetch_add(1, Ordering::Relaxed);
    }

    /// Envelopes moved to object storage, and puts that failed (retried later).
    pub fn objects_moved(&self, moved: u64, failed: u64) {
        self.objects_moved.fetch_add(moved, Ordering::Relaxed);
        self.objects_failed.fetch_add(failed, Ordering::Relaxed);
    }

    /// Snapshots whose envelopes retention removed.
    pub fn expired(&self, n: u64) {
        self.expired.fetch_add(n, Ordering::Relaxed);
    }

    /// A request was rejected.
    pub fn rejected(&self, reason: RejectReason) {
        let i = RejectReason::ALL
            .iter()
            .position(|r| *r == reason)
            .expect("every reason is listed");
        self.rejected[i].fetch_add(1, Ordering::Relaxed);
    }

    /// How many requests were rejected for `reason`.
    pub fn rejected_count(&self, reason: RejectReason) -> u64 {
        let i = RejectReason::ALL
            .iter()
            .position(|r| *r == reason)
            .expect("every reason is listed");
        self.rejected[i].load(Ordering::Relaxed)
    }

    /// Records the time one snapshot submission took.
    pub fn observe_ingest(&self, took: Duration) {
        let secs = took.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        counter(
            "vouch_snapshots_accepted_total",
            "Snapshots verified and stored.",
            load(&self.accepted),
        );
        counter(
            "vouch_snapshots_duplicate_total",
            "Snapshots received again after acceptance (nothing stored).",
            load(&self.duplicates),
        );
        counter(
            "vouch_snapshots_clock_ahead_total",
            "Snapshots accepted with a warning: collected ahead of the server clock, within clock_skew_secs.",
            load(&self.clock_ahead),
        );
        counter(
            "vouch_signatures_verified_total",
            "Snapshot signatures verified (each after every cheap check passed).",
            load(&self.signatures_checked),
        );
        counter(
            "vouch_enrollments_total",
            "Agents enrolled.",
            load(&self.enrollments),
        );
        counter(
            "vouch_objects_moved_total",
            "Envelopes moved from the database to object storage.",
            load(&self.objects_moved),
        );
        counter(
            "vouch_objects_failed_total",
            "Envelope puts to object storage that failed (retried later).",
            load(&self.objects_failed),
        );
        counter(
            "vouch_snapshots_expired_total",
            "Snapshots whose envelopes retention removed (the index row and receipt stay).",
            load(&self.expired),
        );
        counter(
            "vouch_log_cosignatures_total",
            "Cosignatures of the log's checkpoints that witnesses answered (each checked).",
            load(&self.witness_cosigned),
        );
        counter(
            "vouch_log_witness_failures_total",
            "Requests to witnesses that failed or were refused for a reason of their own (retried next round).",
            load(&self.witness_failed),
        );
        counter(
            "vouch_log_witness_alarms_total",
            "Witnesses that had been shown another history of this log (a larger tree, or an inconsistent one): investigate every one.",
            load(&self.witness_alarms),
        );
        counter(
            "vouch_log_timestamps_total",
            "RFC 3161 time-stamps of the log's checkpoints kept (each checked with the TSA's certificate).",
            load(&self.timestamps),
        );
        counter(
            "vouch_log_timestamp_failures_total",
            "Time-stamps that could not be had: the TSA unreachable, refusing, or its token not verifying.",
            load(&self.timestamp_failures),
        );
        let _ = writeln!(
            out,
            "# HELP vouch_snapshots_rejected_total Requests rejected, by reason.\n# TYPE vouch_snapshots_rejected_total counter"
        );
        for (i, reason) in RejectReason::ALL.iter().enumerate() {
            let _ = writeln!(
                out,
                "vouch_snapshots_rejected_total{{reason=\"{reason}\"}} {}",
                load(&self.rejected[i])
            );
        }
        let _ = writeln!(
            out,
            "# HELP vouch_ingest_duration_seconds Time to verify and durably store one snapshot.\n# TYPE vouch_ingest_duration_seconds histogram"
        );
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "vouch_ingest_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                load(&self.latency_buckets[i])
            );
        }
        let count = load(&self.latency_count);
        let _ = writeln!(
            out,
            "vouch_ingest_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "vouch_ingest_duration_seconds_sum {}",
            load(&self.latency_sum_micros) as f64 / 1e6
        );
        let _ = writeln!(out, "vouch_ingest_duration_seconds_count {count}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backlog_gauge_is_unknown_until_measured_then_holds_the_last_measure() {
        let m = Metrics::default();
        assert_eq!(m.objects_pending(), None);
        m.set_objects_pending(0);
        assert_eq!(m.objects_pending(), Some(0));
        m.set_objects_pending(42);
        assert_eq!(m.objects_pending(), Some(42));
    }

    #[test]
    fn renders_every_reason_and_cumulative_buckets() {
        let m = Metrics::default();
        m.accepted();
        m.rejected(RejectReason::BadSignature);
        m.observe_ingest(Duration::from_micros(800));
        let text = m.render();
        assert!(text.contains("vouch_snapshots_accepted_total 1"));
        assert!(text.contains("vouch_snapshots_rejected_total{reason=\"bad_signature\"} 1"));
        assert!(text.contains("vouch_snapshots_rejected_total{reason=\"chain_gap\"} 0"));
        assert!(text.contains("vouch_ingest_duration_seconds_bucket{le=\"0.0005\"} 0"));
        assert!(text.contains("vouch_ingest_duration_seconds_bucket{le=\"0.001\"} 1"));
        assert!(text.contains("vouch_ingest_duration_seconds_bucket{le=\"+Inf\"} 1"));
    }
}
