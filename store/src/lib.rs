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

pub mod access;
pub mod objects;
pub mod postgres;
pub mod results;
pub mod schema;
pub mod scope;
pub mod sqlite;

/// Every store trait, for `use vouch_store::prelude::*;`: calling a method through
/// `Arc<dyn Store>` needs the trait that declares it in scope.
pub mod prelude {
    pub use crate::{
        AccessStore, ControlHistoryStore, EvidenceStore, GovernanceStore, IngestStore,
        JudgingStore, LogStore, RetentionStore, Store,
    };
}

pub use access::{
    AuditEntry, RetiredKey, Revocation, RevokeOutcome, Role, RotateOutcome, TokenKind, TokenRecord,
};

pub use results::{
    AssetEvaluation, AttestationRecord, ControlChange, Evaluation, EvaluationRun, ExceptionRecord,
    NewException, NewRun, PackRecord, StoredResult,
};

use async_trait::async_trait;
use vouch_evidence::api::{AssetSummary, SnapshotRef, SnapshotSummary};
use vouch_evidence::chain::LinkError;
use vouch_evidence::{AssetKind, ChainKey, Digest, KeyId, PublicKey, Timestamp};

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
    /// The assets it may write, fixed at enrolment from its token's scope.
    pub binding: crate::scope::Binding,
    /// Its revocation, once revoked: nothing it signs is accepted after it.
    pub revoked: Option<Revocation>,
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

/// Where a stored snapshot's envelope is (see [`Store::envelope_location`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvelopeLocation {
    /// In the database: the bytes as received (always so without object storage, and until
    /// the uploader has moved it).
    Inline(Vec<u8>),
    /// In object storage, under the SHA-256 of its bytes.
    Object {
        /// SHA-256 of the envelope bytes: the object's key and the check on reading it back.
        sha256: Digest,
    },
    /// Removed by retention.
    Expired {
        /// When.
        at: Timestamp,
    },
}

/// An envelope claimed for moving to object storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingUpload {
    /// The snapshot's digest.
    pub digest: Digest,
    /// The envelope bytes as received.
    pub envelope: Vec<u8>,
}

/// A snapshot retention may remove (see [`Store::expiry_candidates`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiryCandidate {
    /// The snapshot's digest.
    pub digest: Digest,
    /// Its chain.
    pub chain: ChainKey,
    /// Its position.
    pub sequence: u64,
    /// When it was collected.
    pub collected_at: Timestamp,
    /// The SHA-256 of its envelope when the envelope is in object storage.
    pub object: Option<Digest>,
}

/// An audit period to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAuditPeriod {
    /// The framework audited (`iso27001-2022`).
    pub framework: String,
    /// A name for people ("2026 surveillance audit").
    pub label: String,
    /// First instant of the period under audit.
    pub from: Timestamp,
    /// End of the period under audit (exclusive).
    pub to: Timestamp,
    /// When it was opened.
    pub opened_at: Timestamp,
}

/// An audit period: while open, retention removes no evidence collected inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditPeriod {
    /// Its id.
    pub id: i64,
    /// What was opened.
    pub period: NewAuditPeriod,
    /// When it was closed; `None` while open.
    pub closed_at: Option<Timestamp>,
}

