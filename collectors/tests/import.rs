//! The import source on real tool output (`tests/fixtures/import/`, made as its README says)
//! and on hostile files: each parser's facts, the VEX statements applied across reports, and a
//! bad file that never blocks the others, never changes, and names its path and problem.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use vouch_collectors::import::report::{Format, Severity};
use vouch_collectors::import::{ImportConfig, ImportSource, MAX_REPORT_BYTES, parse_bytes};
use vouch_collectors::{CollectContext, Collected, run_source};
use vouch_evidence::{ItemStatus, Timestamp};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/import")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap()
}

/// Collects an import of `dir/*` at a fixed instant.
async fn collect(dir: &Path) -> Collected {
    let source = ImportSource::new(ImportConfig {
        enabled: true,
        name: "ci-scans".into(),
        paths: vec![format!("{}/*", dir.display())],
        ..ImportConfig::default()
    });
    let ctx = CollectContext::for_test("/").at("2024-09-20T00:00:00Z".parse().unwrap());
    run_source(&source, &ctx).await
}

fn value<'c>(c: &'c Collected, id: &str) -> &'c Value {
    let item = &c.evidence[id];
    assert_eq!(item.status, ItemStatus::Ok, "{id}: {:?}", item.reason);
    &item.value
}

#[test]
fn bandit_sarif_gives_rules_levels_and_places_never_snippets() {
    let (format, r) = parse_bytes(&fixture("bandit.sarif")).unwrap();
    assert_eq!(format, Format::Sarif);
    assert_eq!(
        (r.tool.as_str(), r.tool_version.as_str()),
        ("Bandit", "1.9.4")
    );
    let got: Vec<(&str, &str, Option<u64>)> = r
        .code
        .iter()
        .map(|f| (f.rule_id.as_str(), f.level.as_str(), f.line))
        .collect();
    assert_eq!(
        got,
        [
            ("B404", "note", Some(3)),
            ("B105", "note", Some(7)),
            ("B602", "error", Some(11)),
            // No level and no rule default: SARIF's default, warning.
            ("B506", "warning", Some(15)),
            ("B324", "error", Some(19)),
        ]
    );
    assert!(
        r.code
            .iter()
            .all(|f| f.file.as_deref() == Some("app/app.py"))
    );
    assert!(!format!("{r:?}").contains("hunter2"), "a snippet was kept");
}

#[test]
fn cyclonedx_py_sbom_names_its_application_and_counts_components() {
    let (format, r) = parse_bytes(&fixture("sbom.cdx.json")).unwrap();
    assert_eq!(format, Format::CycloneDx);
    assert_eq!(r.tool, "cyclonedx-py");
    assert!(!r.tool_version.is_empty());
    assert_eq!(r.sbom, Some(("shop-api@1.4.2".to_string(), 4)));
    assert!(r.vulns.is_empty() && r.scanned_artifact.is_none());
}

#[test]
fn cyclonedx_vex_gives_vulnerabilities_with_their_analysis_state() {
    let (_, r) = parse_bytes(&fixture("vex.cdx.json")).unwrap();
    assert_eq!(r.tool, "cyclonedx-python-lib");
    assert_eq!(r.scanned_artifact.as_deref(), Some("shop-api@1.4.2"));
    let got: Vec<(&str, Severity, &str, Option<&str>)> = r
        .vulns
        .iter()
        .map(|v| {
            (
                v.id.as_str(),
                v.severity,
                v.package.as_str(),
                v.vex.as_deref(),
            )
        })
        .collect();
    assert!(got.contains(&(
        "CVE-2020-1747",
        Severity::Critical,
        "pyyaml",
        Some("not_affected")
    )));
    assert!(got.contains(&(
        "CVE-2020-14343",
        Severity::Critical,
        "pyyaml",
        Some("exploitable")
    )));
    assert!(got.contains(&("CVE-2018-18074", Severity::High, "requests", None)));
    assert_eq!(r.vulns.len(), 5);
    assert_eq!(r.vex.len(), 3, "three vulnerabilities have an analysis");
    let published = r.vulns.iter().find(|v| v.id == "CVE-2019-11324").unwrap();
    assert_eq!(
        published.published,
        Some("2019-04-18T00:00:00Z".parse::<Timestamp>().unwrap())
    );
}

