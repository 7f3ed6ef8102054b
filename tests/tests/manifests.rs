//! The Kubernetes manifests in `packaging/kubernetes/` keep the hardening each workload must
//! keep (issue 21), read from the YAML itself: no host namespaces, non-root pods with the
//! runtime's seccomp profile, and in every container no privilege escalation, a read-only root
//! filesystem, every capability dropped, limits on what runs for good; a capability added or a
//! root user only where a named exception says why; host paths mounted read-only but the
//! agent's state; RBAC that only reads. (CI also validates every file against the OpenAPI
//! schemas of the supported Kubernetes versions: `.ci/k8s-validate`.)

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize as _;
use serde_json::Value;

/// Containers allowed to run as root, with the capabilities each may add, and why.
const ROOT_EXCEPTIONS: &[(&str, &str, &[&str], &str)] = &[(
    "node-agent.yaml",
    "state-owner",
    &["CHOWN", "FOWNER"],
    "hostPath directories are created root-owned: it hands the state directory to the agent",
)];

/// Host paths a container may mount writable: the agent's own state.
const WRITABLE_HOST_PATHS: &[&str] = &["/var/lib/vouch-agent"];

/// Every document of every manifest, with its file name.
fn documents() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/kubernetes");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "the manifests are where they were");
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for doc in yaml_serde::Deserializer::from_str(&text) {
            let value = Value::deserialize(doc).unwrap();
            if !value.is_null() {
                out.push((name.clone(), value));
            }
        }
    }
    out
}

