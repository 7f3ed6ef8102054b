//! Making evidence bundles on the server: the sample drawn from the store, packed and signed.
//! The format, and checking a bundle offline (re-deriving its stored results included), are
//! `vouch_verify::bundle`'s.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;
use vouch_evidence::api::{SampleQuery, SnapshotRef};
use vouch_evidence::dsse;
use vouch_evidence::logproofs::{ConsistencyProof, InclusionProof};
use vouch_evidence::sample::{self, SAMPLE_ALGORITHM};
use vouch_evidence::{ChainKey, Digest, SigningKey, Timestamp, canonical};
pub use vouch_verify::bundle::{
    AgentEntry, BundleEvaluation, BundleReport, BundleResult, LOG_CHECKPOINT_FILE, LOG_KEY_OWNER,
    LOG_WITNESSED_FILE, LOG_WITNESSED_PROOF_FILE, MANIFEST_FILE, MANIFEST_PAYLOAD_TYPE, Manifest,
    SERVER_KEY_OWNER, chain_of, inclusion_file, rotation_file, timestamp_file,
};

use std::sync::Arc;

use crate::checkpoints::LogSigner;
use crate::store::{Store, StoreError};
use crate::verdicts::{VerdictSigner, verdicts_file};
use vouch_verify::keystatus::KEY_STATUS_FILE;

pub use vouch_verify::bundle::verify;