impl AuditPeriod {
    /// Whether it is open and `collected_at` lies inside it.
    pub fn holds(&self, collected_at: Timestamp) -> bool {
        self.closed_at.is_none()
            && self.period.from <= collected_at
            && collected_at < self.period.to
    }
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

/// Rejections of enrolled agents kept at most; older ones are dropped as new ones arrive.
pub const MAX_REJECTIONS_KEPT: i64 = 10_000;

/// How many submissions were refused for one reason in one minute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectionCount {
    /// The minute's first instant.
    pub minute: Timestamp,
    /// The reason code.
    pub reason: String,
    /// How many.
    pub count: u64,
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
    /// The snapshot's envelope was removed by retention.
    #[error("snapshot {digest} expired by retention at {at}; its record and receipt remain")]
    Expired {
        /// The snapshot.
        digest: Digest,
        /// When it expired.
        at: Timestamp,
    },
    /// The object store failed, or holds an envelope that is missing or altered.
    #[error(transparent)]
    Object(#[from] crate::objects::ObjectError),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// Enrolled agents, enrolment and API tokens, revocations and the audit log.
#[async_trait]
pub trait AccessStore: Send + Sync + 'static {
    /// Every enrolled agent.
    async fn agents(&self) -> Result<Vec<AgentRecord>, StoreError>;
    /// Records a one-time enrolment token by its hash, with the scope it grants.
    async fn add_enroll_token(
        &self,
        hash: Digest,
        created_at: Timestamp,
        expires_at: Timestamp,
        scope: &crate::scope::Scope,
        label: &str,
    ) -> Result<(), StoreError>;
    /// Consumes an enrolment token (unused, unexpired at the agent's enrolment instant,
    /// unrevoked) and records the agent with its binding, in one step.
    async fn enroll(&self, token_hash: Digest, agent: AgentRecord) -> Result<(), StoreError>;
    /// The scope of the enrolment token with hash `token_hash` if it can be used at `at`
    /// (known, with a scope, unused, unexpired, unrevoked); [`enroll`](Self::enroll) checks
    /// again as it consumes it.
    async fn enroll_token_scope(
        &self,
        token_hash: Digest,
        at: Timestamp,
    ) -> Result<Option<crate::scope::Scope>, StoreError>;
    /// Records an API token by its hash, valid until `expires_at`.
    async fn add_api_token(
        &self,
        hash: Digest,
        role: Role,
        label: &str,
        created_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError>;
    /// An API token by its hash (expired and revoked ones too: the caller names why they fail).
    async fn api_token(&self, hash: Digest) -> Result<Option<TokenRecord>, StoreError>;
    /// Records that the API token with hash `hash` was used at `at`.
    async fn touch_token(&self, hash: Digest, at: Timestamp) -> Result<(), StoreError>;
    /// Every API and enrolment token, newest first.
    async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError>;
    /// Revokes the token whose id (the first hex digits of its hash, at least 8) is `id`, and
    /// records it in the audit log, in one step.
    async fn revoke_token(
        &self,
        id: &str,
        revocation: Revocation,
    ) -> Result<RevokeOutcome<TokenRecord>, StoreError>;
    /// Revokes agent `agent_id` and records it in the audit log, in one step; an agent revoked
    /// already keeps its first revocation.
    async fn revoke_agent(
        &self,
        agent_id: &str,
        revocation: Revocation,
    ) -> Result<RevokeOutcome<AgentRecord>, StoreError>;
    /// Hands agent `agent_id`'s chains from its key `old` to `new` at `at` (the server's
    /// instant), keeping the signed `rotation` and an audit entry, in one step; a new key any
    /// agent holds or held is [`StoreError::KeyTaken`].
    async fn rotate_agent_key(
        &self,
        agent_id: &str,
        old: &PublicKey,
        new: &PublicKey,
        at: Timestamp,
        rotation: Vec<u8>,
    ) -> Result<RotateOutcome, StoreError>;
    /// Records that the server's key of role `owner` (`vouch-server-receipts`, …) was
    /// replaced: `old` is retired at `at` by the signed `rotation` (kept with agents' retired
    /// keys, so keys exports and bundles carry it), with an audit entry; recording the same
    /// retired key again changes nothing.
    async fn record_key_rotation(
        &self,
        owner: &str,
        old: &PublicKey,
        new: &PublicKey,
        at: Timestamp,
        rotation: Vec<u8>,
    ) -> Result<(), StoreError>;
    /// Every key agents (and the server's roles) held before their current one, oldest first.
    async fn retired_keys(&self) -> Result<Vec<RetiredKey>, StoreError>;
    /// Appends to the audit log.
    async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError>;
    /// The newest audit-log entries, newest first.
    async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;
}

/// Taking in verified snapshots exactly once, and the log of refused submissions.
#[async_trait]
pub trait IngestStore: Send + Sync + 'static {
    /// Stores a verified snapshot exactly once, checking its chain link atomically.
    async fn ingest(&self, snapshot: NewSnapshot) -> Result<IngestOutcome, StoreError>;
    /// Appends to the log of rejected submissions (those of enrolled agents: refusals of
    /// unknown clients are only counted, see [`add_rejection_counts`](Self::add_rejection_counts));
    /// the oldest beyond [`MAX_REJECTIONS_KEPT`] are dropped.
    async fn record_rejection(&self, rejection: Rejection) -> Result<(), StoreError>;
    /// Adds counts of refusals per minute and reason.
    async fn add_rejection_counts(&self, counts: Vec<RejectionCount>) -> Result<(), StoreError>;
    /// The counts of refusals per minute and reason from `since` on, newest first.
    async fn rejection_counts(&self, since: Timestamp) -> Result<Vec<RejectionCount>, StoreError>;
    /// The newest rejections, newest first.
    async fn rejections(&self, limit: u32) -> Result<Vec<Rejection>, StoreError>;
}

/// Reading what was accepted: assets and their chains, snapshots, envelopes (wherever they are kept), receipts and sampling populations.
#[async_trait]
pub trait EvidenceStore: Send + Sync + 'static {
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
    /// Where the envelope of a snapshot is: its bytes as received when the database holds them,
    /// the object it was moved to, or when retention removed it. `None`: no such snapshot.
    async fn envelope_location(
        &self,
        digest: Digest,
    ) -> Result<Option<EnvelopeLocation>, StoreError>;
    /// The envelope of a snapshot, byte for byte as received, wherever it is kept (read back
    /// from object storage is checked against the SHA-256 the index recorded); `None`: no
    /// such snapshot; [`StoreError::Expired`] once retention removed it.
    async fn envelope(&self, digest: Digest) -> Result<Option<Vec<u8>>, StoreError> {
        match self.envelope_location(digest).await? {
            None => Ok(None),
            Some(EnvelopeLocation::Inline(bytes)) => Ok(Some(bytes)),
            Some(EnvelopeLocation::Expired { at }) => Err(StoreError::Expired { digest, at }),
            Some(EnvelopeLocation::Object { sha256 }) => match self.objects() {
                Some(objects) => Ok(Some(objects.get(&sha256).await?)),
                None => Err(StoreError::Backend(format!(
                    "the envelope of {digest} is in object storage, which is not configured \
                     ([objects] in the server configuration)"
                ))),
            },
        }
    }
    /// The object storage envelopes are moved to, once attached.
    fn objects(&self) -> Option<&crate::objects::ObjectStore>;
    /// Attaches object storage (once; later calls change nothing): envelopes moved there are
    /// read from it.
    fn attach_objects(&self, objects: crate::objects::ObjectStore);
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
}

