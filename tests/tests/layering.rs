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
    // The packages of this machine's platform only: offline, the others (Windows, Android and
    // wasm crates in the lock file) need not have been downloaded, and nothing here links them.
    let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-vV")
        .output()
        .expect("rustc -vV runs");
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("rustc -vV names the host");
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline", "--locked"])
        .args(["--filter-platform", &host])
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

/// The server's modules in layers, top first: a module imports only from its own layer or the
/// layers below it, and never in a loop. `app`, the HTTP API and the pages on top; the
/// application's state and configuration, which wire the services; the services (ingest,
/// judging, controls, alerts, retention, export); the foundation. The store is a crate below
/// them all (`vouch-store`).
const SERVER_LAYERS: &[(&str, &[&str])] = &[
    (
        "top",
        &["app", "serve", "http", "web", "session", "loadgen"],
    ),
    ("application", &["state", "config"]),
    (
        "services",
        &[
            "ingest",
            "evaluate",
            "controls",
            "oscal",
            "ocsf",
            "alerts",
            "retention",
            "objects",
            "bundle",
            "checkpoints",
            "cosigning",
            "fsck",
            "refusals",
            "connections",
            "witness",
            "verdicts",
            "timestamps",
            "sso",
        ],
    ),
    (
        "foundation",
        &["auth", "clock", "files", "ids", "metrics", "tls"],
    ),
];

/// Top-level module of `server/src` → the modules it imports (`crate::<module>`), read from
/// the code outside comments and unit tests.
fn server_imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/src");
    let mut files = Vec::new();
    let mut todo = vec![src.clone()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in files {
        let rel = path.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        let imports = graph.entry(module.clone()).or_default();
        for line in code.lines() {
            let line = line.split("//").next().unwrap();
            for (i, _) in line.match_indices("crate::") {
                let rest = &line[i + "crate::".len()..];
                let names: Vec<&str> = match rest.strip_prefix('{') {
                    // `crate::{a, b::c}`: the first segment of each path in the group.
                    Some(group) => group
                        .split('}')
                        .next()
                        .unwrap()
                        .split(',')
                        .map(|p| p.trim().split("::").next().unwrap())
                        .collect(),
                    None => vec![
                        rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                            .next()
                            .unwrap(),
                    ],
                };
                for name in names {
                    if !name.is_empty() && name != module {
                        imports.insert(name.to_string());
                    }
                }
            }
        }
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for imports in graph.values_mut() {
        imports.retain(|m| modules.contains(m));
    }
    graph
}

#[test]
fn server_modules_import_only_their_own_layer_or_below_and_never_in_a_loop() {
    let graph = server_imports();
    let layer_of = |m: &str| {
        SERVER_LAYERS
            .iter()
            .position(|(_, mods)| mods.contains(&m))
            .unwrap_or_else(|| panic!("server/src/{m} is in no layer of SERVER_LAYERS"))
    };
    let mut wrong = Vec::new();
    for (module, imports) in &graph {
        for import in imports {
            if layer_of(import) < layer_of(module) {
                wrong.push(format!(
                    "{module} ({}) imports {import} ({}), a layer above it",
                    SERVER_LAYERS[layer_of(module)].0,
                    SERVER_LAYERS[layer_of(import)].0
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    // No loops: repeatedly remove the modules that import nothing left.
    let mut left = graph.clone();
    while let Some(leaf) = left
        .iter()
        .find(|(_, imports)| imports.iter().all(|i| !left.contains_key(i)))
        .map(|(m, _)| m.clone())
    {
        left.remove(&leaf);
    }
    assert!(
        left.is_empty(),
        "modules importing each other in a loop: {left:#?}"
    );
    // Every layer names only modules that exist.
    for (layer, modules) in SERVER_LAYERS {
        for m in *modules {
            assert!(
                graph.contains_key(*m),
                "layer {layer} names {m}, which is gone"
            );
        }
    }
}
