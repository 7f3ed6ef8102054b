//! The auditor's standalone `vouch-verify` (issue 17: built without the server, the store, the
//! collectors or any cloud SDK) and `vouch verify` answer alike: the same lines and the same
//! exit status on an honest bundle, a damaged bundle, a re-packed one, honest envelope files
//! and a chain with a snapshot removed.

use std::path::Path;
use std::process::{Command, Output};

use vouch_evidence::SigningKey;
use vouch_tests::process::binary;
use vouch_tests::server::{TestServer, https_client};

fn run(exe: &Path, args: &[&str]) -> Output {
    Command::new(exe).args(args).output().expect("runs")
}

/// Runs both binaries with `args`, asserts they agree, and answers (success, stdout).
fn both(args: &[&str]) -> (bool, String) {
    let vouch = run(
        &binary("vouch", "vouch"),
        &["verify"].iter().chain(args).copied().collect::<Vec<_>>(),
    );
    let standalone = run(&binary("vouch-verify", "vouch-verify"), args);
    let out = String::from_utf8_lossy(&vouch.stdout).into_owned();
    assert_eq!(
        out,
        String::from_utf8_lossy(&standalone.stdout),
        "the two binaries print differently for {args:?}"
    );
    assert_eq!(
        vouch.status.code(),
        standalone.status.code(),
        "{args:?}: {out}"
    );
    (vouch.status.success(), out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vouch_verify_and_the_standalone_binary_give_the_same_answers() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data")).await;
    let client = https_client(&server.ca_pem);
    let key = SigningKey::from_seed(&[71; 32]);
    let agent = server
        .enroll(&client, &key, "auditor-check", "m-audit")
        .await
        .agent_id;
    let files = dir.path().join("envelopes");
    std::fs::create_dir(&files).unwrap();
    let mut paths = Vec::new();
    let posted = server
        .post_chain(&client, &key, &agent, "m-audit", 6, 2_000)
        .await;
    for (i, (_, envelope)) in posted.iter().enumerate() {
        let path = files.join(format!("{:02}.json", i + 1));
        std::fs::write(&path, envelope).unwrap();
        paths.push(path.to_string_lossy().into_owned());
    }
    // Judged on arrival: wait until the results are there, so the bundle carries them.
    let store = server.running().state().store().clone();
    for _ in 0..200 {
        if store.unevaluated(10).await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let keys = dir.path().join("keys.txt");
    std::fs::write(&keys, server.running().state().keys_text()).unwrap();
    let keys = keys.to_string_lossy().into_owned();

    let resp = client
        .get(format!(
            "{}/v1/export?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z&size=3&seed=same",
            server.url
        ))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let bytes = resp.bytes().await.unwrap().to_vec();
    let bundle = dir.path().join("bundle.tar.gz");
    std::fs::write(&bundle, &bytes).unwrap();
    let bundle = bundle.to_string_lossy().into_owned();

    let (ok, out) = both(&[&bundle, "--keys", &keys]);
    assert!(ok, "{out}");
    assert!(out.contains("sample of 3 from a population of 6"), "{out}");
    assert!(
        !out.contains("; 0 policy result"),
        "the results were re-derived: {out}"
    );

    let mut damaged = bytes.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x20;
    let damaged_path = dir.path().join("damaged.tar.gz");
    std::fs::write(&damaged_path, damaged).unwrap();
    let (ok, out) = both(&[damaged_path.to_str().unwrap(), "--keys", &keys]);
    assert!(!ok && out.contains("FAIL"), "{out}");

    // Unpacked and packed again by an auditor: entries named ./…
    let unpacked = dir.path().join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    let untar = Command::new("tar")
        .args(["-xzf", &bundle, "-C", unpacked.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(untar.success());
    let repacked = dir.path().join("repacked.tgz");
    let tar = Command::new("tar")
        .args([
            "-C",
            unpacked.to_str().unwrap(),
            "-czf",
            repacked.to_str().unwrap(),
            ".",
        ])
        .status()
        .unwrap();
    assert!(tar.success());
    let (ok, out) = both(&[repacked.to_str().unwrap(), "--keys", &keys]);
    assert!(ok, "{out}");

    let mut args: Vec<&str> = vec!["--keys", &keys];
    args.extend(paths.iter().map(String::as_str));
    let (ok, out) = both(&args);
    assert!(
        ok && out.contains("6 of 6 envelopes verified; 1 chain(s); OK"),
        "{out}"
    );
    for depth in ["--strict", "--signatures-only"] {
        let mut with = args.clone();
        with.push(depth);
        assert!(both(&with).0, "{depth}");
    }

    // Sequence 4 removed: both name the gap.
    let mut gap: Vec<&str> = vec!["--keys", &keys];
    gap.extend(
        paths
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 3)
            .map(|(_, p)| p.as_str()),
    );
    let (ok, out) = both(&gap);
    assert!(!ok && out.contains("sequence 4"), "{out}");
}
