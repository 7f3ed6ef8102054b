//! RFC 3161 time-stamps (issue 19) against a real TSA made with `openssl ts`: the request Vouch
//! sends is one OpenSSL answers, and the token it answers verifies with the TSA's certificate
//! alone; a token over other data, for another nonce, checked with another TSA's certificate,
//! or altered by one byte, is refused by name; a TSA that refuses the request says why.

use vouch_server::verify::timestamp::{
    TimestampError, certificate_der, request, token_of_reply, verify_token,
};
use vouch_tests::tsa::LocalTsa;

#[test]
fn tokens_of_an_openssl_tsa_verify_offline_and_forgeries_are_named() {
    for ec in [false, true] {
        let tsa = LocalTsa::new("Vouch test TSA", ec, "sha256, sha512");
        let cert = certificate_der(&tsa.cert_pem).unwrap();
        let data = b"vouch.log/0a0b0c0d\n42\nAAAA\n\n\xe2\x80\x94 vouch.log/0a0b0c0d sig\n";
        let nonce = 0x1234_5678_9abc_def0;
        let token = token_of_reply(&tsa.reply(&request(data, nonce))).unwrap();
        let stamped = verify_token(&token, data, &cert, Some(nonce)).unwrap();
        assert!(stamped.tsa.contains("Vouch test TSA"), "{}", stamped.tsa);
        assert!(!stamped.serial.is_empty());
        // The TSA's clock, which is this machine's: within a day of it.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let at = stamped.gen_time.unix_micros() / 1_000_000;
        assert!((at - now).abs() < 86_400, "{}", stamped.gen_time);
        // Without a nonce to compare, it verifies too.
        assert!(verify_token(&token, data, &cert, None).is_ok());

        assert_eq!(
            verify_token(&token, b"other data", &cert, None),
            Err(TimestampError::OtherData)
        );
        assert_eq!(
            verify_token(&token, data, &cert, Some(nonce + 1)),
            Err(TimestampError::Nonce)
        );
        let stranger = LocalTsa::new("Another TSA", ec, "sha256");
        let other = certificate_der(&stranger.cert_pem).unwrap();
        assert!(matches!(
            verify_token(&token, data, &other, None),
            Err(TimestampError::Signature(_))
        ));
        // One byte of the signature (the token's last bytes) changed.
        let mut altered = token.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert!(matches!(
            verify_token(&altered, data, &cert, None),
            Err(TimestampError::Signature(_))
        ));
        // Truncated: malformed, never a panic.
        assert!(matches!(
            verify_token(&token[..token.len() / 2], data, &cert, None),
            Err(TimestampError::Malformed(_))
        ));
    }
    // A TSA that does not take SHA-256 imprints refuses with its status.
    let picky = LocalTsa::new("Picky TSA", false, "sha512");
    let refused = token_of_reply(&picky.reply(&request(b"x", 1)));
    assert!(
        matches!(refused, Err(TimestampError::Refused { status: 2, .. })),
        "{refused:?}"
    );
}

