//! DSSE v1 envelopes (Dead Simple Signing Envelope), signed with Ed25519.
//!
//! The signature covers the pre-authentication encoding (PAE) exactly as the DSSE protocol
//! defines it: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, where `LEN` is the byte
//! length in ASCII decimal without leading zeros and `SP` one space. The envelope itself is
//! the JSON object `{"payloadType", "payload" (standard base64), "signatures": [{"keyid",
//! "sig"}]}`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::limits::{Limit, MAX_SIGNATURES};
use crate::{Digest, KeyId, PublicKey, SigningKey};

/// A DSSE envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// The media type of the payload, bound into the signature.
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// The payload, standard base64 with padding.
    pub payload: String,
    /// One or more signatures over the PAE of type and payload. Parsing keeps at most
    /// [`MAX_SIGNATURES`]` + 1` of them and skips the rest unread, so an envelope carrying its
    /// signature thousands of times costs no allocation per copy and is still refused by
    /// [`Envelope::within_signature_limit`].
    #[serde(deserialize_with = "bounded_signatures")]
    pub signatures: Vec<Signature>,
}

/// Reads a JSON array of signatures, keeping the first `MAX_SIGNATURES + 1`.
fn bounded_signatures<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Signature>, D::Error> {
    struct Bounded;
    impl<'de> serde::de::Visitor<'de> for Bounded {
        type Value = Vec<Signature>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array of signatures")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut kept = Vec::new();
            while kept.len() <= MAX_SIGNATURES {
                match seq.next_element::<Signature>()? {
                    Some(s) => kept.push(s),
                    None => return Ok(kept),
                }
            }
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(kept)
        }
    }
    d.deserialize_seq(Bounded)
}

/// One signature in an envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// Hex SHA-256 of the signer's raw Ed25519 public key.
    pub keyid: String,
    /// The 64-byte Ed25519 signature, standard base64.
    pub sig: String,
}

/// Why an envelope did not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// The envelope is not DSSE JSON.
    #[error("not a DSSE envelope: {0}")]
    Malformed(String),
    /// The payload type is not the one expected.
    #[error("payload type is {found:?}, expected {expected:?}")]
    PayloadType {
        /// What the envelope says.
        found: String,
        /// What the caller expects.
        expected: String,
    },
    /// The payload is not valid base64.
    #[error("payload is not valid base64")]
    PayloadEncoding,
    /// No signature was made by a key we know.
    #[error("no signature by a known key (key ids: {0})")]
    UnknownKey(String),
    /// A signature by a known key does not match the payload.
    #[error("signature by key {0} does not verify: the envelope was altered or forged")]
    BadSignature(String),
    /// More signatures than allowed: refused before any is checked.
    #[error("{0}")]
    Limit(Limit),
}

/// The pre-authentication encoding of DSSE v1.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = pae_header(payload_type, payload.len());
    out.extend_from_slice(payload);
    out
}

fn pae_header(payload_type: &str, payload_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + payload_type.len() + payload_len);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_len.to_string().as_bytes());
    out.push(b' ');
    out
}

/// The decoded length of padded standard base64, or `None` if the length cannot be right.
fn padded_base64_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return None;
    }
    let pad = b.iter().rev().take(2).filter(|&&c| c == b'=').count();
    Some(b.len() / 4 * 3 - pad)
}

/// Signs `payload` as `payload_type` with `key`.
pub fn sign(key: &SigningKey, payload_type: &str, payload: &[u8]) -> Envelope {
    let sig = key.sign(&pae(payload_type, payload));
    Envelope {
        payload_type: payload_type.to_string(),
        payload: B64.encode(payload),
        signatures: vec![Signature {
            keyid: key.id().to_string(),
            sig: B64.encode(sig),
        }],
    }
}

/// An envelope whose signature has been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The decoded payload bytes.
    pub payload: Vec<u8>,
    /// SHA-256 of the payload bytes.
    pub digest: Digest,
    /// The key that signed it.
    pub keyid: KeyId,
}

