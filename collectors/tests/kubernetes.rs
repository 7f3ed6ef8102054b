//! The Kubernetes source with the real kube client against recorded API server answers,
//! replayed over local HTTPS (`tests/fixtures/kubernetes/<cluster>/`), checked item by item
//! against `tests/fixtures/kubernetes/<cluster>.expected/`; and the shipped manifests
//! (`packaging/kubernetes/`) against what the collector does.
//!
//! `prod-eu` holds List objects paginated with `metadata.continue` (pods, namespaces, service
//! accounts, secrets), a `429 Too Many Requests` with `Retry-After` waited out, and a `403
//! Forbidden` that leaves its fact unavailable with the API server's message.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use vouch_collectors::kubernetes::{API_ACCESS, KubernetesConfig, KubernetesSource};
use vouch_collectors::testing::{ReplayServer, Served, assert_replayed_as_expected};
use vouch_collectors::{Collected, Source, run_source};
use vouch_evidence::{AssetKind, ItemStatus};

const TOKEN: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6InZvdWNoLWZpeHR1cmUifQ.fixture.signature";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/kubernetes")
}

/// A kubeconfig for the replay server: its CA as `certificate-authority-data`, a bearer token.
fn kubeconfig(server: &ReplayServer, dir: &Path) -> PathBuf {
    let ca = base64::engine::general_purpose::STANDARD.encode(server.ca_pem());
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: prod-eu\n\
         clusters:\n- name: prod-eu\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\n\
         users:\n- name: vouch\n  user:\n    token: {TOKEN}\n\
         contexts:\n- name: prod-eu\n  context:\n    cluster: prod-eu\n    user: vouch\n",
        server.origin()
    );
    let path = dir.join("kubeconfig");
    std::fs::write(&path, text).unwrap();
    path
}

