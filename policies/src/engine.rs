//! Evaluating a pack on one snapshot: per policy, pass, fail, not applicable or error, with a
//! reason and the evidence used.
//!
//! Each policy sees the input document
//! `{"asset": {kind, id, name}, "collected_at": "…", "evidence": {id: value}, "unavailable":
//! {id: reason}}`, holding only the evidence ids its metadata lists (so a policy cannot read a
//! fact the engine does not know it depends on), and the organisation settings as
//! `data.vouch.config`. From the rules of its package the engine derives the verdict, in this
//! order:
//!
//! 1. the asset's kind is not among the policy's `asset_kinds`: **not_applicable**;
//! 2. Rego evaluation fails: **error** with the message (or the unavailable evidence, when some
//!    is, since that is the cause to fix);
//! 3. `not_applicable` (a string: why) is defined: **not_applicable**, decided on the facts that
//!    are available (e.g. no SSH server installed);
//! 4. any listed evidence is unavailable or absent: **error**
//!    `evidence unavailable: host.x.y (reason)`; a missing fact never yields a pass;
//! 5. `inconclusive` (a string) is defined: **error** with that reason (the facts were read but
//!    cannot settle the question, e.g. a scan that stopped early);
//! 6. `deny` (a set of strings) is not empty: **fail**, the reasons joined;
//! 7. `allow` (a string: why it passes) is defined: **pass**;
//! 8. otherwise **error** `no verdict`: a policy must establish compliance positively, so
//!    evidence of an unexpected type cannot pass by default.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use vouch_evidence::{Asset, EvidenceItem, ItemStatus, Snapshot, Timestamp};

use crate::catalog::Role;
use crate::metadata::Policy;
use crate::pack::{PolicyPack, rego_error};

/// Organisation settings, visible to policies as `data.vouch.config`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrgConfig {
    /// Tag or label keys that mark a resource as holding PII (e.g. `data-classification`).
    pub pii_tag_keys: Vec<String>,
    /// Jurisdictions PII may be stored or transferred to (e.g. `eu`, `ch`).
    pub allowed_jurisdictions: Vec<String>,
    /// The organisation's role per privacy framework (`iso27701-2019` → controller).
    pub roles: BTreeMap<String, Role>,
    /// Thresholds of the built-in policies (`data.vouch.config.parameters`).
    pub parameters: PolicyParameters,
}

/// The organisation's thresholds for the built-in policies, visible to policies as
/// `data.vouch.config.parameters` (`[policies.organisation.parameters]` in the server's
/// configuration). Defaults are the CIS benchmarks' values. They are part of the settings a
/// kept pack judged with, so a stored result is re-derived with the thresholds that gave it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyParameters {
    /// Days of automated backups every RDS DB instance keeps (CIS AWS Foundations: 7).
    pub rds_backup_retention_days: u32,
    /// The most failed logins before an account locks (`deny` of pam_faillock; CIS: 5).
    pub lockout_max_attempts: u32,
    /// The longest a password may be used before it must change, in days (CIS: 365).
    pub password_max_days: u32,
    /// Kubernetes namespaces of the control plane and its add-ons, left out of the workload and
    /// namespace policies.
    pub kubernetes_system_namespaces: Vec<String>,
    /// The most owners a GitHub organisation may have (GitHub recommends at least two; no
    /// benchmark gives a maximum: 3 by default).
    pub github_max_owners: u32,
    /// The oldest an EBS volume's newest snapshot may be, in days (no benchmark value: 7).
    pub ebs_snapshot_max_age_days: u32,
    /// The oldest the newest AWS Backup recovery point of a volume or DB instance may be, in
    /// days (no benchmark value: 7).
    pub backup_max_age_days: u32,
}

impl Default for PolicyParameters {
    fn default() -> Self {
        PolicyParameters {
            rds_backup_retention_days: 7,
            lockout_max_attempts: 5,
            password_max_days: 365,
            kubernetes_system_namespaces: ["kube-system", "kube-public", "kube-node-lease"]
                .map(String::from)
                .to_vec(),
            github_max_owners: 3,
            ebs_snapshot_max_age_days: 7,
            backup_max_age_days: 7,
        }
    }
}

