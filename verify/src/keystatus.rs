//! The signed key-status list: every key a server knows — its agents' keys, current and
//! retired, and its own — with its status (`active`, `rotated`, `revoked`) and the instants
//! that bound it, signed with the server's receipt key (payload type
//! `application/vnd.vouch.key-status+json`). `GET /v1/keys/status` serves it and bundles carry
//! it (`keys/status.dsse.json`), so an auditor knows which keys were valid when each envelope
//! was received. It is made from the keys file alone, so `vouch verify` re-derives it from the
//! bundle's keys and refuses a list that says otherwise.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vouch_evidence::{PublicKey, Timestamp};

use crate::Keyring;

/// The DSSE payload type of a key-status list.
pub const KEY_STATUS_PAYLOAD_TYPE: &str = "application/vnd.vouch.key-status+json";
/// The member of a bundle holding it.
pub const KEY_STATUS_FILE: &str = "keys/status.dsse.json";

/// Every key and its status, when the server issued the list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyStatusList {
    /// When the server issued it.
    pub issued_at: Timestamp,
    /// Every key, by owner, then from the oldest.
    pub keys: Vec<KeyStatus>,
}

/// One key's status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyStatus {
    /// Its key id (hex SHA-256 of the raw key).
    pub key_id: String,
    /// The raw Ed25519 key, base64.
    pub key: String,
    /// Whose: an agent id, or the server's role (`vouch-server-receipts`, …).
    pub owner: String,
    /// `active`, `rotated` or `revoked`.
    pub status: String,
    /// From when it signs for its owner, when known (the rotation that introduced it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
    /// Until when: its rotation, or its agent's revocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
    /// Why it was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The list the keys of `ring` make, issued at `issued_at`.
pub fn from_keyring(ring: &Keyring, issued_at: Timestamp) -> KeyStatusList {
    let mut by_owner: BTreeMap<&str, Vec<&PublicKey>> = BTreeMap::new();
    for (key, owner) in ring.keys() {
        by_owner.entry(owner).or_default().push(key);
    }
    let mut keys = Vec::new();
    for (owner, mut owned) in by_owner {
        // Retired keys first, in the order they were rotated; the current key last.
        owned.sort_by_key(|k| {
            (
                ring.rotation(&k.id())
                    .map_or(i64::MAX, |(_, at)| at.unix_micros()),
                k.id().to_string(),
            )
        });
        let revoked = ring.revocation(owner);
        let mut since = None;
        for key in owned {
            let rotated = ring.rotation(&key.id()).map(|(_, at)| at);
            let (status, until, reason) = match (rotated, revoked) {
                (Some(at), _) => ("rotated", Some(at), None),
                (None, Some((at, why))) => ("revoked", Some(at), Some(why.to_string())),
                (None, None) => ("active", None, None),
            };
            keys.push(KeyStatus {
                key_id: key.id().to_string(),
                key: key.to_base64(),
                owner: owner.to_string(),
                status: status.into(),
                since,
                until,
                reason,
            });
            since = rotated;
        }
    }
    KeyStatusList { issued_at, keys }
}

/// Checks a bundle's key-status list: signed by the server's receipt key, and saying of every
/// key what the bundle's keys say. Answers a phrase for the summary.
pub(crate) fn check(
    files: &BTreeMap<String, Vec<u8>>,
    ring: &Keyring,
    server_key: Option<&PublicKey>,
    r: &mut crate::bundle::BundleReport,
) -> String {
    let Some(bytes) = files.get(KEY_STATUS_FILE) else {
        r.notes.push(
            "the bundle carries no signed key-status list (made by a server from before it)".into(),
        );
        return "no key-status list".into();
    };
    let Some(server_key) = server_key else {
        return "key-status list not checked".into();
    };
    let opened = vouch_evidence::dsse::Envelope::from_slice(bytes)
        .map_err(|e| e.to_string())
        .and_then(|env| {
            env.verify(KEY_STATUS_PAYLOAD_TYPE, |id| {
                (*id == server_key.id()).then_some(server_key)
            })
            .map_err(|e| e.to_string())
        })
        .and_then(|v| {
            serde_json::from_slice::<KeyStatusList>(&v.payload).map_err(|e| e.to_string())
        });
    let list = match opened {
        Ok(l) => l,
        Err(e) => {
            r.failures.push(format!("{KEY_STATUS_FILE}: {e}"));
            return "key-status list not checked".into();
        }
    };
    let derived = from_keyring(ring, list.issued_at);
    if derived.keys != list.keys {
        let differ: Vec<String> = list
            .keys
            .iter()
            .filter(|k| !derived.keys.contains(k))
            .map(|k| format!("{} ({} of {})", k.key_id, k.status, k.owner))
            .chain(
                derived
                    .keys
                    .iter()
                    .filter(|k| !list.keys.contains(k))
                    .map(|k| format!("{} (missing)", k.key_id)),
            )
            .collect();
        r.failures.push(format!(
            "{KEY_STATUS_FILE}: the signed list does not say what keys/keys.txt says of {}",
            differ.join(", ")
        ));
        return "key-status list disagrees".into();
    }
    let count = |s: &str| list.keys.iter().filter(|k| k.status == s).count();
    format!(
        "key-status list of {} key(s) issued {} ({} active, {} rotated, {} revoked)",
        list.keys.len(),
        list.issued_at,
        count("active"),
        count("rotated"),
        count("revoked")
    )
}
