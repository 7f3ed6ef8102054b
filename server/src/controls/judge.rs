//! The pack in force as the evaluator's [`Judge`].

use super::*;

/// A policy pack with the organisation settings it judges with, as the evaluator uses it (a
/// [`KeptPack`]: its digest covers both).
pub struct PackJudge(KeptPack);

impl PackJudge {
    /// Wraps a loaded pack.
    pub fn new(pack: PolicyPack) -> Self {
        PackJudge(KeptPack::new(pack))
    }

    /// The pack a stored record describes, loaded again from its files; refused when the files
    /// no longer give the recorded digest.
    pub fn from_record(record: &PackRecord, catalogs: &Catalogs) -> Result<Self, String> {
        KeptPack::from_files(&record.files, &record.digest, catalogs).map(PackJudge)
    }

    /// The policies.
    pub fn pack(&self) -> &PolicyPack {
        self.0.pack()
    }
}

impl Judge for PackJudge {
    fn digest(&self) -> &str {
        self.0.digest()
    }

    fn files(&self) -> Vec<(String, Vec<u8>)> {
        self.0.files().to_vec()
    }

    fn judge(&self, snapshot: &Snapshot) -> Vec<StoredResult> {
        self.0
            .judge(snapshot)
            .into_iter()
            .map(|r| StoredResult {
                policy_id: r.policy,
                status: r.status.as_str().to_string(),
                reason: r.reason,
                evidence: r.evidence,
            })
            .collect()
    }

    fn unjudged(&self, reason: &str) -> Vec<StoredResult> {
        self.0
            .pack()
            .policies()
            .iter()
            .map(|p| StoredResult {
                policy_id: p.id.clone(),
                status: "error".into(),
                reason: reason.to_string(),
                evidence: p.evidence.clone(),
            })
            .collect()
    }
}
