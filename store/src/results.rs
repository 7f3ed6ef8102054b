//! What the store keeps about policy evaluation: the packs (their files, by digest), each
//! snapshot's evaluations (one per pack that judged it, with every policy's result), the
//! explicit re-evaluation runs, the exceptions (accepted risks) and the manual evidence
//! (signed attestations with their documents).
//!
//! Results are never overwritten: a snapshot evaluated again by a new pack gains a second
//! evaluation beside the first, so the status shown for any past instant can be re-derived
//! from exactly the pack and the evidence that produced it.

use vouch_evidence::{AssetKind, ChainKey, Digest, Timestamp};

use super::StoreError;

/// One policy's result for one snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResult {
    /// The policy's id.
    pub policy_id: String,
    /// `pass`, `fail`, `not_applicable` or `error`.
    pub status: String,
    /// Why, for people.
    pub reason: String,
    /// The evidence ids the result rests on.
    pub evidence: Vec<String>,
}

/// One snapshot judged by one pack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    /// The snapshot.
    pub digest: Digest,
    /// The pack's digest (hex).
    pub pack_digest: String,
    /// When it was evaluated.
    pub evaluated_at: Timestamp,
    /// The re-evaluation run it belongs to; `None` when made on arrival.
    pub run_id: Option<i64>,
    /// Every policy's result, sorted by policy id. Shared: the evaluations of many snapshots
    /// (a host judged hourly, a fleet of identical hosts) hold one set, read once.
    pub results: std::sync::Arc<[StoredResult]>,
}

/// A policy pack as it judged: its digest and files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackRecord {
    /// The pack's digest (hex).
    pub digest: String,
    /// When the server first used it.
    pub loaded_at: Timestamp,
    /// Its files: relative path and bytes.
    pub files: Vec<(String, Vec<u8>)>,
}

/// The newest evaluated snapshot of one asset chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetEvaluation {
    /// The chain.
    pub chain: ChainKey,
    /// The asset's display name.
    pub asset_name: String,
    /// When the snapshot was collected.
    pub collected_at: Timestamp,
    /// The evaluation.
    pub evaluation: Evaluation,
}

/// A re-evaluation to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRun {
    /// Who asked (token label or role).
    pub requested_by: String,
    /// When.
    pub requested_at: Timestamp,
    /// Why (e.g. "pack changed: new SSH policies").
    pub reason: String,
    /// The pack that re-evaluates.
    pub pack_digest: String,
    /// Snapshots collected in `[from, to)` are re-evaluated.
    pub from: Timestamp,
    /// End of the scope (exclusive).
    pub to: Timestamp,
}

/// A recorded re-evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvaluationRun {
    /// Its id.
    pub id: i64,
    /// What was asked.
    pub run: NewRun,
    /// When it finished; `None` while under way.
    pub finished_at: Option<Timestamp>,
    /// Snapshots it evaluated.
    pub evaluated: u64,
}

/// An accepted risk to record: a failing policy that shows as `accepted` until it expires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewException {
    /// The policy.
    pub policy_id: String,
    /// The asset it covers; `None`: every asset.
    pub asset: Option<(AssetKind, String)>,
    /// Why the risk is accepted.
    pub justification: String,
    /// Who owns the risk.
    pub owner: String,
    /// Who recorded it.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
    /// When it lapses and the result returns to `fail`.
    pub expires_at: Timestamp,
}

/// A recorded exception.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExceptionRecord {
    /// Its id.
    pub id: i64,
    /// What was recorded.
    pub exception: NewException,
}

impl ExceptionRecord {
    /// Whether it covers `policy_id` on the asset `(kind, id)` at `at`.
    pub fn covers(&self, policy_id: &str, kind: AssetKind, asset_id: &str, at: Timestamp) -> bool {
        let e = &self.exception;
        e.policy_id == policy_id
            && e.created_at <= at
            && at < e.expires_at
            && e.asset
                .as_ref()
                .is_none_or(|(k, id)| *k == kind && id == asset_id)
    }
}