impl Envelope {
    /// Parses an envelope from JSON bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, VerifyError> {
        serde_json::from_slice(bytes).map_err(|e| VerifyError::Malformed(e.to_string()))
    }

    /// The envelope as compact JSON bytes (the form agents send and the server stores).
    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an envelope always serialises")
    }

    /// Refuses an envelope with more than `most` signatures (or none), before any is checked:
    /// an envelope carrying its signature thousands of times must cost nothing to refuse.
    pub fn within_signature_limit(&self, most: usize) -> Result<(), VerifyError> {
        match self.signatures.len() {
            0 => Err(VerifyError::Malformed("no signature".into())),
            n if n > most => Err(VerifyError::Limit(Limit::Signatures(most))),
            _ => Ok(()),
        }
    }

    /// The key ids named by the signatures.
    pub fn keyids(&self) -> Vec<&str> {
        self.signatures.iter().map(|s| s.keyid.as_str()).collect()
    }

    /// Verifies the envelope: the payload type must be `expected_type`, and at least one
    /// signature must be by a key `lookup` returns and must verify. A signature by a known key
    /// that fails is an error even if another one succeeds: an altered envelope never passes.
    pub fn verify<'k>(
        &self,
        expected_type: &str,
        lookup: impl Fn(&KeyId) -> Option<&'k PublicKey>,
    ) -> Result<Verified, VerifyError> {
        self.within_signature_limit(MAX_SIGNATURES)?;
        let (mut message, header_len) = self.message(expected_type)?;

        let mut verified_by = None;
        for sig in &self.signatures {
            let Ok(keyid) = sig.keyid.parse::<KeyId>() else {
                continue;
            };
            let Some(key) = lookup(&keyid) else { continue };
            let ok = B64
                .decode(sig.sig.as_bytes())
                .is_ok_and(|raw| key.verify(&message, &raw));
            if !ok {
                return Err(VerifyError::BadSignature(sig.keyid.clone()));
            }
            verified_by.get_or_insert(keyid);
        }
        let Some(keyid) = verified_by else {
            return Err(VerifyError::UnknownKey(self.keyids().join(", ")));
        };
        message.drain(..header_len);
        let digest = Digest::of(&message);
        Ok(Verified {
            payload: message,
            digest,
            keyid,
        })
    }

    /// The PAE message of this envelope (payload decoded behind the header), and the header's
    /// length; checks the payload type first.
    fn message(&self, expected_type: &str) -> Result<(Vec<u8>, usize), VerifyError> {
        if self.payload_type != expected_type {
            return Err(VerifyError::PayloadType {
                found: self.payload_type.clone(),
                expected: expected_type.to_string(),
            });
        }
        let payload_len = padded_base64_len(&self.payload).ok_or(VerifyError::PayloadEncoding)?;
        let mut message = pae_header(expected_type, payload_len);
        let header_len = message.len();
        base64_simd::STANDARD
            .decode_append(self.payload.as_bytes(), &mut message)
            .map_err(|_| VerifyError::PayloadEncoding)?;
        if message.len() - header_len != payload_len {
            return Err(VerifyError::PayloadEncoding);
        }
        Ok((message, header_len))
    }

    /// The decoded payload, without checking any signature.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, VerifyError> {
        B64.decode(self.payload.as_bytes())
            .map_err(|_| VerifyError::PayloadEncoding)
    }
}