/// One parameter, for references and the control page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParameterInfo {
    /// Its key under `parameters`.
    pub name: &'static str,
    /// What it sets.
    pub meaning: &'static str,
}

/// Every parameter, in the order of [`PolicyParameters`]'s fields.
pub const PARAMETERS: &[ParameterInfo] = &[
    ParameterInfo {
        name: "rds_backup_retention_days",
        meaning: "days of automated backups each RDS DB instance keeps, at least (1–35; CIS: 7)",
    },
    ParameterInfo {
        name: "lockout_max_attempts",
        meaning: "failed logins before an account locks, at most (1–100; CIS: 5)",
    },
    ParameterInfo {
        name: "password_max_days",
        meaning: "days a password may be used before it must change, at most (1–99998; CIS: 365)",
    },
    ParameterInfo {
        name: "kubernetes_system_namespaces",
        meaning: "namespaces of the control plane and its add-ons, left out of namespace and \
                  workload policies",
    },
    ParameterInfo {
        name: "github_max_owners",
        meaning: "owners a GitHub organisation may have, at most (1–100; no benchmark gives one: 3)",
    },
    ParameterInfo {
        name: "ebs_snapshot_max_age_days",
        meaning: "days since an EBS volume's newest snapshot, at most (1–365; no benchmark value: 7)",
    },
    ParameterInfo {
        name: "backup_max_age_days",
        meaning: "days since the newest AWS Backup recovery point of each EBS volume and RDS DB \
                  instance, at most (1–365; no benchmark value: 7)",
    },
];

impl PolicyParameters {
    /// The value of parameter `name` as people read it, or `None` for an unknown name.
    pub fn value(&self, name: &str) -> Option<String> {
        Some(match name {
            "rds_backup_retention_days" => self.rds_backup_retention_days.to_string(),
            "lockout_max_attempts" => self.lockout_max_attempts.to_string(),
            "password_max_days" => self.password_max_days.to_string(),
            "kubernetes_system_namespaces" => self.kubernetes_system_namespaces.join(", "),
            "github_max_owners" => self.github_max_owners.to_string(),
            "ebs_snapshot_max_age_days" => self.ebs_snapshot_max_age_days.to_string(),
            "backup_max_age_days" => self.backup_max_age_days.to_string(),
            _ => return None,
        })
    }

    /// Every out-of-range value, as (key, problem).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut range = |name: &'static str, v: u32, lo: u32, hi: u32| {
            if !(lo..=hi).contains(&v) {
                out.push((name, format!("{v} is not between {lo} and {hi}")));
            }
        };
        range(
            "rds_backup_retention_days",
            self.rds_backup_retention_days,
            1,
            35,
        );
        range("lockout_max_attempts", self.lockout_max_attempts, 1, 100);
        range("password_max_days", self.password_max_days, 1, 99_998);
        range("github_max_owners", self.github_max_owners, 1, 100);
        range(
            "ebs_snapshot_max_age_days",
            self.ebs_snapshot_max_age_days,
            1,
            365,
        );
        range("backup_max_age_days", self.backup_max_age_days, 1, 365);
        for ns in &self.kubernetes_system_namespaces {
            let label = !ns.is_empty()
                && ns.len() <= 63
                && ns
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !ns.starts_with('-')
                && !ns.ends_with('-');
            if !label {
                out.push((
                    "kubernetes_system_namespaces",
                    format!("{ns:?} is not a namespace name (an RFC 1123 label)"),
                ));
            }
        }
        out
    }
}

impl OrgConfig {
    /// The data document `{"vouch": {"config": …}}`.
    pub(crate) fn as_data(&self) -> regorus::Value {
        let json = serde_json::json!({ "vouch": { "config": self } });
        to_rego(&json).expect("the configuration is plain JSON")
    }
}

/// The verdict of one policy on one asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The evidence shows the requirement met.
    Pass,
    /// The evidence shows it not met.
    Fail,
    /// The policy does not apply to this asset.
    NotApplicable,
    /// No verdict: evidence unavailable, stale or inconclusive, or the policy failed.
    Error,
}

