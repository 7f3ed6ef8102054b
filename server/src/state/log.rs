//! The application state's transparency-log signer ([`LogSigner`]) and the checkpoint of the
//! current tree head.

pub use crate::checkpoints::LogSigner;

use super::*;
use crate::store::LogHead;

impl AppState {
    /// The log's signer.
    pub fn log(&self) -> Arc<LogSigner> {
        self.inner.log.read().expect("log signer lock").clone()
    }

    /// Replaces the log's signer (its key from `log.key`, its configured origin).
    pub fn set_log(&self, signer: LogSigner) {
        *self.inner.log.write().expect("log signer lock") = Arc::new(signer);
    }

    /// The signer of verdicts.
    pub fn verdicts(&self) -> Arc<crate::verdicts::VerdictSigner> {
        self.inner.verdicts.read().expect("verdicts lock").clone()
    }

    /// Replaces the signer of verdicts (its key from `verdict.key`).
    pub fn set_verdicts(&self, signer: crate::verdicts::VerdictSigner) {
        *self.inner.verdicts.write().expect("verdicts lock") = Arc::new(signer);
    }

    /// The witness, when this server is one.
    pub fn witness(&self) -> Option<Arc<crate::witness::WitnessService>> {
        self.inner.witness.read().expect("witness lock").clone()
    }

    /// Makes this server a witness.
    pub fn set_witness(&self, witness: crate::witness::WitnessService) {
        *self.inner.witness.write().expect("witness lock") = Some(Arc::new(witness));
    }

    /// The witnesses of this server's log, when it has any.
    pub fn cosigners(&self) -> Option<Arc<crate::cosigning::Cosigners>> {
        self.inner.cosigners.read().expect("cosigners lock").clone()
    }

    /// Gives this server's log its witnesses.
    pub fn set_cosigners(&self, cosigners: crate::cosigning::Cosigners) {
        *self.inner.cosigners.write().expect("cosigners lock") = Some(Arc::new(cosigners));
    }

    /// The newest checkpoint a quorum of the log's witnesses cosigned, with their
    /// cosignatures; `None` when the log has no witnesses or none reached the quorum yet.
    pub async fn witnessed(&self) -> Result<Option<(LogHead, String)>, StoreError> {
        match self.cosigners() {
            Some(c) => crate::cosigning::witnessed(&**self.store(), &self.log(), c.quorum()).await,
            None => Ok(None),
        }
    }

    /// One round of the log's witnesses ([`crate::cosigning::Cosigners::round`]): each
    /// answer logged (an alarm as an error) and counted.
    pub async fn witness_round(&self) {
        use crate::cosigning::Answer;
        let Some(cosigners) = self.cosigners() else {
            return;
        };
        let store = self.store().clone();
        match cosigners.round(&*store, &self.log(), self.now()).await {
            Ok(answers) => {
                for (witness, answer) in answers {
                    match answer {
                        Answer::Cosigned => {
                            self.metrics().witness_cosigned();
                            tracing::debug!(%witness, "the witness cosigned the log's checkpoint");
                        }
                        Answer::Already => {}
                        Answer::Failed(why) => {
                            self.metrics().witness_failed();
                            tracing::warn!(%witness, %why, "the witness did not cosign the log's checkpoint");
                        }
                        Answer::Alarm(why) => {
                            self.metrics().witness_alarm();
                            tracing::error!(%witness, %why, "ALARM: a witness was shown another history of this log");
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "the witnesses' round could not read the log"),
        }
    }

    /// The log's time-stamping authority, when there is one.
    pub fn stamper(&self) -> Option<Arc<crate::timestamps::Stamper>> {
        self.inner.stamper.read().expect("stamper lock").clone()
    }

    /// Gives the log a time-stamping authority.
    pub fn set_stamper(&self, stamper: crate::timestamps::Stamper) {
        *self.inner.stamper.write().expect("stamper lock") = Some(Arc::new(stamper));
    }

    /// Time-stamps the log's checkpoint if it grew ([`crate::timestamps::Stamper::stamp`]):
    /// the stamp logged and counted, a failure logged as a warning and counted.
    pub async fn timestamp_round(&self) {
        let Some(stamper) = self.stamper() else {
            return;
        };
        let store = self.store().clone();
        match stamper.stamp(&*store, &self.log()).await {
            Ok(Some((size, stamped))) => {
                self.metrics().timestamped();
                tracing::info!(size, gen_time = %stamped.gen_time, tsa = %stamped.tsa, "the log's checkpoint is time-stamped");
            }
            Ok(None) => {}
            Err(e) => {
                self.metrics().timestamp_failed();
                tracing::warn!(error = %e, "the log's checkpoint could not be time-stamped");
            }
        }
    }

    /// The log's head now and its signed checkpoint.
    pub async fn checkpoint(&self) -> Result<(LogHead, String), StoreError> {
        let head = self.store().log_head().await?;
        Ok((head, self.log().checkpoint(head)))
    }

    /// A signed checkpoint of a tree of at least `min_size` leaves, for a delivery's proofs:
    /// the last one made for a delivery when it is that large and signed by the current
    /// signer, else the head's now (which may be smaller when the log shrank: the agent then
    /// finds out). Every delivery of an agent that keeps the log needs one; a batch of
    /// deliveries shares one read of the head and one signature instead of one each.
    pub async fn checkpoint_covering(
        &self,
        min_size: u64,
    ) -> Result<(LogHead, String), StoreError> {
        let signer = self.log();
        let mut kept = self.inner.delivery_checkpoint.lock().await;
        if let Some((by, head, note)) = kept.as_ref()
            && Arc::ptr_eq(by, &signer)
            && head.size >= min_size
        {
            return Ok((*head, note.clone()));
        }
        let head = self.store().log_head().await?;
        let note = signer.checkpoint(head);
        let newer = kept
            .as_ref()
            .is_none_or(|(by, old, _)| !Arc::ptr_eq(by, &signer) || head.size > old.size);
        if newer {
            *kept = Some((signer, head, note.clone()));
        }
        Ok((head, note))
    }
}
