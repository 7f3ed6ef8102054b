//! Pipeline benchmark: prints figures for the README.
//!
//! `cargo bench -p vouch-tests --bench pipeline` measures, on this machine:
//! - signing and verification rates of a 20 KB snapshot envelope (one core);
//! - bare Ed25519 verification of the same message, as the floor to compare against;
//! - end-to-end ingest over loopback HTTPS into SQLite (WAL, synchronous=FULL) from 8
//!   concurrent simulated agents, each pushing its own chain in order: rate and latency.

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

fn ingest(agents: usize, per_agent: u64) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let server = vouch_tests::server::TestServer::start(dir.path()).await;
        let client = vouch_tests::server::https_client(&server.ca_pem);
        let mut chains = Vec::new();
        for a in 0..agents {
            let key = SigningKey::from_seed(&[a as u8 + 1; 32]);
            let enrolled = server
                .enroll(&client, &key, &format!("bench-{a}"), &format!("host-{a}"))
                .await;
            let mut prev = None;
            let mut envs = Vec::new();
            for seq in 1..=per_agent {
                let s = host_snapshot(&enrolled.agent_id, &format!("host-{a}"), seq, prev, 20_000);
                let (env, d) = s.sign(&key).unwrap();
                prev = Some(d);
                envs.push(env.to_vec());
            }
            chains.push(envs);
        }
        let url = format!("{}/v1/snapshots", server.url);
        let start = Instant::now();
        let tasks: Vec<_> = chains
            .into_iter()
            .map(|envs| {
                let client = vouch_tests::server::https_client(&server.ca_pem);
                let url = url.clone();
                tokio::spawn(async move {
                    let mut lat = Vec::with_capacity(envs.len());
                    for env in envs {
                        let t = Instant::now();
                        let r = client
                            .post(&url)
                            .header("content-type", "application/json")
                            .body(env)
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(r.status(), 201);
                        r.bytes().await.unwrap();
                        lat.push(t.elapsed());
                    }
                    lat
                })
            })
            .collect();
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await.unwrap());
        }
        let took = start.elapsed();
        lat.sort();
        let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1e3;
        let stored = server.running().state().store().snapshot_count().await.unwrap();
        assert_eq!(stored, agents as u64 * per_agent);
        println!(
            "{:<58} {:>12.0} /s  ({stored} snapshots of 20 KB, {agents} agents; latency p50 {:.2} ms, p99 {:.2} ms)",
            "ingest: HTTPS + verify + SQLite FULL, end to end",
            stored as f64 / took.as_secs_f64(),
            pct(0.5),
            pct(0.99)
        );
    });
}