impl Status {
    /// Its name in tables and files.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::NotApplicable => "not_applicable",
            Status::Error => "error",
        }
    }

    /// The status named `name` (as [`as_str`](Self::as_str) writes it).
    pub fn parse(name: &str) -> Option<Self> {
        [
            Status::Pass,
            Status::Fail,
            Status::NotApplicable,
            Status::Error,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// A snapshot, or anything shaped like one (the agent's unsigned collection), to evaluate.
#[derive(Clone, Copy, Debug)]
pub struct SnapshotView<'a> {
    /// The asset described.
    pub asset: &'a Asset,
    /// When the evidence was collected.
    pub collected_at: Timestamp,
    /// The evidence by id, available or not.
    pub evidence: &'a BTreeMap<String, EvidenceItem>,
}

impl<'a> From<&'a Snapshot> for SnapshotView<'a> {
    fn from(s: &'a Snapshot) -> Self {
        SnapshotView {
            asset: &s.asset,
            collected_at: s.collected_at,
            evidence: &s.evidence,
        }
    }
}

/// One policy's verdict on one snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyResult {
    /// The policy's id.
    pub policy: String,
    /// The asset judged.
    pub asset: Asset,
    /// The verdict.
    pub status: Status,
    /// Why, for people.
    pub reason: String,
    /// The evidence ids the policy reads (from its metadata).
    pub evidence: Vec<String>,
    /// When the evidence was collected.
    pub collected_at: Timestamp,
    /// After this instant the verdict is stale (collected_at plus the policy's freshness).
    pub fresh_until: Timestamp,
    /// The digest of the pack that judged.
    pub pack_digest: String,
}

impl PolicyResult {
    /// The verdict as it stands at `now`: a result older than its freshness is an error
    /// (`stale: …`), whatever it said when it was fresh.
    pub fn at(&self, now: Timestamp) -> (Status, String) {
        if now > self.fresh_until {
            (
                Status::Error,
                format!(
                    "stale: evidence collected at {} is past its freshness (until {})",
                    self.collected_at, self.fresh_until
                ),
            )
        } else {
            (self.status, self.reason.clone())
        }
    }
}

impl PolicyPack {
    /// Evaluates every policy of the pack on one snapshot; one result per policy, by id.
    pub fn evaluate(&self, view: &SnapshotView<'_>) -> Vec<PolicyResult> {
        let mut run = Run::new(self, view);
        (0..self.policies.len()).map(|i| run.result(i)).collect()
    }

    /// Evaluates one policy, by id, on one snapshot.
    pub fn evaluate_policy(&self, id: &str, view: &SnapshotView<'_>) -> Option<PolicyResult> {
        let i = self.policies.iter().position(|p| p.id == id)?;
        Some(Run::new(self, view).result(i))
    }
}

/// The evaluation of one snapshot: a clone of each of the pack's engines the policies are judged
/// on, made as the first of its policies is judged, and each evidence value converted to Rego
/// once however many policies read it.
struct Run<'p, 'v> {
    pack: &'p PolicyPack,
    view: &'v SnapshotView<'v>,
    engines: Vec<Option<regorus::Engine>>,
    asset: regorus::Value,
    collected_at: regorus::Value,
    converted: HashMap<&'v str, Result<regorus::Value, String>>,
}

impl<'p, 'v> Run<'p, 'v> {
    fn new(pack: &'p PolicyPack, view: &'v SnapshotView<'v>) -> Self {
        Run {
            pack,
            view,
            engines: vec![None; pack.engines.len()],
            asset: to_rego(&serde_json::json!(view.asset)).expect("an asset is plain JSON"),
            collected_at: regorus::Value::from(view.collected_at.to_string()),
            converted: HashMap::new(),
        }
    }

