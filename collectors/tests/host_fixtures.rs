//! The host collectors against the fixture hosts under `tests/fixtures/hosts/`, field by field.
//!
//! Each fixture `<name>/` is a file tree as the collectors would find it below `/` (with the
//! recorded output of any command in `.vouch-commands/`), and `<name>.expected.json` holds
//! what must be collected from it: the asset, and every declared evidence id as
//! `{"ok": value}` or `{"unavailable": "reason"}`. The expected files are written by hand from
//! the fixture's contents, so a wrong parse shows up as a difference; every difference of a
//! fixture is reported at once.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use vouch_collectors::host::{HostConfig, HostSource};
use vouch_collectors::{Source, all_specs, run_source};
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

/// Every difference between what was collected from `name` and its expected file.
async fn differences(name: &str) -> Vec<String> {
    let expected_path = hosts().join(format!("{name}.expected.json"));
    let text = std::fs::read_to_string(&expected_path)
        .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
    let expected: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
    let source = HostSource::new(HostConfig {
        root: hosts().join(name),
        ..HostConfig::default()
    });
    let c = run_source(&source, &source.context(CancellationToken::new())).await;
    let mut diffs = Vec::new();
    let asset = json!({"id": c.asset.id, "name": c.asset.name});
    if expected["asset"] != asset {
        diffs.push(format!(
            "asset: expected {}, got {asset}",
            expected["asset"]
        ));
    }
    for run in &c.collectors {
        if run.outcome != RunOutcome::Ok {
            diffs.push(format!("collector {} failed: {:?}", run.name, run.outcome));
        }
    }
    let evidence = expected["evidence"]
        .as_object()
        .unwrap_or_else(|| panic!("{}: no \"evidence\" object", expected_path.display()));
    for spec in all_specs() {
        let Some(want) = evidence.get(spec.id) else {
            diffs.push(format!("{}: not in the expected file", spec.id));
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
    for id in evidence.keys() {
        if !all_specs().iter().any(|s| s.id == id) {
            diffs.push(format!("{id}: expected but not declared by any collector"));
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
