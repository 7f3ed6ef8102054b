//! Signed notes, checkpoints and Merkle proofs (issue 19), as a server's answers reach an
//! agent or an auditor:
//!
//! - `Note::parse` never panics, and a note it reads writes back to the same text;
//! - `Checkpoint::parse` never panics, and a checkpoint it reads writes back to the same text;
//! - `Note::verify` with a fixed log key never panics and never accepts a note the key did not
//!   sign (the fuzzer cannot forge Ed25519);
//! - `verify_inclusion` and `verify_consistency` never panic on arbitrary sizes, indexes and
//!   proofs, and never accept a proof for a tree of one fixed leaf under the wrong root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vouch_evidence::SigningKey;
use vouch_evidence::note::{Checkpoint, Note, NoteVerifier};
use vouch_evidence::tlog::{self, Hash};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(note) = Note::parse(text) {
            assert_eq!(note.to_string(), text, "a note reads back to itself");
            let log = SigningKey::from_seed(&[0x4c; 32]);
            let v = NoteVerifier::new("vouch.example/log", log.public().clone()).unwrap();
            assert!(
                note.verify(&[v]).is_err(),
                "no note here was signed by the log key"
            );
        }
        if let Ok(c) = Checkpoint::parse(text) {
            assert_eq!(c.to_text(), text, "a checkpoint reads back to itself");
        }
    }
    if data.len() >= 16 {
        let a = u64::from_le_bytes(data[0..8].try_into().unwrap());
        let b = u64::from_le_bytes(data[8..16].try_into().unwrap());
        let proof: Vec<Hash> = data[16..]
            .chunks_exact(32)
            .take(70)
            .map(|c| c.try_into().unwrap())
            .collect();
        let leaf = tlog::leaf_hash(b"leaf");
        let wrong_root = tlog::leaf_hash(b"not the root");
        assert!(tlog::verify_inclusion(&leaf, a % 1024, b, &proof, &wrong_root).is_err());
        let _ = tlog::verify_consistency(a, b, &leaf, &wrong_root, &proof);
    }
});
