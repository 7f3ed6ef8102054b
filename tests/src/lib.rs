//! Harness for Vouch's cross-crate tests and benchmarks.
//!
//! The end-to-end scenarios in `tests/` drive the real server and real agents in-process over
//! loopback HTTPS; the helpers here build their inputs (realistic snapshots, chains, keys) so
//! each test reads as the scenario it proves.

pub mod generate;
