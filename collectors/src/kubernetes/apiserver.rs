//! The API server's own settings, where the Kubernetes API shows them: on a self-managed
//! control plane (kubeadm and the like) kube-apiserver runs as a static pod in kube-system whose
//! command line holds its flags. A managed control plane (EKS, GKE, AKS) shows no such pod, and
//! the facts are then unavailable with that reason: the API cannot tell.
//!
//! Only the flags that name the secrets' encryption configuration and the audit log are kept,
//! as the paths the flags give; the files themselves are on the control-plane nodes and never
//! read.

use std::sync::Arc;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::pods::active;
use super::{PODS, Shared, call, qualified};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[EvidenceSpec {
    id: "kubernetes.apiserver.flags",
    value_type: ValueType::ObjectList,
    meaning: "Each running kube-apiserver pod of kube-system (label `component=kube-apiserver`, \
              as kubeadm's static pods carry): `{pod, encryption_provider_config, \
              audit_policy_file, audit_log_path, audit_webhook_config_file}`, each the path its \
              flag gives or null when the flag is absent. Unavailable when kube-system has no \
              such pod: a managed control plane, whose flags the Kubernetes API does not show.",
    source: "GET /api/v1/pods (kube-system, component=kube-apiserver: containers[].command and args)",
    context_only: None,
}];

/// The flags kept, as (flag, key in the evidence).
const FLAGS: [(&str, &str); 4] = [
    ("--encryption-provider-config", "encryption_provider_config"),
    ("--audit-policy-file", "audit_policy_file"),
    ("--audit-log-path", "audit_log_path"),
    ("--audit-webhook-config-file", "audit_webhook_config_file"),
];

/// The collector.
pub struct ApiServer(pub(super) Arc<Shared>);

/// Whether `pod` is a kube-apiserver of the control plane.
fn is_apiserver(pod: &Pod) -> bool {
    pod.metadata.namespace.as_deref() == Some("kube-system")
        && pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("component"))
            .is_some_and(|c| c == "kube-apiserver")
        && active(pod)
}

/// The value of `flag` on a command line (`--flag=value` or `--flag value`; the last wins, as
/// for the API server's own parser).
fn flag_value(words: &[String], flag: &str) -> Option<String> {
    let mut found = None;
    let mut words = words.iter();
    while let Some(w) = words.next() {
        if let Some(v) = w.strip_prefix(flag).and_then(|rest| rest.strip_prefix('=')) {
            found = Some(v.to_string());
        } else if w == flag {
            found = words.next().cloned();
        }
    }
    found
}

/// The flags of every kube-apiserver pod; `Err` when there is none.
fn apiserver_flags(pods: &[Pod]) -> Result<Vec<Value>, String> {
    let servers: Vec<Value> = pods
        .iter()
        .filter(|p| is_apiserver(p))
        .map(|pod| {
            let words: Vec<String> = pod
                .spec
                .iter()
                .flat_map(|s| &s.containers)
                .filter(|c| c.name == "kube-apiserver")
                .flat_map(|c| c.command.iter().flatten().chain(c.args.iter().flatten()))
                .cloned()
                .collect();
            let mut entry = serde_json::Map::new();
            entry.insert("pod".into(), json!(qualified(&pod.metadata)));
            for (flag, key) in FLAGS {
                entry.insert(key.into(), json!(flag_value(&words, flag)));
            }
            Value::Object(entry)
        })
        .collect();
    if servers.is_empty() {
        return Err("no kube-apiserver pod runs in kube-system (label component=kube-apiserver): \
                    the control plane is managed or not run as static pods, and the Kubernetes \
                    API does not show its flags"
            .into());
    }
    Ok(servers)
}

