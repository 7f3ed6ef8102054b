//! `vouch-agent check`: the built-in pack's verdicts on a fixture host, by control.

use std::process::Command;

/// When the fixture hosts are judged: a day after their package lists were published
/// (2026-11-23), so the verdicts are the same on any day the suite runs.
const AT: &str = "2026-11-24T12:00:00Z";

/// Runs `vouch-agent check --at AT` on the fixture host `host`: exit code and standard output.
fn check(host: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    // Regression: on a fresh clone /etc/shadow is 0644 until its fixture mode is applied, and
    // this test failed in CI whenever it ran before the collectors' fixture test.
    let root = vouch_collectors::fixtures::fixture_host(host);
    std::fs::write(
        &config,
        format!(
            "[server]\nurl = \"https://127.0.0.1:9\"\n[agent]\nstate_dir = \"{}\"\n[collectors.host]\nroot = \"{}\"\n",
            dir.path().join("state").display(),
            root.display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vouch-agent"))
        .args(["--config", config.to_str().unwrap(), "check", "--at", AT])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_hardened_host_passes_every_control_it_is_judged_on() {
    let (code, out) = check("debian12-hardened");
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("host web-1 "), "{out}");
    assert!(
        out.lines()
            .next()
            .unwrap()
            .contains(", collected 2026-11-24T12:00:00.000000Z,"),
        "{out}"
    );
    let a824 = out
        .lines()
        .find(|l| l.starts_with("iso27001-2022:A.8.24 "))
        .unwrap();
    assert!(a824.contains(" pass "), "{a824}");
    let summary = out.lines().last().unwrap();
    assert!(summary.contains(" controls: "), "{out}");
    assert!(
        !summary.contains("fail") && !summary.contains("error"),
        "{out}"
    );
}

#[test]
fn a_weak_host_fails_with_the_policies_and_reasons() {
    let (code, out) = check("debian12-weak");
    assert_eq!(code, 1, "{out}");
    let a82 = out
        .lines()
        .skip_while(|l| !l.starts_with("iso27001-2022:A.8.2 "))
        .take_while(|l| l.starts_with("iso27001-2022:A.8.2 ") || l.starts_with(' '))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(a82.contains(" fail "), "{a82}");
    assert!(
        a82.contains("fail host.ssh.root_login_disabled [high]: PermitRootLogin is yes"),
        "{a82}"
    );
}
