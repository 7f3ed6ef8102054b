//! Storage behind one trait.
//!
//! [`Store`] is everything the server keeps: enrolled agents and their keys, enrolment and API
//! tokens (as SHA-256 hashes only), accepted snapshots (the envelope bytes verbatim, their signed
//! receipt, and the index fields the API lists), the chain heads, and the log of rejected
//! submissions. The embedded default is [`sqlite::SqliteStore`].
//!
//! One trait, not two: the envelope blobs and the index are kept together here because the
//! exactly-once rule (a digest is stored once, a chain position is taken once) must hold for
//! both. A PostgreSQL index with envelopes in S3 object storage implements the same trait:
//! every method that changes state is one atomic step (`ingest` checks the chain head and
//! inserts in one transaction, with `UNIQUE(agent, kind, asset, sequence)` in the database as
//! the backstop), so several replicas can share one database. Such a backend writes the
//! envelope and receipt to the object store first, content-addressed by digest (an idempotent
//! put), then commits the index row; a blob whose row never commits is unreachable and
//! harmless. Callers never see the difference.

pub mod postgres;
pub mod results;
pub mod sqlite;

pub use results::{
    AssetEvaluation, AttestationRecord, ControlChange, Evaluation, EvaluationRun, ExceptionRecord,
    NewException, NewRun, PackRecord, StoredResult,
};

use async_trait::async_trait;
use vouch_evidence::api::{AssetSummary, SnapshotRef, SnapshotSummary};
use vouch_evidence::chain::LinkError;
use vouch_evidence::{AssetKind, ChainKey, Digest, KeyId, PublicKey, Timestamp};

use crate::auth::Role;

/// An enrolled agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentRecord {
    /// Server-assigned id.
    pub agent_id: String,
    /// Its public key.
    pub public_key: PublicKey,
    /// Name for people (usually the hostname).
    pub name: String,
    /// When it enrolled.
    pub enrolled_at: Timestamp,
}

impl AgentRecord {
    /// The key id of its key.
    pub fn keyid(&self) -> KeyId {
        self.public_key.id()
    }
}

/// A verified snapshot ready to be stored.
#[derive(Clone, Debug)]
pub struct NewSnapshot {
    /// Digest of the payload.
    pub digest: Digest,
    /// Its chain.
    pub chain: ChainKey,
    /// The asset's display name.
    pub asset_name: String,
    /// Sequence in the chain.
    pub sequence: u64,
    /// Digest named as predecessor.
    pub previous_digest: Option<Digest>,
    /// When it was collected.
    pub collected_at: Timestamp,
    /// When the server received it.
    pub received_at: Timestamp,
    /// The envelope exactly as received.
    pub envelope: Vec<u8>,
    /// The signed receipt (DSSE envelope JSON) to store and return.
    pub receipt: Vec<u8>,
}

/// What happened to a snapshot given to [`Store::ingest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IngestOutcome {
    /// Stored now; the receipt given is the one kept.
    Stored {
        /// The stored receipt.
        receipt: Vec<u8>,
    },
    /// Already stored; nothing new was written, and this is the original receipt.
    Duplicate {
        /// The receipt given when it was first accepted.
        receipt: Vec<u8>,
    },
}