/// Why a bundle could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The query is wrong.
    #[error("{0}")]
    Query(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored snapshot is missing its envelope or receipt.
    #[error("stored snapshot {0} has no {1}")]
    Missing(Digest, &'static str),
    /// Writing the archive failed.
    #[error("cannot write the archive: {0}")]
    Archive(#[from] std::io::Error),
    /// The client stopped reading the bundle.
    #[error("the client went away")]
    Closed,
    /// A verdict could not be signed (its pack does not load).
    #[error(transparent)]
    Verdict(#[from] crate::verdicts::VerdictError),
}

/// The population of `query` (by digest) and the sample drawn from it (in draw order).
pub async fn draw(
    store: &dyn Store,
    query: &SampleQuery,
) -> Result<(Vec<SnapshotRef>, Vec<SnapshotRef>), BundleError> {
    let problems = query.problems();
    if !problems.is_empty() {
        return Err(BundleError::Query(problems.join("; ")));
    }
    let kinds = query.asset_kinds().map_err(BundleError::Query)?;
    let population = store
        .population(query.from, query.to, kinds, query.as_of)
        .await?;
    let digests: Vec<Digest> = population.iter().map(|m| m.digest).collect();
    let by_digest: BTreeMap<Digest, &SnapshotRef> =
        population.iter().map(|m| (m.digest, m)).collect();
    let sample = sample::draw(&digests, &query.seed, query.size as usize)
        .into_iter()
        .map(|d| by_digest[&d].clone())
        .collect();
    Ok((population, sample))
}

/// The server's keys a bundle is made with: the receipt key signs the manifest, the log's
/// signer the checkpoint (with the newest checkpoint `quorum` of the log's witnesses
/// cosigned, when it has witnesses), the verdict signer each evaluation's statement.
pub struct Signers {
    /// The receipt key.
    pub receipt_key: SigningKey,
    /// The log's signer.
    pub log: Arc<LogSigner>,
    /// The witnesses' quorum, when the log has witnesses.
    pub quorum: Option<usize>,
    /// The verdicts' signer.
    pub verdicts: Arc<VerdictSigner>,
}

/// Makes the bundle for `query` with the server's `signers`, as `.tar.gz` bytes in memory
/// (tests, small bundles); [`stream`] sends the same bytes as they are made.
pub async fn build(
    store: &dyn Store,
    signers: &Signers,
    query: &SampleQuery,
    now: Timestamp,
) -> Result<Vec<u8>, BundleError> {
    let (population, drawn) = draw(store, query).await?;
    let mut sink = Sink::Memory(Vec::new());
    write(store, signers, query, now, &population, &drawn, &mut sink).await?;
    match sink {
        Sink::Memory(bytes) => Ok(bytes),
        Sink::Channel(_) => unreachable!("a memory sink stays one"),
    }
}

/// A bundle on its way out, chunk by chunk.
pub type Chunks = tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>;

/// The bundle for `query` as a stream of `.tar.gz` chunks, made while it is sent: one envelope
/// (and its receipt) is held at a time, so the server's memory stays flat however large the
/// bundle. The sample is drawn first, so a wrong query fails before anything is sent; a
/// failure later (a store read) ends the stream with an error, which leaves the client a
/// truncated archive that no check accepts (the gzip trailer is missing). A client that goes
/// away stops the work.
pub async fn stream(
    store: Arc<dyn Store>,
    signers: Signers,
    query: SampleQuery,
    now: Timestamp,
) -> Result<Chunks, BundleError> {
    let (population, drawn) = draw(store.as_ref(), &query).await?;
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tokio::spawn(async move {
        let mut sink = Sink::Channel(tx);
        let made = write(
            store.as_ref(),
            &signers,
            &query,
            now,
            &population,
            &drawn,
            &mut sink,
        )
        .await;
        match (made, sink) {
            (Ok(()), _) | (Err(BundleError::Closed), _) => {}
            (Err(e), Sink::Channel(tx)) => {
                tracing::error!(error = %e, "the evidence bundle could not be completed");
                let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
            }
            (Err(_), Sink::Memory(_)) => unreachable!("a channel sink stays one"),
        }
    });
    Ok(rx)
}

/// Where a bundle's compressed bytes go.
enum Sink {
    Memory(Vec<u8>),
    Channel(tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>),
}

impl Sink {
    async fn put(&mut self, chunk: Vec<u8>) -> Result<(), BundleError> {
        match self {
            Sink::Memory(all) => all.extend_from_slice(&chunk),
            Sink::Channel(tx) => tx.send(Ok(chunk)).await.map_err(|_| BundleError::Closed)?,
        }
        Ok(())
    }
}

/// Appends members to the archive, recording each one's digest for the manifest, and passes
/// the compressed bytes on after each.
struct Packer<'a> {
    tar: tar::Builder<flate2::write::GzEncoder<Vec<u8>>>,
    files: BTreeMap<String, Digest>,
    mtime: u64,
    sink: &'a mut Sink,
}

impl Packer<'_> {
    async fn add(&mut self, path: String, bytes: &[u8]) -> Result<(), BundleError> {
        append(&mut self.tar, &path, bytes, self.mtime)?;
        self.files.insert(path, Digest::of(bytes));
        self.flush().await
    }

    async fn flush(&mut self) -> Result<(), BundleError> {
        let chunk = std::mem::take(self.tar.get_mut().get_mut());
        if chunk.is_empty() {
            return Ok(());
        }
        self.sink.put(chunk).await
    }
}

/// Writes the bundle of `population` and its sample `drawn` to `sink`: every member, then the
/// signed manifest of their digests last (the order of members carries no meaning; `vouch
/// verify` reads them all). The log's checkpoint is taken after the population was drawn, so
/// its tree holds every snapshot of the population.
async fn write(
    store: &dyn Store,
    signers: &Signers,
    query: &SampleQuery,
    now: Timestamp,
    population: &[SnapshotRef],
    drawn: &[SnapshotRef],
    sink: &mut Sink,
) -> Result<(), BundleError> {
    let (receipt_key, log, quorum) = (&signers.receipt_key, signers.log.as_ref(), signers.quorum);
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut p = Packer {
        tar: tar::Builder::new(gz),
        files: BTreeMap::new(),
        mtime: u64::try_from(now.unix_micros() / 1_000_000).unwrap_or(0),
        sink,
    };
    // The witnessed checkpoint first: the head read after it is at least as large.
    let witnessed = match quorum {
        Some(q) => crate::cosigning::witnessed(store, log, q).await?,
        None => None,
    };
    let head = store.log_head().await?;
    match &witnessed {
        Some((w, note)) if w.size == head.size => {
            p.add(LOG_CHECKPOINT_FILE.into(), note.as_bytes()).await?;
        }
        Some((w, note)) => {
            p.add(LOG_CHECKPOINT_FILE.into(), log.checkpoint(head).as_bytes())
                .await?;
            p.add(LOG_WITNESSED_FILE.into(), note.as_bytes()).await?;
            let ranges = vouch_evidence::tlog::consistency_ranges(w.size, head.size)
                .expect("a witnessed size within the log");
            let proof = ConsistencyProof {
                from: w.size,
                to: head.size,
                proof: store
                    .log_proof(&ranges)
                    .await?
                    .iter()
                    .map(|h| B64.encode(h))
                    .collect(),
                checkpoint: None,
            };
            p.add(LOG_WITNESSED_PROOF_FILE.into(), &pretty(&proof))
                .await?;
        }
        None => {
            p.add(LOG_CHECKPOINT_FILE.into(), log.checkpoint(head).as_bytes())
                .await?;
        }
    }
    let touched: BTreeSet<ChainKey> = drawn.iter().map(chain_of).collect();
    let mut leaves = Vec::new();
    for m in population.iter().filter(|m| touched.contains(&chain_of(m))) {
        let envelope = store
            .envelope(m.digest)
            .await?
            .ok_or(BundleError::Missing(m.digest, "envelope"))?;
        p.add(format!("envelopes/{}.json", m.digest), &envelope)
            .await?;
        let receipt = store
            .receipt(m.digest)
            .await?
            .ok_or(BundleError::Missing(m.digest, "receipt"))?;
        p.add(format!("receipts/{}.json", m.digest), &receipt)
            .await?;
        let proof = inclusion(store, m.digest, head.size).await?;
        leaves.push(proof.index);
        p.add(inclusion_file(&m.digest), &pretty(&proof)).await?;
    }
    for stamp in timestamps_of(store, log, &mut leaves, head.size).await? {
        p.add(timestamp_file(stamp.size), &pretty(&stamp)).await?;
    }
    let mut packs = BTreeSet::new();
    for m in drawn {
        let stored = store.evaluations_of(m.digest).await?;
        if stored.is_empty() {
            continue;
        }
        let mut signed = Vec::with_capacity(stored.len());
        let mut evaluations = Vec::with_capacity(stored.len());
        for e in stored {
            packs.insert(e.pack_digest.clone());
            signed.push(signers.verdicts.sign(store, m, e.clone()).await?);
            evaluations.push(crate::verdicts::bundle_evaluation(e));
        }
        p.add(format!("results/{}.json", m.digest), &pretty(&evaluations))
            .await?;
        p.add(verdicts_file(&m.digest), &pretty(&signed)).await?;
    }
    for digest in &packs {
        let pack = store
            .pack(digest)
            .await?
            .ok_or_else(|| BundleError::Query(format!("pack {digest} is not kept")))?;
        for (path, bytes) in pack.files {
            p.add(format!("packs/{digest}/{path}"), &bytes).await?;
        }
    }
    let agent_ids: BTreeSet<&str> = population.iter().map(|m| m.agent_id.as_str()).collect();
    let mut agents: Vec<AgentEntry> = store
        .agents()
        .await?
        .into_iter()
        .filter(|a| agent_ids.contains(a.agent_id.as_str()))
        .map(|a| AgentEntry {
            public_key: a.public_key.to_line(&a.agent_id),
            agent_id: a.agent_id,
            name: a.name,
            enrolled_at: a.enrolled_at,
        })
        .collect();
    agents.sort_by(|a, b| a.agent_id.cmp(&b.agent_id));
    let mut keys = String::from(
        "# Vouch public keys: enrolled agents, then the server's receipt, log and verdict keys.\n",
    );
    for a in &agents {
        keys.push_str(&a.public_key);
        keys.push('\n');
    }
    let retired: Vec<crate::store::RetiredKey> = store
        .retired_keys()
        .await?
        .into_iter()
        .filter(|k| {
            agent_ids.contains(k.agent_id.as_str())
                || [SERVER_KEY_OWNER, crate::verdicts::VERDICT_KEY_OWNER]
                    .contains(&k.agent_id.as_str())
        })
        .collect();
    keys.push_str(&retired_lines(retired.iter()));
    keys.push_str(&receipt_key.public().to_line(SERVER_KEY_OWNER));
    keys.push('\n');
    keys.push_str(&log.verifier().key().to_line(LOG_KEY_OWNER));
    keys.push('\n');
    keys.push_str(
        &signers
            .verdicts
            .public()
            .to_line(crate::verdicts::VERDICT_KEY_OWNER),
    );
    keys.push('\n');
    p.add("keys/keys.txt".into(), keys.as_bytes()).await?;
    let status = key_status(&keys, receipt_key, now).map_err(BundleError::Query)?;
    p.add(KEY_STATUS_FILE.into(), &status.to_vec()).await?;
    for k in &retired {
        p.add(rotation_file(&k.public_key.id()), &k.rotation)
            .await?;
    }
    p.add("keys/agents.json".into(), &pretty(&agents)).await?;
    p.add("population.json".into(), &pretty(&population))
        .await?;
    p.add(
        "README.txt".into(),
        &readme(query, &receipt_key.public().id().to_string()),
    )
    .await?;
    let digests: Vec<Digest> = population.iter().map(|m| m.digest).collect();
    let manifest = Manifest {
        format: 1,
        created_at: now,
        query: query.clone(),
        algorithm: SAMPLE_ALGORITHM.into(),
        population_count: population.len() as u64,
        population_fingerprint: sample::population_fingerprint(&digests),
        sample: drawn.iter().map(|m| m.digest).collect(),
        files: std::mem::take(&mut p.files),
    };
    let payload = canonical::to_vec(&manifest).expect("a manifest is always canonicalisable");
    let signed = dsse::sign(receipt_key, MANIFEST_PAYLOAD_TYPE, &payload);
    append(&mut p.tar, MANIFEST_FILE, &signed.to_vec(), p.mtime)?;
    let end = p.tar.into_inner()?.finish()?;
    p.sink.put(end).await
}

/// The inclusion proof of stored snapshot `digest` in the log's tree of `size` leaves.
/// The time-stamps that date `leaves`: for each, the first time-stamped checkpoint holding
/// it (within the tree of `size` leaves), each with its consistency proof to that tree.
async fn timestamps_of(
    store: &dyn Store,
    log: &LogSigner,
    leaves: &mut [u64],
    size: u64,
) -> Result<Vec<vouch_verify::timestamp::TimestampProof>, BundleError> {
    leaves.sort_unstable();
    let mut sizes = BTreeSet::new();
    // In leaf order, the first stamp holding a leaf also holds every later leaf below it.
    let mut covering: Option<u64> = None;
    for &leaf in leaves.iter() {
        if covering.is_some_and(|c| leaf < c) {
            continue;
        }
        covering = store.timestamp_covering(Some(leaf)).await?.map(|(s, ..)| s);
        match covering {
            Some(s) if s <= size => {
                sizes.insert(s);
            }
            _ => break,
        }
    }
    let mut out = Vec::with_capacity(sizes.len());
    for stamped in sizes {
        let Some(mut proof) = crate::timestamps::proof(store, log, Some(stamped - 1)).await? else {
            continue;
        };
        if proof.size < size {
            let ranges = vouch_evidence::tlog::consistency_ranges(proof.size, size)
                .expect("a stamped size within the log");
            proof.consistency = store
                .log_proof(&ranges)
                .await?
                .iter()
                .map(|h| B64.encode(h))
                .collect();
        }
        out.push(proof);
    }
    Ok(out)
}

async fn inclusion(
    store: &dyn Store,
    digest: Digest,
    size: u64,
) -> Result<InclusionProof, BundleError> {
    let index = store
        .log_index(digest)
        .await?
        .filter(|i| *i < size)
        .ok_or(BundleError::Missing(digest, "leaf in the log"))?;
    let ranges = vouch_evidence::tlog::inclusion_ranges(index, size)
        .expect("an index below the size has an inclusion proof");
    let proof = store.log_proof(&ranges).await?;
    Ok(InclusionProof {
        digest,
        index,
        size,
        proof: proof.iter().map(|h| B64.encode(h)).collect(),
        checkpoint: None,
    })
}

fn pretty<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).expect("serialisable");
    out.push(b'\n');
    out
}

