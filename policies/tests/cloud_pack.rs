//! The built-in GitHub, Kubernetes and AWS policies on evidence exactly as the collectors
//! produce it: the collectors' expected fixtures (`tests/fixtures/github/*.expected`,
//! `tests/fixtures/kubernetes/*.expected`, `tests/fixtures/okta/*.expected`,
//! `tests/fixtures/entra/*.expected`, `tests/fixtures/google_workspace/*.expected`) and the moto
//! account that `collectors/tests/aws.rs`
//! builds (`policies/tests/fixtures/aws-moto-account.json`), verdict by verdict.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use vouch_evidence::{Asset, AssetKind, EvidenceItem, Source, Timestamp};
use vouch_policies::{OrgConfig, PolicyPack, SnapshotView, Status};

use Status::{Error, Fail, NotApplicable, Pass};

/// The workspace's `tests/fixtures`.
fn workspace_fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// Items in the fixtures' form, `{id: {"ok": value} | {"unavailable": reason}}`.
fn items(doc: &Value) -> BTreeMap<String, EvidenceItem> {
    let source = Source::Api("fixture".into());
    doc.as_object()
        .expect("an object of items")
        .iter()
        .map(|(id, item)| {
            let item = match (item.get("ok"), item.get("unavailable")) {
                (Some(v), None) => EvidenceItem::ok(v.clone(), source.clone()),
                (None, Some(Value::String(reason))) => {
                    EvidenceItem::unavailable(source.clone(), reason.clone())
                }
                _ => panic!("{id}: neither ok nor unavailable: {item}"),
            };
            (id.clone(), item)
        })
        .collect()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every item of a collector fixture's `.expected` directory (one file per area).
fn expected_dir(dir: &str) -> BTreeMap<String, EvidenceItem> {
    let dir = workspace_fixtures().join(dir);
    let mut all = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") && !path.ends_with("asset.json") {
            all.extend(items(&read_json(&path)));
        }
    }
    assert!(!all.is_empty(), "no evidence in {}", dir.display());
    all
}

/// The moto account: when collected, and its items.
fn moto_account() -> (Timestamp, BTreeMap<String, EvidenceItem>) {
    let doc = read_json(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws-moto-account.json"),
    );
    let at = doc["collected_at"].as_str().unwrap().parse().unwrap();
    (at, items(&doc["evidence"]))
}

fn pii_config() -> OrgConfig {
    OrgConfig {
        pii_tag_keys: vec!["data-class".into()],
        allowed_jurisdictions: vec!["eu".into()],
        ..OrgConfig::default()
    }
}

/// The verdict and reason of every policy of `kind` on `evidence`.
fn judge(
    pack: &PolicyPack,
    kind: AssetKind,
    at: Timestamp,
    evidence: &BTreeMap<String, EvidenceItem>,
) -> BTreeMap<String, (Status, String)> {
    let asset = Asset {
        kind,
        id: "fixture".into(),
        name: "fixture".into(),
    };
    pack.evaluate(&SnapshotView {
        asset: &asset,
        collected_at: at,
        evidence,
    })
    .into_iter()
    .filter(|r| pack.policy(&r.policy).unwrap().asset_kinds.contains(&kind))
    .map(|r| (r.policy, (r.status, r.reason)))
    .collect()
}

