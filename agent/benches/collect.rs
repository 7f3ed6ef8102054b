//! What a full host collection costs on this machine, and how that compares with `lynis audit
//! system` (Debian package `lynis`) run on the same machine.
//!
//! In process: one cold collection (first in the process: nothing cached, e.g. the apt lists
//! are parsed) then warm ones, each with its wall time, CPU time (user + system, all threads)
//! and the process's peak RSS. As a command: `vouch-agent collect --format json` started
//! afresh each time (so always cold), with wall, CPU and peak RSS of the child; then the same
//! with the agent's state directory present, where the first process keeps the apt lists'
//! offers (`<state_dir>/cache`) and the next ones take them. Then lynis once, when installed,
//! and the ratio of wall times.
//!
//! `cargo bench -p vouch-agent --bench collect` (set `VOUCH_BENCH_LYNIS=0` to skip lynis).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::resource::{Usage, UsageWho, getrusage};
use tokio_util::sync::CancellationToken;
use vouch_collectors::Source;
use vouch_collectors::host::{HostConfig, HostSource};

fn cpu(u: &Usage) -> Duration {
    let t = |tv: nix::sys::time::TimeVal| {
        Duration::from_secs(tv.tv_sec() as u64) + Duration::from_micros(tv.tv_usec() as u64)
    };
    t(u.user_time()) + t(u.system_time())
}

fn usage(who: UsageWho) -> Usage {
    getrusage(who).expect("getrusage")
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let source = HostSource::new(HostConfig::default());
    println!("host collection of this machine (root /), release build");
    let mut items = 0;
    for round in 0..6 {
        let before = usage(UsageWho::RUSAGE_SELF);
        let start = Instant::now();
        let c = rt.block_on(vouch_collectors::run_source(
            &source,
            &source.context(CancellationToken::new()),
        ));
        let wall = start.elapsed();
        let used = cpu(&usage(UsageWho::RUSAGE_SELF)) - cpu(&before);
        items = c.evidence.len();
        let failed: Vec<&str> = c
            .collectors
            .iter()
            .filter(|r| r.outcome != vouch_evidence::RunOutcome::Ok)
            .map(|r| r.name.as_str())
            .collect();
        println!(
            "  in process, {:<5} wall {:>7.1} ms  cpu {:>7.1} ms  peak rss {:>5.1} MB  ({} items{})",
            if round == 0 { "cold" } else { "warm" },
            ms(wall),
            ms(used),
            peak_rss_mb(),
            items,
            if failed.is_empty() {
                String::new()
            } else {
                format!(", failed: {}", failed.join(" "))
            }
        );
        if round == 0 {
            // For `bench` (vouch-tests).
            println!("bench-figure host_collection_cold_wall {:.2} ms", ms(wall));
            println!("bench-figure host_collection_cold_cpu {:.2} ms", ms(used));
        }
    }

    let dir = tempfile::tempdir().expect("temporary directory");
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nurl = \"https://127.0.0.1:9\"\n[agent]\nstate_dir = \"{}\"\n",
            dir.path().join("state").display()
        ),
    )
    .expect("config");
    // Five fresh processes, each line labelled `what`; their wall times.
    let fresh = |what: &str| -> Vec<Duration> {
        let mut walls = Vec::new();
        for _ in 0..5 {
            let before = usage(UsageWho::RUSAGE_CHILDREN);
            let start = Instant::now();
            let out = Command::new(env!("CARGO_BIN_EXE_vouch-agent"))
                .args(["--config", config.to_str().expect("utf-8 path")])
                .args(["collect", "--format", "json"])
                .stderr(Stdio::null())
                .output()
                .expect("vouch-agent collect");
            let wall = start.elapsed();
            assert!(out.status.success(), "vouch-agent collect failed");
            let after = usage(UsageWho::RUSAGE_CHILDREN);
            walls.push(wall);
            println!(
                "  vouch-agent collect --format json{what}: wall {:>7.1} ms  cpu {:>7.1} ms  peak rss {:>5.1} MB",
                ms(wall),
                ms(cpu(&after) - cpu(&before)),
                after.max_rss() as f64 / 1024.0
            );
        }
        walls
    };
    let mut walls = fresh("");
    // With the agent's state directory (which `vouch-agent run` creates): the apt lists' offers
    // kept by the first process in `<state_dir>/cache`, as after a restart of the agent while
    // the lists are unchanged.
    let cache = dir.path().join("state/cache");
    std::fs::create_dir_all(&cache).expect("state directory");
    let _ = fresh(", offers kept");
    assert!(
        cache.join("apt-offers.json").exists(),
        "the offers were not kept in {}",
        cache.display()
    );
    walls.sort();
    let median = walls[walls.len() / 2];

    let lynis = Path::new("/usr/sbin/lynis");
    if std::env::var("VOUCH_BENCH_LYNIS").as_deref() == Ok("0") || !lynis.exists() {
        println!("  lynis: skipped (not installed, or VOUCH_BENCH_LYNIS=0)");
        return;
    }
    let before = usage(UsageWho::RUSAGE_CHILDREN);
    let start = Instant::now();
    let status = Command::new(lynis)
        .args(["audit", "system", "--quick", "--no-colors", "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("lynis");
    let wall = start.elapsed();
    let used = cpu(&usage(UsageWho::RUSAGE_CHILDREN)) - cpu(&before);
    println!(
        "  lynis audit system --quick: wall {:>9.1} ms  cpu {:>9.1} ms  (exit {status})",
        ms(wall),
        ms(used)
    );
    println!(
        "  ratio of wall times, lynis / vouch-agent collect (median): {:.0}x  ({items} evidence items)",
        wall.as_secs_f64() / median.as_secs_f64()
    );
}
