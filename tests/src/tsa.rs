//! A local RFC 3161 time-stamping authority made with the `openssl` command line (`openssl
//! ts -reply`), behind a plain HTTP front on loopback, as public TSAs serve it: `POST` a DER
//! `TimeStampReq` (`application/timestamp-query`), get a `TimeStampResp`
//! (`application/timestamp-reply`). No outside service is needed.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A TSA: its key, its certificate (extended key usage `timeStamping`, critical) and its
/// `openssl ts` configuration, in a directory of its own.
pub struct LocalTsa {
    dir: tempfile::TempDir,
    /// Its certificate, PEM.
    pub cert_pem: Vec<u8>,
}

fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command line runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl LocalTsa {
    /// A new TSA named `name`, with an RSA 2048 key (`ec` for ECDSA P-256), accepting the
    /// digests in `digests` (`sha256, sha512`).
    pub fn new(name: &str, ec: bool, digests: &str) -> LocalTsa {
        let dir = tempfile::tempdir().unwrap();
        let key = if ec {
            vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        } else {
            vec!["-newkey", "rsa:2048"]
        };
        let subject = format!("/CN={name}");
        let mut args = vec!["req", "-x509"];
        args.extend(key);
        args.extend([
            "-keyout",
            "tsa.key",
            "-out",
            "tsa.crt",
            "-days",
            "3650",
            "-nodes",
            "-subj",
            &subject,
            "-addext",
            "extendedKeyUsage=critical,timeStamping",
        ]);
        openssl(dir.path(), &args);
        std::fs::write(dir.path().join("serial"), "01\n").unwrap();
        std::fs::write(
            dir.path().join("tsa.cnf"),
            format!(
                "[ tsa ]\ndefault_tsa = tsa_config\n\n[ tsa_config ]\ndir = {}\n\
                 serial = $dir/serial\ncrypto_device = builtin\nsigner_cert = $dir/tsa.crt\n\
                 signer_key = $dir/tsa.key\nsigner_digest = sha256\n\
                 default_policy = 1.3.6.1.4.1.55555.1\ndigests = {digests}\n\
                 accuracy = secs:1\nordering = yes\ntsa_name = yes\n\
                 ess_cert_id_chain = no\ness_cert_id_alg = sha256\n",
                dir.path().display()
            ),
        )
        .unwrap();
        let cert_pem = std::fs::read(dir.path().join("tsa.crt")).unwrap();
        LocalTsa { dir, cert_pem }
    }

    /// Its certificate's file.
    pub fn cert_path(&self) -> PathBuf {
        self.dir.path().join("tsa.crt")
    }

    /// The `TimeStampResp` `openssl ts -reply` makes for `query`.
    pub fn reply(&self, query: &[u8]) -> Vec<u8> {
        let work = tempfile::tempdir_in(self.dir.path()).unwrap();
        std::fs::write(work.path().join("query.der"), query).unwrap();
        let config = self.dir.path().join("tsa.cnf");
        let out = Command::new("openssl")
            .args(["ts", "-reply", "-queryfile", "query.der", "-config"])
            .arg(&config)
            .args(["-out", "reply.der"])
            .current_dir(work.path())
            .output()
            .expect("openssl ts runs");
        assert!(
            out.status.success(),
            "openssl ts -reply: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read(work.path().join("reply.der")).unwrap()
    }

    /// Serves the TSA over plain HTTP on a free loopback port until the runtime ends;
    /// answers its URL. Every request it answered is counted in `served`.
    pub async fn serve(
        self: std::sync::Arc<Self>,
        served: std::sync::Arc<std::sync::atomic::AtomicU64>,
    ) -> String {
        use axum::http::{StatusCode, header};
        use axum::response::IntoResponse;
        let tsa = self.clone();
        let app = axum::Router::new().route(
            "/tsa",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let tsa = tsa.clone();
                    let served = served.clone();
                    async move {
                        if headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes())
                            != Some(b"application/timestamp-query")
                        {
                            return (StatusCode::UNSUPPORTED_MEDIA_TYPE, Vec::new())
                                .into_response();
                        }
                        served.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let reply = tokio::task::spawn_blocking(move || tsa.reply(&body))
                            .await
                            .unwrap();
                        (
                            [(header::CONTENT_TYPE, "application/timestamp-reply")],
                            reply,
                        )
                            .into_response()
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/tsa", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        url
    }
}
