//! The snapshot: one signed collection of evidence about one asset.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canonical::{self, CanonicalError, CheckError, Problem};
use crate::dsse::{self, Envelope};
use crate::limits::Limit;
use crate::sources::AssetKind;
use crate::{Digest, SigningKey, Timestamp};

/// The schema version this crate writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// The DSSE payload type of a snapshot.
pub const SNAPSHOT_PAYLOAD_TYPE: &str = "application/vnd.vouch.snapshot+json";

/// The asset a snapshot describes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    /// What kind of asset.
    pub kind: AssetKind,
    /// A stable id: the machine id of a host, an AWS account id, a cluster's uid, an org login.
    pub id: String,
    /// A name for people: hostname, account alias, cluster name, org name.
    pub name: String,
}

/// How one collector's run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum RunOutcome {
    /// The collector ran to completion (some items may still be unavailable).
    Ok,
    /// The collector failed, panicked or overran its time budget.
    Error {
        /// What went wrong.
        message: String,
    },
}

/// One collector's run inside a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectorRun {
    /// The collector's name, e.g. `host`.
    pub name: String,
    /// The collector's version.
    pub version: String,
    /// When it started.
    #[serde(deserialize_with = "crate::timestamp::deserialize_canonical")]
    pub started_at: Timestamp,
    /// When it finished.
    #[serde(deserialize_with = "crate::timestamp::deserialize_canonical")]
    pub finished_at: Timestamp,
    /// How it ended.
    pub outcome: RunOutcome,
}

/// Where a piece of evidence was read from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    /// A file, by its path on the asset (not below the collector's root).
    File(String),
    /// An API call, e.g. `iam:GetAccountPasswordPolicy` or `GET /orgs/{org}`.
    Api(String),
    /// A command with its arguments, e.g. `sshd -T`.
    Command(String),
    /// A system call or kernel interface, e.g. `sysinfo(2)`.
    Syscall(String),
}

/// Whether an item's value could be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// The value was read.
    Ok,
    /// The value could not be read; `reason` says why and `value` is null.
    Unavailable,
}

/// One fact about the asset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceItem {
    /// The fact, as typed JSON (null when unavailable).
    pub value: Value,
    /// Where it came from.
    pub source: Source,
    /// Whether it could be read.
    pub status: ItemStatus,
    /// Why it could not be read (only when unavailable; absent, never null, otherwise).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_string"
    )]
    pub reason: Option<String>,
}

impl EvidenceItem {
    /// A fact that was read.
    pub fn ok(value: impl Into<Value>, source: Source) -> Self {
        EvidenceItem {
            value: value.into(),
            source,
            status: ItemStatus::Ok,
            reason: None,
        }
    }

    /// A fact that could not be read, and why.
    pub fn unavailable(source: Source, reason: impl Into<String>) -> Self {
        EvidenceItem {
            value: Value::Null,
            source,
            status: ItemStatus::Unavailable,
            reason: Some(reason.into()),
        }
    }
}

/// The chain a snapshot belongs to: one per agent and asset.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ChainKey {
    /// The agent that signs the chain.
    pub agent_id: String,
    /// The asset's kind.
    pub asset_kind: AssetKind,
    /// The asset's id.
    pub asset_id: String,
}

impl fmt::Display for ChainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}:{}", self.agent_id, self.asset_kind, self.asset_id)
    }
}

/// A signed, chained collection of evidence about one asset at one instant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The enrolled agent that collected and signed it.
    pub agent_id: String,
    /// The asset described.
    pub asset: Asset,
    /// When collection started (UTC).
    #[serde(deserialize_with = "crate::timestamp::deserialize_canonical")]
    pub collected_at: Timestamp,
    /// Position in the chain of this agent and asset, from 1.
    pub sequence: u64,
    /// Digest of the previous snapshot of the chain; null only for sequence 1 (present
    /// either way).
    #[serde(deserialize_with = "Option::deserialize")]
    pub previous_digest: Option<Digest>,
    /// The collectors that ran.
    pub collectors: Vec<CollectorRun>,
    /// The evidence, keyed by dotted evidence id (`source.area.fact`).
    pub evidence: BTreeMap<String, EvidenceItem>,
}

