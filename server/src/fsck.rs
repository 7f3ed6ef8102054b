//! `vouch fsck`: the server's own integrity check of everything it stores, trusting neither the
//! database nor the bucket.
//!
//! Every stored snapshot, chain by chain: its envelope is read wherever it is kept (the
//! database, or object storage, whose reads are checked against the SHA-256 the index recorded),
//! its signature verified with its agent's enrolled key, its payload checked as ingest checks
//! it and compared with the index (digest, chain, sequence, predecessor, collection instant);
//! its receipt verified with the server's key and compared with the index; every chain must
//! run from sequence 1 with no gap and each snapshot must name its predecessor's digest. An
//! envelope retention removed is counted, not a problem: its index row and receipt remain and
//! still carry the chain. Each problem is one line naming the chain, the sequence and the
//! digest, so an operator can find it.

use std::collections::{BTreeMap, HashMap};

use vouch_evidence::api::SnapshotRef;
use vouch_evidence::dsse::Envelope;
use vouch_evidence::{
    AssetKind, ChainKey, Digest, PublicKey, Receipt, SNAPSHOT_PAYLOAD_TYPE, Snapshot, Timestamp,
};

use crate::bundle::chain_of;
use crate::store::{Store, StoreError};

/// What `vouch fsck` found.
#[derive(Debug, Default)]
pub struct FsckReport {
    /// Snapshots in the index.
    pub snapshots: u64,
    /// Chains.
    pub chains: u64,
    /// Envelopes read and checked.
    pub envelopes_checked: u64,
    /// Envelopes retention removed (index row and receipt kept).
    pub expired: u64,
    /// Every problem, one line each; empty when everything holds.
    pub problems: Vec<String>,
}

impl FsckReport {
    /// True when nothing is wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks everything `store` holds; `server_key` is the receipt key's public half. Fails only
/// when the store cannot be read at all; what it reads wrong is a problem in the report.
pub async fn fsck(store: &dyn Store, server_key: &PublicKey) -> Result<FsckReport, StoreError> {
    let keys: HashMap<String, PublicKey> = store
        .agents()
        .await?
        .into_iter()
        .map(|a| (a.agent_id, a.public_key))
        .collect();
    let instant = |t: &str| t.parse::<Timestamp>().expect("a valid instant");
    let everything = store
        .population(
            instant("0000-01-01T00:00:00Z"),
            instant("9999-12-31T23:59:59Z"),
            AssetKind::ALL.to_vec(),
            None,
        )
        .await?;
    let mut chains: BTreeMap<ChainKey, Vec<SnapshotRef>> = BTreeMap::new();
    for r in everything {
        chains.entry(chain_of(&r)).or_default().push(r);
    }
    let mut report = FsckReport {
        chains: chains.len() as u64,
        ..FsckReport::default()
    };
    for (chain, mut refs) in chains {
        refs.sort_by_key(|r| r.sequence);
        report.snapshots += refs.len() as u64;
        let mut previous: Option<&SnapshotRef> = None;
        for r in &refs {
            let at = format!("chain {chain} sequence {} ({})", r.sequence, r.digest);
            let expected_previous = previous.map(|p| p.digest);
            match previous {
                None if r.sequence != 1 => report
                    .problems
                    .push(format!("{at}: the chain starts at sequence {}", r.sequence)),
                Some(p) if r.sequence == p.sequence => report
                    .problems
                    .push(format!("{at}: a second snapshot at this sequence (fork)")),
                Some(p) if r.sequence != p.sequence + 1 => report.problems.push(format!(
                    "{at}: gap: sequences {}..{} are missing",
                    p.sequence + 1,
                    r.sequence - 1
                )),
                _ => {}
            }
            if previous.is_some() && r.previous_digest != expected_previous {
                report.problems.push(format!(
                    "{at}: names predecessor {}, the chain holds {}",
                    show(r.previous_digest),
                    show(expected_previous)
                ));
            }
            check_receipt(store, server_key, r, &at, &mut report.problems).await?;
            match store.envelope(r.digest).await {
                Ok(Some(bytes)) => {
                    report.envelopes_checked += 1;
                    if let Err(problem) = check_envelope(&bytes, r, keys.get(&r.agent_id)) {
                        report.problems.push(format!("{at}: {problem}"));
                    }
                }
                Ok(None) => report
                    .problems
                    .push(format!("{at}: indexed but its envelope is not stored")),
                Err(StoreError::Expired { .. }) => report.expired += 1,
                Err(StoreError::Object(e)) => report.problems.push(format!("{at}: {e}")),
                Err(e) => return Err(e),
            }
            previous = Some(r);
        }
    }
    Ok(report)
}

fn show(d: Option<Digest>) -> String {
    d.map_or_else(|| "none".into(), |d| d.to_string())
}

/// The envelope's signature by its agent's key, its payload, and agreement with the index.
fn check_envelope(bytes: &[u8], r: &SnapshotRef, key: Option<&PublicKey>) -> Result<(), String> {
    let key = key.ok_or_else(|| format!("agent {} is not enrolled", r.agent_id))?;
    let envelope = Envelope::from_slice(bytes).map_err(|e| format!("envelope: {e}"))?;
    let verified = envelope
        .verify(SNAPSHOT_PAYLOAD_TYPE, |id| (*id == key.id()).then_some(key))
        .map_err(|e| {
            format!(
                "envelope does not verify with agent {}'s key: {e}",
                r.agent_id
            )
        })?;
    if verified.digest != r.digest {
        return Err(format!(
            "the envelope holds snapshot {}, not the indexed one",
            verified.digest
        ));
    }
    let header = Snapshot::check_payload(&verified.payload).map_err(|e| e.to_string())?;
    let indexed = (chain_of(r), r.sequence, r.previous_digest, r.collected_at);
    let signed = (
        header.link().chain,
        header.sequence,
        header.previous_digest,
        header.collected_at,
    );
    if signed != indexed {
        return Err(format!(
            "the index says {} seq {} after {} collected {}, the signed snapshot {} seq {} after {} collected {}",
            indexed.0,
            indexed.1,
            show(indexed.2),
            indexed.3,
            signed.0,
            signed.1,
            show(signed.2),
            signed.3
        ));
    }
    Ok(())
}

/// The receipt's signature by the server's key and agreement with the index.
async fn check_receipt(
    store: &dyn Store,
    server_key: &PublicKey,
    r: &SnapshotRef,
    at: &str,
    problems: &mut Vec<String>,
) -> Result<(), StoreError> {
    let Some(bytes) = store.receipt(r.digest).await? else {
        problems.push(format!("{at}: no receipt"));
        return Ok(());
    };
    let checked = Envelope::from_slice(&bytes)
        .map_err(|e| e.to_string())
        .and_then(|e| Receipt::verify(&e, server_key).map_err(|e| e.to_string()));
    match checked {
        Ok(receipt) if receipt.digest != r.digest || receipt.sequence != r.sequence => problems
            .push(format!(
                "{at}: the receipt is for {} sequence {}",
                receipt.digest, receipt.sequence
            )),
        Ok(_) => {}
        Err(e) => problems.push(format!(
            "{at}: the receipt does not verify with the server key: {e}"
        )),
    }
    Ok(())
}