fn append<W: std::io::Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    bytes: &[u8],
    mtime: u64,
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(mtime);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, path, bytes)
}

fn readme(query: &SampleQuery, server_keyid: &str) -> Vec<u8> {
    format!(
        "Vouch evidence bundle\n\n\
         Sample of {size} snapshot(s) drawn with seed {seed:?} from the snapshots collected in\n\
         [{from}, {to}) of asset kinds {kinds:?} (empty: all).\n\n\
         Check it offline with `vouch verify <this file> --keys <keys your organisation published>`.\n\
         Without --keys the keys inside the bundle are used: then compare the server key id\n\
         {server_keyid}\n\
         with the one your organisation published (`vouch keys export`).\n\n\
         Re-derive the sample with any SHA-256 tool: for each digest d in population.json, rank =\n\
         sha256(\"vouch-sample-v1\\n\" + seed + \"\\n\" + d); sort ascending by rank; take the first {size}.\n\n\
         results/<digest>.json lists how each sampled snapshot was judged, by which policy pack;\n\
         packs/<pack digest>/ holds that pack's Rego files and vouch-config.json (the organisation\n\
         settings). `vouch verify` rebuilds each pack, checks its digest and re-judges the snapshot:\n\
         every stored result must follow from its pack. verdicts/<digest>.json holds each\n\
         evaluation as an in-toto statement signed with the vouch-server-verdicts key; `vouch\n\
         verify` re-derives each one.\n\n\
         log/checkpoint.txt is the transparency log's checkpoint signed when this bundle was made\n\
         (a C2SP checkpoint note, checked with the vouch-server-log key); log/inclusion/<digest>.json\n\
         proves each envelope a leaf of its tree. Add `--since <checkpoint you saved earlier>\n\
         --consistency <GET /v1/log/consistency?from=its size>` to check the log only grew since.\n\n\
         When the log has witnesses, the checkpoint carries their cosignatures (C2SP cosignature/v1)\n\
         or, if they had not cosigned it yet, log/witnessed.txt is the newest checkpoint they did\n\
         and log/witnessed-consistency.json proves its tree a prefix of this one. Add `--witness\n\
         <witness key, or a file of keys>` (and `--witness-quorum N`) to require their cosignatures:\n\
         every snapshot must then be in a tree the witnesses saw.\n",
        size = query.size,
        seed = query.seed,
        from = query.from,
        to = query.to,
        kinds = query.kinds,
    )
    .into_bytes()
}

