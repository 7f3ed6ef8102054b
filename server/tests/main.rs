//! The server's integration tests, one binary: each file is a module (one link instead of one
//! per file).
//! Run one file's tests with `cargo test -p vouch-server --test integration <file>::`.

mod access;
mod api;
mod attestations;
mod bundle;
mod clock;
mod common;
mod controls;
mod log;
mod metrics_access;
mod oscal;
mod retention;
mod revocation;
mod tls;
mod web;