/// Checks every verdict against `expected` (policy, status, a piece of the reason), which must
/// name every policy of the kind.
fn check(verdicts: &BTreeMap<String, (Status, String)>, expected: &[(&str, Status, &str)]) {
    let named: Vec<&str> = expected.iter().map(|(p, _, _)| *p).collect();
    let judged: Vec<&str> = verdicts.keys().map(String::as_str).collect();
    let mut sorted = named.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted, judged,
        "the table must name every policy of the kind"
    );
    let wrong: Vec<String> = expected
        .iter()
        .filter_map(|(policy, status, part)| {
            let (got, reason) = &verdicts[*policy];
            (got != status || !reason.contains(part)).then(|| {
                format!(
                    "{policy}: expected {} with {part:?}, got {}: {reason}",
                    status.as_str(),
                    got.as_str()
                )
            })
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Checks the built-in pack's verdicts on a collector fixture collected at `at`.
fn check_fixture(kind: AssetKind, at: &str, dir: &str, expected: &[(&str, Status, &str)]) {
    let at = at.parse().unwrap();
    check(
        &judge(&PolicyPack::builtin(), kind, at, &expected_dir(dir)),
        expected,
    );
}

/// With every listed fact unavailable, no policy of `kind` passes: each is an error naming the
/// unavailable evidence, or (`not_applicable_ok`) not applicable by the organisation's settings.
fn never_passes_without_evidence(pack: &PolicyPack, kind: AssetKind, not_applicable_ok: bool) {
    let ids: Vec<&String> = pack
        .policies()
        .iter()
        .filter(|p| p.asset_kinds.contains(&kind))
        .flat_map(|p| &p.evidence)
        .collect();
    let unavailable: BTreeMap<String, EvidenceItem> = ids
        .iter()
        .map(|id| {
            let item =
                EvidenceItem::unavailable(Source::Api("fixture".into()), "HTTP 403: Forbidden");
            (id.to_string(), item)
        })
        .collect();
    let at = "2026-01-01T00:00:00Z".parse().unwrap();
    for evidence in [&unavailable, &BTreeMap::new()] {
        for (policy, (status, reason)) in judge(pack, kind, at, evidence) {
            let ok = match status {
                Error => reason.starts_with("evidence unavailable: "),
                NotApplicable => not_applicable_ok,
                _ => false,
            };
            assert!(ok, "{policy}: {} {reason}", status.as_str());
        }
    }
}

#[test]
fn acme_corp_as_collected() {
    check_fixture(
        AssetKind::GithubOrg,
        "2026-01-01T00:00:00Z",
        "github/acme-corp.expected",
        &[
            (
                "github.dependabot.no_critical_high_alerts",
                Fail,
                "1 critical and 1 high Dependabot alert(s) open: api (1 critical, 1 high)",
            ),
            ("github.org.all_members_two_factor", Pass, "all 4 members"),
            (
                "github.org.default_permission_restricted",
                Pass,
                "base permission is read",
            ),
            (
                "github.org.no_outside_collaborators",
                Fail,
                "2 outside collaborator(s)",
            ),
            (
                "github.org.two_factor_required",
                Pass,
                "requires two-factor",
            ),
            (
                "github.org.owners_limited",
                Pass,
                "the organisation has 1 owner(s) (at most 3)",
            ),
            (
                "github.org.saml_sso_enforced",
                Fail,
                "1 member(s) have no SAML identity linked: SAML SSO is not enforced for everyone",
            ),
            (
                "github.repos.code_owner_review_required",
                Fail,
                "do not require a code owner's review: web",
            ),
            (
                "github.repos.stale_reviews_dismissed",
                Fail,
                "keep approvals after new commits: web",
            ),
            (
                "github.repos.status_checks_required",
                Fail,
                "require no status check: web, infra",
            ),
            (
                "github.repos.admins_held_to_protection",
                Error,
                "web (rulesets only",
            ),
            (
                "github.repos.codeowners_present",
                Fail,
                "without a CODEOWNERS file: infra",
            ),
            (
                "github.repos.default_branch_protected",
                Fail,
                "nor a ruleset: infra",
            ),
            (
                "github.repos.dependabot_alerts_enabled",
                Fail,
                "Dependabot alerts off: web",
            ),
            (
                "github.repos.force_push_blocked",
                Fail,
                "accept force pushes: infra",
            ),
            (
                "github.repos.push_protection_enabled",
                Fail,
                "not checked for secrets: web, infra",
            ),
            (
                "github.repos.reviews_required",
                Fail,
                "without an approving review: infra",
            ),
            (
                "github.repos.secret_scanning_enabled",
                Fail,
                "secret scanning off: infra",
            ),
        ],
    );
}

#[test]
fn acme_labs_seen_by_a_member_token_gives_errors_not_passes() {
    let owner_only = "evidence unavailable: github.org.";
    let unknown = "evidence unavailable: github.repos.";
    check_fixture(
        AssetKind::GithubOrg,
        "2026-01-01T00:00:00Z",
        "github/acme-labs.expected",
        &[
            (
                "github.dependabot.no_critical_high_alerts",
                Error,
                "rate limited until 2100-01-01T00:00:00Z",
            ),
            (
                "github.org.all_members_two_factor",
                Error,
                "Only owners can use this filter",
            ),
            (
                "github.org.default_permission_restricted",
                Error,
                owner_only,
            ),
            ("github.org.no_outside_collaborators", Error, owner_only),
            ("github.org.two_factor_required", Error, owner_only),
            // Members may list the owners.
            ("github.org.owners_limited", Pass, "1 owner(s)"),
            (
                "github.org.saml_sso_enforced",
                Error,
                "evidence unavailable: github.org.saml_sso_configured",
            ),
            (
                "github.repos.code_owner_review_required",
                Error,
                "unknown for: docs (protection unreadable: GET /repos/acme-labs/docs/branches/main/protection: HTTP 403",
            ),
            (
                "github.repos.stale_reviews_dismissed",
                Error,
                "unknown for: docs (protection unreadable: GET /repos/acme-labs/docs/branches/main/protection: HTTP 403",
            ),
            (
                "github.repos.status_checks_required",
                Error,
                "unknown for: docs (protection unreadable: GET /repos/acme-labs/docs/branches/main/protection: HTTP 403",
            ),
            (
                "github.repos.admins_held_to_protection",
                Error,
                "docs (protection unreadable: GET /repos/acme-labs/docs/branches/main/protection: HTTP 403",
            ),
            // The one summary the member's token could establish.
            (
                "github.repos.codeowners_present",
                Pass,
                "each of the 1 non-archived repositories",
            ),
            ("github.repos.default_branch_protected", Error, unknown),
            ("github.repos.dependabot_alerts_enabled", Error, unknown),
            ("github.repos.force_push_blocked", Error, unknown),
            ("github.repos.push_protection_enabled", Error, unknown),
            ("github.repos.reviews_required", Error, unknown),
            ("github.repos.secret_scanning_enabled", Error, unknown),
        ],
    );
}

#[test]
fn prod_eu_cluster_as_collected() {
    // After 1.32's end of maintenance (2026-02-28), before 1.33's (2026-06-28).
    check_fixture(
        AssetKind::KubernetesCluster,
        "2026-03-15T00:00:00Z",
        "kubernetes/prod-eu.expected",
        &[
            (
                "kubernetes.cluster.version_maintained",
                Pass,
                "v1.33.4, maintained upstream until 2026-06-28",
            ),
            (
                "kubernetes.namespaces.network_policy_present",
                Error,
                "cannot list resource \"networkpolicies\"",
            ),
            (
                "kubernetes.namespaces.default_deny_ingress",
                Error,
                "cannot list resource \"networkpolicies\"",
            ),
            // A managed control plane: its API server's flags are not visible, no verdict.
            (
                "kubernetes.apiserver.audit_logging",
                Error,
                "no kube-apiserver pod runs in kube-system",
            ),
            (
                "kubernetes.namespaces.pod_security_enforced",
                Fail,
                "batch (no enforce label), default (no enforce label)",
            ),
            (
                "kubernetes.secrets.encrypted_at_rest",
                Error,
                "no kube-apiserver pod runs in kube-system",
            ),
            (
                "kubernetes.nodes.kubelet_versions_maintained",
                Fail,
                "ip-10-0-3-13.eu-west-1.compute.internal (v1.32.7, ended on 2026-02-28)",
            ),
            (
                "kubernetes.pods.images_pinned_by_digest",
                Fail,
                "monitoring/node-exporter-x7v2b/node-exporter (quay.io/prometheus/node-exporter:v1.9.1)",
            ),
            (
                "kubernetes.pods.no_host_namespaces",
                Fail,
                "(hostPID) namespace: monitoring/node-exporter-x7v2b",
            ),
            (
                "kubernetes.pods.no_host_path_volumes",
                Fail,
                "monitoring/node-exporter-x7v2b (root: /)",
            ),
            (
                "kubernetes.pods.no_privileged_containers",
                Pass,
                "(1 in system namespaces left out)",
            ),
            (
                "kubernetes.pods.no_root_containers",
                Fail,
                "shop/worker-5d8b9c7f6-z8m2w/migrate",
            ),
            (
                "kubernetes.pods.resource_limits_set",
                Pass,
                "(2 in system namespaces left out)",
            ),
            (
                "kubernetes.pods.run_as_non_root_enforced",
                Fail,
                "shop/worker-5d8b9c7f6-z8m2w/migrate",
            ),
            (
                "kubernetes.rbac.cluster_admin_restricted",
                Fail,
                "ServiceAccount ci/deployer (binding ci-deployer)",
            ),
            (
                "kubernetes.rbac.no_wildcard_roles",
                Fail,
                "Role shop/web-deployer (every verb)",
            ),
            (
                "kubernetes.secrets.no_legacy_service_account_tokens",
                Fail,
                "1 Secret(s)",
            ),
            (
                "kubernetes.service_accounts.no_automounted_tokens",
                Fail,
                "shop/worker-5d8b9c7f6-z8m2w",
            ),
        ],
    );
}

#[test]
fn the_moto_account_as_collected_with_pii_settings() {
    let (at, evidence) = moto_account();
    let mut pack = PolicyPack::builtin();
    pack.set_config(pii_config()).unwrap();
    let verdicts = judge(&pack, AssetKind::AwsAccount, at, &evidence);
    let no_root_row = "the credential report has no <root_account> row";
    check(
        &verdicts,
        &[
            (
                "aws.backup.resources_covered",
                Error,
                "evidence unavailable: aws.backup.resources",
            ),
            (
                "aws.cloudtrail.log_file_validation",
                Pass,
                "with log file validation: all-regions",
            ),
            (
                "aws.cloudtrail.multi_region_logging",
                Pass,
                "multi-region trails logging: all-regions",
            ),
            (
                "aws.eks.control_plane_logging",
                Fail,
                "us-east-1/moto-dev (no api, audit, authenticator)",
            ),
            (
                "aws.eks.endpoint_not_public",
                Fail,
                "accepts the whole internet: us-east-1/moto-dev",
            ),
            (
                "aws.eks.secrets_encrypted",
                Fail,
                "do not encrypt Secrets with a KMS key: us-east-1/moto-dev",
            ),
            (
                "aws.guardduty.enabled",
                Fail,
                "without an enabled GuardDuty detector: eu-west-1 (none)",
            ),
            // moto answers no CloudWatch call: no verdict on the alarms, never a pass.
            (
                "aws.monitoring.cloudtrail_alarms",
                Error,
                "evidence unavailable: aws.monitoring.event_alarms",
            ),
            (
                "aws.securityhub.enabled",
                Pass,
                "Security Hub is enabled in each of the 2 region(s) collected",
            ),
            (
                "aws.ec2.default_security_groups_closed",
                Fail,
                "default security groups with rules: us-east-1/sg-0e4f5a6b7c8d9e0f1 (vpc-0e1d2c3b)",
            ),
            (
                "aws.ec2.ebs_encryption_by_default",
                Fail,
                "not encrypted by default: us-east-1",
            ),
            // One volume snapshotted minutes before collection, three never.
            (
                "aws.ec2.ebs_snapshots_recent",
                Fail,
                "EBS volumes never snapshotted: us-east-1/vol-0a1b2c3d4e5f60718, eu-west-1/vol-0c3d4e5f607182930, eu-west-1/vol-0d4e5f60718293041",
            ),
            (
                "aws.ec2.imdsv2_required",
                Fail,
                "accepts IMDSv1: eu-west-1/i-0a7c3e5b9d1f24680",
            ),
            (
                "aws.ec2.no_open_admin_ports",
                Fail,
                "(open-all-v6: all traffic from ::/0)",
            ),
            (
                "aws.ec2.volumes_encrypted",
                Fail,
                "us-east-1/vol-0a1b2c3d4e5f60718",
            ),
            (
                "aws.ec2.vpc_flow_logs",
                Fail,
                "VPCs without an active flow log: us-east-1/vpc-0e1d2c3b",
            ),
            (
                "aws.iam.access_keys_rotated",
                Pass,
                "no active access key is older than 90 days",
            ),
            ("aws.iam.console_users_have_mfa", Fail, "without MFA: alice"),
            (
                "aws.iam.no_direct_admin_users",
                Fail,
                "attached directly: user/dave",
            ),
            ("aws.iam.no_root_access_keys", Error, no_root_row),
            (
                "aws.iam.password_policy_strong",
                Pass,
                "at least 14 characters",
            ),
            ("aws.iam.root_has_mfa", Error, no_root_row),
            (
                "aws.iam.unused_credentials_removed",
                Pass,
                "used within 90 days",
            ),
            (
                "aws.kms.key_rotation_enabled",
                Fail,
                "us-east-1/2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
            ),
            (
                "aws.privacy.pii_buckets_tls_only",
                Pass,
                "vouch-tls-123456789012",
            ),
            (
                "aws.privacy.pii_encrypted_at_rest",
                Fail,
                "unencrypted storage: eu-west-1/legacy-db",
            ),
            (
                "aws.privacy.pii_location_allowed",
                Fail,
                "DB instance us-east-1/orders-db (us-east-1: us)",
            ),
            (
                "aws.privacy.pii_retention_limited",
                Pass,
                "vouch-tls-123456789012 (365 days)",
            ),
            (
                "aws.rds.deletion_protection",
                Fail,
                "without deletion protection: us-east-1/public-db, eu-west-1/legacy-db",
            ),
            (
                "aws.rds.automated_backups",
                Fail,
                "fewer than 7 days: us-east-1/public-db (1-day retention); DB instances without automated backups: eu-west-1/legacy-db",
            ),
            (
                "aws.rds.not_publicly_accessible",
                Fail,
                "us-east-1/public-db",
            ),
            ("aws.rds.storage_encrypted", Fail, "eu-west-1/legacy-db"),
            (
                "aws.s3.access_logging_enabled",
                Fail,
                "vouch-plain-123456789012",
            ),
            (
                "aws.s3.account_public_access_blocked",
                Fail,
                "ignore_public_acls, restrict_public_buckets",
            ),
            (
                "aws.s3.default_encryption",
                Fail,
                "vouch-plain-123456789012, vouch-public-123456789012",
            ),
            (
                "aws.s3.no_public_bucket_policies",
                Fail,
                "vouch-public-123456789012",
            ),
            ("aws.s3.tls_only", Fail, "vouch-kms-123456789012"),
            (
                "aws.s3.versioning_enabled",
                Fail,
                "vouch-plain-123456789012",
            ),
        ],
    );
}

#[test]
fn okta_acme_as_collected() {
    check_fixture(
        AssetKind::OktaOrg,
        "2025-11-24T08:00:00Z",
        "okta/acme.expected",
        &[
            (
                "okta.admins.deactivated_without_roles",
                Fail,
                "still holding admin roles: erin@acme.example",
            ),
            (
                "okta.admins.phishing_resistant_factors",
                Fail,
                "without a phishing-resistant factor: bob@acme.example, carol@acme.example",
            ),
            (
                "okta.admins.strong_factors",
                Fail,
                "1 of the 5 administrators can sign in without a strong factor: bob@acme.example",
            ),
            (
                "okta.policies.mfa_enforced",
                Pass,
                "the authentication policies allow no rule with one factor",
            ),
            (
                "okta.policies.password_strong",
                Fail,
                "password policy \"Default Policy\": 8 characters, below 12",
            ),
            (
                "okta.users.deactivated_without_app_assignments",
                Fail,
                "erin@acme.example, judy@acme.example",
            ),
            (
                "okta.users.second_factor_enrolled",
                Fail,
                "2 user(s) who can sign in have no second factor: dave@acme.example, frank@acme.example",
            ),
            (
                "okta.users.unused_accounts_removed",
                Fail,
                "over 90 days: carol@acme.example, frank@acme.example",
            ),
        ],
    );
}

#[test]
fn okta_globex_with_a_users_only_token_gives_errors_not_passes() {
    let roles = "evidence unavailable: okta.admins.";
    let policies = "evidence unavailable: okta.policies.";
    check_fixture(
        AssetKind::OktaOrg,
        "2025-11-24T08:00:00Z",
        "okta/globex.expected",
        &[
            ("okta.admins.deactivated_without_roles", Error, roles),
            ("okta.admins.phishing_resistant_factors", Error, roles),
            ("okta.admins.strong_factors", Error, roles),
            ("okta.policies.mfa_enforced", Error, policies),
            ("okta.policies.password_strong", Error, policies),
            (
                "okta.users.deactivated_without_app_assignments",
                Error,
                "okta.apps.read",
            ),
            (
                "okta.users.second_factor_enrolled",
                Pass,
                "every user who can sign in has a second factor (3 users",
            ),
            ("okta.users.unused_accounts_removed", Pass, "within 90 days"),
        ],
    );
}

#[test]
fn entra_acme_as_collected() {
    check_fixture(
        AssetKind::EntraTenant,
        "2025-11-24T08:00:00Z",
        "entra/acme.expected",
        &[
            (
                "entra.admins.disabled_without_roles",
                Fail,
                "still holding directory roles: erin@acme.example, ivan@acme.example",
            ),
            (
                "entra.admins.phishing_resistant_factors",
                Fail,
                "without a phishing-resistant method: bob@acme.example, carol@acme.example, dave@acme.example, frank@acme.example, kim@acme.example",
            ),
            (
                "entra.admins.strong_factors",
                Fail,
                "4 of the 10 administrators can sign in without a strong method: bob@acme.example, dave@acme.example, frank@acme.example, kim@acme.example",
            ),
            (
                "entra.policies.lockout_threshold",
                Fail,
                "locks after 8 failed attempts (the tenant's setting), more than 5",
            ),
            (
                "entra.policies.mfa_enforced",
                Pass,
                "conditional access policy Require MFA for all users (excluded accounts, to review as emergency access accounts: breakglass@acme.example)",
            ),
            (
                "entra.users.disabled_without_app_assignments",
                Fail,
                "erin@acme.example, judy@acme.example",
            ),
            (
                "entra.users.second_factor_enrolled",
                Fail,
                "3 enabled member(s) are not registered for multifactor authentication: dave@acme.example, frank@acme.example, kim@acme.example",
            ),
            (
                "entra.users.unused_accounts_removed",
                Fail,
                "over 90 days: carol@acme.example, frank@acme.example, grace_partner.example#EXT#@acmecorp.onmicrosoft.com",
            ),
        ],
    );
}

#[test]
fn entra_globex_without_a_licence_gives_errors_not_passes() {
    let roles = "evidence unavailable: entra.admins.";
    check_fixture(
        AssetKind::EntraTenant,
        "2025-11-24T08:00:00Z",
        "entra/globex.expected",
        &[
            ("entra.admins.disabled_without_roles", Error, roles),
            ("entra.admins.phishing_resistant_factors", Error, roles),
            ("entra.admins.strong_factors", Error, roles),
            (
                "entra.policies.lockout_threshold",
                Error,
                "Directory.Read.All",
            ),
            (
                "entra.policies.mfa_enforced",
                Pass,
                "the security defaults are on",
            ),
            (
                "entra.users.disabled_without_app_assignments",
                Error,
                "Directory.Read.All",
            ),
            (
                "entra.users.second_factor_enrolled",
                Error,
                "P1 or P2 licence",
            ),
            (
                "entra.users.unused_accounts_removed",
                Error,
                "P1 or P2 licence",
            ),
        ],
    );
}

#[test]
fn google_workspace_acme_as_collected() {
    check_fixture(
        AssetKind::GoogleWorkspace,
        "2025-11-24T08:00:00Z",
        "google_workspace/acme.expected",
        &[
            (
                "google_workspace.admins.phishing_resistant_factors",
                Fail,
                "active administrators without a security key or passkey on 2025-11-21: bob@acme.example, dave@acme.example",
            ),
            (
                "google_workspace.admins.second_factor_enforced",
                Fail,
                "active administrators not enrolled in 2-Step Verification: dave@acme.example",
            ),
            (
                "google_workspace.admins.suspended_without_roles",
                Fail,
                "still holding admin roles: erin@acme.example, heidi@acme.example",
            ),
            (
                "google_workspace.policies.mfa_enforced",
                Fail,
                "2-Step Verification is not enforced for 3 active user(s), who may sign in with a password alone: bob@acme.example, frank@acme.example, ivan@acme.example",
            ),
            (
                "google_workspace.policies.password_strong",
                Fail,
                "password policy of orgUnits/03ph8a2z3k9s2pq (ADMIN): 8 characters, below 12, not enforced at the next sign-in, reuse allowed, strength WEAK, not STRONG",
            ),
            (
                "google_workspace.users.second_factor_enrolled",
                Fail,
                "3 active user(s) are not enrolled in 2-Step Verification: dave@acme.example, frank@acme.example, kim@acme.example",
            ),
            (
                "google_workspace.users.unused_accounts_removed",
                Fail,
                "over 90 days: carol@acme.example, frank@acme.example",
            ),
        ],
    );
}

#[test]
fn google_workspace_globex_without_the_group_members_scope_gives_errors_not_passes() {
    let admins = "evidence unavailable: google_workspace.admins.";
    check_fixture(
        AssetKind::GoogleWorkspace,
        "2025-11-24T08:00:00Z",
        "google_workspace/globex.expected",
        &[
            (
                "google_workspace.admins.phishing_resistant_factors",
                Error,
                admins,
            ),
            (
                "google_workspace.admins.second_factor_enforced",
                Error,
                admins,
            ),
            (
                "google_workspace.admins.suspended_without_roles",
                Error,
                admins,
            ),
            (
                "google_workspace.policies.mfa_enforced",
                Pass,
                "every active user is held to 2-Step Verification",
            ),
            (
                "google_workspace.policies.password_strong",
                Error,
                "evidence unavailable: google_workspace.policies.password",
            ),
            (
                "google_workspace.users.second_factor_enrolled",
                Pass,
                "every active user is enrolled in 2-Step Verification (4 users in the account)",
            ),
            (
                "google_workspace.users.unused_accounts_removed",
                Pass,
                "within 90 days",
            ),
        ],
    );
}

#[test]
fn privacy_policies_need_the_organisations_settings() {
    let (at, evidence) = moto_account();
    let verdicts = judge(&PolicyPack::builtin(), AssetKind::AwsAccount, at, &evidence);
    let privacy: Vec<_> = verdicts
        .iter()
        .filter(|(p, _)| p.starts_with("aws.privacy."))
        .collect();
    assert_eq!(privacy.len(), 4, "{privacy:?}");
    for (policy, (status, reason)) in privacy {
        assert_eq!(*status, NotApplicable, "{policy}: {reason}");
        assert!(reason.contains("pii_tag_keys"), "{policy}: {reason}");
    }
}

#[test]
fn every_listed_evidence_id_is_one_the_collectors_emit() {
    let pack = PolicyPack::builtin();
    let (_, aws) = moto_account();
    for (kind, emitted) in [
        (
            AssetKind::GithubOrg,
            expected_dir("github/acme-corp.expected"),
        ),
        (
            AssetKind::KubernetesCluster,
            expected_dir("kubernetes/prod-eu.expected"),
        ),
        (AssetKind::AwsAccount, aws),
        (AssetKind::OktaOrg, expected_dir("okta/acme.expected")),
        (AssetKind::EntraTenant, expected_dir("entra/acme.expected")),
        (
            AssetKind::GoogleWorkspace,
            expected_dir("google_workspace/acme.expected"),
        ),
    ] {
        let policies: Vec<_> = pack
            .policies()
            .iter()
            .filter(|p| p.asset_kinds.contains(&kind))
            .collect();
        let least = match kind {
            AssetKind::OktaOrg | AssetKind::EntraTenant => 8,
            AssetKind::GoogleWorkspace => 6,
            _ => 12,
        };
        assert!(
            policies.len() >= least,
            "{kind}: {} policies",
            policies.len()
        );
        for p in policies {
            for id in &p.evidence {
                assert!(
                    emitted.contains_key(id),
                    "{}: {id} is not in the {kind} fixture",
                    p.id
                );
            }
        }
    }
}

#[test]
fn without_evidence_no_cloud_or_code_policy_passes() {
    let mut pack = PolicyPack::builtin();
    never_passes_without_evidence(&pack, AssetKind::GithubOrg, false);
    never_passes_without_evidence(&pack, AssetKind::KubernetesCluster, false);
    never_passes_without_evidence(&pack, AssetKind::OktaOrg, false);
    never_passes_without_evidence(&pack, AssetKind::EntraTenant, false);
    never_passes_without_evidence(&pack, AssetKind::GoogleWorkspace, false);
    // Without PII settings the privacy policies do not apply, facts or not.
    never_passes_without_evidence(&pack, AssetKind::AwsAccount, true);
    pack.set_config(pii_config()).unwrap();
    never_passes_without_evidence(&pack, AssetKind::AwsAccount, false);
}
