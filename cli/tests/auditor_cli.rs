//! The auditor's command line against a real server on loopback HTTPS: `vouch sample` prints
//! the same sample twice, `vouch export` downloads the bundle, and `vouch verify` accepts it
//! offline with the published keys and refuses a damaged copy.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use axum::http::StatusCode;
use common::*;
use vouch_server::ServerConfig;
use vouch_server::auth::Role;

fn vouch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(args)
        .env_remove("VOUCH_TOKEN")
        .env_remove("VOUCH_SERVER")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A real server on a free loopback port, its data in `dir`.
async fn start_server(dir: &tempfile::TempDir) -> vouch_server::RunningServer {
    let config = ServerConfig {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().join("data"),
        ..ServerConfig::default()
    };
    vouch_server::start(&config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_export_and_verify_a_bundle_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let running = start_server(&dir).await;
    let state = running.state().clone();
    let h = Harness {
        admin: state.create_api_token(Role::Admin, "t").await.unwrap(),
        state,
        _dir: tempfile::tempdir().unwrap(),
    };
    let mut agent = enroll(&h, 5).await;
    for _ in 0..20 {
        let (env, _) = agent.next();
        assert_eq!(
            call(&h, post("/v1/snapshots", env)).await.0,
            StatusCode::CREATED
        );
    }
    let token = dir.path().join("auditor.token");
    let auditor = h.state.create_api_token(Role::Auditor, "a").await.unwrap();
    std::fs::write(&token, auditor).unwrap();
    let server = format!("https://localhost:{}", running.local_addr.port());
    let ca = running.ca_cert.clone().unwrap();
    let api = [
        "--server",
        server.as_str(),
        "--ca",
        ca.to_str().unwrap(),
        "--token-file",
        token.to_str().unwrap(),
    ];
    let query = [
        "--from",
        "2026-11-20T00:00:00Z",
        "--to",
        "2026-11-21T00:00:00Z",
        "--size",
        "4",
        "--seed",
        "q4 audit",
    ];
    let args = |cmd: &str, extra: &[&str]| -> Vec<String> {
        std::iter::once(cmd)
            .chain(api)
            .chain(query)
            .chain(extra.iter().copied())
            .map(String::from)
            .collect()
    };
    let run = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        vouch(&refs)
    };

    let first = tokio::task::spawn_blocking({
        let a = args("sample", &[]);
        move || run(a)
    })
    .await
    .unwrap();
    assert!(first.status.success(), "{}", text(&first));
    let out = text(&first);
    assert!(out.contains("population: 20 snapshot(s)"), "{out}");
    assert!(
        out.contains("sample of 4 drawn with seed \"q4 audit\""),
        "{out}"
    );
    let again = tokio::task::spawn_blocking({
        let a = args("sample", &[]);
        move || run(a)
    })
    .await
    .unwrap();
    assert_eq!(first.stdout, again.stdout);

    let bundle = dir.path().join("bundle.tar.gz");
    let export = tokio::task::spawn_blocking({
        let a = args("export", &["-o", bundle.to_str().unwrap()]);
        move || run(a)
    })
    .await
    .unwrap();
    assert!(export.status.success(), "{}", text(&export));

    let keys = dir.path().join("keys.txt");
    std::fs::write(&keys, h.state.keys_text()).unwrap();
    let verify = |bundle: &Path| {
        vouch(&[
            "verify",
            bundle.to_str().unwrap(),
            "--keys",
            keys.to_str().unwrap(),
        ])
    };
    let ok = verify(&bundle);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(
        text(&ok).contains("sample of 4 from a population of 20"),
        "{}",
        text(&ok)
    );

    let mut damaged = std::fs::read(&bundle).unwrap();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x20;
    let bad = dir.path().join("damaged.tar.gz");
    std::fs::write(&bad, damaged).unwrap();
    let refused = verify(&bad);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(text(&refused).contains("FAIL"), "{}", text(&refused));

    // A wrong token is the server's 401, said plainly.
    std::fs::write(&token, "vouch_nope").unwrap();
    let denied = tokio::task::spawn_blocking({
        let a = args("sample", &[]);
        move || run(a)
    })
    .await
    .unwrap();
    assert!(!denied.status.success());
    assert!(text(&denied).contains("401"), "{}", text(&denied));
    running.shutdown().await;
}

/// `vouch evidence add` records a signed attestation with its document through the API; an
/// auditor's token may not, and the refusal says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_add_records_an_attestation_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let running = start_server(&dir).await;
    let state = running.state().clone();
    let lead = dir.path().join("lead.token");
    std::fs::write(
        &lead,
        state
            .create_api_token(Role::SecurityLead, "l")
            .await
            .unwrap(),
    )
    .unwrap();
    let auditor = dir.path().join("auditor.token");
    std::fs::write(
        &auditor,
        state.create_api_token(Role::Auditor, "a").await.unwrap(),
    )
    .unwrap();
    let doc = dir.path().join("isms-policy.pdf");
    std::fs::write(&doc, b"%PDF-1.7 the policy").unwrap();
    let server = format!("https://localhost:{}", running.local_addr.port());
    let ca = running.ca_cert.clone().unwrap();
    let add = |token: &Path| {
        vouch(&[
            "evidence",
            "add",
            "--server",
            &server,
            "--ca",
            ca.to_str().unwrap(),
            "--token-file",
            token.to_str().unwrap(),
            "--control",
            "iso27001-2022:A.5.1",
            "--statement",
            "ISMS policy approved by the board",
            "--by",
            "J. Doe, CISO",
            "--valid-until",
            "2099-06-30",
            "--file",
            doc.to_str().unwrap(),
        ])
    };
    let out = add(&lead);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("for iso27001-2022:A.5.1, valid until 2099-06-30T00:00:00"),
        "{}",
        text(&out)
    );
    let kept = state.store().attestations(None).await.unwrap();
    assert_eq!(kept.len(), 1);
    let bytes = state
        .store()
        .attestation_document(kept[0].digest)
        .await
        .unwrap();
    assert_eq!(bytes.as_deref(), Some(&b"%PDF-1.7 the policy"[..]));
    let refused = add(&auditor);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("role auditor may not manage"),
        "{}",
        text(&refused)
    );
    assert_eq!(state.store().attestations(None).await.unwrap().len(), 1);
}
