//! Rolling a fleet's results up to controls, as the server's view of now does from scratch:
//! the built-in pack's results on the hardened-host fixture, for `VOUCH_BENCH_ASSETS` hosts
//! (default 10,000; one in ten fails a seventh of its policies), tallied one result at a time.
//! It prints the time (median and spread of `VOUCH_BENCH_ROUNDS`, default 5) and the resident
//! memory the finished view holds, and its peak while it is made (the first round's).
//!
//! `cargo bench -p vouch-policies --bench rollup`. Lines starting `bench-figure` are read by
//! `bench` (vouch-tests).

use std::time::Instant;

use vouch_evidence::{Asset, AssetKind};
use vouch_policies::{
    Attested, Catalogs, ControlStatus, PolicyPack, ResultRef, RollUp, SnapshotView, Status,
};

mod common;

fn main() {
    let assets: usize = env("VOUCH_BENCH_ASSETS", 10_000);
    let rounds: usize = env("VOUCH_BENCH_ROUNDS", 5);
    let (collected_at, evidence) = common::hardened_host();
    let first = Asset {
        kind: AssetKind::Host,
        id: "host-00000".into(),
        name: "web-0".into(),
    };
    let pack = PolicyPack::builtin();
    let catalogs = Catalogs::builtin();
    let results = pack.evaluate(&SnapshotView {
        asset: &first,
        collected_at,
        evidence: &evidence,
    });
    let fleet: Vec<Asset> = (0..assets)
        .map(|i| Asset {
            kind: AssetKind::Host,
            id: format!("host-{i:05}"),
            name: format!("web-{i}"),
        })
        .collect();
    let failing = "a setting the policy needs is off".to_string();
    let rollup = RollUp {
        catalogs: &catalogs,
        roles: &pack.config().roles,
        at: Some(collected_at),
        coverage: None,
        every_control: true,
        accepted: &|_| None,
        attested: &|_| Attested::Missing,
    };
    let policies: Vec<_> = results
        .iter()
        .map(|r| pack.policy(&r.policy).expect("the pack's policy"))
        .collect();
    let view = || -> Vec<ControlStatus> {
        let mut tally = rollup.tally();
        for (i, asset) in fleet.iter().enumerate() {
            for (j, (r, policy)) in results.iter().zip(&policies).enumerate() {
                let fails = i % 10 == 0 && j % 7 == 0 && r.status == Status::Pass;
                tally.add(
                    policy,
                    ResultRef {
                        policy: &r.policy,
                        asset,
                        status: if fails { Status::Fail } else { r.status },
                        reason: if fails { &failing } else { &r.reason },
                        evidence: &r.evidence,
                        collected_at: r.collected_at,
                        fresh_until: r.fresh_until,
                    },
                );
            }
        }
        tally.finish()
    };

    // The memory figures are the first round's: the process's resident memory grown by the
    // view it holds, and by its peak while it was made (the allocator keeps what is freed,
    // so later rounds reuse it).
    let (before, peak_before) = (status_mb("VmRSS:"), status_mb("VmHWM:"));
    let mut times = Vec::new();
    let (mut held, mut peak, mut outcomes) = (0.0, 0.0, 0);
    for round in 0..rounds {
        let t = Instant::now();
        let controls = view();
        times.push(t.elapsed().as_secs_f64() * 1e3);
        if round == 0 {
            // As the server's bench measures it: a while after, once the allocator has
            // returned what was freed while the view was made.
            std::thread::sleep(std::time::Duration::from_secs(1));
            held = status_mb("VmRSS:") - before;
            peak = status_mb("VmHWM:") - peak_before.max(before);
        }
        outcomes = controls.iter().map(|c| c.outcomes.len()).sum();
        let t = Instant::now();
        drop(controls);
        let freed = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "round: {:.1} ms, freed in {freed:.1} ms",
            times[times.len() - 1]
        );
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{assets} hosts × {} results: {outcomes} outcomes under controls; tally + finish median {:.1} ms ({:.1}–{:.1}); the view holds {:.1} MB, peak {:.1} MB while made",
        results.len(),
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        held,
        peak,
    );
    println!("bench-figure rollup_fleet {:.1} ms", times[times.len() / 2]);
    println!("bench-figure rollup_fleet_held {held:.1} MB");
    println!("bench-figure rollup_fleet_peak {peak:.1} MB");
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A line of `/proc/self/status` in MB (`VmRSS:`, `VmHWM:`).
fn status_mb(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .expect("/proc/self/status")
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .expect("a figure in kB")
        / 1e3
}

/// The allocator of the `vouch` binary, so the figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
