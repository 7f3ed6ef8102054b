//! The import source's policies against the committed fixtures (`tests/fixtures/import/`):
//! the pack's reviewed table of Prowler checks (`pack/lib/prowler.rego`) decides, for every
//! check that fails in the Prowler fixture, either the one topic (and so the one control) it is
//! judged under or that it is deliberately not judged; and the topics are exactly those of the
//! `import.cloud.*` policies.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use vouch_policies::PolicyPack;

fn here(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The table's `topics` (check → topic) and `unjudged` (checks), read from the Rego source.
fn table() -> (BTreeMap<String, String>, BTreeSet<String>) {
    let text = std::fs::read_to_string(here("pack/lib/prowler.rego")).unwrap();
    let mut topics = BTreeMap::new();
    let mut unjudged = BTreeSet::new();
    let mut section = "";
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("topics := {") {
            section = "topics";
        } else if line.starts_with("unjudged := {") {
            section = "unjudged";
        } else if line == "}" {
            section = "";
        } else if line.starts_with('"') {
            let quoted: Vec<&str> = line.split('"').collect();
            match section {
                "topics" => {
                    let previous = topics.insert(quoted[1].to_string(), quoted[3].to_string());
                    assert!(previous.is_none(), "{} is in the table twice", quoted[1]);
                }
                "unjudged" => {
                    unjudged.insert(quoted[1].to_string());
                }
                _ => {}
            }
        }
    }
    (topics, unjudged)
}

#[test]
fn every_failing_prowler_check_of_the_fixture_is_mapped_or_deliberately_not_judged() {
    let (topics, unjudged) = table();
    assert!(topics.len() > 50, "{}", topics.len());
    for check in &unjudged {
        assert!(
            !topics.contains_key(check),
            "{check} is both mapped and not judged"
        );
    }
    let fixture: serde_json::Value = serde_json::from_slice(
        &std::fs::read(here("../tests/fixtures/import/prowler-aws.ocsf.json")).unwrap(),
    )
    .unwrap();
    let failing: BTreeSet<&str> = fixture
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status_code"] == "FAIL")
        .map(|f| f["metadata"]["event_code"].as_str().unwrap())
        .collect();
    let unknown: Vec<&&str> = failing
        .iter()
        .filter(|c| !topics.contains_key(**c) && !unjudged.contains(**c))
        .collect();
    assert!(
        unknown.is_empty(),
        "failing checks the table neither maps nor leaves out on purpose: {unknown:?}"
    );
}

#[test]
fn each_topic_has_its_policy_and_each_cloud_policy_its_topic() {
    let (topics, _) = table();
    let used: BTreeSet<&str> = topics.values().map(String::as_str).collect();
    let pack = PolicyPack::builtin();
    let policies: BTreeSet<String> = pack
        .policies()
        .iter()
        .filter_map(|p| p.id.strip_prefix("import.cloud.").map(str::to_string))
        .collect();
    let used: BTreeSet<String> = used.into_iter().map(str::to_string).collect();
    assert_eq!(used, policies);
    for p in pack
        .policies()
        .iter()
        .filter(|p| p.id.starts_with("import.cloud."))
    {
        assert_eq!(p.mappings.len(), 1, "{}: one control per topic", p.id);
        let text = std::fs::read_to_string(here("pack").join(&p.file)).unwrap();
        let topic = p.id.strip_prefix("import.cloud.").unwrap();
        assert!(
            text.contains(&format!("prowler.failed_of(failed, \"{topic}\")"))
                && text.contains(&format!("prowler.checks_of(\"{topic}\")")),
            "{} must judge its own topic",
            p.id
        );
    }
}
