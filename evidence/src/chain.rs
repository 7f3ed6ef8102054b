//! Hash chains: every snapshot names the digest of the previous snapshot of its chain
//! (same agent, same asset), and sequence numbers count up from 1 without gaps.
//!
//! [`check_link`] is the rule the server applies on ingest; [`audit`] is what an auditor runs
//! over any set of snapshots: it names every gap, fork and broken link it finds.

use std::collections::BTreeMap;
use std::fmt;

use crate::{ChainKey, ChainLink, Digest, Snapshot};

/// The head of a chain as a verifier knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// Sequence number of the newest snapshot.
    pub sequence: u64,
    /// Its digest.
    pub digest: Digest,
}

/// Why a snapshot does not extend a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The sequence number skips ahead of the head.
    #[error("sequence {found} does not follow {head} (expected {})", head + 1)]
    Gap {
        /// The head's sequence (0 for an empty chain).
        head: u64,
        /// The sequence received.
        found: u64,
    },
    /// The sequence number is at or behind the head (a replay or a fork).
    #[error("sequence {found} is not after the chain head {head}")]
    Stale {
        /// The head's sequence.
        head: u64,
        /// The sequence received.
        found: u64,
    },
    /// The right sequence number, but the previous digest is not the head's digest.
    #[error("previous_digest {found} does not match the chain head {expected}")]
    BrokenLink {
        /// The head's digest.
        expected: String,
        /// What the snapshot names.
        found: String,
    },
    /// The snapshot claims to be collected before the chain's previous snapshot: a chain never
    /// goes back in time.
    #[error(
        "collected_at {found} is earlier than the previous snapshot's {head}: a chain never goes back in time"
    )]
    BackInTime {
        /// When the head was collected.
        head: crate::Timestamp,
        /// When this one claims to be collected.
        found: crate::Timestamp,
    },
}

/// Checks that a snapshot collected at `collected_at` is not earlier than its chain's head,
/// collected at `head_collected_at` (`None`: an empty chain).
pub fn check_time(
    head_collected_at: Option<crate::Timestamp>,
    collected_at: crate::Timestamp,
) -> Result<(), LinkError> {
    match head_collected_at {
        Some(head) if collected_at < head => Err(LinkError::BackInTime {
            head,
            found: collected_at,
        }),
        _ => Ok(()),
    }
}

/// Checks that `next` extends the chain whose head is `head` (`None`: an empty chain).
pub fn check_link(head: Option<Head>, next: &Snapshot) -> Result<(), LinkError> {
    check_link_parts(head, next.sequence, next.previous_digest)
}

/// [`check_link`] on the two fields that matter: the sequence and the previous digest named.
pub fn check_link_parts(
    head: Option<Head>,
    sequence: u64,
    previous_digest: Option<Digest>,
) -> Result<(), LinkError> {
    let head_seq = head.map_or(0, |h| h.sequence);
    if sequence <= head_seq {
        return Err(LinkError::Stale {
            head: head_seq,
            found: sequence,
        });
    }
    if sequence != head_seq + 1 {
        return Err(LinkError::Gap {
            head: head_seq,
            found: sequence,
        });
    }
    let expected = head.map(|h| h.digest);
    if previous_digest != expected {
        let show = |d: Option<Digest>| d.map_or("null".to_string(), |d| d.to_hex());
        return Err(LinkError::BrokenLink {
            expected: show(expected),
            found: show(previous_digest),
        });
    }
    Ok(())
}

/// A problem [`audit`] found in a set of snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Sequences `from..=to` are missing.
    Gap {
        /// The chain.
        chain: ChainKey,
        /// First missing sequence.
        from: u64,
        /// Last missing sequence.
        to: u64,
    },
    /// Two different snapshots claim the same sequence.
    Fork {
        /// The chain.
        chain: ChainKey,
        /// The contested sequence.
        sequence: u64,
    },
    /// A snapshot's previous digest is not the digest of its predecessor.
    BrokenLink {
        /// The chain.
        chain: ChainKey,
        /// The snapshot whose link is wrong.
        sequence: u64,
    },
    /// The earliest snapshot present is not sequence 1 (its predecessors are not in the set).
    StartsLate {
        /// The chain.
        chain: ChainKey,
        /// The first sequence present.
        first: u64,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Gap { chain, from, to } if from == to => {
                write!(f, "chain {chain}: gap, sequence {from} is missing")
            }
            Problem::Gap { chain, from, to } => {
                write!(f, "chain {chain}: gap, sequences {from}..={to} are missing")
            }
            Problem::Fork { chain, sequence } => {
                write!(
                    f,
                    "chain {chain}: fork, two different snapshots have sequence {sequence}"
                )
            }
            Problem::BrokenLink { chain, sequence } => write!(
                f,
                "chain {chain}: sequence {sequence} does not name the digest of sequence {}",
                sequence - 1
            ),
            Problem::StartsLate { chain, first } => {
                write!(f, "chain {chain}: starts at sequence {first}, not 1")
            }
        }
    }
}

/// A summary of one chain found by [`audit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSummary {
    /// The chain.
    pub chain: ChainKey,
    /// Lowest sequence present.
    pub first: u64,
    /// Highest sequence present.
    pub last: u64,
    /// Distinct snapshots present.
    pub count: usize,
}

/// What [`audit`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Every chain present, in key order.
    pub chains: Vec<ChainSummary>,
    /// Every problem found, in chain and sequence order.
    pub problems: Vec<Problem>,
}

impl Report {
    /// Problems other than [`Problem::StartsLate`], which a sample legitimately has.
    pub fn integrity_problems(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| !matches!(p, Problem::StartsLate { .. }))
    }
}

