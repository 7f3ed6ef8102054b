//! The agent's state directory: its key, its enrolment, the head of each chain, the spool of
//! signed snapshots not yet acknowledged, and the receipts of those that were.
//!
//! ```text
//! <state_dir>/agent.key            Ed25519 seed, base64, mode 0600 from creation
//! <state_dir>/enrollment.json      agent id, server URL, server receipt key
//! <state_dir>/agent.key.new        a re-enrolment's key, until the server confirms it
//! <state_dir>/enrollment.new.json  a confirmed re-enrolment being committed
//! <state_dir>/chains/<id>.json     head of one chain: {chain, sequence, digest}
//! <state_dir>/spool/<id>/<seq>.json  signed envelopes awaiting acknowledgement
//! <state_dir>/spool/<id>/relink.json  a re-signing of the chain's spool under way
//! <state_dir>/spool/rejected/      envelopes the server refused, with the error beside them,
//!                                  named <id>-<seq>-<digest>.json (never overwritten)
//! <state_dir>/spool/corrupt/       spool files that could not be read, with the problem beside
//! <state_dir>/receipts/<digest>.json  the server's signed receipts
//! <state_dir>/cache/               what the collectors keep between processes
//!                                  (apt-offers.json), ignored unless it matches
//! ```
//!
//! Every write is atomic and durable: a temporary file, fsync, rename, fsync of the directory
//! (the cache's are atomic only: losing one costs a recomputation).
//! A snapshot is spooled before its chain head advances, and on opening the head is taken from
//! the spool when the spool is ahead (a crash between the two writes), so the agent can never
//! sign two different snapshots with the same sequence. Nothing the agent signed is ever
//! deleted before its replacement or its receipt is on disk: refused envelopes are moved to
//! `spool/rejected/`, unreadable ones to `spool/corrupt/`, both under names no later file
//! can take.

mod keys;
mod log;
mod spool;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use vouch_evidence::chain::Head;
use vouch_evidence::dsse::Envelope;
use vouch_evidence::{ChainKey, Digest, Receipt, SigningKey, Snapshot};

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

/// `spool/<id>/relink.json`: the link a re-signing of the chain's spool starts from.
#[derive(Serialize, Deserialize)]
struct RelinkFile {
    base: Option<BaseLink>,
}

#[derive(Serialize, Deserialize)]
struct BaseLink {
    sequence: u64,
    digest: Digest,
}

/// A re-signing of a chain's spool that was begun and not finished (see
/// [`StateDir::begin_relink`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Relink {
    /// The link the spooled snapshots must follow: `None` when they start the chain.
    pub base: Option<Head>,
}

/// Why a spool file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SpoolFileError {
    /// The file could not be read: an I/O failure, nothing known about its content.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        #[source]
        source: io::Error,
    },
    /// The file was read but is not a signed snapshot the agent can use (not JSON, not a DSSE
    /// envelope, a payload that does not decode or is not a snapshot, a truncated write).
    #[error("{}: {problem}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, for the log.
        problem: String,
    },
}

impl From<SpoolFileError> for io::Error {
    fn from(e: SpoolFileError) -> Self {
        match e {
            SpoolFileError::Io { path, source } => {
                io::Error::new(source.kind(), format!("{}: {source}", path.display()))
            }
            e @ SpoolFileError::Corrupt { .. } => io::Error::new(io::ErrorKind::InvalidData, e),
        }
    }
}

/// A spooled envelope, read and decoded.
#[derive(Clone, Debug)]
pub struct SpooledEnvelope {
    /// The file's bytes, as sent to the server.
    pub bytes: Vec<u8>,
    /// The decoded payload (the snapshot's canonical bytes).
    pub payload: Vec<u8>,
    /// The snapshot's digest: SHA-256 of the payload.
    pub digest: Digest,
}

