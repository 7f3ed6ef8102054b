//! The transparency log's proofs for one accepted snapshot, as the server answers them to an
//! agent that asks (with [`LOG_SIZE_HEADER`]), and the check the agent runs before it
//! acknowledges the snapshot: the checkpoint signed by the log's key, the snapshot included in
//! it, and the log it saw before a prefix of it. A server that rewrote, truncated or forked its
//! log fails this check at the next delivery of every agent that saw the old log.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::note::{Checkpoint, Note, NoteVerifier};
use crate::tlog::{self, Hash};
use crate::{Digest, PublicKey};

/// The request header of `POST /v1/snapshots` with which an agent asks for the log's proofs:
/// the size of the last checkpoint it verified (`0` before the first).
pub const LOG_SIZE_HEADER: &str = "vouch-log-size";

/// The log's proofs for one snapshot, in the answer to `POST /v1/snapshots`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogProofs {
    /// The log's verifier key (`name+id+key`), pinned by the agent the first time.
    pub key: String,
    /// The snapshot's leaf index.
    pub index: u64,
    /// The signed checkpoint the proofs are for (a C2SP checkpoint note).
    pub checkpoint: String,
    /// The inclusion proof of the snapshot in that checkpoint's tree, base64 hashes.
    pub inclusion: Vec<String>,
    /// The consistency proof from the tree of the size the agent sent to the checkpoint's,
    /// base64 hashes (empty when the agent sent 0 or the same size).
    pub consistency: Vec<String>,
}

/// Why the log's proofs were refused: each is the server showing two histories, or none.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LogCheckError {
    /// The key is not the one pinned, or not a key.
    #[error("the log's key changed: {0}")]
    Key(String),
    /// The checkpoint is not signed by the log's key, or is no checkpoint.
    #[error("the checkpoint does not verify: {0}")]
    Checkpoint(String),
    /// The snapshot is not in the tree the checkpoint signs.
    #[error("the snapshot is not at leaf {index} of the signed tree of {size}: {why}")]
    NotIncluded {
        /// The leaf claimed.
        index: u64,
        /// The tree's size.
        size: u64,
        /// What failed.
        why: String,
    },
    /// The log is smaller than one already seen: it was truncated or rolled back.
    #[error("the log shrank from {seen} leaves, already seen, to {now}")]
    Shrank {
        /// The size seen before.
        seen: u64,
        /// The size now.
        now: u64,
    },
    /// The log seen before is not a prefix of this one: it was rewritten or forked.
    #[error(
        "the log of {seen} leaves seen before is not a prefix of the signed tree of {now}: {why}"
    )]
    Inconsistent {
        /// The size seen before.
        seen: u64,
        /// The size now.
        now: u64,
        /// What failed.
        why: String,
    },
    /// A hash that is not 32 bytes of base64.
    #[error("a proof hash is not 32 bytes of base64")]
    Encoding,
}

fn decode(hashes: &[String]) -> Result<Vec<Hash>, LogCheckError> {
    hashes
        .iter()
        .map(|h| {
            B64.decode(h)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or(LogCheckError::Encoding)
        })
        .collect()
}

impl LogProofs {
    /// Checks the proofs for `digest` against the log key pinned (or, with none, the key
    /// given, which the caller then pins) and the checkpoint seen before (none for the first):
    /// answers the key and the new checkpoint to keep.
    pub fn check(
        &self,
        digest: &Digest,
        pinned: Option<&NoteVerifier>,
        seen: Option<&Checkpoint>,
    ) -> Result<(NoteVerifier, Checkpoint), LogCheckError> {
        let key = NoteVerifier::parse(&self.key).map_err(|e| LogCheckError::Key(e.to_string()))?;
        if let Some(pinned) = pinned
            && pinned != &key
        {
            return Err(LogCheckError::Key(format!(
                "{pinned} was pinned, {key} answered"
            )));
        }
        let (checkpoint, _) = Checkpoint::open(&self.checkpoint, &key)
            .map_err(|e| LogCheckError::Checkpoint(e.to_string()))?;
        tlog::verify_inclusion(
            &tlog::leaf_hash(&digest.0),
            self.index,
            checkpoint.size,
            &decode(&self.inclusion)?,
            &checkpoint.root,
        )
        .map_err(|e| LogCheckError::NotIncluded {
            index: self.index,
            size: checkpoint.size,
            why: e.to_string(),
        })?;
        if let Some(seen) = seen {
            if checkpoint.size < seen.size {
                return Err(LogCheckError::Shrank {
                    seen: seen.size,
                    now: checkpoint.size,
                });
            }
            tlog::verify_consistency(
                seen.size,
                checkpoint.size,
                &seen.root,
                &checkpoint.root,
                &decode(&self.consistency)?,
            )
            .map_err(|e| LogCheckError::Inconsistent {
                seen: seen.size,
                now: checkpoint.size,
                why: e.to_string(),
            })?;
        }
        Ok((key, checkpoint))
    }
}

