//! Pods: privileged containers, host namespaces and host paths, root users, resource limits and
//! mutable image references, of every pod that runs or is about to (phase neither `Succeeded`
//! nor `Failed`).
//!
//! Security settings follow Kubernetes' own precedence: a container's `securityContext`
//! overrides the pod's for `runAsUser` and `runAsNonRoot`. Containers are named
//! `namespace/pod/container`; init and ephemeral containers are included where the setting
//! applies to them.

use std::sync::Arc;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{Pod, ResourceRequirements, SecurityContext};
use serde_json::{Value, json};

use super::{PODS, Shared, call, qualified};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "kubernetes.pods.count",
        value_type: ValueType::Integer,
        meaning: "Pods running or pending (the pods the other `kubernetes.pods` facts cover).",
        source: "GET /api/v1/pods",
        context_only: Some(
            "inventory: it describes the asset and requires nothing.",
        ),
    },
    EvidenceSpec {
        id: "kubernetes.pods.privileged_containers",
        value_type: ValueType::StringList,
        meaning: "Containers (`namespace/pod/container`, init and ephemeral ones included) running privileged.",
        source: "GET /api/v1/pods (securityContext.privileged)",
        context_only: None,
    },
    EvidenceSpec {
        id: "kubernetes.pods.host_network",
        value_type: ValueType::StringList,
        meaning: "Pods (`namespace/pod`) sharing the node's network namespace (`hostNetwork`).",
        source: "GET /api/v1/pods (spec.hostNetwork)",
        context_only: None,
    },
    EvidenceSpec {
        id: "kubernetes.pods.host_pid",
        value_type: ValueType::StringList,
        meaning: "Pods sharing the node's process namespace (`hostPID`).",
        source: "GET /api/v1/pods (spec.hostPID)",
        context_only: None,
    },
    EvidenceSpec {
        id: "kubernetes.pods.host_ipc",
        value_type: ValueType::StringList,
        meaning: "Pods sharing the node's IPC namespace (`hostIPC`).",
        source: "GET /api/v1/pods (spec.hostIPC)",
        context_only: None,
    },
    EvidenceSpec {
        id: "kubernetes.pods.host_path_volumes",
        value_type: ValueType::ObjectList,
        meaning: "Volumes mounting a node directory: `pod` (`namespace/pod`), `volume`, `path`.",
        source: "GET /api/v1/pods (spec.volumes[].hostPath)",
        context_only: None,
    },
    EvidenceSpec {
        id: "kubernetes.pods.containers_run_as_root",
        value_type: ValueType::StringList,
        meaning: "Containers whose effective `runAsUser` (the container's, else the pod's) is 0. Windows pods are left out.",
        source: "GET /api/v1/pods (securityContext.runAsUser)",
        context_only: None,
    },
    EvidenceSpec {
        id: "kubernetes.pods.containers_without_run_as_non_root",
        value_type: ValueType::StringList,
        meaning: "Containers whose effective `runAsNonRoot` (the container's, else the pod's) is not true, so nothing stops them running as root if the image says so. Windows pods are left out.",
        source: "GET /api/v1/pods (securityContext.runAsNonRoot)",
        context_only: None,
    },
    EvidenceSpec {
        id: "kubernetes.pods.containers_without_limits",
        value_type: ValueType::StringList,
        meaning: "Containers and init containers without both a CPU and a memory limit (a pod-level limit on both counts for all its containers).",
        source: "GET /api/v1/pods (resources.limits)",
        context_only: None,
    },
    EvidenceSpec {
        id: "kubernetes.pods.mutable_images",
        value_type: ValueType::ObjectList,
        meaning: "Containers whose image is referenced by tag, not by digest (`@sha256:…`), so what runs can change under the same name: `container` (`namespace/pod/container`), `image`.",
        source: "GET /api/v1/pods (containers[].image)",
        context_only: None,
    },
];

/// The collector.
pub struct Pods(pub(super) Arc<Shared>);

/// Whether the pod runs or is about to.
pub(super) fn active(pod: &Pod) -> bool {
    !matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

/// One container of a pod, of whichever kind.
struct Container<'a> {
    name: String,
    image: Option<&'a str>,
    security: Option<&'a SecurityContext>,
    /// `None` for ephemeral containers, which take no resources.
    resources: Option<Option<&'a ResourceRequirements>>,
}