    /// The result of the pack's `i`th policy.
    fn result(&mut self, i: usize) -> PolicyResult {
        let policy = &self.pack.policies[i];
        let view = self.view;
        let (status, reason) = if !policy.asset_kinds.contains(&view.asset.kind) {
            let kinds: Vec<&str> = policy.asset_kinds.iter().map(|k| k.as_str()).collect();
            (
                Status::NotApplicable,
                format!(
                    "applies to {} assets, not {}",
                    kinds.join(", "),
                    view.asset.kind
                ),
            )
        } else {
            let mut input = Input::new(self.asset.clone(), self.collected_at.clone());
            for id in &policy.evidence {
                let value = view
                    .evidence
                    .get_key_value(id)
                    .map(|(key, item)| match item.status {
                        ItemStatus::Ok => self
                            .converted
                            .entry(key.as_str())
                            .or_insert_with(|| to_rego(&item.value))
                            .clone(),
                        ItemStatus::Unavailable => Err(item
                            .reason
                            .clone()
                            .unwrap_or_else(|| "no reason given".into())),
                    });
                input.add(id, value);
            }
            let group = self.pack.engine_of[i];
            let engine =
                self.engines[group].get_or_insert_with(|| self.pack.engines[group].clone());
            judge(engine, &self.pack.rules[i], input)
        };
        PolicyResult {
            policy: policy.id.clone(),
            asset: view.asset.clone(),
            status,
            reason,
            evidence: policy.evidence.clone(),
            collected_at: view.collected_at,
            fresh_until: policy.fresh_until(view.collected_at),
            pack_digest: self.pack.digest().to_string(),
        }
    }
}

/// One policy's input document under construction, and the evidence it lacks.
pub(crate) struct Input {
    asset: regorus::Value,
    collected_at: regorus::Value,
    evidence: regorus::Value,
    unavailable: regorus::Value,
    missing: Vec<String>,
}

impl Input {
    pub(crate) fn new(asset: regorus::Value, collected_at: regorus::Value) -> Self {
        Input {
            asset,
            collected_at,
            evidence: regorus::Value::new_object(),
            unavailable: regorus::Value::new_object(),
            missing: Vec::new(),
        }
    }

    /// Adds one listed evidence id: its value, why it is unavailable, or `None` when the
    /// snapshot does not have it at all.
    pub(crate) fn add(&mut self, id: &str, value: Option<Result<regorus::Value, String>>) {
        let key = regorus::Value::from(id);
        let (map, v) = match value {
            Some(Ok(v)) => (&mut self.evidence, v),
            Some(Err(reason)) => {
                self.missing.push(format!("{id} ({reason})"));
                (&mut self.unavailable, regorus::Value::from(reason))
            }
            None => {
                let reason = "not collected".to_string();
                self.missing.push(format!("{id} ({reason})"));
                (&mut self.unavailable, regorus::Value::from(reason))
            }
        };
        if let Ok(m) = map.as_object_mut() {
            m.insert(key, v);
        }
    }

    fn into_value(self) -> (regorus::Value, Vec<String>) {
        let mut doc = regorus::Value::new_object();
        if let Ok(m) = doc.as_object_mut() {
            m.insert("asset".into(), self.asset);
            m.insert("collected_at".into(), self.collected_at);
            m.insert("evidence".into(), self.evidence);
            m.insert("unavailable".into(), self.unavailable);
        }
        (doc, self.missing)
    }
}

/// The verdict rules a policy module declares, each by the path regorus evaluates
/// (`data.vouch.policies.<id>.deny`); `deny` and `allow` are required.
#[derive(Clone, Debug)]
pub(crate) struct VerdictRules {
    not_applicable: Option<String>,
    inconclusive: Option<String>,
    deny: String,
    allow: String,
}

impl VerdictRules {
    /// The rules `policy`'s module declares, or why it cannot be a policy.
    pub(crate) fn declared(engine: &regorus::Engine, policy: &Policy) -> Result<Self, String> {
        let path = |name: &str| -> Result<Option<String>, String> {
            let declared = engine
                .has_declared_rule_rooted_at(&policy.file, name)
                .map_err(|e| e.to_string())?;
            Ok(declared.then(|| format!("data.{}.{name}", policy.package())))
        };
        let required = |name: &str| -> Result<String, String> {
            path(name)?.ok_or_else(|| {
                format!(
                    "declares no `{name}` rule: a policy says when it fails (deny, a set of reasons) and when it passes (allow, a reason)"
                )
            })
        };
        Ok(VerdictRules {
            not_applicable: path("not_applicable")?,
            inconclusive: path("inconclusive")?,
            deny: required("deny")?,
            allow: required("allow")?,
        })
    }

