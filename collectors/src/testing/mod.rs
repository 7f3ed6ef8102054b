//! Test support for the API sources (feature `testing`): a local HTTPS server that replays
//! recorded API answers, so that the real client crates (octocrab, kube, the AWS SDK) are
//! tested end to end against realistic responses, error statuses and pagination.

pub mod expected;
pub mod replay;

pub use expected::differences;
pub use replay::{ReplayError, ReplayServer, Served};

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::{Collected, Collector};

/// Asserts that `collected` (by `collectors`) matches the expected files in `expected_dir`
/// item by item, that `server` was asked for nothing it has no recorded answer to and for every
/// answer it has, and that none of `secrets` appears anywhere in the evidence. Every problem is
/// reported at once.
pub fn assert_replayed_as_expected(
    collected: &Collected,
    collectors: &[Arc<dyn Collector>],
    expected_dir: &Path,
    server: &ReplayServer,
    secrets: &[&str],
) {
    let mut problems = differences(collected, collectors, expected_dir);
    problems.extend(
        server
            .unmatched()
            .into_iter()
            .map(|r| format!("no recorded answer for {r}")),
    );
    problems.extend(
        server
            .unused()
            .into_iter()
            .map(|e| format!("recorded answer never asked for: {e}")),
    );
    let text = serde_json::to_string(&collected.evidence).unwrap_or_default();
    problems.extend(
        secrets
            .iter()
            .filter(|s| text.contains(*s))
            .map(|s| format!("{s:?} appears in the evidence")),
    );
    assert!(
        problems.is_empty(),
        "{}: {} problem(s):\n{}",
        expected_dir.display(),
        problems.len(),
        problems.join("\n")
    );
}

/// The fixture host `name` under `tests/fixtures/hosts/`, ready to collect from: the files
/// listed in its `.vouch-modes` (`<octal mode> <path>` a line) are given their modes first, as
/// git keeps only the executable bit and the hosts are described by their real modes (a 0640
/// /etc/shadow, a world-writable script). Every test that collects from a fixture host goes
/// through here, whatever crate it lives in and whichever test binary runs first.
///
/// # Panics
/// When a listed mode cannot be applied, naming every such line.
pub fn fixture_host(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/hosts")
        .join(name);
    let problems = apply_modes(&root);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    root
}

/// Applies `<root>/.vouch-modes`; the lines that could not be applied.
fn apply_modes(root: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(root.join(".vouch-modes")) else {
        return Vec::new();
    };
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter(|line| {
            let applied = line.split_once(' ').and_then(|(mode, path)| {
                let mode = u32::from_str_radix(mode, 8).ok()?;
                let path = root.join(path.trim().trim_start_matches('/'));
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).ok()
            });
            applied.is_none()
        })
        .map(|line| format!("{}/.vouch-modes: cannot apply {line:?}", root.display()))
        .collect()
}
