//! Agents' key rotations in a bundle: a key the auditor pinned leads, by rotations the
//! bundle carries and each signed by the key it retires, to the key that signed later evidence.

use std::collections::{BTreeMap, BTreeSet};

use vouch_evidence::dsse::Envelope;
use vouch_evidence::{Digest, PublicKey};

use super::BundleReport;
use crate::Keyring;

/// The member holding the rotation an agent signed to retire its key `keyid`.
pub fn rotation_file(keyid: &vouch_evidence::KeyId) -> String {
    format!("keys/rotations/{keyid}.json")
}

/// The pinned key of `owner` from which the bundle's verified rotations lead to `key`, if
/// any: the chain an auditor follows when the organisation rotated a key after they pinned
/// its keys.
pub(super) fn rotated_from_pinned(
    files: &BTreeMap<String, Vec<u8>>,
    pinned: &Keyring,
    key: &PublicKey,
    owner: &str,
) -> Option<vouch_evidence::KeyId> {
    use vouch_evidence::rotation::KeyRotation;
    let mut next: BTreeMap<vouch_evidence::KeyId, PublicKey> = BTreeMap::new();
    for (path, bytes) in files
        .iter()
        .filter(|(p, _)| p.starts_with("keys/rotations/"))
    {
        let Some(rot) = Envelope::from_slice(bytes)
            .ok()
            .and_then(|e| KeyRotation::open(&e).ok())
            .filter(|r| r.owner == owner)
        else {
            continue;
        };
        if let (Ok(old), Ok(new)) = (rot.old(), rot.new_public())
            && *path == rotation_file(&old.id())
        {
            next.insert(old.id(), new);
        }
    }
    for start in pinned.of_owner(owner) {
        let mut at = start.clone();
        for _ in 0..=next.len() {
            if at == *key {
                return Some(start.id());
            }
            match next.get(&at.id()) {
                Some(n) => at = n.clone(),
                None => break,
            }
        }
    }
    None
}

/// The key of `ring` that signed the envelope of `digest` in the bundle.
pub(super) fn signer_of(
    files: &BTreeMap<String, Vec<u8>>,
    digest: &Digest,
    ring: &Keyring,
) -> Option<vouch_evidence::KeyId> {
    let env = Envelope::from_slice(files.get(&format!("envelopes/{digest}.json"))?).ok()?;
    env.signatures
        .iter()
        .filter_map(|s| s.keyid.parse::<vouch_evidence::KeyId>().ok())
        .find(|k| ring.get(k).is_some())
}

/// Checks every key rotation the keys record: the rotation the agent signed is in the bundle
/// (`keys/rotations/<key id>.json`), signed by the retired key and its successor, both keys of
/// that agent; and every rotation in the bundle is one the keys record.
pub(super) fn check_rotations(
    files: &BTreeMap<String, Vec<u8>>,
    ring: &Keyring,
    r: &mut BundleReport,
) {
    use vouch_evidence::rotation::KeyRotation;
    let mut expected = BTreeSet::new();
    for (keyid, agent, _) in ring.rotations() {
        let path = rotation_file(keyid);
        expected.insert(path.clone());
        let checked = files
            .get(&path)
            .ok_or_else(|| "missing: nothing shows the agent itself changed its key".to_string())
            .and_then(|b| Envelope::from_slice(b).map_err(|e| e.to_string()))
            .and_then(|env| KeyRotation::open(&env).map_err(|e| e.to_string()))
            .and_then(|rot| {
                let old = rot.old().map_err(|e| e.to_string())?;
                let new = rot.new_public().map_err(|e| e.to_string())?;
                if rot.owner != agent || old.id() != *keyid {
                    return Err(format!(
                        "it rotates key {} of agent {}, not key {keyid} of agent {agent}",
                        old.id(),
                        rot.owner
                    ));
                }
                match ring.get(&new.id()) {
                    Some((_, owner)) if owner == agent => Ok(()),
                    _ => Err(format!(
                        "its new key {} is no key of agent {agent} in keys/keys.txt",
                        new.id()
                    )),
                }
            });
        if let Err(e) = checked {
            r.failures.push(format!("{path}: {e}"));
        }
    }
    for path in files.keys().filter(|p| p.starts_with("keys/rotations/")) {
        if !expected.contains(path) {
            r.failures
                .push(format!("{path}: a rotation keys/keys.txt does not record"));
        }
    }
}
