//! `vouch token create`, `vouch agents list` and `vouch keys export` on a data directory.

use std::process::Command;

fn vouch(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn tokens_are_printed_once_keys_are_exported_and_bad_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (code, out, err) = vouch(&[
        "token",
        "create",
        "--role",
        "enroll",
        "--ttl",
        "2h",
        "--data-dir",
        d,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.trim().starts_with("vch_enroll_"), "{out}");
    let (code, out, err) = vouch(&["token", "create", "--role", "auditor", "--data-dir", d]);
    assert_eq!(code, 0, "{err}");
    assert!(out.trim().starts_with("vch_auditor_"), "{out}");

    let (code, _, err) = vouch(&["token", "create", "--role", "root", "--data-dir", d]);
    assert_ne!(code, 0);
    assert!(err.contains("unknown role"), "{err}");
    let (code, _, err) = vouch(&[
        "token",
        "create",
        "--role",
        "enroll",
        "--ttl",
        "2w",
        "--data-dir",
        d,
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("--ttl"), "{err}");

    let (code, out, err) = vouch(&["agents", "list", "--data-dir", d]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");

    let keys = dir.path().join("keys.txt");
    let (code, _, err) = vouch(&[
        "keys",
        "export",
        "--data-dir",
        d,
        "-o",
        keys.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&keys).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("ed25519 ") && l.ends_with(" vouch-server-receipts")),
        "{text}"
    );
    // The receipt key is made once: a second export is the same.
    let (_, again, _) = vouch(&["keys", "export", "--data-dir", d]);
    assert_eq!(again, text);
}