/// Judging: the policy packs kept, evaluations of snapshots, the queue of unjudged ones and re-evaluation runs.
#[async_trait]
pub trait JudgingStore: Send + Sync + 'static {
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
    /// Evaluations made after the cursor `after` (an evaluation's instant, snapshot and pack),
    /// oldest first, at most `limit`, each with its snapshot: the feed of verdicts.
    async fn evaluations_after(
        &self,
        after: Option<(Timestamp, Digest, String)>,
        limit: u32,
    ) -> Result<Vec<(SnapshotRef, Evaluation)>, StoreError>;
    /// Per asset chain, the newest snapshot collected at or before `as_of` (now: `None`) that
    /// has been evaluated, with its newest evaluation made at or before `as_of`.
    async fn latest_evaluations(
        &self,
        as_of: Option<Timestamp>,
    ) -> Result<Vec<AssetEvaluation>, StoreError>;
    /// [`Self::latest_evaluations`] handed over in chunks, in the same order, as they are read,
    /// so that the caller works on the first while the rest are read. Ends early, without an
    /// error, when the receiver is dropped. A backend that cannot read in chunks sends one.
    async fn latest_evaluations_chunked(
        &self,
        as_of: Option<Timestamp>,
        chunks: tokio::sync::mpsc::Sender<Vec<AssetEvaluation>>,
    ) -> Result<(), StoreError> {
        let all = self.latest_evaluations(as_of).await?;
        let _ = chunks.send(all).await;
        Ok(())
    }
    /// Records an explicit re-evaluation request; answers its id.
    async fn start_run(&self, run: NewRun) -> Result<i64, StoreError>;
    /// Marks a run finished with the number of snapshots it evaluated.
    async fn finish_run(&self, run: i64, at: Timestamp, evaluated: u64) -> Result<(), StoreError>;
    /// Every re-evaluation run, newest first.
    async fn runs(&self) -> Result<Vec<EvaluationRun>, StoreError>;
}

