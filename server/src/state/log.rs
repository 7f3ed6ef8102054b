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

    /// The witness, when this server is one.
    pub fn witness(&self) -> Option<Arc<crate::witness::WitnessService>> {
        self.inner.witness.read().expect("witness lock").clone()
    }

    /// Makes this server a witness.
    pub fn set_witness(&self, witness: crate::witness::WitnessService) {
        *self.inner.witness.write().expect("witness lock") = Some(Arc::new(witness));
    }

    /// The log's head now and its signed checkpoint.
    pub async fn checkpoint(&self) -> Result<(LogHead, String), StoreError> {
        let head = self.store().log_head().await?;
        Ok((head, self.log().checkpoint(head)))
    }
}
