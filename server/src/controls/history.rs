//! The history of control statuses: which status each control had from which instant on.
//!
//! The server records a row each time a control's rolled-up status changes (the watcher in
//! [`super::Policies::spawn`] compares every new control view with the last recorded status).
//! The overview's 90-day trend and "failing since …" are read from these rows; nothing is
//! recomputed per day.
//!
//! When a status began: for a status that rests on evidence (pass, fail, error, not
//! applicable) it is the collection instant of the earliest evidence in that status collected
//! after the previous status began — the snapshot that turned it, to within one judging round,
//! since the server judges snapshots as they arrive. For a status made by time or paperwork
//! (stale, manual, accepted, no evidence) it is the instant the server saw it.

use std::collections::{BTreeMap, HashMap};

use vouch_evidence::Timestamp;
use vouch_policies::{ControlState, ControlStatus};

use crate::store::ControlChange;

/// A control's recorded status and its start, by `(framework, control)`.
pub type Recorded = HashMap<(String, String), (ControlState, Timestamp)>;

/// The newest recorded status of every control in `history` (oldest first).
pub fn recorded(history: &[ControlChange]) -> Recorded {
    let mut out = Recorded::new();
    for ch in history {
        if let Some(state) = ControlState::parse(&ch.state) {
            out.insert(
                (ch.framework.clone(), ch.control.clone()),
                (state, ch.since),
            );
        }
    }
    out
}

/// The changes `controls` (a view at `seen`) make to `known`, which is updated to match.
pub fn changes(
    known: &mut Recorded,
    controls: &[ControlStatus],
    seen: Timestamp,
) -> Vec<ControlChange> {
    let mut out = Vec::new();
    for c in controls {
        let key = (c.control.framework.clone(), c.control.control.clone());
        let previous = known.get(&key).copied();
        if previous.is_some_and(|(state, _)| state == c.status) {
            continue;
        }
        let after = previous.map(|(_, since)| since);
        let since = began(c, after, seen);
        known.insert(key, (c.status, since));
        out.push(ControlChange {
            framework: c.control.framework.clone(),
            control: c.control.control.clone(),
            state: c.status.as_str().to_string(),
            since,
            recorded_at: seen,
        });
    }
    out
}

/// When `c`'s status began, the previous one having begun at `after`. See the module docs.
fn began(c: &ControlStatus, after: Option<Timestamp>, seen: Timestamp) -> Timestamp {
    let by_evidence = matches!(
        c.status,
        ControlState::Pass | ControlState::Fail | ControlState::Error | ControlState::NotApplicable
    );
    let evidence = c
        .outcomes
        .iter()
        .filter(|o| o.state == c.status)
        .map(|o| o.collected_at)
        .filter(|t| after.is_none_or(|a| *t > a) && *t <= seen)
        .min();
    match evidence {
        Some(t) if by_evidence => t,
        _ => match after {
            // Never before the previous status began (the key is unique per start).
            Some(a) if seen <= a => micros(a.unix_micros() + 1),
            _ => seen,
        },
    }
}

/// The status of one control at `at`, with its start, from `history` (oldest first): `None`
/// when nothing was recorded by then.
pub fn at(
    history: &[ControlChange],
    framework: &str,
    control: &str,
    at: Timestamp,
) -> Option<(ControlState, Timestamp)> {
    history
        .iter()
        .rfind(|h| h.framework == framework && h.control == control && h.since <= at)
        .and_then(|h| Some((ControlState::parse(&h.state)?, h.since)))
}

/// The number of controls in each status at the end of each of `days` days up to `end` (the
/// last point is `end` itself), from `history` of one framework (oldest first).
pub fn trend(history: &[ControlChange], end: Timestamp, days: u32) -> Vec<TrendPoint> {
    const DAY: i64 = 86_400_000_000;
    let end_us = end.unix_micros();
    let instants: Vec<i64> = (0..days as i64)
        .rev()
        .map(|back| end_us - back * DAY)
        .collect();
    let mut state: HashMap<&str, ControlState> = HashMap::new();
    let mut rows = history.iter().peekable();
    instants
        .into_iter()
        .map(|t| {
            while let Some(h) = rows.next_if(|h| h.since.unix_micros() <= t) {
                if let Some(s) = ControlState::parse(&h.state) {
                    state.insert(h.control.as_str(), s);
                }
            }
            let mut counts = BTreeMap::new();
            for s in state.values() {
                *counts.entry(*s).or_insert(0) += 1;
            }
            TrendPoint {
                at: micros(t),
                counts,
            }
        })
        .collect()
}

/// The instant `us` microseconds after the epoch (callers stay within the range of real
/// instants, derived from stored ones by whole days).
fn micros(us: i64) -> Timestamp {
    Timestamp::from_unix_micros(us).unwrap_or_else(crate::clock::now)
}

