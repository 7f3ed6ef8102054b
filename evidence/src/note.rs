//! Signed notes (C2SP `signed-note`) and transparency-log checkpoints (C2SP
//! `tlog-checkpoint`): text signed by one or more Ed25519 keys, each signature line naming
//! its key by name and a 4-byte key id, and the checkpoint a log signs: its origin, its size
//! and its root hash.
//!
//! A verifier trusts keys it was given ([`NoteVerifier`], in the `name+hex(id)+base64` form
//! of a vkey); it ignores signatures of keys it does not know (witnesses' cosignatures, a
//! rotated key), refuses the whole note when a known key's signature fails, and refuses a note
//! no known key signed. Pure: no I/O.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest as _, Sha256};

use crate::tlog::Hash;
use crate::{PublicKey, SigningKey};

/// The signature type byte of Ed25519 note signatures.
const ED25519: u8 = 0x01;

/// The longest note read (text and signatures).
pub const MAX_NOTE_BYTES: usize = 64 * 1024;

/// The most signature lines a note may carry (the format asks verifiers to take at least 16).
pub const MAX_NOTE_SIGNATURES: usize = 32;

/// Why a note, a checkpoint or a vkey was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// Longer than [`MAX_NOTE_BYTES`].
    #[error("the note is {0} bytes, more than the {max} read", max = MAX_NOTE_BYTES)]
    TooLarge(usize),
    /// More signature lines than [`MAX_NOTE_SIGNATURES`].
    #[error("the note has {0} signatures, more than the {max} read", max = MAX_NOTE_SIGNATURES)]
    TooManySignatures(usize),
    /// Not the shape of a signed note (what is wrong, in words).
    #[error("not a signed note: {0}")]
    Malformed(String),
    /// A known key's signature does not verify: the note was altered or forged.
    #[error("the signature of {0} does not verify")]
    BadSignature(String),
    /// No key the verifier trusts signed the note.
    #[error("no trusted key signed the note")]
    Unsigned,
    /// A vkey that does not read `name+hex(id)+base64(0x01 || key)`.
    #[error("not an Ed25519 verifier key: {0}")]
    BadVerifierKey(String),
    /// Not the shape of a checkpoint (what is wrong, in words).
    #[error("not a checkpoint: {0}")]
    BadCheckpoint(String),
}

/// Whether `name` may name a key: non-empty, no spaces, no `+`.
pub(crate) fn valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// The key id of an Ed25519 key under `name`: the first four bytes of
/// `SHA-256(name || 0x0A || 0x01 || public key)`, big-endian.
pub fn key_id(name: &str, key: &PublicKey) -> u32 {
    typed_key_id(name, ED25519, key)
}

/// The key id of `key` under `name` for signature type `kind` (0x01 notes, 0x04 witness
/// cosignatures): `SHA-256(name || 0x0A || kind || key)[:4]`.
pub(crate) fn typed_key_id(name: &str, kind: u8, key: &PublicKey) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', kind]);
    h.update(key.to_raw());
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Reads a vkey of signature type `kind`: `<name>+<hex key id>+<base64(kind || 32-byte
/// key)>`, the id checked against the key.
pub(crate) fn parse_vkey(vkey: &str, kind: u8) -> Result<(String, u32, PublicKey), NoteError> {
    let bad = |why: &str| NoteError::BadVerifierKey(format!("{why} in {vkey:?}"));
    let mut parts = vkey.trim().splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("three parts joined by + expected"));
    };
    let id = (id.len() == 8)
        .then(|| u32::from_str_radix(id, 16).ok())
        .flatten()
        .ok_or_else(|| bad("8 hex digits of key id expected"))?;
    let bytes = B64.decode(key).map_err(|_| bad("base64 key expected"))?;
    let raw: [u8; 32] = match bytes.split_first() {
        Some((&k, raw)) if k == kind => raw.try_into().map_err(|_| bad("32-byte key expected"))?,
        _ => return Err(bad(&format!("an Ed25519 key of type {kind:#04x} expected"))),
    };
    let key = PublicKey::from_raw(&raw).map_err(|_| bad("a valid Ed25519 key expected"))?;
    if !valid_key_name(name) {
        return Err(NoteError::BadVerifierKey(format!("key name {name:?}")));
    }
    if typed_key_id(name, kind, &key) != id {
        return Err(bad("the key id is not this key's"));
    }
    Ok((name.to_string(), id, key))
}

/// Writes the vkey of `key` under `name` with signature type `kind`.
pub(crate) fn format_vkey(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    id: u32,
    kind: u8,
    key: &PublicKey,
) -> fmt::Result {
    let mut typed = vec![kind];
    typed.extend_from_slice(&key.to_raw());
    write!(f, "{name}+{id:08x}+{}", B64.encode(typed))
}

