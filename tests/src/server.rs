//! A real Vouch server on loopback HTTPS, in this process, that a test can stop and restart on
//! the same data directory and port.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vouch_evidence::SigningKey;
use vouch_evidence::api::{EnrollRequest, EnrollResponse};
use vouch_server::auth::Role;
use vouch_server::objects::ObjectStore;
use vouch_server::{RunningServer, ServerConfig};

/// When [`TestServer::enroll`] enrols agents: before every collection instant the fixtures
/// use.
pub const ENROLLED_AT: &str = "2026-01-01T00:00:00Z";

/// A server under test.
pub struct TestServer {
    /// Its configuration (the data directory and the port stay the same across restarts).
    pub config: ServerConfig,
    /// `https://localhost:<port>`.
    pub url: String,
    /// PEM of the CA that signed its certificate.
    pub ca_pem: Vec<u8>,
    /// An admin API token.
    pub admin_token: String,
    objects: Option<ObjectStore>,
    running: Option<RunningServer>,
}

impl TestServer {
    /// Starts a server with its data under `data_dir` on a free loopback port.
    pub async fn start(data_dir: &Path) -> TestServer {
        Self::start_with(ServerConfig {
            listen: "127.0.0.1:0".into(),
            data_dir: data_dir.to_path_buf(),
            ..ServerConfig::default()
        })
        .await
    }

    /// Starts a server with `config` (listen on port 0 for a free one).
    pub async fn start_with(config: ServerConfig) -> TestServer {
        Self::start_using(config, None).await
    }

    /// Starts a server with `config` and the object store `objects` (made with the emulator's
    /// credentials) in place of one made from `config.objects` and the standard AWS chain.
    pub async fn start_using(mut config: ServerConfig, objects: Option<ObjectStore>) -> TestServer {
        let running = vouch_server::serve::start_using(&config, objects.clone())
            .await
            .expect("server starts");
        config.listen = running.local_addr.to_string();
        let ca_path: PathBuf = running.ca_cert.clone().expect("local CA");
        let admin_token = running
            .state()
            .create_api_token(Role::Admin, "tests")
            .await
            .unwrap();
        TestServer {
            url: format!("https://localhost:{}", running.local_addr.port()),
            ca_pem: std::fs::read(ca_path).unwrap(),
            config,
            admin_token,
            objects,
            running: Some(running),
        }
    }

    /// The running server.
    pub fn running(&self) -> &RunningServer {
        self.running.as_ref().expect("server is running")
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.config.listen.parse().unwrap()
    }

    /// Stops the server (in-flight requests finish; queued writes are committed).
    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }

    /// Starts it again on the same data directory and port.
    pub async fn restart(&mut self) {
        assert!(self.running.is_none(), "stop first");
        // The port was just released; retry briefly in case the OS has not let go of it.
        for attempt in 0..50 {
            match vouch_server::serve::start_using(&self.config, self.objects.clone()).await {
                Ok(r) => {
                    self.running = Some(r);
                    return;
                }
                Err(e) if attempt < 49 => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("restart failed: {e}"),
            }
        }
    }

    /// A one-time enrolment token for one host (the one the agent declares).
    pub async fn enroll_token(&self) -> String {
        let scope = vouch_server::scope::Scope::parse(&["host"]).unwrap();
        self.running()
            .state()
            .create_enroll_token(3600, &scope, "tests", "tests")
            .await
            .unwrap()
    }

    /// Enrolls `key` over HTTPS with `client` as the agent of host `host_id`, with the server's
    /// clock at [`ENROLLED_AT`] (before every collection instant the fixtures use: the server
    /// refuses a snapshot collected before its agent enrolled); returns the server's answer.
    pub async fn enroll(
        &self,
        client: &reqwest::Client,
        key: &SigningKey,
        name: &str,
        host_id: &str,
    ) -> EnrollResponse {
        let req = EnrollRequest {
            token: self.enroll_token().await,
            public_key: key.public().to_base64(),
            name: name.into(),
            assets: vec![vouch_evidence::api::AssetRef {
                kind: vouch_evidence::AssetKind::Host,
                id: host_id.into(),
            }],
        };
        let state = self.running().state();
        let clock = state.clock();
        state.set_clock(vouch_evidence::Clock::Fixed(ENROLLED_AT.parse().unwrap()));
        let resp = client
            .post(format!("{}/v1/enroll", self.url))
            .json(&req)
            .send()
            .await;
        state.set_clock(clock);
        let resp = resp.unwrap();
        assert_eq!(resp.status(), 201, "enrolment failed");
        resp.json().await.unwrap()
    }
}

