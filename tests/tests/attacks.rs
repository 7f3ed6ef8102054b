//! The attack suite (issue 15): a real server on loopback HTTPS, tried as an attacker would,
//! one test per defect — slow headers, slow bodies, a 2 GB `Content-Length`, too many
//! connections, a flood of refused posts from one address, unverified bytes beyond the budget.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use vouch_server::ServerConfig;
use vouch_server::connections::ConnectionLimits;
use vouch_tests::server::TestServer;

async fn server(dir: &std::path::Path, connections: ConnectionLimits) -> TestServer {
    TestServer::start_with(ServerConfig {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        connections,
        ..ServerConfig::default()
    })
    .await
}

fn connector(ca_pem: &[u8]) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut &ca_pem[..]) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsConnector::from(Arc::new(config))
}

async fn tls(s: &TestServer) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(s.addr()).await.unwrap();
    connector(&s.ca_pem)
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap()
}

/// Reads until the server closes or `limit` passes; what arrived, and whether it closed.
async fn read_until_closed(stream: &mut TlsStream<TcpStream>, limit: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&out).into(), true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&out).into(), false),
        }
    }
}

fn quick() -> ConnectionLimits {
    ConnectionLimits {
        header_timeout_secs: 1,
        body_timeout_secs: 1,
        idle_timeout_secs: 2,
        ..ConnectionLimits::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_closed_at_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), quick()).await;
    // 50 connections trickling a header line every 300 ms: each is closed after about 1 s,
    // though it never stops sending.
    let started = Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let s_addr = s.addr();
            let ca = s.ca_pem.clone();
            tokio::spawn(async move {
                let tcp = TcpStream::connect(s_addr).await.unwrap();
                let mut t = connector(&ca)
                    .connect("localhost".try_into().unwrap(), tcp)
                    .await
                    .unwrap();
                t.write_all(b"POST /v1/snapshots HTTP/1.1\r\nHost: localhost\r\n")
                    .await
                    .unwrap();
                for i in 0..40 {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    if t.write_all(format!("X-Slow-{i}: 1\r\n").as_bytes())
                        .await
                        .is_err()
                    {
                        return started.elapsed();
                    }
                    let mut probe = [0u8; 1024];
                    if let Ok(Ok(0) | Err(_)) =
                        tokio::time::timeout(Duration::from_millis(1), t.read(&mut probe)).await
                    {
                        return started.elapsed();
                    }
                }
                Duration::MAX
            })
        })
        .collect();
    for t in tasks {
        let closed_after = t.await.unwrap();
        assert!(
            closed_after < Duration::from_secs(8),
            "a slowloris connection stayed open {closed_after:?}"
        );
    }
    // The server still answers.
    let client = vouch_tests::server::https_client(&s.ca_pem);
    let ok = client
        .get(format!("{}/healthz", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_is_cut_at_the_body_timeout_and_a_huge_length_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), quick()).await;
    // A body one byte short of what it announced, then silence.
    let mut t = tls(&s).await;
    t.write_all(
        b"POST /v1/snapshots HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
    )
    .await
    .unwrap();
    t.write_all(&[b' '; 999]).await.unwrap();
    let started = Instant::now();
    let (answer, _) = read_until_closed(&mut t, Duration::from_secs(6)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("could not be read"), "{answer}");

    // 2 GB announced: 413 at once, nothing read.
    let mut t = tls(&s).await;
    t.write_all(
        b"POST /v1/snapshots HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2147483648\r\n\r\n",
    )
    .await
    .unwrap();
    let started = Instant::now();
    let (answer, _) = read_until_closed(&mut t, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("oversize"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(3));

    // An idle keep-alive connection is closed after the idle timeout.
    let mut t = tls(&s).await;
    t.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let (answer, closed) = read_until_closed(&mut t, Duration::from_secs(6)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(closed, "an idle connection stays open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_closed_and_the_held_ones_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(
        dir.path(),
        ConnectionLimits {
            max_connections: 4,
            ..ConnectionLimits::default()
        },
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(tls(&s).await);
    }
    // The fifth is closed before any TLS.
    let tcp = TcpStream::connect(s.addr()).await.unwrap();
    let refused = connector(&s.ca_pem)
        .connect("localhost".try_into().unwrap(), tcp)
        .await;
    assert!(refused.is_err(), "a fifth connection was served");
    // The held ones are served.
    let t = &mut held[0];
    t.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (answer, _) = read_until_closed(t, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Closing them frees the places.
    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let client = vouch_tests::server::https_client(&s.ca_pem);
    let ok = client
        .get(format!("{}/healthz", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_that_keeps_being_refused_is_slowed_before_its_body_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(
        dir.path(),
        ConnectionLimits {
            refusals_per_minute: 10,
            enroll_per_minute: 5,
            ..ConnectionLimits::default()
        },
    )
    .await;
    let client = vouch_tests::server::https_client(&s.ca_pem);
    let url = format!("{}/v1/snapshots", s.url);
    let mut codes = Vec::new();
    for _ in 0..15 {
        let r = client
            .post(&url)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        let retry_after = r.headers().get("retry-after").cloned();
        codes.push((r.status().as_u16(), retry_after.is_some()));
    }
    assert_eq!(codes[..10], [(400, false); 10], "{codes:?}");
    assert_eq!(codes[10..], [(429, true); 5], "{codes:?}");
    // Enrolment attempts, too.
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let r = client
            .post(format!("{}/v1/enroll", s.url))
            .json(&serde_json::json!({"token": "vch_enroll_x", "public_key": "AAAA", "name": "h"}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses[5..], [429, 429], "{statuses:?}");
    assert!(statuses[..5].iter().all(|s| *s != 429), "{statuses:?}");
    // Counted, never kept one by one.
    let state = s.running().state();
    assert!(state.store().rejections(100).await.unwrap().is_empty());
    let counted: u64 = state.refusals().pending().iter().map(|c| c.count).sum();
    assert!(counted >= 15, "{counted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unverified_bytes_beyond_the_budget_are_refused_with_429() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(
        dir.path(),
        ConnectionLimits {
            max_unauthenticated_bytes: 64 * 1024,
            body_timeout_secs: 10,
            ..ConnectionLimits::default()
        },
    )
    .await;
    // One client holds 50 KiB of an unfinished body...
    let mut first = tls(&s).await;
    first
        .write_all(
            b"POST /v1/snapshots HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n",
        )
        .await
        .unwrap();
    first.write_all(&[b' '; 50 * 1024]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // ...so another's 30 KiB do not fit.
    let client = vouch_tests::server::https_client(&s.ca_pem);
    let r = client
        .post(format!("{}/v1/snapshots", s.url))
        .header("content-type", "application/json")
        .body(vec![b' '; 30 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    // When the first goes away, its bytes are free again.
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = client
        .post(format!("{}/v1/snapshots", s.url))
        .header("content-type", "application/json")
        .body(vec![b' '; 30 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "malformed, but read");
}
