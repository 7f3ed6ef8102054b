//! The built-in host policies on the collectors' fixture hosts (`tests/fixtures/hosts/*.expected`,
//! the evidence the host collectors produce for each): the contract between the two sides, ids
//! and value types.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;
use vouch_evidence::{Asset, AssetKind, EvidenceItem, Source, Timestamp};
use vouch_policies::{PolicyPack, SnapshotView, Status};

/// The fixture hosts' era: the hardened host refreshed its package lists the day before.
const COLLECTED_AT: &str = "2026-11-24T12:00:00Z";

/// A fixture host's asset and evidence, from its `.expected` directory (one file per area, items
/// as `{"ok": value}` or `{"unavailable": reason}`).
fn fixture(host: &str) -> (Asset, BTreeMap<String, EvidenceItem>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/hosts")
        .join(format!("{host}.expected"));
    let read = |name: &str| -> Value {
        let path = dir.join(name);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let asset = read("asset.json");
    let asset = Asset {
        kind: AssetKind::Host,
        id: asset["id"].as_str().unwrap().into(),
        name: asset["name"].as_str().unwrap().into(),
    };
    let mut evidence = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !name.ends_with(".json") || name == "asset.json" {
            continue;
        }
        for (id, item) in read(&name).as_object().unwrap() {
            let source = Source::File(format!("{host}/{name}"));
            let item = match (item.get("ok"), item.get("unavailable")) {
                (Some(v), None) => EvidenceItem::ok(v.clone(), source),
                (None, Some(Value::String(r))) => EvidenceItem::unavailable(source, r.clone()),
                _ => panic!("{name}: {id}: neither ok nor unavailable"),
            };
            evidence.insert(id.clone(), item);
        }
    }
    (asset, evidence)
}

/// Every host policy's verdict on a fixture host, by policy id.
fn judge(host: &str) -> BTreeMap<String, (Status, String)> {
    let (asset, evidence) = fixture(host);
    let pack = PolicyPack::builtin();
    let at: Timestamp = COLLECTED_AT.parse().unwrap();
    pack.evaluate(&SnapshotView {
        asset: &asset,
        collected_at: at,
        evidence: &evidence,
    })
    .into_iter()
    .filter(|r| {
        pack.policy(&r.policy)
            .unwrap()
            .asset_kinds
            .contains(&AssetKind::Host)
    })
    .map(|r| (r.policy, (r.status, r.reason)))
    .collect()
}

/// Checks each (policy, status, a piece of the reason) against `verdicts`.
fn expect(verdicts: &BTreeMap<String, (Status, String)>, table: &[(&str, Status, &str)]) {
    for (policy, status, reason) in table {
        let (got, why) = &verdicts[*policy];
        assert_eq!(got, status, "{policy}: {why}");
        assert!(why.contains(reason), "{policy}: {why:?} lacks {reason:?}");
    }
}

#[test]
fn every_evidence_id_a_host_policy_reads_is_one_the_collectors_emit() {
    let (_, emitted) = fixture("debian12-hardened");
    let pack = PolicyPack::builtin();
    let mut host_policies = 0;
    for p in pack
        .policies()
        .iter()
        .filter(|p| p.asset_kinds.contains(&AssetKind::Host))
    {
        host_policies += 1;
        for id in &p.evidence {
            assert!(
                emitted.contains_key(id),
                "{}: the host collectors do not emit {id}",
                p.id
            );
        }
    }
    assert!(host_policies >= 40, "{host_policies}");
}

#[test]
fn the_hardened_debian_host_passes_every_host_policy() {
    let not_passing: Vec<String> = judge("debian12-hardened")
        .into_iter()
        .filter(|(_, (status, _))| *status != Status::Pass)
        .map(|(id, (status, reason))| format!("{id} {}: {reason}", status.as_str()))
        .collect();
    assert!(not_passing.is_empty(), "{not_passing:#?}");
}

#[test]
fn the_weak_debian_host_fails_what_it_gets_wrong() {
    let verdicts = judge("debian12-weak");
    expect(
        &verdicts,
        &[
            (
                "host.ssh.root_login_disabled",
                Status::Fail,
                "PermitRootLogin is yes",
            ),
            ("host.ssh.no_weak_ciphers", Status::Fail, "3des-cbc"),
            ("host.accounts.root_only_uid0", Status::Fail, "toor"),
            (
                "host.accounts.no_empty_passwords",
                Status::Fail,
                "1 account(s)",
            ),
            ("host.accounts.strong_password_hashes", Status::Fail, "md5"),
            (
                "host.files.shadow_permissions",
                Status::Fail,
                "mode 0644 grants more than 0640",
            ),
            (
                "host.storage.root_encrypted",
                Status::Fail,
                "not on an encrypted volume",
            ),
            (
                "host.storage.luks_strong_cipher",
                Status::Fail,
                "aes-cbc-essiv",
            ),
            (
                "host.packages.no_pending_security_updates",
                Status::Fail,
                "openssl",
            ),
            (
                "host.packages.lists_fresh",
                Status::Fail,
                "days before collection",
            ),
            ("host.firewall.active", Status::Fail, "no host firewall"),
            (
                "host.network.no_exposed_sensitive_ports",
                Status::Fail,
                "tcp/3306 (MySQL)",
            ),
            ("host.services.no_insecure_legacy", Status::Fail, "vsftpd"),
            ("host.certificates.no_weak_keys", Status::Fail, "rsa 1024"),
            ("host.certificates.none_expired", Status::Fail, "legacy.crt"),
            (
                "host.audit.rules_configured",
                Status::Error,
                "evidence unavailable: host.audit.rule_count",
            ),
            (
                "host.mac.enforcing",
                Status::Fail,
                "AppArmor has no profile in enforce mode (2 in complain mode)",
            ),
            (
                "host.kernel.livepatches_effective",
                Status::Fail,
                "not yet in effect for every task: kpatch_cve_2024_1086",
            ),
        ],
    );
    let failed = verdicts
        .values()
        .filter(|(s, _)| *s == Status::Fail)
        .count();
    assert!(
        failed >= 40,
        "{failed} of {} host policies fail",
        verdicts.len()
    );
}

#[test]
fn on_every_fixture_host_an_error_is_a_missing_fact_never_a_broken_policy() {
    for host in [
        "debian12-hardened",
        "debian12-weak",
        "rhel9",
        "container-minimal",
    ] {
        for (policy, (status, reason)) in judge(host) {
            if status == Status::Error {
                assert!(
                    reason.starts_with("evidence unavailable: "),
                    "{host}: {policy}: {reason}"
                );
            }
        }
    }
    // Without an SSH server, the SSH policies do not apply, whatever could not be read.
    let container = judge("container-minimal");
    assert_eq!(
        container["host.ssh.root_login_disabled"],
        (
            Status::NotApplicable,
            "no SSH server is installed".to_string()
        )
    );
}

#[test]
fn the_rhel9_host_is_judged_by_its_release_and_selinux() {
    expect(
        &judge("rhel9"),
        &[
            (
                "host.os.supported",
                Status::Pass,
                "rhel 9.4 receives security updates (Maintenance Support) until 2032-05-31",
            ),
            ("host.mac.enforcing", Status::Pass, "SELinux is enforcing"),
            (
                "host.kernel.livepatches_effective",
                Status::NotApplicable,
                "no kernel live patch is loaded",
            ),
        ],
    );
}