    /// Every declared rule's path.
    pub(crate) fn paths(&self) -> impl Iterator<Item = &str> {
        [&self.not_applicable, &self.inconclusive]
            .into_iter()
            .flatten()
            .chain([&self.deny, &self.allow])
            .map(String::as_str)
    }
}

/// The value of one rule: `None` when undefined (or not declared), the message on an error.
fn eval(
    engine: &mut regorus::Engine,
    path: Option<&String>,
) -> Result<Option<regorus::Value>, String> {
    let Some(path) = path else {
        return Ok(None);
    };
    match engine.eval_rule(path.clone()) {
        Ok(regorus::Value::Undefined) => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(e) => {
            let (line, reason) = rego_error(&e.to_string());
            tracing::warn!(rule = %path, line, %reason, "policy evaluation failed");
            Err(format!("policy error at line {line}: {reason}"))
        }
    }
}

/// A rule's value as a reason: a non-empty string.
fn reason(name: &str, v: regorus::Value) -> Result<String, String> {
    match v {
        regorus::Value::String(s) if !s.trim().is_empty() => Ok(s.to_string()),
        other => Err(format!(
            "policy error: `{name}` must be a non-empty string (the reason), not {}",
            other.to_json_str().unwrap_or_default()
        )),
    }
}

/// Evaluates one policy's rules on its input and derives the verdict (steps 2–8 above).
pub(crate) fn judge(
    engine: &mut regorus::Engine,
    rules: &VerdictRules,
    input: Input,
) -> (Status, String) {
    let (doc, missing) = input.into_value();
    engine.set_input(doc);
    let unavailable = || {
        (
            Status::Error,
            format!("evidence unavailable: {}", missing.join("; ")),
        )
    };
    match eval(engine, rules.not_applicable.as_ref()) {
        Err(_) if !missing.is_empty() => return unavailable(),
        Err(e) => return (Status::Error, e),
        Ok(Some(v)) => {
            return match reason("not_applicable", v) {
                Ok(r) => (Status::NotApplicable, r),
                Err(e) => (Status::Error, e),
            };
        }
        Ok(None) => {}
    }
    if !missing.is_empty() {
        return unavailable();
    }
    verdict(engine, rules).unwrap_or_else(|e| (Status::Error, e))
}

/// Steps 5–8, on facts that are all available.
fn verdict(engine: &mut regorus::Engine, rules: &VerdictRules) -> Result<(Status, String), String> {
    if let Some(v) = eval(engine, rules.inconclusive.as_ref())? {
        return Ok((Status::Error, reason("inconclusive", v)?));
    }
    if let Some(deny) = eval(engine, Some(&rules.deny))? {
        let r = reasons(&deny)?;
        if !r.is_empty() {
            return Ok((Status::Fail, r.join("; ")));
        }
    }
    match eval(engine, Some(&rules.allow))? {
        Some(v) => Ok((Status::Pass, reason("allow", v)?)),
        None => Ok((
            Status::Error,
            "no verdict: the policy produced neither deny nor allow (is the evidence of the expected type?)".into(),
        )),
    }
}

/// The reasons of a `deny` set, which must hold strings.
fn reasons(deny: &regorus::Value) -> Result<Vec<String>, String> {
    let items: Vec<&regorus::Value> = match deny {
        regorus::Value::Set(s) => s.iter().collect(),
        regorus::Value::Array(a) => a.iter().collect(),
        _ => return Err("policy error: `deny` must be a set of strings".into()),
    };
    items
        .into_iter()
        .map(|v| match v {
            regorus::Value::String(s) => Ok(s.to_string()),
            other => Err(format!(
                "policy error: `deny` must hold strings (reasons), not {}",
                other.to_json_str().unwrap_or_default()
            )),
        })
        .collect()
}