/// The fields of a snapshot that place it in its chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainLink {
    /// The chain.
    pub chain: ChainKey,
    /// Its position.
    pub sequence: u64,
    /// The digest it names as predecessor.
    pub previous_digest: Option<Digest>,
}

/// A snapshot's identifying fields without its evidence: what an auditor's chain check needs.
/// Parsing skips the evidence without allocating, so it costs a fraction of a full parse.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SnapshotHeader {
    /// Schema version.
    pub schema_version: u32,
    /// The signing agent.
    pub agent_id: String,
    /// The asset.
    pub asset: Asset,
    /// When collected.
    #[serde(deserialize_with = "crate::timestamp::deserialize_canonical")]
    pub collected_at: Timestamp,
    /// Position in the chain.
    pub sequence: u64,
    /// Predecessor's digest.
    #[serde(deserialize_with = "Option::deserialize")]
    pub previous_digest: Option<Digest>,
}

impl SnapshotHeader {
    /// The header from the two ends of a canonically laid-out payload, or `None` when the
    /// payload is laid out any other way. An unescaped `,"` never occurs inside a JSON string,
    /// so the first `,"collectors":` and the last `,"previous_digest":` are member boundaries;
    /// each end must then parse as a closed object holding exactly the expected members, which
    /// also proves the last one is a member of the top-level object.
    fn from_canonical_ends(bytes: &[u8]) -> Option<Self> {
        const FRONT_END: &[u8] = b",\"collectors\":";
        const BACK_START: &[u8] = b",\"previous_digest\":";
        let front_end = memchr::memmem::find(bytes, FRONT_END)?;
        let back_start = memchr::memmem::rfind(bytes, BACK_START)?;
        if back_start <= front_end {
            return None;
        }
        let mut front = Vec::with_capacity(front_end + 1);
        front.extend_from_slice(&bytes[..front_end]);
        front.push(b'}');
        let front: HeaderFront = serde_json::from_slice(&front).ok()?;
        let mut back = Vec::with_capacity(bytes.len() - back_start);
        back.push(b'{');
        back.extend_from_slice(&bytes[back_start + 1..]);
        let back: HeaderBack = serde_json::from_slice(&back).ok()?;
        Some(SnapshotHeader {
            schema_version: back.schema_version,
            agent_id: front.agent_id,
            asset: front.asset,
            collected_at: front.collected_at,
            sequence: back.sequence,
            previous_digest: back.previous_digest,
        })
    }

    /// Parses the header fields of a snapshot payload.
    ///
    /// On the canonical layout (RFC 8785 sorts the keys, so the header fields sit before
    /// `collectors` and after `evidence`) only those two ends are parsed and the evidence
    /// between them is not read at all: this is what `vouch verify --signatures-only` relies
    /// on, and it does not prove the skipped part well-formed (the default check does). Any
    /// other layout, including a key the header does not expect at either end, is parsed in
    /// full, so the result never depends on which path was taken.
    pub fn from_payload(bytes: &[u8]) -> Result<Self, SnapshotError> {
        let h = match Self::from_canonical_ends(bytes) {
            Some(h) => h,
            None => serde_json::from_slice(bytes)?,
        };
        if h.schema_version != SCHEMA_VERSION {
            return Err(SnapshotError::SchemaVersion(h.schema_version));
        }
        Ok(h)
    }

    /// Where it sits in its chain.
    pub fn link(&self) -> ChainLink {
        ChainLink {
            chain: ChainKey {
                agent_id: self.agent_id.clone(),
                asset_kind: self.asset.kind,
                asset_id: self.asset.id.clone(),
            },
            sequence: self.sequence,
            previous_digest: self.previous_digest,
        }
    }
}

/// The header members that sort before `collectors`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderFront {
    agent_id: String,
    asset: Asset,
    #[serde(deserialize_with = "crate::timestamp::deserialize_canonical")]
    collected_at: Timestamp,
}

/// The header members that sort after `evidence`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderBack {
    #[serde(deserialize_with = "Option::deserialize")]
    previous_digest: Option<Digest>,
    schema_version: u32,
    sequence: u64,
}

