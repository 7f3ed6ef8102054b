//! Importing the scanners teams already run (issue 18), end to end: an import directory holding
//! a Prowler OCSF report and a CycloneDX VEX document (the committed real tool output of
//! `tests/fixtures/import/`), a real agent enrolled for that import only, one collection at a
//! fixed instant, signed and delivered over HTTPS to a real server, which judges it with the
//! built-in pack; the control API for A.8.8 then names the failing findings, and not the
//! vulnerability the VEX document says does not affect the product.

use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;
use vouch_agent::Agent;
use vouch_agent::config::{AgentConfig, AgentSection, CollectorsSection, ServerSection};
use vouch_collectors::host::HostConfig;
use vouch_collectors::import::ImportConfig;
use vouch_evidence::{AssetKind, Clock, Timestamp};
use vouch_server::auth::Role;
use vouch_tests::server::{ENROLLED_AT, TestServer, https_client};

/// The start of today (UTC): the instant the agent stamps its collection with, and every age
/// is counted to. The server's view of its controls is of now (its evaluations are recorded at
/// its wall clock), so the collection must be recent for its results to be fresh; the ages,
/// measured to this stamp rather than to any clock the policies read, are computed from it.
fn today() -> Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let midnight = i64::try_from(secs - secs % 86_400).unwrap();
    Timestamp::from_unix_micros(midnight * 1_000_000).unwrap()
}

