//! `vouch-agent collect` on this very machine, as root and as an unprivileged user (`nobody`):
//! both succeed, they agree wherever both could read a fact, and what only root could read is
//! reported unavailable with a reason that says so, never silently missing.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn euid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .and_then(|u| u.parse().ok())
        .expect("effective uid from /proc/self/status")
}

/// Runs the copied binary's `collect --format json`, optionally as `nobody`.
fn collect(dir: &Path, unprivileged: bool) -> Value {
    let bin = dir.join("vouch-agent");
    let config = dir.join("agent.toml");
    let mut cmd = if unprivileged {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    let out = cmd
        .arg("--config")
        .arg(&config)
        .args(["collect", "--format", "json"])
        .output()
        .expect("run vouch-agent");
    assert!(
        out.status.success(),
        "collect as {} failed: {}",
        if unprivileged { "nobody" } else { "this user" },
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON snapshot body")
}

#[test]
fn root_and_an_unprivileged_user_agree_where_both_can_read() {
    // A directory and copy of the binary that `nobody` may enter and run.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("vouch-agent");
    std::fs::copy(env!("CARGO_BIN_EXE_vouch-agent"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        dir.path().join("agent.toml"),
        format!(
            "[server]\nurl = \"https://127.0.0.1:9\"\n[agent]\nstate_dir = \"{}\"\n[collectors.host]\nroot = \"/\"\n",
            dir.path().join("state").display()
        ),
    )
    .unwrap();

    let mine = collect(dir.path(), false);
    let items = mine["evidence"].as_object().unwrap();
    assert!(items.len() >= 13, "{} items", items.len());
    if euid() != 0 {
        eprintln!("not root: collected as this user only; run as root to compare with nobody");
        return;
    }
    let theirs = collect(dir.path(), true);
    let their_items = theirs["evidence"].as_object().unwrap();
    assert_eq!(
        mine["asset"], theirs["asset"],
        "both describe the same asset"
    );
    let mut problems = Vec::new();
    for (id, root_item) in items {
        let Some(user_item) = their_items.get(id) else {
            problems.push(format!("{id}: missing from the unprivileged collection"));
            continue;
        };
        match (root_item["status"].as_str(), user_item["status"].as_str()) {
            (Some("ok"), Some("ok"))
                if root_item["value"] != user_item["value"]
                    && !vouch_collectors::is_volatile(id) =>
            {
                problems.push(format!(
                    "{id}: root read {}, nobody read {}",
                    root_item["value"], user_item["value"]
                ));
            }
            (Some("ok"), Some("ok")) => {}
            (Some("ok"), _) => {
                let reason = user_item["reason"].as_str().unwrap_or_default();
                if !(reason.contains("permission denied")
                    || reason.contains("not permitted")
                    || reason.contains("needs root"))
                {
                    problems.push(format!(
                        "{id}: only root could read it, but nobody's reason does not say so: {reason:?}"
                    ));
                }
            }
            (_, Some("ok")) => problems.push(format!(
                "{id}: nobody could read it but root could not: {}",
                root_item["reason"]
            )),
            _ => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