/// The history of control statuses.
#[async_trait]
pub trait ControlHistoryStore: Send + Sync + 'static {
    /// Appends to the history of control statuses (a change already recorded with the same
    /// framework, control and `since` changes nothing).
    async fn record_control_changes(&self, changes: Vec<ControlChange>) -> Result<(), StoreError>;
    /// The recorded history of control statuses, of one framework or all, oldest `since` first.
    async fn control_history(
        &self,
        framework: Option<String>,
    ) -> Result<Vec<ControlChange>, StoreError>;
}

/// What people decide: exceptions (accepted risks), signed attestations and audit periods.
#[async_trait]
pub trait GovernanceStore: Send + Sync + 'static {
    /// Opens an audit period (retention removes nothing collected inside it until it closes);
    /// answers its id.
    async fn add_audit_period(&self, period: NewAuditPeriod) -> Result<i64, StoreError>;
    /// Closes an audit period; `false` when there is no open period with that id.
    async fn close_audit_period(&self, id: i64, at: Timestamp) -> Result<bool, StoreError>;
    /// Every audit period, oldest first.
    async fn audit_periods(&self) -> Result<Vec<AuditPeriod>, StoreError>;
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
}

/// Moving envelopes to object storage and expiring them by retention.
#[async_trait]
pub trait RetentionStore: Send + Sync + 'static {
    /// Claims, until `lease_until`, at most `limit` envelopes still held in the database (not
    /// claimed by anyone else, or whose claim ran out before `now`), oldest received first: the
    /// uploader of each replica moves them to object storage.
    async fn claim_uploads(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<PendingUpload>, StoreError>;
    /// Records that each envelope (snapshot digest, SHA-256 of the envelope bytes) is now in
    /// object storage under that SHA-256, and drops the copy in the database; answers how many
    /// changed (an envelope expired meanwhile, or moved already, is left alone).
    async fn mark_uploaded(
        &self,
        uploaded: Vec<(Digest, Digest)>,
        at: Timestamp,
    ) -> Result<u64, StoreError>;
    /// How many envelopes are still held in the database only (not moved, not expired).
    async fn pending_uploads(&self) -> Result<u64, StoreError>;
    /// Snapshots of an asset of one of `kinds` collected before `collected_before`, not expired
    /// and not the head of their chain (the newest snapshot of a chain is always kept), oldest
    /// first (by collection instant, then digest) and after `after` when given, at most
    /// `limit`: what retention may remove.
    async fn expiry_candidates(
        &self,
        kinds: Vec<AssetKind>,
        collected_before: Timestamp,
        after: Option<(Timestamp, Digest)>,
        limit: u32,
    ) -> Result<Vec<ExpiryCandidate>, StoreError>;
    /// Removes the envelopes of `digests` from the database and marks them expired at `at`;
    /// the index row (digest, chain position, predecessor) and the receipt stay, so the chain
    /// still proves that nothing else went missing. Answers how many changed.
    async fn mark_expired(&self, digests: Vec<Digest>, at: Timestamp) -> Result<u64, StoreError>;
}

/// The head of the transparency log: how many leaves, and their root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogHead {
    /// How many leaves (accepted snapshots).
    pub size: u64,
    /// The RFC 9162 root hash of those leaves.
    pub root: vouch_evidence::tlog::Hash,
}

