//! Wire types of the server's HTTP API (`/v1`), shared by agent, server and tools.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::dsse::Envelope;
use crate::{AssetKind, Digest, Timestamp};

/// `POST /v1/enroll`: an agent registers its public key with a one-time enrolment token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// The one-time enrolment token an administrator issued.
    pub token: String,
    /// The agent's Ed25519 public key, standard base64 of the 32 raw bytes.
    pub public_key: String,
    /// A name for people, usually the hostname.
    pub name: String,
    /// The assets this agent will collect that only it can name (its host, its cluster), for
    /// an enrolment token scoped to "one host" or "one cluster" without an id: the server binds
    /// the agent to them. Accounts and organisations are named by the token itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<AssetRef>,
}

/// An asset by kind and id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetRef {
    /// Its kind.
    pub kind: AssetKind,
    /// Its id.
    pub id: String,
}

impl fmt::Display for AssetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.id)
    }
}

impl std::str::FromStr for AssetRef {
    type Err = String;

    /// `kind:id`, as [`Display`](fmt::Display) writes it.
    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, id) = s
            .split_once(':')
            .ok_or_else(|| format!("{s:?} is not kind:id"))?;
        let kind = AssetKind::parse(kind).ok_or_else(|| format!("unknown asset kind {kind:?}"))?;
        if id.is_empty() {
            return Err(format!("{s:?} names no asset id"));
        }
        Ok(AssetRef {
            kind,
            id: id.to_string(),
        })
    }
}

/// The answer to a successful enrolment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollResponse {
    /// The id the server gave the agent; every snapshot it signs carries it.
    pub agent_id: String,
    /// The key id of the agent's key.
    pub keyid: String,
    /// The server's receipt public key (base64), to verify receipts with.
    pub server_key: String,
}

/// The response header of an accepted `POST /v1/snapshots` that carries a warning about the
/// snapshot, one sentence per header (e.g. the agent's clock runs ahead of the server's).
pub const WARNING_HEADER: &str = "vouch-warning";

/// The answer to an accepted `POST /v1/snapshots` (the body is the DSSE envelope).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitResponse {
    /// The digest of the snapshot.
    pub digest: Digest,
    /// True when the snapshot had already been accepted: nothing new was stored.
    pub duplicate: bool,
    /// The signed receipt (a DSSE envelope of a [`crate::Receipt`]); the same on every resend.
    pub receipt: Envelope,
    /// The transparency log's proofs for the snapshot, when the agent asked for them
    /// ([`crate::logproofs::LOG_SIZE_HEADER`]); absent otherwise, so agents from before the log
    /// read the answer as they always did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<crate::logproofs::LogProofs>,
}

/// Why the server refused a request. The `code` is stable; agents decide from it whether to
/// retry (never for these: they are the client's mistake) or to keep the snapshot spooled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// Not JSON, not a DSSE envelope, or not a snapshot.
    Malformed,
    /// The body is larger than the server accepts.
    Oversize,
    /// The payload type is not a snapshot.
    PayloadType,
    /// No signature by an enrolled key.
    UnknownKey,
    /// A signature by an enrolled key that does not verify: forged or altered.
    BadSignature,
    /// The payload is not in RFC 8785 canonical form.
    NotCanonical,
    /// A structural limit of [`crate::limits`] is exceeded (nesting depth, a string's length,
    /// members of a container, values, signatures): the message names it.
    LimitExceeded,
    /// The snapshot breaks a schema rule.
    InvalidSnapshot,
    /// The snapshot names another agent than the key's.
    AgentMismatch,
    /// The snapshot's sequence skips ahead of the chain head.
    ChainGap,
    /// The snapshot does not name the chain head's digest, or another snapshot already holds
    /// its sequence (a fork).
    ChainConflict,
    /// The snapshot claims to be collected too far in the future.
    ClockSkew,
    /// The snapshot claims to be collected before its agent enrolled (by more than the
    /// allowed clock skew): the agent's clock is wrong, or the snapshot is not its own.
    BeforeEnrolment,
    /// The enrolment token is unknown, used or expired.
    BadToken,
    /// The request needs a valid bearer token.
    Unauthorized,
    /// The token is valid but its role may not do this.
    Forbidden,
    /// The agent was revoked: nothing it signs is accepted any more (what it signed before
    /// stays verifiable).
    AgentRevoked,
    /// The key was the agent's, and the agent has rotated it: nothing signed by it is accepted
    /// any more (what it signed before stays verifiable); sign with the agent's new key.
    KeyRotated,
    /// The snapshot is for an asset outside the scope the agent was enrolled for.
    OutOfScope,
    /// The API token has expired.
    TokenExpired,
    /// The API token was revoked.
    TokenRevoked,
    /// The browser request came from another site, or lacks its CSRF token.
    CrossSite,
    /// The body is not of a content type this route accepts.
    UnsupportedMediaType,
    /// Too many requests from one address: slow down (the answer says for how long).
    RateLimited,
    /// No such resource.
    NotFound,
    /// A request parameter is wrong.
    BadRequest,
    /// The resource existed and was removed by the retention policy (its record stays).
    Gone,
}

