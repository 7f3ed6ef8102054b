//! Enrolment: a new key, the assets the agent names, the server's confirmation, and only then
//! the key and the record replacing the current ones.

use super::*;

/// Makes a key and enrolls it with a one-time token; `force` replaces an existing enrolment.
///
/// The new key is made beside the current one (`agent.key.new`); only once the server has
/// confirmed the enrolment (201, for this key) do the key and the enrolment record replace the
/// current ones (see [`StateDir::commit_enrollment`]). On any failure the current key and
/// enrolment stay as they were, usable.
pub async fn enroll(
    config: &AgentConfig,
    token: &str,
    force: bool,
) -> Result<Enrollment, AgentError> {
    let state = StateDir::open(&config.agent.state_dir)?;
    if !force && state.load_enrollment().is_ok() {
        return Err(AgentError::State(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "this agent is already enrolled (use --force to re-enrol with a new key)",
        )));
    }
    let client = client_for(config)?;
    let key = state.create_pending_key()?;
    match request_enrollment(config, &client, token, &key).await {
        Ok(enrollment) => {
            state.commit_enrollment(&enrollment)?;
            tracing::info!(agent_id = %enrollment.agent_id, keyid = %enrollment.keyid, "enrolled");
            Ok(enrollment)
        }
        Err(e) => {
            if let Err(discard) = state.discard_pending_key() {
                tracing::warn!(error = %discard, "cannot remove the unused new key");
            }
            Err(e)
        }
    }
}

/// The assets only this agent can name — its host, its cluster — declared at enrolment so the
/// server binds the agent to them (accounts and organisations are named by the token's scope).
pub async fn own_assets(config: &AgentConfig) -> Vec<vouch_evidence::api::AssetRef> {
    let mut out = Vec::new();
    for source in sources(config) {
        let named_by_agent =
            vouch_collectors::registration(source.name()).is_some_and(|r| r.kind.named_by_agent());
        if !named_by_agent {
            continue;
        }
        let asset = source
            .asset(&source.context(CancellationToken::new()))
            .await;
        if asset.kind.named_by_agent() {
            out.push(vouch_evidence::api::AssetRef {
                kind: asset.kind,
                id: asset.id,
            });
        }
    }
    out
}

/// Posts the enrolment of `key` and checks the server's confirmation.
pub(crate) async fn request_enrollment(
    config: &AgentConfig,
    client: &reqwest::Client,
    token: &str,
    key: &SigningKey,
) -> Result<Enrollment, AgentError> {
    let name = vouch_collectors::host::hostname_of(&config.collectors.host.root)
        .unwrap_or_else(|| "agent".into());
    let req = EnrollRequest {
        token: token.trim().to_string(),
        public_key: key.public().to_base64(),
        name,
        assets: own_assets(config).await,
    };
    let url = format!("{}/v1/enroll", config.server.url.trim_end_matches('/'));
    let resp = client
        .post(url)
        .json(&req)
        .send()
        .await
        .map_err(AgentError::unreachable)?;
    if resp.status() != reqwest::StatusCode::CREATED {
        // Every reason the server gives for refusing an enrolment is final for this attempt.
        return Err(error_of(resp, |_| true).await);
    }
    let answer: EnrollResponse = resp
        .json()
        .await
        .map_err(|e| AgentError::BadAnswer(e.to_string()))?;
    if answer.keyid != key.id().to_string() {
        return Err(AgentError::BadAnswer(
            "the server enrolled a different key id".into(),
        ));
    }
    PublicKey::from_base64(&answer.server_key)
        .map_err(|e| AgentError::BadAnswer(format!("server_key: {e}")))?;
    Ok(Enrollment {
        server_url: config.server.url.clone(),
        agent_id: answer.agent_id,
        keyid: answer.keyid,
        server_key: answer.server_key,
    })
}
