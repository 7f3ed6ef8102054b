//! The Vouch evidence contract, shared by agents, the server and auditors' tools.
//!
//! This crate is the pure core of Vouch: it defines what a [`Snapshot`] of evidence is, how it is
//! turned into canonical bytes ([RFC 8785](https://www.rfc-editor.org/rfc/rfc8785), see
//! [`canonical`]), how those bytes are digested ([`Digest`], SHA-256) and signed in a
//! [DSSE v1](https://github.com/secure-systems-lab/dsse) envelope with Ed25519 ([`dsse`]), how
//! consecutive snapshots of one asset form a hash chain ([`chain`]), and how the server proves
//! delivery with a signed [`Receipt`]. It also holds the wire types of the HTTP API ([`api`]) so
//! that agent and server cannot drift apart.
//!
//! Nothing here performs I/O: keys are created from seed bytes the caller supplies, time is
//! passed in, files are read elsewhere. That keeps every rule about integrity in one place that
//! an auditor can read and test offline.

pub mod api;
mod attestation;
pub mod canonical;
pub mod chain;
pub mod cosign;
mod digest;
pub mod dsse;
mod keys;
pub mod limits;
pub mod logproofs;
pub mod note;
mod receipt;
pub mod rotation;
pub mod sample;
mod snapshot;
pub mod sources;
#[cfg(feature = "testing")]
pub mod testing;
mod timestamp;
pub mod tlog;

pub use attestation::{ATTESTATION_PAYLOAD_TYPE, Attestation, AttestationError, DocumentRef};
pub use digest::{Digest, DigestParseError};
pub use keys::{KeyError, KeyId, PublicKey, SigningKey};
pub use receipt::{RECEIPT_PAYLOAD_TYPE, Receipt};
pub use snapshot::{
    Asset, ChainKey, ChainLink, CollectorRun, EvidenceItem, ItemStatus, RunOutcome, SCHEMA_VERSION,
    SNAPSHOT_PAYLOAD_TYPE, Snapshot, SnapshotError, SnapshotHeader, Source, VOLATILE_EVIDENCE,
    is_valid_evidence_id, is_volatile,
};
pub use sources::{AssetKind, SOURCES, SourceInfo};
pub use timestamp::{Clock, Timestamp, TimestampError};
