//! Verdicts as signed statements: each judgement of a snapshot by a policy pack is an in-toto
//! Statement v1 (payload type `application/vnd.in-toto+json` in a DSSE envelope) whose
//! predicate is a verification summary in the style of SLSA's VSA v1: who verified (the
//! server's id and version), when, the asset, the pack's digest, the snapshot judged, the
//! overall result, and the result of every policy and of every control the policies evidence.
//!
//! The statement is made from facts an auditor holds (the snapshot's place in its chain, the
//! evaluation, the pack's files), so `vouch verify` re-derives it and compares it, field by
//! field, with the one the server signed: a server that signs a verdict its pack does not give
//! is caught, as with the results themselves. A generic DSSE verifier checks the signature with
//! the server's verdict key alone (the `vouch-server-verdicts` line of the keys); see
//! the README for the exact pre-authentication encoding.
//!
//! A control's result here is this snapshot's technical contribution to it (the worst of its
//! policies' results on this snapshot), not the control's verdict, which also weighs every
//! other asset, exceptions, freshness and the attestations of its manual part.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vouch_evidence::Timestamp;
use vouch_evidence::api::SnapshotRef;
use vouch_policies::PolicyPack;

use crate::bundle::BundleEvaluation;

/// The DSSE payload type of an in-toto statement.
pub const STATEMENT_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The predicate: Vouch's verification summary (the fields of SLSA VSA v1, and results per
/// policy and per control).
pub const PREDICATE_TYPE: &str = "https://vouch.dev/verdict/verification-summary/v1";
/// The comment that marks the server's verdict key in `keys/keys.txt`.
pub const VERDICT_KEY_OWNER: &str = "vouch-server-verdicts";

/// An in-toto Statement v1 whose predicate is a [`VerificationSummary`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub type_: String,
    /// The snapshot judged.
    pub subject: Vec<Subject>,
    /// [`PREDICATE_TYPE`].
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The verdict.
    pub predicate: VerificationSummary,
}

/// An artifact and its digests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// `vouch:snapshot/<asset kind>/<asset id>/<sequence>`.
    pub name: String,
    /// `sha256`: the snapshot's digest (SHA-256 of its canonical payload).
    pub digest: BTreeMap<String, String>,
}

/// A resource and its digests (VSA's `ResourceDescriptor`, reduced).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// What it is.
    pub uri: String,
    /// `sha256`: its digest.
    pub digest: BTreeMap<String, String>,
}

/// Who verified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verifier {
    /// The server: `vouch-server/<its verdict key id>`.
    pub id: String,
    /// `vouch`: the server's version.
    pub version: BTreeMap<String, String>,
}

/// One policy's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyVerdict {
    /// The policy's id.
    pub policy: String,
    /// `pass`, `fail`, `not_applicable` or `error`.
    pub status: String,
    /// Why.
    pub reason: String,
    /// The evidence ids it rests on.
    pub evidence: Vec<String>,
}

/// One control's result on this snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlVerdict {
    /// `<framework>:<control>`.
    pub control: String,
    /// The worst of its policies' results here: `fail`, `error`, `pass` or
    /// `not_applicable`.
    pub status: String,
    /// Its policies that judged this snapshot.
    pub policies: Vec<String>,
}

/// The predicate: VSA v1's fields, and the results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VerificationSummary {
    /// Who judged.
    pub verifier: Verifier,
    /// When.
    pub time_verified: Timestamp,
    /// The asset: `vouch:asset/<kind>/<id>`.
    pub resource_uri: String,
    /// The pack: `vouch:pack`, its digest.
    pub policy: Resource,
    /// The snapshot judged: `vouch:snapshot/<digest>`, signed by agent `agent`.
    pub input_attestations: Vec<Resource>,
    /// The agent that signed the snapshot.
    pub agent: String,
    /// The re-evaluation run, when not judged on arrival.
    pub run: Option<i64>,
    /// `PASSED` when no policy fails or errs, else `FAILED`.
    pub verification_result: String,
    /// The controls this snapshot passes (`<framework>:<control>`).
    pub verified_levels: Vec<String>,
    /// Every policy's result, by id.
    pub policies: Vec<PolicyVerdict>,
    /// Every control the policies evidence, by id.
    pub controls: Vec<ControlVerdict>,
}

fn sha256(hex: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("sha256".to_string(), hex.to_string())])
}

/// The worse of two statuses towards a control: fail, then error, then pass, then
/// not-applicable.
fn rank(status: &str) -> u8 {
    match status {
        "fail" => 0,
        "error" => 1,
        "pass" => 2,
        _ => 3,
    }
}

