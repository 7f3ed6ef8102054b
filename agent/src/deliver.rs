//! Delivery: posting each spooled envelope in chain order, reading the answer, and re-signing a
//! chain's spool onto the last link the server accepted after a final refusal.

use super::*;

impl Agent {
    /// One delivery pass over every spooled chain, oldest first; no sleeping. A failure of the
    /// server or of the way to it (no connection, timeout, 408, 425, 429, 5xx, a proxy's 4xx)
    /// ends the pass, everything left counted pending; the server's "not now" for one snapshot
    /// leaves the rest of that chain pending. A refusal that is final moves the snapshot to
    /// `spool/rejected/` and re-signs the later ones; a file that cannot be read is set aside in
    /// `spool/corrupt/`, and the others are delivered.
    pub async fn deliver_pending(&self) -> Result<DeliveryReport, AgentError> {
        self.deliver_pending_until(&CancellationToken::new()).await
    }

    /// [`Agent::deliver_pending`], stopping before the next snapshot once `stop` is cancelled.
    /// A request already sent is answered first (within the request timeout), so that a
    /// snapshot the server stored while the agent was stopping has its receipt kept.
    pub async fn deliver_pending_until(
        &self,
        stop: &CancellationToken,
    ) -> Result<DeliveryReport, AgentError> {
        let _guard = self.lock.lock().await;
        let set_aside_before = self.state.corrupt_set_aside();
        let mut report = DeliveryReport::default();
        let chains = self.state.spooled_chains()?;
        let mut server_unavailable = false;
        for chain in &chains {
            if server_unavailable || stop.is_cancelled() {
                report.pending += self.state.spooled(chain)?.len();
                continue;
            }
            if let Some(relink) = self.state.pending_relink(chain)? {
                tracing::warn!(chain = %chain, "resuming an interrupted re-signing of the spool");
                self.relink(chain, relink.base)?;
            }
            let mut files = self.state.spooled(chain)?;
            let mut i = 0;
            while i < files.len() {
                if stop.is_cancelled() {
                    report.pending += files.len() - i;
                    break;
                }
                let (seq, path) = files[i].clone();
                match self.deliver_one(&path).await {
                    Ok(duplicate) => {
                        if duplicate {
                            report.duplicates += 1
                        } else {
                            report.delivered += 1
                        }
                        i += 1;
                    }
                    Err(Undelivered::Corrupt(problem)) => {
                        let base = self.base_before(chain, seq, &path)?;
                        self.state.set_aside_corrupt(&path, &problem)?;
                        self.relink_onto(chain, base)?;
                        files = self.state.spooled(chain)?;
                        i = 0;
                    }
                    Err(Undelivered::Agent(AgentError::Refused { reason, message })) => {
                        let base = self.base_before(chain, seq, &path)?;
                        let error =
                            serde_json::json!({ "error": reason, "message": message }).to_string();
                        let moved = self.state.quarantine(&path, &error)?;
                        tracing::error!(chain = %chain, sequence = seq, code = %reason, message, moved = %moved.display(), "snapshot refused by the server");
                        report.rejected += 1;
                        self.relink_onto(chain, base)?;
                        files = self.state.spooled(chain)?;
                        i = 0;
                    }
                    Err(Undelivered::Agent(
                        e @ (AgentError::Transient { .. }
                        | AgentError::BadAnswer(_)
                        | AgentError::Log(_)),
                    )) => {
                        // No Vouch reason: the server, or the way to it, is unavailable, and
                        // the other chains would fare no better.
                        let (unavailable, asked) = match &e {
                            AgentError::Transient {
                                reason,
                                retry_after,
                                ..
                            } => (reason.is_none(), *retry_after),
                            _ => (false, None),
                        };
                        if let AgentError::Log(refusal) = &e {
                            report.log_refusal = Some(refusal.clone());
                        }
                        tracing::warn!(chain = %chain, sequence = seq, error = %e, "not delivered; will retry");
                        report.pending += files.len() - i;
                        if let Some(asked) = asked {
                            let wait = cap_retry_after(asked, self.backoff_max());
                            report.retry_after =
                                Some(report.retry_after.unwrap_or_default().max(wait));
                        }
                        server_unavailable = unavailable;
                        break;
                    }
                    Err(Undelivered::Agent(e)) => return Err(e),
                }
            }
        }
        report.corrupt = self.state.corrupt_set_aside() - set_aside_before;
        Ok(report)
    }