/// A key a note verifier trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    id: u32,
    key: PublicKey,
}

impl NoteVerifier {
    /// The verifier of `key` under `name`.
    pub fn new(name: &str, key: PublicKey) -> Result<Self, NoteError> {
        if !valid_key_name(name) {
            return Err(NoteError::BadVerifierKey(format!("key name {name:?}")));
        }
        Ok(NoteVerifier {
            name: name.to_string(),
            id: key_id(name, &key),
            key,
        })
    }

    /// Reads a vkey: `<name>+<hex key id>+<base64(0x01 || 32-byte key)>`; the id must be the
    /// key's.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let (name, id, key) = parse_vkey(vkey, ED25519)?;
        Ok(NoteVerifier { name, id, key })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The key.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }
}

impl fmt::Display for NoteVerifier {
    /// The vkey form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        format_vkey(f, &self.name, self.id, ED25519, &self.key)
    }
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key's name.
    pub name: String,
    /// The key id.
    pub id: u32,
    /// The signature bytes (64 for Ed25519).
    pub signature: Vec<u8>,
}

/// A signed note: text ending in a newline, and its signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// `text` signed by `key` under `name`. The text must end with a newline and hold no
    /// control character but newlines.
    pub fn sign(text: &str, name: &str, key: &SigningKey) -> Result<Self, NoteError> {
        check_text(text)?;
        let mut note = Note {
            text: text.to_string(),
            signatures: Vec::new(),
        };
        note.add_signature(name, key)?;
        Ok(note)
    }

    /// Adds a signature by `key` under `name` (a cosignature, or the next key in a rotation).
    pub fn add_signature(&mut self, name: &str, key: &SigningKey) -> Result<(), NoteError> {
        if !valid_key_name(name) {
            return Err(NoteError::Malformed(format!("key name {name:?}")));
        }
        if self.signatures.len() >= MAX_NOTE_SIGNATURES {
            return Err(NoteError::TooManySignatures(self.signatures.len() + 1));
        }
        self.signatures.push(NoteSignature {
            name: name.to_string(),
            id: key_id(name, key.public()),
            signature: key.sign(self.text.as_bytes()).to_vec(),
        });
        Ok(())
    }

    /// The signed text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Appends a signature line made elsewhere (a witness's cosignature).
    pub(crate) fn push_signature(&mut self, signature: NoteSignature) -> Result<(), NoteError> {
        if self.signatures.len() >= MAX_NOTE_SIGNATURES {
            return Err(NoteError::TooManySignatures(self.signatures.len() + 1));
        }
        self.signatures.push(signature);
        Ok(())
    }

    /// Reads a note: text, a blank line, then `— <name> <base64(id || signature)>` lines.
    pub fn parse(note: &str) -> Result<Self, NoteError> {
        if note.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge(note.len()));
        }
        let bad = |why: &str| NoteError::Malformed(why.to_string());
        if note.chars().any(|c| c.is_control() && c != '\n') {
            return Err(bad("a control character other than newline"));
        }
        if !note.ends_with('\n') {
            return Err(bad("it does not end with a newline"));
        }
        let split = note
            .rfind("\n\n")
            .ok_or_else(|| bad("no blank line before the signatures"))?;
        let (text, sigs) = (&note[..=split], &note[split + 2..]);
        let lines: Vec<&str> = sigs
            .strip_suffix('\n')
            .unwrap_or(sigs)
            .split('\n')
            .collect();
        if lines.len() > MAX_NOTE_SIGNATURES {
            return Err(NoteError::TooManySignatures(lines.len()));
        }
        let mut signatures = Vec::with_capacity(lines.len());
        for line in lines {
            let rest = line
                .strip_prefix("\u{2014} ")
                .ok_or_else(|| bad("a signature line does not start with an em dash"))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or_else(|| bad("a signature line has no signature"))?;
            if !valid_key_name(name) {
                return Err(bad("a signature's key name is empty or has a space or +"));
            }
            let bytes = B64
                .decode(b64)
                .map_err(|_| bad("a signature is not base64"))?;
            if bytes.len() < 5 {
                return Err(bad("a signature is shorter than its key id"));
            }
            signatures.push(NoteSignature {
                name: name.to_string(),
                id: u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
                signature: bytes[4..].to_vec(),
            });
        }
        if signatures.is_empty() {
            return Err(bad("no signature"));
        }
        check_text(text)?;
        Ok(Note {
            text: text.to_string(),
            signatures,
        })
    }

    /// Checks the note against the keys a verifier trusts: signatures of unknown keys are
    /// ignored, one of a known key that fails refuses the note, and at least one known key
    /// must have signed. Answers the keys whose signatures verified.
    pub fn verify<'v>(
        &self,
        trusted: &'v [NoteVerifier],
    ) -> Result<Vec<&'v NoteVerifier>, NoteError> {
        let mut verified = Vec::new();
        for sig in &self.signatures {
            let Some(v) = trusted
                .iter()
                .find(|v| v.name == sig.name && v.id == sig.id)
            else {
                continue;
            };
            if !v.key.verify(self.text.as_bytes(), &sig.signature) {
                return Err(NoteError::BadSignature(sig.name.clone()));
            }
            if !verified.contains(&v) {
                verified.push(v);
            }
        }
        if verified.is_empty() {
            Err(NoteError::Unsigned)
        } else {
            Ok(verified)
        }
    }
}

