//! Signed verdicts: each stored evaluation of a snapshot, as the in-toto statement
//! [`vouch_verify::verdicts`] defines, signed in a DSSE envelope with the server's verdict
//! key (`verdict.key` in the data directory, a role of its own beside the receipt and log
//! keys). Statements are made when asked for (the feed, bundles) from what the store holds:
//! the signature is deterministic (Ed25519), so the same evaluation always gives the same
//! envelope, and nothing is stored twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use vouch_evidence::api::SnapshotRef;
use vouch_evidence::dsse::{self, Envelope};
use vouch_evidence::{PublicKey, SigningKey};
use vouch_policies::{Catalogs, KeptPack};
use vouch_verify::bundle::BundleEvaluation;
pub use vouch_verify::verdicts::{
    STATEMENT_PAYLOAD_TYPE, Statement, VERDICT_KEY_OWNER, Verifier, verdicts_file,
};

use crate::store::{Evaluation, Store, StoreError};

/// The most packs kept loaded (a pack is loaded once per digest, from its stored files).
const PACKS_KEPT: usize = 16;

/// Why a verdict could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum VerdictError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The pack that judged is not stored, or does not load from its files.
    #[error("pack {0}: {1}")]
    Pack(String, String),
}

/// The verdict key and the packs it has loaded.
pub struct VerdictSigner {
    key: SigningKey,
    packs: Mutex<HashMap<String, Arc<KeptPack>>>,
}

impl VerdictSigner {
    /// A signer with `key`.
    pub fn new(key: SigningKey) -> Self {
        VerdictSigner {
            key,
            packs: Mutex::new(HashMap::new()),
        }
    }

    /// The public key verdicts are checked with.
    pub fn public(&self) -> &PublicKey {
        self.key.public()
    }

    /// The verifier every statement names: this server, by its verdict key, and its
    /// version.
    pub fn verifier(&self) -> Verifier {
        Verifier {
            id: format!("vouch-server/{}", self.key.public().id()),
            version: [("vouch".to_string(), env!("CARGO_PKG_VERSION").to_string())].into(),
        }
    }

    /// The pack of `digest`, loaded from its stored files once.
    async fn pack(&self, store: &dyn Store, digest: &str) -> Result<Arc<KeptPack>, VerdictError> {
        if let Some(p) = self.packs.lock().expect("packs lock").get(digest) {
            return Ok(p.clone());
        }
        let record = store
            .pack(digest)
            .await?
            .ok_or_else(|| VerdictError::Pack(digest.into(), "not stored".into()))?;
        let pack = KeptPack::from_files(&record.files, digest, &Catalogs::builtin())
            .map_err(|e| VerdictError::Pack(digest.into(), e))?;
        let pack = Arc::new(pack);
        let mut packs = self.packs.lock().expect("packs lock");
        if packs.len() >= PACKS_KEPT {
            packs.clear();
        }
        packs.insert(digest.to_string(), pack.clone());
        Ok(pack)
    }

    /// The signed statement of `evaluation` of `snapshot`.
    pub async fn sign(
        &self,
        store: &dyn Store,
        snapshot: &SnapshotRef,
        evaluation: Evaluation,
    ) -> Result<Envelope, VerdictError> {
        let pack = self.pack(store, &evaluation.pack_digest).await?;
        let statement = vouch_verify::verdicts::statement(
            snapshot,
            &bundle_evaluation(evaluation),
            pack.pack(),
            &self.verifier(),
        );
        Ok(dsse::sign(
            &self.key,
            STATEMENT_PAYLOAD_TYPE,
            &vouch_verify::verdicts::payload(&statement),
        ))
    }
}

/// A stored evaluation as bundles carry it.
pub fn bundle_evaluation(e: Evaluation) -> BundleEvaluation {
    BundleEvaluation {
        pack: e.pack_digest,
        evaluated_at: e.evaluated_at,
        run: e.run_id,
        results: e
            .results
            .iter()
            .map(|r| vouch_verify::bundle::BundleResult {
                policy: r.policy_id.clone(),
                status: r.status.clone(),
                reason: r.reason.clone(),
                evidence: r.evidence.clone(),
            })
            .collect(),
    }
}

/// The key a verdict signer falls back to when the state was made without one (tests, tools):
/// a key of its own, derived from the receipt key's seed under a label, never the receipt key.
pub fn derived_verdict_key(receipt_key: &SigningKey) -> SigningKey {
    use sha2::Digest as _;
    let seed: [u8; 32] = sha2::Sha256::new()
        .chain_update(b"vouch verdict key\n")
        .chain_update(receipt_key.seed())
        .finalize()
        .into();
    SigningKey::from_seed(&seed)
}