#[async_trait]
impl Collector for ApiServer {
    fn name(&self) -> &'static str {
        "kubernetes.apiserver"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        self.0.client().await?;
        let flags = self
            .0
            .pods(ctx)
            .await
            .and_then(|pods| apiserver_flags(&pods));
        Ok(vec![fact("kubernetes.apiserver.flags", call(PODS), flags)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pods(v: Value) -> Vec<Pod> {
        serde_json::from_value(v).unwrap()
    }

    /// kubeadm's static pod, as GET /api/v1/pods returns it (trimmed to what matters here).
    fn kubeadm(node: &str, extra: &[&str]) -> Value {
        let mut command = vec![
            "kube-apiserver",
            "--advertise-address=10.0.0.11",
            "--allow-privileged=true",
            "--authorization-mode=Node,RBAC",
            "--client-ca-file=/etc/kubernetes/pki/ca.crt",
            "--enable-admission-plugins=NodeRestriction",
            "--etcd-servers=https://127.0.0.1:2379",
            "--secure-port=6443",
        ];
        command.extend_from_slice(extra);
        json!({
            "metadata": {
                "name": format!("kube-apiserver-{node}"),
                "namespace": "kube-system",
                "labels": {"component": "kube-apiserver", "tier": "control-plane"},
                "annotations": {"kubernetes.io/config.source": "file"}
            },
            "spec": {
                "hostNetwork": true,
                "containers": [{
                    "name": "kube-apiserver",
                    "image": "registry.k8s.io/kube-apiserver:v1.31.2",
                    "command": command
                }]
            },
            "status": {"phase": "Running"}
        })
    }

    #[test]
    fn flags_of_each_kubeadm_apiserver() {
        let list = pods(json!([
            kubeadm("cp-1", &[
                "--encryption-provider-config=/etc/kubernetes/enc/encryption-config.yaml",
                "--audit-policy-file=/etc/kubernetes/audit/policy.yaml",
                "--audit-log-path", "/var/log/kubernetes/audit/audit.log",
            ]),
            kubeadm("cp-2", &[]),
            {"metadata": {"name": "coredns-7db6d8ff4d-2xqlj", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
             "spec": {"containers": [{"name": "coredns", "image": "coredns:1.11.1", "args": ["-conf", "/etc/coredns/Corefile"]}]}},
            {"metadata": {"name": "kube-apiserver-fake", "namespace": "shop", "labels": {"component": "kube-apiserver"}},
             "spec": {"containers": [{"name": "kube-apiserver", "image": "x", "command": ["--encryption-provider-config=/x"]}]}}
        ]));
        assert_eq!(
            apiserver_flags(&list).unwrap(),
            [
                json!({"pod": "kube-system/kube-apiserver-cp-1",
                       "encryption_provider_config": "/etc/kubernetes/enc/encryption-config.yaml",
                       "audit_policy_file": "/etc/kubernetes/audit/policy.yaml",
                       "audit_log_path": "/var/log/kubernetes/audit/audit.log",
                       "audit_webhook_config_file": null}),
                json!({"pod": "kube-system/kube-apiserver-cp-2",
                       "encryption_provider_config": null,
                       "audit_policy_file": null,
                       "audit_log_path": null,
                       "audit_webhook_config_file": null}),
            ]
        );
    }

    #[test]
    fn a_managed_control_plane_is_unavailable_with_the_reason() {
        let list = pods(json!([
            {"metadata": {"name": "kube-proxy-7x9kq", "namespace": "kube-system", "labels": {"k8s-app": "kube-proxy"}},
             "spec": {"containers": [{"name": "kube-proxy", "image": "kube-proxy:v1.31.2"}]}, "status": {"phase": "Running"}}
        ]));
        let err = apiserver_flags(&list).unwrap_err();
        assert!(err.starts_with("no kube-apiserver pod runs in kube-system"), "{err}");
    }

    #[test]
    fn the_last_flag_wins_and_prefixes_are_not_flags() {
        let words: Vec<String> = [
            "--audit-log-path=/a",
            "--audit-log-path-extra=/b",
            "--audit-log-path",
            "/c",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(flag_value(&words, "--audit-log-path").as_deref(), Some("/c"));
        assert_eq!(flag_value(&words, "--audit-policy-file"), None);
    }
}
