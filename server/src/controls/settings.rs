//! `[policies]` of the server's configuration: which pack judges, the organisation's settings
//! and the controls it excludes.

use std::path::PathBuf;

use serde::Deserialize;

/// `[policies]`: which pack judges the evidence. Changing it needs no agent rebuilt: edit the
/// directory and reload (`SIGHUP`, or `POST /v1/policies/reload`); a pack that does not load is
/// refused with every problem named, and the pack in force stays.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySettings {
    /// Include the built-in pack (137 policies over every collector's evidence).
    pub builtin: bool,
    /// A directory of your own Rego policies (`*.rego`, each with its METADATA block), loaded
    /// beside the built-in ones; a file at the same path as a built-in one replaces it.
    pub dir: Option<PathBuf>,
    /// Organisation settings policies read as `data.vouch.config`: PII tag keys, allowed
    /// jurisdictions, per privacy framework whether you act as controller, processor or both,
    /// and the policies' thresholds (`[policies.organisation.parameters]`).
    pub organisation: vouch_policies::OrgConfig,
    /// Controls the organisation excludes from its Statement of Applicability, each with the
    /// justification an auditor reads.
    pub exclusions: Vec<Exclusion>,
}

/// `[[policies.exclusions]]`: a control that does not apply, and why.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exclusion {
    /// The control, qualified (`iso27001-2022:A.7.4`).
    pub control: String,
    /// Why it does not apply (e.g. "no premises: fully remote organisation").
    pub justification: String,
}

impl Default for PolicySettings {
    fn default() -> Self {
        PolicySettings {
            builtin: true,
            dir: None,
            organisation: vouch_policies::OrgConfig::default(),
            exclusions: Vec::new(),
        }
    }
}