/// A signed attestation as kept: the envelope verbatim, the fields the listings need, and the
/// attached document's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestationRecord {
    /// Digest of the attestation's payload.
    pub digest: Digest,
    /// The control it supports.
    pub control: String,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// Until when it holds.
    pub valid_until: Timestamp,
    /// The DSSE envelope, signed by the server.
    pub envelope: Vec<u8>,
}

/// A control's status from an instant on, as the server recorded it: one row each time the
/// rolled-up status of a control changes. The overview's trend and each status's start are
/// read from these rows, never recomputed per day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlChange {
    /// The framework (catalog id).
    pub framework: String,
    /// The control id within it.
    pub control: String,
    /// The status it turned to (`ControlState::as_str`).
    pub state: String,
    /// When that status began: the collection instant of the newest evidence it rests on, or,
    /// for a change made by time alone (staleness, an expiry), the instant it was seen.
    pub since: Timestamp,
    /// When the server recorded the change.
    pub recorded_at: Timestamp,
}

/// The statuses a stored result may have.
pub const STATUSES: [&str; 4] = ["pass", "fail", "not_applicable", "error"];

/// A set of results as every backend stores it: a JSON array of `[policy, status, reason,
/// [evidence…]]` sorted by policy, and its id, the SHA-256 (hex) of that JSON. Identical
/// results of many snapshots (a host judged hourly) are kept once. A status outside
/// [`STATUSES`] is refused.
pub fn encode_results(results: &[StoredResult]) -> Result<(String, String), StoreError> {
    let mut rows: Vec<&StoredResult> = results.iter().collect();
    rows.sort_by(|a, b| a.policy_id.cmp(&b.policy_id));
    for r in &rows {
        if !STATUSES.contains(&r.status.as_str()) {
            return Err(StoreError::Backend(format!(
                "result of {}: status {:?} is not one of {}",
                r.policy_id,
                r.status,
                STATUSES.join(", ")
            )));
        }
    }
    let json = serde_json::to_string(
        &rows
            .iter()
            .map(|r| (&r.policy_id, &r.status, &r.reason, &r.evidence))
            .collect::<Vec<_>>(),
    )
    .map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok((Digest::of(json.as_bytes()).to_hex(), json))
}

/// The results of the set `id` stored as `json` (see [`encode_results`]), checked against
/// the id.
pub fn decode_results(id: &str, json: &str) -> Result<Vec<StoredResult>, StoreError> {
    if Digest::of(json.as_bytes()).to_hex() != id {
        return Err(StoreError::Backend(format!(
            "result set {id}: content does not match its digest"
        )));
    }
    let rows: Vec<(String, String, String, Vec<String>)> = serde_json::from_str(json)
        .map_err(|e| StoreError::Backend(format!("result set {id}: unreadable: {e}")))?;
    Ok(rows
        .into_iter()
        .map(|(policy_id, status, reason, evidence)| StoredResult {
            policy_id,
            status,
            reason,
            evidence,
        })
        .collect())
}

/// Result sets already read, by id. Ids are content digests, so an entry is right for every
/// store in the process; the map is emptied when it grows past [`SET_CACHE`] entries.
static SETS: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<[StoredResult]>>>,
> = std::sync::LazyLock::new(Default::default);

/// Most result sets kept read.
const SET_CACHE: usize = 4096;

/// The result set `id` if it was read before.
pub fn cached_set(id: &str) -> Option<std::sync::Arc<[StoredResult]>> {
    SETS.lock().expect("sets lock").get(id).cloned()
}

/// Decodes the result set `id` stored as `json` and keeps it for the next read.
pub fn remember_set(id: &str, json: &str) -> Result<std::sync::Arc<[StoredResult]>, StoreError> {
    let set: std::sync::Arc<[StoredResult]> = decode_results(id, json)?.into();
    let mut sets = SETS.lock().expect("sets lock");
    if sets.len() >= SET_CACHE {
        sets.clear();
    }
    sets.insert(id.to_string(), set.clone());
    Ok(set)
}
