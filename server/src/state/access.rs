//! Who may do what, held by the application state: enrolment and API tokens issued, checked
//! and revoked, agents revoked, the audit log written, and the keyring kept in memory.

use super::*;

impl AppState {
    /// Issues a one-time enrolment token for `scope`, valid for `ttl_secs` (at most 30 days);
    /// returns it (shown once). `by` says who asked, for the audit log.
    pub async fn create_enroll_token(
        &self,
        ttl_secs: u64,
        scope: &Scope,
        label: &str,
        by: &str,
    ) -> Result<String, StoreError> {
        if ttl_secs > MAX_ENROLL_TOKEN_TTL_SECS {
            return Err(StoreError::Backend(format!(
                "an enrolment token lives at most {MAX_ENROLL_TOKEN_TTL_SECS} s (30 days), not {ttl_secs} s"
            )));
        }
        let (token, hash) =
            auth::new_token("enroll").map_err(|e| StoreError::Backend(e.to_string()))?;
        let created = self.now();
        let expires = after(created, ttl_secs)?;
        let label = vouch_evidence::limits::truncate_echo(label);
        self.inner
            .store
            .add_enroll_token(hash, created, expires, scope, &label)
            .await?;
        self.audit(
            by,
            "token.issue",
            &format!("enroll token {}", &hash.to_hex()[..12]),
            &format!("scope {scope}, expires {expires}"),
        )
        .await?;
        Ok(token)
    }

    /// Issues an API token for `role` valid for the default 90 days, recorded as issued by the
    /// server itself; returns it (shown once).
    pub async fn create_api_token(&self, role: Role, label: &str) -> Result<String, StoreError> {
        self.issue_api_token(role, label, DEFAULT_API_TOKEN_TTL_SECS, "server")
            .await
    }

    /// Issues an API token for `role`, valid for `ttl_secs` (at most 400 days); returns it
    /// (shown once). `by` says who asked, for the audit log.
    pub async fn issue_api_token(
        &self,
        role: Role,
        label: &str,
        ttl_secs: u64,
        by: &str,
    ) -> Result<String, StoreError> {
        if ttl_secs > MAX_API_TOKEN_TTL_SECS {
            return Err(StoreError::Backend(format!(
                "an API token lives at most {MAX_API_TOKEN_TTL_SECS} s (400 days), not {ttl_secs} s"
            )));
        }
        let (token, hash) =
            auth::new_token(role.as_str()).map_err(|e| StoreError::Backend(e.to_string()))?;
        let created = self.now();
        let expires = after(created, ttl_secs)?;
        let label = vouch_evidence::limits::truncate_echo(label);
        self.inner
            .store
            .add_api_token(hash, role, &label, created, expires)
            .await?;
        self.audit(
            by,
            "token.issue",
            &format!("{role} token {}", &hash.to_hex()[..12]),
            &format!("label {label:?}, expires {expires}"),
        )
        .await?;
        Ok(token)
    }

    /// Starts a session for `person` with `role`, ending `ttl_secs` from now at the latest:
    /// recorded like an API token whose secret nobody holds (only its hash, which the signed
    /// session cookie names), so that it can be listed, revoked and checked on every request
    /// like one, on every replica. Returns the hash.
    pub async fn start_session(
        &self,
        role: Role,
        person: &Person,
        ttl_secs: u64,
    ) -> Result<Digest, StoreError> {
        let (_, hash) =
            auth::new_token("session").map_err(|e| StoreError::Backend(e.to_string()))?;
        let created = self.now();
        let expires = after(created, ttl_secs)?;
        let label =
            vouch_evidence::limits::truncate_echo(&format!("session of {}", person.short()));
        self.inner
            .store
            .add_api_token(hash, role, &label, created, expires)
            .await?;
        self.audit(
            &person.describe(role),
            "session.start",
            &format!("session {}", &hash.to_hex()[..12]),
            &format!("signed in through the identity provider; ends by {expires}"),
        )
        .await?;
        Ok(hash)
    }

    /// Ends the session with hash `hash` (sign-out, a recheck that failed); `by` says who.
    pub async fn end_session(
        &self,
        hash: Digest,
        reason: &str,
        by: &str,
    ) -> Result<(), StoreError> {
        let id = &hash.to_hex()[..12];
        if let RevokeOutcome::Revoked(_) = self.revoke_token(id, reason, by).await? {
            self.audit(by, "session.end", &format!("session {id}"), reason)
                .await?;
        }
        Ok(())
    }