/// The keys-file lines of retired keys: each key (what it signed before stays verifiable),
/// then when its agent rotated it, in the order they were retired.
pub fn retired_lines<'a>(keys: impl Iterator<Item = &'a crate::store::RetiredKey>) -> String {
    let mut keys: Vec<&crate::store::RetiredKey> = keys.collect();
    keys.sort_by(|a, b| (a.retired_at, &a.agent_id).cmp(&(b.retired_at, &b.agent_id)));
    let mut out = String::new();
    for k in &keys {
        out.push_str(&k.public_key.to_line(&k.agent_id));
        out.push('\n');
    }
    for k in &keys {
        out.push_str(&crate::verify::rotation_line(
            &k.agent_id,
            &k.public_key.id(),
            k.retired_at,
        ));
        out.push('\n');
    }
    out
}

/// The key-status list of the keys file `keys`, issued at `now`, signed with `receipt_key`.
pub fn key_status(
    keys: &str,
    receipt_key: &SigningKey,
    now: Timestamp,
) -> Result<dsse::Envelope, String> {
    use vouch_verify::keystatus::{KEY_STATUS_PAYLOAD_TYPE, from_keyring};
    let ring = vouch_verify::Keyring::parse(keys, "keys").map_err(|e| e.join("; "))?;
    let list = from_keyring(&ring, now);
    let payload = canonical::to_vec(&list).map_err(|e| e.to_string())?;
    Ok(dsse::sign(receipt_key, KEY_STATUS_PAYLOAD_TYPE, &payload))
}
