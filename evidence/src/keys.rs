//! Ed25519 keys and key ids.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::Signer as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Digest;

/// The id of a public key: lowercase hex SHA-256 of the 32 raw public key bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub Digest);

impl KeyId {
    /// The id of the raw 32-byte Ed25519 public key `raw`.
    pub fn of_raw(raw: &[u8; 32]) -> Self {
        KeyId(Digest::of(raw))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

impl FromStr for KeyId {
    type Err = crate::DigestParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(KeyId)
    }
}

impl Serialize for KeyId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for KeyId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Digest::deserialize(d).map(KeyId)
    }
}

/// Why key material was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// Not base64.
    #[error("key is not valid base64")]
    Base64,
    /// Wrong number of bytes.
    #[error("an Ed25519 key has 32 bytes, this one has {0}")]
    Length(usize),
    /// Not a point on the curve, or a weak key.
    #[error("not a valid Ed25519 public key")]
    Invalid,
    /// A public key line that does not read `ed25519 <base64> [comment]`.
    #[error("expected `ed25519 <base64 public key> [comment]`, found {0:?}")]
    Format(String),
}

/// An Ed25519 public key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: ed25519_dalek::VerifyingKey,
    id: KeyId,
}

impl PublicKey {
    /// A public key from its 32 raw bytes; weak (small-order) keys are refused.
    pub fn from_raw(raw: &[u8; 32]) -> Result<Self, KeyError> {
        let key = ed25519_dalek::VerifyingKey::from_bytes(raw).map_err(|_| KeyError::Invalid)?;
        if key.is_weak() {
            return Err(KeyError::Invalid);
        }
        Ok(PublicKey {
            key,
            id: KeyId::of_raw(raw),
        })
    }

    /// A public key from standard base64 of its 32 raw bytes.
    pub fn from_base64(s: &str) -> Result<Self, KeyError> {
        let bytes = B64.decode(s.trim()).map_err(|_| KeyError::Base64)?;
        let raw: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::Length(bytes.len()))?;
        Self::from_raw(&raw)
    }

    /// Reads the one-line text form `ed25519 <base64> [comment]`, returning the key and comment.
    pub fn from_line(line: &str) -> Result<(Self, String), KeyError> {
        let mut parts = line.trim().splitn(3, char::is_whitespace);
        match (parts.next(), parts.next()) {
            (Some("ed25519"), Some(b64)) => {
                let comment = parts.next().unwrap_or("").trim().to_string();
                Ok((Self::from_base64(b64)?, comment))
            }
            _ => Err(KeyError::Format(line.chars().take(80).collect())),
        }
    }

    /// The one-line text form `ed25519 <base64> <comment>`.
    pub fn to_line(&self, comment: &str) -> String {
        if comment.is_empty() {
            format!("ed25519 {}", self.to_base64())
        } else {
            format!("ed25519 {} {comment}", self.to_base64())
        }
    }

    /// The 32 raw bytes.
    pub fn to_raw(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Standard base64 of the raw bytes.
    pub fn to_base64(&self) -> String {
        B64.encode(self.key.as_bytes())
    }

    /// The key id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    pub(crate) fn dalek(&self) -> &ed25519_dalek::VerifyingKey {
        &self.key
    }

    /// Strict Ed25519 verification (RFC 8032, rejecting malleable signatures).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        self.key.verify_strict(message, &sig).is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.id)
    }
}

/// An Ed25519 signing key. Its secret never appears in `Debug` output.
pub struct SigningKey {
    key: ed25519_dalek::SigningKey,
    public: PublicKey,
}

impl SigningKey {
    /// A signing key from a 32-byte secret seed (the caller draws it from the OS RNG).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let key = ed25519_dalek::SigningKey::from_bytes(seed);
        let raw = key.verifying_key().to_bytes();
        let public = PublicKey {
            key: key.verifying_key(),
            id: KeyId::of_raw(&raw),
        };
        SigningKey { key, public }
    }

    /// The secret seed, for writing to a key file with restrictive permissions.
    pub fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The key id of the public half.
    pub fn id(&self) -> KeyId {
        self.public.id
    }

    /// A 64-byte Ed25519 signature over `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.public.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyid_is_sha256_of_raw_public_key() {
        let k = SigningKey::from_seed(&[7; 32]);
        let raw = k.public().to_raw();
        assert_eq!(k.id().to_string(), Digest::of(&raw).to_hex());
    }

    #[test]
    fn line_round_trip_and_errors() {
        let k = SigningKey::from_seed(&[1; 32]);
        let line = k.public().to_line("agent a1");
        let (back, comment) = PublicKey::from_line(&line).unwrap();
        assert_eq!(back, *k.public());
        assert_eq!(comment, "agent a1");
        assert_eq!(
            PublicKey::from_line("rsa AAAA"),
            Err(KeyError::Format("rsa AAAA".into()))
        );
        assert_eq!(PublicKey::from_base64("AAAA"), Err(KeyError::Length(3)));
        assert_eq!(PublicKey::from_base64("!!"), Err(KeyError::Base64));
    }

    #[test]
    fn weak_keys_are_refused() {
        // The identity point is a small-order point.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(PublicKey::from_raw(&identity), Err(KeyError::Invalid));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let k = SigningKey::from_seed(&[9; 32]);
        let shown = format!("{k:?}");
        assert!(!shown.contains(&hex::encode(k.seed())));
        assert!(shown.contains(&k.id().to_string()));
    }
}
