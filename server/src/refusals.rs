//! Refusals of clients that proved nothing (no verified signature): counted, never kept one by
//! one, never a disk write of their own.
//!
//! A refusal of an enrolled agent's signed snapshot (a chain gap, a clock skew) is kept as a
//! row, capped at [`crate::store::MAX_REJECTIONS_KEPT`]. Anything refused before a signature
//! verified — garbage, unknown keys, forged signatures, floods — is only counted here per
//! minute and reason, in a bounded map, and the counts are written to the store in one write
//! every [`FLUSH_SECS`]; the last [`RECENT`] of them are held in memory, their client-supplied
//! text truncated, for the dashboard.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use vouch_evidence::Timestamp;

use crate::store::{Rejection, RejectionCount};

/// How often the counts are written.
pub const FLUSH_SECS: u64 = 10;
/// How many unauthenticated refusals are held for the dashboard.
pub const RECENT: usize = 20;
/// Most (minute, reason) counts held between writes; beyond, the oldest minutes are dropped
/// (and counted as dropped) — only when writing has failed for hours.
const MAX_PENDING: usize = 10_000;

/// See the module documentation.
#[derive(Default)]
pub struct Refusals {
    pending: Mutex<BTreeMap<(i64, &'static str), u64>>,
    recent: Mutex<VecDeque<Rejection>>,
    dropped: std::sync::atomic::AtomicU64,
}

impl Refusals {
    /// Counts `rejection` (its reason is one of the stable codes) and holds it as recent.
    pub fn count(&self, reason: &'static str, rejection: Rejection) {
        let minute = rejection.at.unix_micros().div_euclid(60_000_000) * 60_000_000;
        {
            let mut pending = self.pending.lock().expect("refusals lock");
            *pending.entry((minute, reason)).or_default() += 1;
            while pending.len() > MAX_PENDING {
                if let Some((_, n)) = pending.pop_first() {
                    self.dropped
                        .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
        let mut recent = self.recent.lock().expect("refusals lock");
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back(rejection);
    }

    /// The counts not yet written, taken out.
    pub fn take(&self) -> Vec<RejectionCount> {
        let pending = std::mem::take(&mut *self.pending.lock().expect("refusals lock"));
        counts(&pending)
    }

    /// Puts counts back after a failed write (they are added to what arrived meanwhile).
    pub fn put_back(&self, counts: Vec<RejectionCount>) {
        let mut pending = self.pending.lock().expect("refusals lock");
        for c in counts {
            let reason = vouch_evidence::api::RejectReason::ALL
                .iter()
                .map(|r| r.as_str())
                .find(|r| *r == c.reason)
                .unwrap_or("unknown");
            *pending.entry((c.minute.unix_micros(), reason)).or_default() += c.count;
        }
    }

    /// The counts not yet written (for tests and the dashboard).
    pub fn pending(&self) -> Vec<RejectionCount> {
        counts(&self.pending.lock().expect("refusals lock"))
    }

    /// The most recent unauthenticated refusals, newest first.
    pub fn recent(&self) -> Vec<Rejection> {
        let recent = self.recent.lock().expect("refusals lock");
        recent.iter().rev().cloned().collect()
    }

    /// Counts dropped because writing failed for long.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The counts of a pending map, in minute and reason order.
fn counts(pending: &BTreeMap<(i64, &'static str), u64>) -> Vec<RejectionCount> {
    pending
        .iter()
        .filter_map(|((minute, reason), count)| {
            Some(RejectionCount {
                minute: Timestamp::from_unix_micros(*minute)?,
                reason: reason.to_string(),
                count: *count,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejection(at: i64) -> Rejection {
        Rejection {
            at: Timestamp::from_unix_micros(at).unwrap(),
            remote: "127.0.0.1:1".into(),
            reason: "malformed".into(),
            message: "m".into(),
            agent_id: None,
            body_sha256: vouch_evidence::Digest::of(b""),
            body_size: 0,
        }
    }

    #[test]
    fn counts_are_per_minute_and_reason_and_the_recent_list_is_bounded() {
        let r = Refusals::default();
        for i in 0..100 {
            r.count("malformed", rejection(i * 1_000_000));
        }
        r.count("unknown_key", rejection(0));
        let counts = r.take();
        assert_eq!(counts.len(), 3, "{counts:?}");
        assert_eq!(
            counts.iter().map(|c| c.count).sum::<u64>(),
            101,
            "{counts:?}"
        );
        assert_eq!(r.recent().len(), RECENT);
        assert!(r.take().is_empty());
        r.put_back(counts);
        assert_eq!(r.pending().iter().map(|c| c.count).sum::<u64>(), 101);
    }
}
