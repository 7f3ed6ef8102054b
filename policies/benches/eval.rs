//! Evaluating the whole built-in pack on one realistic host snapshot (the hardened-host fixture,
//! every fact present). Target: at most 5 ms per snapshot.
//!
//! `cargo bench -p vouch-policies --bench eval` (VOUCH_BENCH_ROUNDS sets the rounds, default 500).
//! Lines starting `bench-figure` are read by `bench` (vouch-tests).

use std::time::{Duration, Instant};

use vouch_evidence::{Asset, AssetKind};
use vouch_policies::{OrgConfig, PolicyPack, SnapshotView, Status};

mod common;

fn main() {
    let rounds: usize = std::env::var("VOUCH_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let (collected_at, evidence) = common::hardened_host();
    let asset = Asset {
        kind: AssetKind::Host,
        id: "4f1c0d9e8b7a6d5c4b3a2918f7e6d5c4".into(),
        name: "web-1".into(),
    };
    let view = SnapshotView {
        asset: &asset,
        collected_at,
        evidence: &evidence,
    };

    let started = Instant::now();
    let pack = PolicyPack::builtin();
    let load = started.elapsed();
    let policies = pack.policies().len();

    let results = pack.evaluate(&view);
    let host_policies = pack
        .policies()
        .iter()
        .filter(|p| p.asset_kinds.contains(&AssetKind::Host))
        .count();
    let passed = results.iter().filter(|r| r.status == Status::Pass).count();
    assert_eq!(
        passed, host_policies,
        "the fixture passes every host policy"
    );

    let times = timings(&pack, &view, rounds);
    let total: Duration = times.iter().sum();
    let pct = |p: usize| times[(times.len() - 1) * p / 100];
    println!(
        "pack: {policies} policies ({host_policies} for hosts), {} facts, digest {}",
        evidence.len(),
        &pack.digest()[..12]
    );
    println!("load + check the built-in pack: {:.1} ms", ms(load));
    println!(
        "evaluate one snapshot ({rounds} rounds): median {:.3} ms, p99 {:.3} ms, mean {:.3} ms, {:.1} µs per policy (target ≤ 5 ms)",
        ms(pct(50)),
        ms(pct(99)),
        ms(total / rounds as u32),
        pct(50).as_secs_f64() * 1e6 / policies as f64,
    );
    // For `bench` (vouch-tests), which runs this and collects these lines.
    println!("bench-figure pack_load {:.3} ms", ms(load));
    println!("bench-figure pack_one_host_snapshot {:.4} ms", ms(pct(50)));
    // Organisation settings replace the engine's data; evaluation must stay as fast.
    let mut configured = pack.clone();
    configured
        .set_config(OrgConfig {
            pii_tag_keys: vec!["data-class".into()],
            allowed_jurisdictions: vec!["eu".into()],
            ..OrgConfig::default()
        })
        .expect("a valid configuration");
    let times = timings(&configured, &view, rounds);
    println!(
        "with organisation settings: median {:.3} ms",
        ms(times[times.len() / 2])
    );
}

/// The sorted durations of `rounds` evaluations of `view`.
fn timings(pack: &PolicyPack, view: &SnapshotView<'_>, rounds: usize) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            let r = pack.evaluate(view);
            let took = t.elapsed();
            assert_eq!(r.len(), pack.policies().len());
            took
        })
        .collect();
    times.sort();
    times
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The allocator of the `vouch` binary, so the figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
