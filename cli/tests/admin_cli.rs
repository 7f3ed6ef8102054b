//! `vouch token create`, `vouch agents list` and `vouch keys export` on a data directory, and
//! `vouch policy check`, `test` and `coverage` on policy packs.

use std::path::PathBuf;
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
        "--scope",
        "host",
        "--ttl",
        "2h",
        "--data-dir",
        d,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.trim().starts_with("vch_enroll_"), "{out}");
    let (code, _, err) = vouch(&["token", "create", "--role", "enroll", "--data-dir", d]);
    assert_ne!(code, 0);
    assert!(err.contains("needs a scope"), "{err}");
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

    // The list names each token by id, role and expiry, never the token itself; revoking by
    // id ends it and is in the audit log.
    let (code, list, err) = vouch(&["token", "list", "--data-dir", d]);
    assert_eq!(code, 0, "{err}");
    assert!(!list.contains("vch_"), "{list}");
    let auditor_line = list.lines().find(|l| l.contains("\tauditor\t")).unwrap();
    assert!(auditor_line.contains("\tvalid\t"), "{auditor_line}");
    let enroll_line = list.lines().find(|l| l.contains("\tenroll\t")).unwrap();
    assert!(enroll_line.contains("scope host"), "{enroll_line}");
    let id = auditor_line.split('\t').next().unwrap();
    let (code, out, err) = vouch(&[
        "token",
        "revoke",
        id,
        "--reason",
        "rotated",
        "--data-dir",
        d,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("revoked auditor token {id}")),
        "{out}"
    );
    let (code, list, _) = vouch(&["token", "list", "--data-dir", d]);
    assert_eq!(code, 0);
    assert!(
        list.lines()
            .any(|l| l.starts_with(id) && l.contains("revoked ")),
        "{list}"
    );
    let (code, _, err) = vouch(&[
        "token",
        "revoke",
        "00000000",
        "--reason",
        "x",
        "--data-dir",
        d,
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("no token has id"), "{err}");
    let (code, _, err) = vouch(&[
        "agents",
        "revoke",
        "agt_x",
        "--reason",
        "x",
        "--data-dir",
        d,
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("no agent has id"), "{err}");
    let (code, log, err) = vouch(&["audit-log", "--data-dir", d]);
    assert_eq!(code, 0, "{err}");
    assert!(
        log.contains("token.revoke") && log.contains("rotated"),
        "{log}"
    );
    assert!(log.contains("token.issue"), "{log}");

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

fn builtin_pack_dir() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../policies/pack")
        .display()
        .to_string()
}

#[test]
fn check_names_every_problem_and_accepts_the_builtin_pack() {
    let (code, out, err) = vouch(&["policy", "check", &builtin_pack_dir()]);
    assert_eq!(code, 0, "{out}{err}");
    let digest = vouch_policies::PolicyPack::builtin().digest().to_string();
    assert!(out.contains(&format!("digest {digest}")), "{out}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.rego"),
        "# METADATA\n# title: T\n# description: D\n# custom:\n#   id: host.test.broken\n\
         #   severity: urgent\n#   controls: [iso27001-2022:A.8.99]\n#   asset_kinds: [host]\n\
         #   evidence: [host.test.flag]\n#   remediation: R\n#   freshness: 1d\n\
         package vouch.policies.host.test.broken\n\nallow := \"x\" if {\n",
    )
    .unwrap();
    let (code, out, _) = vouch(&["policy", "check", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("broken.rego:6: custom.severity \"urgent\""),
        "{out}"
    );
    assert!(
        out.contains("broken.rego:7: unknown control iso27001-2022:A.8.99"),
        "{out}"
    );
    assert!(
        out.contains("broken.rego:15:"),
        "the syntax error, with its line: {out}"
    );
}

#[test]
fn test_runs_the_builtin_cases_and_coverage_lists_policies_under_controls() {
    let (code, out, err) = vouch(&["policy", "test", &builtin_pack_dir()]);
    assert_eq!(code, 0, "{out}{err}");
    let summary = out.lines().last().unwrap();
    assert!(summary.ends_with(" passed, 0 failed"), "{out}");

    let (code, out, err) = vouch(&["policy", "coverage"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(
            "ISO/IEC 27001:2022 Annex A: 93 controls, 1 automated, 26 partly, 66 manual;"
        ),
        "{out}"
    );
    assert!(
        out.lines().next().unwrap().contains(" exact, "),
        "mappings by relation: {out}"
    );
    assert!(
        err.is_empty(),
        "the built-in pack bears its classification out: {err}"
    );
    // Every control: its level and a rationale.
    let controls: Vec<&str> = out.lines().filter(|l| l.starts_with("A.")).collect();
    assert_eq!(controls.len(), 93, "{out}");
    let a824: String = out
        .lines()
        .skip_while(|l| !l.starts_with("A.8.24 "))
        .take_while(|l| l.starts_with("A.8.24 ") || l.starts_with(' '))
        .collect();
    assert!(a824.contains("partly"), "{a824}");
    assert!(a824.contains("why: "), "{a824}");
    assert!(a824.contains("manual part: "), "{a824}");
    assert!(a824.contains("host.storage.root_encrypted"), "{a824}");
    let a81: String = out
        .lines()
        .skip_while(|l| !l.starts_with("A.8.1 "))
        .take_while(|l| l.starts_with("A.8.1 ") || l.starts_with(' '))
        .collect();
    assert!(
        a81.contains("manual") && !a81.contains("exact:"),
        "no policy maps to A.8.1: {a81}"
    );
}

#[test]
fn coverage_with_another_pack_warns_of_claims_it_does_not_bear_out() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("clock.rego"),
        "# METADATA\n# title: T\n# description: D\n# custom:\n#   id: host.test.clock\n#   severity: low\n#   controls:\n#     - control: iso27001-2022:A.8.17\n#       relation: supporting\n#       why: A test.\n#   asset_kinds: [host]\n#   evidence: [host.time.synchronized]\n#   remediation: R\n#   freshness: 1h\npackage vouch.policies.host.test.clock\n\nallow := \"ok\" if true\ndeny contains \"no\" if false\n",
    )
    .unwrap();
    let (code, out, err) = vouch(&["policy", "coverage", "--pack", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("supporting: host.test.clock"), "{out}");
    assert!(
        err.contains(
            "warning: iso27001-2022:A.8.17 is classified automated but no policy maps to it exactly"
        ),
        "{err}"
    );
    assert!(
        err.contains("warning: iso27001-2022:A.8.24 is classified partly but no policy maps to it"),
        "{err}"
    );
}
