//! Snapshot payloads: the server's one-pass ingest check against the full parse.
//!
//! - `Snapshot::check_payload`, `SnapshotHeader::from_payload` and `Snapshot::from_payload`
//!   never panic on arbitrary bytes;
//! - `check_payload` accepts exactly what `from_payload` accepts, and then both agree on the
//!   header (agent id, asset, sequence, collected_at, previous digest, schema version), and so
//!   does the fast `SnapshotHeader::from_payload`;
//! - an accepted payload is the snapshot's only byte form: re-encoding the parsed snapshot
//!   gives back exactly the input (`from_payload` promises one byte form and one digest).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vouch_evidence::{Snapshot, SnapshotHeader};

fuzz_target!(|data: &[u8]| {
    let fast = Snapshot::check_payload(data);
    let header = SnapshotHeader::from_payload(data);
    let full = Snapshot::from_payload(data);
    match (&fast, &full) {
        (Ok(h), Ok(s)) => {
            assert_eq!(h.agent_id, s.agent_id, "agent_id");
            assert_eq!(h.asset, s.asset, "asset");
            assert_eq!(h.sequence, s.sequence, "sequence");
            assert_eq!(h.collected_at, s.collected_at, "collected_at");
            assert_eq!(h.previous_digest, s.previous_digest, "previous_digest");
            assert_eq!(h.schema_version, s.schema_version, "schema_version");
            assert_eq!(h.link(), s.link());
            let read = header
                .as_ref()
                .expect("SnapshotHeader::from_payload refused a valid snapshot");
            assert_eq!(read, h, "the fast header read disagrees with check_payload");
            let bytes = s
                .canonical_bytes()
                .expect("an accepted snapshot re-encodes");
            assert!(
                bytes == data,
                "an accepted payload is not its snapshot's canonical encoding:\n  in:  {}\n  out: {}",
                String::from_utf8_lossy(data),
                String::from_utf8_lossy(&bytes)
            );
        }
        (Ok(_), Err(e)) => panic!("check_payload accepted what from_payload refuses: {e}"),
        (Err(e), Ok(_)) => panic!("from_payload accepted what check_payload refuses: {e}"),
        (Err(_), Err(_)) => {}
    }
});
