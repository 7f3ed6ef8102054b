//! Checking a submitted snapshot before it is stored: size, envelope, signature by an enrolled
//! key, canonical payload, schema, agent binding and clock. CPU work only, no storage: the
//! chain link is checked by the store, atomically with the insert.

use std::collections::HashMap;

use vouch_evidence::api::RejectReason;
use vouch_evidence::dsse::{Envelope, VerifyError};
use vouch_evidence::{
    KeyId, SNAPSHOT_PAYLOAD_TYPE, Snapshot, SnapshotError, SnapshotHeader, Timestamp,
};

use crate::store::AgentRecord;

/// A refusal: the reason code, a sentence, and the agent if its key was known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The code.
    pub reason: RejectReason,
    /// What was wrong.
    pub message: String,
    /// The agent whose key signed it, when known.
    pub agent_id: Option<String>,
}

impl Refusal {
    fn new(reason: RejectReason, message: impl Into<String>) -> Self {
        Refusal {
            reason,
            message: message.into(),
            agent_id: None,
        }
    }
}

/// A submission that passed every check but the chain link.
#[derive(Debug)]
pub struct Checked {
    /// The snapshot's header (its evidence was checked, and is kept only in the envelope).
    pub snapshot: SnapshotHeader,
    /// Its digest.
    pub digest: vouch_evidence::Digest,
}

/// Verifies an envelope body against the enrolled keys. `now` and `max_skew_micros` bound how
/// far in the future `collected_at` may be.
pub fn check(
    body: &[u8],
    keys: &HashMap<KeyId, AgentRecord>,
    now: Timestamp,
    max_skew_micros: i64,
) -> Result<Checked, Refusal> {
    let envelope = Envelope::from_slice(body)
        .map_err(|e| Refusal::new(RejectReason::Malformed, e.to_string()))?;
    let verified = envelope
        .verify(SNAPSHOT_PAYLOAD_TYPE, |id| {
            keys.get(id).map(|a| &a.public_key)
        })
        .map_err(|e| {
            let reason = match e {
                VerifyError::Malformed(_) | VerifyError::PayloadEncoding => RejectReason::Malformed,
                VerifyError::PayloadType { .. } => RejectReason::PayloadType,
                VerifyError::UnknownKey(_) => RejectReason::UnknownKey,
                VerifyError::BadSignature(_) => RejectReason::BadSignature,
            };
            let mut r = Refusal::new(reason, e.to_string());
            if reason == RejectReason::BadSignature {
                r.agent_id = envelope
                    .keyids()
                    .iter()
                    .find_map(|k| k.parse::<KeyId>().ok().and_then(|k| keys.get(&k)))
                    .map(|a| a.agent_id.clone());
            }
            r
        })?;
    let agent = &keys[&verified.keyid];
    let with_agent = |reason, message: String| Refusal {
        reason,
        message,
        agent_id: Some(agent.agent_id.clone()),
    };
    let snapshot = Snapshot::check_payload(&verified.payload).map_err(|e| {
        let reason = match e {
            SnapshotError::NotCanonical => RejectReason::NotCanonical,
            SnapshotError::Json(_) => RejectReason::Malformed,
            _ => RejectReason::InvalidSnapshot,
        };
        with_agent(reason, e.to_string())
    })?;
    if snapshot.agent_id != agent.agent_id {
        return Err(with_agent(
            RejectReason::AgentMismatch,
            format!(
                "snapshot names agent {:?} but is signed by the key of agent {}",
                snapshot.agent_id, agent.agent_id
            ),
        ));
    }
    if snapshot.collected_at.unix_micros() > now.unix_micros() + max_skew_micros {
        return Err(with_agent(
            RejectReason::ClockSkew,
            format!(
                "collected_at {} is more than {} s ahead of the server clock ({now})",
                snapshot.collected_at,
                max_skew_micros / 1_000_000
            ),
        ));
    }
    Ok(Checked {
        snapshot,
        digest: verified.digest,
    })
}