impl fmt::Display for Note {
    /// The note as it is sent and stored.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for s in &self.signatures {
            let mut bytes = s.id.to_be_bytes().to_vec();
            bytes.extend_from_slice(&s.signature);
            writeln!(f, "\u{2014} {} {}", s.name, B64.encode(bytes))?;
        }
        Ok(())
    }
}

fn check_text(text: &str) -> Result<(), NoteError> {
    let bad = |why: &str| Err(NoteError::Malformed(why.to_string()));
    if text.is_empty() || !text.ends_with('\n') {
        return bad("the text does not end with a newline");
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return bad("a control character other than newline");
    }
    Ok(())
}

/// A log's checkpoint: the text of its signed note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity (`vouch.example/log`), also its key's name.
    pub origin: String,
    /// How many leaves.
    pub size: u64,
    /// The root hash of those leaves.
    pub root: Hash,
    /// Extension lines (opaque; Vouch writes none).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: origin, size, base64 root, extension lines, each ending in a newline.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        );
        for e in &self.extensions {
            out.push_str(e);
            out.push('\n');
        }
        out
    }

    /// Reads a note text as a checkpoint.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let bad = |why: &str| NoteError::BadCheckpoint(why.to_string());
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("no final newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().filter(|o| !o.is_empty());
        let (Some(origin), Some(size), Some(root)) = (origin, lines.next(), lines.next()) else {
            return Err(bad("origin, size and root lines expected"));
        };
        let size_ok = size.bytes().all(|b| b.is_ascii_digit())
            && !size.is_empty()
            && (size == "0" || !size.starts_with('0'));
        let size: u64 = size_ok
            .then(|| size.parse().ok())
            .flatten()
            .ok_or_else(|| bad("the size is not a decimal number without leading zeroes"))?;
        let root: Hash = B64
            .decode(root)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| bad("the root is not 32 bytes of base64"))?;
        let extensions: Vec<String> = lines.map(str::to_string).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(bad("an empty extension line"));
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions,
        })
    }

    /// Signs the checkpoint with the log's key, named by its origin.
    pub fn sign(&self, key: &SigningKey) -> Result<Note, NoteError> {
        Note::sign(&self.to_text(), &self.origin, key)
    }

    /// Reads a signed checkpoint and checks it against the log's key (named by the origin),
    /// ignoring other signatures (witnesses' cosignatures).
    pub fn open(note: &str, log: &NoteVerifier) -> Result<(Checkpoint, Note), NoteError> {
        let note = Note::parse(note)?;
        note.verify(std::slice::from_ref(log))?;
        let checkpoint = Checkpoint::parse(note.text())?;
        if checkpoint.origin != log.name() {
            return Err(NoteError::BadCheckpoint(format!(
                "origin {:?} is not the log {:?}",
                checkpoint.origin,
                log.name()
            )));
        }
        Ok((checkpoint, note))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the signed-note specification (c2sp.org/signed-note, "Example").
    const C2SP_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const C2SP_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

    /// The example of the checkpoint specification (c2sp.org/tlog-checkpoint).
    const C2SP_CHECKPOINT: &str = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

    fn key(n: u8) -> SigningKey {
        SigningKey::from_seed(&[n; 32])
    }

    #[test]
    fn the_specifications_example_note_verifies_with_its_vkey_and_fails_altered() {
        let v = NoteVerifier::parse(C2SP_VKEY).unwrap();
        assert_eq!(v.id(), 0x530d903a);
        assert_eq!(v.to_string(), C2SP_VKEY);
        let note = Note::parse(C2SP_NOTE).unwrap();
        assert_eq!(note.text(), "This is an example message.\n");
        assert_eq!(note.verify(std::slice::from_ref(&v)).unwrap(), [&v]);
        assert_eq!(note.to_string(), C2SP_NOTE);
        let altered = C2SP_NOTE.replace("example message", "example massage");
        assert_eq!(
            Note::parse(&altered).unwrap().verify(&[v]),
            Err(NoteError::BadSignature("example.com/foo".into()))
        );
    }

    #[test]
    fn the_specifications_example_checkpoint_reads() {
        let note = Note::parse(C2SP_CHECKPOINT).unwrap();
        let c = Checkpoint::parse(note.text()).unwrap();
        assert_eq!(c.origin, "example.com/behind-the-sofa");
        assert_eq!(c.size, 20_852_163);
        assert_eq!(
            B64.encode(c.root),
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
        );
        assert_eq!(c.to_text(), note.text());
        assert_eq!(note.signatures()[0].name, "example.com/behind-the-sofa");
        // Signed by a key we were not given: unsigned as far as we know.
        let ours = NoteVerifier::new("example.com/behind-the-sofa", key(1).public().clone());
        assert_eq!(note.verify(&[ours.unwrap()]), Err(NoteError::Unsigned));
    }

    #[test]
    fn a_checkpoint_signed_by_the_log_and_cosigned_by_a_witness_opens_with_either() {
        let log = key(1);
        let witness = key(2);
        let c = Checkpoint {
            origin: "vouch.example/log".into(),
            size: 42,
            root: crate::tlog::leaf_hash(b"x"),
            extensions: vec![],
        };
        let mut note = c.sign(&log).unwrap();
        note.add_signature("auditor.example/witness", &witness)
            .unwrap();
        let text = note.to_string();
        let log_v = NoteVerifier::new("vouch.example/log", log.public().clone()).unwrap();
        let wit_v = NoteVerifier::new("auditor.example/witness", witness.public().clone()).unwrap();
        let (opened, parsed) = Checkpoint::open(&text, &log_v).unwrap();
        assert_eq!(opened, c);
        assert_eq!(
            parsed
                .verify(&[log_v.clone(), wit_v.clone()])
                .unwrap()
                .len(),
            2
        );
        // The log's key under another name does not open it; a wrong witness key is refused.
        let renamed = NoteVerifier::new("other.example/log", log.public().clone()).unwrap();
        assert_eq!(
            Checkpoint::open(&text, &renamed).map(|_| ()),
            Err(NoteError::Unsigned)
        );
        let forged_line = {
            let mut n = parsed.clone();
            n.signatures[1].signature[0] ^= 1;
            n.to_string()
        };
        assert_eq!(
            Note::parse(&forged_line).unwrap().verify(&[log_v, wit_v]),
            Err(NoteError::BadSignature("auditor.example/witness".into()))
        );
    }

    #[test]
    fn malformed_notes_and_checkpoints_are_refused_naming_the_fault() {
        for bad in [
            "no blank line\n\u{2014} a AAAAAAA=\n",
            "text\n\n- a AAAAAAAA\n",
            "text\n\n\u{2014} a\n",
            "text\n\n\u{2014} a b\n",
            "text\n\n\u{2014} a AAAA\n",
            "te\u{7}xt\n\n\u{2014} a AAAAAAAA\n",
            "text\n\n",
        ] {
            assert!(
                matches!(Note::parse(bad), Err(NoteError::Malformed(_))),
                "{bad:?}"
            );
        }
        let many = format!(
            "t\n\n{}",
            "\u{2014} a AAAAAAAA\n".repeat(MAX_NOTE_SIGNATURES + 1)
        );
        assert_eq!(
            Note::parse(&many),
            Err(NoteError::TooManySignatures(MAX_NOTE_SIGNATURES + 1))
        );
        assert_eq!(
            Note::parse(&"x".repeat(MAX_NOTE_BYTES + 1)),
            Err(NoteError::TooLarge(MAX_NOTE_BYTES + 1))
        );
        let root = B64.encode([0u8; 32]);
        for bad in [
            format!("o\n012\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("\n1\n{root}\n"),
            "o\n1\nAAAA\n".to_string(),
            format!("o\n1\n{root}\n\n"),
            format!("o\n1\n{root}"),
        ] {
            assert!(
                matches!(Checkpoint::parse(&bad), Err(NoteError::BadCheckpoint(_))),
                "{bad:?}"
            );
        }
        for bad in [
            "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "example.com/foo+530d903a+AkyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "example.com/foo+530d903a",
            "exa mple+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        ] {
            assert!(
                matches!(NoteVerifier::parse(bad), Err(NoteError::BadVerifierKey(_))),
                "{bad:?}"
            );
        }
    }
}
