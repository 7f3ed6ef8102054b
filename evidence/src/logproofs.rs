//! The transparency log's proofs for one accepted snapshot, as the server answers them to an
//! agent that asks (with [`LOG_SIZE_HEADER`]), and the check the agent runs before it
//! acknowledges the snapshot: the checkpoint signed by the log's key, the snapshot included in
//! it, and the log it saw before a prefix of it. A server that rewrote, truncated or forked its
//! log fails this check at the next delivery of every agent that saw the old log.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::Digest;
use crate::note::{Checkpoint, NoteVerifier};
use crate::tlog::{self, Hash};

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