    /// The role of the API token with hash `hash`, if it is known, unexpired and unrevoked;
    /// its use is recorded (at most once a minute per token).
    pub async fn token_role(&self, hash: Digest) -> Result<Result<Role, TokenRefusal>, StoreError> {
        self.token_role_unless_idle(hash, None).await
    }

    /// [`Self::token_role`], and with `idle_secs`, expired too once unused that long (a
    /// session's idle lifetime): judged on its last recorded use before this one is recorded,
    /// so that a request to an idle session does not revive it.
    pub async fn token_role_unless_idle(
        &self,
        hash: Digest,
        idle_secs: Option<u64>,
    ) -> Result<Result<Role, TokenRefusal>, StoreError> {
        let Some(token) = self.inner.store.api_token(hash).await? else {
            return Ok(Err(TokenRefusal::Unknown));
        };
        let now = self.now();
        match token.invalid_at(now) {
            Some(TokenInvalid::Revoked(at)) => return Ok(Err(TokenRefusal::Revoked(at))),
            Some(TokenInvalid::Expired(at)) => return Ok(Err(TokenRefusal::Expired(at))),
            None => {}
        }
        if let Some(idle) = idle_secs {
            let last = token.last_used_at.unwrap_or(token.created_at);
            let ends = Timestamp::from_unix_micros(last.unix_micros() + idle as i64 * 1_000_000)
                .unwrap_or(last);
            if ends <= now {
                return Ok(Err(TokenRefusal::Expired(ends)));
            }
        }
        let crate::store::TokenKind::Api(role) = token.kind else {
            return Ok(Err(TokenRefusal::Unknown));
        };
        let due = {
            let mut touched = self.inner.token_touched.lock().expect("touch lock");
            let due = touched.get(&hash).is_none_or(|t| {
                now.unix_micros() - t.unix_micros() >= TOKEN_TOUCH_SECS * 1_000_000
            });
            if due {
                touched.insert(hash, now);
            }
            due
        };
        if due && let Err(e) = self.inner.store.touch_token(hash, now).await {
            tracing::warn!(error = %e, "cannot record a token's use");
        }
        Ok(Ok(role))
    }

