//! The bundle's transparency-log proofs: its checkpoint, every envelope a leaf of its tree,
//! the trusted time-stamps of the checkpoint and the newest checkpoint its witnesses cosigned.

use std::collections::{BTreeMap, BTreeSet};

use vouch_evidence::logproofs::{ConsistencyProof, InclusionProof, open_checkpoint};
use vouch_evidence::note::Checkpoint;
use vouch_evidence::{Digest, PublicKey};

use super::{
    BundleReport, LOG_CHECKPOINT_FILE, LOG_KEY_OWNER, LOG_WITNESSED_FILE, LOG_WITNESSED_PROOF_FILE,
    inclusion_file, timestamp_file,
};
use crate::Keyring;

/// Checks the bundle's transparency-log proofs: the checkpoint signed by the log's key (the
/// `vouch-server-log` line of the keys), and every verified envelope a leaf of its tree.
/// Answers a phrase for the summary; keeps the checkpoint in the report.
pub(super) fn check_log(
    files: &BTreeMap<String, Vec<u8>>,
    ring: &Keyring,
    pinned: Option<&Keyring>,
    envelopes: &BTreeSet<Digest>,
    r: &mut BundleReport,
) -> String {
    let keys: Vec<&PublicKey> = ring.of_owner(LOG_KEY_OWNER).collect();
    let pinned_log = pinned.is_some_and(|p| p.of_owner(LOG_KEY_OWNER).next().is_some());
    let note = files.get(LOG_CHECKPOINT_FILE);
    let key = match (keys.as_slice(), note) {
        (_, None) if pinned_log => {
            r.failures.push(format!(
                "{LOG_CHECKPOINT_FILE}: missing, though the pinned keys name the server's log \
                 key: the bundle does not show the snapshots are in the log"
            ));
            return "no log proofs".into();
        }
        ([], None) => {
            r.notes.push(
                "the bundle carries no transparency-log proofs (made by a server from before the \
                 log): nothing shows these snapshots are in the log every agent checks"
                    .into(),
            );
            return "no log proofs".into();
        }
        ([k], Some(_)) => *k,
        ([], Some(_)) => {
            r.failures.push(format!(
                "{LOG_CHECKPOINT_FILE}: no log key ({LOG_KEY_OWNER}) in keys/keys.txt to check it with"
            ));
            return "log not checked".into();
        }
        (_, Some(_)) => {
            r.failures.push(format!(
                "keys/keys.txt: more than one log key ({LOG_KEY_OWNER})"
            ));
            return "log not checked".into();
        }
        (_, None) => {
            r.failures.push(format!(
                "{LOG_CHECKPOINT_FILE}: missing, though keys/keys.txt names a log key"
            ));
            return "no log proofs".into();
        }
    };
    let note = String::from_utf8_lossy(note.expect("matched above"));
    let checkpoint = match open_checkpoint(&note, key) {
        Ok((c, _)) => c,
        Err(e) => {
            r.failures.push(format!("{LOG_CHECKPOINT_FILE}: {e}"));
            return "log not checked".into();
        }
    };
    check_witnessed(files, key, &checkpoint, r);
    check_timestamped(files, key, &checkpoint, r);
    let mut included = 0;
    for digest in envelopes {
        let path = inclusion_file(digest);
        let checked = files
            .get(&path)
            .ok_or_else(|| "missing: nothing shows the snapshot is in the log".to_string())
            .and_then(|b| {
                serde_json::from_slice::<InclusionProof>(b)
                    .map_err(|e| format!("not an inclusion proof: {e}"))
            })
            .and_then(|p| {
                if p.digest != *digest {
                    return Err(format!("the proof is for {}", p.digest));
                }
                p.verify(&checkpoint).map_err(|e| e.to_string())?;
                Ok(p.index)
            });
        match checked {
            Ok(index) => {
                included += 1;
                r.leaves.insert(*digest, index);
            }
            Err(e) => r.failures.push(format!("{path}: {e}")),
        }
    }
    let phrase = format!(
        "{included} of {} envelope(s) proved in the log's checkpoint of {} leaves ({})",
        envelopes.len(),
        checkpoint.size,
        checkpoint.origin
    );
    r.checkpoint = Some(checkpoint);
    r.log_key = Some(key.clone());
    r.log_note = Some(note.into_owned());
    phrase
}

