//! Evidence bundles: a reproducible sample of snapshots that an auditor takes away and checks
//! offline, trusting nothing but the public keys.
//!
//! A bundle is a `.tar.gz` with:
//!
//! - `manifest.dsse.json` — a DSSE envelope (payload type [`MANIFEST_PAYLOAD_TYPE`]) signed with
//!   the server's receipt key, whose payload ([`Manifest`]) names the sampling query, the
//!   population's size and fingerprint, the sample in draw order and the SHA-256 of every
//!   other file;
//! - `keys/keys.txt` — the public keys (`vouch keys export` format): the agents', then the
//!   server's receipt key (`vouch-server-receipts`) and log key (`vouch-server-log`);
//!   `keys/agents.json` — the enrolment records;
//! - `population.json` — every snapshot of the population with its place in its chain;
//! - `envelopes/<digest>.json` — verbatim envelopes of every population snapshot of each chain
//!   the sample touches, so the chain can be proved complete around each sampled snapshot;
//!   `receipts/<digest>.json` — the server's signed receipt of each;
//! - `results/<digest>.json` — every evaluation of each sampled snapshot (pack digest, when,
//!   every policy's result), and `packs/<pack digest>/…` — the files of each pack that judged
//!   (policies and organisation settings), so the results can be re-derived;
//!   `verdicts/<digest>.json` — each evaluation as an in-toto statement signed with the
//!   server's verdict key (`vouch-server-verdicts`), re-derived like the results;
//! - `log/checkpoint.txt` — the transparency log's signed checkpoint (a C2SP checkpoint note)
//!   taken when the bundle was made, with the cosignatures of the log's witnesses when they had
//!   cosigned it, and `log/inclusion/<digest>.json` — each envelope's leaf index and inclusion
//!   proof in that tree; when the log has witnesses that had not yet cosigned that checkpoint,
//!   `log/witnessed.txt` — the newest checkpoint a quorum of them cosigned — and
//!   `log/witnessed-consistency.json` — the proof that its tree is a prefix of the bundle's;
//! - `README.txt` — how to check it.
//!
//! [`verify`] re-checks everything: the manifest's signature and every file's hash, every
//! envelope's signature and canonical payload, chain continuity (naming any gap), that the
//! envelopes agree with the population list, that the sample follows from the population and
//! the seed (`vouch-sample-v1`), every receipt, that the log's key signed the checkpoint and
//! every envelope is a leaf of its tree, and that every stored result follows from its pack:
//! each pack is rebuilt from its files (its digest must match) and re-judges the verified
//! snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use vouch_evidence::api::{SampleQuery, SnapshotRef};
use vouch_evidence::cosign::{Cosigned, Witness, open_witnessed};
use vouch_evidence::dsse::Envelope;
use vouch_evidence::logproofs::{ConsistencyProof, InclusionProof, open_checkpoint};
use vouch_evidence::note::{Checkpoint, NoteVerifier};
use vouch_evidence::sample::{self, SAMPLE_ALGORITHM};
use vouch_evidence::{ChainKey, Digest, PublicKey, Receipt, Timestamp};

use crate::{Depth, Keyring, verify_blobs_at};

/// The payload type of a bundle manifest.
pub const MANIFEST_PAYLOAD_TYPE: &str = "application/vnd.vouch.bundle-manifest+json";
/// The manifest's file name in the archive.
pub const MANIFEST_FILE: &str = "manifest.dsse.json";
/// The comment that marks the server's key in `keys/keys.txt`.
pub const SERVER_KEY_OWNER: &str = "vouch-server-receipts";
/// The comment that marks the transparency log's key in `keys/keys.txt`.
pub const LOG_KEY_OWNER: &str = "vouch-server-log";
/// The log's signed checkpoint the bundle was made against.
pub const LOG_CHECKPOINT_FILE: &str = "log/checkpoint.txt";

/// The newest checkpoint a quorum of the log's witnesses cosigned, when older than the
/// bundle's.
pub const LOG_WITNESSED_FILE: &str = "log/witnessed.txt";
/// The consistency proof from [`LOG_WITNESSED_FILE`]'s tree to [`LOG_CHECKPOINT_FILE`]'s.
pub const LOG_WITNESSED_PROOF_FILE: &str = "log/witnessed-consistency.json";

/// The member holding the time-stamp of the log's checkpoint of `size` leaves.
pub fn timestamp_file(size: u64) -> String {
    format!("log/timestamps/{size}.json")
}

/// The member holding the inclusion proof of snapshot `digest`.
pub fn inclusion_file(digest: &Digest) -> String {
    format!("log/inclusion/{digest}.json")
}

/// The most bytes a bundle may unpack to.
const MAX_UNPACKED: u64 = 4 << 30;

/// What the server signs about a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Bundle format version: 1.
    pub format: u32,
    /// When the bundle was made.
    pub created_at: Timestamp,
    /// The sampling query.
    pub query: SampleQuery,
    /// The sampling algorithm.
    pub algorithm: String,
    /// Snapshots in the population.
    pub population_count: u64,
    /// Fingerprint of the population's digests.
    pub population_fingerprint: Digest,
    /// The sample, in draw order.
    pub sample: Vec<Digest>,
    /// SHA-256 of every other file, by path.
    pub files: BTreeMap<String, Digest>,
}

