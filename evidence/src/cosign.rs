//! Witness cosignatures of checkpoints (C2SP `tlog-cosignature`, the Ed25519 `cosignature/v1`
//! type): a witness, an auditor or a second Vouch server, that checked a checkpoint consistent
//! with every one it saw before signs it, with the time it did. A checkpoint carrying
//! cosignatures of a quorum of witnesses an auditor trusts is one the log could not have shown
//! to those witnesses and a different one to anybody else.
//!
//! The signed message is `cosignature/v1\ntime <POSIX seconds>\n` followed by the checkpoint's
//! note text; the signature line holds the 4-byte key id (`SHA-256(name || 0x0A || 0x04 ||
//! key)[:4]`), the 8-byte big-endian time and the 64-byte Ed25519 signature. Pure: no I/O.

use std::fmt;

use crate::note::{
    Checkpoint, Note, NoteError, NoteSignature, NoteVerifier, format_vkey, parse_vkey,
    typed_key_id, valid_key_name,
};
use crate::{PublicKey, SigningKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// The signature type byte of Ed25519 `cosignature/v1` keys.
const COSIGNATURE_V1: u8 = 0x04;

/// The key id of a witness's Ed25519 key under `name`.
pub fn cosigner_key_id(name: &str, key: &PublicKey) -> u32 {
    typed_key_id(name, COSIGNATURE_V1, key)
}

/// The message a `cosignature/v1` signs: the header, the time line and the note's text.
fn message(text: &str, time: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {time}\n{text}").into_bytes()
}

/// A witness a verifier trusts: its name and Ed25519 key (vkey type 0x04).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witness {
    name: String,
    id: u32,
    key: PublicKey,
}

impl Witness {
    /// The witness `name` with `key`.
    pub fn new(name: &str, key: PublicKey) -> Result<Self, NoteError> {
        if !valid_key_name(name) {
            return Err(NoteError::BadVerifierKey(format!("key name {name:?}")));
        }
        Ok(Witness {
            name: name.to_string(),
            id: cosigner_key_id(name, &key),
            key,
        })
    }

    /// Reads a witness vkey: `<name>+<hex key id>+<base64(0x04 || 32-byte key)>`.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let (name, id, key) = parse_vkey(vkey, COSIGNATURE_V1)?;
        Ok(Witness { name, id, key })
    }

    /// The witness's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for Witness {
    /// The vkey form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        format_vkey(f, &self.name, self.id, COSIGNATURE_V1, &self.key)
    }
}

/// Adds `name`'s cosignature, made at `time` (POSIX seconds), to a checkpoint note.
pub fn cosign(note: &mut Note, name: &str, key: &SigningKey, time: u64) -> Result<(), NoteError> {
    if !valid_key_name(name) {
        return Err(NoteError::Malformed(format!("key name {name:?}")));
    }
    if time > i64::MAX as u64 {
        return Err(NoteError::Malformed("a time past 2^63 - 1".into()));
    }
    let mut signature = time.to_be_bytes().to_vec();
    signature.extend_from_slice(&key.sign(&message(note.text(), time)));
    note.push_signature(NoteSignature {
        name: name.to_string(),
        id: cosigner_key_id(name, key.public()),
        signature,
    })
}

/// A cosignature that verified: which witness, and when it signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// The witness's name.
    pub witness: String,
    /// When it signed, POSIX seconds.
    pub time: u64,
}

/// Why a witnessed checkpoint was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// The note, or the log's signature on it, does not check.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// A trusted witness's cosignature does not verify: the note was altered or forged.
    #[error("the cosignature of witness {0} does not verify")]
    BadCosignature(String),
    /// Fewer trusted witnesses cosigned than the quorum asks.
    #[error("{got} of the trusted witnesses cosigned, {want} required ({names})")]
    Quorum {
        /// How many did.
        got: usize,
        /// How many are required.
        want: usize,
        /// Which did.
        names: String,
    },
}

