//! Reading a bundle (its members, safely) and checking it whole: [`verify`] and
//! [`verify_with`].

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::PathBuf;

use vouch_evidence::api::SnapshotRef;
use vouch_evidence::dsse::Envelope;
use vouch_evidence::sample::{self, SAMPLE_ALGORITHM};
use vouch_evidence::{ChainKey, Digest, PublicKey, Receipt};

use super::log::check_log;
use super::rotation::{check_rotations, rotated_from_pinned, signer_of};
use super::{
    BundleReport, LOG_KEY_OWNER, MANIFEST_FILE, MANIFEST_PAYLOAD_TYPE, MAX_UNPACKED, Manifest,
    SERVER_KEY_OWNER, chain_of,
};
use crate::{Depth, Keyring, verify_blobs_at};

/// A member's path as the bundle names it: `./` steps dropped, so that a bundle an auditor
/// unpacked and packed again with `tar -C DIR .` (members `./manifest.json`, …) reads the
/// same; absolute paths and `..` are refused.
pub(super) fn member_path(raw: &std::path::Path) -> Result<String, String> {
    use std::path::Component;
    let mut parts = Vec::new();
    for c in raw.components() {
        match c {
            Component::CurDir => {}
            Component::Normal(part) => parts.push(part.to_string_lossy()),
            Component::RootDir | Component::Prefix(_) | Component::ParentDir => {
                return Err(format!("{}: member path is not allowed", raw.display()));
            }
        }
    }
    if parts.is_empty() {
        return Err(format!("{}: member path is not allowed", raw.display()));
    }
    Ok(parts.join("/"))
}

/// Reads a `.tar.gz` into path → bytes; refuses links, absolute or `..` paths, duplicates.
pub fn unpack(bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut files = BTreeMap::new();
    let mut total = 0u64;
    for entry in archive
        .entries()
        .map_err(|e| format!("not a .tar.gz: {e}"))?
    {
        let mut entry = entry.map_err(|e| format!("not a .tar.gz: {e}"))?;
        let raw = entry
            .path()
            .map_err(|e| format!("bad member name: {e}"))?
            .into_owned();
        if entry.header().entry_type().is_dir() {
            continue;
        }
        let path = member_path(&raw)?;
        if !entry.header().entry_type().is_file() {
            return Err(format!("{path}: not a regular file"));
        }
        total += entry.size();
        if total > MAX_UNPACKED {
            return Err(format!("bundle unpacks to more than {MAX_UNPACKED} bytes"));
        }
        // The header's size is the archive's claim, not a promise: reserve at most 1 MiB up
        // front, so a few forged bytes cannot make us allocate gigabytes.
        let mut buf = Vec::with_capacity(entry.size().min(1 << 20) as usize);
        entry
            .read_to_end(&mut buf)
            .map_err(|e| format!("{path}: {e}"))?;
        if files.insert(path.clone(), buf).is_some() {
            return Err(format!("{path}: appears twice"));
        }
    }
    // The tar reader stops at the end-of-archive blocks: read the compressed stream to its end
    // too, so that its CRC and length are checked and damage anywhere in the file is refused.
    std::io::copy(&mut archive.into_inner(), &mut std::io::sink())
        .map_err(|e| format!("the .tar.gz is damaged: {e}"))?;
    Ok(files)
}

/// Re-derives the stored results of a bundle (`results/*.json`) from the packs it carries and
/// the envelopes that verified, adding a failure for each disagreement; answers how many
/// results it re-derived. The server's `bundle::verify` passes the policy engine's check;
/// [`verify_with`] knows nothing of policies.
pub trait ResultsCheck:
    FnOnce(&BTreeMap<String, Vec<u8>>, &BTreeSet<Digest>, &mut BundleReport) -> usize
{
}
impl<F: FnOnce(&BTreeMap<String, Vec<u8>>, &BTreeSet<Digest>, &mut BundleReport) -> usize>
    ResultsCheck for F
{
}

/// Checks a bundle offline, everything included: [`verify_with`] with the stored results
/// re-derived from their packs ([`crate::results::check_results`]).
pub fn verify(bytes: &[u8], pinned: Option<&Keyring>, threads: usize) -> BundleReport {
    verify_with(bytes, pinned, threads, crate::results::check_results)
}

