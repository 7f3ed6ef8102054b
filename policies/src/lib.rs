//! Control catalogs and, in time, the policies that map Vouch evidence to them.
//!
//! A catalog is a data file (`catalogs/*.toml`) listing one framework edition's controls. Control
//! ids are always qualified by framework and edition (`iso27001-2022:A.8.24`,
//! `iso27701-2019:A.7.4.5`), so ids from different editions never collide. The built-in catalogs
//! (ISO/IEC 27001:2022 Annex A, ISO/IEC 27701:2019 Annexes A and B, ISO/IEC 27701:2025 Annex A)
//! are compiled in; organisations add frameworks by dropping another file in a directory.

pub mod catalog;
pub mod coverage;

pub use catalog::{Catalog, CatalogError, Catalogs, Control, ControlId, Role};
pub use coverage::{Classified, Coverage, Level};