/// Opens a checkpoint signed by `log` and cosigned by at least `quorum` of `witnesses`:
/// cosignatures of unknown keys are ignored, one of a trusted witness that fails refuses the
/// checkpoint. Answers the checkpoint and the cosignatures that verified.
pub fn open_witnessed(
    note: &str,
    log: &NoteVerifier,
    witnesses: &[Witness],
    quorum: usize,
) -> Result<(Checkpoint, Vec<Cosigned>), WitnessError> {
    let (checkpoint, parsed) = Checkpoint::open(note, log)?;
    let mut cosigned: Vec<Cosigned> = Vec::new();
    for sig in parsed.signatures() {
        let Some(w) = witnesses
            .iter()
            .find(|w| w.name == sig.name && w.id == sig.id)
        else {
            continue;
        };
        let bad = || WitnessError::BadCosignature(w.name.clone());
        let (time, signature) = sig.signature.split_at_checked(8).ok_or_else(bad)?;
        let time = u64::from_be_bytes(time.try_into().expect("8 bytes"));
        if signature.len() != 64
            || time > i64::MAX as u64
            || !w.key.verify(&message(parsed.text(), time), signature)
        {
            return Err(bad());
        }
        if !cosigned.iter().any(|c| c.witness == w.name) {
            cosigned.push(Cosigned {
                witness: w.name.clone(),
                time,
            });
        }
    }
    if cosigned.len() < quorum {
        return Err(WitnessError::Quorum {
            got: cosigned.len(),
            want: quorum,
            names: cosigned
                .iter()
                .map(|c| c.witness.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok((checkpoint, cosigned))
}

/// An `add-checkpoint` request of the C2SP `tlog-witness` protocol: the size of the last
/// checkpoint the log believes the witness cosigned, the consistency proof from it, and the
/// new checkpoint note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The old size.
    pub old: u64,
    /// The consistency proof from the old size to the checkpoint's.
    pub proof: Vec<crate::tlog::Hash>,
    /// The checkpoint note.
    pub note: String,
}

/// The most proof lines a request may carry (the protocol's limit).
pub const MAX_PROOF_LINES: usize = 63;

/// Why a witness does not cosign, each with the HTTP status the protocol gives it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WitnessRefusal {
    /// Not the protocol's body (400).
    #[error("not an add-checkpoint request: {0}")]
    BadRequest(String),
    /// The checkpoint's origin is no log this witness follows (404).
    #[error("no log {0:?} is witnessed here")]
    UnknownLog(String),
    /// No trusted signature of the log, or one that fails (403).
    #[error("the checkpoint is not signed by the log: {0}")]
    Forbidden(String),
    /// The old size is not the size last cosigned (409, the body the size).
    #[error("the last checkpoint cosigned for this log has {0} leaves")]
    Conflict(u64),
    /// The proof does not hold, or the sizes and roots disagree (422).
    #[error("not consistent with the checkpoint last cosigned: {0}")]
    Unprocessable(String),
}

impl WitnessRefusal {
    /// The HTTP status of the refusal.
    pub fn status(&self) -> u16 {
        match self {
            WitnessRefusal::BadRequest(_) => 400,
            WitnessRefusal::UnknownLog(_) => 404,
            WitnessRefusal::Forbidden(_) => 403,
            WitnessRefusal::Conflict(_) => 409,
            WitnessRefusal::Unprocessable(_) => 422,
        }
    }
}

impl AddCheckpoint {
    /// Reads a request body: `old <size>`, base64 proof lines, an empty line, the note.
    pub fn parse(body: &str) -> Result<Self, WitnessRefusal> {
        let bad = |why: &str| WitnessRefusal::BadRequest(why.to_string());
        if body.len() > crate::note::MAX_NOTE_BYTES + 64 * (MAX_PROOF_LINES + 1) {
            return Err(bad("too large"));
        }
        let (head, note) = body
            .split_once("\n\n")
            .ok_or_else(|| bad("no empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .filter(|n| *n == "0" || !n.starts_with('0'))
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| bad("the first line is not `old <size>`"))?;
        let proof: Vec<crate::tlog::Hash> = lines
            .map(|l| {
                B64.decode(l)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| bad("a proof line is not 32 bytes of base64"))
            })
            .collect::<Result<_, _>>()?;
        if proof.len() > MAX_PROOF_LINES {
            return Err(bad("more than 63 proof lines"));
        }
        Ok(AddCheckpoint {
            old,
            proof,
            note: note.to_string(),
        })
    }

    /// The request body.
    pub fn to_body(&self) -> String {
        let mut out = format!("old {}\n", self.old);
        for h in &self.proof {
            out.push_str(&B64.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.note);
        out
    }

    /// The note and the checkpoint it holds, unverified: the origin names the log whose last
    /// cosigned checkpoint [`AddCheckpoint::check`] is given.
    pub fn open(&self) -> Result<(Note, Checkpoint), WitnessRefusal> {
        let bad = |e: NoteError| WitnessRefusal::BadRequest(e.to_string());
        let note = Note::parse(&self.note).map_err(bad)?;
        let checkpoint = Checkpoint::parse(note.text()).map_err(bad)?;
        Ok((note, checkpoint))
    }

    /// The witness's checks (`tlog-witness`, add-checkpoint) against the logs it follows and
    /// the checkpoint it last cosigned for this log (none before the first): answers the
    /// note and checkpoint to cosign and record, or why not.
    pub fn check(
        &self,
        logs: &[NoteVerifier],
        latest: Option<&Checkpoint>,
    ) -> Result<(Note, Checkpoint), WitnessRefusal> {
        let (note, new) = self.open()?;
        let origin = new.origin.clone();
        let trusted: Vec<NoteVerifier> = logs
            .iter()
            .filter(|l| l.name() == origin)
            .cloned()
            .collect();
        if trusted.is_empty() {
            return Err(WitnessRefusal::UnknownLog(origin));
        }
        note.verify(&trusted)
            .map_err(|e| WitnessRefusal::Forbidden(e.to_string()))?;
        if self.old > new.size {
            return Err(WitnessRefusal::BadRequest(format!(
                "old size {} is past the checkpoint's {}",
                self.old, new.size
            )));
        }
        let last = latest.map_or(0, |c| c.size);
        if self.old != last {
            return Err(WitnessRefusal::Conflict(last));
        }
        let unprocessable = |why: String| WitnessRefusal::Unprocessable(why);
        if new.size == 0 && new.root != crate::tlog::empty_root() {
            return Err(unprocessable(
                "a tree of 0 leaves with a root of its own".into(),
            ));
        }
        match latest {
            None | Some(Checkpoint { size: 0, .. }) => {
                if !self.proof.is_empty() {
                    return Err(unprocessable("a proof from the empty tree".into()));
                }
            }
            Some(old) => crate::tlog::verify_consistency(
                old.size,
                new.size,
                &old.root,
                &new.root,
                &self.proof,
            )
            .map_err(|e| unprocessable(e.to_string()))?,
        }
        Ok((note, new))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_seed(&[n; 32])
    }

    fn checkpoint(log: &SigningKey) -> Note {
        Checkpoint {
            origin: "vouch.example/log".into(),
            size: 7,
            root: crate::tlog::leaf_hash(b"root"),
            extensions: Vec::new(),
        }
        .sign(log)
        .unwrap()
    }

    #[test]
    fn a_cosigned_checkpoint_opens_with_the_log_key_and_the_witnesses_keys() {
        let log = NoteVerifier::new("vouch.example/log", key(1).public().clone()).unwrap();
        let mut note = checkpoint(&key(1));
        cosign(&mut note, "auditor.example/w1", &key(2), 1_700_000_000).unwrap();
        cosign(&mut note, "second.example/w2", &key(3), 1_700_000_100).unwrap();
        let text = note.to_string();
        let w1 = Witness::new("auditor.example/w1", key(2).public().clone()).unwrap();
        let w2 = Witness::new("second.example/w2", key(3).public().clone()).unwrap();
        // The vkey form reads back, with its own type byte: not a note key's id.
        assert_eq!(Witness::parse(&w1.to_string()).unwrap(), w1);
        assert!(NoteVerifier::parse(&w1.to_string()).is_err());
        assert_ne!(
            cosigner_key_id("n", key(2).public()),
            crate::note::key_id("n", key(2).public())
        );
        // The log's own check ignores cosignatures.
        assert!(Checkpoint::open(&text, &log).is_ok());
        let (c, cosigned) = open_witnessed(&text, &log, &[w1.clone(), w2.clone()], 2).unwrap();
        assert_eq!(c.size, 7);
        assert_eq!(
            cosigned,
            [
                Cosigned {
                    witness: "auditor.example/w1".into(),
                    time: 1_700_000_000
                },
                Cosigned {
                    witness: "second.example/w2".into(),
                    time: 1_700_000_100
                }
            ]
        );
        // A quorum not met is named, with who did sign.
        let w3 = Witness::new("third.example/w3", key(4).public().clone()).unwrap();
        let e = open_witnessed(&text, &log, &[w1.clone(), w3], 2).unwrap_err();
        assert!(
            matches!(&e, WitnessError::Quorum { got: 1, want: 2, names } if names == "auditor.example/w1"),
            "{e}"
        );
    }

    #[test]
    fn an_altered_time_or_checkpoint_fails_the_witness_signature() {
        let log = NoteVerifier::new("vouch.example/log", key(1).public().clone()).unwrap();
        let w1 = Witness::new("auditor.example/w1", key(2).public().clone()).unwrap();
        let mut note = checkpoint(&key(1));
        cosign(&mut note, "auditor.example/w1", &key(2), 1_700_000_000).unwrap();
        // The time moved by one second, the signature kept.
        let mut sig = note.signatures()[1].clone();
        sig.signature[7] ^= 1;
        let mut moved = checkpoint(&key(1));
        moved.push_signature(sig).unwrap();
        assert_eq!(
            open_witnessed(&moved.to_string(), &log, std::slice::from_ref(&w1), 1).unwrap_err(),
            WitnessError::BadCosignature("auditor.example/w1".into())
        );
        // A witness's signature on another tree, moved onto this one.
        let other = Checkpoint {
            origin: "vouch.example/log".into(),
            size: 8,
            root: crate::tlog::leaf_hash(b"other"),
            extensions: Vec::new(),
        };
        let mut other_note = other.sign(&key(1)).unwrap();
        cosign(&mut other_note, "auditor.example/w1", &key(2), 5).unwrap();
        let mut spliced = checkpoint(&key(1));
        spliced
            .push_signature(other_note.signatures()[1].clone())
            .unwrap();
        assert!(matches!(
            open_witnessed(&spliced.to_string(), &log, &[w1], 1),
            Err(WitnessError::BadCosignature(_))
        ));
    }
}
