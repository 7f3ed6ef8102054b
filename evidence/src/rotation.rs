//! Key rotation: an agent (or the server, for its receipt or verdict key) makes a new key and
//! states the change — whose key, the old key, the new key, when — signed by **both** keys in
//! one DSSE envelope: the old key authorises the
//! change (only the holder of the enrolled key can hand the agent's chains on), the new key
//! proves it is held. The server records it and from then on takes only the new key; the
//! agent's chains continue unbroken. Auditors find each rotation in bundles and check both
//! signatures themselves.

use serde::{Deserialize, Serialize};

use crate::dsse::{self, Envelope, VerifyError};
use crate::{PublicKey, SigningKey, Timestamp, canonical};

/// The DSSE payload type of a key rotation.
pub const KEY_ROTATION_PAYLOAD_TYPE: &str = "application/vnd.vouch.key-rotation+json";

/// What an agent signs to change its key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRotation {
    /// Whose key: the agent's id, or the server key's role (`vouch-server-receipts`,
    /// `vouch-server-verdicts`).
    pub owner: String,
    /// The key it held (base64 raw Ed25519).
    pub old_key: String,
    /// The key it holds from now on.
    pub new_key: String,
    /// When the agent made the change (its clock).
    #[serde(deserialize_with = "crate::timestamp::deserialize_canonical")]
    pub at: Timestamp,
}

/// Why a key rotation does not hold.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RotationError {
    /// Not an envelope of a key rotation, or not its canonical form.
    #[error("not a key rotation: {0}")]
    Malformed(String),
    /// A key it names is not a key.
    #[error("{0}")]
    Key(String),
    /// The old or the new key's signature is missing or does not verify.
    #[error("the {0} key's signature: {1}")]
    Signature(&'static str, VerifyError),
    /// The old and the new key are the same.
    #[error("the new key is the old one")]
    Same,
}

impl KeyRotation {
    /// Signs the change with the old key and the new one.
    pub fn sign(&self, old: &SigningKey, new: &SigningKey) -> Envelope {
        let bytes = canonical::to_vec(self).expect("a rotation is always canonicalisable");
        let mut env = dsse::sign(old, KEY_ROTATION_PAYLOAD_TYPE, &bytes);
        let second = dsse::sign(new, KEY_ROTATION_PAYLOAD_TYPE, &bytes);
        env.signatures.extend(second.signatures);
        env
    }

    /// The old key.
    pub fn old(&self) -> Result<PublicKey, RotationError> {
        PublicKey::from_base64(&self.old_key)
            .map_err(|e| RotationError::Key(format!("old_key: {e}")))
    }

    /// The new key.
    pub fn new_public(&self) -> Result<PublicKey, RotationError> {
        PublicKey::from_base64(&self.new_key)
            .map_err(|e| RotationError::Key(format!("new_key: {e}")))
    }

    /// Opens a rotation: its payload canonical, both the old key's and the new key's
    /// signature verifying, the keys different.
    pub fn open(envelope: &Envelope) -> Result<KeyRotation, RotationError> {
        let bytes = envelope
            .payload_bytes()
            .map_err(|e| RotationError::Malformed(e.to_string()))?;
        let rotation: KeyRotation =
            serde_json::from_slice(&bytes).map_err(|e| RotationError::Malformed(e.to_string()))?;
        if canonical::to_vec(&rotation).ok().as_deref() != Some(&bytes[..]) {
            return Err(RotationError::Malformed(
                "the payload is not in canonical form".into(),
            ));
        }
        let (old, new) = (rotation.old()?, rotation.new_public()?);
        if old == new {
            return Err(RotationError::Same);
        }
        for (which, key) in [("old", &old), ("new", &new)] {
            envelope
                .verify(KEY_ROTATION_PAYLOAD_TYPE, |id| {
                    (*id == key.id()).then_some(key)
                })
                .map_err(|e| RotationError::Signature(which, e))?;
        }
        Ok(rotation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rotation(old: &SigningKey, new: &SigningKey) -> KeyRotation {
        KeyRotation {
            owner: "agt_1".into(),
            old_key: old.public().to_base64(),
            new_key: new.public().to_base64(),
            at: "2026-12-06T00:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn both_keys_must_sign_and_the_payload_must_be_canonical() {
        let (old, new, other) = (
            SigningKey::from_seed(&[1; 32]),
            SigningKey::from_seed(&[2; 32]),
            SigningKey::from_seed(&[3; 32]),
        );
        let r = rotation(&old, &new);
        let env = r.sign(&old, &new);
        assert_eq!(env.signatures.len(), 2);
        assert_eq!(KeyRotation::open(&env).unwrap(), r);
        // Signed by the old key only: the new key's possession is not proved.
        let bytes = canonical::to_vec(&r).unwrap();
        let only_old = dsse::sign(&old, KEY_ROTATION_PAYLOAD_TYPE, &bytes);
        assert!(matches!(
            KeyRotation::open(&only_old),
            Err(RotationError::Signature("new", _))
        ));
        // Signed by the new key and a stranger: the old key did not authorise it.
        let forged = r.sign(&other, &new);
        assert!(matches!(
            KeyRotation::open(&forged),
            Err(RotationError::Signature("old", _))
        ));
        // The same key twice.
        assert_eq!(
            KeyRotation::open(&rotation(&old, &old).sign(&old, &old)),
            Err(RotationError::Same)
        );
        // Not canonical.
        let loose = format!(
            "{{ \"owner\": \"agt_1\", \"old_key\": \"{}\", \"new_key\": \"{}\", \"at\": \"2026-12-06T00:00:00.000000Z\" }}",
            r.old_key, r.new_key
        );
        let mut env = dsse::sign(&old, KEY_ROTATION_PAYLOAD_TYPE, loose.as_bytes());
        env.signatures
            .extend(dsse::sign(&new, KEY_ROTATION_PAYLOAD_TYPE, loose.as_bytes()).signatures);
        assert!(matches!(
            KeyRotation::open(&env),
            Err(RotationError::Malformed(_))
        ));
    }
}
