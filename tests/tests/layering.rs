//! The crates' layering (issue 17), read from `cargo metadata`: each workspace crate depends
//! only on the crates below it, and the auditor's `vouch-verify` links no store, network stack,
//! collector or cloud SDK. A dependency added against the grain fails here, naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Each workspace crate and the workspace crates it may depend on (normal dependencies,
/// directly or through others).
const ALLOWED: &[(&str, &[&str])] = &[
    ("vouch-evidence", &[]),
    ("vouch-config", &[]),
    ("vouch-client", &[]),
    ("vouch-policies", &["vouch-evidence"]),
    ("vouch-verify", &["vouch-evidence", "vouch-policies"]),
    ("vouch-collectors", &["vouch-evidence", "vouch-config"]),
    ("vouch-store", &["vouch-evidence"]),
    (
        "vouch-agent",
        &[
            "vouch-evidence",
            "vouch-config",
            "vouch-client",
            "vouch-collectors",
            "vouch-policies",
        ],
    ),
    (
        "vouch-server",
        &[
            "vouch-evidence",
            "vouch-config",
            "vouch-client",
            "vouch-policies",
            "vouch-store",
            "vouch-verify",
        ],
    ),
];

/// Crates (by name prefix) the auditor's verifier must not link.
const NOT_IN_VERIFY: &[&str] = &[
    "aws-",
    "kube",
    "k8s-openapi",
    "octocrab",
    "sqlx",
    "rusqlite",
    "axum",
    "hyper",
    "reqwest",
    "rustls",
    "tokio",
];

/// package id → (name, normal dependencies' ids), from `cargo metadata`.
fn graph() -> BTreeMap<String, (String, Vec<String>)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline", "--locked"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let id = n["id"].as_str().unwrap().to_string();
            let deps = n["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|k| k["kind"].is_null())
                })
                .map(|d| d["pkg"].as_str().unwrap().to_string())
                .collect();
            (id.clone(), (names[id.as_str()].to_string(), deps))
        })
        .collect()
}

/// The names of every crate `name` links, directly or not.
fn closure(graph: &BTreeMap<String, (String, Vec<String>)>, name: &str) -> BTreeSet<String> {
    let start = graph
        .iter()
        .find(|(_, (n, _))| n == name)
        .map(|(id, _)| id.clone())
        .unwrap_or_else(|| panic!("{name} is not in the workspace"));
    let mut seen = BTreeSet::new();
    let mut todo = vec![start];
    let mut names = BTreeSet::new();
    while let Some(id) = todo.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        let (_, deps) = &graph[&id];
        for d in deps {
            names.insert(graph[d].0.clone());
            todo.push(d.clone());
        }
    }
    names
}

#[test]
fn every_crate_depends_only_on_the_crates_below_it() {
    let graph = graph();
    let mut wrong = Vec::new();
    for (name, allowed) in ALLOWED {
        for dep in closure(&graph, name) {
            if dep.starts_with("vouch-") && !allowed.contains(&dep.as_str()) {
                wrong.push(format!("{name} depends on {dep}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn the_auditors_verifier_links_no_store_network_collector_or_cloud_sdk() {
    let graph = graph();
    let linked = closure(&graph, "vouch-verify");
    let wrong: Vec<&String> = linked
        .iter()
        .filter(|d| NOT_IN_VERIFY.iter().any(|p| d.starts_with(p)))
        .collect();
    assert!(wrong.is_empty(), "vouch-verify links {wrong:?}");
    assert!(
        linked.contains("regorus"),
        "it re-judges results with the policy engine"
    );
}
