//! Flood benchmark (issue 15, defect 2): the latency of an authenticated `GET /v1/assets` on an
//! idle server, then while 20 clients post flood envelopes (a valid snapshot envelope with its
//! signature repeated until the body is just under the 4 MiB limit, about 20,000 signatures).
//!
//! `cargo bench -p vouch-tests --bench flood`. Figures go in the README and the issue's
//! closing note, never in a test.

use std::time::{Duration, Instant};

use vouch_evidence::SigningKey;
use vouch_tests::generate::host_snapshot;
use vouch_tests::server::{TestServer, https_client};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn probe(client: &reqwest::Client, url: &str, token: &str, n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = client.get(url).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let _ = r.bytes().await.unwrap();
        out.push(t.elapsed().as_secs_f64() * 1e3);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    out.sort_by(f64::total_cmp);
    out
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start(dir.path()).await;
        let client = https_client(&server.ca_pem);
        let key = SigningKey::from_seed(&[1; 32]);
        let enrolled = server.enroll(&client, &key, "flood", "host-flood").await;
        let snap = host_snapshot(&enrolled.agent_id, "host-flood", 1, None, 2_000);
        let (env, _) = snap.sign(&key).unwrap();
        let mut json: serde_json::Value = serde_json::from_slice(&env.to_vec()).unwrap();
        let sig = json["signatures"][0].clone();
        let one = serde_json::to_vec(&sig).unwrap().len() + 1;
        let copies = (4 * 1024 * 1024 - 8_192) / one;
        json["signatures"] = serde_json::Value::Array(vec![sig; copies]);
        let flood = serde_json::to_vec(&json).unwrap();
        let assets = format!("{}/v1/assets", server.url);
        let token = server.admin_token.clone();

        let idle = probe(&client, &assets, &token, 200).await;
        let stop = tokio_util::sync::CancellationToken::new();
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut flooders = Vec::new();
        for _ in 0..20 {
            let client = https_client(&server.ca_pem);
            let body = flood.clone();
            let url = format!("{}/v1/snapshots", server.url);
            let stop = stop.clone();
            let sent = sent.clone();
            flooders.push(tokio::spawn(async move {
                while !stop.is_cancelled() {
                    if let Ok(r) = client.post(&url).body(body.clone()).send().await {
                        let _ = r.bytes().await;
                        sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let started = Instant::now();
        let loaded = probe(&client, &assets, &token, 200).await;
        let elapsed = started.elapsed().as_secs_f64();
        stop.cancel();
        for f in flooders {
            let _ = f.await;
        }
        let state = server.running().state();
        println!(
            "flood envelope: {} bytes, {copies} signatures; {} flood posts answered in {elapsed:.1} s; signatures verified: {}",
            flood.len(),
            sent.load(std::sync::atomic::Ordering::Relaxed),
            state.metrics().signatures_checked()
        );
        for (label, v) in [("idle", &idle), ("under 20 flooding clients", &loaded)] {
            println!(
                "GET /v1/assets {label:<26} median {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
                percentile(v, 0.5),
                percentile(v, 0.99),
                percentile(v, 1.0)
            );
        }
    });
}