/// A rejected submission, kept for the security team.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// When.
    pub at: Timestamp,
    /// The client's address.
    pub remote: String,
    /// The reason code.
    pub reason: String,
    /// The message sent back.
    pub message: String,
    /// The agent, when the key was known.
    pub agent_id: Option<String>,
    /// SHA-256 of the body.
    pub body_sha256: Digest,
    /// Size of the body in bytes.
    pub body_size: u64,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The snapshot does not extend its chain.
    #[error("chain {chain}: {source}")]
    Chain {
        /// The chain.
        chain: ChainKey,
        /// Why.
        source: LinkError,
    },
    /// The enrolment token is unknown, used or expired.
    #[error("enrolment token is unknown, already used or expired")]
    BadToken,
    /// The key is already enrolled.
    #[error("this public key is already enrolled as agent {0}")]
    KeyTaken(String),
    /// The storage backend failed.
    #[error("storage failure: {0}")]
    Backend(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// Everything the server keeps. See the module documentation.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Every enrolled agent.
    async fn agents(&self) -> Result<Vec<AgentRecord>, StoreError>;
    /// Records a one-time enrolment token by its hash.
    async fn add_enroll_token(
        &self,
        hash: Digest,
        created_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Consumes an enrolment token and records the agent, in one step.
    async fn enroll(&self, token_hash: Digest, agent: AgentRecord) -> Result<(), StoreError>;
    /// Records an API token by its hash.
    async fn add_api_token(
        &self,
        hash: Digest,
        role: Role,
        label: &str,
        created_at: Timestamp,
    ) -> Result<(), StoreError>;
    /// The role of an API token, by its hash.
    async fn api_token_role(&self, hash: Digest) -> Result<Option<Role>, StoreError>;
    /// Stores a verified snapshot exactly once, checking its chain link atomically.
    async fn ingest(&self, snapshot: NewSnapshot) -> Result<IngestOutcome, StoreError>;
    /// Appends to the log of rejected submissions.
    async fn record_rejection(&self, rejection: Rejection) -> Result<(), StoreError>;
    /// The newest rejections, newest first.
    async fn rejections(&self, limit: u32) -> Result<Vec<Rejection>, StoreError>;
    /// Every asset chain with its head.
    async fn assets(&self) -> Result<Vec<AssetSummary>, StoreError>;
    /// Replaces the tags of an asset; `false` when no chain of that asset is stored.
    async fn set_asset_tags(
        &self,
        kind: AssetKind,
        asset_id: String,
        tags: std::collections::BTreeMap<String, String>,
    ) -> Result<bool, StoreError>;
    /// Every asset chain (of one asset: `only`) as it stood at `at`: only snapshots received
    /// by then count.
    async fn assets_as_of(
        &self,
        at: Timestamp,
        only: Option<(AssetKind, String)>,
    ) -> Result<Vec<AssetSummary>, StoreError>;
    /// Snapshots of an asset, by agent and sequence, after `after_sequence`, at most `limit`.
    async fn snapshots(
        &self,
        kind: AssetKind,
        asset_id: &str,
        after_sequence: u64,
        limit: u32,
    ) -> Result<Vec<SnapshotSummary>, StoreError>;
    /// The envelope of a snapshot, byte for byte as received.
    async fn envelope(&self, digest: Digest) -> Result<Option<Vec<u8>>, StoreError>;
    /// The receipt of a snapshot.
    async fn receipt(&self, digest: Digest) -> Result<Option<Vec<u8>>, StoreError>;
    /// How many snapshots are stored.
    async fn snapshot_count(&self) -> Result<u64, StoreError>;
    /// Every snapshot collected in `[from, to)` of an asset of one of `kinds` (and received by
    /// `received_by`, when given), by digest: the population an auditor samples from.
    async fn population(
        &self,
        from: Timestamp,
        to: Timestamp,
        kinds: Vec<AssetKind>,
        received_by: Option<Timestamp>,
    ) -> Result<Vec<SnapshotRef>, StoreError>;
    /// Keeps a policy pack's files under its digest (once; later calls change nothing), so that
    /// every stored result can be re-derived from the pack that produced it.
    async fn record_pack(&self, pack: PackRecord) -> Result<(), StoreError>;
    /// A kept policy pack, by digest.
    async fn pack(&self, digest: &str) -> Result<Option<PackRecord>, StoreError>;
    /// Snapshots no pack has evaluated yet, oldest received first, at most `limit`.
    async fn unevaluated(&self, limit: u32) -> Result<Vec<Digest>, StoreError>;
    /// Snapshots in the scope of re-evaluation run `run` that its pack has not evaluated yet.
    async fn pending_for_run(&self, run: i64, limit: u32) -> Result<Vec<Digest>, StoreError>;
    /// Stores evaluations (each snapshot × pack once: a repeat changes nothing).
    async fn record_evaluations(&self, evaluations: Vec<Evaluation>) -> Result<(), StoreError>;
    /// Every evaluation of one snapshot, oldest first.
    async fn evaluations_of(&self, digest: Digest) -> Result<Vec<Evaluation>, StoreError>;
    /// Per asset chain, the newest snapshot collected at or before `as_of` (now: `None`) that
    /// has been evaluated, with its newest evaluation made at or before `as_of`.
    async fn latest_evaluations(
        &self,
        as_of: Option<Timestamp>,
    ) -> Result<Vec<AssetEvaluation>, StoreError>;
    /// Records an explicit re-evaluation request; answers its id.
    async fn start_run(&self, run: NewRun) -> Result<i64, StoreError>;
    /// Marks a run finished with the number of snapshots it evaluated.
    async fn finish_run(&self, run: i64, at: Timestamp, evaluated: u64) -> Result<(), StoreError>;
    /// Every re-evaluation run, newest first.
    async fn runs(&self) -> Result<Vec<EvaluationRun>, StoreError>;
    /// Records an accepted risk (an exception to a policy); answers its id.
    async fn add_exception(&self, exception: NewException) -> Result<i64, StoreError>;
    /// Every exception ever recorded, oldest first (expired and revoked ones included: the
    /// history of risk treatment is evidence too).
    async fn exceptions(&self) -> Result<Vec<ExceptionRecord>, StoreError>;
    /// Keeps a signed attestation and its document (once: a repeat changes nothing).
    async fn add_attestation(
        &self,
        attestation: AttestationRecord,
        document: Option<Vec<u8>>,
    ) -> Result<(), StoreError>;
    /// Attestations, of one control or all, oldest first.
    async fn attestations(
        &self,
        control: Option<String>,
    ) -> Result<Vec<AttestationRecord>, StoreError>;
    /// The document attached to an attestation.
    async fn attestation_document(&self, digest: Digest) -> Result<Option<Vec<u8>>, StoreError>;
    /// Appends to the history of control statuses (a change already recorded with the same
    /// framework, control and `since` changes nothing).
    async fn record_control_changes(&self, changes: Vec<ControlChange>) -> Result<(), StoreError>;
    /// The recorded history of control statuses, of one framework or all, oldest `since` first.
    async fn control_history(
        &self,
        framework: Option<String>,
    ) -> Result<Vec<ControlChange>, StoreError>;
    /// Makes every write accepted so far durable and releases the backend; writes after this
    /// fail, reads may still work. The server calls it on shutdown.
    async fn close(&self) -> Result<(), StoreError>;
}
