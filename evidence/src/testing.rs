//! Builders for tests and benchmarks in other crates (feature `testing`): a valid host snapshot
//! with one collector run, so a test states only what it is about.

use std::collections::BTreeMap;

use crate::{
    Asset, AssetKind, CollectorRun, Digest, EvidenceItem, RunOutcome, SCHEMA_VERSION, Snapshot,
    Timestamp,
};

/// A host snapshot of `asset_id` (named `web-1`) by `agent_id`, collected at `at`, at
/// `sequence` after `previous`, with one successful `host` collector run and `evidence`.
pub fn host_snapshot(
    agent_id: &str,
    asset_id: &str,
    at: Timestamp,
    sequence: u64,
    previous: Option<Digest>,
    evidence: BTreeMap<String, EvidenceItem>,
) -> Snapshot {
    Snapshot {
        schema_version: SCHEMA_VERSION,
        agent_id: agent_id.into(),
        asset: Asset {
            kind: AssetKind::Host,
            id: asset_id.into(),
            name: "web-1".into(),
        },
        collected_at: at,
        sequence,
        previous_digest: previous,
        collectors: vec![CollectorRun {
            name: "host".into(),
            version: "0.1.0".into(),
            started_at: at,
            finished_at: at,
            outcome: RunOutcome::Ok,
        }],
        evidence,
    }
}
