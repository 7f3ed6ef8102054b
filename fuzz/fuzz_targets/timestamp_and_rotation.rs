//! RFC 3161 replies and tokens, and key rotations (issue 19), as a TSA's answer, a bundle's
//! `log/timestamps/*.json` or a rotation reach the server, an agent or an auditor:
//!
//! - `token_of_reply` and `verify_token` never panic on any bytes, and `verify_token` never
//!   accepts a token over the fixed data with the fixed certificate of a TSA whose key the
//!   fuzzer does not hold (seeds: a reply and a token OpenSSL's TSA made for other data);
//! - `KeyRotation::open` never panics, and never accepts a rotation (it would need two
//!   Ed25519 signatures the fuzzer cannot make).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vouch_evidence::dsse::Envelope;
use vouch_evidence::rotation::KeyRotation;
use vouch_verify::timestamp::{token_of_reply, verify_token};

/// The certificate of the TSA that made the seeds (its key is not here).
const TSA_CERT: &[u8] = include_bytes!("../fixtures/tsa-cert.der");

fuzz_target!(|data: &[u8]| {
    let _ = token_of_reply(data);
    assert!(
        verify_token(data, b"the fuzzer's data", TSA_CERT, None).is_err(),
        "a token over this data by this TSA"
    );
    if let Ok(env) = Envelope::from_slice(data) {
        assert!(KeyRotation::open(&env).is_err(), "a rotation signed by two keys");
    }
});
