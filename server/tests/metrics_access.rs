//! Who may read `/metrics` (issue 15, defect 9): by default the HTTPS listener serves it; with
//! `[metrics] listen` it moves to its own plain-HTTP address (and the HTTPS listener answers
//! 404); with `[metrics] token_file` a scrape without the token gets 401, and a token file
//! readable by others is refused at start.

use std::os::unix::fs::PermissionsExt as _;

use vouch_server::ServerConfig;
use vouch_server::config::MetricsConfig;

const TOKEN: &str = "scrape-token-0123456789abcdef";

fn https(ca_pem: &[u8]) -> reqwest::Client {
    provider();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem).unwrap())
        .build()
        .unwrap()
}

/// reqwest is built without a default TLS provider: the process installs ring's (once).
fn provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn config(dir: &std::path::Path, metrics: MetricsConfig) -> ServerConfig {
    ServerConfig {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.join("data"),
        metrics,
        ..ServerConfig::default()
    }
}

fn token_file(dir: &std::path::Path, mode: u32) -> std::path::PathBuf {
    let path = dir.join("metrics.token");
    std::fs::write(&path, format!("{TOKEN}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_on_their_own_address_with_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = vouch_server::start(&config(
        dir.path(),
        MetricsConfig {
            listen: Some("127.0.0.1:0".into()),
            token_file: Some(token_file(dir.path(), 0o600)),
        },
    ))
    .await
    .unwrap();
    let metrics = server.metrics_addr.expect("a metrics address");
    let ca = std::fs::read(server.ca_cert.as_ref().unwrap()).unwrap();
    let main = format!("https://localhost:{}/metrics", server.local_addr.port());
    let own = format!("http://{metrics}/metrics");

    let on_main = https(&ca)
        .get(&main)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(on_main.status(), 404);

    provider();
    let plain = reqwest::Client::new();
    let no_token = plain.get(&own).send().await.unwrap();
    assert_eq!(no_token.status(), 401);
    let wrong = plain.get(&own).bearer_auth("guess").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let right = plain.get(&own).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(right.status(), 200);
    let text = right.text().await.unwrap();
    assert!(text.contains("vouch_snapshots_accepted_total"), "{text}");
    // The two refused scrapes are counted like every refusal.
    assert!(
        text.lines()
            .any(|l| l == "vouch_snapshots_rejected_total{reason=\"unauthorized\"} 2"),
        "{text}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_the_https_listener_serves_metrics_without_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = vouch_server::start(&config(dir.path(), MetricsConfig::default()))
        .await
        .unwrap();
    assert_eq!(server.metrics_addr, None);
    let ca = std::fs::read(server.ca_cert.as_ref().unwrap()).unwrap();
    let main = format!("https://localhost:{}/metrics", server.local_addr.port());
    assert_eq!(https(&ca).get(&main).send().await.unwrap().status(), 200);
    server.shutdown().await;
}

#[test]
fn a_token_file_others_can_read_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = token_file(dir.path(), 0o644);
    let text = format!(
        "[metrics]\ntoken_file = {:?}\nlisten = \"nowhere\"\n",
        path.display().to_string()
    );
    let errors = ServerConfig::parse("server.toml", &text).unwrap_err();
    let shown = errors.to_string();
    assert!(shown.contains("metrics.token_file"), "{shown}");
    assert!(shown.contains("mode 0644"), "{shown}");
    assert!(shown.contains("metrics.listen"), "{shown}");
}
