//! Control catalogs, and the Rego policies that judge Vouch evidence against them.
//!
//! A catalog is a data file (`catalogs/*.toml`) listing one framework edition's controls. Control
//! ids are always qualified by framework and edition (`iso27001-2022:A.8.24`,
//! `iso27701-2019:A.7.4.5`), so ids from different editions never collide. The built-in catalogs
//! (ISO/IEC 27001:2022 Annex A, ISO/IEC 27701:2019 Annexes A and B, ISO/IEC 27701:2025 Annex A)
//! are compiled in; organisations add frameworks by dropping another file in a directory.
//!
//! A policy is a Rego module evaluated in process (regorus), described by an OPA `# METADATA`
//! block whose `custom:` fields say which controls it evidences, which asset kinds and evidence
//! ids it reads, how severe a failure is and how fresh the evidence must be. A [`PolicyPack`]
//! loads and checks them (the built-in pack, `pack/`, is compiled in), [`PolicyPack::evaluate`]
//! judges one snapshot, giving a [`PolicyResult`] per policy, and [`ControlStatus::roll_up`]
//! turns results into control statuses. See `policies/README.md`.

pub mod cases;
pub mod catalog;
pub mod coverage;
pub mod engine;
pub mod kept;
pub mod metadata;
pub mod pack;
pub mod report;
pub mod rollup;
#[cfg(test)]
mod testing;

pub use catalog::{Catalog, CatalogError, Catalogs, Control, ControlId, Role};
pub use coverage::{Classified, Coverage, Level};
pub use engine::{
    OrgConfig, PARAMETERS, ParameterInfo, PolicyParameters, PolicyResult, SnapshotView, Status,
};
pub use kept::KeptPack;
pub use metadata::{Mapping, Policy, Relation, Severity};
pub use pack::{LoadError, LoadErrors, PolicyPack};
pub use rollup::{
    Attested, ControlState, ControlStatus, Judged, OutcomePolicy, Outcomes, PolicyOutcome,
    ResultRef, RollUp, Tally, render_controls,
};
