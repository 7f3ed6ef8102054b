//! Internal events: every collector failure and every unavailable item is logged and counted
//! the same way, here (as Vector's `internal_events`).

use std::sync::atomic::{AtomicU64, Ordering};

static COLLECTOR_FAILURES: AtomicU64 = AtomicU64::new(0);
static ITEMS_UNAVAILABLE: AtomicU64 = AtomicU64::new(0);

/// A collector failed, panicked or overran its budget.
pub fn collector_failed(collector: &str, message: &str) {
    COLLECTOR_FAILURES.fetch_add(1, Ordering::Relaxed);
    tracing::error!(collector, message, "collector failed");
}

/// A fact could not be read.
pub fn item_unavailable(collector: &str, evidence_id: &str, reason: &str) {
    ITEMS_UNAVAILABLE.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(collector, evidence_id, reason, "evidence unavailable");
}

/// Counts since start: (collector failures, unavailable items).
pub fn counts() -> (u64, u64) {
    (
        COLLECTOR_FAILURES.load(Ordering::Relaxed),
        ITEMS_UNAVAILABLE.load(Ordering::Relaxed),
    )
}
