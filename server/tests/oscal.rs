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

    // The finding carries the control's coverage level and rationale, and for a partly
    // control the manual part (issue 16).
    let prop = |f: &Value, name: &str| {
        f["props"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["value"].as_str().unwrap().to_string())
    };
    assert_eq!(prop(&a88, "coverage").as_deref(), Some("partly"), "{a88}");
    assert!(prop(&a88, "coverage-rationale").is_some(), "{a88}");
    assert!(prop(&a88, "manual-part").is_some(), "{a88}");
    assert_eq!(prop(&a51, "coverage").as_deref(), Some("manual"), "{a51}");
    assert_eq!(prop(&a51, "manual-part"), None, "{a51}");
    assert_eq!(prop(&a88, "provisional"), None, "{a88}");

    // Fixed: the policy passes on 6.1.2, but A.8.8 is partly automated: without an
    // attestation of its manual part it is not satisfied, and says what is missing; still valid.
    let (env, _) = failing.next();
    call(&h, post("/v1/snapshots", env)).await;
    policies.evaluator().run_once().await.unwrap();
    let a88_now = |doc: &Value| {
        doc["assessment-results"]["results"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["target"]["target-id"] == "A.8.8")
            .unwrap()
            .clone()
    };
    let (_, body) = call(&h, get("/v1/oscal", Some(&auditor))).await;
    let now: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problems(&v, &now), Vec::<String>::new());
    let a88 = a88_now(&now);
    assert_eq!(a88["target"]["status"]["state"], "not-satisfied", "{a88}");
    assert_eq!(prop(&a88, "vouch-status").as_deref(), Some("manual"));
    assert!(
        prop(&a88, "missing")
            .is_some_and(|m| m.contains("manual part") && m.ends_with("none recorded")),
        "{a88}"
    );
    // With an attestation of the manual part in force, the finding turns satisfied.
    let (status, body) = call(
        &h,
        axum::http::Request::post("/v1/attestations")
            .header(axum::http::header::CONTENT_TYPE, "application/json")
            .header(axum::http::header::AUTHORIZATION, format!("Bearer {}", h.admin))
            .body(axum::body::Body::from(
                serde_json::json!({
                    "control": "iso27001-2022:A.8.8",
                    "statement": "Vulnerability management procedure v2 followed; triage records reviewed",
                    "attested_by": "J. Doe, CISO",
                    "valid_until": "2099-01-01T00:00:00Z",
                })
                .to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (_, body) = call(&h, get("/v1/oscal", Some(&auditor))).await;
    let now: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problems(&v, &now), Vec::<String>::new());
    let a88 = a88_now(&now);
    assert_eq!(a88["target"]["status"]["state"], "satisfied", "{a88}");
    assert_eq!(prop(&a88, "missing"), None, "{a88}");

    // ISO/IEC 27701:2025 results are provisional: flagged on the result and on each finding.
    let (status, body) = call(&h, get("/v1/oscal?framework=iso27701-2025", Some(&auditor))).await;
    assert_eq!(status, StatusCode::OK);
    let p25: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problems(&v, &p25), Vec::<String>::new());
    let r25 = &p25["assessment-results"]["results"][0];
    assert_eq!(prop(r25, "provisional").as_deref(), Some("true"), "{r25}");
    let findings = r25["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert!(
        findings
            .iter()
            .all(|f| prop(f, "provisional").as_deref() == Some("true")),
        "{r25}"
    );
    assert_eq!(
        prop(&doc["assessment-results"]["results"][0], "provisional"),
        None
    );

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