impl RejectReason {
    /// Every reason, for metrics and documentation.
    pub const ALL: [RejectReason; 27] = [
        RejectReason::Malformed,
        RejectReason::Oversize,
        RejectReason::PayloadType,
        RejectReason::UnknownKey,
        RejectReason::BadSignature,
        RejectReason::NotCanonical,
        RejectReason::LimitExceeded,
        RejectReason::InvalidSnapshot,
        RejectReason::AgentMismatch,
        RejectReason::ChainGap,
        RejectReason::ChainConflict,
        RejectReason::ClockSkew,
        RejectReason::BeforeEnrolment,
        RejectReason::BadToken,
        RejectReason::Unauthorized,
        RejectReason::Forbidden,
        RejectReason::AgentRevoked,
        RejectReason::KeyRotated,
        RejectReason::OutOfScope,
        RejectReason::TokenExpired,
        RejectReason::TokenRevoked,
        RejectReason::CrossSite,
        RejectReason::UnsupportedMediaType,
        RejectReason::RateLimited,
        RejectReason::NotFound,
        RejectReason::BadRequest,
        RejectReason::Gone,
    ];

    /// The HTTP status this reason is sent with.
    pub fn http_status(&self) -> u16 {
        match self {
            RejectReason::Malformed
            | RejectReason::PayloadType
            | RejectReason::NotCanonical
            | RejectReason::InvalidSnapshot
            | RejectReason::BadRequest => 400,
            RejectReason::Unauthorized
            | RejectReason::UnknownKey
            | RejectReason::BadToken
            | RejectReason::TokenExpired
            | RejectReason::TokenRevoked => 401,
            RejectReason::BadSignature
            | RejectReason::AgentMismatch
            | RejectReason::Forbidden
            | RejectReason::AgentRevoked
            | RejectReason::KeyRotated
            | RejectReason::OutOfScope
            | RejectReason::CrossSite => 403,
            RejectReason::UnsupportedMediaType => 415,
            RejectReason::RateLimited => 429,
            RejectReason::NotFound => 404,
            RejectReason::Gone => 410,
            RejectReason::ChainGap | RejectReason::ChainConflict => 409,
            RejectReason::Oversize => 413,
            RejectReason::ClockSkew
            | RejectReason::BeforeEnrolment
            | RejectReason::LimitExceeded => 422,
        }
    }

    /// The snake_case code.
    pub fn as_str(&self) -> &'static str {
        match self {
            RejectReason::Malformed => "malformed",
            RejectReason::Oversize => "oversize",
            RejectReason::PayloadType => "payload_type",
            RejectReason::UnknownKey => "unknown_key",
            RejectReason::BadSignature => "bad_signature",
            RejectReason::NotCanonical => "not_canonical",
            RejectReason::LimitExceeded => "limit_exceeded",
            RejectReason::InvalidSnapshot => "invalid_snapshot",
            RejectReason::AgentMismatch => "agent_mismatch",
            RejectReason::ChainGap => "chain_gap",
            RejectReason::ChainConflict => "chain_conflict",
            RejectReason::ClockSkew => "clock_skew",
            RejectReason::BeforeEnrolment => "before_enrolment",
            RejectReason::BadToken => "bad_token",
            RejectReason::Unauthorized => "unauthorized",
            RejectReason::Forbidden => "forbidden",
            RejectReason::AgentRevoked => "agent_revoked",
            RejectReason::KeyRotated => "key_rotated",
            RejectReason::OutOfScope => "out_of_scope",
            RejectReason::TokenExpired => "token_expired",
            RejectReason::TokenRevoked => "token_revoked",
            RejectReason::CrossSite => "cross_site",
            RejectReason::UnsupportedMediaType => "unsupported_media_type",
            RejectReason::RateLimited => "rate_limited",
            RejectReason::NotFound => "not_found",
            RejectReason::BadRequest => "bad_request",
            RejectReason::Gone => "gone",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The JSON body of every 4xx and 5xx answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable code; `internal` for a 5xx.
    pub error: String,
    /// A sentence for people.
    pub message: String,
}

/// One asset in `GET /v1/assets`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetSummary {
    /// Kind of asset.
    pub kind: AssetKind,
    /// Stable asset id.
    pub id: String,
    /// Name for people.
    pub name: String,
    /// The agent whose chain this is.
    pub agent_id: String,
    /// Snapshots stored.
    pub snapshot_count: u64,
    /// Newest sequence.
    pub last_sequence: u64,
    /// Newest digest.
    pub last_digest: Digest,
    /// When the newest snapshot was collected.
    pub last_collected_at: Timestamp,
    /// When the newest snapshot was received.
    pub last_received_at: Timestamp,
    /// The organisation's tags on the asset (`env=prod`, `owner=payments`): set on the server
    /// by a security lead, not part of the signed evidence.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tags: std::collections::BTreeMap<String, String>,
}

