//! Generated evidence: snapshots of a chosen size that look like real host collections.

use std::collections::BTreeMap;

use serde_json::json;
use vouch_evidence::{
    Asset, AssetKind, CollectorRun, Digest, EvidenceItem, RunOutcome, SCHEMA_VERSION, Snapshot,
    Source, Timestamp,
};

/// A host snapshot whose canonical encoding is at least `min_bytes` long, made of the mix of
/// items a real host collection has (booleans, counts, strings, lists of objects).
pub fn host_snapshot(
    agent_id: &str,
    asset_id: &str,
    sequence: u64,
    previous_digest: Option<Digest>,
    min_bytes: usize,
) -> Snapshot {
    let collected_at =
        Timestamp::from_unix_micros(1_790_000_000_000_000 + sequence as i64 * 900_000_000)
            .expect("in range");
    let mut snapshot = Snapshot {
        schema_version: SCHEMA_VERSION,
        agent_id: agent_id.to_string(),
        asset: Asset {
            kind: AssetKind::Host,
            id: asset_id.to_string(),
            name: format!("{asset_id}.example"),
        },
        collected_at,
        sequence,
        previous_digest,
        collectors: vec![CollectorRun {
            name: "host".into(),
            version: "0.1.0".into(),
            started_at: collected_at,
            finished_at: collected_at,
            outcome: RunOutcome::Ok,
        }],
        evidence: BTreeMap::new(),
    };
    let ev = &mut snapshot.evidence;
    ev.insert(
        "host.os.kernel".into(),
        EvidenceItem::ok(
            "6.1.0-28-amd64",
            Source::File("/proc/sys/kernel/osrelease".into()),
        ),
    );
    ev.insert(
        "host.ssh.permit_root_login".into(),
        EvidenceItem::ok("no", Source::Command("sshd -T".into())),
    );
    ev.insert(
        "host.ssh.password_authentication".into(),
        EvidenceItem::ok(false, Source::Command("sshd -T".into())),
    );
    ev.insert(
        "host.accounts.uid0_count".into(),
        EvidenceItem::ok(1, Source::File("/etc/passwd".into())),
    );
    ev.insert(
        "host.accounts.empty_password_count".into(),
        EvidenceItem::unavailable(Source::File("/etc/shadow".into()), "permission denied"),
    );
    let mut i = 0;
    while snapshot.canonical_bytes().expect("canonical").len() < min_bytes {
        let sockets: Vec<_> = (0..8)
            .map(|j| json!({"protocol": "tcp", "address": "0.0.0.0", "port": 8000 + i * 8 + j, "process": format!("svc-{i}-{j}")}))
            .collect();
        snapshot.evidence.insert(
            format!("host.network.listening_group_{i:03}"),
            EvidenceItem::ok(json!(sockets), Source::File("/proc/net/tcp".into())),
        );
        i += 1;
    }
    snapshot
}

/// One collection replayed as snapshot `sequence` of another asset's chain, collected at `at`,
/// with `evidence` (the collection's own, or a variant of it): what a fleet of hosts like the
/// collected one would send.
pub fn replayed(
    collected: &vouch_collectors::Collected,
    agent_id: &str,
    asset: &Asset,
    at: Timestamp,
    sequence: u64,
    previous_digest: Option<Digest>,
    evidence: BTreeMap<String, EvidenceItem>,
) -> Snapshot {
    Snapshot {
        schema_version: SCHEMA_VERSION,
        agent_id: agent_id.to_string(),
        asset: asset.clone(),
        collected_at: at,
        sequence,
        previous_digest,
        collectors: collected
            .collectors
            .iter()
            .map(|c| CollectorRun {
                started_at: at,
                finished_at: at,
                ..c.clone()
            })
            .collect(),
        evidence,
    }
}

/// Signs `snapshot` with `key` and stores it directly, as the server does once it has verified
/// it, received at `received_at`; answers its digest and the envelope's size.
pub async fn store_signed(
    store: &dyn vouch_server::store::Store,
    snapshot: &Snapshot,
    key: &vouch_evidence::SigningKey,
    received_at: Timestamp,
) -> (Digest, usize) {
    let (envelope, digest) = snapshot.sign(key).expect("signs");
    let envelope = envelope.to_vec();
    let size = envelope.len();
    store
        .ingest(vouch_server::store::NewSnapshot {
            digest,
            chain: vouch_evidence::ChainKey {
                agent_id: snapshot.agent_id.clone(),
                asset_kind: snapshot.asset.kind,
                asset_id: snapshot.asset.id.clone(),
            },
            asset_name: snapshot.asset.name.clone(),
            sequence: snapshot.sequence,
            previous_digest: snapshot.previous_digest,
            collected_at: snapshot.collected_at,
            received_at,
            envelope,
            receipt: b"bench".to_vec(),
        })
        .await
        .expect("stored");
    (digest, size)
}

/// The count in the environment variable `name` (digits, `_` or `,` as separators allowed), else
/// `default`: how the benchmarks are sized. Panics on a value that is not a count.
pub fn env_count(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(s) if !s.is_empty() => s
            .replace(['_', ','], "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}={s:?} is not a count")),
        _ => default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_snapshots_are_valid_and_sized() {
        let s = host_snapshot("agt_1", "host-1", 1, None, 20_000);
        s.validate().unwrap();
        let n = s.canonical_bytes().unwrap().len();
        assert!((20_000..24_000).contains(&n), "{n}");
    }
}
