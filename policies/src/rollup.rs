//! Rolling policy results up to controls: a control fails when any of its policies fails on any
//! asset, is in error when none fails but one has no verdict (unavailable, stale or broken), and
//! passes when the rest pass; with nothing but not-applicable results it is not applicable.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use vouch_evidence::{Asset, Timestamp};

use crate::catalog::{Catalogs, ControlId};
use crate::engine::{PolicyResult, Status};
use crate::metadata::Severity;
use crate::pack::PolicyPack;

/// One policy's verdict on one asset, as counted for a control.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyOutcome {
    /// The policy.
    pub policy: String,
    /// Its severity.
    pub severity: Severity,
    /// The asset.
    pub asset: Asset,
    /// The verdict (stale results count as errors).
    pub status: Status,
    /// Why.
    pub reason: String,
}

/// A control's status over a set of results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ControlStatus {
    /// The control.
    pub control: ControlId,
    /// Its title in the catalog.
    pub title: String,
    /// The rolled-up status.
    pub status: Status,
    /// Every contributing outcome, worst first.
    pub outcomes: Vec<PolicyOutcome>,
}

impl ControlStatus {
    /// Rolls `results` (of any number of assets) up to the controls their policies evidence, in
    /// catalog order; results of policies for other asset kinds are left out. Controls whose privacy role does not apply to the organisation (its
    /// `roles` in the pack's configuration) are left out. With `now`, results past their
    /// freshness count as errors.
    pub fn roll_up(
        pack: &PolicyPack,
        catalogs: &Catalogs,
        results: &[PolicyResult],
        now: Option<Timestamp>,
    ) -> Vec<ControlStatus> {
        let mut by_control: BTreeMap<&ControlId, Vec<PolicyOutcome>> = BTreeMap::new();
        for r in results {
            // A policy says nothing about assets of kinds it does not apply to.
            let Some(policy) = pack
                .policy(&r.policy)
                .filter(|p| p.asset_kinds.contains(&r.asset.kind))
            else {
                continue;
            };
            let (status, reason) = match now {
                Some(now) => r.at(now),
                None => (r.status, r.reason.clone()),
            };
            for control in &policy.controls {
                by_control.entry(control).or_default().push(PolicyOutcome {
                    policy: r.policy.clone(),
                    severity: policy.severity,
                    asset: r.asset.clone(),
                    status,
                    reason: reason.clone(),
                });
            }
        }
        let roles = &pack.config().roles;
        let mut out = Vec::new();
        for catalog in catalogs.iter() {
            let role = roles.get(&catalog.id).copied();
            for control in &catalog.controls {
                let Some(mut outcomes) = by_control.remove(&control.id) else {
                    continue;
                };
                if let (Some(org), Some(applies)) = (role, control.role)
                    && !applies.applies_to(org)
                {
                    continue;
                }
                outcomes.sort_by(|a, b| {
                    (b.status.weight(), b.severity, &a.policy, &a.asset.id).cmp(&(
                        a.status.weight(),
                        a.severity,
                        &b.policy,
                        &b.asset.id,
                    ))
                });
                let status = outcomes.first().map_or(Status::NotApplicable, |o| o.status);
                out.push(ControlStatus {
                    control: control.id.clone(),
                    title: control.title.clone(),
                    status,
                    outcomes,
                });
            }
        }
        out
    }
}

