//! The Vouch server: it receives signed evidence snapshots from agents, verifies each one
//! (DSSE Ed25519 signature by an enrolled key, RFC 8785 canonical payload, schema, hash-chain
//! link), stores it exactly once with the envelope kept byte for byte, and answers with a signed
//! receipt. It serves the auditor API over HTTPS (rustls) and Prometheus metrics. The `vouch`
//! command line is the `cli/` crate (package `vouch`), a thin binary over this library, the
//! agent (`vouch up`) and `vouch-verify` (`vouch verify`). This crate links no collector and
//! no agent code.
//!
//! [`app()`] is the whole API and dashboard as an axum `Router`; [`serve::start`] runs it on a socket;
//! [`store::Store`] is the storage seam (SQLite by default).

/// The `User-Agent` of every request Vouch's server and command line make (webhooks, the API
/// calls of `vouch export`, `vouch sample`, `vouch loadgen`).
pub const USER_AGENT: &str = concat!("vouch/", env!("CARGO_PKG_VERSION"));

pub mod alerts;
pub mod app;
pub mod auth;
pub mod bundle;
pub mod checkpoints;
pub mod clock;
pub mod config;
pub mod connections;
pub mod controls;
pub mod cosigning;
pub mod evaluate;
pub mod files;
pub mod fsck;
pub mod http;
pub mod ids;
pub mod ingest;
pub mod loadgen;
pub mod metrics;
pub mod objects;
pub mod ocsf;
pub mod oscal;
pub mod refusals;
pub mod retention;
pub mod serve;
pub mod session;
pub mod sso;
pub mod state;
pub mod timestamps;
pub mod tls;
pub mod verdicts;
pub mod web;
pub mod witness;

pub use app::app;
pub use config::ServerConfig;
pub use serve::{RunningServer, start};
pub use state::AppState;
/// The storage layer (its own crate, `vouch-store`).
pub use vouch_store as store;
/// Who may write which assets (kept by the store).
pub use vouch_store::scope;
/// Offline verification (`vouch verify`) lives in its own crate, which links no server code.
pub use vouch_verify as verify;