/// A JSON value as a Rego value.
pub(crate) fn to_rego(v: &serde_json::Value) -> Result<regorus::Value, String> {
    regorus::Value::deserialize(v).map_err(|e| format!("not usable in Rego: {e}"))
}

/// The input a policy is first evaluated on while loading: its asset kind and no evidence.
pub(crate) fn empty_input(policy: &Policy) -> regorus::Value {
    let kind = policy.asset_kinds.first().map_or("host", |k| k.as_str());
    to_rego(&serde_json::json!({
        "asset": { "kind": kind, "id": "", "name": "" },
        "collected_at": "1970-01-01T00:00:00.000000Z",
        "evidence": {},
        "unavailable": {},
    }))
    .expect("plain JSON")
}

impl Policy {
    /// Until when a verdict on evidence collected at `collected_at` is fresh.
    pub fn fresh_until(&self, collected_at: Timestamp) -> Timestamp {
        let secs = i64::try_from(self.freshness.as_secs())
            .unwrap_or(i64::MAX)
            .min(i64::MAX / 2_000_000);
        collected_at.checked_add_secs(secs).unwrap_or(collected_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{load, module};
    use vouch_evidence::{AssetKind, Source};

    /// The rules of the flag policy (from line 14: not_applicable, deny, allow, inconclusive).
    const RULES: &str = "not_applicable := \"not installed\" if input.evidence[\"host.test.installed\"] == false\n\
        deny contains \"flag is off\" if input.evidence[\"host.test.flag\"] == false\n\
        allow := \"flag is on\" if input.evidence[\"host.test.flag\"] == true\n\
        inconclusive := \"flag is unknown\" if input.evidence[\"host.test.flag\"] == \"unknown\"";

    fn pack() -> PolicyPack {
        pack_with(ALLOW, ALLOW)
    }

    fn at() -> Timestamp {
        "2026-05-01T10:00:00Z".parse().unwrap()
    }

    fn eval(kind: AssetKind, items: &[(&str, Option<serde_json::Value>)]) -> PolicyResult {
        eval_pack(&pack(), kind, items)
    }

    /// Evaluates `pack` (one policy) on an asset of `kind` with `items` (`None`: unavailable).
    fn eval_pack(
        pack: &PolicyPack,
        kind: AssetKind,
        items: &[(&str, Option<serde_json::Value>)],
    ) -> PolicyResult {
        let asset = Asset {
            kind,
            id: "m1".into(),
            name: "web-1".into(),
        };
        let evidence: BTreeMap<String, EvidenceItem> = items
            .iter()
            .map(|(id, v)| {
                let src = Source::File("/etc/test".into());
                let item = match v {
                    Some(v) => EvidenceItem::ok(v.clone(), src),
                    None => EvidenceItem::unavailable(src, "permission denied reading /etc/test"),
                };
                (id.to_string(), item)
            })
            .collect();
        let view = SnapshotView {
            asset: &asset,
            collected_at: at(),
            evidence: &evidence,
        };
        let mut r = pack.evaluate(&view);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].pack_digest, pack.digest());
        r.remove(0)
    }

    /// The flag policy with one rule replaced (`old` by itself to keep them all).
    fn pack_with(old: &str, new: &str) -> PolicyPack {
        assert!(RULES.contains(old));
        let text = module(
            "host.test.flag",
            "low",
            "iso27001-2022:A.8.9",
            "host.test.flag, host.test.installed",
            &RULES.replace(old, new),
        );
        load(&[("flag.rego", text)]).unwrap()
    }

    const ALLOW: &str = "allow := \"flag is on\" if input.evidence[\"host.test.flag\"] == true";

    fn verdict(r: &PolicyResult) -> (Status, &str) {
        (r.status, r.reason.as_str())
    }

    #[test]
    fn pass_and_fail_come_from_allow_and_deny() {
        let on = [
            ("host.test.flag", Some(true.into())),
            ("host.test.installed", Some(true.into())),
        ];
        let r = eval(AssetKind::Host, &on);
        assert_eq!(verdict(&r), (Status::Pass, "flag is on"));
        assert_eq!(r.evidence, vec!["host.test.flag", "host.test.installed"]);
        assert_eq!(r.fresh_until.to_string(), "2026-05-01T11:00:00.000000Z");
        let off = [
            ("host.test.flag", Some(false.into())),
            ("host.test.installed", Some(true.into())),
        ];
        assert_eq!(
            verdict(&eval(AssetKind::Host, &off)),
            (Status::Fail, "flag is off")
        );
    }

