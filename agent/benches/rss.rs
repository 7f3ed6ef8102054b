//! Agent memory: runs the real `vouch-agent run` daemon on this host (collecting every 5 s,
//! delivering to a server that is not there, so snapshots stay spooled) and prints its resident
//! memory while idle between collections and its peak. `cargo bench -p vouch-agent --bench rss`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vouch_agent::state::{Enrollment, StateDir};
use vouch_evidence::SigningKey;

fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|r| r.trim().trim_end_matches("kB").trim().parse().ok())
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::open(&dir.path().join("state")).unwrap();
    let key: SigningKey = state.create_key(false).unwrap();
    state
        .save_enrollment(&Enrollment {
            server_url: "https://127.0.0.1:9".into(),
            agent_id: "agt_bench000000000000".into(),
            keyid: key.id().to_string(),
            server_key: SigningKey::from_seed(&[7; 32]).public().to_base64(),
        })
        .unwrap();
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nurl = \"https://127.0.0.1:9\"\n[agent]\nstate_dir = \"{}\"\nbackoff_max_secs = 60\n[collectors.host]\nschedule = \"*/5 * * * * *\"\n",
            dir.path().join("state").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vouch-agent"))
        .args(["--config", config.to_str().unwrap(), "run"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let start = Instant::now();
    let mut samples = Vec::new();
    while start.elapsed() < Duration::from_secs(22) {
        // Samples taken before the binary is mapped read 0; skip them.
        if let Some(rss) = status_kb(pid, "VmRSS:").filter(|&kb| kb > 0) {
            let anon = status_kb(pid, "RssAnon:").unwrap_or(0);
            let file = status_kb(pid, "RssFile:").unwrap_or(0);
            samples.push((rss, anon, file));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let peak = status_kb(pid, "VmHWM:").unwrap_or(0);
    let spooled = state.spool_depth().unwrap();
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
    samples.sort();
    let (idle, anon, file) = samples[samples.len() / 2];
    println!(
        "agent RSS, median over 22 s (idle most of the time)   {:>8.1} MB  (heap and stacks {:.1} MB, binary and libraries {:.1} MB)",
        idle as f64 / 1024.0,
        anon as f64 / 1024.0,
        file as f64 / 1024.0
    );
    println!(
        "agent RSS, lowest sample                              {:>8.1} MB",
        samples[0].0 as f64 / 1024.0
    );
    println!(
        "agent peak RSS (VmHWM), collections every 5 s         {:>8.1} MB",
        peak as f64 / 1024.0
    );
    println!("snapshots collected, signed and spooled               {spooled:>8}");
    // For `bench` (vouch-tests).
    println!("bench-figure agent_idle_rss {:.2} MB", idle as f64 / 1024.0);
    println!("bench-figure agent_peak_rss {:.2} MB", peak as f64 / 1024.0);
}
