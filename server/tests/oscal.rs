//! The OSCAL export: valid against NIST's published assessment-results JSON schema (vendored
//! under tests/fixtures/oscal), each control a finding whose status follows the control's, each
//! judged snapshot an observation pointing at its envelope; the same inputs give the same
//! document; roles and bad requests are refused.

use crate::common;

use axum::http::StatusCode;
use common::*;
use serde_json::Value;
use vouch_server::auth::Role;
use vouch_server::config::PolicySettings;

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(include_str!(
        "fixtures/oscal/oscal_assessment-results_schema.json"
    ))
    .unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("NIST's schema compiles")
}

/// Every problem the schema finds in `doc`, one per line.
fn problems(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[tokio::test]
async fn the_oscal_export_is_valid_and_follows_control_status() {
    let h = harness().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("patched.rego"),
        "# METADATA\n# title: kernel patched\n# description: test policy\n# custom:\n#   id: kernel.patched\n#   severity: high\n#   controls: [iso27001-2022:A.8.8]\n#   asset_kinds: [host]\n#   evidence: [host.kernel.release]\n#   remediation: upgrade the kernel\n#   freshness: 3650d\npackage vouch.policies.kernel.patched\n\nrelease := input.evidence[\"host.kernel.release\"]\n\ndeny contains sprintf(\"kernel %s has known vulnerabilities\", [release]) if release == \"6.1.1\"\nallow := \"patched\" if release != \"6.1.1\"\n",
    )
    .unwrap();
    let settings = PolicySettings {
        builtin: false,
        dir: Some(dir.path().to_path_buf()),
        exclusions: vec![vouch_server::config::Exclusion {
            control: "iso27001-2022:A.7.4".into(),
            justification: "no premises".into(),
        }],
        ..PolicySettings::default()
    };
    let policies = judge_with(&h, settings).await;
    let mut failing = enroll(&h, 11).await;
    let (env, failing_digest) = failing.next(); // 6.1.1: A.8.8 fails
    call(&h, post("/v1/snapshots", env)).await;
    policies.evaluator().run_once().await.unwrap();

    let auditor = h
        .state
        .create_api_token(Role::Auditor, "audit")
        .await
        .unwrap();
    let (status, body) = call(&h, get("/v1/oscal?framework=iso27001-2022", Some(&auditor))).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let doc: Value = serde_json::from_slice(&body).unwrap();
    let v = validator();
    assert_eq!(
        problems(&v, &doc),
        Vec::<String>::new(),
        "valid OSCAL 1.1.3"
    );

    let ar = &doc["assessment-results"];
    assert_eq!(ar["metadata"]["oscal-version"], "1.1.3");
    let result = &ar["results"][0];
    let reviewed = result["reviewed-controls"]["control-selections"][0]["include-controls"]
        .as_array()
        .unwrap();
    assert_eq!(reviewed.len(), 92, "93 controls, one excluded");
    assert!(!reviewed.iter().any(|c| c["control-id"] == "A.7.4"));
    let finding = |id: &str| {
        result["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["target"]["target-id"] == id)
            .unwrap_or_else(|| panic!("no finding for {id}"))
            .clone()
    };
    let a88 = finding("A.8.8");
    assert_eq!(a88["target"]["status"]["state"], "not-satisfied");
    assert_eq!(a88["target"]["status"]["reason"], "fail");
    assert!(
        a88["description"]
            .as_str()
            .unwrap()
            .contains("kernel 6.1.1 has known vulnerabilities"),
        "{a88}"
    );
    // The finding points at the observation of the snapshot it rests on, and that at the
    // envelope by digest.
    let observation_id = a88["related-observations"][0]["observation-uuid"].clone();
    let observation = result["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["uuid"] == observation_id)
        .expect("related observation listed");
    assert_eq!(
        observation["relevant-evidence"][0]["href"],
        format!("/v1/snapshots/{}", failing_digest.to_hex())
    );
    assert_eq!(observation["collected"], "2026-11-20T01:00:00.000000Z");
    // A manual control with no attestation is not satisfied: never a wrong "pass".
    let a51 = finding("A.5.1");
    assert_eq!(a51["target"]["status"]["state"], "not-satisfied");
    assert_eq!(a51["target"]["status"]["reason"], "other");

    // Fixed: the policy passes on 6.1.2, and the finding turns satisfied; still valid.
    let (env, _) = failing.next();
    call(&h, post("/v1/snapshots", env)).await;
    policies.evaluator().run_once().await.unwrap();
    let (_, body) = call(&h, get("/v1/oscal", Some(&auditor))).await;
    let now: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problems(&v, &now), Vec::<String>::new());
    let a88 = now["assessment-results"]["results"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["target"]["target-id"] == "A.8.8")
        .unwrap()
        .clone();
    assert_eq!(a88["target"]["status"]["state"], "satisfied");

    // As of an instant, twice: the same document but for when it was made.
    let query = "/v1/oscal?framework=iso27701-2019&as_of=2030-01-01T00:00:00Z";
    let (status, one) = call(&h, get(query, Some(&auditor))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, two) = call(&h, get(query, Some(&auditor))).await;
    let strip = |b: &[u8]| {
        let mut d: Value = serde_json::from_slice(b).unwrap();
        d["assessment-results"]["metadata"]["last-modified"] = Value::Null;
        d
    };
    assert_eq!(strip(&one), strip(&two));
    assert_eq!(
        problems(&v, &serde_json::from_slice(&one).unwrap()),
        Vec::<String>::new()
    );

    // A document the schema must refuse, so the check above can fail: a bad finding state.
    let mut broken = doc.clone();
    broken["assessment-results"]["results"][0]["findings"][0]["target"]["status"]["state"] =
        Value::from("passed");
    assert!(!problems(&v, &broken).is_empty());

    let agent = h.state.create_api_token(Role::Agent, "a").await.unwrap();
    assert_eq!(
        call(&h, get("/v1/oscal", Some(&agent))).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&h, get("/v1/oscal", None)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = call(&h, get("/v1/oscal?framework=nist-800-53", Some(&auditor))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("nist-800-53"));
}
