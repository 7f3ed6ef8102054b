//! The agent's state directory: its key, its enrolment, the head of each chain, the spool of
//! signed snapshots not yet acknowledged, and the receipts of those that were.
//!
//! ```text
//! <state_dir>/agent.key            Ed25519 seed, base64, mode 0600 from creation
//! <state_dir>/enrollment.json      agent id, server URL, server receipt key
//! <state_dir>/chains/<id>.json     head of one chain: {chain, sequence, digest}
//! <state_dir>/spool/<id>/<seq>.json  signed envelopes awaiting acknowledgement
//! <state_dir>/spool/rejected/      envelopes the server refused, with the error beside them
//! <state_dir>/receipts/<digest>.json  the server's signed receipts
//! ```
//!
//! Every write is atomic and durable: a temporary file, fsync, rename, fsync of the directory.
//! A snapshot is spooled before its chain head advances, and on opening the head is taken from
//! the spool when the spool is ahead (a crash between the two writes), so the agent can never
//! sign two different snapshots with the same sequence.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use vouch_evidence::chain::Head;
use vouch_evidence::dsse::Envelope;
use vouch_evidence::{ChainKey, Digest, SigningKey};

/// What the server said at enrolment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    /// The server enrolled with.
    pub server_url: String,
    /// The id the server gave this agent.
    pub agent_id: String,
    /// This agent's key id.
    pub keyid: String,
    /// The server's receipt public key (base64).
    pub server_key: String,
}

#[derive(Serialize, Deserialize)]
struct HeadFile {
    chain: ChainKey,
    sequence: u64,
    digest: Digest,
}

/// The state directory.
#[derive(Clone, Debug)]
pub struct StateDir {
    root: PathBuf,
}

/// Writes `bytes` to `path` atomically and durably, with `mode`.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, path)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The directory name of a chain: hex SHA-256 of its key's text form (agent/kind:id).
pub fn chain_dir_name(chain: &ChainKey) -> String {
    Digest::of(chain.to_string().as_bytes()).to_hex()
}

