//! `vouch fsck` and `vouch verify` against a byte flipped in a stored envelope (issue 15, fault
//! test (e), SQLite; the S3 case is in tests/tests/objects.rs): both name the snapshot, and
//! fsck passes on the same store before the damage.

use crate::common;

use std::process::Command;

use axum::http::StatusCode;
use base64::Engine as _;
use common::*;
use vouch_evidence::Digest;
use vouch_server::auth::Role;

const QUERY: &str = "from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z&size=3&seed=fsck";

fn vouch(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Flips one character of the base64 payload of the envelope of `digest`, in place.
fn flip_a_byte(db: &std::path::Path, digest: Digest) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut envelope: Vec<u8> = conn
        .query_row(
            "SELECT envelope FROM snapshots WHERE digest = ?1",
            [digest.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    let at = envelope
        .windows(11)
        .position(|w| w == b"\"payload\":\"")
        .unwrap()
        + 40;
    envelope[at] = if envelope[at] == b'A' { b'B' } else { b'A' };
    conn.execute(
        "UPDATE snapshots SET envelope = ?1 WHERE digest = ?2",
        rusqlite::params![envelope, digest.to_string()],
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_in_a_stored_envelope_is_named_by_fsck_and_verify() {
    let h = harness().await;
    let dir = h._dir.path().to_path_buf();
    // The harness signs receipts with seed [99; 32]; fsck reads the key from the data dir.
    let seed = base64::engine::general_purpose::STANDARD.encode([99u8; 32]);
    let key_file = dir.join("receipt.key");
    std::fs::write(&key_file, format!("{seed}\n")).unwrap();
    std::fs::set_permissions(
        &key_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let mut agent = enroll(&h, 3).await;
    let mut digests = Vec::new();
    for _ in 0..5 {
        let (env, digest) = agent.next();
        assert_eq!(
            call(&h, post("/v1/snapshots", env)).await.0,
            StatusCode::CREATED
        );
        digests.push(digest);
    }
    let data = dir.to_str().unwrap();

    let (ok, out) = vouch(&["fsck", "--data-dir", data]);
    assert!(ok, "{out}");
    assert!(
        out.contains("5 snapshot(s) in 1 chain(s): 5 envelope(s) checked"),
        "{out}"
    );

    let damaged = digests[2];
    flip_a_byte(&dir.join("vouch.db"), damaged);

    let (ok, out) = vouch(&["fsck", "--data-dir", data]);
    assert!(!ok, "fsck passed a damaged store: {out}");
    let fails: Vec<&str> = out.lines().filter(|l| l.starts_with("FAIL ")).collect();
    assert_eq!(fails.len(), 1, "{out}");
    assert!(
        fails[0].contains(&format!("sequence 3 ({damaged})")),
        "{out}"
    );
    assert!(fails[0].contains("does not verify"), "{out}");

    // The auditor's bundle carries the damaged envelope as stored: `vouch verify` names it.
    let auditor = h.state.create_api_token(Role::Auditor, "a").await.unwrap();
    let (status, bundle) = call(&h, get(&format!("/v1/export?{QUERY}"), Some(&auditor))).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&bundle)
    );
    let file = dir.join("bundle.tar.gz");
    std::fs::write(&file, bundle).unwrap();
    let (ok, out) = vouch(&["verify", file.to_str().unwrap()]);
    assert!(!ok, "verify passed a damaged bundle: {out}");
    assert!(
        out.lines()
            .any(|l| l.contains(&format!("envelopes/{damaged}.json")) && l.contains("signature")),
        "{out}"
    );
}