/// Checks a bundle offline, all but its stored results, which `check_results` re-derives.
/// With `pinned`, the keys the auditor obtained from the organisation (`vouch keys export`),
/// the bundle's own keys must match them; without, the bundle's keys are used and a note says
/// which server key to compare.
pub fn verify_with(
    bytes: &[u8],
    pinned: Option<&Keyring>,
    threads: usize,
    check_results: impl ResultsCheck,
) -> BundleReport {
    let mut r = BundleReport::default();
    let mut files = match unpack(bytes) {
        Ok(f) => f,
        Err(e) => {
            r.failures.push(e);
            return r;
        }
    };
    let Some(manifest_bytes) = files.remove(MANIFEST_FILE) else {
        r.failures
            .push(format!("no {MANIFEST_FILE}: not a Vouch evidence bundle"));
        return r;
    };

    // Keys: the bundle's, checked against the pinned ones when given.
    let keys_text = files
        .get("keys/keys.txt")
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let mut ring = match Keyring::parse(&keys_text, "keys/keys.txt") {
        Ok(ring) => ring,
        Err(errors) => {
            r.failures.extend(errors);
            Keyring::default()
        }
    };
    let server_keys: Vec<PublicKey> = ring.current_of(SERVER_KEY_OWNER).cloned().collect();
    let server_key = match server_keys.as_slice() {
        [k] => Some(k.clone()),
        [] => {
            r.failures
                .push("keys/keys.txt: no server key (vouch-server-receipts)".into());
            None
        }
        _ => {
            r.failures
                .push("keys/keys.txt: more than one server key".into());
            None
        }
    };
    match (pinned, &server_key) {
        (Some(pinned), _) => {
            for line in keys_text.lines().map(str::trim) {
                let Ok((key, owner)) = PublicKey::from_line(line) else {
                    continue;
                };
                match pinned.get(&key.id()) {
                    Some((_, o)) if o == owner => {}
                    Some((_, o)) => r.failures.push(format!(
                        "keys/keys.txt: key {} belongs to {o} in the pinned keys, not {owner}",
                        key.id()
                    )),
                    // Keys pinned before the log existed name no log key: the bundle's is
                    // then used, and said so.
                    None if owner == LOG_KEY_OWNER
                        && pinned.of_owner(LOG_KEY_OWNER).next().is_none() =>
                    {
                        r.notes.push(format!(
                            "the pinned keys name no log key: the log's proofs were checked with \
                             the bundle's own ({}); compare it with your organisation's `vouch \
                             keys export`",
                            key.id()
                        ))
                    }
                    None => match rotated_from_pinned(&files, pinned, &key, &owner) {
                        Some(from) => r.notes.push(format!(
                            "the key of {owner} ({}) is not pinned, but the bundle shows it \
                             introduced by the pinned key {from} (a rotation signed by both)",
                            key.id()
                        )),
                        None => r.failures.push(format!(
                            "keys/keys.txt: the key of {owner} ({}) is not among the pinned keys",
                            key.id()
                        )),
                    },
                }
            }
        }
        (None, Some(k)) => r.notes.push(format!(
            "keys were taken from the bundle itself: compare the server key id {} with the one \
             your organisation published (or pass --keys)",
            k.id()
        )),
        (None, None) => {}
    }

    // A revocation the auditor knows of holds even when the bundle leaves it out.
    if let Some(pinned) = pinned {
        for (agent, at, reason) in pinned.revocations() {
            ring.add_revocation(agent, at, reason);
        }
    }

    // The manifest's signature, then every file against it.
    let manifest = Envelope::from_slice(&manifest_bytes)
        .map_err(|e| e.to_string())
        .and_then(|env| {
            let key = server_key
                .as_ref()
                .ok_or_else(|| "no server key to check it with".to_string())?;
            env.verify(MANIFEST_PAYLOAD_TYPE, |id| (*id == key.id()).then_some(key))
                .map_err(|e| e.to_string())
        })
        .and_then(|v| {
            serde_json::from_slice::<Manifest>(&v.payload)
                .map_err(|e| format!("payload is not a bundle manifest: {e}"))
        });
    let manifest = match manifest {
        Ok(m) => m,
        Err(e) => {
            r.failures.push(format!(
                "{MANIFEST_FILE}: signature does not verify with the server key: {e}"
            ));
            return r;
        }
    };
    for (path, want) in &manifest.files {
        match files.get(path) {
            None => r
                .failures
                .push(format!("{path}: listed in the manifest but missing")),
            Some(b) if Digest::of(b) != *want => r.failures.push(format!(
                "{path}: content differs from the manifest (sha256 {} there, {} here)",
                want,
                Digest::of(b)
            )),
            Some(_) => {}
        }
    }
    for path in files.keys() {
        if !manifest.files.contains_key(path) {
            r.failures
                .push(format!("{path}: not listed in the manifest"));
        }
    }

    // Envelopes: signatures, payloads, chains.
    let blobs: Vec<(PathBuf, &[u8])> = files
        .iter()
        .filter(|(p, _)| p.starts_with("envelopes/"))
        .map(|(p, b)| (PathBuf::from(p), b.as_slice()))
        .collect();
    let report = verify_blobs_at(&blobs, &ring, Depth::Canonical, threads);
    r.failures.extend(
        report
            .failure_lines()
            .into_iter()
            .map(|l| l.strip_prefix("FAIL ").map(str::to_string).unwrap_or(l)),
    );
    r.notes.extend(report.notes());
    let mut envelopes: BTreeMap<Digest, vouch_evidence::ChainLink> = BTreeMap::new();
    for f in &report.files {
        if let Ok((digest, link)) = &f.result {
            let expected = format!("envelopes/{digest}.json");
            if f.path.as_path() != std::path::Path::new(&expected) {
                r.failures.push(format!(
                    "{}: holds snapshot {digest}, so it should be named {expected}",
                    f.path.display()
                ));
            }
            envelopes.insert(*digest, link.clone());
        }
    }

    // The population list against the manifest and the envelopes.
    let population: Vec<SnapshotRef> = match files
        .get("population.json")
        .map(|b| serde_json::from_slice(b))
    {
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            r.failures.push(format!("population.json: {e}"));
            Vec::new()
        }
        None => Vec::new(),
    };
    let digests: Vec<Digest> = population.iter().map(|m| m.digest).collect();
    if population.len() as u64 != manifest.population_count
        || sample::population_fingerprint(&digests) != manifest.population_fingerprint
    {
        r.failures.push(format!(
            "population.json: {} snapshots with fingerprint {}, but the manifest says {} with {}",
            population.len(),
            sample::population_fingerprint(&digests),
            manifest.population_count,
            manifest.population_fingerprint
        ));
    }
    let members: BTreeMap<Digest, &SnapshotRef> =
        population.iter().map(|m| (m.digest, m)).collect();
    for (digest, link) in &envelopes {
        match members.get(digest) {
            None => r.failures.push(format!(
                "envelopes/{digest}.json: not a member of the population"
            )),
            Some(m)
                if chain_of(m) != link.chain
                    || m.sequence != link.sequence
                    || m.previous_digest != link.previous_digest =>
            {
                r.failures.push(format!(
                    "population.json: the entry for {digest} does not match its envelope"
                ))
            }
            Some(_) => {}
        }
    }
    let chains: BTreeSet<ChainKey> = envelopes.values().map(|l| l.chain.clone()).collect();
    for m in &population {
        if chains.contains(&chain_of(m)) && !envelopes.contains_key(&m.digest) {
            r.failures.push(format!(
                "chain {}: sequence {} ({}) is in the population but its envelope is not in the bundle",
                chain_of(m),
                m.sequence,
                m.digest
            ));
        }
    }

    // The sample follows from the population and the seed.
    if manifest.algorithm != SAMPLE_ALGORITHM {
        r.failures.push(format!(
            "manifest: sampling algorithm {:?} is not {SAMPLE_ALGORITHM}",
            manifest.algorithm
        ));
    }
    let redrawn = sample::draw(&digests, &manifest.query.seed, manifest.query.size as usize);
    if redrawn != manifest.sample {
        r.failures.push(format!(
            "sample: the manifest's {} snapshot(s) are not what seed {:?} draws from the population",
            manifest.sample.len(),
            manifest.query.seed
        ));
    }
    for d in &manifest.sample {
        if !envelopes.contains_key(d) {
            r.failures.push(format!(
                "sample: snapshot {d} has no verified envelope in the bundle"
            ));
        }
    }

    // Receipts.
    if let Some(key) = &server_key {
        for digest in envelopes.keys() {
            let path = format!("receipts/{digest}.json");
            let checked = files
                .get(&path)
                .ok_or_else(|| "missing".to_string())
                .and_then(|b| Envelope::from_slice(b).map_err(|e| e.to_string()))
                .and_then(|env| {
                    // The receipts key that signed it: the current one, or one rotated away
                    // since (what it signed before its rotation stays valid).
                    let signer = env
                        .signatures
                        .iter()
                        .filter_map(|s| s.keyid.parse::<vouch_evidence::KeyId>().ok())
                        .find_map(|id| {
                            ring.get(&id)
                                .filter(|(_, o)| *o == SERVER_KEY_OWNER)
                                .map(|(k, _)| k.clone())
                        })
                        .unwrap_or_else(|| key.clone());
                    let receipt = Receipt::verify(&env, &signer).map_err(|e| e.to_string())?;
                    match ring.rotation(&signer.id()) {
                        Some((_, at)) if receipt.received_at >= at => Err(format!(
                            "signed at {} by the server's receipts key {}, rotated at {at}",
                            receipt.received_at,
                            signer.id()
                        )),
                        _ => Ok(receipt),
                    }
                });
            let revoked = envelopes
                .get(digest)
                .and_then(|link| ring.revocation(&link.chain.agent_id));
            let rotated = signer_of(&files, digest, &ring).and_then(|k| {
                ring.rotation(&k)
                    .map(|(agent, at)| (k, agent.to_string(), at))
            });
            match checked {
                Ok(receipt) if receipt.digest != *digest => r.failures.push(format!(
                    "{path}: receipt is for {}, not {digest}",
                    receipt.digest
                )),
                Ok(receipt) if revoked.is_some_and(|(at, _)| receipt.received_at >= at) => {
                    let (at, reason) = revoked.expect("checked");
                    r.failures.push(format!(
                        "{path}: received at {}, after its agent was revoked at {at} ({reason})",
                        receipt.received_at
                    ))
                }
                Ok(receipt)
                    if rotated
                        .as_ref()
                        .is_some_and(|(_, _, at)| receipt.received_at >= *at) =>
                {
                    let (key, agent, at) = rotated.expect("checked");
                    r.failures.push(format!(
                        "{path}: received at {}, signed by key {key} of agent {agent}, which it \
                         rotated at {at}: nothing signed by that key is accepted from then on",
                        receipt.received_at
                    ))
                }
                Ok(_) => {}
                Err(e) => r.failures.push(format!("{path}: {e}")),
            }
        }
    }
    check_rotations(&files, &ring, &mut r);
    let statuses = crate::keystatus::check(&files, &ring, server_key.as_ref(), &mut r);
    let verified: BTreeSet<Digest> = envelopes.keys().copied().collect();
    let logged = check_log(&files, &ring, pinned, &verified, &mut r);
    let results = check_results(&files, &verified, &mut r);
    let verdicts = crate::verdicts::check_verdicts(&files, &ring, pinned, &population, &mut r);
    r.summary = format!(
        "sample of {} from a population of {} snapshot(s) (fingerprint {}), seed {:?}; {} envelope(s) in {} chain(s); {logged}; {results} policy result(s) re-derived from their packs; {verdicts}; {statuses}; server key {}",
        manifest.sample.len(),
        manifest.population_count,
        manifest.population_fingerprint,
        manifest.query.seed,
        envelopes.len(),
        chains.len(),
        server_key.map(|k| k.id().to_string()).unwrap_or_default()
    );
    r
}