impl StateDir {
    /// Opens the state directory, creating it if needed, and makes it and its subdirectories
    /// mode 0700 even if they existed with a looser mode: they hold the signing key.
    pub fn open(root: &Path) -> io::Result<Self> {
        for sub in ["", "chains", "spool", "spool/rejected", "receipts"] {
            let dir = root.join(sub);
            fs::create_dir_all(&dir)?;
            if fs::metadata(&dir)?.permissions().mode() & 0o777 != 0o700 {
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
            }
        }
        Ok(StateDir {
            root: root.to_path_buf(),
        })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn key_path(&self) -> PathBuf {
        self.root.join("agent.key")
    }

    /// Creates a new key (refusing to replace one unless `replace`).
    pub fn create_key(&self, replace: bool) -> io::Result<SigningKey> {
        if self.key_path().exists() && !replace {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists: this agent is already enrolled (use --force to re-enrol)",
                    self.key_path().display()
                ),
            ));
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| io::Error::other(e.to_string()))?;
        write_atomic(
            &self.key_path(),
            format!("{}\n", B64.encode(seed)).as_bytes(),
            0o600,
        )?;
        Ok(SigningKey::from_seed(&seed))
    }

    /// Loads the key.
    pub fn load_key(&self) -> io::Result<SigningKey> {
        let path = self.key_path();
        let text = fs::read_to_string(&path).map_err(|e| {
            io::Error::new(e.kind(), format!("{}: {e} (enrol first)", path.display()))
        })?;
        let bytes = B64
            .decode(text.trim())
            .map_err(|_| io::Error::other(format!("{}: not base64", path.display())))?;
        let seed: [u8; 32] = bytes.try_into().map_err(|_| {
            io::Error::other(format!("{}: an Ed25519 seed has 32 bytes", path.display()))
        })?;
        Ok(SigningKey::from_seed(&seed))
    }

    /// Saves the enrolment.
    pub fn save_enrollment(&self, e: &Enrollment) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(e).map_err(io::Error::other)?;
        write_atomic(&self.root.join("enrollment.json"), &json, 0o600)
    }

    /// Loads the enrolment.
    pub fn load_enrollment(&self) -> io::Result<Enrollment> {
        let path = self.root.join("enrollment.json");
        let bytes = fs::read(&path).map_err(|e| {
            io::Error::new(e.kind(), format!("{}: {e} (enrol first)", path.display()))
        })?;
        serde_json::from_slice(&bytes)
            .map_err(|e| io::Error::other(format!("{}: {e}", path.display())))
    }

    fn spool_dir(&self, chain: &ChainKey) -> PathBuf {
        self.root.join("spool").join(chain_dir_name(chain))
    }

    /// The head of `chain`: the stored head, or the newest spooled snapshot if that is ahead.
    pub fn head(&self, chain: &ChainKey) -> io::Result<Option<Head>> {
        let stored = match fs::read(
            self.root
                .join("chains")
                .join(format!("{}.json", chain_dir_name(chain))),
        ) {
            Ok(b) => {
                let h: HeadFile = serde_json::from_slice(&b).map_err(io::Error::other)?;
                Some(Head {
                    sequence: h.sequence,
                    digest: h.digest,
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let spooled = self.spooled(chain)?.pop();
        match (stored, spooled) {
            (Some(h), Some((seq, path))) if seq > h.sequence => Ok(Some(Head {
                sequence: seq,
                digest: envelope_digest(&path)?,
            })),
            (None, Some((seq, path))) => Ok(Some(Head {
                sequence: seq,
                digest: envelope_digest(&path)?,
            })),
            (stored, _) => Ok(stored),
        }
    }

    /// Records the head of `chain`.
    pub fn set_head(&self, chain: &ChainKey, head: Head) -> io::Result<()> {
        let json = serde_json::to_vec(&HeadFile {
            chain: chain.clone(),
            sequence: head.sequence,
            digest: head.digest,
        })
        .map_err(io::Error::other)?;
        write_atomic(
            &self
                .root
                .join("chains")
                .join(format!("{}.json", chain_dir_name(chain))),
            &json,
            0o600,
        )
    }

    /// Writes a signed envelope to the spool.
    pub fn spool(&self, chain: &ChainKey, sequence: u64, envelope: &[u8]) -> io::Result<PathBuf> {
        let dir = self.spool_dir(chain);
        if !dir.exists() {
            fs::create_dir_all(&dir)?;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
            write_atomic(
                &dir.join("chain.json"),
                &serde_json::to_vec(chain).map_err(io::Error::other)?,
                0o600,
            )?;
        }
        let path = dir.join(format!("{sequence:020}.json"));
        write_atomic(&path, envelope, 0o600)?;
        Ok(path)
    }

    /// The spooled envelopes of `chain`, oldest first, as (sequence, path).
    pub fn spooled(&self, chain: &ChainKey) -> io::Result<Vec<(u64, PathBuf)>> {
        spooled_in(&self.spool_dir(chain))
    }

    /// Every chain with something spooled.
    pub fn spooled_chains(&self) -> io::Result<Vec<ChainKey>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(self.root.join("spool"))? {
            let path = entry?.path().join("chain.json");
            if let Ok(bytes) = fs::read(&path) {
                out.push(
                    serde_json::from_slice(&bytes)
                        .map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?,
                );
            }
        }
        out.sort();
        Ok(out)
    }

    /// How many envelopes wait in the spool, all chains together.
    pub fn spool_depth(&self) -> io::Result<usize> {
        let mut n = 0;
        for chain in self.spooled_chains()? {
            n += self.spooled(&chain)?.len();
        }
        Ok(n)
    }

    /// Saves a receipt, then removes the acknowledged envelope from the spool.
    pub fn acknowledge(&self, spooled: &Path, digest: Digest, receipt: &[u8]) -> io::Result<()> {
        write_atomic(
            &self.root.join("receipts").join(format!("{digest}.json")),
            receipt,
            0o600,
        )?;
        fs::remove_file(spooled)?;
        sync_dir(spooled.parent().unwrap_or(Path::new(".")))
    }

    /// Moves a refused envelope to `spool/rejected/`, with the server's error beside it.
    pub fn quarantine(&self, spooled: &Path, error: &str) -> io::Result<PathBuf> {
        let name = format!(
            "{}-{}",
            spooled
                .parent()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                .unwrap_or("chain"),
            spooled
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("snapshot.json")
        );
        let target = self.root.join("spool/rejected").join(&name);
        write_atomic(
            &target.with_extension("error.json"),
            error.as_bytes(),
            0o600,
        )?;
        fs::rename(spooled, &target)?;
        sync_dir(&self.root.join("spool/rejected"))?;
        sync_dir(spooled.parent().unwrap_or(Path::new(".")))?;
        Ok(target)
    }

    /// How many envelopes were refused.
    pub fn rejected_count(&self) -> io::Result<usize> {
        Ok(fs::read_dir(self.root.join("spool/rejected"))?
            .filter_map(Result::ok)
            .filter(|e| !e.file_name().to_string_lossy().ends_with(".error.json"))
            .count())
    }

    /// How many receipts are kept.
    pub fn receipt_count(&self) -> io::Result<usize> {
        Ok(fs::read_dir(self.root.join("receipts"))?.count())
    }
}

fn spooled_in(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        let seq = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(seq) = seq {
            out.push((seq, path));
        }
    }
    out.sort();
    Ok(out)
}

/// The digest of the snapshot in an envelope file (SHA-256 of its payload).
pub fn envelope_digest(path: &Path) -> io::Result<Digest> {
    let env = Envelope::from_slice(&fs::read(path)?)
        .map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?;
    let payload = env
        .payload_bytes()
        .map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?;
    Ok(Digest::of(&payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vouch_evidence::AssetKind;

    fn chain() -> ChainKey {
        ChainKey {
            agent_id: "agt_1".into(),
            asset_kind: AssetKind::Host,
            asset_id: "m".into(),
        }
    }

    #[test]
    fn key_file_is_0600_and_not_replaced_by_accident() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateDir::open(dir.path()).unwrap();
        let k = s.create_key(false).unwrap();
        let mode = fs::metadata(dir.path().join("agent.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(s.load_key().unwrap().id(), k.id());
        assert_eq!(
            s.create_key(false).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        let mode = fs::metadata(dir.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    /// Regression: a crash after spooling but before the head was saved must not make the
    /// agent sign a second, different snapshot with the same sequence.
    #[test]
    fn head_follows_the_spool_after_a_crash_between_writes() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateDir::open(dir.path()).unwrap();
        let key = SigningKey::from_seed(&[1; 32]);
        let env = vouch_evidence::dsse::sign(&key, "t", b"payload-1");
        s.set_head(
            &chain(),
            Head {
                sequence: 4,
                digest: Digest::of(b"four"),
            },
        )
        .unwrap();
        s.spool(&chain(), 5, &env.to_vec()).unwrap();
        // no set_head: simulated crash
        let head = s.head(&chain()).unwrap().unwrap();
        assert_eq!(head.sequence, 5);
        assert_eq!(head.digest, Digest::of(b"payload-1"));
    }
}