/// A table for people: one line per control with its status, then, indented, each failing or
/// erring policy with its reason (and the asset, when there are several).
pub fn render_controls(controls: &[ControlStatus]) -> String {
    let mut out = String::new();
    let width = controls
        .iter()
        .map(|c| c.control.to_string().len())
        .max()
        .unwrap_or(0);
    let several_assets = controls
        .iter()
        .flat_map(|c| &c.outcomes)
        .map(|o| (&o.asset.kind, &o.asset.id))
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        > 1;
    let mut count: BTreeMap<Status, usize> = BTreeMap::new();
    for c in controls {
        *count.entry(c.status).or_default() += 1;
        let passing = c
            .outcomes
            .iter()
            .filter(|o| o.status == Status::Pass)
            .count();
        let _ = writeln!(
            out,
            "{:<width$}  {:<14}  {} ({} of {} policy results pass)",
            c.control.to_string(),
            c.status.as_str(),
            c.title,
            passing,
            c.outcomes.len(),
        );
        for o in c
            .outcomes
            .iter()
            .filter(|o| matches!(o.status, Status::Fail | Status::Error))
        {
            let asset = if several_assets {
                format!(" on {}", o.asset.name)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "{:<width$}    {} {} [{}]{asset}: {}",
                "",
                o.status.as_str(),
                o.policy,
                o.severity,
                o.reason,
            );
        }
    }
    let summary: Vec<String> = count
        .iter()
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    let _ = writeln!(out, "{} controls: {}", controls.len(), summary.join(", "));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Role;
    use crate::engine::OrgConfig;
    use crate::testing::{load, module};
    use vouch_evidence::AssetKind;

    fn pack() -> PolicyPack {
        let policy = |id: &str, controls: &str, severity: &str| {
            let rules = "allow := \"ok\" if true\ndeny contains \"no\" if false";
            module(id, severity, controls, "host.test.flag", rules)
        };
        load(&[
            (
                "a.rego",
                policy(
                    "host.test.a",
                    "iso27001-2022:A.8.24, iso27701-2025:A.3.26",
                    "high",
                ),
            ),
            (
                "b.rego",
                policy("host.test.b", "iso27001-2022:A.8.24", "low"),
            ),
            (
                "c.rego",
                policy(
                    "host.test.c",
                    "iso27001-2022:A.8.9, iso27701-2019:B.8.4.1",
                    "low",
                ),
            ),
        ])
        .unwrap()
    }

    fn result(policy: &str, status: Status, asset: &str) -> PolicyResult {
        let at: Timestamp = "2026-05-01T10:00:00Z".parse().unwrap();
        PolicyResult {
            policy: policy.into(),
            asset: Asset {
                kind: AssetKind::Host,
                id: asset.into(),
                name: asset.into(),
            },
            status,
            reason: format!("{policy} says {}", status.as_str()),
            evidence: vec!["host.test.flag".into()],
            collected_at: at,
            fresh_until: "2026-05-01T11:00:00Z".parse().unwrap(),
            pack_digest: "d".into(),
        }
    }

    #[test]
    fn worst_outcome_wins_and_controls_come_in_catalog_order() {
        let pack = pack();
        let results = [
            result("host.test.a", Status::Pass, "m1"),
            result("host.test.b", Status::Fail, "m2"),
            result("host.test.c", Status::Error, "m1"),
        ];
        let c = ControlStatus::roll_up(&pack, &Catalogs::builtin(), &results, None);
        let got: Vec<(String, Status)> = c
            .iter()
            .map(|c| (c.control.to_string(), c.status))
            .collect();
        assert_eq!(
            got,
            vec![
                ("iso27001-2022:A.8.9".to_string(), Status::Error),
                ("iso27001-2022:A.8.24".to_string(), Status::Fail),
                ("iso27701-2019:B.8.4.1".to_string(), Status::Error),
                ("iso27701-2025:A.3.26".to_string(), Status::Pass),
            ]
        );
        assert_eq!(c[1].outcomes[0].policy, "host.test.b");
        let table = render_controls(&c);
        assert!(
            table.contains("fail host.test.b [low] on m2: host.test.b says fail"),
            "{table}"
        );
        assert!(
            table.ends_with("4 controls: 1 pass, 1 fail, 2 error\n"),
            "{table}"
        );
    }

    #[test]
    fn stale_results_roles_and_other_kinds_are_taken_into_account() {
        let mut pack = pack();
        let mut other_kind = result("host.test.b", Status::Fail, "acct");
        other_kind.asset.kind = AssetKind::AwsAccount;
        let results = [
            result("host.test.a", Status::Pass, "m1"),
            result("host.test.c", Status::Pass, "m1"),
            other_kind,
        ];
        let later: Timestamp = "2026-05-02T10:00:00Z".parse().unwrap();
        let c = ControlStatus::roll_up(&pack, &Catalogs::builtin(), &results, Some(later));
        assert!(c.iter().all(|c| c.status == Status::Error), "{c:?}");
        pack.set_config(OrgConfig {
            roles: [("iso27701-2019".to_string(), Role::Controller)].into(),
            ..OrgConfig::default()
        })
        .unwrap();
        let c = ControlStatus::roll_up(&pack, &Catalogs::builtin(), &results, None);
        assert!(
            c.iter()
                .all(|c| c.control.to_string() != "iso27701-2019:B.8.4.1"),
            "a processor control is left out for a controller: {c:?}"
        );
        assert!(c.iter().all(|c| c.status == Status::Pass));
    }
}