/// An enrolment record as the bundle carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentEntry {
    /// The agent's id.
    pub agent_id: String,
    /// Its name.
    pub name: String,
    /// Its public key, as a keys-file line.
    pub public_key: String,
    /// When it enrolled.
    pub enrolled_at: Timestamp,
}

/// The chain a population entry belongs to.
pub fn chain_of(m: &SnapshotRef) -> ChainKey {
    ChainKey {
        agent_id: m.agent_id.clone(),
        asset_kind: m.asset_kind,
        asset_id: m.asset_id.clone(),
    }
}

/// One evaluation of a sampled snapshot, as `results/<digest>.json` lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleEvaluation {
    /// The digest of the pack that judged (its files are under `packs/<digest>/`).
    pub pack: String,
    /// When.
    pub evaluated_at: Timestamp,
    /// The re-evaluation run, when not judged on arrival.
    pub run: Option<i64>,
    /// Every policy's result.
    pub results: Vec<BundleResult>,
}

/// One policy's stored result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleResult {
    /// The policy.
    pub policy: String,
    /// pass, fail, not_applicable or error.
    pub status: String,
    /// Why.
    pub reason: String,
    /// The evidence ids it rests on.
    pub evidence: Vec<String>,
}

/// What checking a bundle found.
#[derive(Debug, Default)]
pub struct BundleReport {
    /// Every failure, one sentence each; empty when the bundle verifies.
    pub failures: Vec<String>,
    /// Remarks that are not failures.
    pub notes: Vec<String>,
    /// One line describing what was checked.
    pub summary: String,
    /// The log's checkpoint the bundle was made against, when it verified: an auditor checks
    /// it against one saved earlier (`--since`).
    pub checkpoint: Option<Checkpoint>,
    /// The log key the checkpoint was checked with.
    pub log_key: Option<PublicKey>,
    /// The checkpoint's note as the bundle carries it (with any cosignatures), when it
    /// verified.
    pub log_note: Option<String>,
    /// The newest witnessed checkpoint the bundle carries, when older than its checkpoint:
    /// its note and checkpoint, proved a prefix of the bundle's.
    pub witnessed: Option<(String, Checkpoint)>,
    /// Each envelope proved in the log, with its leaf index.
    pub leaves: BTreeMap<Digest, u64>,
    /// The time-stamps the bundle carries, each over a checkpoint signed by the log's key and
    /// proved a prefix of the bundle's (not yet checked against a TSA's certificate).
    pub timestamps: Vec<(crate::timestamp::TimestampProof, Checkpoint)>,
}

impl BundleReport {
    /// True when nothing failed.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// Checks every time-stamp the bundle carries with the TSA's `certificate` (DER) and
    /// dates each envelope by the first time-stamped checkpoint holding it: a token that
    /// does not verify is a failure by name; envelopes past every time-stamp are counted in
    /// the note (the TSA had not dated them when the bundle was made).
    pub fn check_timestamps(&mut self, certificate: &[u8]) {
        use base64::Engine as _;
        self.notes
            .retain(|n| !n.contains("time-stamp(s) of the log's checkpoints: check them"));
        if self.timestamps.is_empty() {
            self.failures.push(
                "--tsa-cert: the bundle carries no time-stamp of the log (made by a server \
                 without [timestamps], or before its first stamp)"
                    .into(),
            );
            return;
        }
        let mut dated: Vec<(u64, Timestamp)> = Vec::new();
        let mut tsa = String::new();
        for (stamp, _) in &self.timestamps {
            let path = timestamp_file(stamp.size);
            let verified = base64::engine::general_purpose::STANDARD
                .decode(&stamp.token)
                .map_err(|e| format!("token: {e}"))
                .and_then(|token| {
                    crate::timestamp::verify_token(
                        &token,
                        stamp.checkpoint.as_bytes(),
                        certificate,
                        None,
                    )
                    .map_err(|e| e.to_string())
                });
            match verified {
                Ok(s) if s.gen_time == stamp.gen_time => {
                    tsa = s.tsa;
                    dated.push((stamp.size, s.gen_time));
                }
                Ok(s) => self.failures.push(format!(
                    "{path}: says {}, its token {}",
                    stamp.gen_time, s.gen_time
                )),
                Err(e) => self.failures.push(format!("{path}: {e}")),
            }
        }
        dated.sort();
        let mut times: Vec<Timestamp> = Vec::new();
        for index in self.leaves.values() {
            if let Some((_, at)) = dated.iter().find(|(size, _)| size > index) {
                times.push(*at);
            }
        }
        times.sort();
        let undated = self.leaves.len() - times.len();
        let range = match (times.first(), times.last()) {
            (Some(a), Some(b)) => format!(", the first by {a}, the last by {b}"),
            _ => String::new(),
        };
        self.notes.push(format!(
            "{} of {} envelope(s) existed by the time of a time-stamped checkpoint (RFC 3161, \
             TSA {tsa}){range}{}",
            times.len(),
            self.leaves.len(),
            if undated > 0 {
                format!("; {undated} are past the newest time-stamp")
            } else {
                String::new()
            }
        ));
    }

