//! The built-in pack's mappings as a whole (issue 16): every mapping carries its relation and a
//! line of rationale; the full table (policy → control, relation) is the checked-in
//! `mappings.tsv`, so that any change is a reviewed diff; some pairs are forbidden outright; the
//! ISO/IEC 27701:2025 ids follow from the 2019 ones and never disagree with them.

use std::collections::BTreeSet;
use std::path::PathBuf;

use vouch_policies::{Catalogs, ControlId, PolicyPack, Relation};

fn here(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// (policy, control, relation) for every mapping of the built-in pack, derived ones included.
fn table(pack: &PolicyPack) -> BTreeSet<(String, String, String)> {
    pack.policies()
        .iter()
        .flat_map(|p| {
            p.mappings.iter().map(|m| {
                (
                    p.id.clone(),
                    m.control.to_string(),
                    m.relation.map_or("none", Relation::as_str).to_string(),
                )
            })
        })
        .collect()
}

#[test]
fn every_mapping_has_a_relation_and_one_line_of_rationale() {
    let pack = PolicyPack::builtin();
    for p in pack.policies() {
        for m in &p.mappings {
            assert!(
                m.relation.is_some(),
                "{} → {}: no relation",
                p.id,
                m.control
            );
            assert!(
                !m.why.is_empty() && !m.why.contains('\n') && m.why.len() <= 160,
                "{} → {}: rationale must be one line: {:?}",
                p.id,
                m.control,
                m.why
            );
        }
    }
}

/// The whole table is checked in: a mapping added, removed or with another relation fails here
/// until `tests/mappings.tsv` says so too.
#[test]
fn the_mapping_table_is_the_checked_in_one() {
    let expected: BTreeSet<(String, String, String)> =
        std::fs::read_to_string(here("tests/mappings.tsv"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                assert_eq!(f.len(), 3, "policy<TAB>control<TAB>relation: {l:?}");
                (f[0].to_string(), f[1].to_string(), f[2].to_string())
            })
            .collect();
    let got = table(&PolicyPack::builtin());
    let added: Vec<_> = got.difference(&expected).collect();
    let removed: Vec<_> = expected.difference(&got).collect();
    assert!(
        added.is_empty() && removed.is_empty(),
        "mappings not in tests/mappings.tsv: {added:#?}\nin it but not in the pack: {removed:#?}"
    );
}

/// Pairs loose tools make, and pairs the review found wrong: no policy may ever map to them.
/// A policy matches when its id contains the pattern.
const FORBIDDEN: &[(&str, &str, &str)] = &[
    (
        "encrypt",
        "iso27001-2022:A.8.11",
        "encryption is not data masking",
    ),
    (
        "cipher",
        "iso27001-2022:A.8.11",
        "encryption is not data masking",
    ),
    (
        "kms",
        "iso27001-2022:A.8.11",
        "key management is not data masking",
    ),
    (
        "tls",
        "iso27001-2022:A.8.11",
        "encryption in transit is not data masking",
    ),
    (
        "kms",
        "iso27001-2022:A.8.5",
        "key rotation is not authentication",
    ),
    (
        "flow_log",
        "iso27001-2022:A.8.23",
        "flow logs are not web filtering",
    ),
    (
        "logging",
        "iso27001-2022:A.8.23",
        "logging is not web filtering",
    ),
    (
        "cloudtrail",
        "iso27001-2022:A.8.23",
        "logging is not web filtering",
    ),
    (
        "backup",
        "iso27001-2022:A.8.14",
        "backups are not redundancy",
    ),
    (
        "versioning",
        "iso27001-2022:A.8.14",
        "object versions are not redundancy",
    ),
    (
        "snapshot",
        "iso27001-2022:A.8.14",
        "snapshots are not redundancy",
    ),
    (
        "host.logging.remote_forwarding",
        "iso27001-2022:A.8.16",
        "forwarding logs is logging (A.8.15), not monitoring",
    ),
    (
        "host.network.ip_forwarding_disabled",
        "iso27001-2022:A.8.22",
        "a host that does not route says nothing of network segregation",
    ),
    (
        "host.sysctl.dmesg_restricted",
        "iso27001-2022:A.8.3",
        "a kernel hardening parameter, not restriction of access to information",
    ),
    (
        "aws.privacy.pii_retention_limited",
        "iso27701-2019:B.8.4.2",
        "expiry is no return or transfer of PII at the end of a contract",
    ),
    (
        "aws.privacy.pii_retention_limited",
        "iso27701-2025:A.2.4.3",
        "expiry is no return or transfer of PII at the end of a contract",
    ),
    (
        "host.",
        "iso27701-2025:A.3.25",
        "host evidence is not about PII, and A.3 numbering is unconfirmed",
    ),
    (
        "host.",
        "iso27701-2025:A.3.26",
        "host evidence is not about PII, and A.3 numbering is unconfirmed",
    ),
];

/// Pairs that are at most supporting evidence: they may be mapped, never as `exact`.
const NEVER_EXACT: &[(&str, &str, &str)] = &[
    (
        "host.services.none_failed",
        "iso27001-2022:A.8.16",
        "a failed unit is at most supporting evidence of monitoring",
    ),
    (
        "aws.s3.versioning_enabled",
        "iso27001-2022:A.8.13",
        "versions in the same bucket are no independent backup",
    ),
    (
        "github.repos.codeowners_present",
        "iso27001-2022:A.8.32",
        "a CODEOWNERS file does not make review required",
    ),
];

#[test]
fn no_policy_maps_to_a_forbidden_pair() {
    let pack = PolicyPack::builtin();
    let mut wrong = Vec::new();
    for p in pack.policies() {
        for m in &p.mappings {
            let control = m.control.to_string();
            for (pattern, forbidden, why) in FORBIDDEN {
                if p.id.contains(pattern) && control == *forbidden {
                    wrong.push(format!("{} → {control}: {why}", p.id));
                }
            }
            for (policy, pair, why) in NEVER_EXACT {
                if p.id == *policy && control == *pair && m.relation == Some(Relation::Exact) {
                    wrong.push(format!("{} → {control} exact: {why}", p.id));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    // The patterns still name policies of the pack (a renamed policy would slip through).
    for (policy, _, _) in NEVER_EXACT {
        assert!(pack.policy(policy).is_some(), "{policy}");
    }
    for (policy, _, _) in FORBIDDEN
        .iter()
        .filter(|(p, _, _)| p.contains('.') && p.len() > 6)
    {
        assert!(pack.policy(policy).is_some(), "{policy}");
    }
}

/// No policy lists an ISO/IEC 27701:2025 control itself; each 2025 mapping is derived from a
/// 2019 one of the same policy, with the same relation and rationale, and each 2019 clause
/// with a 2025 equivalent has its 2025 mapping: the two editions never disagree.
#[test]
fn mappings_to_27701_2025_follow_from_2019() {
    let catalogs = Catalogs::builtin();
    let pack = PolicyPack::builtin();
    let mut derived = 0;
    for p in pack.policies() {
        for m in &p.mappings {
            match m.control.framework.as_str() {
                "iso27701-2025" => {
                    let from = m.derived_from.as_ref().unwrap_or_else(|| {
                        panic!("{} lists {} itself, not its 2019 clause", p.id, m.control)
                    });
                    let source = p.mappings.iter().find(|s| s.control == *from).unwrap();
                    assert_eq!(
                        (source.relation, &source.why),
                        (m.relation, &m.why),
                        "{}",
                        p.id
                    );
                    assert!(
                        catalogs
                            .control(&m.control)
                            .unwrap()
                            .equivalent
                            .contains(from)
                    );
                    derived += 1;
                }
                "iso27701-2019" => {
                    let later: Vec<&ControlId> = catalogs
                        .get("iso27701-2025")
                        .unwrap()
                        .controls
                        .iter()
                        .filter(|c| c.equivalent.contains(&m.control))
                        .map(|c| &c.id)
                        .collect();
                    assert_eq!(later.len(), 1, "{} has one 2025 equivalent", m.control);
                    assert!(p.controls.contains(later[0]), "{} → {}", p.id, later[0]);
                }
                _ => assert!(m.derived_from.is_none()),
            }
        }
    }
    assert!(derived > 0);
}

/// The correspondence the catalog carries is the one in the shared reference
/// (`../shared/reference/iso27701-2025-annex-a.tsv`, beside the clone for every developer and
/// CI), copied into the repository so that the pack is self-contained.
#[test]
fn the_2025_correspondence_is_the_reference_one() {
    let path = here("../../shared/reference/iso27701-2025-annex-a.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the shared folder is expected beside the clone)",
            path.display()
        )
    });
    let catalogs = Catalogs::builtin();
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let id: ControlId = format!("iso27701-2025:{}", f[0]).parse().unwrap();
        let control = catalogs
            .control(&id)
            .unwrap_or_else(|| panic!("{id} is not in the catalog"));
        let expected: Vec<ControlId> = if f[5].starts_with('(') {
            Vec::new()
        } else {
            vec![format!("iso27701-2019:{}", f[5]).parse().unwrap()]
        };
        assert_eq!(control.equivalent, expected, "{id}");
        assert!(control.provisional, "{id}: the 2025 edition is provisional");
        checked += 1;
    }
    assert_eq!(
        checked,
        catalogs.get("iso27701-2025").unwrap().controls.len()
    );
}