fn containers(pod: &Pod) -> Vec<Container<'_>> {
    let Some(spec) = &pod.spec else {
        return Vec::new();
    };
    let prefix = qualified(&pod.metadata);
    let regular = spec
        .init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
        .map(|c| Container {
            name: format!("{prefix}/{}", c.name),
            image: c.image.as_deref(),
            security: c.security_context.as_ref(),
            resources: Some(c.resources.as_ref()),
        });
    let ephemeral = spec
        .ephemeral_containers
        .iter()
        .flatten()
        .map(|c| Container {
            name: format!("{prefix}/{}", c.name),
            image: c.image.as_deref(),
            security: c.security_context.as_ref(),
            resources: None,
        });
    regular.chain(ephemeral).collect()
}

/// Whether `image` names a digest (`name@sha256:…`) rather than a tag.
fn pinned(image: &str) -> bool {
    image
        .split_once('@')
        .is_some_and(|(_, digest)| digest.contains(':'))
}

/// Whether `limits` bounds both CPU and memory.
fn limits_both(resources: Option<&ResourceRequirements>) -> bool {
    resources
        .and_then(|r| r.limits.as_ref())
        .is_some_and(|l| l.contains_key("cpu") && l.contains_key("memory"))
}

/// Every pod-level and container-level finding over `pods`.
#[derive(Debug, Default, PartialEq)]
struct Findings {
    count: u64,
    privileged: Vec<String>,
    host_network: Vec<String>,
    host_pid: Vec<String>,
    host_ipc: Vec<String>,
    host_paths: Vec<Value>,
    run_as_root: Vec<String>,
    without_run_as_non_root: Vec<String>,
    without_limits: Vec<String>,
    mutable_images: Vec<Value>,
}

fn findings(pods: &[Pod]) -> Findings {
    let mut f = Findings::default();
    for pod in pods.iter().filter(|p| active(p)) {
        f.count += 1;
        let Some(spec) = &pod.spec else { continue };
        let name = qualified(&pod.metadata);
        for (flag, list) in [
            (spec.host_network, &mut f.host_network),
            (spec.host_pid, &mut f.host_pid),
            (spec.host_ipc, &mut f.host_ipc),
        ] {
            if flag == Some(true) {
                list.push(name.clone());
            }
        }
        for v in spec.volumes.iter().flatten() {
            if let Some(hp) = &v.host_path {
                f.host_paths
                    .push(json!({"pod": name, "volume": v.name, "path": hp.path}));
            }
        }
        let pod_security = spec.security_context.as_ref();
        let windows = spec.os.as_ref().is_some_and(|os| os.name == "windows");
        let pod_limits = limits_both(spec.resources.as_ref());
        for c in containers(pod) {
            let sc = c.security;
            if sc.and_then(|s| s.privileged) == Some(true) {
                f.privileged.push(c.name.clone());
            }
            if !windows {
                let user = sc
                    .and_then(|s| s.run_as_user)
                    .or_else(|| pod_security.and_then(|s| s.run_as_user));
                if user == Some(0) {
                    f.run_as_root.push(c.name.clone());
                }
                let non_root = sc
                    .and_then(|s| s.run_as_non_root)
                    .or_else(|| pod_security.and_then(|s| s.run_as_non_root));
                if non_root != Some(true) {
                    f.without_run_as_non_root.push(c.name.clone());
                }
            }
            if let Some(resources) = c.resources
                && !pod_limits
                && !limits_both(resources)
            {
                f.without_limits.push(c.name.clone());
            }
            if let Some(image) = c.image.filter(|i| !pinned(i)) {
                f.mutable_images
                    .push(json!({"container": c.name, "image": image}));
            }
        }
    }
    f
}

