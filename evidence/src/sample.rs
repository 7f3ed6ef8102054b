//! Reproducible audit sampling: the same population, seed and size always give the same sample,
//! and anyone can re-derive it from the population list with nothing but SHA-256.
//!
//! The algorithm (`vouch-sample-v1`):
//!
//! 1. The population is a set of snapshot digests (lowercase hex SHA-256 of the canonical
//!    payloads). Its fingerprint is SHA-256 of the digests sorted ascending, each followed by
//!    a line feed (`"<d1>\n<d2>\n…"`), so two parties can confirm they hold the same list.
//! 2. Each member `d` gets the rank `SHA-256("vouch-sample-v1\n" + seed + "\n" + d)`, the
//!    seed being the auditor's text as UTF-8.
//! 3. Members are ordered by rank (lowercase hex, ascending; equal ranks, which SHA-256 makes
//!    practically impossible, by digest); the sample is the first `size` of them, in that order.
//!
//! Every member is equally likely to be drawn and the draw does not depend on the order in
//! which the server lists the population, so an auditor can check a sample with a few lines of
//! any language: `sha256(("vouch-sample-v1\n" + seed + "\n" + d).encode())` for each `d`.

use std::collections::BTreeSet;

use crate::Digest;

/// The algorithm's name, recorded beside every sample.
pub const SAMPLE_ALGORITHM: &str = "vouch-sample-v1";

/// The rank of population member `digest` under `seed`.
pub fn rank(seed: &str, digest: &Digest) -> Digest {
    let mut input = Vec::with_capacity(SAMPLE_ALGORITHM.len() + seed.len() + 66);
    input.extend_from_slice(SAMPLE_ALGORITHM.as_bytes());
    input.push(b'\n');
    input.extend_from_slice(seed.as_bytes());
    input.push(b'\n');
    input.extend_from_slice(digest.to_hex().as_bytes());
    Digest::of(&input)
}

/// The sample of at most `size` members of `population` drawn with `seed`, in draw order.
/// Duplicates in `population` count once.
pub fn draw(population: &[Digest], seed: &str, size: usize) -> Vec<Digest> {
    let unique: BTreeSet<Digest> = population.iter().copied().collect();
    let mut ranked: Vec<(Digest, Digest)> =
        unique.into_iter().map(|d| (rank(seed, &d), d)).collect();
    ranked.sort_unstable();
    ranked.into_iter().take(size).map(|(_, d)| d).collect()
}

/// The population's fingerprint: SHA-256 of its sorted, distinct digests, one per line.
pub fn population_fingerprint(population: &[Digest]) -> Digest {
    let unique: BTreeSet<Digest> = population.iter().copied().collect();
    let mut text = String::with_capacity(unique.len() * 65);
    for d in unique {
        text.push_str(&d.to_hex());
        text.push('\n');
    }
    Digest::of(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn population(n: u32) -> Vec<Digest> {
        (0..n)
            .map(|i| Digest::of(format!("snapshot {i}").as_bytes()))
            .collect()
    }

    /// Known answers computed independently with Python's hashlib (the snippet in the module
    /// documentation): rank, a 3-of-10 draw and the fingerprint.
    #[test]
    fn matches_an_independent_implementation() {
        let d = Digest::of(b"snapshot 0");
        assert_eq!(
            d.to_hex(),
            "8c2ab87f0ac05967bfcd9de94996b61d28cfe4fdb44791d03f5059fd286fb5a2"
        );
        assert_eq!(
            rank("audit-2026", &d).to_hex(),
            "01e2a8ced0e5f3100a77cab5b13885a9d4bb3799e33d4b4e4e23b9120670ed6f"
        );
        let drawn: Vec<String> = draw(&population(10), "audit-2026", 3)
            .iter()
            .map(Digest::to_hex)
            .collect();
        assert_eq!(
            drawn,
            [
                "8c2ab87f0ac05967bfcd9de94996b61d28cfe4fdb44791d03f5059fd286fb5a2",
                "9dead8c893de151905b9edef651692b4b8734b4d44e879aedf8a9dc50c179f97",
                "f2d9d8796f204d4f33382671aab647f0c929a83be1ec83f91d755aa7eda6957a",
            ]
        );
        assert_eq!(
            population_fingerprint(&population(10)).to_hex(),
            "bc003c5701d09a6af803006793d682ea267f9f52041eb1f12613674d403192d7"
        );
    }

    #[test]
    fn same_inputs_same_sample_whatever_the_listing_order() {
        let p = population(500);
        let a = draw(&p, "seed-1", 25);
        let mut shuffled = p.clone();
        shuffled.reverse();
        shuffled.extend_from_slice(&p[..10]); // duplicates count once
        assert_eq!(draw(&shuffled, "seed-1", 25), a);
        assert_eq!(a.len(), 25);
        assert_ne!(draw(&p, "seed-2", 25), a);
        // A larger sample extends the smaller one: the order is the rank order.
        assert_eq!(&draw(&p, "seed-1", 40)[..25], &a[..]);
        assert_eq!(draw(&p[..3], "seed-1", 25).len(), 3);
        assert!(draw(&[], "seed-1", 25).is_empty());
    }

    #[test]
    fn fingerprint_ignores_order_and_duplicates_but_not_membership() {
        let p = population(50);
        let mut q = p.clone();
        q.reverse();
        q.push(p[0]);
        assert_eq!(population_fingerprint(&p), population_fingerprint(&q));
        assert_ne!(population_fingerprint(&p), population_fingerprint(&p[1..]));
    }

    /// Over many seeds every member is drawn about equally often (no position bias).
    #[test]
    fn draws_are_spread_evenly() {
        let p = population(20);
        let mut hits = std::collections::HashMap::new();
        for s in 0..2000 {
            for d in draw(&p, &format!("s{s}"), 5) {
                *hits.entry(d).or_insert(0u32) += 1;
            }
        }
        // Expected 500 each; a fair draw stays well inside ±30 %.
        assert_eq!(hits.len(), 20);
        assert!(hits.values().all(|&h| (350..=650).contains(&h)), "{hits:?}");
    }
}