/// `vouch verify` over files on one thread, at each depth (batched signatures).
fn verify_files_rate(key: &SigningKey, t: Duration) {
    use vouch_server::verify::{Depth, Keyring, verify_files_at};
    let dir = tempfile::tempdir().unwrap();
    let mut prev = None;
    let mut paths = Vec::new();
    for seq in 1..=1024u64 {
        let s = host_snapshot("agt_bench", "bench-host", seq, prev, 20_000);
        let (env, d) = s.sign(key).unwrap();
        prev = Some(d);
        let p = dir.path().join(format!("{seq}.json"));
        std::fs::write(&p, env.to_vec()).unwrap();
        paths.push(p);
    }
    let mut ring = Keyring::default();
    ring.add(key.public().clone(), "agt_bench".into());
    for (depth, label) in [
        (
            Depth::Signatures,
            "vouch verify --signatures-only --threads 1 (files, 20 KB)",
        ),
        (
            Depth::Canonical,
            "vouch verify --threads 1 (files, 20 KB; default checks)",
        ),
    ] {
        let start = Instant::now();
        let mut n = 0;
        while start.elapsed() < t {
            let r = verify_files_at(&paths, &ring, depth, 1);
            assert!(r.ok());
            n += paths.len();
        }
        println!(
            "{label:<58} {:>12.0} /s",
            n as f64 / start.elapsed().as_secs_f64()
        );
    }
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
    rate(
        "verify + check the snapshot as ingest does (20 KB)",
        t,
        || {
            let env = Envelope::from_slice(&envelope_bytes).unwrap();
            let v = env
                .verify(SNAPSHOT_PAYLOAD_TYPE, |id| {
                    (*id == public.id()).then_some(&public)
                })
                .unwrap();
            std::hint::black_box(Snapshot::check_payload(&v.payload).unwrap());
        },
    );
    if std::env::var_os("VOUCH_BENCH_PARTS").is_some() {
        parts(&payload);
    }
    let mut ring = vouch_server::verify::Keyring::default();
    ring.add(public.clone(), "agt_bench".into());
    rate(
        "vouch verify, one envelope: signature + canonical payload",
        t,
        || {
            std::hint::black_box(
                vouch_server::verify::verify_bytes(&envelope_bytes, &ring, false).unwrap(),
            );
        },
    );
    verify_files_rate(&key, t);
    let pae = dsse::pae(SNAPSHOT_PAYLOAD_TYPE, &payload);
    let sig = key.sign(&pae);
    rate(
        "floor: bare Ed25519 verify of the same PAE message",
        t,
        || {
            assert!(public.verify(std::hint::black_box(&pae), &sig));
        },
    );
    let per_agent = std::env::var("VOUCH_BENCH_PER_AGENT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    ingest(8, per_agent);
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
    rate("part: canonical::check (one pass)", t, || {
        vouch_evidence::canonical::check(std::hint::black_box(payload)).unwrap();
    });
    rate("part: Snapshot::check_payload", t, || {
        std::hint::black_box(Snapshot::check_payload(payload).unwrap());
    });
    rate("part: SnapshotHeader::from_payload", t, || {
        std::hint::black_box(vouch_evidence::SnapshotHeader::from_payload(payload).unwrap());
    });
    {
        let key = SigningKey::from_seed(&[42; 32]);
        let public = key.public().clone();
        let envs: Vec<_> = (1..=64u64)
            .map(|seq| {
                host_snapshot("agt_bench", &format!("h{seq}"), 1, None, 20_000)
                    .sign(&key)
                    .unwrap()
                    .0
            })
            .collect();
        let look = |id: &vouch_evidence::KeyId| (*id == public.id()).then_some(&public);
        rate("part: 64 envelopes one by one (x64)", t, || {
            for e in &envs {
                std::hint::black_box(e.verify(SNAPSHOT_PAYLOAD_TYPE, look).unwrap());
            }
        });
        rate("part: 64 envelopes, verify_many (x64)", t, || {
            let r = dsse::verify_many(&envs, SNAPSHOT_PAYLOAD_TYPE, look);
            assert!(r.iter().all(Result::is_ok));
            std::hint::black_box(r);
        });
    }
    {
        let key = SigningKey::from_seed(&[42; 32]);
        let env = host_snapshot("agt_bench", "h", 1, None, 20_000)
            .sign(&key)
            .unwrap()
            .0
            .to_vec();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.json");
        std::fs::write(&path, &env).unwrap();
        rate("part: read one 27 KB envelope file", t, || {
            std::hint::black_box(std::fs::read(&path).unwrap());
        });
        rate("part: Envelope::from_slice (27 KB)", t, || {
            std::hint::black_box(dsse::Envelope::from_slice(&env).unwrap());
        });
        let parsed = dsse::Envelope::from_slice(&env).unwrap();
        rate("part: base64 decode of the payload", t, || {
            std::hint::black_box(parsed.payload_bytes().unwrap());
        });
    }
    rate("part: sha256", t, || {
        std::hint::black_box(vouch_evidence::Digest::of(payload));
    });
}

/// The allocator of the `vouch` binary, so the figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