/// The statement of `evaluation` of `snapshot` by `pack` (whose policies map to controls),
/// made by `verifier`.
pub fn statement(
    snapshot: &SnapshotRef,
    evaluation: &BundleEvaluation,
    pack: &PolicyPack,
    verifier: &Verifier,
) -> Statement {
    let mut policies: Vec<PolicyVerdict> = evaluation
        .results
        .iter()
        .map(|r| PolicyVerdict {
            policy: r.policy.clone(),
            status: r.status.clone(),
            reason: r.reason.clone(),
            evidence: r.evidence.clone(),
        })
        .collect();
    policies.sort_by(|a, b| a.policy.cmp(&b.policy));
    let mut controls: BTreeMap<String, ControlVerdict> = BTreeMap::new();
    for p in &policies {
        let Some(policy) = pack.policy(&p.policy) else {
            continue;
        };
        for control in &policy.controls {
            let entry = controls
                .entry(control.to_string())
                .or_insert_with(|| ControlVerdict {
                    control: control.to_string(),
                    status: "not_applicable".into(),
                    policies: Vec::new(),
                });
            if rank(&p.status) < rank(&entry.status) {
                entry.status = p.status.clone();
            }
            entry.policies.push(p.policy.clone());
        }
    }
    let failed = policies
        .iter()
        .any(|p| p.status == "fail" || p.status == "error");
    let controls: Vec<ControlVerdict> = controls.into_values().collect();
    let digest = snapshot.digest.to_hex();
    Statement {
        type_: STATEMENT_TYPE.into(),
        subject: vec![Subject {
            name: format!(
                "vouch:snapshot/{}/{}/{}",
                snapshot.asset_kind, snapshot.asset_id, snapshot.sequence
            ),
            digest: sha256(&digest),
        }],
        predicate_type: PREDICATE_TYPE.into(),
        predicate: VerificationSummary {
            verifier: verifier.clone(),
            time_verified: evaluation.evaluated_at,
            resource_uri: format!("vouch:asset/{}/{}", snapshot.asset_kind, snapshot.asset_id),
            policy: Resource {
                uri: "vouch:pack".into(),
                digest: sha256(&evaluation.pack),
            },
            input_attestations: vec![Resource {
                uri: format!("vouch:snapshot/{digest}"),
                digest: sha256(&digest),
            }],
            agent: snapshot.agent_id.clone(),
            run: evaluation.run,
            verification_result: if failed { "FAILED" } else { "PASSED" }.into(),
            verified_levels: controls
                .iter()
                .filter(|c| c.status == "pass")
                .map(|c| c.control.clone())
                .collect(),
            policies,
            controls,
        },
    }
}

/// The canonical bytes of a statement (RFC 8785), as signed.
pub fn payload(statement: &Statement) -> Vec<u8> {
    vouch_evidence::canonical::to_vec(statement).expect("a statement is plain JSON")
}

/// The member holding the signed verdicts of snapshot `digest`: a JSON array of DSSE
/// envelopes, one per evaluation in `results/<digest>.json`.
pub fn verdicts_file(digest: &vouch_evidence::Digest) -> String {
    format!("verdicts/{digest}.json")
}

/// The top-level fields in which two statements differ, for a failure that says where.
fn differences(signed: &Statement, derived: &Statement) -> Vec<&'static str> {
    let (s, d) = (&signed.predicate, &derived.predicate);
    let mut out = Vec::new();
    let mut differ = |name, same: bool| {
        if !same {
            out.push(name);
        }
    };
    differ("_type", signed.type_ == derived.type_);
    differ("subject", signed.subject == derived.subject);
    differ(
        "predicateType",
        signed.predicate_type == derived.predicate_type,
    );
    differ("timeVerified", s.time_verified == d.time_verified);
    differ("resourceUri", s.resource_uri == d.resource_uri);
    differ("policy", s.policy == d.policy);
    differ(
        "inputAttestations",
        s.input_attestations == d.input_attestations,
    );
    differ("agent", s.agent == d.agent);
    differ("run", s.run == d.run);
    differ(
        "verificationResult",
        s.verification_result == d.verification_result,
    );
    differ("verifiedLevels", s.verified_levels == d.verified_levels);
    differ("policies", s.policies == d.policies);
    differ("controls", s.controls == d.controls);
    out
}