/// A snapshot's place in the log and the proof of it: the answer of `GET /v1/log/inclusion`,
/// and a bundle's `log/inclusion/<digest>.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// The snapshot's digest.
    pub digest: Digest,
    /// Its leaf index.
    pub index: u64,
    /// The size of the tree the proof is for.
    pub size: u64,
    /// The proof's hashes, base64, nearest the leaf first.
    pub proof: Vec<String>,
    /// The signed checkpoint of that tree, when it is the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

impl InclusionProof {
    /// Checks that the snapshot is leaf `index` of the tree `checkpoint` signs (a checkpoint
    /// already opened with the log's key).
    pub fn verify(&self, checkpoint: &Checkpoint) -> Result<(), LogCheckError> {
        let not_included = |why: String| LogCheckError::NotIncluded {
            index: self.index,
            size: checkpoint.size,
            why,
        };
        if self.size != checkpoint.size {
            return Err(not_included(format!(
                "the proof is for a tree of {} leaves",
                self.size
            )));
        }
        tlog::verify_inclusion(
            &tlog::leaf_hash(&self.digest.0),
            self.index,
            checkpoint.size,
            &decode(&self.proof)?,
            &checkpoint.root,
        )
        .map_err(|e| not_included(e.to_string()))
    }
}

/// The proof that one tree is a prefix of another: the answer of `GET /v1/log/consistency`,
/// which an auditor saves beside two checkpoints taken at different times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// The older size.
    pub from: u64,
    /// The newer size.
    pub to: u64,
    /// The proof's hashes, base64.
    pub proof: Vec<String>,
    /// The signed checkpoint of the newer tree, when it is the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

impl ConsistencyProof {
    /// Checks that the tree `old` signs is a prefix of the tree `new` signs (both opened with
    /// the log's key): the log was only appended to between them.
    pub fn verify(&self, old: &Checkpoint, new: &Checkpoint) -> Result<(), LogCheckError> {
        if new.size < old.size {
            return Err(LogCheckError::Shrank {
                seen: old.size,
                now: new.size,
            });
        }
        let inconsistent = |why: String| LogCheckError::Inconsistent {
            seen: old.size,
            now: new.size,
            why,
        };
        if (self.from, self.to) != (old.size, new.size) {
            return Err(inconsistent(format!(
                "the proof is from {} to {} leaves",
                self.from, self.to
            )));
        }
        if old.size == 0 {
            // The empty tree is a prefix of every tree: no proof, as C2SP tlog-witness has it.
            return match (old.root == tlog::empty_root(), self.proof.is_empty()) {
                (true, true) => Ok(()),
                (false, _) => Err(inconsistent("an empty tree with a root of its own".into())),
                (true, false) => Err(inconsistent("a proof from the empty tree".into())),
            };
        }
        tlog::verify_consistency(
            old.size,
            new.size,
            &old.root,
            &new.root,
            &decode(&self.proof)?,
        )
        .map_err(|e| inconsistent(e.to_string()))
    }
}

/// Opens a checkpoint note signed by the log's Ed25519 `key`, the log named by the
/// checkpoint's own origin (an auditor pins the key, `vouch keys export`'s
/// `vouch-server-log` line; the origin is the key's name in the note).
pub fn open_checkpoint(note: &str, key: &PublicKey) -> Result<(Checkpoint, Note), LogCheckError> {
    let bad = |e: crate::note::NoteError| LogCheckError::Checkpoint(e.to_string());
    let parsed = Note::parse(note).map_err(bad)?;
    let origin = Checkpoint::parse(parsed.text()).map_err(bad)?.origin;
    let log = NoteVerifier::new(&origin, key.clone()).map_err(bad)?;
    Checkpoint::open(note, &log).map_err(bad)
}