/// Whole days from `date` (YYYY-MM-DD, midnight UTC) to `at`.
fn days_since(date: &str, at: Timestamp) -> i64 {
    let then: Timestamp = format!("{date}T00:00:00Z").parse().unwrap();
    (at.unix_micros() - then.unix_micros()) / 86_400_000_000
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prowler_report_and_a_vex_document_show_on_the_a_8_8_control() {
    let dir = tempfile::tempdir().unwrap();
    let import = dir.path().join("import");
    std::fs::create_dir(&import).unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/import");
    for name in ["prowler-aws.ocsf.json", "vex.cdx.json"] {
        std::fs::copy(fixtures.join(name), import.join(name)).unwrap();
    }

    let server = TestServer::start(&dir.path().join("server")).await;
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &server.ca_pem).unwrap();
    let config = AgentConfig {
        server: ServerSection {
            url: server.url.clone(),
            ca_cert: Some(ca),
        },
        agent: AgentSection {
            state_dir: dir.path().join("agent"),
            ..AgentSection::default()
        },
        collectors: CollectorsSection {
            host: HostConfig {
                enabled: false,
                ..HostConfig::default()
            },
            import: ImportConfig {
                enabled: true,
                name: "ci-scans".into(),
                paths: vec![format!("{}/*.json", import.display())],
                ..ImportConfig::default()
            },
            ..CollectorsSection::default()
        },
    };
    let state = server.running().state();
    let scope = vouch_server::scope::Scope::parse(&["import:ci-scans"]).unwrap();
    let token = state
        .create_enroll_token(3600, &scope, "tests", "tests")
        .await
        .unwrap();
    let clock = state.clock();
    state.set_clock(Clock::Fixed(ENROLLED_AT.parse().unwrap()));
    vouch_agent::enroll(&config, &token, false).await.unwrap();
    state.set_clock(clock);

    let agent = Agent::open(config).unwrap();
    let sources = agent.sources();
    assert_eq!(sources.len(), 1, "the import only");
    let at = today();
    let collected = vouch_collectors::run_source(
        sources[0].as_ref(),
        &sources[0].context(CancellationToken::new()).at(at),
    )
    .await;
    assert_eq!(collected.asset.kind, AssetKind::Import);
    agent.spool_collected(collected).await.unwrap();
    let report = agent.deliver_pending().await.unwrap();
    assert_eq!((report.delivered, report.rejected), (1, 0), "{report:?}");

    let policies = state.policies().cloned().unwrap();
    let mut judged = policies.evaluator().judged();
    tokio::time::timeout(Duration::from_secs(30), judged.wait_for(|n| *n > 0))
        .await
        .expect("the evaluator judged the snapshot")
        .unwrap();

    let token = state
        .create_api_token(Role::Auditor, "auditor")
        .await
        .unwrap();
    let client = https_client(&server.ca_pem);
    let answer: Value = client
        .get(format!("{}/v1/controls/iso27001-2022:A.8.8", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["status"], "fail", "{answer:#}");
    let outcome = |policy: &str| -> &Value {
        answer["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["policy"] == policy)
            .unwrap_or_else(|| panic!("{policy} not on the A.8.8 page: {answer:#}"))
    };
    let reason = |policy: &str| outcome(policy)["reason"].as_str().unwrap().to_string();
    for o in answer["outcomes"].as_array().unwrap() {
        assert_eq!(o["asset"]["kind"], "import");
        assert_eq!(o["asset"]["id"], "ci-scans");
    }

    // The VEX document's vulnerabilities: three open for years, one not affecting the product.
    let vulns = outcome("import.vulnerabilities.remediated_in_time");
    assert_eq!(
        (&vulns["status"], &vulns["state"]),
        (&"fail".into(), &"fail".into())
    );
    assert_eq!(vulns["collected_at"], at.to_string());
    let why = reason("import.vulnerabilities.remediated_in_time");
    for shown in [
        "3 critical or high vulnerabilit(ies) open past the deadline (critical 14 days, high 30 days)",
        &format!(
            "CVE-2020-14343 in pyyaml 5.3 (shop-api@1.4.2, critical, {} days, cyclonedx-python-lib)",
            days_since("2021-02-09", at)
        ),
        &format!(
            "CVE-2018-18074 in requests 2.19.0 (shop-api@1.4.2, high, {} days,",
            days_since("2018-10-09", at)
        ),
        &format!(
            "CVE-2019-11324 in urllib3 1.24.1 (shop-api@1.4.2, high, {} days,",
            days_since("2019-04-18", at)
        ),
    ] {
        assert!(why.contains(shown), "{shown:?} not in {why}");
    }
    assert!(
        !why.contains("CVE-2020-1747"),
        "a VEX not_affected one fails: {why}"
    );
    assert!(
        !why.contains("CVE-2020-28493"),
        "a medium one is judged: {why}"
    );

    // Prowler's failed patching and image-scanning checks, through the pack's table.
    let cloud = reason("import.cloud.vulnerability_management");
    assert_eq!(
        outcome("import.cloud.vulnerability_management")["status"],
        "fail"
    );
    for check in [
        "ec2_instance_managed_by_ssm",
        "ecr_registry_scan_images_on_push_enabled",
        "ecr_repositories_scan_images_on_push_enabled",
        "ecr_registry_enhanced_scanning_enabled",
    ] {
        assert!(cloud.contains(check), "{check} not in {cloud}");
    }
    assert!(cloud.starts_with("4 failed Prowler finding(s)"), "{cloud}");
    assert!(
        !cloud.contains("s3_bucket"),
        "a check of another control: {cloud}"
    );

    // Both reports were read, and the VEX document (it lists components) is the SBOM of the
    // application it is about.
    assert_eq!(outcome("import.reports.all_readable")["status"], "pass");
    assert_eq!(
        outcome("import.sbom.present_for_each_artifact")["status"],
        "pass"
    );

    // The dashboard's page of the control, as an auditor signed in sees it.
    let set_cookie =
        vouch_server::session::issue(state, vouch_server::auth::hash_token(&token), Role::Auditor);
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let page = client
        .get(format!("{}/controls/iso27001-2022/A.8.8", server.url))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    for shown in [
        "ci-scans",
        "CVE-2020-14343 in pyyaml 5.3",
        "CVE-2018-18074 in requests 2.19.0",
        "ec2_instance_managed_by_ssm",
    ] {
        assert!(page.contains(shown), "{shown} not on the control page");
    }
    // The failing verdict's reason, as the page shows it (the evidence beside it lists every
    // critical and high vulnerability, the not_affected one with its VEX state).
    let start = page
        .find("3 critical or high vulnerabilit(ies) open past the deadline")
        .expect("the verdict on the page");
    let shown_reason = &page[start..start + page[start..].find('<').unwrap()];
    assert!(shown_reason.contains("CVE-2020-14343"), "{shown_reason}");
    assert!(
        !shown_reason.contains("CVE-2020-1747"),
        "a VEX not_affected one is shown failing: {shown_reason}"
    );

    // Other controls show the other Prowler checks, each under its own.
    let a_8_5: Value = client
        .get(format!("{}/v1/controls/iso27001-2022:A.8.5", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let auth = a_8_5["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["policy"] == "import.cloud.authentication")
        .unwrap();
    assert_eq!(auth["status"], "fail");
    let auth = auth["reason"].as_str().unwrap();
    assert!(auth.contains("iam_user_hardware_mfa_enabled"), "{auth}");
    assert!(!auth.contains("ec2_instance_managed_by_ssm"), "{auth}");
}