#[async_trait]
impl Collector for Pods {
    fn name(&self) -> &'static str {
        "kubernetes.pods"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        self.0.client().await?;
        let found = self.0.pods(ctx).await.map(|pods| findings(&pods));
        let pick = |f: fn(&Findings) -> Value| found.as_ref().map(f).map_err(Clone::clone);
        let facts: [(&'static str, fn(&Findings) -> Value); 10] = [
            ("kubernetes.pods.count", |f| json!(f.count)),
            ("kubernetes.pods.privileged_containers", |f| {
                json!(f.privileged)
            }),
            ("kubernetes.pods.host_network", |f| json!(f.host_network)),
            ("kubernetes.pods.host_pid", |f| json!(f.host_pid)),
            ("kubernetes.pods.host_ipc", |f| json!(f.host_ipc)),
            ("kubernetes.pods.host_path_volumes", |f| json!(f.host_paths)),
            ("kubernetes.pods.containers_run_as_root", |f| {
                json!(f.run_as_root)
            }),
            ("kubernetes.pods.containers_without_run_as_non_root", |f| {
                json!(f.without_run_as_non_root)
            }),
            ("kubernetes.pods.containers_without_limits", |f| {
                json!(f.without_limits)
            }),
            ("kubernetes.pods.mutable_images", |f| {
                json!(f.mutable_images)
            }),
        ];
        Ok(facts
            .into_iter()
            .map(|(id, get)| fact(id, call(PODS), pick(get)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pods(v: Value) -> Vec<Pod> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn container_settings_override_the_pods() {
        let p = pods(json!([{
            "metadata": {"namespace": "shop", "name": "web"},
            "spec": {
                "securityContext": {"runAsNonRoot": true, "runAsUser": 1000},
                "initContainers": [{"name": "migrate", "image": "migrate:1.2", "securityContext": {"runAsUser": 0, "runAsNonRoot": false}}],
                "containers": [
                    {"name": "app", "image": "shop@sha256:0123abcd", "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}}},
                    {"name": "debug", "image": "busybox", "securityContext": {"privileged": true, "runAsNonRoot": false}}
                ]
            },
            "status": {"phase": "Running"}
        }]));
        let f = findings(&p);
        assert_eq!(f.count, 1);
        assert_eq!(f.privileged, ["shop/web/debug"]);
        assert_eq!(f.run_as_root, ["shop/web/migrate"]);
        assert_eq!(
            f.without_run_as_non_root,
            ["shop/web/migrate", "shop/web/debug"]
        );
        assert_eq!(f.without_limits, ["shop/web/migrate", "shop/web/debug"]);
        assert_eq!(
            f.mutable_images,
            [
                json!({"container": "shop/web/migrate", "image": "migrate:1.2"}),
                json!({"container": "shop/web/debug", "image": "busybox"})
            ]
        );
    }

    #[test]
    fn pod_settings_apply_when_containers_say_nothing() {
        let p = pods(json!([{
            "metadata": {"namespace": "ops", "name": "agent"},
            "spec": {
                "hostNetwork": true, "hostPID": true, "hostIPC": false,
                "securityContext": {"runAsUser": 0},
                "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                "volumes": [{"name": "root", "hostPath": {"path": "/", "type": "Directory"}}, {"name": "tmp", "emptyDir": {}}],
                "containers": [{"name": "a", "image": "agent:latest"}],
                "ephemeralContainers": [{"name": "dbg", "image": "busybox@sha256:ff"}]
            }
        }]));
        let f = findings(&p);
        assert_eq!(f.host_network, ["ops/agent"]);
        assert_eq!(f.host_pid, ["ops/agent"]);
        assert!(f.host_ipc.is_empty());
        assert_eq!(
            f.host_paths,
            [json!({"pod": "ops/agent", "volume": "root", "path": "/"})]
        );
        assert_eq!(f.run_as_root, ["ops/agent/a", "ops/agent/dbg"]);
        assert!(f.without_limits.is_empty(), "pod-level limits bound all");
        assert_eq!(f.mutable_images.len(), 1);
    }

    #[test]
    fn finished_and_windows_pods() {
        let p = pods(json!([
            {"metadata": {"namespace": "ci", "name": "job-1"}, "spec": {"containers": [{"name": "c", "image": "x", "securityContext": {"privileged": true}}]}, "status": {"phase": "Succeeded"}},
            {"metadata": {"namespace": "win", "name": "iis"}, "spec": {"os": {"name": "windows"}, "containers": [{"name": "c", "image": "iis@sha256:aa", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}, "status": {"phase": "Running"}}
        ]));
        let f = findings(&p);
        assert_eq!(f.count, 1);
        assert_eq!(
            f,
            Findings {
                count: 1,
                ..Findings::default()
            }
        );
    }

    #[test]
    fn digests_pin_tags_do_not() {
        assert!(pinned("registry.example/app@sha256:abc"));
        assert!(pinned("app:1.0@sha256:abc"));
        assert!(!pinned("app:1.0"));
        assert!(!pinned("registry.example:5000/app"));
        assert!(!pinned("app@latest"));
    }
}