/// Why bytes are not a valid snapshot.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Not snapshot JSON.
    #[error("payload is not a snapshot: {0}")]
    Json(#[from] serde_json::Error),
    /// A value with no canonical form.
    #[error(transparent)]
    Canonical(#[from] CanonicalError),
    /// The bytes are not in RFC 8785 canonical form: where, and the rule broken.
    #[error("payload is not in RFC 8785 canonical form: {0}")]
    NotCanonical(CheckError),
    /// The bytes exceed a structural limit of [`crate::limits`].
    #[error("payload refused at byte {offset}: {limit}")]
    Limit {
        /// The limit.
        limit: Limit,
        /// Where it was exceeded.
        offset: usize,
    },
    /// A schema version this build does not know.
    #[error("schema version {0} is not supported (this build reads {SCHEMA_VERSION})")]
    SchemaVersion(u32),
    /// A rule of the schema is broken.
    #[error("invalid snapshot: {0}")]
    Invalid(String),
}

/// [`canonical::check`], its error told apart: a broken rule or an exceeded limit.
fn check_canonical(bytes: &[u8]) -> Result<(), SnapshotError> {
    canonical::check(bytes).map_err(|e| match e.problem {
        Problem::Limit(limit) => SnapshotError::Limit {
            limit,
            offset: e.offset,
        },
        Problem::Rule(_) => SnapshotError::NotCanonical(e),
    })
}

/// A snapshot parsed for checking only: evidence values stay raw JSON slices of the input.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BorrowedSnapshot<'a> {
    schema_version: u32,
    agent_id: String,
    asset: Asset,
    #[serde(deserialize_with = "crate::timestamp::deserialize_canonical")]
    collected_at: Timestamp,
    sequence: u64,
    #[serde(deserialize_with = "Option::deserialize")]
    previous_digest: Option<Digest>,
    collectors: Vec<CollectorRun>,
    #[serde(borrow, deserialize_with = "evidence_members")]
    evidence: Vec<(BorrowedKey<'a>, BorrowedItem<'a>)>,
}

#[derive(Deserialize)]
struct BorrowedKey<'a>(#[serde(borrow)] std::borrow::Cow<'a, str>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BorrowedItem<'a> {
    #[serde(borrow)]
    value: &'a serde_json::value::RawValue,
    #[serde(rename = "source")]
    _source: Source,
    status: ItemStatus,
    #[serde(default, deserialize_with = "present_string")]
    reason: Option<String>,
}

/// An optional string member that, when present, is a string: `"reason": null` is not a
/// second spelling of an absent reason.
fn present_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

/// The evidence object as a list of members; canonical order was checked beforehand.
fn evidence_members<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<(BorrowedKey<'de>, BorrowedItem<'de>)>, D::Error> {
    struct Members;
    impl<'de> serde::de::Visitor<'de> for Members {
        type Value = Vec<(BorrowedKey<'de>, BorrowedItem<'de>)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object of evidence items keyed by id")
        }
        fn visit_map<M: serde::de::MapAccess<'de>>(
            self,
            mut m: M,
        ) -> Result<Self::Value, M::Error> {
            let mut out = Vec::with_capacity(m.size_hint().unwrap_or(64));
            while let Some(entry) = m.next_entry()? {
                out.push(entry);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Members)
}

fn invalid<T>(m: String) -> Result<T, SnapshotError> {
    Err(SnapshotError::Invalid(m))
}

fn validate_header(
    schema_version: u32,
    agent_id: &str,
    asset: &Asset,
    sequence: u64,
    previous_digest: Option<Digest>,
) -> Result<(), SnapshotError> {
    if schema_version != SCHEMA_VERSION {
        return Err(SnapshotError::SchemaVersion(schema_version));
    }
    if agent_id.is_empty() || asset.id.is_empty() {
        return invalid("agent_id and asset.id must not be empty".into());
    }
    match (sequence, previous_digest) {
        (0, _) => invalid("sequence starts at 1".into()),
        (1, Some(_)) => invalid("sequence 1 must have previous_digest null".into()),
        (n, None) if n > 1 => invalid(format!("sequence {n} must name its previous_digest")),
        _ => Ok(()),
    }
}

fn validate_runs(runs: &[CollectorRun]) -> Result<(), SnapshotError> {
    for run in runs {
        if run.finished_at < run.started_at {
            return invalid(format!("collector {} finished before it started", run.name));
        }
    }
    Ok(())
}

