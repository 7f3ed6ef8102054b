//! Checking a submitted snapshot before it is stored: size, envelope, signature by an enrolled
//! key, canonical payload, schema, agent binding and clock. CPU work only, no storage: the
//! chain link is checked by the store, atomically with the insert.

use vouch_evidence::api::RejectReason;
use vouch_evidence::dsse::{Envelope, VerifyError};
use vouch_evidence::limits;
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
    /// The agent whose key signed it, when its signature verified (an authenticated refusal,
    /// kept as a row); `None` for everything refused before that (only counted).
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
    /// A warning to give with the acceptance (the agent's clock runs ahead, within bounds).
    pub warning: Option<String>,
}

/// A submission that passed the cheap checks: a DSSE envelope of a snapshot with exactly one
/// signature, whose key id is well formed. Nothing cryptographic was done yet.
#[derive(Debug)]
pub struct Parsed {
    envelope: Envelope,
    /// The key id its one signature names.
    pub keyid: KeyId,
}

/// The first, cheap step of ingest: parses `body` as an envelope and checks the payload type,
/// the signature count ([`limits::SNAPSHOT_SIGNATURES`]) and the key id's form, before any
/// signature is verified or any lock is taken; refusals echo no more than
/// [`limits::MAX_ECHO_CHARS`] of what the client sent.
pub fn parse(body: &[u8]) -> Result<Parsed, Refusal> {
    let envelope = Envelope::from_slice(body).map_err(|e| {
        Refusal::new(
            RejectReason::Malformed,
            limits::truncate_echo(&e.to_string()),
        )
    })?;
    if envelope.payload_type != SNAPSHOT_PAYLOAD_TYPE {
        return Err(Refusal::new(
            RejectReason::PayloadType,
            format!(
                "payload type is {:?}, expected {SNAPSHOT_PAYLOAD_TYPE:?}",
                limits::truncate_echo(&envelope.payload_type)
            ),
        ));
    }
    envelope
        .within_signature_limit(limits::SNAPSHOT_SIGNATURES)
        .map_err(|e| match e {
            VerifyError::Limit(_) => Refusal::new(
                RejectReason::LimitExceeded,
                format!(
                    "{e} (a snapshot carries its agent's one signature; {}{} were sent)",
                    if envelope.signatures.len() > limits::MAX_SIGNATURES {
                        "more than "
                    } else {
                        ""
                    },
                    envelope.signatures.len().min(limits::MAX_SIGNATURES)
                ),
            ),
            e => Refusal::new(RejectReason::Malformed, e.to_string()),
        })?;
    let named = &envelope.signatures[0].keyid;
    let keyid = named.parse::<KeyId>().map_err(|_| {
        Refusal::new(
            RejectReason::UnknownKey,
            format!(
                "key id {:?} is not {} hex characters",
                limits::truncate_echo(named),
                limits::KEYID_CHARS
            ),
        )
    })?;
    Ok(Parsed { envelope, keyid })
}

/// The second, CPU-bound step: verifies the one signature with `agent`'s key (the agent the
/// key id names) and checks the payload: canonical and within the limits, a valid snapshot of
/// that agent, collected no more than `max_skew_micros` after `now` nor before the agent's
/// enrolment less that skew; collected ahead of `now` within the bound, it is accepted with a
/// warning. Run it off the async threads.
pub fn verify(
    parsed: &Parsed,
    agent: &AgentRecord,
    now: Timestamp,
    max_skew_micros: i64,
) -> Result<Checked, Refusal> {
    let with_agent = |reason, message: String| Refusal {
        reason,
        message,
        agent_id: Some(agent.agent_id.clone()),
    };
    let verified = parsed
        .envelope
        .verify(SNAPSHOT_PAYLOAD_TYPE, |id| {
            (*id == parsed.keyid).then_some(&agent.public_key)
        })
        .map_err(|e| {
            let reason = match e {
                VerifyError::Malformed(_) | VerifyError::PayloadEncoding => RejectReason::Malformed,
                VerifyError::PayloadType { .. } => RejectReason::PayloadType,
                VerifyError::UnknownKey(_) => RejectReason::UnknownKey,
                VerifyError::BadSignature(_) => RejectReason::BadSignature,
                VerifyError::Limit(_) => RejectReason::LimitExceeded,
            };
            // Not proven to be the agent's: the refusal is an unauthenticated one.
            Refusal::new(reason, e.to_string())
        })?;
    let snapshot = Snapshot::check_payload(&verified.payload).map_err(|e| {
        let reason = match e {
            SnapshotError::NotCanonical(_) => RejectReason::NotCanonical,
            SnapshotError::Limit { .. } => RejectReason::LimitExceeded,
            SnapshotError::Json(_) => RejectReason::Malformed,
            _ => RejectReason::InvalidSnapshot,
        };
        with_agent(reason, limits::truncate_echo(&e.to_string()))
    })?;
    if snapshot.agent_id != agent.agent_id {
        return Err(with_agent(
            RejectReason::AgentMismatch,
            format!(
                "snapshot names agent {:?} but is signed by the key of agent {}",
                limits::truncate_echo(&snapshot.agent_id),
                agent.agent_id
            ),
        ));
    }
    if !agent
        .binding
        .allows(snapshot.asset.kind, &snapshot.asset.id)
    {
        return Err(with_agent(
            RejectReason::OutOfScope,
            format!(
                "agent {} may write {} only, not {}:{}",
                agent.agent_id,
                limits::truncate_echo(&agent.binding.to_string()),
                snapshot.asset.kind,
                limits::truncate_echo(&snapshot.asset.id)
            ),
        ));
    }
    // Not before the agent existed: its key was accepted at enrolment, by the server's clock,
    // which the agent's may trail by the allowed skew.
    if snapshot.collected_at.unix_micros() < agent.enrolled_at.unix_micros() - max_skew_micros {
        return Err(with_agent(
            RejectReason::BeforeEnrolment,
            format!(
                "collected_at {} is more than {} s before agent {} enrolled ({}): check the agent's clock",
                snapshot.collected_at,
                max_skew_micros / 1_000_000,
                agent.agent_id,
                agent.enrolled_at
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
    let ahead_micros = snapshot.collected_at.unix_micros() - now.unix_micros();
    let warning = (ahead_micros > CLOCK_AHEAD_WARN_MICROS).then(|| {
        format!(
            "clock_skew: collected_at {} is {} s ahead of the server clock ({now}); accepted \
             (the bound is {} s), but check the agent's clock",
            snapshot.collected_at,
            ahead_micros / 1_000_000,
            max_skew_micros / 1_000_000
        )
    });
    Ok(Checked {
        snapshot,
        digest: verified.digest,
        warning,
    })
}

/// How far ahead of the server's clock a snapshot may be collected before its acceptance
/// carries a warning. A collection instant is when collection *started*, so with synchronised
/// clocks it is always behind the server's clock; two seconds allow for NTP's residual error.
pub const CLOCK_AHEAD_WARN_MICROS: i64 = 2_000_000;