#[test]
fn trivy_and_grype_reports_give_their_vulnerabilities() {
    let (format, t) = parse_bytes(&fixture("trivy-image.json")).unwrap();
    assert_eq!(format, Format::Trivy);
    assert_eq!(t.tool, "Trivy");
    assert_eq!(
        t.scanned_artifact.as_deref(),
        Some("registry.example/shop-api:1.4.2")
    );
    assert_eq!(t.vulns.len(), 3);
    assert_eq!(t.vulns[0].package, "expat");
    assert_eq!(t.vulns[0].fixed_version.as_deref(), Some("2.6.3-r0"));
    assert_eq!(t.vulns[0].severity, Severity::Critical);

    let (format, g) = parse_bytes(&fixture("grype-dir.json")).unwrap();
    assert_eq!(format, Format::Grype);
    assert_eq!(
        (g.tool.as_str(), g.tool_version.as_str()),
        ("grype", "0.80.0")
    );
    assert_eq!(g.scanned_artifact.as_deref(), Some("/src/shop-api"));
    assert_eq!(
        g.created,
        Some("2024-09-10T08:02:31.487512Z".parse::<Timestamp>().unwrap())
    );
    assert_eq!(g.vulns[0].package, "pyyaml", "names in lower case");
    assert_eq!(g.vulns[0].severity, Severity::Critical);
}

#[test]
fn prowler_ocsf_gives_check_ids_statuses_and_resources() {
    let (format, r) = parse_bytes(&fixture("prowler-aws.ocsf.json")).unwrap();
    assert_eq!(format, Format::ProwlerOcsf);
    assert_eq!(
        (r.tool.as_str(), r.tool_version.as_str()),
        ("Prowler", "5.46.0")
    );
    assert_eq!(r.cloud.len(), 61);
    assert_eq!(r.cloud.iter().filter(|f| f.status == "FAIL").count(), 56);
    let ssm = r
        .cloud
        .iter()
        .find(|f| f.check_id == "ec2_instance_managed_by_ssm")
        .unwrap();
    assert_eq!(
        (ssm.provider.as_str(), ssm.account.as_str()),
        ("aws", "123456789012")
    );
    assert!(
        ssm.resource
            .starts_with("arn:aws:ec2:us-east-1:123456789012:instance/")
    );
    assert!(r.created.is_some());
}