/// Verifies many envelopes at once, with the same verdicts as [`Envelope::verify`] on each.
///
/// Every signature by a known key is checked in one Ed25519 batch (about twice as fast per
/// signature). When the batch fails, each envelope is verified on its own, strictly, so every
/// failure is found and named. Batch verification uses the cofactored equation: a signature
/// that only the key's holder could craft with torsion components may pass here and fail the
/// strict single check; the server verifies strictly on ingest, so none is ever stored.
pub fn verify_many<'k>(
    envelopes: &[Envelope],
    expected_type: &str,
    lookup: impl Fn(&KeyId) -> Option<&'k PublicKey> + Copy,
) -> Vec<Result<Verified, VerifyError>> {
    let mut prepared = Vec::with_capacity(envelopes.len());
    let mut messages: Vec<(usize, Vec<u8>, usize)> = Vec::with_capacity(envelopes.len());
    let mut batch_sigs = Vec::new();
    let mut batch_keys = Vec::new();
    let mut batch_msg = Vec::new();
    for (i, env) in envelopes.iter().enumerate() {
        let result = env
            .within_signature_limit(MAX_SIGNATURES)
            .and_then(|()| env.message(expected_type))
            .and_then(|(msg, header_len)| {
                let mut signer = None;
                let mut sigs = Vec::new();
                for s in &env.signatures {
                    let Ok(keyid) = s.keyid.parse::<KeyId>() else {
                        continue;
                    };
                    let Some(key) = lookup(&keyid) else { continue };
                    let sig = B64
                        .decode(s.sig.as_bytes())
                        .ok()
                        .and_then(|raw| ed25519_dalek::Signature::from_slice(&raw).ok())
                        .ok_or_else(|| VerifyError::BadSignature(s.keyid.clone()))?;
                    sigs.push((sig, key));
                    signer.get_or_insert(keyid);
                }
                let keyid =
                    signer.ok_or_else(|| VerifyError::UnknownKey(env.keyids().join(", ")))?;
                Ok((msg, header_len, sigs, keyid))
            });
        match result {
            Ok((msg, header_len, sigs, keyid)) => {
                for (sig, key) in sigs {
                    batch_sigs.push(sig);
                    batch_keys.push(*key.dalek());
                    batch_msg.push(messages.len());
                }
                messages.push((i, msg, header_len));
                prepared.push(Ok(keyid));
            }
            Err(e) => prepared.push(Err(e)),
        }
    }
    let refs: Vec<&[u8]> = batch_msg
        .iter()
        .map(|&m| messages[m].1.as_slice())
        .collect();
    let batch_ok = ed25519_dalek::verify_batch(&refs, &batch_sigs, &batch_keys).is_ok();
    drop(refs);
    if !batch_ok {
        return envelopes
            .iter()
            .map(|e| e.verify(expected_type, lookup))
            .collect();
    }
    let mut messages = messages.into_iter().peekable();
    prepared
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let keyid = p?;
            let (_, mut message, header_len) = messages
                .next_if(|(j, _, _)| *j == i)
                .expect("one message per prepared envelope");
            message.drain(..header_len);
            let digest = Digest::of(&message);
            Ok(Verified {
                payload: message,
                digest,
                keyid,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_signatures_is_parsed_without_keeping_them_and_refused() {
        let key = SigningKey::from_seed(&[3; 32]);
        let env = sign(&key, "text/plain", b"x");
        let mut json: serde_json::Value = serde_json::from_slice(&env.to_vec()).unwrap();
        let sig = json["signatures"][0].clone();
        json["signatures"] = serde_json::Value::Array(vec![sig; 10_000]);
        let parsed = Envelope::from_slice(&serde_json::to_vec(&json).unwrap()).unwrap();
        assert_eq!(parsed.signatures.len(), MAX_SIGNATURES + 1);
        assert!(matches!(
            parsed.within_signature_limit(MAX_SIGNATURES),
            Err(VerifyError::Limit(_))
        ));
        // What is skipped is not read at all (the envelope is refused anyway).
        json["signatures"][9_999] = serde_json::json!(7);
        let skipped = Envelope::from_slice(&serde_json::to_vec(&json).unwrap());
        assert!(
            skipped.is_ok(),
            "skipped elements are not read as signatures"
        );
    }

    /// Batch verification gives the same verdict as one-by-one verification, failures included.
    #[test]
    fn verify_many_agrees_with_verify() {
        let k = key();
        let pk = k.public().clone();
        let look = |id: &KeyId| (*id == pk.id()).then_some(&pk);
        let mut envs: Vec<Envelope> = (0..20u8).map(|i| sign(&k, "t/x", &[i; 100])).collect();
        let all: Vec<_> = verify_many(&envs, "t/x", look);
        assert!(all.iter().all(Result::is_ok));
        assert_eq!(all[3].as_ref().unwrap().payload, vec![3u8; 100]);
        envs[5].payload = B64.encode([9u8; 100]);
        envs[7].payload_type = "t/y".into();
        envs[9] = sign(&SigningKey::from_seed(&[77; 32]), "t/x", b"stranger");
        let many = verify_many(&envs, "t/x", look);
        let one: Vec<_> = envs.iter().map(|e| e.verify("t/x", look)).collect();
        assert_eq!(many, one);
        assert!(matches!(many[5], Err(VerifyError::BadSignature(_))));
        assert!(matches!(many[7], Err(VerifyError::PayloadType { .. })));
        assert!(matches!(many[9], Err(VerifyError::UnknownKey(_))));
        assert!(many[6].is_ok());
    }

    /// The PAE example from the DSSE protocol document.
    #[test]
    fn pae_matches_the_spec_example() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    fn key() -> SigningKey {
        SigningKey::from_seed(&[3; 32])
    }

    #[test]
    fn sign_then_verify() {
        let k = key();
        let env = sign(&k, "t/x", b"{\"a\":1}");
        let pk = k.public().clone();
        let v = env
            .verify("t/x", |id| (*id == pk.id()).then_some(&pk))
            .unwrap();
        assert_eq!(v.payload, b"{\"a\":1}");
        assert_eq!(v.digest, Digest::of(b"{\"a\":1}"));
        assert_eq!(v.keyid, k.id());
    }

    #[test]
    fn signature_covers_type_and_payload() {
        let k = key();
        let pk = k.public().clone();
        let look = |id: &KeyId| (*id == pk.id()).then_some(&pk);
        let env = sign(&k, "t/x", b"payload");

        let mut other_type = env.clone();
        other_type.payload_type = "t/y".into();
        assert!(matches!(
            other_type.verify("t/y", look),
            Err(VerifyError::BadSignature(_))
        ));
        assert!(matches!(
            env.verify("t/y", look),
            Err(VerifyError::PayloadType { .. })
        ));

        let mut other_payload = env.clone();
        other_payload.payload = B64.encode(b"paylaod");
        assert!(matches!(
            other_payload.verify("t/x", look),
            Err(VerifyError::BadSignature(_))
        ));
    }

    #[test]
    fn unknown_key_and_bad_base64() {
        let k = key();
        let env = sign(&k, "t/x", b"p");
        assert!(matches!(
            env.verify("t/x", |_| None),
            Err(VerifyError::UnknownKey(_))
        ));
        let pk = k.public().clone();
        let mut bad = env.clone();
        bad.payload = "***".into();
        assert_eq!(
            bad.verify("t/x", |id| (*id == pk.id()).then_some(&pk)),
            Err(VerifyError::PayloadEncoding)
        );
    }

    /// Base64 with non-zero unused trailing bits decodes to the same bytes as the canonical
    /// form; accepting it would let an envelope's bytes change without the signature noticing.
    #[test]
    fn non_canonical_base64_trailing_bits_are_refused() {
        let k = key();
        let pk = k.public().clone();
        let env = sign(&k, "t/x", b"p");
        assert_eq!(env.payload, "cA==");
        let mut sloppy = env.clone();
        sloppy.payload = "cB==".into();
        assert_eq!(
            sloppy.verify("t/x", |id| (*id == pk.id()).then_some(&pk)),
            Err(VerifyError::PayloadEncoding)
        );
    }

    #[test]
    fn envelope_json_uses_dsse_field_names() {
        let env = sign(&key(), "t/x", b"p");
        let json: serde_json::Value = serde_json::from_slice(&env.to_vec()).unwrap();
        assert_eq!(json["payloadType"], "t/x");
        assert_eq!(json["payload"], "cA==");
        assert!(json["signatures"][0]["keyid"].is_string());
        assert!(
            Envelope::from_slice(br#"{"payloadType":"t","payload":"","signatures":[],"x":1}"#)
                .is_err()
        );
    }
}
