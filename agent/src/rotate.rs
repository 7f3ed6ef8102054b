//! Key rotation: the agent makes a new key and hands its chains to it, with the server's
//! agreement, without a gap.
//!
//! The new key is made beside the current one (`agent.key.new`), and the rotation — the agent's
//! id, both keys, the time — signed by both keys is written durably (`key-rotation.json`)
//! before it is sent. Once the server has taken it (200, for this new key), the new key and the
//! enrolment record replace the current ones ([`StateDir::commit_enrollment`]). A crash or a
//! lost answer anywhere in between is finished by running the command again: the same signed
//! rotation is sent again and the server answers it as done. Snapshots spooled before are
//! signed again with the new key when they are delivered (their payloads, so their digests and
//! chains, do not change).

use super::*;
use vouch_evidence::dsse::Envelope;
use vouch_evidence::rotation::KeyRotation;

/// Rotates the agent's key (see the module's documentation); answers the new enrolment.
pub async fn rotate_key(config: &AgentConfig) -> Result<Enrollment, AgentError> {
    let state = StateDir::open(&config.agent.state_dir)?;
    let enrollment = state.load_enrollment()?;
    let old = state.load_key()?;
    let (signed, new) = match state.pending_rotation()? {
        Some(signed) => {
            tracing::info!("finishing the key rotation already under way");
            (signed, state.load_pending_key()?)
        }
        None => {
            let new = state.create_pending_key()?;
            let rotation = KeyRotation {
                owner: enrollment.agent_id.clone(),
                old_key: old.public().to_base64(),
                new_key: new.public().to_base64(),
                at: vouch_evidence::Clock::System.now(),
            };
            let signed = rotation.sign(&old, &new).to_vec();
            state.save_rotation(&signed)?;
            (signed, new)
        }
    };
    let rotation = Envelope::from_slice(&signed)
        .ok()
        .and_then(|e| KeyRotation::open(&e).ok())
        .ok_or_else(|| {
            AgentError::State(io::Error::other(
                "key-rotation.json does not hold a rotation signed by both keys",
            ))
        })?;
    if rotation.new_key != new.public().to_base64() {
        return Err(AgentError::State(io::Error::other(
            "key-rotation.json names another new key than agent.key.new",
        )));
    }
    let client = client_for(config)?;
    let url = format!(
        "{}/v1/agents/rotate-key",
        config.server.url.trim_end_matches('/')
    );
    let resp = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(signed)
        .send()
        .await
        .map_err(AgentError::unreachable)?;
    if !resp.status().is_success() {
        let error = error_of(resp, |_| true).await;
        if matches!(error, AgentError::Refused { .. }) {
            // Refused for good: the current key stays, the new one is forgotten.
            state.clear_rotation()?;
            if let Err(e) = state.discard_pending_key() {
                tracing::warn!(error = %e, "cannot remove the unused new key");
            }
        }
        return Err(error);
    }
    let answer: serde_json::Value = resp
        .json()
        .await
        .map_err(|e| AgentError::BadAnswer(e.to_string()))?;
    if answer.get("keyid").and_then(|k| k.as_str()) != Some(&new.id().to_string()) {
        return Err(AgentError::BadAnswer(
            "the server answered another key id than the new key's".into(),
        ));
    }
    let next = Enrollment {
        keyid: new.id().to_string(),
        ..enrollment
    };
    state.commit_enrollment(&next)?;
    state.clear_rotation()?;
    tracing::info!(agent_id = %next.agent_id, old = %old.id(), new = %new.id(), "key rotated");
    Ok(next)
}