/// The controls of a framework by status at one instant.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TrendPoint {
    /// The instant.
    pub at: Timestamp,
    /// How many controls had each status then (controls with no recorded status yet are left
    /// out).
    pub counts: BTreeMap<ControlState, usize>,
}

#[cfg(test)]
mod tests {
    use vouch_evidence::{Asset, AssetKind};
    use vouch_policies::{ControlId, OutcomePolicy, PolicyOutcome, Severity, Status};

    use super::*;

    fn t(h: i64) -> Timestamp {
        micros(1_800_000_000_000_000 + h * 3_600_000_000)
    }

    fn control(status: ControlState, outcomes: &[(ControlState, i64)]) -> ControlStatus {
        ControlStatus {
            control: ControlId {
                framework: "iso27001-2022".into(),
                control: "A.8.24".into(),
            },
            title: "Use of cryptography".into(),
            status,
            coverage: None,
            rationale: None,
            manual_part: None,
            provisional: false,
            missing: None,
            attested: None,
            outcomes: outcomes
                .iter()
                .enumerate()
                .map(|(i, (state, h))| PolicyOutcome {
                    policy: OutcomePolicy {
                        id: "host.disk.encrypted".into(),
                        title: "Disks are encrypted".into(),
                        severity: Severity::High,
                        remediation: String::new(),
                    }
                    .into(),
                    asset: Asset {
                        kind: AssetKind::Host,
                        id: format!("m{i}"),
                        name: format!("web-{i}"),
                    }
                    .into(),
                    status: Status::Pass,
                    state: *state,
                    reason: "".into(),
                    evidence: [].into(),
                    collected_at: t(*h),
                })
                .collect(),
        }
    }

    /// A control that turns from pass to fail began failing when the snapshot that failed
    /// was collected, not when the server happened to look; an unchanged status adds nothing.
    #[test]
    fn a_change_starts_at_the_evidence_that_made_it() {
        let mut known = Recorded::new();
        let first = changes(
            &mut known,
            &[control(
                ControlState::Pass,
                &[(ControlState::Pass, 1), (ControlState::Pass, 2)],
            )],
            t(3),
        );
        assert_eq!(first.len(), 1);
        assert_eq!((first[0].state.as_str(), first[0].since), ("pass", t(1)));
        let same = changes(
            &mut known,
            &[control(
                ControlState::Pass,
                &[(ControlState::Pass, 4), (ControlState::Pass, 5)],
            )],
            t(6),
        );
        assert!(same.is_empty(), "{same:?}");
        let failing = changes(
            &mut known,
            &[control(
                ControlState::Fail,
                &[(ControlState::Fail, 7), (ControlState::Pass, 8)],
            )],
            t(9),
        );
        assert_eq!(
            (failing[0].state.as_str(), failing[0].since),
            ("fail", t(7))
        );
        // Staleness is made by time: it begins when seen.
        let stale = changes(
            &mut known,
            &[control(ControlState::Stale, &[(ControlState::Stale, 7)])],
            t(40),
        );
        assert_eq!((stale[0].state.as_str(), stale[0].since), ("stale", t(40)));
        assert_eq!(
            known[&("iso27001-2022".into(), "A.8.24".into())],
            (ControlState::Stale, t(40))
        );
    }

    /// The trend counts each control in the status it had at the end of each day, and a
    /// control's status at an instant comes with its start.
    #[test]
    fn trend_and_status_at_an_instant_follow_the_rows() {
        let row = |control: &str, state: &str, h: i64| ControlChange {
            framework: "iso27001-2022".into(),
            control: control.into(),
            state: state.into(),
            since: t(h),
            recorded_at: t(h),
        };
        let history = vec![
            row("A.8.24", "pass", 0),
            row("A.5.15", "pass", 1),
            row("A.8.24", "fail", 30),
            row("A.8.24", "pass", 60),
        ];
        let points = trend(&history, t(72), 4);
        let counts: Vec<(usize, usize)> = points
            .iter()
            .map(|p| {
                (
                    p.counts.get(&ControlState::Pass).copied().unwrap_or(0),
                    p.counts.get(&ControlState::Fail).copied().unwrap_or(0),
                )
            })
            .collect();
        // At t(0): one pass; t(24): two pass; t(48): one pass, one fail; t(72): two pass.
        assert_eq!(counts, vec![(1, 0), (2, 0), (1, 1), (2, 0)]);
        assert_eq!(
            at(&history, "iso27001-2022", "A.8.24", t(45)),
            Some((ControlState::Fail, t(30)))
        );
        assert_eq!(at(&history, "iso27001-2022", "A.5.15", t(0)), None);
    }
}
