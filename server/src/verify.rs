//! Offline verification of snapshot envelopes (`vouch verify`): no server, only the files and
//! the public keys.
//!
//! For each file: the DSSE signature must be by a key in the keyring and must verify over the
//! exact bytes; the payload must be a snapshot of a known schema; the snapshot must name the
//! agent the key belongs to (when the keyring says which). Then every chain among the files is
//! audited: gaps, forks and broken links are named. With `strict`, each payload is also checked
//! to be RFC 8785 canonical and schema-valid in full (the server checks this at ingest; the
//! default skips it for speed, as the signature already fixes every byte).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use vouch_evidence::chain::{self, Problem};
use vouch_evidence::dsse::Envelope;
use vouch_evidence::{
    ChainLink, Digest, KeyId, PublicKey, SNAPSHOT_PAYLOAD_TYPE, Snapshot, SnapshotHeader,
};

/// Public keys and what each belongs to (the comment of its line: an agent id, or a name).
#[derive(Debug, Default, Clone)]
pub struct Keyring {
    keys: HashMap<KeyId, (PublicKey, String)>,
}

impl Keyring {
    /// Loads a keys file (`ed25519 <base64> <comment>` lines, `#` comments) or every `*.pub`
    /// file in a directory. Every bad line is reported, with file and line number.
    pub fn load(path: &Path) -> Result<Self, Vec<String>> {
        let files: Vec<PathBuf> = if path.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| vec![format!("{}: {e}", path.display())])?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "pub"))
                .collect();
            v.sort();
            v
        } else {
            vec![path.to_path_buf()]
        };
        let mut ring = Keyring::default();
        let mut errors = Vec::new();
        for file in files {
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(format!("{}: {e}", file.display()));
                    continue;
                }
            };
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                match PublicKey::from_line(line) {
                    Ok((key, comment)) => ring.add(key, comment),
                    Err(e) => errors.push(format!("{}:{}: {e}", file.display(), n + 1)),
                }
            }
        }
        if errors.is_empty() {
            Ok(ring)
        } else {
            Err(errors)
        }
    }

    /// Adds a key with what it belongs to.
    pub fn add(&mut self, key: PublicKey, owner: String) {
        self.keys.insert(key.id(), (key, owner));
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The outcome for one file.
#[derive(Debug)]
pub struct FileOutcome {
    /// The file.
    pub path: PathBuf,
    /// Its digest and chain position, or why it failed.
    pub result: Result<(Digest, ChainLink), String>,
}

/// What `verify_files` found.
#[derive(Debug)]
pub struct Report {
    /// One outcome per file, in the order given.
    pub files: Vec<FileOutcome>,
    /// The chain audit over the files that verified.
    pub chains: chain::Report,
}

impl Report {
    /// True when every file verified and no chain has a gap, fork or broken link.
    pub fn ok(&self) -> bool {
        self.files.iter().all(|f| f.result.is_ok())
            && self.chains.integrity_problems().next().is_none()
    }

    /// One line per failed file, then one per chain problem.
    pub fn failure_lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .files
            .iter()
            .filter_map(|f| {
                f.result
                    .as_ref()
                    .err()
                    .map(|e| format!("FAIL {}: {e}", f.path.display()))
            })
            .collect();
        out.extend(
            self.chains
                .integrity_problems()
                .map(|p| format!("FAIL {p}")),
        );
        out
    }

    /// Notes that are not failures (a sample that starts after sequence 1).
    pub fn notes(&self) -> Vec<String> {
        self.chains
            .problems
            .iter()
            .filter(|p| matches!(p, Problem::StartsLate { .. }))
            .map(|p| format!("note: {p} (earlier snapshots were not given)"))
            .collect()
    }
}

/// Verifies one envelope's bytes.
pub fn verify_bytes(
    bytes: &[u8],
    keys: &Keyring,
    strict: bool,
) -> Result<(Digest, ChainLink), String> {
    let envelope = Envelope::from_slice(bytes).map_err(|e| e.to_string())?;
    let verified = envelope
        .verify(SNAPSHOT_PAYLOAD_TYPE, |id| {
            keys.keys.get(id).map(|(k, _)| k)
        })
        .map_err(|e| e.to_string())?;
    let link = if strict {
        Snapshot::from_payload(&verified.payload)
            .map_err(|e| e.to_string())?
            .link()
    } else {
        SnapshotHeader::from_payload(&verified.payload)
            .map_err(|e| e.to_string())?
            .link()
    };
    let owner = &keys.keys[&verified.keyid].1;
    if owner.starts_with("agt_") && *owner != link.chain.agent_id {
        return Err(format!(
            "signed with the key of agent {owner} but names agent {}",
            link.chain.agent_id
        ));
    }
    Ok((verified.digest, link))
}

/// Verifies every file and audits the chains they form.
pub fn verify_files(paths: &[PathBuf], keys: &Keyring, strict: bool) -> Report {
    let files: Vec<FileOutcome> = paths
        .iter()
        .map(|p| FileOutcome {
            path: p.clone(),
            result: std::fs::read(p)
                .map_err(|e| format!("cannot read: {e}"))
                .and_then(|b| verify_bytes(&b, keys, strict)),
        })
        .collect();
    let chains = chain::audit(files.iter().filter_map(|f| f.result.as_ref().ok().cloned()));
    Report { files, chains }
}