/// Reads a spooled envelope: [`SpoolFileError::Corrupt`] when it is not a DSSE envelope with a
/// decodable payload.
pub fn read_spooled(path: &Path) -> Result<SpooledEnvelope, SpoolFileError> {
    let bytes = fs::read(path).map_err(|source| SpoolFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let corrupt = |problem: String| SpoolFileError::Corrupt {
        path: path.to_path_buf(),
        problem,
    };
    let envelope =
        Envelope::from_slice(&bytes).map_err(|e| corrupt(format!("not a DSSE envelope: {e}")))?;
    let payload = envelope
        .payload_bytes()
        .map_err(|e| corrupt(format!("payload does not decode: {e}")))?;
    Ok(SpooledEnvelope {
        digest: Digest::of(&payload),
        bytes,
        payload,
    })
}

/// Reads the snapshot in a spooled envelope: [`SpoolFileError::Corrupt`] when the file is not
/// an envelope of a valid snapshot.
pub fn read_spooled_snapshot(path: &Path) -> Result<Snapshot, SpoolFileError> {
    let spooled = read_spooled(path)?;
    Snapshot::from_payload(&spooled.payload).map_err(|e| SpoolFileError::Corrupt {
        path: path.to_path_buf(),
        problem: format!("payload is not a snapshot: {e}"),
    })
}

/// The subdirectory where the collectors keep what they computed between processes.
pub const CACHE_DIR: &str = "cache";

/// The state directory.
#[derive(Clone, Debug)]
pub struct StateDir {
    root: PathBuf,
    /// Spool files this process moved to `spool/corrupt/`.
    set_aside: Arc<AtomicUsize>,
}

/// Writes `bytes` to `path` atomically and durably, with `mode`: a temporary file beside it
/// (the same name with the extension `tmp`), fsync, rename over `path`, fsync of the directory.
/// A failure at any step leaves whatever was at `path` untouched.
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

fn parent_dir(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new("."))
}

fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

/// Moves `src` into `dir` under `<stem>.json`, or `<stem>-<n>.json` with the smallest `n` free:
/// never over an existing file. The name is taken with a hard link, which fails rather than
/// replace; `note` is then written beside it as `<name>.<note_ext>.json`, and only then is
/// `src` removed. Returns the new path.
fn move_aside(
    src: &Path,
    dir: &Path,
    stem: &str,
    note_ext: &str,
    note: &[u8],
) -> io::Result<PathBuf> {
    for n in 0..10_000u32 {
        let name = if n == 0 {
            format!("{stem}.json")
        } else {
            format!("{stem}-{n}.json")
        };
        let target = dir.join(name);
        match fs::hard_link(src, &target) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            // A file system without hard links: the agent's lock serialises every caller, so
            // a name checked free stays free until the rename.
            Err(_) if target.symlink_metadata().is_err() => fs::rename(src, &target)?,
            Err(_) => continue,
        }
        write_atomic(
            &target.with_extension(format!("{note_ext}.json")),
            note,
            0o600,
        )?;
        if src.exists() {
            fs::remove_file(src)?;
        }
        sync_dir(dir)?;
        sync_dir(parent_dir(src))?;
        return Ok(target);
    }
    Err(io::Error::other(format!(
        "{}: no free name for {stem} after 10000 tries",
        dir.display()
    )))
}

/// How many moved files a `spool/rejected/` or `spool/corrupt/` directory holds (the notes
/// beside them, ending `.<note_ext>.json`, and temporary files not counted).
fn count_moved(dir: &Path, note_ext: &str) -> io::Result<usize> {
    let note = format!(".{note_ext}.json");
    Ok(fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.ends_with(".json") && !name.ends_with(&note)
        })
        .count())
}

/// The directory name of a chain: hex SHA-256 of its key's text form (agent/kind:id).
pub fn chain_dir_name(chain: &ChainKey) -> String {
    Digest::of(chain.to_string().as_bytes()).to_hex()
}