    /// Every API and enrolment token (their hashes only), newest first.
    pub async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        self.inner.store.tokens().await
    }

    /// Revokes the token with id `id` (see [`TokenRecord::id`]); `by` says who, for the audit
    /// log. Sessions signed in with it end at their next request.
    pub async fn revoke_token(
        &self,
        id: &str,
        reason: &str,
        by: &str,
    ) -> Result<RevokeOutcome<TokenRecord>, StoreError> {
        let revocation = self.revocation(reason, by);
        self.inner.store.revoke_token(id, revocation).await
    }

    /// Revokes agent `agent_id`: nothing it signs is accepted from now on (on every replica
    /// within [`KEYRING_REFRESH_SECS`]); what it signed before stays verifiable.
    pub async fn revoke_agent(
        &self,
        agent_id: &str,
        reason: &str,
        by: &str,
    ) -> Result<RevokeOutcome<AgentRecord>, StoreError> {
        let revocation = self.revocation(reason, by);
        let outcome = self.inner.store.revoke_agent(agent_id, revocation).await?;
        if let RevokeOutcome::Revoked(agent) | RevokeOutcome::AlreadyRevoked(agent) = &outcome {
            self.add_agent(agent.clone());
        }
        Ok(outcome)
    }

    fn revocation(&self, reason: &str, by: &str) -> Revocation {
        Revocation {
            at: self.now(),
            reason: vouch_evidence::limits::truncate_echo(reason.trim()),
            by: vouch_evidence::limits::truncate_echo(by),
        }
    }

    /// Appends to the audit log.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        self.inner
            .store
            .audit(AuditEntry {
                at: self.now(),
                actor: vouch_evidence::limits::truncate_echo(actor),
                action: action.to_string(),
                subject: vouch_evidence::limits::truncate_echo(subject),
                detail: vouch_evidence::limits::truncate_echo(detail),
            })
            .await
    }

    /// Reads every agent from the store again and replaces the keyring: revocations made by
    /// the command line or another replica take effect here. The serve loop calls it every
    /// [`KEYRING_REFRESH_SECS`].
    pub async fn refresh_keys(&self) -> Result<(), StoreError> {
        let agents = self.inner.store.agents().await?;
        let retired = super::retired_map(self.inner.store.retired_keys().await?);
        let fresh: HashMap<KeyId, AgentRecord> =
            agents.into_iter().map(|a| (a.keyid(), a)).collect();
        *self.inner.keys.write().expect("keyring lock") = fresh;
        *self.inner.retired.write().expect("retired keys lock") = retired;
        Ok(())
    }

    /// Every enrolled agent, in enrolment order.
    pub async fn agents(&self) -> Result<Vec<AgentRecord>, StoreError> {
        self.inner.store.agents().await
    }

    /// Reads the keyring from the store again (agents enrolled through another replica), at
    /// most once a second however many submissions with unknown keys arrive.
    pub(crate) async fn reload_keys(&self) -> Result<(), StoreError> {
        // Concurrent misses queue here: the first reads, the others find the read just made.
        let mut last = self.inner.keys_reloaded.lock().await;
        if last.is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(1)) {
            return Ok(());
        }
        let agents = self.inner.store.agents().await?;
        {
            let mut keys = self.inner.keys.write().expect("keyring lock");
            for agent in agents {
                keys.insert(agent.keyid(), agent);
            }
        }
        *last = Some(std::time::Instant::now());
        Ok(())
    }

    /// The enrolled agent whose key has `keyid`, copied out so no lock is held while its
    /// signature is checked.
    pub(crate) fn agent_by_key(&self, keyid: &KeyId) -> Option<AgentRecord> {
        self.inner
            .keys
            .read()
            .expect("keyring lock")
            .get(keyid)
            .cloned()
    }

    /// The agent that held the retired key `keyid`, and when it was retired.
    pub(crate) fn retired_key(&self, keyid: &KeyId) -> Option<(String, Timestamp)> {
        self.inner
            .retired
            .read()
            .expect("retired keys lock")
            .get(keyid)
            .map(|k| (k.agent_id.clone(), k.retired_at))
    }

    /// The signed rotation that retired key `keyid`, if it was retired.
    pub fn rotation_of(&self, keyid: &KeyId) -> Option<Vec<u8>> {
        self.inner
            .retired
            .read()
            .expect("retired keys lock")
            .get(keyid)
            .map(|k| k.rotation.clone())
    }

    /// Applies a key rotation to the in-memory keyring: `agent` (with its new key) replaces
    /// its `old` key, which is retired at `at` by the signed `rotation`.
    pub(crate) fn rotated(
        &self,
        agent: AgentRecord,
        old: &vouch_evidence::PublicKey,
        at: Timestamp,
        rotation: Vec<u8>,
    ) {
        let mut keys = self.inner.keys.write().expect("keyring lock");
        keys.remove(&old.id());
        self.inner
            .retired
            .write()
            .expect("retired keys lock")
            .entry(old.id())
            .or_insert(RetiredKey {
                agent_id: agent.agent_id.clone(),
                public_key: old.clone(),
                retired_at: at,
                rotation,
            });
        keys.insert(agent.keyid(), agent);
    }

    /// Adds a newly enrolled agent to the in-memory keyring.
    pub(crate) fn add_agent(&self, agent: AgentRecord) {
        self.inner
            .keys
            .write()
            .expect("keyring lock")
            .insert(agent.keyid(), agent);
    }

    /// Every enrolled key as `ed25519 <base64> <agent id>` lines, then the receipt key.
    pub fn keys_text(&self) -> String {
        let keys = self.inner.keys.read().expect("keyring lock");
        let mut agents: Vec<&AgentRecord> = keys.values().collect();
        agents.sort_by(|a, b| a.agent_id.cmp(&b.agent_id));
        let mut out = String::from(
            "# Vouch public keys: enrolled agents, then the server's receipt and log keys.\n",
        );
        for a in &agents {
            out.push_str(&a.public_key.to_line(&a.agent_id));
            out.push('\n');
        }
        out.push_str(&crate::bundle::retired_lines(
            self.inner
                .retired
                .read()
                .expect("retired keys lock")
                .values(),
        ));
        for a in &agents {
            if let Some(r) = &a.revoked {
                out.push_str(&crate::verify::revocation_line(
                    &a.agent_id,
                    r.at,
                    &r.reason,
                ));
                out.push('\n');
            }
        }
        out.push_str(&self.receipt_public_key().to_line("vouch-server-receipts"));
        out.push('\n');
        out.push_str(
            &self
                .log()
                .verifier()
                .key()
                .to_line(crate::bundle::LOG_KEY_OWNER),
        );
        out.push('\n');
        out.push_str(
            &self
                .verdicts()
                .public()
                .to_line(crate::verdicts::VERDICT_KEY_OWNER),
        );
        out.push('\n');
        out
    }
}
