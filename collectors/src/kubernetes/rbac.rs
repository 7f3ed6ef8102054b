//! RBAC: who holds `cluster-admin` cluster-wide, and which roles grant every verb or every
//! resource.

use std::sync::Arc;

use async_trait::async_trait;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role};
use serde_json::{Value, json};

use super::{Shared, call, list};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "kubernetes.rbac.cluster_admin_subjects",
        value_type: ValueType::ObjectList,
        meaning: "Subjects bound to the `cluster-admin` ClusterRole by a ClusterRoleBinding: `binding`, `kind` (User, Group, ServiceAccount), `name`, `namespace` (service accounts).",
        source: "GET /apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        context_only: None,
    },
    EvidenceSpec {
        id: "kubernetes.rbac.wildcard_roles",
        value_type: ValueType::ObjectList,
        meaning: "ClusterRoles and Roles with a rule granting every verb or every resource (`*`): `kind`, `namespace` (Roles), `name`, `wildcard_verbs`, `wildcard_resources`.",
        source: "GET /apis/rbac.authorization.k8s.io/v1/clusterroles, GET /apis/rbac.authorization.k8s.io/v1/roles",
        context_only: None,
    },
];

const BINDINGS: &str = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings";
const CLUSTER_ROLES: &str = "/apis/rbac.authorization.k8s.io/v1/clusterroles";
const ROLES: &str = "/apis/rbac.authorization.k8s.io/v1/roles";

/// The collector.
pub struct Rbac(pub(super) Arc<Shared>);

fn cluster_admin_subjects(bindings: &[ClusterRoleBinding]) -> Vec<Value> {
    let mut out = Vec::new();
    for b in bindings {
        if b.role_ref.kind != "ClusterRole" || b.role_ref.name != "cluster-admin" {
            continue;
        }
        for s in b.subjects.iter().flatten() {
            let mut subject = json!({
                "binding": b.metadata.name,
                "kind": s.kind,
                "name": s.name,
            });
            if let Some(ns) = &s.namespace {
                subject["namespace"] = json!(ns);
            }
            out.push(subject);
        }
    }
    out
}

/// `kind`/`namespace`/`name` and which wildcards the role's rules grant, if any.
fn wildcard_role(
    kind: &str,
    namespace: Option<&str>,
    name: Option<&str>,
    rules: Option<&Vec<PolicyRule>>,
) -> Option<Value> {
    let star = |list: Option<&Vec<String>>| list.is_some_and(|l| l.iter().any(|v| v == "*"));
    let rules = rules.map(Vec::as_slice).unwrap_or_default();
    let verbs = rules.iter().any(|r| r.verbs.iter().any(|v| v == "*"));
    let resources = rules.iter().any(|r| star(r.resources.as_ref()));
    if !verbs && !resources {
        return None;
    }
    let mut role = json!({
        "kind": kind,
        "name": name,
        "wildcard_verbs": verbs,
        "wildcard_resources": resources,
    });
    if let Some(ns) = namespace {
        role["namespace"] = json!(ns);
    }
    Some(role)
}

#[async_trait]
impl Collector for Rbac {
    fn name(&self) -> &'static str {
        "kubernetes.rbac"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let (_run, client) = self.0.client().await?;
        let config = &self.0.config;
        let bindings = kube::Api::<ClusterRoleBinding>::all(client.clone());
        let admins = list(ctx, config, BINDINGS, &bindings)
            .await
            .map(|b| cluster_admin_subjects(&b));
        let cluster_roles = kube::Api::<ClusterRole>::all(client.clone());
        let roles = kube::Api::<Role>::all(client);
        let wildcards = async {
            let mut out: Vec<Value> = list(ctx, config, CLUSTER_ROLES, &cluster_roles)
                .await?
                .iter()
                .filter_map(|r| {
                    wildcard_role(
                        "ClusterRole",
                        None,
                        r.metadata.name.as_deref(),
                        r.rules.as_ref(),
                    )
                })
                .collect();
            out.extend(
                list(ctx, config, ROLES, &roles)
                    .await?
                    .iter()
                    .filter_map(|r| {
                        wildcard_role(
                            "Role",
                            r.metadata.namespace.as_deref(),
                            r.metadata.name.as_deref(),
                            r.rules.as_ref(),
                        )
                    }),
            );
            Ok::<_, String>(out)
        }
        .await;
        Ok(vec![
            fact(
                "kubernetes.rbac.cluster_admin_subjects",
                call(BINDINGS),
                admins,
            ),
            fact(
                "kubernetes.rbac.wildcard_roles",
                vouch_evidence::Source::Api(format!("GET {CLUSTER_ROLES}, GET {ROLES}")),
                wildcards,
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cluster_admin_cluster_role_bindings_count() {
        let bindings: Vec<ClusterRoleBinding> = serde_json::from_value(json!([
            {"metadata": {"name": "cluster-admin"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
             "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}]},
            {"metadata": {"name": "ci"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
             "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": "ci"}]},
            {"metadata": {"name": "view"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
             "subjects": [{"kind": "User", "name": "alice"}]},
            {"metadata": {"name": "empty"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}}
        ]))
        .unwrap();
        assert_eq!(
            cluster_admin_subjects(&bindings),
            [
                json!({"binding": "cluster-admin", "kind": "Group", "name": "system:masters"}),
                json!({"binding": "ci", "kind": "ServiceAccount", "name": "deployer", "namespace": "ci"}),
            ]
        );
    }

    #[test]
    fn wildcards_in_verbs_or_resources_are_found() {
        let rules = |v: Value| -> Vec<PolicyRule> { serde_json::from_value(v).unwrap() };
        let star_verbs = rules(json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}]));
        assert_eq!(
            wildcard_role("Role", Some("dev"), Some("r"), Some(&star_verbs)),
            Some(
                json!({"kind": "Role", "namespace": "dev", "name": "r", "wildcard_verbs": true, "wildcard_resources": false})
            )
        );
        let star_resources =
            rules(json!([{"apiGroups": ["apps"], "resources": ["*"], "verbs": ["get"]}]));
        assert_eq!(
            wildcard_role("ClusterRole", None, Some("c"), Some(&star_resources)).unwrap()["wildcard_resources"],
            json!(true)
        );
        let narrow =
            rules(json!([{"apiGroups": ["*"], "resources": ["pods"], "verbs": ["get", "list"]}]));
        assert_eq!(
            wildcard_role("ClusterRole", None, Some("n"), Some(&narrow)),
            None
        );
        assert_eq!(wildcard_role("ClusterRole", None, Some("none"), None), None);
    }
}