    #[test]
    fn unavailable_or_absent_evidence_is_an_error_never_a_pass() {
        let r = eval(
            AssetKind::Host,
            &[
                ("host.test.flag", None),
                ("host.test.installed", Some(true.into())),
            ],
        );
        assert_eq!(
            verdict(&r),
            (
                Status::Error,
                "evidence unavailable: host.test.flag (permission denied reading /etc/test)"
            )
        );
        let r = eval(AssetKind::Host, &[("host.test.flag", Some(true.into()))]);
        assert_eq!(
            verdict(&r),
            (
                Status::Error,
                "evidence unavailable: host.test.installed (not collected)"
            )
        );
    }

    #[test]
    fn not_applicable_by_kind_or_by_rule_even_with_facts_missing() {
        let r = eval(AssetKind::AwsAccount, &[]);
        assert_eq!(
            verdict(&r),
            (
                Status::NotApplicable,
                "applies to host assets, not aws-account"
            )
        );
        let r = eval(
            AssetKind::Host,
            &[
                ("host.test.flag", None),
                ("host.test.installed", Some(false.into())),
            ],
        );
        assert_eq!(verdict(&r), (Status::NotApplicable, "not installed"));
    }

    #[test]
    fn unexpected_types_and_inconclusive_facts_are_errors() {
        let r = eval(
            AssetKind::Host,
            &[
                ("host.test.flag", Some("yes".into())),
                ("host.test.installed", Some(true.into())),
            ],
        );
        assert_eq!(r.status, Status::Error);
        assert!(r.reason.starts_with("no verdict"), "{}", r.reason);
        let r = eval(
            AssetKind::Host,
            &[
                ("host.test.flag", Some("unknown".into())),
                ("host.test.installed", Some(true.into())),
            ],
        );
        assert_eq!(verdict(&r), (Status::Error, "flag is unknown"));
    }

    #[test]
    fn rego_errors_become_error_results_with_the_message() {
        let pack = pack_with(
            ALLOW,
            "allow := sprintf(\"%d\", [count(input.evidence[\"host.test.flag\"])]) if true",
        );
        let r = eval_pack(
            &pack,
            AssetKind::Host,
            &[
                ("host.test.flag", Some(7.into())),
                ("host.test.installed", Some(true.into())),
            ],
        );
        assert_eq!(r.status, Status::Error);
        assert!(
            r.reason.starts_with("policy error at line 16: "),
            "{}",
            r.reason
        );
        assert!(r.reason.contains("count"), "{}", r.reason);
    }

    #[test]
    fn stale_results_are_errors_at_a_later_instant() {
        let on = [
            ("host.test.flag", Some(true.into())),
            ("host.test.installed", Some(true.into())),
        ];
        let r = eval(AssetKind::Host, &on);
        assert_eq!(r.at(at()).0, Status::Pass);
        let later: Timestamp = "2026-05-01T11:00:01Z".parse().unwrap();
        let (status, reason) = r.at(later);
        assert_eq!(status, Status::Error);
        assert!(reason.starts_with("stale: "), "{reason}");
    }

    #[test]
    fn configuration_is_data_vouch_config() {
        let mut pack = pack_with(
            ALLOW,
            "allow := concat(\",\", data.vouch.config.allowed_jurisdictions) if input.evidence[\"host.test.flag\"] == true",
        );
        pack.set_config(OrgConfig {
            allowed_jurisdictions: vec!["eu".into(), "ch".into()],
            ..OrgConfig::default()
        })
        .unwrap();
        let on = [
            ("host.test.flag", Some(true.into())),
            ("host.test.installed", Some(true.into())),
        ];
        assert_eq!(
            verdict(&eval_pack(&pack, AssetKind::Host, &on)),
            (Status::Pass, "eu,ch")
        );
    }
}
