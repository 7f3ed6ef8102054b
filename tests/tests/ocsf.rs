//! Findings out as OCSF (issue 21): a real agent collects a weak Debian host into a real server
//! over HTTPS; `GET /v1/findings?format=ocsf` answers every current policy result as an OCSF
//! 1.8.0 Compliance Finding, and each one is checked against the schema compiled from the OCSF
//! project's repository (`tests/fixtures/ocsf/`), then for what it says: the state, the
//! controls, the asset and the signed snapshot it rests on.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use vouch_agent::Agent;
use vouch_agent::config::{AgentConfig, AgentSection, CollectorsSection, ServerSection};
use vouch_collectors::host::HostConfig;
use vouch_evidence::Timestamp;
use vouch_server::auth::Role;
use vouch_tests::ocsf::Schema;
use vouch_tests::server::{TestServer, https_client};

/// The lines of an NDJSON answer, each parsed.
fn lines(body: &str) -> Vec<Value> {
    body.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The validator finds what is wrong, or these tests would prove nothing.
#[test]
fn the_schema_check_names_what_is_wrong() {
    let schema = Schema::compliance_finding();
    assert_eq!(schema.version(), "1.8.0");
    let good = json!({
        "activity_id": 1, "category_uid": 2, "class_uid": 2003, "type_uid": 200301,
        "time": 1_790_000_000_000i64, "severity_id": 3,
        "metadata": {"version": "1.8.0", "product": {"name": "Vouch"}},
        "finding_info": {"uid": "f-1", "title": "t"},
        "compliance": {"control": "host.ssh.root_login_disabled", "status_id": 3},
        "resources": [{"uid": "m-1", "hostname": "web-1"}],
    });
    assert_eq!(schema.problems(&good), Vec::<String>::new());
    let mut wrong = good.clone();
    wrong["type_uid"] = json!(200302);
    wrong["severity_id"] = json!(7);
    wrong["compliance"]["status_id"] = json!("3");
    wrong["finding_info"].as_object_mut().unwrap().remove("uid");
    wrong["resources"] = json!({"uid": "m-1"});
    wrong["verdict_name"] = json!("x");
    wrong["metadata"]["product"] = json!({"vendor_name": "Vouch"});
    wrong["evidences"] = json!([{"data": {}}]);
    let problems = schema.problems(&wrong).join("\n");
    for expected in [
        "$.type_uid: 200302 is not class_uid × 100 + activity_id (200301)",
        "$.severity_id: 7 is not one of",
        "$.compliance.status_id: \"3\" is not a integer_t",
        "$.finding_info.uid: required, missing",
        "$.resources: an array is expected",
        "$.verdict_name: no such attribute",
        "$.metadata.product: at_least_one of",
        "$.evidences[0]: at_least_one of",
    ] {
        assert!(
            problems.contains(expected),
            "{expected:?} not in:\n{problems}"
        );
    }
    let mut missing = good;
    missing.as_object_mut().unwrap().remove("finding_info");
    assert_eq!(
        schema.problems(&missing),
        vec!["$.finding_info: required, missing".to_string()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_policy_result_is_a_valid_ocsf_compliance_finding() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server")).await;
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &server.ca_pem).unwrap();
    let config = AgentConfig {
        server: ServerSection {
            url: server.url.clone(),
            ca_cert: Some(ca.clone()),
        },
        agent: AgentSection {
            state_dir: dir.path().join("agent"),
            ..AgentSection::default()
        },
        collectors: CollectorsSection {
            host: HostConfig {
                root: vouch_collectors::fixtures::fixture_host("debian12-weak"),
                ..HostConfig::default()
            },
            ..CollectorsSection::default()
        },
    };
    vouch_agent::enroll(&config, &server.enroll_token().await, false)
        .await
        .unwrap();
    let agent = Agent::open(config).unwrap();
    agent.collect_and_spool().await.unwrap();
    assert_eq!(agent.deliver_pending().await.unwrap().delivered, 1);
    let state = server.running().state();
    let policies = state.policies().cloned().unwrap();
    let mut judged = policies.evaluator().judged();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        judged.wait_for(|n| *n > 0),
    )
    .await
    .expect("the evaluator judged the snapshot")
    .unwrap();
    let snapshot = state.store().latest_evaluations(None).await.unwrap()[0]
        .evaluation
        .digest
        .to_hex();

    let token = state.create_api_token(Role::Auditor, "siem").await.unwrap();
    let client = https_client(&server.ca_pem);
    let get = |query: &str| {
        let (client, token) = (client.clone(), token.clone());
        let url = format!("{}/v1/findings{query}", server.url);
        async move {
            let r = client.get(url).bearer_auth(token).send().await.unwrap();
            let status = r.status().as_u16();
            let kind = r
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string());
            (status, kind, r.text().await.unwrap())
        }
    };

    let (status, kind, body) = get("?format=ocsf").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(kind.as_deref(), Some("application/x-ndjson"));
    let findings = lines(&body);
    let schema = Schema::compliance_finding();
    for f in &findings {
        let problems = schema.problems(f);
        assert!(problems.is_empty(), "{}\n{f:#}", problems.join("\n"));
    }
    // One finding per policy result: no (asset, policy) twice.
    let subjects: BTreeSet<&str> = findings
        .iter()
        .map(|f| f["finding_info"]["uid"].as_str().unwrap())
        .collect();
    assert_eq!(subjects.len(), findings.len());
    let by_state = |s: &str| -> Vec<&Value> {
        findings
            .iter()
            .filter(|f| f["status_detail"] == s)
            .collect()
    };
    let (passes, fails) = (by_state("pass"), by_state("fail"));
    assert!(
        passes.len() > 5 && fails.len() > 5,
        "a weak host passes some policies and fails others: {} / {}",
        passes.len(),
        fails.len()
    );
    for f in &passes {
        assert_eq!(f["compliance"]["status_id"], 1, "{f:#}");
        assert_eq!((&f["status_id"], &f["severity_id"]), (&json!(4), &json!(1)));
        assert!(f.get("remediation").is_none());
    }
    for f in &fails {
        assert_eq!(f["compliance"]["status_id"], 3, "{f:#}");
        assert_eq!(f["status_id"], 1);
        assert!(f["severity_id"].as_i64().unwrap() >= 2, "{f:#}");
        assert!(!f["remediation"]["desc"].as_str().unwrap().is_empty());
    }
    // Root login over SSH: the weak host allows it, and the finding says which controls,
    // which asset, which signed snapshot, and when the evidence was collected.
    let ssh = findings
        .iter()
        .find(|f| f["compliance"]["control"] == "host.ssh.root_login_disabled")
        .expect("a finding for host.ssh.root_login_disabled");
    assert_eq!(ssh["status_detail"], "fail", "{ssh:#}");
    let requirements: Vec<&str> = ssh["compliance"]["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        requirements.contains(&"iso27001-2022:A.8.2"),
        "{requirements:?}"
    );
    assert!(
        ssh["compliance"]["standards"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().contains("27001")),
        "{ssh:#}"
    );
    assert_eq!(ssh["resources"][0]["type"], "host");
    let evidence = &ssh["evidences"][0];
    assert_eq!(evidence["uid"], format!("sha256:{snapshot}"));
    assert_eq!(
        evidence["data"]["envelope"],
        format!("/v1/snapshots/{snapshot}")
    );
    let collected: Timestamp = evidence["data"]["collected_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(ssh["time"], collected.unix_micros() / 1000);
    assert!(
        evidence["data"]["evidence_ids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().starts_with("host.ssh")),
        "{evidence:#}"
    );

    // An exception turns that failure into a suppressed one, still a compliance failure.
    let expires =
        Timestamp::from_unix_micros(state.now().unix_micros() + 30 * 86_400_000_000).unwrap();
    let admin = https_client(&server.ca_pem)
        .post(format!("{}/v1/exceptions", server.url))
        .bearer_auth(&server.admin_token)
        .json(&json!({
            "policy": "host.ssh.root_login_disabled",
            "asset_kind": "host",
            "asset_id": ssh["resources"][0]["uid"],
            "justification": "break-glass access until the jump host is in place",
            "owner": "ops lead",
            "expires_at": expires.to_string(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        admin.status().as_u16(),
        201,
        "{}",
        admin.text().await.unwrap()
    );
    let (_, _, body) = get("?status=accepted").await;
    let accepted = lines(&body);
    assert_eq!(accepted.len(), 1, "{body}");
    let a = &accepted[0];
    assert!(schema.problems(a).is_empty(), "{:?}", schema.problems(a));
    assert_eq!(a["compliance"]["control"], "host.ssh.root_login_disabled");
    assert_eq!(
        (&a["status_id"], &a["status"]),
        (&json!(3), &json!("Suppressed"))
    );
    assert_eq!(a["compliance"]["status_id"], 3);
    assert_eq!(a["finding_info"]["uid"], ssh["finding_info"]["uid"]);

    // Filters: only failures; only one framework's controls.
    let (_, _, body) = get("?format=ocsf&status=fail").await;
    let only_fails = lines(&body);
    assert_eq!(only_fails.len(), fails.len() - 1);
    assert!(only_fails.iter().all(|f| f["status_detail"] == "fail"));
    // One framework: exactly the results that count towards one of its controls, each
    // naming only that framework's controls.
    for framework in ["iso27001-2022", "iso27701-2019"] {
        let prefix = format!("{framework}:");
        let requirements = |f: &Value| -> Vec<String> {
            f["compliance"]["requirements"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_string())
                .collect()
        };
        let expected = findings
            .iter()
            .filter(|f| requirements(f).iter().any(|r| r.starts_with(&prefix)))
            .count();
        let (_, _, body) = get(&format!("?framework={framework}")).await;
        let only = lines(&body);
        assert_eq!(only.len(), expected, "{framework}");
        for f in &only {
            assert!(
                requirements(f).iter().all(|r| r.starts_with(&prefix)),
                "{f:#}"
            );
        }
    }
    // Client mistakes are named 400s; no token, no findings.
    for (query, needle) in [
        ("?format=csv", "format \"csv\" is not one of: ocsf"),
        ("?status=great", "status \"great\" is not one of"),
        (
            "?framework=nist",
            "framework \"nist\" is in no loaded catalog",
        ),
        ("?colour=red", "unknown field `colour`"),
    ] {
        let (status, _, body) = get(query).await;
        assert_eq!(status, 400, "{query}: {body}");
        let answer: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(answer["error"], "bad_request", "{query}: {body}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(needle), "{query}: {message}");
    }
    let anonymous = https_client(&server.ca_pem)
        .get(format!("{}/v1/findings", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
}
