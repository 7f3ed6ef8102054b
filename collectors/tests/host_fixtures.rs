//! The host collectors against the fixture hosts under `tests/fixtures/hosts/`, field by field.
//!
//! Each fixture `<name>/` is a file tree as the collectors would find it below `/` (with the
//! recorded output of any command in `.vouch-commands/`), and `<name>.expected/` holds what must
//! be collected from it: `asset.json`, and per collector `<collector>.json` (`host.ssh.json`)
//! with each of that collector's evidence ids as `{"ok": value}` or `{"unavailable": "reason"}`.
//! The expected files are written by hand from the fixture's contents, so a wrong parse shows
//! up as a difference; every difference of every fixture is reported at once. File modes git
//! cannot carry are listed in `<name>/.vouch-modes` and applied before collecting; owners are
//! whoever owns the checkout (root on CI), named through the fixture's /etc/passwd.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use vouch_collectors::host::{HostConfig, HostSource};
use vouch_collectors::{Source, run_source};
use vouch_evidence::{ItemStatus, RunOutcome};

/// The fixtures the host-collectors issue asks for; each must have an expected file.
const FIXTURES: &[&str] = &[
    "debian12-hardened",
    "debian12-weak",
    "rhel9",
    "container-minimal",
];

fn hosts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/hosts")
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Gives the files listed in `<fixture>/.vouch-modes` (`<octal mode> <path>` a line) their
/// modes: git keeps only the executable bit, and the hosts are described by their real modes
/// (a 0640 /etc/shadow, a world-writable script).
fn apply_modes(root: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(root.join(".vouch-modes")) else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let applied = line.split_once(' ').and_then(|(mode, path)| {
            let mode = u32::from_str_radix(mode, 8).ok()?;
            let path = root.join(path.trim().trim_start_matches('/'));
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).ok()
        });
        if applied.is_none() {
            problems.push(format!(".vouch-modes: cannot apply {line:?}"));
        }
    }
    problems
}

/// Every difference between what was collected from `name` and its expected files.
async fn differences(name: &str) -> Vec<String> {
    let expected_dir = hosts().join(format!("{name}.expected"));
    let mode_problems = apply_modes(&hosts().join(name));
    let source = HostSource::new(HostConfig {
        root: hosts().join(name),
        ..HostConfig::default()
    });
    let c = run_source(&source, &source.context(CancellationToken::new())).await;
    let mut diffs = mode_problems;
    let asset = json!({"id": c.asset.id, "name": c.asset.name});
    match read_json(&expected_dir.join("asset.json")) {
        Ok(want) if want == asset => {}
        Ok(want) => diffs.push(format!("asset: expected {want}, got {asset}")),
        Err(e) => diffs.push(e),
    }
    for run in &c.collectors {
        if run.outcome != RunOutcome::Ok {
            diffs.push(format!("collector {} failed: {:?}", run.name, run.outcome));
        }
    }
    let mut files = vec!["asset.json".to_string()];
    for collector in source.collectors() {
        let file = format!("{}.json", collector.name());
        let expected = match read_json(&expected_dir.join(&file)) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                diffs.push(format!("{file}: not a JSON object"));
                continue;
            }
            Err(e) => {
                diffs.push(e);
                continue;
            }
        };
        files.push(file.clone());
        for spec in collector.evidence() {
            let Some(want) = expected.get(spec.id) else {
                diffs.push(format!("{}: not in {file}", spec.id));
                continue;
            };
            let Some(item) = c.evidence.get(spec.id) else {
                diffs.push(format!("{}: not collected", spec.id));
                continue;
            };
            let got = match item.status {
                ItemStatus::Ok => json!({"ok": item.value}),
                ItemStatus::Unavailable => json!({"unavailable": item.reason}),
            };
            if &got != want {
                diffs.push(format!(
                    "{}:\n    expected {want}\n    got      {got}",
                    spec.id
                ));
            }
        }
        for id in expected.keys() {
            if !collector.evidence().iter().any(|s| s.id == id) {
                diffs.push(format!(
                    "{file}: {id} is not declared by {}",
                    collector.name()
                ));
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(&expected_dir) {
        for e in entries.flatten() {
            let f = e.file_name().to_string_lossy().into_owned();
            if !files.contains(&f) {
                diffs.push(format!("{f}: no collector of that name"));
            }
        }
    }
    diffs
}

#[tokio::test]
async fn every_fixture_host_yields_its_expected_evidence() {
    let mut report = Vec::new();
    for name in FIXTURES {
        for d in differences(name).await {
            report.push(format!("{name}: {d}"));
        }
    }
    assert!(
        report.is_empty(),
        "{} difference(s):\n{}",
        report.len(),
        report.join("\n")
    );
}
