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

use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;
use vouch_collectors::host::{HostConfig, HostSource};
use vouch_collectors::{Source, run_source};

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

/// Every difference between what was collected from `name` and its expected files.
async fn differences(name: &str) -> Vec<String> {
    let expected_dir = hosts().join(format!("{name}.expected"));
    let source = HostSource::new(HostConfig {
        root: vouch_collectors::testing::fixture_host(name),
        ..HostConfig::default()
    });
    // A fixed collection instant: certificate and package-list ages are measured against it,
    // so the expected files hold on any day the suite runs.
    let at = "2026-11-24T12:00:00Z".parse().unwrap();
    let c = run_source(&source, &source.context(CancellationToken::new()).at(at)).await;
    vouch_collectors::testing::differences(&c, &source.collectors(), &expected_dir)
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
