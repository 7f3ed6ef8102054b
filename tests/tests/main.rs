//! Cross-crate scenarios with real processes and services, one binary: each file is a module.
//! Run one file's tests with `cargo test -p vouch-tests --test integration <file>::`.

mod api_sources;
mod attacks;
mod browser;
mod evidence_judged;
mod faults;
mod import;
mod keys;
mod layering;
mod loadgen;
mod log;
mod manifests;
mod objects;
mod ocsf;
mod pipeline;
mod replicas;
mod sso;
mod timestamps;
mod verify_binaries;