/// What a workload's pod does that it must not: one line per problem.
fn workload_problems(file: &str, doc: &Value) -> Vec<String> {
    let name = doc["metadata"]["name"].as_str().unwrap_or("?");
    let pod = &doc["spec"]["template"]["spec"];
    let mut out = Vec::new();
    let mut problem = |what: String| out.push(format!("{file} {name}: {what}"));
    for ns in ["hostNetwork", "hostPID", "hostIPC"] {
        if pod[ns] == Value::Bool(true) {
            problem(format!("{ns} is on"));
        }
    }
    if pod["securityContext"]["runAsNonRoot"] != Value::Bool(true) {
        problem("the pod does not require a non-root user".into());
    }
    if pod["securityContext"]["seccompProfile"]["type"] != "RuntimeDefault" {
        problem("no RuntimeDefault seccomp profile".into());
    }
    let host_paths: BTreeMap<&str, &str> = pod["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| Some((v["name"].as_str()?, v["hostPath"]["path"].as_str()?)))
        .collect();
    let init = pod["initContainers"].as_array().into_iter().flatten();
    let main = pod["containers"].as_array().into_iter().flatten();
    for (c, long_running) in init.map(|c| (c, false)).chain(main.map(|c| (c, true))) {
        let cname = c["name"].as_str().unwrap_or("?");
        let sc = &c["securityContext"];
        let exception = ROOT_EXCEPTIONS
            .iter()
            .find(|(f, n, _, _)| *f == file && *n == cname);
        if sc["allowPrivilegeEscalation"] != Value::Bool(false) {
            problem(format!("{cname}: privilege escalation is not refused"));
        }
        if sc["privileged"] == Value::Bool(true) {
            problem(format!("{cname}: privileged"));
        }
        if sc["readOnlyRootFilesystem"] != Value::Bool(true) {
            problem(format!("{cname}: the root filesystem is writable"));
        }
        let dropped: Vec<&str> = sc["capabilities"]["drop"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if !dropped.contains(&"ALL") {
            problem(format!("{cname}: not every capability is dropped"));
        }
        let allowed: &[&str] = exception.map_or(&[], |e| e.2);
        for added in sc["capabilities"]["add"].as_array().into_iter().flatten() {
            let added = added.as_str().unwrap_or("?");
            if !allowed.contains(&added) {
                problem(format!("{cname}: adds the capability {added}"));
            }
        }
        let root = sc["runAsUser"] == 0 || sc["runAsNonRoot"] == Value::Bool(false);
        if root && exception.is_none() {
            problem(format!("{cname}: runs as root"));
        }
        if long_running {
            for r in ["cpu", "memory"] {
                if c["resources"]["limits"][r].is_null() {
                    problem(format!("{cname}: no {r} limit"));
                }
            }
        }
        for m in c["volumeMounts"].as_array().into_iter().flatten() {
            let Some(host) = m["name"].as_str().and_then(|n| host_paths.get(n)) else {
                continue;
            };
            if m["readOnly"] != Value::Bool(true) && !WRITABLE_HOST_PATHS.contains(host) {
                problem(format!("{cname}: the host path {host} is mounted writable"));
            }
        }
    }
    out
}

/// What an RBAC role grants beyond reading.
fn rbac_problems(file: &str, doc: &Value) -> Vec<String> {
    let name = doc["metadata"]["name"].as_str().unwrap_or("?");
    let mut out = Vec::new();
    for (i, rule) in doc["rules"].as_array().into_iter().flatten().enumerate() {
        for field in ["verbs", "resources", "apiGroups", "nonResourceURLs"] {
            for v in rule[field].as_array().into_iter().flatten() {
                let v = v.as_str().unwrap_or("?");
                if v == "*" {
                    out.push(format!("{file} {name}: rule {i} grants {field} *"));
                }
                if field == "verbs" && !["get", "list", "watch"].contains(&v) {
                    out.push(format!("{file} {name}: rule {i} grants {v}"));
                }
            }
        }
    }
    out
}

const WORKLOADS: &[&str] = &["Deployment", "DaemonSet", "StatefulSet", "Job"];

#[test]
fn every_workload_keeps_its_hardening_and_rbac_only_reads() {
    let docs = documents();
    let mut problems = Vec::new();
    let (mut workloads, mut roles) = (0, 0);
    for (file, doc) in &docs {
        let kind = doc["kind"].as_str().unwrap_or("");
        if WORKLOADS.contains(&kind) {
            workloads += 1;
            problems.extend(workload_problems(file, doc));
        }
        if kind == "ClusterRole" || kind == "Role" {
            roles += 1;
            problems.extend(rbac_problems(file, doc));
        }
    }
    assert_eq!(
        (workloads, roles),
        (2, 1),
        "the node agent, the cluster collector, one role"
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The checks can fail: each weakening of a real manifest is named.
#[test]
fn a_weakened_manifest_is_named() {
    let docs = documents();
    let (file, agent) = docs
        .iter()
        .find(|(_, d)| d["kind"] == "DaemonSet")
        .cloned()
        .unwrap();
    let weaken = |edit: &dyn Fn(&mut Value)| {
        let mut doc = agent.clone();
        edit(&mut doc);
        workload_problems(&file, &doc)
    };
    fn main(d: &mut Value) -> &mut Value {
        &mut d["spec"]["template"]["spec"]["containers"][0]
    }
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|d| main(d)["securityContext"]["readOnlyRootFilesystem"] = false.into()),
            "the root filesystem is writable",
        ),
        (
            Box::new(|d| {
                main(d)["securityContext"]["capabilities"]["add"] = serde_json::json!(["SYS_ADMIN"])
            }),
            "adds the capability SYS_ADMIN",
        ),
        (
            Box::new(|d| main(d)["securityContext"]["runAsUser"] = 0.into()),
            "runs as root",
        ),
        (
            Box::new(|d| main(d)["resources"]["limits"] = Value::Null),
            "no memory limit",
        ),
        (
            Box::new(|d| d["spec"]["template"]["spec"]["hostPID"] = true.into()),
            "hostPID is on",
        ),
    ];
    for (edit, needle) in cases {
        let found = weaken(&*edit);
        assert!(
            found.iter().any(|p| p.contains(needle)),
            "{needle}: {found:#?}"
        );
    }
    let mut role = docs
        .iter()
        .find(|(_, d)| d["kind"] == "ClusterRole")
        .cloned()
        .unwrap();
    role.1["rules"][0]["verbs"] = serde_json::json!(["get", "delete"]);
    assert!(
        rbac_problems(&role.0, &role.1)
            .iter()
            .any(|p| p.contains("grants delete"))
    );
}
