//! Policy results as OCSF Compliance Findings (class 2003 of OCSF 1.8.0), for SIEMs and data
//! lakes that take findings as OCSF events.
//!
//! One finding per current policy result, that is per asset and policy: the check is the
//! policy (`compliance.control`), the controls it evidences are the requirements
//! (`iso27001-2022:A.8.5`, every framework's), the standards are the catalogs' names, the
//! resource is the asset, and the evidence is the signed snapshot the result was judged from
//! (its digest, the evidence ids the policy read, when it was collected, where its envelope
//! is). `time` is when that evidence was collected, so the same result exported twice is the
//! same event (`metadata.uid`), and `finding_info.uid` stays with the asset and policy from one
//! result to the next, as a SIEM expects of a finding that is updated.
//!
//! How Vouch's states map (the Vouch state is kept in `status_detail` and `compliance.status`
//! says it in OCSF's words):
//!
//! | Vouch | `compliance.status_id` | `status_id` (finding) | `severity_id` |
//! |---|---|---|---|
//! | pass | 1 Pass | 4 Resolved | 1 Informational |
//! | fail | 3 Fail | 1 New | the policy's |
//! | accepted (an exception in force) | 3 Fail | 3 Suppressed | the policy's |
//! | stale (a pass on evidence past its freshness) | 2 Warning | 1 New | the policy's |
//! | error (evidence unavailable, or the policy failed) | 0 Unknown | 1 New | the policy's |
//! | not applicable | 99 Other | 99 Other | 1 Informational |
//!
//! The schema the findings are checked against in tests is `tests/fixtures/ocsf/`, compiled
//! from the OCSF project's repository at the 1.8.0 release by its own compiler.

use serde_json::{Value, json};
use vouch_evidence::Timestamp;
use vouch_policies::{ControlState, PolicyOutcome, Severity};

/// The OCSF version the findings follow.
pub const OCSF_VERSION: &str = "1.8.0";

/// The Compliance Finding class.
pub const CLASS_UID: u32 = 2003;

/// A name-based UUID in OCSF findings' own namespace.
fn uid(kind: &str, name: &str) -> String {
    crate::ids::name_uuid("vouch-ocsf-v1", kind, name)
}

/// Milliseconds since the epoch, OCSF's `timestamp_t`.
fn millis(t: Timestamp) -> i64 {
    t.unix_micros().div_euclid(1000)
}

/// (`compliance.status_id`, its name, the finding's `status_id`, its name).
fn statuses(state: ControlState) -> (u8, &'static str, u8, &'static str) {
    match state {
        ControlState::Pass => (1, "Pass", 4, "Resolved"),
        ControlState::Fail => (3, "Fail", 1, "New"),
        ControlState::Accepted => (3, "Fail", 3, "Suppressed"),
        ControlState::Stale => (2, "Warning", 1, "New"),
        ControlState::Error => (0, "Unknown", 1, "New"),
        ControlState::NotApplicable => (99, "Other", 99, "Other"),
        // Control-level states, never a policy result's; kept total all the same.
        ControlState::Manual | ControlState::NoEvidence => (0, "Unknown", 1, "New"),
    }
}

/// OCSF's `severity_id` and its name: a passing or inapplicable result is informational.
fn severity(state: ControlState, s: Severity) -> (u8, &'static str) {
    if matches!(state, ControlState::Pass | ControlState::NotApplicable) {
        return (1, "Informational");
    }
    match s {
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// One policy result as a Compliance Finding: `requirements` are the controls it counts
/// towards, `standards` their catalogs' names, `snapshot` the (digest, collected) its asset's
/// results come from, `pack` the pack in force.
pub fn finding(
    o: &PolicyOutcome,
    requirements: &[String],
    standards: &[&str],
    snapshot: Option<&(String, Timestamp)>,
    pack: &str,
) -> Value {
    let (compliance_id, compliance, status_id, status) = statuses(o.state);
    let (severity_id, severity_name) = severity(o.state, o.policy.severity);
    let subject = format!("{}/{}/{}", o.asset.kind, o.asset.id, o.policy);
    let digest = snapshot.map(|(d, _)| d.as_str());
    let event_uid = uid(
        "event",
        &format!("{subject}\0{}\0{}", digest.unwrap_or(""), o.state.as_str()),
    );
    let mut resource = json!({
        "uid": o.asset.id,
        "name": o.asset.name,
        "type": o.asset.kind.as_str(),
    });
    if o.asset.kind == vouch_evidence::AssetKind::Host {
        resource["hostname"] = json!(o.asset.name);
    }
    let mut event = json!({
        "activity_id": 1,
        "activity_name": "Create",
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Compliance Finding",
        "type_uid": CLASS_UID * 100 + 1,
        "type_name": "Compliance Finding: Create",
        "time": millis(o.collected_at),
        "severity_id": severity_id,
        "severity": severity_name,
        "status_id": status_id,
        "status": status,
        "status_detail": o.state.as_str(),
        "message": format!("{} on {} {}: {}", o.policy.title, o.asset.kind, o.asset.name, o.reason),
        "metadata": {
            "version": OCSF_VERSION,
            "uid": event_uid,
            "log_name": "policy-results",
            "product": {
                "name": "Vouch",
                "vendor_name": "Vouch",
                "version": env!("CARGO_PKG_VERSION"),
            },
        },
        "finding_info": {
            "uid": uid("finding", &subject),
            "title": o.policy.title,
            "desc": o.reason,
            "types": ["Policy result"],
            "last_seen_time": millis(o.collected_at),
        },
        "compliance": {
            "control": o.policy.id,
            "requirements": requirements,
            "standards": standards,
            "status_id": compliance_id,
            "status": compliance,
            "status_detail": o.reason,
        },
        "resources": [resource],
    });
    if let Some((digest, collected)) = snapshot {
        event["evidences"] = json!([{
            "uid": format!("sha256:{digest}"),
            "name": "Vouch evidence snapshot",
            "data": {
                "snapshot_digest": format!("sha256:{digest}"),
                "envelope": format!("/v1/snapshots/{digest}"),
                "collected_at": collected.to_string(),
                "evidence_ids": o.evidence,
                "policy_pack": pack,
                "verdict_as_judged": o.status.as_str(),
            },
        }]);
    }
    if !matches!(o.state, ControlState::Pass | ControlState::NotApplicable)
        && !o.policy.remediation.is_empty()
    {
        event["remediation"] = json!({ "desc": o.policy.remediation });
    }
    event
}