impl TestServer {
    /// Posts a chain of `n` host snapshots of asset `asset_id` (each at least `min_bytes`),
    /// signed by `key` as agent `agent_id`, over HTTPS with `client`, asserting each is stored
    /// (201); answers each one's digest and envelope bytes, in order.
    pub async fn post_chain(
        &self,
        client: &reqwest::Client,
        key: &SigningKey,
        agent_id: &str,
        asset_id: &str,
        n: u64,
        min_bytes: usize,
    ) -> Vec<(vouch_evidence::Digest, Vec<u8>)> {
        let mut posted: Vec<(vouch_evidence::Digest, Vec<u8>)> = Vec::new();
        for sequence in 1..=n {
            let previous = posted.last().map(|(d, _)| *d);
            let (env, digest) =
                crate::generate::host_snapshot(agent_id, asset_id, sequence, previous, min_bytes)
                    .sign(key)
                    .expect("signs");
            let resp = client
                .post(format!("{}/v1/snapshots", self.url))
                .body(env.to_vec())
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 201, "snapshot {sequence} of {asset_id}");
            posted.push((digest, env.to_vec()));
        }
        posted
    }
}

impl TestServer {
    /// Exports, as an auditor would (`GET /v1/export` with an auditor token), the bundle of a
    /// sample of `size` drawn with `seed` from every snapshot collected in 2000–2200; writes it
    /// to `path` and answers its bytes.
    pub async fn export_bundle(&self, size: u32, seed: &str, path: &Path) -> Vec<u8> {
        let token = self
            .running()
            .state()
            .create_api_token(Role::Auditor, "auditor")
            .await
            .unwrap();
        let resp = https_client(&self.ca_pem)
            .get(format!(
                "{}/v1/export?from=2000-01-01T00:00:00Z&to=2200-01-01T00:00:00Z&size={size}&seed={seed}",
                self.url
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "export");
        let bytes = resp.bytes().await.unwrap().to_vec();
        std::fs::write(path, &bytes).unwrap();
        bytes
    }
}

/// `vouch verify` of one bundle with `args` (its `files` set to the bundle): whether it
/// verified, and what it printed.
pub fn verify_bundle(bundle: &Path, args: vouch_server::verify::cli::VerifyArgs) -> (bool, String) {
    let args = vouch_server::verify::cli::VerifyArgs {
        files: vec![bundle.to_path_buf()],
        ..args
    };
    let mut out = Vec::new();
    let ok = vouch_server::verify::cli::run(&args, &mut out).unwrap();
    (ok, String::from_utf8(out).unwrap())
}

/// The arguments of a plain `vouch verify` (the bundle's own keys, default checks, one thread).
pub fn plain_verify() -> vouch_server::verify::cli::VerifyArgs {
    vouch_server::verify::cli::VerifyArgs {
        keys: None,
        depth: vouch_server::verify::Depth::Canonical,
        threads: 1,
        files: Vec::new(),
        since: None,
        witnesses: Vec::new(),
        witness_quorum: None,
        tsa_cert: None,
    }
}

/// An HTTPS client (rustls, ring) that trusts only `ca_pem`.
pub fn https_client(ca_pem: &[u8]) -> reqwest::Client {
    https_client_builder(ca_pem).build().unwrap()
}

/// The builder of [`https_client`], for a client that sets more (follows no redirect).
pub fn https_client_builder(ca_pem: &[u8]) -> reqwest::ClientBuilder {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut &ca_pem[..]) {
        roots.add(cert.unwrap()).unwrap();
    }
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(Duration::from_secs(30))
}