    /// Requires the bundle's snapshots to be in a checkpoint cosigned by at least `quorum` of
    /// `witnesses` (C2SP `cosignature/v1`): the bundle's own checkpoint, or else the older
    /// witnessed one it carries, proved a prefix of it; a snapshot past every witnessed tree
    /// is a failure by name (the witnesses had not seen it when the bundle was made: make the
    /// bundle again later). Adds the failures and a note naming the witnesses and when each
    /// cosigned.
    pub fn check_witnesses(&mut self, witnesses: &[Witness], quorum: usize) {
        let (Some(key), Some(note), Some(checkpoint)) =
            (&self.log_key, &self.log_note, &self.checkpoint)
        else {
            self.failures
                .push("--witness: the bundle has no checkpoint of the log that verified".into());
            return;
        };
        let log = match NoteVerifier::new(&checkpoint.origin, key.clone()) {
            Ok(v) => v,
            Err(e) => {
                self.failures.push(format!("{LOG_CHECKPOINT_FILE}: {e}"));
                return;
            }
        };
        let named = |by: &[Cosigned]| {
            by.iter()
                .map(|c| {
                    let at = Timestamp::from_unix_micros((c.time as i64).saturating_mul(1_000_000))
                        .map(|t| t.to_string())
                        .unwrap_or_else(|| c.time.to_string());
                    format!("{} at {at}", c.witness)
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let own = open_witnessed(note, &log, witnesses, quorum);
        let (size, by) = match (own, &self.witnessed) {
            (Ok((c, by)), _) => (c.size, by),
            (Err(e), None) => {
                self.failures.push(format!(
                    "{LOG_CHECKPOINT_FILE}: not witnessed: {e} (and the bundle carries no \
                     older witnessed checkpoint)"
                ));
                return;
            }
            (Err(_), Some((older, _))) => match open_witnessed(older, &log, witnesses, quorum) {
                Ok((c, by)) => (c.size, by),
                Err(e) => {
                    self.failures
                        .push(format!("{LOG_WITNESSED_FILE}: not witnessed: {e}"));
                    return;
                }
            },
        };
        let mut past = 0;
        for (digest, index) in &self.leaves {
            if *index >= size {
                past += 1;
                self.failures.push(format!(
                    "{}: leaf {index} is past the newest witnessed checkpoint ({size} leaves): \
                     the witnesses had not seen it when the bundle was made",
                    inclusion_file(digest)
                ));
            }
        }
        self.notes.push(format!(
            "the log's checkpoint of {size} leaves is cosigned by {} of the {} witness(es) given \
             ({}); {} of {} envelope(s) in it",
            by.len(),
            witnesses.len(),
            named(&by),
            self.leaves.len() - past,
            self.leaves.len()
        ));
    }
}

/// A member's path as the bundle names it: `./` steps dropped, so that a bundle an auditor
/// unpacked and packed again with `tar -C DIR .` (members `./manifest.json`, …) reads the
/// same; absolute paths and `..` are refused.
fn member_path(raw: &std::path::Path) -> Result<String, String> {
    use std::path::Component;
    let mut parts = Vec::new();
    for c in raw.components() {
        match c {
            Component::CurDir => {}
            Component::Normal(part) => parts.push(part.to_string_lossy()),
            Component::RootDir | Component::Prefix(_) | Component::ParentDir => {
                return Err(format!("{}: member path is not allowed", raw.display()));
            }
        }
    }
    if parts.is_empty() {
        return Err(format!("{}: member path is not allowed", raw.display()));
    }
    Ok(parts.join("/"))
}

/// Reads a `.tar.gz` into path → bytes; refuses links, absolute or `..` paths, duplicates.
pub fn unpack(bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut files = BTreeMap::new();
    let mut total = 0u64;
    for entry in archive
        .entries()
        .map_err(|e| format!("not a .tar.gz: {e}"))?
    {
        let mut entry = entry.map_err(|e| format!("not a .tar.gz: {e}"))?;
        let raw = entry
            .path()
            .map_err(|e| format!("bad member name: {e}"))?
            .into_owned();
        if entry.header().entry_type().is_dir() {
            continue;
        }
        let path = member_path(&raw)?;
        if !entry.header().entry_type().is_file() {
            return Err(format!("{path}: not a regular file"));
        }
        total += entry.size();
        if total > MAX_UNPACKED {
            return Err(format!("bundle unpacks to more than {MAX_UNPACKED} bytes"));
        }
        // The header's size is the archive's claim, not a promise: reserve at most 1 MiB up
        // front, so a few forged bytes cannot make us allocate gigabytes.
        let mut buf = Vec::with_capacity(entry.size().min(1 << 20) as usize);
        entry
            .read_to_end(&mut buf)
            .map_err(|e| format!("{path}: {e}"))?;
        if files.insert(path.clone(), buf).is_some() {
            return Err(format!("{path}: appears twice"));
        }
    }
    // The tar reader stops at the end-of-archive blocks: read the compressed stream to its end
    // too, so that its CRC and length are checked and damage anywhere in the file is refused.
    std::io::copy(&mut archive.into_inner(), &mut std::io::sink())
        .map_err(|e| format!("the .tar.gz is damaged: {e}"))?;
    Ok(files)
}

/// Re-derives the stored results of a bundle (`results/*.json`) from the packs it carries and
/// the envelopes that verified, adding a failure for each disagreement; answers how many
/// results it re-derived. The server's `bundle::verify` passes the policy engine's check;
/// [`verify_with`] knows nothing of policies.
pub trait ResultsCheck:
    FnOnce(&BTreeMap<String, Vec<u8>>, &BTreeSet<Digest>, &mut BundleReport) -> usize
{
}
impl<F: FnOnce(&BTreeMap<String, Vec<u8>>, &BTreeSet<Digest>, &mut BundleReport) -> usize>
    ResultsCheck for F
{
}

/// Checks a bundle offline, everything included: [`verify_with`] with the stored results
/// re-derived from their packs ([`crate::results::check_results`]).
pub fn verify(bytes: &[u8], pinned: Option<&Keyring>, threads: usize) -> BundleReport {
    verify_with(bytes, pinned, threads, crate::results::check_results)
}

/// Checks a bundle offline, all but its stored results, which `check_results` re-derives.
/// With `pinned`, the keys the auditor obtained from the organisation (`vouch keys export`),
/// the bundle's own keys must match them; without, the bundle's keys are used and a note says
/// which server key to compare.
pub fn verify_with(
    bytes: &[u8],
    pinned: Option<&Keyring>,
    threads: usize,
    check_results: impl ResultsCheck,
) -> BundleReport {
    let mut r = BundleReport::default();
    let mut files = match unpack(bytes) {
        Ok(f) => f,
        Err(e) => {
            r.failures.push(e);
            return r;
        }
    };
    let Some(manifest_bytes) = files.remove(MANIFEST_FILE) else {
        r.failures
            .push(format!("no {MANIFEST_FILE}: not a Vouch evidence bundle"));
        return r;
    };

    // Keys: the bundle's, checked against the pinned ones when given.
    let keys_text = files
        .get("keys/keys.txt")
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let mut ring = match Keyring::parse(&keys_text, "keys/keys.txt") {
        Ok(ring) => ring,
        Err(errors) => {
            r.failures.extend(errors);
            Keyring::default()
        }
    };
    let server_keys: Vec<PublicKey> = ring.current_of(SERVER_KEY_OWNER).cloned().collect();
    let server_key = match server_keys.as_slice() {
        [k] => Some(k.clone()),
        [] => {
            r.failures
                .push("keys/keys.txt: no server key (vouch-server-receipts)".into());
            None
        }
        _ => {
            r.failures
                .push("keys/keys.txt: more than one server key".into());
            None
        }
    };
    match (pinned, &server_key) {
        (Some(pinned), _) => {
            for line in keys_text.lines().map(str::trim) {
                let Ok((key, owner)) = PublicKey::from_line(line) else {
                    continue;
                };
                match pinned.get(&key.id()) {
                    Some((_, o)) if o == owner => {}
                    Some((_, o)) => r.failures.push(format!(
                        "keys/keys.txt: key {} belongs to {o} in the pinned keys, not {owner}",
                        key.id()
                    )),
                    // Keys pinned before the log existed name no log key: the bundle's is
                    // then used, and said so.
                    None if owner == LOG_KEY_OWNER
                        && pinned.of_owner(LOG_KEY_OWNER).next().is_none() =>
                    {
                        r.notes.push(format!(
                            "the pinned keys name no log key: the log's proofs were checked with \
                             the bundle's own ({}); compare it with your organisation's `vouch \
                             keys export`",
                            key.id()
                        ))
                    }
                    None => match rotated_from_pinned(&files, pinned, &key, &owner) {
                        Some(from) => r.notes.push(format!(
                            "the key of {owner} ({}) is not pinned, but the bundle shows it \
                             introduced by the pinned key {from} (a rotation signed by both)",
                            key.id()
                        )),
                        None => r.failures.push(format!(
                            "keys/keys.txt: the key of {owner} ({}) is not among the pinned keys",
                            key.id()
                        )),
                    },
                }
            }
        }
        (None, Some(k)) => r.notes.push(format!(
            "keys were taken from the bundle itself: compare the server key id {} with the one \
             your organisation published (or pass --keys)",
            k.id()
        )),
        (None, None) => {}
    }

    // A revocation the auditor knows of holds even when the bundle leaves it out.
    if let Some(pinned) = pinned {
        for (agent, at, reason) in pinned.revocations() {
            ring.add_revocation(agent, at, reason);
        }
    }

    // The manifest's signature, then every file against it.
    let manifest = Envelope::from_slice(&manifest_bytes)
        .map_err(|e| e.to_string())
        .and_then(|env| {
            let key = server_key
                .as_ref()
                .ok_or_else(|| "no server key to check it with".to_string())?;
            env.verify(MANIFEST_PAYLOAD_TYPE, |id| (*id == key.id()).then_some(key))
                .map_err(|e| e.to_string())
        })
        .and_then(|v| {
            serde_json::from_slice::<Manifest>(&v.payload)
                .map_err(|e| format!("payload is not a bundle manifest: {e}"))
        });
    let manifest = match manifest {
        Ok(m) => m,
        Err(e) => {
            r.failures.push(format!(
                "{MANIFEST_FILE}: signature does not verify with the server key: {e}"
            ));
            return r;
        }
    };
    for (path, want) in &manifest.files {
        match files.get(path) {
            None => r
                .failures
                .push(format!("{path}: listed in the manifest but missing")),
            Some(b) if Digest::of(b) != *want => r.failures.push(format!(
                "{path}: content differs from the manifest (sha256 {} there, {} here)",
                want,
                Digest::of(b)
            )),
            Some(_) => {}
        }
    }
    for path in files.keys() {
        if !manifest.files.contains_key(path) {
            r.failures
                .push(format!("{path}: not listed in the manifest"));
        }
    }

    // Envelopes: signatures, payloads, chains.
    let blobs: Vec<(PathBuf, &[u8])> = files
        .iter()
        .filter(|(p, _)| p.starts_with("envelopes/"))
        .map(|(p, b)| (PathBuf::from(p), b.as_slice()))
        .collect();
    let report = verify_blobs_at(&blobs, &ring, Depth::Canonical, threads);
    r.failures.extend(
        report
            .failure_lines()
            .into_iter()
            .map(|l| l.strip_prefix("FAIL ").map(str::to_string).unwrap_or(l)),
    );
    r.notes.extend(report.notes());
    let mut envelopes: BTreeMap<Digest, vouch_evidence::ChainLink> = BTreeMap::new();
    for f in &report.files {
        if let Ok((digest, link)) = &f.result {
            let expected = format!("envelopes/{digest}.json");
            if f.path.as_path() != std::path::Path::new(&expected) {
                r.failures.push(format!(
                    "{}: holds snapshot {digest}, so it should be named {expected}",
                    f.path.display()
                ));
            }
            envelopes.insert(*digest, link.clone());
        }
    }

    // The population list against the manifest and the envelopes.
    let population: Vec<SnapshotRef> = match files
        .get("population.json")
        .map(|b| serde_json::from_slice(b))
    {
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            r.failures.push(format!("population.json: {e}"));
            Vec::new()
        }
        None => Vec::new(),
    };
    let digests: Vec<Digest> = population.iter().map(|m| m.digest).collect();
    if population.len() as u64 != manifest.population_count
        || sample::population_fingerprint(&digests) != manifest.population_fingerprint
    {
        r.failures.push(format!(
            "population.json: {} snapshots with fingerprint {}, but the manifest says {} with {}",
            population.len(),
            sample::population_fingerprint(&digests),
            manifest.population_count,
            manifest.population_fingerprint
        ));
    }
    let members: BTreeMap<Digest, &SnapshotRef> =
        population.iter().map(|m| (m.digest, m)).collect();
    for (digest, link) in &envelopes {
        match members.get(digest) {
            None => r.failures.push(format!(
                "envelopes/{digest}.json: not a member of the population"
            )),
            Some(m)
                if chain_of(m) != link.chain
                    || m.sequence != link.sequence
                    || m.previous_digest != link.previous_digest =>
            {
                r.failures.push(format!(
                    "population.json: the entry for {digest} does not match its envelope"
                ))
            }
            Some(_) => {}
        }
    }
    let chains: BTreeSet<ChainKey> = envelopes.values().map(|l| l.chain.clone()).collect();
    for m in &population {
        if chains.contains(&chain_of(m)) && !envelopes.contains_key(&m.digest) {
            r.failures.push(format!(
                "chain {}: sequence {} ({}) is in the population but its envelope is not in the bundle",
                chain_of(m),
                m.sequence,
                m.digest
            ));
        }
    }

    // The sample follows from the population and the seed.
    if manifest.algorithm != SAMPLE_ALGORITHM {
        r.failures.push(format!(
            "manifest: sampling algorithm {:?} is not {SAMPLE_ALGORITHM}",
            manifest.algorithm
        ));
    }
    let redrawn = sample::draw(&digests, &manifest.query.seed, manifest.query.size as usize);
    if redrawn != manifest.sample {
        r.failures.push(format!(
            "sample: the manifest's {} snapshot(s) are not what seed {:?} draws from the population",
            manifest.sample.len(),
            manifest.query.seed
        ));
    }
    for d in &manifest.sample {
        if !envelopes.contains_key(d) {
            r.failures.push(format!(
                "sample: snapshot {d} has no verified envelope in the bundle"
            ));
        }
    }

    // Receipts.
    if let Some(key) = &server_key {
        for digest in envelopes.keys() {
            let path = format!("receipts/{digest}.json");
            let checked = files
                .get(&path)
                .ok_or_else(|| "missing".to_string())
                .and_then(|b| Envelope::from_slice(b).map_err(|e| e.to_string()))
                .and_then(|env| {
                    // The receipts key that signed it: the current one, or one rotated away
                    // since (what it signed before its rotation stays valid).
                    let signer = env
                        .signatures
                        .iter()
                        .filter_map(|s| s.keyid.parse::<vouch_evidence::KeyId>().ok())
                        .find_map(|id| {
                            ring.get(&id)
                                .filter(|(_, o)| *o == SERVER_KEY_OWNER)
                                .map(|(k, _)| k.clone())
                        })
                        .unwrap_or_else(|| key.clone());
                    let receipt = Receipt::verify(&env, &signer).map_err(|e| e.to_string())?;
                    match ring.rotation(&signer.id()) {
                        Some((_, at)) if receipt.received_at >= at => Err(format!(
                            "signed at {} by the server's receipts key {}, rotated at {at}",
                            receipt.received_at,
                            signer.id()
                        )),
                        _ => Ok(receipt),
                    }
                });
            let revoked = envelopes
                .get(digest)
                .and_then(|link| ring.revocation(&link.chain.agent_id));
            let rotated = signer_of(&files, digest, &ring).and_then(|k| {
                ring.rotation(&k)
                    .map(|(agent, at)| (k, agent.to_string(), at))
            });
            match checked {
                Ok(receipt) if receipt.digest != *digest => r.failures.push(format!(
                    "{path}: receipt is for {}, not {digest}",
                    receipt.digest
                )),
                Ok(receipt) if revoked.is_some_and(|(at, _)| receipt.received_at >= at) => {
                    let (at, reason) = revoked.expect("checked");
                    r.failures.push(format!(
                        "{path}: received at {}, after its agent was revoked at {at} ({reason})",
                        receipt.received_at
                    ))
                }
                Ok(receipt)
                    if rotated
                        .as_ref()
                        .is_some_and(|(_, _, at)| receipt.received_at >= *at) =>
                {
                    let (key, agent, at) = rotated.expect("checked");
                    r.failures.push(format!(
                        "{path}: received at {}, signed by key {key} of agent {agent}, which it \
                         rotated at {at}: nothing signed by that key is accepted from then on",
                        receipt.received_at
                    ))
                }
                Ok(_) => {}
                Err(e) => r.failures.push(format!("{path}: {e}")),
            }
        }
    }
    check_rotations(&files, &ring, &mut r);
    let statuses = crate::keystatus::check(&files, &ring, server_key.as_ref(), &mut r);
    let verified: BTreeSet<Digest> = envelopes.keys().copied().collect();
    let logged = check_log(&files, &ring, pinned, &verified, &mut r);
    let results = check_results(&files, &verified, &mut r);
    let verdicts = crate::verdicts::check_verdicts(&files, &ring, pinned, &population, &mut r);
    r.summary = format!(
        "sample of {} from a population of {} snapshot(s) (fingerprint {}), seed {:?}; {} envelope(s) in {} chain(s); {logged}; {results} policy result(s) re-derived from their packs; {verdicts}; {statuses}; server key {}",
        manifest.sample.len(),
        manifest.population_count,
        manifest.population_fingerprint,
        manifest.query.seed,
        envelopes.len(),
        chains.len(),
        server_key.map(|k| k.id().to_string()).unwrap_or_default()
    );
    r
}

/// The member holding the rotation an agent signed to retire its key `keyid`.
pub fn rotation_file(keyid: &vouch_evidence::KeyId) -> String {
    format!("keys/rotations/{keyid}.json")
}

/// The pinned key of `owner` from which the bundle's verified rotations lead to `key`, if
/// any: the chain an auditor follows when the organisation rotated a key after they pinned
/// its keys.
fn rotated_from_pinned(
    files: &BTreeMap<String, Vec<u8>>,
    pinned: &Keyring,
    key: &PublicKey,
    owner: &str,
) -> Option<vouch_evidence::KeyId> {
    use vouch_evidence::rotation::KeyRotation;
    let mut next: BTreeMap<vouch_evidence::KeyId, PublicKey> = BTreeMap::new();
    for (path, bytes) in files
        .iter()
        .filter(|(p, _)| p.starts_with("keys/rotations/"))
    {
        let Some(rot) = Envelope::from_slice(bytes)
            .ok()
            .and_then(|e| KeyRotation::open(&e).ok())
            .filter(|r| r.owner == owner)
        else {
            continue;
        };
        if let (Ok(old), Ok(new)) = (rot.old(), rot.new_public())
            && *path == rotation_file(&old.id())
        {
            next.insert(old.id(), new);
        }
    }
    for start in pinned.of_owner(owner) {
        let mut at = start.clone();
        for _ in 0..=next.len() {
            if at == *key {
                return Some(start.id());
            }
            match next.get(&at.id()) {
                Some(n) => at = n.clone(),
                None => break,
            }
        }
    }
    None
}

/// The key of `ring` that signed the envelope of `digest` in the bundle.
fn signer_of(
    files: &BTreeMap<String, Vec<u8>>,
    digest: &Digest,
    ring: &Keyring,
) -> Option<vouch_evidence::KeyId> {
    let env = Envelope::from_slice(files.get(&format!("envelopes/{digest}.json"))?).ok()?;
    env.signatures
        .iter()
        .filter_map(|s| s.keyid.parse::<vouch_evidence::KeyId>().ok())
        .find(|k| ring.get(k).is_some())
}

/// Checks every key rotation the keys record: the rotation the agent signed is in the bundle
/// (`keys/rotations/<key id>.json`), signed by the retired key and its successor, both keys of
/// that agent; and every rotation in the bundle is one the keys record.
fn check_rotations(files: &BTreeMap<String, Vec<u8>>, ring: &Keyring, r: &mut BundleReport) {
    use vouch_evidence::rotation::KeyRotation;
    let mut expected = BTreeSet::new();
    for (keyid, agent, _) in ring.rotations() {
        let path = rotation_file(keyid);
        expected.insert(path.clone());
        let checked = files
            .get(&path)
            .ok_or_else(|| "missing: nothing shows the agent itself changed its key".to_string())
            .and_then(|b| Envelope::from_slice(b).map_err(|e| e.to_string()))
            .and_then(|env| KeyRotation::open(&env).map_err(|e| e.to_string()))
            .and_then(|rot| {
                let old = rot.old().map_err(|e| e.to_string())?;
                let new = rot.new_public().map_err(|e| e.to_string())?;
                if rot.owner != agent || old.id() != *keyid {
                    return Err(format!(
                        "it rotates key {} of agent {}, not key {keyid} of agent {agent}",
                        old.id(),
                        rot.owner
                    ));
                }
                match ring.get(&new.id()) {
                    Some((_, owner)) if owner == agent => Ok(()),
                    _ => Err(format!(
                        "its new key {} is no key of agent {agent} in keys/keys.txt",
                        new.id()
                    )),
                }
            });
        if let Err(e) = checked {
            r.failures.push(format!("{path}: {e}"));
        }
    }
    for path in files.keys().filter(|p| p.starts_with("keys/rotations/")) {
        if !expected.contains(path) {
            r.failures
                .push(format!("{path}: a rotation keys/keys.txt does not record"));
        }
    }
}

/// Checks the bundle's transparency-log proofs: the checkpoint signed by the log's key (the
/// `vouch-server-log` line of the keys), and every verified envelope a leaf of its tree.
/// Answers a phrase for the summary; keeps the checkpoint in the report.
fn check_log(
    files: &BTreeMap<String, Vec<u8>>,
    ring: &Keyring,
    pinned: Option<&Keyring>,
    envelopes: &BTreeSet<Digest>,
    r: &mut BundleReport,
) -> String {
    let keys: Vec<&PublicKey> = ring.of_owner(LOG_KEY_OWNER).collect();
    let pinned_log = pinned.is_some_and(|p| p.of_owner(LOG_KEY_OWNER).next().is_some());
    let note = files.get(LOG_CHECKPOINT_FILE);
    let key = match (keys.as_slice(), note) {
        (_, None) if pinned_log => {
            r.failures.push(format!(
                "{LOG_CHECKPOINT_FILE}: missing, though the pinned keys name the server's log \
                 key: the bundle does not show the snapshots are in the log"
            ));
            return "no log proofs".into();
        }
        ([], None) => {
            r.notes.push(
                "the bundle carries no transparency-log proofs (made by a server from before the \
                 log): nothing shows these snapshots are in the log every agent checks"
                    .into(),
            );
            return "no log proofs".into();
        }
        ([k], Some(_)) => *k,
        ([], Some(_)) => {
            r.failures.push(format!(
                "{LOG_CHECKPOINT_FILE}: no log key ({LOG_KEY_OWNER}) in keys/keys.txt to check it with"
            ));
            return "log not checked".into();
        }
        (_, Some(_)) => {
            r.failures.push(format!(
                "keys/keys.txt: more than one log key ({LOG_KEY_OWNER})"
            ));
            return "log not checked".into();
        }
        (_, None) => {
            r.failures.push(format!(
                "{LOG_CHECKPOINT_FILE}: missing, though keys/keys.txt names a log key"
            ));
            return "no log proofs".into();
        }
    };
    let note = String::from_utf8_lossy(note.expect("matched above"));
    let checkpoint = match open_checkpoint(&note, key) {
        Ok((c, _)) => c,
        Err(e) => {
            r.failures.push(format!("{LOG_CHECKPOINT_FILE}: {e}"));
            return "log not checked".into();
        }
    };
    check_witnessed(files, key, &checkpoint, r);
    check_timestamped(files, key, &checkpoint, r);
    let mut included = 0;
    for digest in envelopes {
        let path = inclusion_file(digest);
        let checked = files
            .get(&path)
            .ok_or_else(|| "missing: nothing shows the snapshot is in the log".to_string())
            .and_then(|b| {
                serde_json::from_slice::<InclusionProof>(b)
                    .map_err(|e| format!("not an inclusion proof: {e}"))
            })
            .and_then(|p| {
                if p.digest != *digest {
                    return Err(format!("the proof is for {}", p.digest));
                }
                p.verify(&checkpoint).map_err(|e| e.to_string())?;
                Ok(p.index)
            });
        match checked {
            Ok(index) => {
                included += 1;
                r.leaves.insert(*digest, index);
            }
            Err(e) => r.failures.push(format!("{path}: {e}")),
        }
    }
    let phrase = format!(
        "{included} of {} envelope(s) proved in the log's checkpoint of {} leaves ({})",
        envelopes.len(),
        checkpoint.size,
        checkpoint.origin
    );
    r.checkpoint = Some(checkpoint);
    r.log_key = Some(key.clone());
    r.log_note = Some(note.into_owned());
    phrase
}

/// Checks the time-stamps a bundle carries (`log/timestamps/<size>.json`): each over a
/// checkpoint signed by the log's key, of the size its name says, and proved a prefix of the
/// bundle's checkpoint; kept in the report for [`BundleReport::check_timestamps`].
fn check_timestamped(
    files: &BTreeMap<String, Vec<u8>>,
    key: &PublicKey,
    checkpoint: &Checkpoint,
    r: &mut BundleReport,
) {
    for (path, bytes) in files
        .iter()
        .filter(|(p, _)| p.starts_with("log/timestamps/"))
    {
        let checked = serde_json::from_slice::<crate::timestamp::TimestampProof>(bytes)
            .map_err(|e| format!("not a time-stamp: {e}"))
            .and_then(|t| {
                if *path != timestamp_file(t.size) {
                    return Err(format!("holds the time-stamp of {} leaves", t.size));
                }
                let (older, _) = open_checkpoint(&t.checkpoint, key).map_err(|e| e.to_string())?;
                if older.size != t.size {
                    return Err(format!("its checkpoint has {} leaves", older.size));
                }
                if older.size == checkpoint.size {
                    if older.root != checkpoint.root {
                        return Err("its checkpoint is of another tree of the same size".into());
                    }
                } else {
                    ConsistencyProof {
                        from: older.size,
                        to: checkpoint.size,
                        proof: t.consistency.clone(),
                        checkpoint: None,
                    }
                    .verify(&older, checkpoint)
                    .map_err(|e| e.to_string())?;
                }
                Ok((t, older))
            });
        match checked {
            Ok(stamp) => r.timestamps.push(stamp),
            Err(e) => r.failures.push(format!("{path}: {e}")),
        }
    }
    if !r.timestamps.is_empty() {
        r.notes.push(format!(
            "the bundle carries {} RFC 3161 time-stamp(s) of the log's checkpoints: check them \
             with --tsa-cert <the TSA's certificate>",
            r.timestamps.len()
        ));
    }
}

/// Checks the older witnessed checkpoint a bundle carries, when it does: signed by the log's
/// key, its tree a prefix of the bundle's checkpoint's; kept in the report for
/// [`BundleReport::check_witnesses`].
fn check_witnessed(
    files: &BTreeMap<String, Vec<u8>>,
    key: &PublicKey,
    checkpoint: &Checkpoint,
    r: &mut BundleReport,
) {
    let (note, proof) = match (
        files.get(LOG_WITNESSED_FILE),
        files.get(LOG_WITNESSED_PROOF_FILE),
    ) {
        (None, None) => return,
        (Some(n), Some(p)) => (String::from_utf8_lossy(n).into_owned(), p),
        (Some(_), None) => {
            r.failures.push(format!(
                "{LOG_WITNESSED_PROOF_FILE}: missing beside {LOG_WITNESSED_FILE}"
            ));
            return;
        }
        (None, Some(_)) => {
            r.failures.push(format!(
                "{LOG_WITNESSED_FILE}: missing beside {LOG_WITNESSED_PROOF_FILE}"
            ));
            return;
        }
    };
    let older = match open_checkpoint(&note, key) {
        Ok((c, _)) => c,
        Err(e) => {
            r.failures.push(format!("{LOG_WITNESSED_FILE}: {e}"));
            return;
        }
    };
    let checked = serde_json::from_slice::<ConsistencyProof>(proof)
        .map_err(|e| format!("not a consistency proof: {e}"))
        .and_then(|p| p.verify(&older, checkpoint).map_err(|e| e.to_string()));
    match checked {
        Ok(()) => r.witnessed = Some((note, older)),
        Err(e) => r.failures.push(format!("{LOG_WITNESSED_PROOF_FILE}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::default(),
        ));
        for (path, bytes) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, path, *bytes).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    /// Members named `./…` (a bundle repacked with `tar -C DIR .`) read as the same names;
    /// absolute and `..` paths are still refused.
    #[test]
    fn dot_slash_members_read_as_their_names() {
        let files = unpack(&tar_gz(&[
            ("./manifest.json", b"{}"),
            ("./envelopes/a.json", b"1"),
        ]))
        .unwrap();
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            ["envelopes/a.json", "manifest.json"]
        );
        for bad in ["../x", "a/../../x"] {
            assert!(member_path(std::path::Path::new(bad)).is_err(), "{bad}");
        }
        assert!(member_path(std::path::Path::new("/etc/passwd")).is_err());
    }

    /// Regression (a bundle with a byte flipped in its middle passed `vouch verify` now and
    /// then): damage past the tar's end-of-archive blocks — here the gzip CRC itself — went
    /// unread, so unnoticed. The whole compressed stream is now read and checked.
    #[test]
    fn damage_anywhere_in_the_compressed_file_is_refused() {
        let good = tar_gz(&[("manifest.json", b"{}"), ("envelopes/a.json", b"{\"a\":1}")]);
        let files = unpack(&good).unwrap();
        assert_eq!(files.len(), 2);
        let mut crc_damaged = good.clone();
        let at = crc_damaged.len() - 8;
        crc_damaged[at] ^= 0x20;
        let e = unpack(&crc_damaged).unwrap_err();
        assert!(e.contains("damaged"), "{e}");
    }

    /// Found by reading for the fuzz target: a member's header may claim gigabytes that the
    /// archive does not hold; reading it must not reserve what the header claims.
    #[test]
    fn a_forged_member_size_is_not_allocated() {
        let mut header = tar::Header::new_gnu();
        header.set_path("envelopes/a.json").unwrap();
        header.set_size(3 << 30);
        header.set_mode(0o644);
        header.set_cksum();
        let mut raw = header.as_bytes().to_vec();
        raw.extend_from_slice(&[b'x'; 512]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &raw).unwrap();
        // Refused as truncated (the tar reader finds the end of the data while skipping).
        let e = unpack(&gz.finish().unwrap()).unwrap_err();
        assert!(e.contains("EOF"), "{e}");
    }
}