/// The snapshots seen at one position of a chain: (digest, previous digest it names).
type Versions = Vec<(Digest, Option<Digest>)>;

/// Checks every chain in a set of `(digest, link)` pairs: sequences without gaps, each
/// link naming its predecessor's digest, no two snapshots at one position. The same snapshot
/// given twice counts once.
pub fn audit(items: impl IntoIterator<Item = (Digest, ChainLink)>) -> Report {
    let mut chains: BTreeMap<ChainKey, BTreeMap<u64, Versions>> = BTreeMap::new();
    for (digest, link) in items {
        let slot = chains
            .entry(link.chain)
            .or_default()
            .entry(link.sequence)
            .or_default();
        if !slot.iter().any(|(d, _)| *d == digest) {
            slot.push((digest, link.previous_digest));
        }
    }
    let mut report = Report::default();
    for (chain, by_seq) in chains {
        let first = *by_seq.keys().next().expect("a chain has a snapshot");
        let last = *by_seq.keys().next_back().expect("a chain has a snapshot");
        if first != 1 {
            report.problems.push(Problem::StartsLate {
                chain: chain.clone(),
                first,
            });
        }
        let mut previous: Option<(u64, &Versions)> = None;
        for (&seq, versions) in &by_seq {
            if versions.len() > 1 {
                report.problems.push(Problem::Fork {
                    chain: chain.clone(),
                    sequence: seq,
                });
            }
            if let Some((prev_seq, prev_versions)) = previous {
                if seq != prev_seq + 1 {
                    report.problems.push(Problem::Gap {
                        chain: chain.clone(),
                        from: prev_seq + 1,
                        to: seq - 1,
                    });
                } else {
                    let linked = versions
                        .iter()
                        .all(|(_, named)| prev_versions.iter().any(|(d, _)| Some(*d) == *named));
                    if !linked {
                        report.problems.push(Problem::BrokenLink {
                            chain: chain.clone(),
                            sequence: seq,
                        });
                    }
                }
            }
            previous = Some((seq, versions));
        }
        let count = by_seq.values().map(Vec::len).sum();
        report.chains.push(ChainSummary {
            chain,
            first,
            last,
            count,
        });
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::tests::sample;

    fn chain(n: u64) -> Vec<(Digest, Snapshot)> {
        let mut out: Vec<(Digest, Snapshot)> = Vec::new();
        for seq in 1..=n {
            let prev = out.last().map(|(d, _)| *d);
            let s = sample(seq, prev);
            out.push((s.digest().unwrap(), s));
        }
        out
    }

    #[test]
    fn link_rules() {
        let c = chain(3);
        assert_eq!(check_link(None, &c[0].1), Ok(()));
        let head = Head {
            sequence: 1,
            digest: c[0].0,
        };
        assert_eq!(check_link(Some(head), &c[1].1), Ok(()));
        assert_eq!(
            check_link(Some(head), &c[2].1),
            Err(LinkError::Gap { head: 1, found: 3 })
        );
        assert_eq!(
            check_link(Some(head), &c[0].1),
            Err(LinkError::Stale { head: 1, found: 1 })
        );
        let wrong = Head {
            sequence: 1,
            digest: Digest::of(b"other"),
        };
        assert!(matches!(
            check_link(Some(wrong), &c[1].1),
            Err(LinkError::BrokenLink { .. })
        ));
    }

    #[test]
    fn audit_of_an_intact_chain_is_clean() {
        let c = chain(5);
        let r = audit(c.iter().map(|(d, s)| (*d, s.link())));
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(r.chains.len(), 1);
        assert_eq!(
            (r.chains[0].first, r.chains[0].last, r.chains[0].count),
            (1, 5, 5)
        );
    }

    #[test]
    fn audit_names_a_deleted_snapshot() {
        let mut c = chain(6);
        c.remove(2); // sequence 3
        let r = audit(c.iter().map(|(d, s)| (*d, s.link())));
        assert_eq!(r.problems.len(), 1);
        let text = r.problems[0].to_string();
        assert!(text.contains("gap, sequence 3 is missing"), "{text}");
    }

    #[test]
    fn audit_finds_forks_and_broken_links() {
        let mut c = chain(3);
        let mut forged = c[1].1.clone();
        forged.collected_at = "2026-01-01T00:00:00Z".parse().unwrap();
        c.push((forged.digest().unwrap(), forged));
        let r = audit(c.iter().map(|(d, s)| (*d, s.link())));
        assert_eq!(
            r.problems,
            vec![Problem::Fork {
                chain: c[0].1.chain_key(),
                sequence: 2
            }]
        );

        // Sequence 3 re-signed naming a digest that is not sequence 2's.
        let mut c = chain(3);
        c[2].1.previous_digest = Some(Digest::of(b"not sequence 2"));
        c[2].0 = c[2].1.digest().unwrap();
        let r = audit(c.iter().map(|(d, s)| (*d, s.link())));
        assert_eq!(
            r.problems,
            vec![Problem::BrokenLink {
                chain: c[0].1.chain_key(),
                sequence: 3
            }]
        );
        assert!(
            r.problems[0]
                .to_string()
                .contains("does not name the digest of sequence 2")
        );
    }

    #[test]
    fn a_sample_that_starts_late_is_not_an_integrity_problem() {
        let c = chain(4);
        let r = audit(c[2..].iter().map(|(d, s)| (*d, s.link())));
        assert_eq!(
            r.problems,
            vec![Problem::StartsLate {
                chain: c[0].1.chain_key(),
                first: 3
            }]
        );
        assert_eq!(r.integrity_problems().count(), 0);
    }
}
