//! How fast `vouch verify` checks envelopes: writes N signed 20 KB snapshot envelopes (one chain)
//! to a temporary directory, then times the offline check at each depth on one thread and on every core.
//!
//! `cargo run --release -p vouch-server --example verify_rate [N]` (default 10000).

use std::collections::BTreeMap;
use std::time::Instant;

use vouch_evidence::{EvidenceItem, SigningKey, Source};
use vouch_server::verify::{Depth, Keyring, verify_files_at};

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let key = SigningKey::from_seed(&[42; 32]);
    let agent = "agt_0123456789abcdef";
    let dir = tempfile::tempdir().expect("temporary directory");
    let at = "2026-11-24T01:00:00Z".parse().expect("timestamp");
    let mut prev = None;
    let mut paths = Vec::new();
    let mut size = 0;
    for seq in 1..=n {
        let mut evidence = BTreeMap::new();
        for i in 0..100 {
            evidence.insert(
                format!("host.package.p{i:03}"),
                EvidenceItem::ok(
                    format!("{seq}-{i}-{}", "x".repeat(105)),
                    Source::Command("dpkg-query -W".into()),
                ),
            );
        }
        let s = vouch_evidence::testing::host_snapshot(agent, "m-1", at, seq, prev, evidence);
        let (env, d) = s.sign(&key).expect("sign");
        prev = Some(d);
        let bytes = env.to_vec();
        size = bytes.len();
        let path = dir.path().join(format!("{seq:06}.json"));
        std::fs::write(&path, bytes).expect("write");
        paths.push(path);
    }
    let mut ring = Keyring::default();
    ring.add(key.public().clone(), agent.into());
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    println!("{n} envelopes of {size} bytes");
    let depths = [
        (Depth::Signatures, "--signatures-only"),
        (Depth::Canonical, "default"),
        (Depth::Full, "--strict"),
    ];
    for (depth, flag) in depths {
        for threads in [1, cores] {
            let start = Instant::now();
            let report = verify_files_at(&paths, &ring, depth, threads);
            let took = start.elapsed().as_secs_f64();
            assert!(report.ok(), "{:?}", report.failure_lines());
            println!(
                "{flag:>17}, {threads} thread(s): {:.0} envelopes/s ({took:.2} s)",
                n as f64 / took
            );
            if depth == Depth::Signatures && threads == cores {
                // For `bench` (vouch-tests).
                println!(
                    "bench-figure verify_signatures_only {:.0} /s",
                    n as f64 / took
                );
            }
        }
    }
}