async fn collect_prod_eu() -> (Collected, KubernetesSource, ReplayServer) {
    let server = ReplayServer::start(fixtures().join("prod-eu"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = KubernetesConfig {
        enabled: true,
        kubeconfig: Some(kubeconfig(&server, dir.path())),
        page_size: 4,
        timeout_secs: 30,
        ..KubernetesConfig::default()
    };
    assert_eq!(config.validate(), []);
    let source = KubernetesSource::new(config);
    let collected = run_source(&source, &source.context(CancellationToken::new())).await;
    (collected, source, server)
}

/// What RBAC calls a served request: (group, resource or non-resource URL, verb).
fn rbac_of(r: &Served) -> (String, String, String) {
    let parts: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
    let (group, rest) = match parts.as_slice() {
        ["api", "v1", rest @ ..] => ("", rest),
        ["apis", group, _version, rest @ ..] => (*group, rest),
        _ => return (String::new(), r.path.clone(), r.method.to_lowercase()),
    };
    let (resource, named) = match rest {
        ["namespaces", _, resource, name @ ..] => (*resource, !name.is_empty()),
        [resource, name @ ..] => (*resource, !name.is_empty()),
        [] => ("", false),
    };
    let verb = if named { "get" } else { "list" };
    (group.into(), resource.into(), verb.into())
}

#[tokio::test]
async fn prod_eu_yields_its_expected_evidence() {
    let (collected, source, server) = collect_prod_eu().await;
    assert_eq!(collected.asset.kind, AssetKind::KubernetesCluster);
    assert_replayed_as_expected(
        &collected,
        &source.collectors(),
        &fixtures().join("prod-eu.expected"),
        &server,
        &[TOKEN],
    );
    let requests = server.requests();
    for r in &requests {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(r.method, "GET", "the collector only reads");
    }
    // Secrets are only ever listed as metadata: no value is sent to the collector.
    let secrets: Vec<_> = requests
        .iter()
        .filter(|r| r.path == "/api/v1/secrets")
        .collect();
    assert_eq!(secrets.len(), 11, "one list per type, Opaque in two pages");
    for r in &secrets {
        assert!(
            r.header("accept")
                .unwrap()
                .contains("as=PartialObjectMetadataList"),
            "{}",
            r.line()
        );
    }
    // Pagination: every page after the first carries the previous page's continue token.
    for path in ["/api/v1/pods", "/api/v1/namespaces"] {
        let pages: Vec<_> = requests.iter().filter(|r| r.path == path).collect();
        assert_eq!(pages.len(), 2, "{path}");
        assert!(pages[1].query.contains("continue="), "{}", pages[1].line());
    }
    // 429 Too Many Requests with Retry-After: 1, waited out, then the pages.
    let accounts: Vec<_> = requests
        .iter()
        .filter(|r| r.path == "/api/v1/serviceaccounts")
        .collect();
    assert_eq!(
        accounts.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 200, 200]
    );
    assert!(accounts[1].at - accounts[0].at >= Duration::from_millis(900));
}

#[tokio::test]
async fn the_cluster_role_grants_exactly_what_the_collector_calls() {
    let text = std::fs::read_to_string(repo().join("packaging/kubernetes/rbac.yaml")).unwrap();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    let role = docs
        .iter()
        .find(|d| d["kind"] == "ClusterRole")
        .expect("a ClusterRole");
    let mut granted = BTreeSet::new();
    for rule in role["rules"].as_array().unwrap() {
        let strings = |key: &str| -> Vec<String> {
            rule[key]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
                .unwrap_or_default()
        };
        for verb in strings("verbs") {
            assert!(
                matches!(verb.as_str(), "get" | "list" | "watch"),
                "the ClusterRole grants {verb}"
            );
            for url in strings("nonResourceURLs") {
                granted.insert((String::new(), url, verb.clone()));
            }
            for group in strings("apiGroups") {
                for resource in strings("resources") {
                    assert!(group != "*" && resource != "*", "wildcards granted");
                    granted.insert((group.clone(), resource, verb.clone()));
                }
            }
        }
    }
    let declared: BTreeSet<(String, String, String)> = API_ACCESS
        .iter()
        .map(|a| (a.group.into(), a.resource.into(), a.verb.into()))
        .collect();
    assert_eq!(granted, declared, "rbac.yaml and API_ACCESS differ");

    // Every call the collector made against the recorded cluster is declared.
    let (_, _, server) = collect_prod_eu().await;
    let requests = server.requests();
    assert!(!requests.is_empty());
    for r in &requests {
        let access = rbac_of(r);
        assert!(declared.contains(&access), "{} needs {access:?}", r.line());
    }
}

#[test]
fn the_shipped_agent_configurations_enable_the_right_sources() {
    let agent_toml = |file: &str, map: &str| -> toml::Table {
        let text = std::fs::read_to_string(repo().join("packaging/kubernetes").join(file)).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        let map = docs
            .iter()
            .find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == map)
            .unwrap();
        toml::from_str(map["data"]["agent.toml"].as_str().unwrap()).unwrap()
    };
    let cluster = agent_toml("cluster-collector.yaml", "vouch-cluster-collector");
    let k8s: KubernetesConfig = cluster["collectors"]["kubernetes"]
        .clone()
        .try_into()
        .unwrap();
    assert!(k8s.enabled && k8s.kubeconfig.is_none(), "in cluster");
    assert_eq!(k8s.validate(), []);
    assert_eq!(
        cluster["collectors"]["host"]["enabled"].as_bool(),
        Some(false)
    );
    let node = agent_toml("node-agent.yaml", "vouch-node-agent");
    assert_eq!(node["collectors"]["host"]["root"].as_str(), Some("/host"));
    assert!(node["collectors"].get("kubernetes").is_none());
}

#[tokio::test]
async fn without_a_usable_kubeconfig_every_fact_is_unavailable_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let server = ReplayServer::start(fixtures().join("prod-eu"))
        .await
        .unwrap();
    let path = kubeconfig(&server, dir.path());
    let source = KubernetesSource::new(KubernetesConfig {
        enabled: true,
        kubeconfig: Some(path.clone()),
        context: Some("staging".into()),
        ..KubernetesConfig::default()
    });
    let c = run_source(&source, &source.context(CancellationToken::new())).await;
    assert_eq!(c.asset.id, "unknown:staging");
    let why = format!("kubeconfig {}: ", path.display());
    for spec in source.collectors().iter().flat_map(|c| c.evidence()) {
        let item = &c.evidence[spec.id];
        assert_eq!(item.status, ItemStatus::Unavailable);
        let reason = item.reason.as_deref().unwrap();
        assert!(
            reason.contains(&why) && reason.contains("staging"),
            "{}: {reason}",
            spec.id
        );
    }
    assert!(server.requests().is_empty());
}
