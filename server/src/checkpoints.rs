//! The transparency log's signer: its key (`log.key` in the data directory, a role of its own
//! beside the receipt key), its origin, and the checkpoint of a tree head, signed once per
//! size, with the witnesses' cosignatures of that size once they are in ([`crate::cosigning`]).
//! The application state holds one; bundles sign the checkpoint they are made against.

use vouch_evidence::SigningKey;
use vouch_evidence::note::{Checkpoint, NoteVerifier};

use crate::store::{LogHead, LogStore, StoreError};

/// The log's key and name.
pub struct LogSigner {
    key: SigningKey,
    origin: String,
    /// The last checkpoint signed: its size and note.
    last: std::sync::Mutex<Option<(u64, String)>>,
    /// The witnesses' cosignature lines of the checkpoint of a size (the latest known).
    cosigned: std::sync::Mutex<Option<(u64, Vec<String>)>>,
}

impl LogSigner {
    /// A signer with `key`; the origin (the log's name, also its key's name in every note) is
    /// `vouch.log/<hex key id>` unless given.
    pub fn new(key: SigningKey, origin: Option<String>) -> Self {
        let origin = origin.unwrap_or_else(|| {
            let id = vouch_evidence::note::key_id("vouch.log", key.public());
            format!("vouch.log/{id:08x}")
        });
        LogSigner {
            key,
            origin,
            last: std::sync::Mutex::new(None),
            cosigned: std::sync::Mutex::new(None),
        }
    }

    /// The log's origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The verifier key (`name+id+key`) auditors and agents check checkpoints with.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier::new(&self.origin, self.key.public().clone())
            .expect("the origin is a valid key name")
    }

    /// The signed checkpoint of `head`, without cosignatures (signed once per size: the same
    /// size always has the same root in an append-only log): what witnesses are asked to
    /// cosign.
    pub fn signed(&self, head: LogHead) -> String {
        let mut last = self.last.lock().expect("checkpoint lock");
        if let Some((size, note)) = last.as_ref()
            && *size == head.size
        {
            return note.clone();
        }
        let note = Checkpoint {
            origin: self.origin.clone(),
            size: head.size,
            root: head.root,
            extensions: Vec::new(),
        }
        .sign(&self.key)
        .expect("a checkpoint's text is a valid note")
        .to_string();
        // An older head (a bundle's witnessed checkpoint) does not evict the newest.
        if last.as_ref().is_none_or(|(size, _)| *size < head.size) {
            *last = Some((head.size, note.clone()));
        }
        note
    }

    /// The signed checkpoint (without cosignatures) of the log's tree of `size` leaves, an
    /// older one than the head (a witnessed or time-stamped size): its root read from `store`.
    pub async fn signed_at(
        &self,
        store: &dyn LogStore,
        size: u64,
    ) -> Result<(LogHead, String), StoreError> {
        let root = store.log_proof(&[(0, size)]).await?[0];
        let head = LogHead { size, root };
        Ok((head, self.signed(head)))
    }

    /// The signed checkpoint of `head` with the cosignatures kept for its size, if any.
    pub fn checkpoint(&self, head: LogHead) -> String {
        let mut note = self.signed(head);
        if let Some((size, lines)) = self.cosigned.lock().expect("cosigned lock").as_ref()
            && *size == head.size
        {
            for line in lines {
                note.push_str(line);
                note.push('\n');
            }
        }
        note
    }

    /// The witnesses' cosignature lines (`— <name> <base64>`, each checked) of the checkpoint
    /// of `size`, served with it from now on; lines of a size smaller than the one kept are
    /// ignored.
    pub fn set_cosignatures(&self, size: u64, lines: Vec<String>) {
        let mut cosigned = self.cosigned.lock().expect("cosigned lock");
        if cosigned.as_ref().is_none_or(|(kept, _)| *kept <= size) {
            *cosigned = Some((size, lines));
        }
    }
}

/// The key a log signer falls back to when the state was made without one (tests, tools): a
/// key of its own, derived from the receipt key's seed under a label, never the receipt key.
pub fn derived_log_key(receipt_key: &SigningKey) -> SigningKey {
    use sha2::Digest as _;
    let seed: [u8; 32] = sha2::Sha256::new()
        .chain_update(b"vouch transparency log key\n")
        .chain_update(receipt_key.seed())
        .finalize()
        .into();
    SigningKey::from_seed(&seed)
}
