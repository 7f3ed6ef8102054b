//! Delivery receipts: the server's signed statement that it accepted a snapshot.

use serde::{Deserialize, Serialize};

use crate::dsse::{self, Envelope, VerifyError};
use crate::{ChainKey, Digest, PublicKey, SigningKey, Timestamp, canonical};

/// The DSSE payload type of a receipt.
pub const RECEIPT_PAYLOAD_TYPE: &str = "application/vnd.vouch.receipt+json";

/// What the server signs when it accepts a snapshot. The agent keeps it as proof of delivery;
/// re-sending an accepted snapshot returns the same receipt, byte for byte.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Digest of the accepted snapshot.
    pub digest: Digest,
    /// Its chain.
    pub chain: ChainKey,
    /// Its sequence number.
    pub sequence: u64,
    /// When the server accepted it.
    #[serde(deserialize_with = "crate::timestamp::deserialize_canonical")]
    pub received_at: Timestamp,
}

impl Receipt {
    /// Signs the receipt's canonical bytes with the server's receipt key.
    pub fn sign(&self, key: &SigningKey) -> Envelope {
        let bytes = canonical::to_vec(self).expect("a receipt is always canonicalisable");
        dsse::sign(key, RECEIPT_PAYLOAD_TYPE, &bytes)
    }

    /// Verifies a receipt envelope against the server's public key.
    pub fn verify(envelope: &Envelope, server_key: &PublicKey) -> Result<Receipt, VerifyError> {
        let v = envelope.verify(RECEIPT_PAYLOAD_TYPE, |id| {
            (*id == server_key.id()).then_some(server_key)
        })?;
        serde_json::from_slice(&v.payload).map_err(|e| VerifyError::Malformed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AssetKind;

    #[test]
    fn receipt_round_trip_and_tamper() {
        let server = SigningKey::from_seed(&[5; 32]);
        let r = Receipt {
            digest: Digest::of(b"snap"),
            chain: ChainKey {
                agent_id: "a".into(),
                asset_kind: AssetKind::Host,
                asset_id: "h".into(),
            },
            sequence: 4,
            received_at: "2026-11-24T00:00:00Z".parse().unwrap(),
        };
        let env = r.sign(&server);
        assert_eq!(Receipt::verify(&env, server.public()).unwrap(), r);
        let other = SigningKey::from_seed(&[6; 32]);
        assert!(Receipt::verify(&env, other.public()).is_err());
    }
}
