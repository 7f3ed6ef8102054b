//! Harness for Vouch's cross-crate tests and benchmarks.
//!
//! The end-to-end scenarios in `tests/` drive the real server over loopback HTTPS and real
//! agents; the helpers here start and restart that server ([`server::TestServer`]) and build
//! inputs (realistic snapshots, chains, keys) so each test reads as the scenario it proves.

pub mod browser;
pub mod generate;
pub mod objects;
pub mod ocsf;
pub mod process;
pub mod server;
pub mod tsa;