/// Checks the signed verdicts of a bundle: for every evaluation in `results/*.json`, one
/// statement in `verdicts/<digest>.json`, signed by the server's verdict key (the
/// `vouch-server-verdicts` line of the keys), equal to the statement re-derived from the
/// snapshot's population entry, the evaluation and its pack. Answers a phrase for the
/// summary.
pub(crate) fn check_verdicts(
    files: &BTreeMap<String, Vec<u8>>,
    ring: &crate::Keyring,
    pinned: Option<&crate::Keyring>,
    population: &[SnapshotRef],
    r: &mut crate::bundle::BundleReport,
) -> String {
    use vouch_evidence::dsse::Envelope;
    let keys: Vec<&vouch_evidence::PublicKey> = ring.current_of(VERDICT_KEY_OWNER).collect();
    let pinned_key = pinned.is_some_and(|p| p.of_owner(VERDICT_KEY_OWNER).next().is_some());
    let signed_files = files.keys().any(|p| p.starts_with("verdicts/"));
    let key = match keys.as_slice() {
        [k] => *k,
        [] if !signed_files && !pinned_key => {
            r.notes.push(
                "the bundle carries no signed verdicts (made by a server from before them)".into(),
            );
            return "no signed verdicts".into();
        }
        [] => {
            r.failures.push(format!(
                "keys/keys.txt: no verdict key ({VERDICT_KEY_OWNER}) to check the \
                 signed verdicts with"
            ));
            return "signed verdicts not checked".into();
        }
        _ => {
            r.failures.push(format!(
                "keys/keys.txt: more than one verdict key ({VERDICT_KEY_OWNER})"
            ));
            return "signed verdicts not checked".into();
        }
    };
    let by_digest: BTreeMap<_, _> = population.iter().map(|m| (m.digest, m)).collect();
    let catalogs = vouch_policies::Catalogs::builtin();
    let mut packs: BTreeMap<String, Result<vouch_policies::KeptPack, String>> = BTreeMap::new();
    let mut checked = 0;
    let mut expected = 0;
    for (path, bytes) in files.iter().filter(|(p, _)| p.starts_with("results/")) {
        let Some(digest) = path
            .strip_prefix("results/")
            .and_then(|p| p.strip_suffix(".json"))
            .and_then(|d| d.parse::<vouch_evidence::Digest>().ok())
        else {
            continue; // named by the results check
        };
        let Ok(evaluations) = serde_json::from_slice::<Vec<BundleEvaluation>>(bytes) else {
            continue; // named by the results check
        };
        expected += evaluations.len();
        let signed_path = verdicts_file(&digest);
        let envelopes: Vec<Envelope> =
            match files.get(&signed_path).map(|b| serde_json::from_slice(b)) {
                Some(Ok(e)) => e,
                Some(Err(e)) => {
                    r.failures.push(format!("{signed_path}: {e}"));
                    continue;
                }
                None => {
                    r.failures.push(format!(
                        "{signed_path}: missing: the verdicts of {digest} are not signed"
                    ));
                    continue;
                }
            };
        let Some(snapshot) = by_digest.get(&digest) else {
            r.failures.push(format!(
                "{signed_path}: snapshot {digest} is not in population.json"
            ));
            continue;
        };
        let mut statements = Vec::new();
        for (i, env) in envelopes.iter().enumerate() {
            let opened = env
                .verify(STATEMENT_PAYLOAD_TYPE, |id| {
                    (key.id() == *id).then_some(key)
                })
                .map_err(|e| e.to_string())
                .and_then(|v| {
                    serde_json::from_slice::<Statement>(&v.payload).map_err(|e| e.to_string())
                });
            match opened {
                Ok(s) => statements.push(s),
                Err(e) => r.failures.push(format!("{signed_path}[{i}]: {e}")),
            }
        }
        if envelopes.len() != evaluations.len() {
            r.failures.push(format!(
                "{signed_path}: {} signed verdict(s) for {} evaluation(s)",
                envelopes.len(),
                evaluations.len()
            ));
        }
        for e in &evaluations {
            let pack = e.pack.get(..12).unwrap_or(&e.pack);
            let Some(signed) = statements
                .iter()
                .find(|s| s.predicate.policy.digest.get("sha256") == Some(&e.pack))
            else {
                r.failures
                    .push(format!("{signed_path}: no signed verdict of pack {pack}"));
                continue;
            };
            let judge = packs.entry(e.pack.clone()).or_insert_with(|| {
                let prefix = format!("packs/{}/", e.pack);
                let pack_files: Vec<(String, Vec<u8>)> = files
                    .iter()
                    .filter_map(|(p, b)| Some((p.strip_prefix(&prefix)?.to_string(), b.clone())))
                    .collect();
                vouch_policies::KeptPack::from_files(&pack_files, &e.pack, &catalogs)
            });
            let Ok(judge) = judge else {
                continue; // named by the results check
            };
            let derived = statement(snapshot, e, judge.pack(), &signed.predicate.verifier);
            let differ = differences(signed, &derived);
            if differ.is_empty() {
                checked += 1;
            } else {
                r.failures.push(format!(
                    "{signed_path}: the verdict signed for pack {pack} is not the one the \
                     evaluation and its pack give (it differs in {})",
                    differ.join(", ")
                ));
            }
        }
    }
    format!("{checked} of {expected} signed verdict(s) re-derived")
}
