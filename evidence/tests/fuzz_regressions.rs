//! The inputs that once crashed a fuzz target (`fuzz/corpus/*/crash-*`, issue 15), run in the
//! ordinary suite so a regression is caught without a nightly toolchain: each is refused by
//! every parser, or accepted by all of them and then its own canonical encoding.

use std::path::PathBuf;

use vouch_evidence::{Receipt, Snapshot, SnapshotHeader};

fn crash_seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("crash-")
        })
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no crash seeds in {}", dir.display());
    seeds
}

#[test]
fn snapshot_crash_seeds_have_one_byte_form() {
    for (name, bytes) in crash_seeds("snapshot_decode") {
        let fast = Snapshot::check_payload(&bytes);
        let full = Snapshot::from_payload(&bytes);
        let header = SnapshotHeader::from_payload(&bytes);
        match (&fast, &full) {
            (Ok(h), Ok(s)) => {
                assert_eq!(h, header.as_ref().unwrap(), "{name}");
                assert_eq!(
                    s.canonical_bytes().unwrap(),
                    bytes,
                    "{name}: not its own encoding"
                );
            }
            (Err(_), Err(_)) => {}
            _ => panic!(
                "{name}: check_payload {fast:?} but from_payload {:?}",
                full.err()
            ),
        }
    }
}

#[test]
fn the_non_canonical_crash_seeds_are_refused() {
    for (name, bytes) in crash_seeds("snapshot_decode") {
        if name.contains("big-integer") {
            continue;
        }
        assert!(Snapshot::check_payload(&bytes).is_err(), "{name}");
    }
}

#[test]
fn receipt_crash_seeds_are_refused_without_panic() {
    for (name, bytes) in crash_seeds("receipt_and_keys") {
        assert!(serde_json::from_slice::<Receipt>(&bytes).is_err(), "{name}");
    }
}

/// The canonical_json target's property on its crash seeds: what the checker accepts, serde_json
/// reads, and the encoder writes back byte for byte.
#[test]
fn canonical_crash_seeds_keep_checker_parser_and_encoder_in_agreement() {
    use vouch_evidence::canonical;
    for (name, bytes) in crash_seeds("canonical_json") {
        assert_eq!(
            canonical::is_canonical(&bytes),
            canonical::check(&bytes).is_ok(),
            "{name}"
        );
        if canonical::check(&bytes).is_ok() {
            let value: serde_json::Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{name}: accepted but unreadable: {e}"));
            assert_eq!(canonical::value_to_vec(&value).unwrap(), bytes, "{name}");
        }
    }
}
