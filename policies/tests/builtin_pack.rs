//! The built-in pack as a whole: its case files, its compiled-in list, and its verdicts on a
//! complete host snapshot, with every fact present and with every fact missing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use vouch_evidence::{Asset, AssetKind, EvidenceItem, Source, Timestamp};
use vouch_policies::{PolicyPack, SnapshotView, Status, cases, pack};

fn pack_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pack")
}

/// The hardened host fixture: when collected, and its evidence by id.
fn hardened_host() -> (Timestamp, BTreeMap<String, serde_json::Value>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hardened-host.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let at = doc["collected_at"].as_str().unwrap().parse().unwrap();
    let evidence = serde_json::from_value(doc["evidence"].clone()).unwrap();
    (at, evidence)
}

fn host() -> Asset {
    Asset {
        kind: AssetKind::Host,
        id: "4f1c0d9e8b7a6d5c4b3a2918f7e6d5c4".into(),
        name: "web-1".into(),
    }
}

/// What a policy should give on a host: `on_host` when it applies to hosts, else not applicable.
fn expected_on_host(pack: &PolicyPack, policy: &str, on_host: Status) -> Status {
    let applies = pack
        .policy(policy)
        .unwrap()
        .asset_kinds
        .contains(&AssetKind::Host);
    if applies {
        on_host
    } else {
        Status::NotApplicable
    }
}

#[test]
fn every_builtin_policy_passes_its_cases_and_has_a_pass_and_a_fail_case() {
    let report = cases::run_dir(&pack_dir()).unwrap();
    assert!(report.ok(), "{}", report.render());
    let policies = PolicyPack::builtin().policies().len();
    assert!(
        report.passed >= 2 * policies,
        "{} cases for {policies} policies",
        report.passed
    );
}

#[test]
fn the_compiled_in_pack_is_the_directory() {
    let from_dir = PolicyPack::load(&pack_dir()).unwrap();
    let builtin = PolicyPack::builtin();
    assert_eq!(from_dir.digest(), builtin.digest());
    let listed: Vec<&str> = pack::BUILTIN.iter().map(|(p, _)| *p).collect();
    assert!(listed.contains(&"host/ssh_root_login.rego") && listed.contains(&"lib/vouch.rego"));
    assert!(
        listed.windows(2).all(|w| w[0] < w[1]),
        "in path order: {listed:?}"
    );
    let host_policies = builtin
        .policies()
        .iter()
        .filter(|p| p.asset_kinds == [AssetKind::Host])
        .count();
    assert!(host_policies >= 40, "{host_policies} host policies");
    assert!(
        builtin
            .policies()
            .iter()
            .all(|p| p.controls.iter().any(|c| c.framework == "iso27001-2022")),
        "every policy evidences an ISO/IEC 27001 control"
    );
}

#[test]
fn a_hardened_host_passes_every_policy() {
    let (at, facts) = hardened_host();
    let evidence: BTreeMap<String, EvidenceItem> = facts
        .into_iter()
        .map(|(id, v)| (id, EvidenceItem::ok(v, Source::File("/fixture".into()))))
        .collect();
    let asset = host();
    let pack = PolicyPack::builtin();
    let results = pack.evaluate(&SnapshotView {
        asset: &asset,
        collected_at: at,
        evidence: &evidence,
    });
    assert_eq!(results.len(), pack.policies().len());
    let not_passing: Vec<String> = results
        .iter()
        .filter(|r| r.status != expected_on_host(&pack, &r.policy, Status::Pass))
        .map(|r| format!("{} {}: {}", r.policy, r.status.as_str(), r.reason))
        .collect();
    assert!(not_passing.is_empty(), "{not_passing:#?}");
}

#[test]
fn a_host_whose_facts_are_all_missing_never_passes() {
    let (at, facts) = hardened_host();
    let asset = host();
    let pack = PolicyPack::builtin();
    let unavailable: BTreeMap<String, EvidenceItem> = facts
        .keys()
        .map(|id| {
            let item = EvidenceItem::unavailable(
                Source::File("/etc/x".into()),
                "permission denied reading /etc/x",
            );
            (id.clone(), item)
        })
        .collect();
    let absent = BTreeMap::new();
    for evidence in [&unavailable, &absent] {
        let results = pack.evaluate(&SnapshotView {
            asset: &asset,
            collected_at: at,
            evidence,
        });
        for r in &results {
            let expected = expected_on_host(&pack, &r.policy, Status::Error);
            assert_eq!(r.status, expected, "{}: {}", r.policy, r.reason);
            assert!(
                expected == Status::NotApplicable || r.reason.starts_with("evidence unavailable: "),
                "{}: {}",
                r.policy,
                r.reason
            );
        }
    }
}

#[test]
fn other_asset_kinds_are_not_applicable() {
    let (at, _) = hardened_host();
    let asset = Asset {
        kind: AssetKind::GithubOrg,
        id: "vouch-evidence".into(),
        name: "vouch-evidence".into(),
    };
    let evidence = BTreeMap::new();
    let pack = PolicyPack::builtin();
    let results = pack.evaluate(&SnapshotView {
        asset: &asset,
        collected_at: at,
        evidence: &evidence,
    });
    let host_only = results
        .iter()
        .filter(|r| pack.policy(&r.policy).unwrap().asset_kinds == [AssetKind::Host]);
    let mut n = 0;
    for r in host_only {
        n += 1;
        assert_eq!(r.status, Status::NotApplicable, "{}", r.policy);
        assert_eq!(r.reason, "applies to host assets, not github-org");
    }
    assert!(n >= 40);
}

/// The pack has one folder per declared source (`policies/pack/<source>/`, beside the shared
/// `lib/`), every policy in a source's folder applies to that source's kind of asset, and no
/// folder names a source the evidence contract does not declare.
#[test]
fn the_pack_has_one_folder_per_declared_source() {
    let pack = PolicyPack::builtin();
    let mut folders = std::collections::BTreeSet::new();
    for policy in pack.policies() {
        let folder = policy.file.split('/').next().unwrap();
        let source = vouch_evidence::SourceInfo::by_name(folder).unwrap_or_else(|| {
            panic!(
                "{}: the folder {folder:?} is not a source of vouch_evidence::SOURCES",
                policy.file
            )
        });
        assert_eq!(
            policy.asset_kinds,
            [source.kind],
            "{}: a policy of {folder}/ applies to {} assets",
            policy.file,
            source.kind
        );
        folders.insert(folder);
    }
    for entry in std::fs::read_dir(pack_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            name == "lib" || name.starts_with('.') || folders.contains(name.as_str()),
            "policies/pack/{name}/ holds no policy of a declared source"
        );
    }
    let declared: std::collections::BTreeSet<&str> =
        vouch_evidence::SOURCES.iter().map(|s| s.name).collect();
    assert_eq!(
        folders, declared,
        "every declared source has its folder of policies"
    );
}
