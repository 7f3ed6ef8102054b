//! Re-deriving a bundle's stored results: each pack is loaded again from its files in the
//! bundle (its digest must match) and judges the verified snapshot again; every result must be
//! the one the bundle holds, and none may be missing or extra.

use std::collections::{BTreeMap, BTreeSet};

use vouch_evidence::Digest;
use vouch_evidence::dsse::Envelope;
use vouch_policies::{Catalogs, KeptPack};

use crate::bundle::{BundleEvaluation, BundleReport, BundleResult};

/// Re-derives the results in `results/*.json` from the packs in `packs/` and the verified
/// envelopes; every disagreement is a failure. Answers how many results were re-derived.
pub fn check_results(
    files: &BTreeMap<String, Vec<u8>>,
    verified: &BTreeSet<Digest>,
    r: &mut BundleReport,
) -> usize {
    let catalogs = Catalogs::builtin();
    let mut judges: BTreeMap<String, Result<KeptPack, String>> = BTreeMap::new();
    let mut checked = 0;
    for (path, bytes) in files.iter().filter(|(p, _)| p.starts_with("results/")) {
        let Some(digest) = path
            .strip_prefix("results/")
            .and_then(|p| p.strip_suffix(".json"))
            .and_then(|d| d.parse::<Digest>().ok())
        else {
            r.failures
                .push(format!("{path}: not named results/<digest>.json"));
            continue;
        };
        let evaluations: Vec<BundleEvaluation> = match serde_json::from_slice(bytes) {
            Ok(e) => e,
            Err(e) => {
                r.failures.push(format!("{path}: {e}"));
                continue;
            }
        };
        if !verified.contains(&digest) {
            r.failures.push(format!(
                "{path}: snapshot {digest} has no verified envelope in the bundle"
            ));
            continue;
        }
        let snapshot = files
            .get(&format!("envelopes/{digest}.json"))
            .and_then(|b| Envelope::from_slice(b).ok())
            .and_then(|e| e.payload_bytes().ok())
            .and_then(|p| vouch_evidence::Snapshot::from_payload(&p).ok());
        let Some(snapshot) = snapshot else {
            r.failures
                .push(format!("{path}: the snapshot cannot be read"));
            continue;
        };
        for e in &evaluations {
            let judge = judges.entry(e.pack.clone()).or_insert_with(|| {
                let prefix = format!("packs/{}/", e.pack);
                let pack_files: Vec<(String, Vec<u8>)> = files
                    .iter()
                    .filter_map(|(p, b)| Some((p.strip_prefix(&prefix)?.to_string(), b.clone())))
                    .collect();
                if pack_files.is_empty() {
                    return Err(format!("pack {} is not in the bundle", e.pack));
                }
                KeptPack::from_files(&pack_files, &e.pack, &catalogs)
            });
            let judge = match judge {
                Ok(j) => j,
                Err(problem) => {
                    r.failures
                        .push(format!("{path}: pack {}: {problem}", e.pack));
                    continue;
                }
            };
            let derived: BTreeMap<String, BundleResult> = judge
                .judge(&snapshot)
                .into_iter()
                .map(|x| {
                    let result = BundleResult {
                        policy: x.policy,
                        status: x.status.as_str().to_string(),
                        reason: x.reason,
                        evidence: x.evidence,
                    };
                    (result.policy.clone(), result)
                })
                .collect();
            let pack = e.pack.get(..12).unwrap_or(&e.pack);
            let stored: BTreeMap<&str, &BundleResult> =
                e.results.iter().map(|x| (x.policy.as_str(), x)).collect();
            for (policy, want) in &derived {
                match stored.get(policy.as_str()) {
                    Some(got) if *got == want => checked += 1,
                    Some(got) => r.failures.push(format!(
                        "{path}: pack {pack} gives {policy} {} ({}), the bundle says {} ({})",
                        want.status, want.reason, got.status, got.reason
                    )),
                    None => r.failures.push(format!(
                        "{path}: the result of {policy} under pack {pack} is missing"
                    )),
                }
            }
            for policy in stored.keys().filter(|p| !derived.contains_key(**p)) {
                r.failures
                    .push(format!("{path}: {policy} is not a policy of pack {pack}"));
            }
        }
    }
    checked
}