/// Checks the time-stamps a bundle carries (`log/timestamps/<size>.json`): each over a
/// checkpoint signed by the log's key, of the size its name says, and proved a prefix of the
/// bundle's checkpoint; kept in the report for [`BundleReport::check_timestamps`].
pub(super) fn check_timestamped(
    files: &BTreeMap<String, Vec<u8>>,
    key: &PublicKey,
    checkpoint: &Checkpoint,
    r: &mut BundleReport,
) {
    for (path, bytes) in files
        .iter()
        .filter(|(p, _)| p.starts_with("log/timestamps/"))
    {
        let checked = serde_json::from_slice::<crate::timestamp::TimestampProof>(bytes)
            .map_err(|e| format!("not a time-stamp: {e}"))
            .and_then(|t| {
                if *path != timestamp_file(t.size) {
                    return Err(format!("holds the time-stamp of {} leaves", t.size));
                }
                let (older, _) = open_checkpoint(&t.checkpoint, key).map_err(|e| e.to_string())?;
                if older.size != t.size {
                    return Err(format!("its checkpoint has {} leaves", older.size));
                }
                if older.size == checkpoint.size {
                    if older.root != checkpoint.root {
                        return Err("its checkpoint is of another tree of the same size".into());
                    }
                } else {
                    ConsistencyProof {
                        from: older.size,
                        to: checkpoint.size,
                        proof: t.consistency.clone(),
                        checkpoint: None,
                    }
                    .verify(&older, checkpoint)
                    .map_err(|e| e.to_string())?;
                }
                Ok((t, older))
            });
        match checked {
            Ok(stamp) => r.timestamps.push(stamp),
            Err(e) => r.failures.push(format!("{path}: {e}")),
        }
    }
    if !r.timestamps.is_empty() {
        r.notes.push(format!(
            "the bundle carries {} RFC 3161 time-stamp(s) of the log's checkpoints: check them \
             with --tsa-cert <the TSA's certificate>",
            r.timestamps.len()
        ));
    }
}

/// Checks the older witnessed checkpoint a bundle carries, when it does: signed by the log's
/// key, its tree a prefix of the bundle's checkpoint's; kept in the report for
/// [`BundleReport::check_witnesses`].
pub(super) fn check_witnessed(
    files: &BTreeMap<String, Vec<u8>>,
    key: &PublicKey,
    checkpoint: &Checkpoint,
    r: &mut BundleReport,
) {
    let (note, proof) = match (
        files.get(LOG_WITNESSED_FILE),
        files.get(LOG_WITNESSED_PROOF_FILE),
    ) {
        (None, None) => return,
        (Some(n), Some(p)) => (String::from_utf8_lossy(n).into_owned(), p),
        (Some(_), None) => {
            r.failures.push(format!(
                "{LOG_WITNESSED_PROOF_FILE}: missing beside {LOG_WITNESSED_FILE}"
            ));
            return;
        }
        (None, Some(_)) => {
            r.failures.push(format!(
                "{LOG_WITNESSED_FILE}: missing beside {LOG_WITNESSED_PROOF_FILE}"
            ));
            return;
        }
    };
    let older = match open_checkpoint(&note, key) {
        Ok((c, _)) => c,
        Err(e) => {
            r.failures.push(format!("{LOG_WITNESSED_FILE}: {e}"));
            return;
        }
    };
    let checked = serde_json::from_slice::<ConsistencyProof>(proof)
        .map_err(|e| format!("not a consistency proof: {e}"))
        .and_then(|p| p.verify(&older, checkpoint).map_err(|e| e.to_string()));
    match checked {
        Ok(()) => r.witnessed = Some((note, older)),
        Err(e) => r.failures.push(format!("{LOG_WITNESSED_PROOF_FILE}: {e}")),
    }
}
