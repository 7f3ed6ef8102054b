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

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vouch_evidence::api::{SampleQuery, SnapshotRef};
use vouch_evidence::cosign::{Cosigned, Witness, open_witnessed};
use vouch_evidence::note::{Checkpoint, NoteVerifier};
use vouch_evidence::{ChainKey, Digest, PublicKey, Timestamp};

mod check;
mod log;
mod rotation;
pub use check::{ResultsCheck, unpack, verify, verify_with};
pub use rotation::rotation_file;

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

#[cfg(test)]
mod tests {
    use super::check::member_path;
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