fn validate_item(
    id: &str,
    status: ItemStatus,
    reason: Option<&str>,
    value_is_null: bool,
) -> Result<(), SnapshotError> {
    if !is_valid_evidence_id(id) {
        return invalid(format!(
            "evidence id {id:?} is not of the form source.area.fact"
        ));
    }
    match (status, reason, value_is_null) {
        (ItemStatus::Ok, None, _) => Ok(()),
        (ItemStatus::Ok, Some(_), _) => {
            invalid(format!("evidence {id}: status ok must not carry a reason"))
        }
        (ItemStatus::Unavailable, Some(r), true) if !r.is_empty() => Ok(()),
        (ItemStatus::Unavailable, _, _) => invalid(format!(
            "evidence {id}: status unavailable needs a reason and a null value"
        )),
    }
}

/// Facts that change on every collection by their nature, so drift views and change alerts
/// leave them out. Part of the contract: the agent that collects them and the server that shows
/// drift must agree on them.
pub const VOLATILE_EVIDENCE: &[&str] =
    &["host.system.uptime_seconds", "host.memory.available_bytes"];

/// Whether evidence `id` changes on every collection by its nature (uptime, free memory).
pub fn is_volatile(id: &str) -> bool {
    VOLATILE_EVIDENCE.contains(&id)
}