/// How many tags an asset may carry.
pub const MAX_TAGS: usize = 32;

/// The problems with a set of asset tags: keys of 1 to 64 characters of `a-z 0-9 . _ - /`,
/// values of at most 256 characters with no control character, at most [`MAX_TAGS`].
pub fn tag_problems(tags: &std::collections::BTreeMap<String, String>) -> Vec<String> {
    let mut problems = Vec::new();
    if tags.len() > MAX_TAGS {
        problems.push(format!("{} tags: at most {MAX_TAGS}", tags.len()));
    }
    for (k, v) in tags {
        let key_ok = (1..=64).contains(&k.len())
            && k.bytes().all(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || matches!(b, b'.' | b'_' | b'-' | b'/')
            });
        if !key_ok {
            problems.push(format!(
                "tag key {k:?}: 1 to 64 characters of a-z, 0-9, '.', '_', '-', '/'"
            ));
        }
        if v.chars().count() > 256 || v.chars().any(char::is_control) {
            problems.push(format!(
                "tag {k:?}: the value must be at most 256 characters with no control character"
            ));
        }
    }
    problems
}

/// One snapshot in `GET /v1/assets/{id}/snapshots`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotSummary {
    /// Its digest (fetch the envelope at `/v1/snapshots/{digest}`).
    pub digest: Digest,
    /// The agent that signed it.
    pub agent_id: String,
    /// Sequence in its chain.
    pub sequence: u64,
    /// Digest of its predecessor.
    pub previous_digest: Option<Digest>,
    /// When it was collected.
    pub collected_at: Timestamp,
    /// When the server accepted it.
    pub received_at: Timestamp,
}

/// The population an auditor samples from and how: `GET /v1/sample` and `GET /v1/export`
/// take these as query parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleQuery {
    /// Snapshots collected at or after this instant…
    pub from: Timestamp,
    /// …and before this one.
    pub to: Timestamp,
    /// Asset kinds to include, comma-separated (`host,aws-account`); empty for every kind.
    #[serde(default)]
    pub kinds: String,
    /// The population's scope: a framework (`iso27001-2022`) or a control
    /// (`iso27001-2022:A.8.24`); empty for everything. The server narrows `kinds` to the asset
    /// kinds the policies of the pack in force evidence it with, and answers the kinds it used:
    /// the population is then re-derivable from the kinds alone.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub control: String,
    /// The population as the server held it at this instant: only snapshots received by then.
    /// Pins a population against late deliveries (an agent back online sends old snapshots),
    /// so the same query draws the same sample years later. Absent: everything received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<Timestamp>,
    /// How many snapshots to draw.
    pub size: u32,
    /// The auditor's seed: any text; the same seed draws the same sample.
    pub seed: String,
}

impl SampleQuery {
    /// The asset kinds asked for (every kind when none), or the unknown name.
    pub fn asset_kinds(&self) -> Result<Vec<AssetKind>, String> {
        let names: Vec<&str> = self
            .kinds
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .collect();
        if names.is_empty() {
            return Ok(AssetKind::ALL.to_vec());
        }
        names
            .into_iter()
            .map(|n| {
                AssetKind::parse(n).ok_or_else(|| {
                    format!("unknown asset kind {n:?} ({})", AssetKind::wire_names())
                })
            })
            .collect()
    }

    /// Every problem with the query, in one sentence each.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.to <= self.from {
            out.push(format!(
                "to ({}) must be after from ({})",
                self.to, self.from
            ));
        }
        if self.size == 0 || self.size > 10_000 {
            out.push(format!("size {} is outside 1..=10000", self.size));
        }
        if self.seed.trim().is_empty() {
            out.push("seed must not be empty".into());
        }
        if let Err(e) = self.asset_kinds() {
            out.push(e);
        }
        out
    }
}

/// One member of a sampling population: a stored snapshot and its place in its chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotRef {
    /// Its digest.
    pub digest: Digest,
    /// The agent that signed it.
    pub agent_id: String,
    /// The asset's kind.
    pub asset_kind: AssetKind,
    /// The asset's id.
    pub asset_id: String,
    /// Sequence in its chain.
    pub sequence: u64,
    /// Digest of its predecessor.
    pub previous_digest: Option<Digest>,
    /// When it was collected.
    pub collected_at: Timestamp,
}

/// `GET /v1/sample`: the population's size and fingerprint, and the drawn sample.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleResponse {
    /// The query, as understood.
    pub query: SampleQuery,
    /// [`crate::sample::SAMPLE_ALGORITHM`].
    pub algorithm: String,
    /// Snapshots in the population.
    pub population_count: u64,
    /// [`crate::sample::population_fingerprint`] of the population.
    pub population_fingerprint: Digest,
    /// The sample, in draw order.
    pub sample: Vec<SnapshotRef>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_match_serde_and_statuses_are_client_errors() {
        for r in RejectReason::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
            assert!((400..500).contains(&r.http_status()), "{r}");
        }
    }
}
