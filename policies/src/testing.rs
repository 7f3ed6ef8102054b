//! Helpers for the crate's unit tests: policy modules written out in full, and loading them.

use crate::catalog::Catalogs;
use crate::pack::PolicyPack;

/// A host policy module: its `# METADATA` block on lines 1–11 (freshness 1h), the package on
/// line 12, `rules` from line 14. `controls` and `evidence` are comma-separated.
pub(crate) fn module(
    id: &str,
    severity: &str,
    controls: &str,
    evidence: &str,
    rules: &str,
) -> String {
    format!(
        "# METADATA\n\
         # title: T\n\
         # description: D\n\
         # custom:\n\
         #   id: {id}\n\
         #   severity: {severity}\n\
         #   controls: [{controls}]\n\
         #   asset_kinds: [host]\n\
         #   evidence: [{evidence}]\n\
         #   remediation: R\n\
         #   freshness: 1h\n\
         package vouch.policies.{id}\n\
         \n\
         {rules}\n"
    )
}

/// Loads (file, text) pairs against the built-in catalogs; the errors as `file:line: reason`.
pub(crate) fn load(files: &[(&str, String)]) -> Result<PolicyPack, Vec<String>> {
    PolicyPack::from_sources(
        files.iter().map(|(f, t)| (f.to_string(), t.clone())),
        &Catalogs::builtin(),
    )
    .map_err(|e| e.0.iter().map(ToString::to_string).collect())
}