/// Whether `id` is a well-formed evidence id: at least three dot-separated segments of
/// `[a-z0-9_]`, each starting with a letter (`host.ssh.permit_root_login`).
pub fn is_valid_evidence_id(id: &str) -> bool {
    let segments: Vec<&str> = id.split('.').collect();
    segments.len() >= 3
        && segments.iter().all(|s| {
            s.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}

impl Snapshot {
    /// The chain this snapshot belongs to.
    pub fn chain_key(&self) -> ChainKey {
        ChainKey {
            agent_id: self.agent_id.clone(),
            asset_kind: self.asset.kind,
            asset_id: self.asset.id.clone(),
        }
    }

    /// Where it sits in its chain.
    pub fn link(&self) -> ChainLink {
        ChainLink {
            chain: self.chain_key(),
            sequence: self.sequence,
            previous_digest: self.previous_digest,
        }
    }

    /// Checks the rules serde cannot express.
    pub fn validate(&self) -> Result<(), SnapshotError> {
        validate_header(
            self.schema_version,
            &self.agent_id,
            &self.asset,
            self.sequence,
            self.previous_digest,
        )?;
        validate_runs(&self.collectors)?;
        for (id, item) in &self.evidence {
            validate_item(
                id,
                item.status,
                item.reason.as_deref(),
                item.value.is_null(),
            )?;
        }
        Ok(())
    }

    /// Checks a payload as the server does on ingest: exactly canonical bytes and every schema
    /// rule, without building the evidence in memory. Returns the header.
    pub fn check_payload(bytes: &[u8]) -> Result<SnapshotHeader, SnapshotError> {
        check_canonical(bytes)?;
        let b: BorrowedSnapshot<'_> = serde_json::from_slice(bytes)?;
        validate_header(
            b.schema_version,
            &b.agent_id,
            &b.asset,
            b.sequence,
            b.previous_digest,
        )?;
        validate_runs(&b.collectors)?;
        for (BorrowedKey(id), item) in &b.evidence {
            validate_item(
                id,
                item.status,
                item.reason.as_deref(),
                item.value.get() == "null",
            )?;
        }
        Ok(SnapshotHeader {
            schema_version: b.schema_version,
            agent_id: b.agent_id,
            asset: b.asset,
            collected_at: b.collected_at,
            sequence: b.sequence,
            previous_digest: b.previous_digest,
        })
    }

    /// The RFC 8785 canonical bytes: the DSSE payload.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, SnapshotError> {
        Ok(canonical::to_vec(self)?)
    }

    /// SHA-256 of the canonical bytes.
    pub fn digest(&self) -> Result<Digest, SnapshotError> {
        Ok(Digest::of(&self.canonical_bytes()?))
    }

    /// Validates, canonicalises and signs the snapshot; returns the envelope and the digest.
    pub fn sign(&self, key: &SigningKey) -> Result<(Envelope, Digest), SnapshotError> {
        self.validate()?;
        let bytes = self.canonical_bytes()?;
        // The agent never signs what the server would refuse by its limits.
        check_canonical(&bytes)?;
        Ok((
            dsse::sign(key, SNAPSHOT_PAYLOAD_TYPE, &bytes),
            Digest::of(&bytes),
        ))
    }

    /// Parses a payload, requiring it to be valid and exactly canonical, so that one snapshot
    /// has exactly one byte form and one digest.
    pub fn from_payload(bytes: &[u8]) -> Result<Self, SnapshotError> {
        check_canonical(bytes)?;
        let snapshot: Snapshot = serde_json::from_slice(bytes)?;
        snapshot.validate()?;
        Ok(snapshot)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small valid snapshot for tests in this crate.
    pub(crate) fn sample(sequence: u64, previous: Option<Digest>) -> Snapshot {
        let mut evidence = BTreeMap::new();
        evidence.insert(
            "host.os.kernel".to_string(),
            EvidenceItem::ok(
                "6.1.0-28-amd64",
                Source::File("/proc/sys/kernel/osrelease".into()),
            ),
        );
        evidence.insert(
            "host.shadow.empty_password_count".to_string(),
            EvidenceItem::unavailable(Source::File("/etc/shadow".into()), "permission denied"),
        );
        let t: Timestamp = "2026-11-24T02:00:00Z".parse().unwrap();
        Snapshot {
            schema_version: SCHEMA_VERSION,
            agent_id: "agent-1".into(),
            asset: Asset {
                kind: AssetKind::Host,
                id: "m-1".into(),
                name: "web-1".into(),
            },
            collected_at: t,
            sequence,
            previous_digest: previous,
            collectors: vec![CollectorRun {
                name: "host".into(),
                version: "0.1.0".into(),
                started_at: t,
                finished_at: t,
                outcome: RunOutcome::Ok,
            }],
            evidence,
        }
    }

    #[test]
    fn canonical_round_trip_and_wire_shape() {
        let s = sample(1, None);
        let bytes = s.canonical_bytes().unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.starts_with(r#"{"agent_id":"agent-1","asset":{"id":"m-1","kind":"host""#));
        assert!(text.contains(r#""outcome":{"status":"ok"}"#));
        assert!(text.contains(r#""source":{"file":"/etc/shadow"}"#));
        assert!(text.contains(r#""previous_digest":null"#));
        assert_eq!(Snapshot::from_payload(&bytes).unwrap(), s);
    }

    #[test]
    fn non_canonical_payloads_are_refused() {
        let s = sample(1, None);
        let pretty = serde_json::to_vec_pretty(&s).unwrap();
        assert!(matches!(
            Snapshot::from_payload(&pretty),
            Err(SnapshotError::NotCanonical(_))
        ));
    }

    /// The fast ingest check and the full parse accept and refuse the same payloads.
    #[test]
    fn check_payload_agrees_with_from_payload() {
        let good = sample(2, Some(Digest::of(b"p")));
        let mut cases = vec![good.clone()];
        let mut bad_id = good.clone();
        bad_id.evidence.insert(
            "Bad.Id".into(),
            EvidenceItem::ok(1, Source::Syscall("x".into())),
        );
        cases.push(bad_id);
        let mut reason_on_ok = good.clone();
        reason_on_ok
            .evidence
            .get_mut("host.os.kernel")
            .unwrap()
            .reason = Some("r".into());
        cases.push(reason_on_ok);
        let mut value_on_unavailable = good.clone();
        value_on_unavailable
            .evidence
            .get_mut("host.shadow.empty_password_count")
            .unwrap()
            .value = 3.into();
        cases.push(value_on_unavailable);
        let mut no_prev = good.clone();
        no_prev.previous_digest = None;
        cases.push(no_prev);
        let mut valid = 0;
        for s in cases {
            let bytes = canonical::to_vec(&s).unwrap();
            let full = Snapshot::from_payload(&bytes);
            let fast = Snapshot::check_payload(&bytes);
            assert_eq!(full.is_ok(), fast.is_ok(), "{full:?} vs {fast:?}");
            if let (Ok(f), Ok(h)) = (full, fast) {
                assert_eq!(f.link(), h.link());
                valid += 1;
            }
        }
        assert_eq!(valid, 1);
        let pretty = serde_json::to_vec_pretty(&good).unwrap();
        assert!(matches!(
            Snapshot::check_payload(&pretty),
            Err(SnapshotError::NotCanonical(_))
        ));
        let mut v = serde_json::to_value(&good).unwrap();
        v["evidence"]["host.os.kernel"]["extra"] = 1.into();
        let bytes = canonical::value_to_vec(&v).unwrap();
        assert!(Snapshot::from_payload(&bytes).is_err());
        assert!(Snapshot::check_payload(&bytes).is_err());
    }

    #[test]
    fn schema_rules() {
        assert!(sample(0, None).validate().is_err());
        assert!(sample(2, None).validate().is_err());
        assert!(sample(1, Some(Digest::of(b"x"))).validate().is_err());
        assert!(sample(2, Some(Digest::of(b"x"))).validate().is_ok());

        let mut s = sample(1, None);
        s.evidence.insert(
            "Host.Bad".into(),
            EvidenceItem::ok(1, Source::Syscall("x".into())),
        );
        assert!(s.validate().is_err());

        let mut s = sample(1, None);
        s.schema_version = 99;
        assert!(matches!(
            s.validate(),
            Err(SnapshotError::SchemaVersion(99))
        ));

        let mut s = sample(1, None);
        s.evidence.get_mut("host.os.kernel").unwrap().reason = Some("why".into());
        assert!(s.validate().is_err());
    }

    #[test]
    fn evidence_ids() {
        assert!(is_valid_evidence_id("host.ssh.permit_root_login"));
        assert!(is_valid_evidence_id("aws.s3.bucket.encryption"));
        assert!(!is_valid_evidence_id("host.ssh"));
        assert!(!is_valid_evidence_id("host..x"));
        assert!(!is_valid_evidence_id("host.ssh.1x"));
        assert!(!is_valid_evidence_id("host.ssh.permit-root"));
    }

    #[test]
    fn header_parses_without_the_evidence() {
        let s = sample(2, Some(Digest::of(b"p")));
        let h = SnapshotHeader::from_payload(&s.canonical_bytes().unwrap()).unwrap();
        assert_eq!(h.link(), s.link());
        assert_eq!(h.collected_at, s.collected_at);
    }

    /// The fast header read must agree with a full parse on every layout, and take the fast
    /// path only on the canonical one.
    #[test]
    fn header_read_from_the_ends_agrees_with_a_full_parse() {
        let mut s = sample(7, Some(Digest::of(b"p")));
        // Evidence that imitates the header members, in a value and in a string.
        s.evidence.insert(
            "host.decoy.members".into(),
            EvidenceItem::ok(
                serde_json::json!({"a": 1, "previous_digest": null, "schema_version": 1, "sequence": 99}),
                Source::File(r#"/x/,"collectors":"#.into()),
            ),
        );
        let canonical = s.canonical_bytes().unwrap();
        let full: SnapshotHeader = serde_json::from_slice(&canonical).unwrap();
        let fast = SnapshotHeader::from_canonical_ends(&canonical).expect("canonical layout");
        assert_eq!(fast, full);
        assert_eq!(fast.sequence, 7);

        // serde_json's own order (struct order) is not canonical: header read in full.
        let struct_order = serde_json::to_vec(&s).unwrap();
        assert!(SnapshotHeader::from_canonical_ends(&struct_order).is_none());
        assert_eq!(SnapshotHeader::from_payload(&struct_order).unwrap(), full);

        // A last `previous_digest` that belongs to a nested object is not taken for the header.
        let mut v = serde_json::to_value(&s).unwrap();
        v.as_object_mut().unwrap().remove("previous_digest");
        let nested = String::from_utf8(crate::canonical::value_to_vec(&v).unwrap()).unwrap();
        assert!(SnapshotHeader::from_canonical_ends(nested.as_bytes()).is_none());
        // Nor is the header read without it: a missing `previous_digest` is not a second
        // spelling of null (found by fuzzing, issue 15).
        let e = SnapshotHeader::from_payload(nested.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("previous_digest"), "{e}");

        // An unexpected member at either end sends it to the full parse.
        let mut extra = String::from_utf8(canonical.clone()).unwrap();
        let at = extra.rfind(r#","schema_version":"#).unwrap();
        extra.insert_str(at, r#","rogue":1"#);
        assert!(SnapshotHeader::from_canonical_ends(extra.as_bytes()).is_none());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let s = sample(1, None);
        let mut v = serde_json::to_value(&s).unwrap();
        v["extra"] = Value::Bool(true);
        assert!(serde_json::from_value::<Snapshot>(v).is_err());
    }
}
