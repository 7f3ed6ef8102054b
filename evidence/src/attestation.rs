//! Manual evidence: a signed attestation that an organisational control is in place.
//!
//! Many Annex A controls (policies, roles, supplier agreements, awareness training) are proven
//! by documents and by people's statements, not by a machine's facts. An [`Attestation`] records
//! who states what about which control, until when it holds, and the SHA-256 of any document
//! attached. The server signs it in a DSSE envelope with its key, like a receipt, so an auditor
//! checks it offline exactly as a snapshot; after `valid_until` the control it supports turns
//! stale.

use serde::{Deserialize, Serialize};

use crate::dsse::{self, Envelope, VerifyError};
use crate::{Digest, PublicKey, SigningKey, Timestamp, canonical};

/// The DSSE payload type of an attestation.
pub const ATTESTATION_PAYLOAD_TYPE: &str = "application/vnd.vouch.attestation+json";

/// A document attached to an attestation: described here, kept verbatim beside it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentRef {
    /// Its file name, as uploaded.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256 of its bytes.
    pub sha256: Digest,
}

/// A statement that a control is in place, by a named person, valid for a period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attestation {
    /// The control, qualified by framework and edition (`iso27001-2022:A.5.1`).
    pub control: String,
    /// What is attested, for the auditor.
    pub statement: String,
    /// Who attests (a person and role, e.g. "J. Doe, CISO").
    pub attested_by: String,
    /// Who recorded it in Vouch (the API token's label and role).
    pub recorded_by: String,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// Until when it holds; the control turns stale after.
    pub valid_until: Timestamp,
    /// The attached document, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<DocumentRef>,
}

/// Why an attestation is not acceptable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AttestationError {
    /// A required text is empty.
    #[error("{0} is empty")]
    Empty(&'static str),
    /// The control id is not `framework-edition:id`.
    #[error("control {0:?} is not qualified as framework-edition:id (e.g. iso27001-2022:A.5.1)")]
    Control(String),
    /// It ends before it starts.
    #[error("valid_until {until} is not after recorded_at {at}")]
    Period {
        /// Start.
        at: Timestamp,
        /// End.
        until: Timestamp,
    },
}

impl Attestation {
    /// Checks what can be checked without the catalogs.
    pub fn validate(&self) -> Result<(), AttestationError> {
        for (name, v) in [
            ("statement", &self.statement),
            ("attested_by", &self.attested_by),
            ("recorded_by", &self.recorded_by),
        ] {
            if v.trim().is_empty() {
                return Err(AttestationError::Empty(name));
            }
        }
        match self.control.split_once(':') {
            Some((fw, id)) if !fw.is_empty() && !id.is_empty() && !id.contains(':') => {}
            _ => return Err(AttestationError::Control(self.control.clone())),
        }
        if self.valid_until <= self.recorded_at {
            return Err(AttestationError::Period {
                at: self.recorded_at,
                until: self.valid_until,
            });
        }
        Ok(())
    }

    /// Whether it holds at `at`.
    pub fn holds_at(&self, at: Timestamp) -> bool {
        self.recorded_at <= at && at < self.valid_until
    }

    /// Signs its canonical bytes; answers the envelope and the payload's digest.
    pub fn sign(&self, key: &SigningKey) -> (Envelope, Digest) {
        let bytes = canonical::to_vec(self).expect("an attestation is always canonicalisable");
        (
            dsse::sign(key, ATTESTATION_PAYLOAD_TYPE, &bytes),
            Digest::of(&bytes),
        )
    }

    /// Verifies an attestation envelope against the server's public key.
    pub fn verify(
        envelope: &Envelope,
        server_key: &PublicKey,
    ) -> Result<(Attestation, Digest), VerifyError> {
        let v = envelope.verify(ATTESTATION_PAYLOAD_TYPE, |id| {
            (*id == server_key.id()).then_some(server_key)
        })?;
        let a = serde_json::from_slice(&v.payload)
            .map_err(|e| VerifyError::Malformed(e.to_string()))?;
        Ok((a, v.digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Attestation {
        Attestation {
            control: "iso27001-2022:A.5.1".into(),
            statement: "The information security policy v3 was approved by the board".into(),
            attested_by: "J. Doe, CISO".into(),
            recorded_by: "alice (security-lead)".into(),
            recorded_at: "2026-11-01T00:00:00Z".parse().unwrap(),
            valid_until: "2027-11-01T00:00:00Z".parse().unwrap(),
            document: Some(DocumentRef {
                name: "policy-v3.pdf".into(),
                size: 3,
                sha256: Digest::of(b"pdf"),
            }),
        }
    }

    #[test]
    fn signed_attestations_verify_and_any_change_fails() {
        let server = SigningKey::from_seed(&[3; 32]);
        let (env, digest) = sample().sign(&server);
        let (back, d) = Attestation::verify(&env, server.public()).unwrap();
        assert_eq!((back, d), (sample(), digest));
        let mut tampered = sample();
        tampered.valid_until = "2030-01-01T00:00:00Z".parse().unwrap();
        let (other, _) = tampered.sign(&server);
        let mut forged = env.clone();
        forged.payload = other.payload;
        assert!(Attestation::verify(&forged, server.public()).is_err());
        let stranger = SigningKey::from_seed(&[4; 32]);
        assert!(Attestation::verify(&env, stranger.public()).is_err());
    }

    #[test]
    fn validation_names_the_problem() {
        assert_eq!(sample().validate(), Ok(()));
        let mut a = sample();
        a.statement = " ".into();
        assert_eq!(a.validate(), Err(AttestationError::Empty("statement")));
        let mut a = sample();
        a.control = "A.5.1".into();
        assert!(matches!(a.validate(), Err(AttestationError::Control(_))));
        let mut a = sample();
        a.valid_until = a.recorded_at;
        assert!(matches!(a.validate(), Err(AttestationError::Period { .. })));
    }

    #[test]
    fn it_holds_in_its_period_only() {
        let a = sample();
        assert!(a.holds_at("2027-01-01T00:00:00Z".parse().unwrap()));
        assert!(!a.holds_at("2027-11-01T00:00:00Z".parse().unwrap()));
        assert!(!a.holds_at("2026-10-01T00:00:00Z".parse().unwrap()));
    }
}
