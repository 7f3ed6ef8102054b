//! DSSE envelopes: parsing and verifying arbitrary bytes, and signing arbitrary payloads.
//!
//! - `Envelope::from_slice` and `verify` never panic; a parsed envelope survives a
//!   serialise/parse round trip; `verify_many` gives the same verdict as `verify`;
//! - a verified envelope's payload is its base64 payload decoded, and its digest is the
//!   payload's SHA-256;
//! - any payload signed with the fixed key verifies, and flipping one bit of it is refused as
//!   a bad signature.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vouch_evidence::dsse::{self, Envelope, VerifyError};
use vouch_evidence::{Digest, KeyId, PublicKey, SNAPSHOT_PAYLOAD_TYPE, SigningKey};

/// The agent key the seed envelopes are signed with (`fuzz/corpus/dsse_envelope`).
const AGENT_SEED: [u8; 32] = [0x41; 32];

fn key() -> &'static SigningKey {
    static KEY: std::sync::OnceLock<SigningKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_seed(&AGENT_SEED))
}

fn check_envelope(env: &Envelope, expected_type: &str, public: &PublicKey) {
    let look = |id: &KeyId| (*id == public.id()).then_some(public);
    let one = env.verify(expected_type, look);
    let many = dsse::verify_many(std::slice::from_ref(env), expected_type, look);
    assert_eq!(many.len(), 1);
    assert_eq!(many[0], one, "verify_many disagrees with verify");
    if let Ok(v) = one {
        assert_eq!(v.keyid, public.id());
        assert_eq!(
            env.payload_bytes().as_deref(),
            Ok(v.payload.as_slice()),
            "the two base64 decoders disagree on a verified payload"
        );
        assert_eq!(v.digest, Digest::of(&v.payload));
    }
}

fuzz_target!(|data: &[u8]| {
    let k = key();
    let public = k.public();

    // Arbitrary bytes as an envelope.
    if let Ok(env) = Envelope::from_slice(data) {
        let again = Envelope::from_slice(&env.to_vec()).expect("a parsed envelope re-parses");
        assert_eq!(again, env, "envelope round trip changed it");
        check_envelope(&env, SNAPSHOT_PAYLOAD_TYPE, public);
        if env.payload_type != SNAPSHOT_PAYLOAD_TYPE {
            check_envelope(&env, &env.payload_type.clone(), public);
        }
    }

    // Arbitrary bytes as a payload, signed with the fixed key.
    let signed = dsse::sign(k, SNAPSHOT_PAYLOAD_TYPE, data);
    let look = |id: &KeyId| (*id == public.id()).then_some(public);
    let v = signed
        .verify(SNAPSHOT_PAYLOAD_TYPE, look)
        .expect("a freshly signed envelope verifies");
    assert_eq!(v.payload, data);
    let parsed = Envelope::from_slice(&signed.to_vec()).expect("a signed envelope parses");
    assert_eq!(parsed, signed);
    if !data.is_empty() {
        let bit = usize::from(data[0]) % (data.len() * 8);
        let mut flipped = data.to_vec();
        flipped[bit / 8] ^= 1 << (bit % 8);
        let mut tampered = signed.clone();
        tampered.payload = dsse::sign(k, SNAPSHOT_PAYLOAD_TYPE, &flipped).payload;
        assert!(
            matches!(
                tampered.verify(SNAPSHOT_PAYLOAD_TYPE, look),
                Err(VerifyError::BadSignature(_))
            ),
            "a payload with bit {bit} flipped still verified"
        );
    }
});