/// The log's checkpoints time-stamped by a local TSA (`openssl ts` behind HTTP): a stamp when
/// the log grew, none when it did not; `GET /v1/log/timestamp` answers the first stamp holding
/// a leaf; a bundle carries, for its snapshots, the stamps that date them, and `vouch verify
/// --tsa-cert` checks each with the TSA's certificate and dates every snapshot (those past the
/// newest stamp counted apart). Another TSA's certificate fails the check by name; a TSA that
/// refuses leaves nothing stored and is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_time_stamped_and_bundles_date_their_snapshots() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use vouch_server::timestamps::TimestampConfig;

    let dir = tempfile::tempdir().unwrap();
    let tsa = Arc::new(LocalTsa::new("Vouch test TSA", false, "sha256"));
    let served = Arc::new(AtomicU64::new(0));
    let url = tsa.clone().serve(served.clone()).await;
    let server = vouch_tests::server::TestServer::start_with(vouch_server::ServerConfig {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().join("server"),
        timestamps: TimestampConfig {
            url: Some(url),
            certificate: Some(tsa.cert_path()),
            ca_file: None,
            // Stamps are asked for by the test (the first background round is a day away).
            interval_secs: 86_400,
        },
        ..Default::default()
    })
    .await;
    let state = server.running().state().clone();
    let client = vouch_tests::server::https_client(&server.ca_pem);
    let token = state
        .create_api_token(vouch_server::auth::Role::Auditor, "auditor")
        .await
        .unwrap();
    let (_, agent) =
        crate::log::enrolled_agent(&server, &dir.path().join("agent"), "debian12-hardened").await;
    let deliver = |n: usize| crate::log::deliver(&agent, n);
    deliver(2).await;
    state.timestamp_round().await;
    assert_eq!(served.load(Ordering::SeqCst), 1);
    state.timestamp_round().await;
    assert_eq!(served.load(Ordering::SeqCst), 1, "the log did not grow");
    deliver(1).await;

    let get = |path: String| {
        let (client, token) = (client.clone(), token.clone());
        async move {
            let r = client.get(path).bearer_auth(&token).send().await.unwrap();
            (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
        }
    };
    let (status, body) = get(format!("{}/v1/log/timestamp?covering=0", server.url)).await;
    assert_eq!(status, 200);
    let stamp: vouch_server::verify::timestamp::TimestampProof =
        serde_json::from_slice(&body).unwrap();
    assert_eq!(stamp.size, 2);
    let cert = certificate_der(&tsa.cert_pem).unwrap();
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&stamp.token)
        .unwrap();
    assert_eq!(
        verify_token(&raw, stamp.checkpoint.as_bytes(), &cert, None)
            .unwrap()
            .gen_time,
        stamp.gen_time
    );
    let (status, _) = get(format!("{}/v1/log/timestamp?covering=2", server.url)).await;
    assert_eq!(status, 404, "leaf 2 is past the stamped tree of 2");

    let export = |name: &'static str| {
        let path = dir.path().join(name);
        let server = &server;
        async move {
            server.export_bundle(1, "t", &path).await;
            path
        }
    };
    let verify = |bundle: &std::path::Path, tsa_cert: Option<std::path::PathBuf>| {
        vouch_tests::server::verify_bundle(
            bundle,
            vouch_server::verify::cli::VerifyArgs {
                tsa_cert,
                ..vouch_tests::server::plain_verify()
            },
        )
    };
    let bundle = export("one-stamp.tar.gz").await;
    let (ok, out) = verify(&bundle, None);
    assert!(
        ok && out.contains("carries 1 RFC 3161 time-stamp(s)"),
        "{out}"
    );
    let (ok, out) = verify(&bundle, Some(tsa.cert_path()));
    assert!(ok, "{out}");
    assert!(
        out.contains("2 of 3 envelope(s) existed by the time of a time-stamped checkpoint")
            && out.contains("CN=Vouch test TSA")
            && out.contains("1 are past the newest time-stamp"),
        "{out}"
    );
    let stranger = LocalTsa::new("Another TSA", false, "sha256");
    let (ok, out) = verify(&bundle, Some(stranger.cert_path()));
    assert!(
        !ok && out.contains("log/timestamps/2.json: the signature does not verify"),
        "{out}"
    );

    // Stamped again: each snapshot is dated by the first stamp that holds it.
    let stamped = state
        .stamper()
        .unwrap()
        .stamp(&**state.store(), &state.log())
        .await
        .unwrap_or_else(|e| panic!("the second stamp: {e}"));
    assert_eq!(stamped.map(|(size, _)| size), Some(3));
    assert_eq!(served.load(Ordering::SeqCst), 2);
    let bundle = export("two-stamps.tar.gz").await;
    let (ok, out) = verify(&bundle, Some(tsa.cert_path()));
    assert!(ok && out.contains("3 of 3 envelope(s) existed by"), "{out}");
    assert!(!out.contains("past the newest"), "{out}");

    // A TSA that refuses (it takes no SHA-256 imprint): nothing kept, the failure counted.
    let picky = Arc::new(LocalTsa::new("Picky TSA", false, "sha512"));
    let picky_url = picky.clone().serve(Arc::new(AtomicU64::new(0))).await;
    let stamper = vouch_server::timestamps::Stamper::new(
        &TimestampConfig {
            url: Some(picky_url),
            certificate: Some(picky.cert_path()),
            ..TimestampConfig::default()
        },
        "test",
    )
    .unwrap()
    .unwrap();
    state.set_stamper(stamper);
    deliver(1).await;
    let failures = |s: &vouch_server::AppState| {
        s.metrics()
            .render()
            .lines()
            .find_map(|l| {
                l.strip_prefix("vouch_log_timestamp_failures_total ")
                    .map(String::from)
            })
            .unwrap()
    };
    assert_eq!(failures(&state), "0");
    state.timestamp_round().await;
    assert_eq!(failures(&state), "1");
    let (_, body) = get(format!("{}/v1/log/timestamp", server.url)).await;
    let newest: vouch_server::verify::timestamp::TimestampProof =
        serde_json::from_slice(&body).unwrap();
    assert_eq!(newest.size, 3, "nothing kept from the refusing TSA");
}