impl StateDir {
    /// Opens the state directory, creating it if needed, and makes it and its subdirectories
    /// mode 0700 even if they existed with a looser mode: they hold the signing key. A
    /// re-enrolment the server confirmed but a crash interrupted is completed.
    pub fn open(root: &Path) -> io::Result<Self> {
        for sub in [
            "",
            "chains",
            "spool",
            "spool/rejected",
            "spool/corrupt",
            "receipts",
            CACHE_DIR,
        ] {
            let dir = root.join(sub);
            fs::create_dir_all(&dir)?;
            if fs::metadata(&dir)?.permissions().mode() & 0o777 != 0o700 {
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
            }
        }
        let state = StateDir {
            root: root.to_path_buf(),
            set_aside: Arc::new(AtomicUsize::new(0)),
        };
        if state.pending_enrollment_path().exists() {
            tracing::warn!(
                state_dir = %root.display(),
                "completing a re-enrolment the server confirmed before the agent stopped"
            );
            state.finish_enrollment_commit()?;
        }
        Ok(state)
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn spool_dir(&self, chain: &ChainKey) -> PathBuf {
        self.root.join("spool").join(chain_dir_name(chain))
    }

    fn head_path(&self, chain: &ChainKey) -> PathBuf {
        self.root
            .join("chains")
            .join(format!("{}.json", chain_dir_name(chain)))
    }

    /// The head of `chain`: the stored head, or the newest spooled snapshot if that is ahead.
    /// A spooled file ahead of the stored head that cannot be read is set aside (see
    /// [`StateDir::set_aside_corrupt`]) rather than block every later snapshot of the chain.
    ///
    /// A stored head that cannot be read (the disk, or someone, damaged it: it is written
    /// atomically) is set aside the same way, and the head is rebuilt from what the server
    /// acknowledged (the newest saved receipt of the chain), then the spool: the chain goes on
    /// where the server knows it to be instead of stopping for good.
    pub fn head(&self, chain: &ChainKey) -> io::Result<Option<Head>> {
        let path = self.head_path(chain);
        let stored = match fs::read(&path) {
            Ok(b) => match serde_json::from_slice::<HeadFile>(&b) {
                Ok(h) if h.chain == *chain => Some(Head {
                    sequence: h.sequence,
                    digest: h.digest,
                }),
                Ok(h) => {
                    let problem = format!("holds the head of chain {}, not {chain}", h.chain);
                    self.set_aside_corrupt(&path, &problem)?;
                    self.newest_acknowledged(chain)?
                }
                Err(e) => {
                    self.set_aside_corrupt(&path, &format!("unreadable chain head: {e}"))?;
                    self.newest_acknowledged(chain)?
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let mut spooled = self.spooled(chain)?;
        while let Some((seq, path)) = spooled.pop() {
            if stored.is_some_and(|h| seq <= h.sequence) {
                break;
            }
            match read_spooled(&path) {
                Ok(s) => {
                    return Ok(Some(Head {
                        sequence: seq,
                        digest: s.digest,
                    }));
                }
                Err(SpoolFileError::Corrupt { problem, .. }) => {
                    self.set_aside_corrupt(&path, &problem)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(stored)
    }

    /// Records the head of `chain`.
    pub fn set_head(&self, chain: &ChainKey, head: Head) -> io::Result<()> {
        let json = serde_json::to_vec(&HeadFile {
            chain: chain.clone(),
            sequence: head.sequence,
            digest: head.digest,
        })
        .map_err(io::Error::other)?;
        write_atomic(&self.head_path(chain), &json, 0o600)
    }

    /// Forgets the head of `chain`: its next snapshot starts it at sequence 1.
    pub fn clear_head(&self, chain: &ChainKey) -> io::Result<()> {
        match fs::remove_file(self.head_path(chain)) {
            Ok(()) => sync_dir(&self.root.join("chains")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// The digest of the snapshot in an envelope file (SHA-256 of its payload).
pub fn envelope_digest(path: &Path) -> io::Result<Digest> {
    Ok(read_spooled(path)?.digest)
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
        let mode = fs::metadata(dir.path().join(CACHE_DIR))
            .unwrap()
            .permissions()
            .mode();
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

    /// A damaged chain head is set aside (counted) and rebuilt from the saved receipts, then
    /// the spool, instead of stopping the chain for good.
    #[test]
    fn a_corrupt_chain_head_is_set_aside_and_rebuilt_from_the_receipts() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateDir::open(dir.path()).unwrap();
        let server = SigningKey::from_seed(&[9; 32]);
        let key = SigningKey::from_seed(&[1; 32]);
        for sequence in 1..=3u64 {
            let env = vouch_evidence::dsse::sign(&key, "t", format!("p{sequence}").as_bytes());
            let spooled = s.spool(&chain(), sequence, &env.to_vec()).unwrap();
            let receipt = Receipt {
                digest: Digest::of(format!("p{sequence}").as_bytes()),
                chain: chain(),
                sequence,
                received_at: "2026-11-20T00:00:00Z".parse().unwrap(),
            }
            .sign(&server);
            s.acknowledge(&spooled, receipt_digest(sequence), &receipt.to_vec())
                .unwrap();
        }
        let env = vouch_evidence::dsse::sign(&key, "t", b"p4");
        s.spool(&chain(), 4, &env.to_vec()).unwrap();
        let head_file = dir
            .path()
            .join("chains")
            .join(format!("{}.json", chain_dir_name(&chain())));
        fs::write(&head_file, b"{\"chain\":").unwrap();
        let head = s.head(&chain()).unwrap().unwrap();
        assert_eq!(
            (head.sequence, head.digest),
            (4, Digest::of(b"p4")),
            "the spool is ahead"
        );
        assert_eq!(s.corrupt_set_aside(), 1);
        assert!(!head_file.exists());
        // Without the spooled one, the newest receipt is the head.
        fs::write(&head_file, b"garbage").unwrap();
        let s = StateDir::open(dir.path()).unwrap();
        for (_, path) in s.spooled(&chain()).unwrap() {
            fs::remove_file(path).unwrap();
        }
        let head = s.head(&chain()).unwrap().unwrap();
        assert_eq!((head.sequence, head.digest), (3, Digest::of(b"p3")));
    }

    fn receipt_digest(sequence: u64) -> Digest {
        Digest::of(format!("p{sequence}").as_bytes())
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// Regression (issue 15, defect 3: a second refusal at the same sequence overwrote the
    /// first quarantined snapshot): quarantine names are unique, even for the same bytes.
    #[test]
    fn quarantine_never_overwrites_a_refused_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateDir::open(dir.path()).unwrap();
        let key = SigningKey::from_seed(&[1; 32]);
        let mut kept = Vec::new();
        for payload in [b"first".as_slice(), b"second", b"second"] {
            let env = vouch_evidence::dsse::sign(&key, "t", payload).to_vec();
            let spooled = s.spool(&chain(), 1, &env).unwrap();
            let moved = s
                .quarantine(&spooled, r#"{"error":"chain_conflict","message":"fork"}"#)
                .unwrap();
            assert!(!spooled.exists());
            kept.push((moved, env));
        }
        assert_eq!(
            s.rejected_count().unwrap(),
            3,
            "{:?}",
            names(&dir.path().join("spool/rejected"))
        );
        for (moved, env) in &kept {
            assert_eq!(&fs::read(moved).unwrap(), env);
            assert!(moved.with_extension("error.json").exists());
        }
        let first = kept[0].0.file_name().unwrap().to_str().unwrap();
        assert!(
            first.starts_with(&format!(
                "{}-{:020}-{}",
                chain_dir_name(&chain()),
                1,
                Digest::of(b"first").to_hex()
            )),
            "{first}"
        );
        assert!(
            kept[2].0.to_str().unwrap().ends_with("-1.json"),
            "{:?}",
            kept[2].0
        );
    }

    #[test]
    fn a_corrupt_file_is_set_aside_uniquely_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateDir::open(dir.path()).unwrap();
        let key = SigningKey::from_seed(&[1; 32]);
        let env = vouch_evidence::dsse::sign(&key, "t", b"p").to_vec();
        for _ in 0..2 {
            let path = s.spool(&chain(), 3, &env).unwrap();
            fs::write(&path, b"{\"payloadType\":").unwrap();
            let err = read_spooled(&path).unwrap_err();
            assert!(matches!(err, SpoolFileError::Corrupt { .. }), "{err}");
            let moved = s.set_aside_corrupt(&path, &err.to_string()).unwrap();
            assert!(!path.exists());
            assert_eq!(fs::read(&moved).unwrap(), b"{\"payloadType\":");
        }
        assert_eq!(s.corrupt_count().unwrap(), 2);
        assert_eq!(s.corrupt_set_aside(), 2);
    }

    #[test]
    fn a_corrupt_chain_file_is_rewritten_from_the_spooled_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateDir::open(dir.path()).unwrap();
        let key = SigningKey::from_seed(&[1; 32]);
        let snap = Snapshot {
            schema_version: vouch_evidence::SCHEMA_VERSION,
            agent_id: "agt_1".into(),
            asset: vouch_evidence::Asset {
                kind: AssetKind::Host,
                id: "m".into(),
                name: "m".into(),
            },
            collected_at: vouch_evidence::Timestamp::from_unix_micros(1_700_000_000_000_000)
                .unwrap(),
            sequence: 1,
            previous_digest: None,
            collectors: vec![],
            evidence: Default::default(),
        };
        let (env, _) = snap.sign(&key).unwrap();
        let path = s.spool(&chain(), 1, &env.to_vec()).unwrap();
        let chain_file = path.parent().unwrap().join("chain.json");
        fs::write(&chain_file, b"\0\0garbage").unwrap();
        assert_eq!(s.spooled_chains().unwrap(), vec![chain()]);
        assert_eq!(s.corrupt_count().unwrap(), 1);
        let again: ChainKey = serde_json::from_slice(&fs::read(&chain_file).unwrap()).unwrap();
        assert_eq!(again, chain());
    }

    /// A re-enrolment confirmed by the server and interrupted between its renames is completed
    /// on opening; a new key never confirmed leaves the current key and enrolment in use.
    #[test]
    fn an_interrupted_re_enrolment_is_completed_and_an_unconfirmed_one_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateDir::open(dir.path()).unwrap();
        let old = s.create_key(false).unwrap();
        let enrollment = |keyid: String| Enrollment {
            server_url: "https://s".into(),
            agent_id: "agt_1".into(),
            keyid,
            server_key: "k".into(),
        };
        s.save_enrollment(&enrollment(old.id().to_string()))
            .unwrap();
        let old_key_bytes = fs::read(dir.path().join("agent.key")).unwrap();

        // Unconfirmed: a pending key only.
        let new = s.create_pending_key().unwrap();
        let s = StateDir::open(dir.path()).unwrap();
        assert_eq!(
            fs::read(dir.path().join("agent.key")).unwrap(),
            old_key_bytes
        );
        assert_eq!(s.load_enrollment().unwrap().keyid, old.id().to_string());

        // Confirmed, then interrupted before the renames.
        write_atomic(
            &dir.path().join("enrollment.new.json"),
            &serde_json::to_vec(&enrollment(new.id().to_string())).unwrap(),
            0o600,
        )
        .unwrap();
        let s = StateDir::open(dir.path()).unwrap();
        assert_eq!(s.load_key().unwrap().id(), new.id());
        assert_eq!(s.load_enrollment().unwrap().keyid, new.id().to_string());
        assert!(!dir.path().join("agent.key.new").exists());
        assert!(!dir.path().join("enrollment.new.json").exists());
    }

    #[test]
    fn a_corrupt_spooled_file_ahead_of_the_head_is_set_aside_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateDir::open(dir.path()).unwrap();
        let key = SigningKey::from_seed(&[1; 32]);
        s.set_head(
            &chain(),
            Head {
                sequence: 4,
                digest: Digest::of(b"four"),
            },
        )
        .unwrap();
        let env = vouch_evidence::dsse::sign(&key, "t", b"payload-5");
        let path = s.spool(&chain(), 5, &env.to_vec()).unwrap();
        fs::write(&path, b"truncat").unwrap();
        let head = s.head(&chain()).unwrap().unwrap();
        assert_eq!(head.sequence, 4);
        assert_eq!(s.corrupt_count().unwrap(), 1);
    }
}
