//! Test support for the API sources (feature `testing`): a local HTTPS server that replays
//! recorded API answers, so that the real client crates (octocrab, kube, the AWS SDK) are
//! tested end to end against realistic responses, error statuses and pagination.

pub mod expected;
pub mod replay;

pub use expected::differences;
pub use replay::{ReplayError, ReplayServer, Served};

use std::path::Path;
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

pub use crate::fixtures::fixture_host;