    pub(crate) fn backoff_max(&self) -> Duration {
        Duration::from_secs(self.config.agent.backoff_max_secs)
    }

    /// Verifies a receipt with the server's receipts key; one signed by another key is
    /// checked after following the server's key rotations from the key this agent trusts
    /// (`GET /v1/keys/rotations/<key id>`, each signed by the key it retires and the next),
    /// and the key reached is kept as the server's from then on.
    async fn verify_receipt(
        &self,
        envelope: &vouch_evidence::dsse::Envelope,
    ) -> Result<Receipt, AgentError> {
        use vouch_evidence::rotation::KeyRotation;
        let mut key = self.server_key.read().expect("server key lock").clone();
        let signed_by: Vec<&str> = envelope
            .signatures
            .iter()
            .map(|s| s.keyid.as_str())
            .collect();
        let mut followed = false;
        for _ in 0..8 {
            if signed_by.contains(&key.id().to_string().as_str()) {
                break;
            }
            let url = format!(
                "{}/v1/keys/rotations/{}",
                self.config.server.url.trim_end_matches('/'),
                key.id()
            );
            let resp = self
                .client
                .get(url)
                .send()
                .await
                .map_err(AgentError::unreachable)?;
            if !resp.status().is_success() {
                return Err(AgentError::BadAnswer(format!(
                    "the receipt is signed by another key than the server's ({}), and the server \
                     shows no rotation of it (HTTP {})",
                    key.id(),
                    resp.status()
                )));
            }
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| AgentError::BadAnswer(e.to_string()))?;
            let rotation = vouch_evidence::dsse::Envelope::from_slice(&bytes)
                .ok()
                .and_then(|e| KeyRotation::open(&e).ok())
                .filter(|r| r.owner == "vouch-server-receipts" && r.old_key == key.to_base64())
                .ok_or_else(|| {
                    AgentError::BadAnswer(format!(
                        "the server's rotation of its key {} is not one signed by that key",
                        key.id()
                    ))
                })?;
            key = rotation
                .new_public()
                .map_err(|e| AgentError::BadAnswer(e.to_string()))?;
            followed = true;
        }
        let receipt = Receipt::verify(envelope, &key)
            .map_err(|e| AgentError::BadAnswer(format!("receipt does not verify: {e}")))?;
        if followed {
            let mut enrollment = self.state.load_enrollment().map_err(AgentError::State)?;
            enrollment.server_key = key.to_base64();
            self.state
                .save_enrollment(&enrollment)
                .map_err(AgentError::State)?;
            tracing::info!(key = %key.id(), "following the server's rotated receipts key");
            *self.server_key.write().expect("server key lock") = key;
        }
        Ok(receipt)
    }

    /// A spooled envelope signed with another key than the current one (spooled before the
    /// key was rotated) is signed again with the current key and written back: its payload,
    /// so its digest and its place in the chain, stay the same.
    fn signed_with_current_key(
        &self,
        path: &Path,
        spooled: state::SpooledEnvelope,
    ) -> Result<state::SpooledEnvelope, Undelivered> {
        let key = self.signing_key().map_err(Undelivered::Agent)?;
        let current = key.id().to_string();
        let signed_by_current = vouch_evidence::dsse::Envelope::from_slice(&spooled.bytes)
            .is_ok_and(|e| e.signatures.iter().all(|s| s.keyid == current));
        if signed_by_current {
            return Ok(spooled);
        }
        let envelope = vouch_evidence::dsse::sign(
            &key,
            vouch_evidence::SNAPSHOT_PAYLOAD_TYPE,
            &spooled.payload,
        );
        let bytes = envelope.to_vec();
        state::write_atomic(path, &bytes, 0o600)
            .map_err(|e| Undelivered::Agent(AgentError::State(e)))?;
        tracing::info!(digest = %spooled.digest, key = %current, "signed again with the rotated key");
        Ok(state::SpooledEnvelope { bytes, ..spooled })
    }

    /// Posts one envelope; Ok(true) for a duplicate. The receipt is verified against the
    /// server's key and saved before the envelope leaves the spool.
    pub(crate) async fn deliver_one(&self, path: &Path) -> Result<bool, Undelivered> {
        let spooled = match state::read_spooled(path) {
            Ok(s) => s,
            Err(SpoolFileError::Corrupt { problem, .. }) => {
                return Err(Undelivered::Corrupt(problem));
            }
            Err(e) => return Err(Undelivered::Agent(AgentError::State(e.into()))),
        };
        let digest = spooled.digest;
        let spooled = self.signed_with_current_key(path, spooled)?;
        let (pinned, seen) = self.state.log_seen().map_err(AgentError::State)?;
        let url = format!(
            "{}/v1/snapshots",
            self.config.server.url.trim_end_matches('/')
        );
        let resp = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                vouch_evidence::logproofs::LOG_SIZE_HEADER,
                seen.as_ref().map_or(0, |c| c.size),
            )
            .body(spooled.bytes)
            .send()
            .await
            .map_err(AgentError::unreachable)?;
        if !resp.status().is_success() {
            return Err(error_of(resp, refusal_is_final).await.into());
        }
        for warning in resp.headers().get_all(vouch_evidence::api::WARNING_HEADER) {
            let warning = String::from_utf8_lossy(warning.as_bytes());
            tracing::warn!(digest = %digest, "the server accepted the snapshot with a warning: {}", vouch_evidence::limits::truncate_echo(&warning));
        }
        let answer: SubmitResponse = resp
            .json()
            .await
            .map_err(|e| AgentError::BadAnswer(e.to_string()))?;
        let receipt = self.verify_receipt(&answer.receipt).await?;
        if receipt.digest != digest || answer.digest != digest {
            return Err(AgentError::BadAnswer(format!(
                "receipt is for {}, not {digest}",
                receipt.digest
            ))
            .into());
        }
        match &answer.log {
            // A server from before the log: nothing to check.
            None => {}
            Some(proofs) => match proofs.check(&digest, pinned.as_ref(), seen.as_ref()) {
                Ok((key, checkpoint)) => self
                    .state
                    .save_log(&key, &proofs.checkpoint, checkpoint.size)
                    .map_err(AgentError::State)?,
                Err(e) => {
                    let kept = self
                        .state
                        .record_log_alarm(
                            vouch_evidence::Clock::System.now(),
                            &digest,
                            &e.to_string(),
                            proofs,
                        )
                        .map_err(AgentError::State)?;
                    tracing::error!(digest = %digest, seen = seen.as_ref().map(|c| c.size), error = %e, kept = %kept.display(),
                        "THE SERVER'S TRANSPARENCY LOG IS NOT CONSISTENT with what this agent saw: the snapshot stays spooled, unacknowledged");
                    return Err(AgentError::Log(e).into());
                }
            },
        }
        self.state
            .acknowledge(path, digest, &answer.receipt.to_vec())
            .map_err(AgentError::State)?;
        Ok(answer.duplicate)
    }

    /// The link the spooled snapshots of `chain` after the one at `seq` (in `path`, about to
    /// leave the spool unaccepted) must follow: its predecessor, which the server accepted.
    /// Taken from the snapshot itself when it can be read, else from the saved receipts.
    pub(crate) fn base_before(
        &self,
        chain: &ChainKey,
        seq: u64,
        path: &Path,
    ) -> Result<Base, AgentError> {
        if let Ok(snapshot) = state::read_spooled_snapshot(path) {
            return Ok(Base::Known(snapshot.previous_digest.map(|digest| Head {
                sequence: snapshot.sequence - 1,
                digest,
            })));
        }
        if seq <= 1 {
            return Ok(Base::Known(None));
        }
        Ok(match self.state.acknowledged(chain, seq - 1)? {
            Some(digest) => Base::Known(Some(Head {
                sequence: seq - 1,
                digest,
            })),
            None => Base::Unknown,
        })
    }

    /// [`Agent::relink`] onto `base` when it is known; otherwise the spool is left as it is,
    /// with an error in the log (its snapshots may then be refused, and are kept in
    /// `spool/rejected/`).
    pub(crate) fn relink_onto(&self, chain: &ChainKey, base: Base) -> Result<(), AgentError> {
        match base {
            Base::Known(base) => self.relink(chain, base),
            Base::Unknown => {
                tracing::error!(chain = %chain, "cannot re-sign the spool: the last accepted link is unknown (no receipt)");
                Ok(())
            }
        }
    }

    /// After a snapshot left the spool unaccepted (refused, or unreadable), re-links the
    /// spooled snapshots of `chain` onto `base`, the last link the server accepted (`None`:
    /// they start the chain), and re-signs them. They were never accepted, so no proof is lost;
    /// without this, every later snapshot would name a link the server never stored and the
    /// chain would be stuck forever.
    ///
    /// Nothing is deleted before its replacement is durable: each re-signed envelope is written
    /// to a temporary file in the spool directory, fsynced, renamed into place and the directory
    /// fsynced ([`StateDir::spool`]); only then is the original removed. The re-signing is
    /// recorded first ([`StateDir::begin_relink`]) so that an interruption is resumed by the next
    /// delivery pass; an original whose re-signed copy was written just before an interruption
    /// is recognised (same snapshot, chain fields aside) and removed rather than signed twice.
    /// A spooled file that cannot be read is set aside.
    pub(crate) fn relink(&self, chain: &ChainKey, base: Option<Head>) -> Result<(), AgentError> {
        self.state.begin_relink(chain, base)?;
        let mut head = base;
        let mut previous: Option<Snapshot> = None;
        for (_, path) in self.state.spooled(chain)? {
            let mut snapshot = match state::read_spooled_snapshot(&path) {
                Ok(s) => s,
                Err(SpoolFileError::Corrupt { problem, .. }) => {
                    self.state.set_aside_corrupt(&path, &problem)?;
                    continue;
                }
                Err(e) => return Err(AgentError::State(e.into())),
            };
            snapshot.sequence = 0;
            snapshot.previous_digest = None;
            if previous.as_ref() == Some(&snapshot) {
                tracing::info!(chain = %chain, path = %path.display(), "removing a snapshot already re-signed before an interruption");
                self.state.remove_spooled(&path)?;
                continue;
            }
            previous = Some(snapshot.clone());
            snapshot.sequence = head.map_or(1, |h| h.sequence + 1);
            snapshot.previous_digest = head.map(|h| h.digest);
            let (envelope, digest) = snapshot
                .sign(&*self.signing_key()?)
                .map_err(|e| AgentError::Sign(e.to_string()))?;
            let written = self
                .state
                .spool(chain, snapshot.sequence, &envelope.to_vec())?;
            if written != path {
                self.state.remove_spooled(&path)?;
            }
            head = Some(Head {
                sequence: snapshot.sequence,
                digest,
            });
        }
        match head {
            Some(h) => self.state.set_head(chain, h)?,
            None => self.state.clear_head(chain)?,
        }
        self.state.end_relink(chain)?;
        Ok(())
    }
}

/// The link a chain's spool is re-signed onto.
pub(crate) enum Base {
    /// The last link the server accepted (`None`: the spool starts the chain).
    Known(Option<Head>),
    /// Not known: nothing can be re-signed.
    Unknown,
}

/// Why one spooled envelope was not delivered.
pub(crate) enum Undelivered {
    /// The file is not an envelope the agent can send: it is set aside.
    Corrupt(String),
    /// Anything else.
    Agent(AgentError),
}

impl From<AgentError> for Undelivered {
    fn from(e: AgentError) -> Self {
        Undelivered::Agent(e)
    }
}
