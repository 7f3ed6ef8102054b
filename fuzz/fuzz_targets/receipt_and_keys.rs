//! Public key lines and delivery receipts.
//!
//! - `PublicKey::from_line` never panics on arbitrary UTF-8, and a key it reads writes back
//!   to a line that reads the same key and comment;
//! - `Receipt::verify` never panics on arbitrary envelope bytes;
//! - the same bytes, signed as a receipt payload with the fixed server key, reach the payload
//!   parse behind the signature: it never panics, and a receipt it accepts signs and verifies
//!   back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vouch_evidence::dsse::{self, Envelope};
use vouch_evidence::{PublicKey, RECEIPT_PAYLOAD_TYPE, Receipt, SigningKey};

/// The server key the seed receipts are signed with (`fuzz/corpus/receipt_and_keys`).
const SERVER_SEED: [u8; 32] = [0x53; 32];

fn key() -> &'static SigningKey {
    static KEY: std::sync::OnceLock<SigningKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_seed(&SERVER_SEED))
}

fuzz_target!(|data: &[u8]| {
    let server = key();

    if let Ok(line) = std::str::from_utf8(data)
        && let Ok((k, comment)) = PublicKey::from_line(line)
    {
        let (back, again) =
            PublicKey::from_line(&k.to_line(&comment)).expect("a written key line reads");
        assert_eq!(back, k);
        assert_eq!(again, comment);
        assert_eq!(PublicKey::from_raw(&k.to_raw()), Ok(k.clone()));
    }

    if let Ok(env) = Envelope::from_slice(data)
        && let Ok(r) = Receipt::verify(&env, server.public())
    {
        assert_eq!(Receipt::verify(&r.sign(server), server.public()), Ok(r));
    }

    let env = dsse::sign(server, RECEIPT_PAYLOAD_TYPE, data);
    if let Ok(r) = Receipt::verify(&env, server.public()) {
        let resigned = r.sign(server);
        assert_eq!(
            Receipt::verify(&resigned, server.public()),
            Ok(r),
            "a receipt does not survive sign and verify"
        );
    }
});
