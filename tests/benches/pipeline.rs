//! Pipeline benchmark: prints figures for the README.
//!
//! `cargo bench -p vouch-tests --bench pipeline` measures, on this machine:
//! - signing and verification rates of a 20 KB snapshot envelope (one core);
//! - bare Ed25519 verification of the same message, as the floor to compare against.

use std::time::{Duration, Instant};

use vouch_evidence::dsse::{self, Envelope};
use vouch_evidence::{SNAPSHOT_PAYLOAD_TYPE, SigningKey, Snapshot};
use vouch_tests::generate::host_snapshot;

fn rate(label: &str, min_time: Duration, mut f: impl FnMut()) -> f64 {
    // Warm up, then run in batches until the minimum time has passed.
    for _ in 0..50 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < min_time {
        for _ in 0..100 {
            f();
        }
        n += 100;
    }
    let per_sec = n as f64 / start.elapsed().as_secs_f64();
    println!("{label:<58} {per_sec:>12.0} /s");
    per_sec
}

fn main() {
    let secs: u64 = std::env::var("VOUCH_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let t = Duration::from_secs(secs);
    let key = SigningKey::from_seed(&[42; 32]);
    let public = key.public().clone();
    let snapshot = host_snapshot("agt_bench", "bench-host", 1, None, 20_000);
    let payload = snapshot.canonical_bytes().unwrap();
    let (envelope, _) = snapshot.sign(&key).unwrap();
    let envelope_bytes = envelope.to_vec();
    println!(
        "snapshot payload {} bytes, envelope {} bytes",
        payload.len(),
        envelope_bytes.len()
    );

    rate("sign: canonicalise + DSSE Ed25519 sign (20 KB)", t, || {
        std::hint::black_box(snapshot.sign(&key).unwrap());
    });
    rate(
        "verify: parse envelope + DSSE Ed25519 verify (20 KB)",
        t,
        || {
            let env = Envelope::from_slice(&envelope_bytes).unwrap();
            std::hint::black_box(
                env.verify(SNAPSHOT_PAYLOAD_TYPE, |id| {
                    (*id == public.id()).then_some(&public)
                })
                .unwrap(),
            );
        },
    );
    rate("verify + parse and check the snapshot (20 KB)", t, || {
        let env = Envelope::from_slice(&envelope_bytes).unwrap();
        let v = env
            .verify(SNAPSHOT_PAYLOAD_TYPE, |id| {
                (*id == public.id()).then_some(&public)
            })
            .unwrap();
        std::hint::black_box(Snapshot::from_payload(&v.payload).unwrap());
    });
    if std::env::var_os("VOUCH_BENCH_PARTS").is_some() {
        parts(&payload);
    }
    let pae = dsse::pae(SNAPSHOT_PAYLOAD_TYPE, &payload);
    let sig = key.sign(&pae);
    rate(
        "floor: bare Ed25519 verify of the same PAE message",
        t,
        || {
            assert!(public.verify(std::hint::black_box(&pae), &sig));
        },
    );
}

#[allow(dead_code)]
fn parts(payload: &[u8]) {
    let t = Duration::from_secs(2);
    rate("part: from_slice::<Value>", t, || {
        std::hint::black_box(serde_json::from_slice::<serde_json::Value>(payload).unwrap());
    });
    rate("part: from_slice::<Snapshot>", t, || {
        std::hint::black_box(serde_json::from_slice::<Snapshot>(payload).unwrap());
    });
    let v: serde_json::Value = serde_json::from_slice(payload).unwrap();
    rate("part: canonical value_to_vec", t, || {
        std::hint::black_box(vouch_evidence::canonical::value_to_vec(&v).unwrap());
    });
    rate("part: from_value clone", t, || {
        std::hint::black_box(serde_json::from_value::<Snapshot>(v.clone()).unwrap());
    });
    rate("part: sha256", t, || {
        std::hint::black_box(vouch_evidence::Digest::of(payload));
    });
}