/// The transparency log of everything accepted: each snapshot's digest is appended as a leaf
/// in the same commit that stores it ([`IngestStore::ingest`]), and the hash of every perfect
/// subtree is kept, so that any inclusion or consistency proof is a few lookups
/// ([`vouch_evidence::tlog`]).
#[async_trait]
pub trait LogStore: Send + Sync + 'static {
    /// The log's size and root now.
    async fn log_head(&self) -> Result<LogHead, StoreError>;
    /// The hashes of perfect subtrees, in the order asked; one the log does not hold (beyond
    /// its size) is an error.
    async fn log_nodes(
        &self,
        ids: Vec<vouch_evidence::tlog::NodeId>,
    ) -> Result<Vec<vouch_evidence::tlog::Hash>, StoreError>;
    /// The leaf index of a stored snapshot; `None`: no such snapshot.
    async fn log_index(&self, digest: Digest) -> Result<Option<u64>, StoreError>;
    /// Keeps `witness`'s cosignature `line` of the log's checkpoint of `size`, received `at`;
    /// one kept before for the same size and witness is replaced (a witness asked again signs
    /// again, with a later time).
    async fn add_cosignature(
        &self,
        size: u64,
        witness: &str,
        line: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// The cosignatures kept for the checkpoint of `size`: (witness, line), by witness name.
    async fn cosignatures(&self, size: u64) -> Result<Vec<(String, String)>, StoreError>;
    /// The largest size whose checkpoint at least `quorum` witnesses cosigned.
    async fn witnessed_size(&self, quorum: usize) -> Result<Option<u64>, StoreError>;
    /// Forgets the cosignatures of checkpoints smaller than `size`; answers how many.
    async fn prune_cosignatures(&self, below: u64) -> Result<u64, StoreError>;
    /// Keeps the time-stamp `token` of the checkpoint of `size` (one per size: a second is
    /// ignored), with the time it gives.
    async fn add_timestamp(
        &self,
        size: u64,
        token: Vec<u8>,
        gen_time: Timestamp,
    ) -> Result<(), StoreError>;
    /// The time-stamp of the smallest checkpoint larger than `index` (the first that holds
    /// leaf `index`); `None` for the newest one. Answers its size, token and time.
    async fn timestamp_covering(
        &self,
        index: Option<u64>,
    ) -> Result<Option<(u64, Vec<u8>, Timestamp)>, StoreError>;
    /// The hashes of leaf ranges (a proof's, from [`vouch_evidence::tlog::inclusion_ranges`]
    /// or [`vouch_evidence::tlog::consistency_ranges`]), each folded from the few stored
    /// subtrees it is made of, all read in one lookup.
    async fn log_proof(
        &self,
        ranges: &[(u64, u64)],
    ) -> Result<Vec<vouch_evidence::tlog::Hash>, StoreError> {
        use vouch_evidence::tlog::{fold_range, range_nodes};
        let parts: Vec<_> = ranges.iter().map(|&(a, b)| range_nodes(a, b)).collect();
        let hashes = self.log_nodes(parts.concat()).await?;
        let mut at = 0;
        parts
            .iter()
            .map(|ids| {
                let folded = fold_range(&hashes[at..at + ids.len()]);
                at += ids.len();
                folded.ok_or_else(|| StoreError::Backend("an empty proof range".into()))
            })
            .collect()
    }
}

/// Everything the server keeps, one trait per concern above: a service takes the narrowest
/// it needs (`&dyn JudgingStore`…), the server holds the whole as `Arc<dyn Store>`.
#[async_trait]
pub trait Store:
    AccessStore
    + IngestStore
    + EvidenceStore
    + JudgingStore
    + ControlHistoryStore
    + GovernanceStore
    + RetentionStore
    + LogStore
{
    /// Makes every write accepted so far durable and releases the backend; writes after this
    /// fail, reads may still work. The server calls it on shutdown.
    async fn close(&self) -> Result<(), StoreError>;
}