#[test]
fn hostile_and_broken_reports_are_refused_with_the_place_and_the_problem() {
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    for (bytes, expected) in [
        (
            br#"{"runs": ["#.to_vec(),
            "not JSON: EOF while parsing a list at line 1 column 10",
        ),
        (deep.into_bytes(), "not JSON: recursion limit exceeded at line 1 column 128"),
        (br#"{"hello": 1}"#.to_vec(), "$: not a report the import source reads"),
        (b"[]".to_vec(), "$: an empty array"),
        (
            br#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "R1", "level": 3}]}]}"#.to_vec(),
            "$.runs[0].results[0].level: expected a string, found a number",
        ),
        (
            br#"{"version": "2.0.0", "runs": []}"#.to_vec(),
            "$.version: SARIF \"2.0.0\": only 2.1.0 is read",
        ),
        (
            br#"{"bomFormat": "CycloneDX", "specVersion": "1.4"}"#.to_vec(),
            "$.specVersion: CycloneDX 1.4: only 1.5 and later are read",
        ),
        (
            br#"{"SchemaVersion": 2, "Results": [{"Target": "x", "Vulnerabilities": [{"PkgName": "a"}]}]}"#.to_vec(),
            "$.Results[0].Vulnerabilities[0]: missing member \"VulnerabilityID\"",
        ),
        (
            br#"[{"class_uid": 2004, "metadata": {"product": {"name": "Other"}}}]"#.to_vec(),
            "$[0].metadata.product: findings of \"Other\"",
        ),
        (b"\xff\xfe{}".to_vec(), "not JSON: expected value at line 1 column 1"),
    ] {
        let e = parse_bytes(&bytes).unwrap_err();
        assert!(e.starts_with(expected), "{e}\n  expected {expected}");
    }
}

#[tokio::test]
async fn an_import_applies_vex_across_reports_and_one_bad_file_blocks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "bandit.sarif",
        "sbom.cdx.json",
        "vex.cdx.json",
        "trivy-image.json",
        "grype-dir.json",
        "prowler-aws.ocsf.json",
    ] {
        std::fs::copy(fixtures().join(name), dir.path().join(name)).unwrap();
    }
    // The same report twice, a broken one, a huge one, one that points nowhere, a directory.
    std::fs::copy(
        fixtures().join("vex.cdx.json"),
        dir.path().join("vex-copy.cdx.json"),
    )
    .unwrap();
    std::fs::write(dir.path().join("broken.json"), "{\"runs\": [").unwrap();
    let huge = std::fs::File::create(dir.path().join("huge.json")).unwrap();
    huge.set_len(MAX_REPORT_BYTES + 1).unwrap();
    drop(huge);
    std::os::unix::fs::symlink(
        dir.path().join("gone.json"),
        dir.path().join("dangling.json"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("sub.json")).unwrap();
    let before: Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> = ["broken.json", "vex.cdx.json"]
        .iter()
        .map(|n| {
            let p = dir.path().join(n);
            let m = std::fs::metadata(&p).unwrap().modified().unwrap();
            (p.clone(), std::fs::read(&p).unwrap(), m)
        })
        .collect();

    let c = collect(dir.path()).await;
    assert_eq!(c.asset.id, "ci-scans");
    assert_eq!(c.asset.kind, vouch_evidence::AssetKind::Import);

    let imported = value(&c, "import.reports.imported").as_array().unwrap();
    let formats: Vec<&str> = imported
        .iter()
        .map(|r| r["format"].as_str().unwrap())
        .collect();
    assert_eq!(
        formats,
        [
            "sarif",
            "grype",
            "ocsf-prowler",
            "cyclonedx",
            "trivy",
            "cyclonedx"
        ],
        "one per digest, by path: {imported:#?}"
    );
    let vex = imported
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with("/vex-copy.cdx.json"))
        .unwrap();
    assert_eq!(
        vex["copies"], 2,
        "the same bytes under two names are imported once"
    );
    assert_eq!(vex["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(vex["tool"], "cyclonedx-python-lib");

    let unreadable = value(&c, "import.reports.unreadable").as_array().unwrap();
    let shown = |n: &str| format!("{}/{n}", dir.path().display());
    let problem = |n: &str| {
        unreadable
            .iter()
            .find(|u| u["path"] == json!(shown(n)))
            .unwrap_or_else(|| panic!("{n} not listed: {unreadable:#?}"))["problem"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(unreadable.len(), 4, "{unreadable:#?}");
    assert!(problem("broken.json").contains("line 1 column 10"));
    assert!(
        problem("huge.json").contains(&format!("more than the limit of {MAX_REPORT_BYTES} bytes"))
    );
    assert_eq!(
        problem("dangling.json"),
        format!("not found: {}", shown("dangling.json"))
    );
    assert_eq!(problem("sub.json"), "not a regular file");

    // VEX statements of the CycloneDX document apply to the Grype report's finding too.
    let urgent = value(&c, "import.vulnerabilities.critical_high")
        .as_array()
        .unwrap();
    let find = |id: &str, tool: &str| {
        urgent
            .iter()
            .find(|v| v["id"] == id && v["tool"] == tool)
            .unwrap_or_else(|| panic!("{id} of {tool}: {urgent:#?}"))
    };
    assert_eq!(
        find("CVE-2020-1747", "cyclonedx-python-lib")["vex"],
        "not_affected"
    );
    assert_eq!(
        find("CVE-2020-14343", "cyclonedx-python-lib")["vex"],
        "exploitable"
    );
    assert_eq!(
        find("CVE-2018-18074", "cyclonedx-python-lib")["vex"],
        Value::Null
    );
    let expat = find("CVE-2024-45491", "Trivy");
    assert_eq!(expat["since"], "2024-08-30T03:15:03.850000Z");
    assert_eq!(expat["artifact"], "registry.example/shop-api:1.4.2");
    let ghsa = find("GHSA-8q59-q68h-6hv4", "grype");
    assert_eq!(ghsa["since"], "2024-09-10T08:02:31.487512Z");
    // Grype names the GHSA; its related CVE carries the VEX statement.
    assert_eq!(ghsa["vex"], "exploitable");
    assert_eq!(
        value(&c, "import.vulnerabilities.critical_high_count"),
        &json!(urgent.len())
    );
    assert_eq!(urgent.len(), 7);
    assert_eq!(urgent[0]["severity"], "critical");
    assert_eq!(
        value(&c, "import.vulnerabilities.max_age_days"),
        &json!({"critical": 14, "high": 30})
    );
    assert_eq!(value(&c, "import.vulnerabilities.reports"), &json!(3));

    assert_eq!(
        value(&c, "import.sbom.artifacts"),
        &json!(["shop-api@1.4.2"])
    );
    assert_eq!(
        value(&c, "import.sbom.scanned_artifacts"),
        &json!([
            "/src/shop-api",
            "registry.example/shop-api:1.4.2",
            "shop-api@1.4.2"
        ])
    );

    let errors = value(&c, "import.static_analysis.errors")
        .as_array()
        .unwrap();
    assert_eq!(
        errors
            .iter()
            .map(|e| e["rule_id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["B602", "B324"]
    );
    assert_eq!(
        value(&c, "import.static_analysis.by_level"),
        &json!({"error": 2, "warning": 1, "note": 2, "none": 0, "suppressed": 0})
    );

    let failed = value(&c, "import.cloud.failed").as_array().unwrap();
    assert_eq!(failed.len(), 56);
    assert_eq!(value(&c, "import.cloud.failed_count"), &json!(56));
    assert!(
        failed
            .iter()
            .any(|f| f["check_id"] == "iam_user_hardware_mfa_enabled")
    );

    // Nothing the agent read was changed.
    for (p, bytes, modified) in before {
        assert_eq!(std::fs::read(&p).unwrap(), bytes);
        assert_eq!(std::fs::metadata(&p).unwrap().modified().unwrap(), modified);
    }
    assert!(dir.path().join("huge.json").exists());

    // Collected again, the same reports give the same facts (parsed once, from the cache).
    let again = collect(dir.path()).await;
    assert_eq!(again.evidence, c.evidence);
}

#[tokio::test]
async fn when_no_report_can_be_read_the_facts_are_unavailable_naming_each_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.json"), "{\"hello\": 1}").unwrap();
    let c = collect(dir.path()).await;
    assert_eq!(value(&c, "import.reports.imported"), &json!([]));
    let item = &c.evidence["import.vulnerabilities.critical_high"];
    assert_eq!(item.status, ItemStatus::Unavailable);
    let reason = item.reason.as_deref().unwrap();
    assert!(
        reason.starts_with(&format!(
            "no report could be read: {}/a.json: $: not a report",
            dir.path().display()
        )),
        "{reason}"
    );
    for id in [
        "import.cloud.failed",
        "import.sbom.artifacts",
        "import.static_analysis.errors",
    ] {
        assert_eq!(c.evidence[id].status, ItemStatus::Unavailable, "{id}");
    }

    // A directory that does not exist is named too.
    let gone = collect(&dir.path().join("missing")).await;
    let unreadable = value(&gone, "import.reports.unreadable");
    assert_eq!(
        unreadable[0]["problem"],
        json!(format!("not found: {}/missing", dir.path().display()))
    );
}

#[test]
fn sarif_suppressions_and_kinds_and_cyclonedx_bom_links_are_read() {
    let sarif = br#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "semgrep",
        "semanticVersion": "1.90.0", "rules": [{"id": "r0", "defaultConfiguration": {"level": "error"}}]}},
        "results": [
          {"ruleId": "r0", "ruleIndex": 0},
          {"ruleId": "r1", "level": "error", "suppressions": [{"kind": "inSource"}]},
          {"ruleId": "r2", "level": "error", "suppressions": [{"kind": "external", "status": "rejected"}]},
          {"ruleId": "r3", "kind": "pass", "level": "none"},
          {"rule": {"id": "r4"}, "level": "note"}
        ]}]}"#;
    let (_, r) = parse_bytes(sarif).unwrap();
    assert_eq!(
        (r.tool.as_str(), r.tool_version.as_str()),
        ("semgrep", "1.90.0")
    );
    let got: Vec<(&str, &str, bool)> = r
        .code
        .iter()
        .map(|f| (f.rule_id.as_str(), f.level.as_str(), f.suppressed))
        .collect();
    assert_eq!(
        got,
        [
            ("r0", "error", false),
            ("r1", "error", true),
            ("r2", "error", false),
            ("r4", "note", false)
        ]
    );

    let vex = br#"{"bomFormat": "CycloneDX", "specVersion": "1.5",
        "vulnerabilities": [{"id": "CVE-1", "ratings": [{"severity": "low"}, {"severity": "high"}],
          "analysis": {"state": "not_affected"},
          "affects": [{"ref": "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#pkg:pypi/pyyaml@5.3"}]}]}"#;
    let (_, r) = parse_bytes(vex).unwrap();
    assert_eq!(r.vulns[0].severity, Severity::High, "the highest rating");
    assert_eq!(
        (r.vulns[0].package.as_str(), r.vulns[0].version.as_str()),
        ("pyyaml", "5.3")
    );
    assert_eq!(r.vex[0].state, "not_affected");
    assert!(
        r.sbom.is_none(),
        "a VEX document without components is no SBOM"
    );
}

#[tokio::test]
async fn a_report_the_agent_may_not_read_is_named_with_the_problem() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.json");
    std::fs::copy(fixtures().join("vex.cdx.json"), &path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(&path).is_ok() {
        // Root reads whatever the mode: nothing to test here.
        return;
    }
    let c = collect(dir.path()).await;
    let unreadable = value(&c, "import.reports.unreadable");
    assert_eq!(
        unreadable[0]["problem"],
        json!(format!("permission denied reading {}", path.display()))
    );
}
