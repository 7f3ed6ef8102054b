//! Auditor sampling and evidence bundles through the real router and SQLite store: the sample
//! is reproducible, the bundle verifies offline, and each kind of tampering fails with its own
//! message.

use crate::common;

use std::collections::BTreeMap;
use std::io::Read;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;
use vouch_evidence::api::{ErrorBody, SampleResponse};
use vouch_evidence::dsse::Envelope;
use vouch_evidence::{Digest, SigningKey};
use vouch_server::auth::Role;
use vouch_server::bundle::{self, MANIFEST_FILE};
use vouch_server::verify::Keyring;

const QUERY: &str = "from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z&size=5&seed=audit-2026";

struct Scene {
    h: Harness,
    auditor: String,
}

/// Two agents with 30 hourly snapshots each; the query's day holds sequences 1..=23 of each.
async fn scene() -> Scene {
    let h = harness().await;
    for seed in [1, 2] {
        let mut agent = enroll(&h, seed).await;
        for _ in 0..30 {
            let (env, _) = agent.next();
            assert_eq!(
                call(&h, post("/v1/snapshots", env)).await.0,
                StatusCode::CREATED
            );
        }
    }
    let auditor = h
        .state
        .create_api_token(Role::Auditor, "auditor")
        .await
        .unwrap();
    Scene { h, auditor }
}

async fn sample(s: &Scene, query: &str) -> (StatusCode, Vec<u8>) {
    call(&s.h, get(&format!("/v1/sample?{query}"), Some(&s.auditor))).await
}

async fn export(s: &Scene) -> Vec<u8> {
    let (status, body) = call(&s.h, get(&format!("/v1/export?{QUERY}"), Some(&s.auditor))).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    body
}

fn unpack(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut out = BTreeMap::new();
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let mut buf = Vec::new();
        e.read_to_end(&mut buf).unwrap();
        out.insert(path, buf);
    }
    out
}

fn repack(files: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for (path, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, path, bytes.as_slice())
            .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

fn failures(bytes: &[u8]) -> Vec<String> {
    bundle::verify(bytes, None, 1).failures
}

/// Some line of `lines` (a report's failures or notes) mentions `needle`.
fn assert_has(lines: &[String], needle: &str) {
    assert!(
        lines.iter().any(|f| f.contains(needle)),
        "no line mentions {needle:?}: {lines:#?}"
    );
}

#[tokio::test]
async fn the_same_query_draws_the_same_sample_from_a_fingerprinted_population() {
    let s = scene().await;
    let (status, body) = sample(&s, QUERY).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let a: SampleResponse = serde_json::from_slice(&body).unwrap();
    assert_eq!(a.population_count, 46);
    assert_eq!(a.sample.len(), 5);
    assert_eq!(a.algorithm, "vouch-sample-v1");
    let b: SampleResponse = serde_json::from_slice(&sample(&s, QUERY).await.1).unwrap();
    assert_eq!(a, b);
    let other: SampleResponse = serde_json::from_slice(
        &sample(&s, &QUERY.replace("audit-2026", "audit-2027"))
            .await
            .1,
    )
    .unwrap();
    assert_eq!(other.population_fingerprint, a.population_fingerprint);
    assert_ne!(other.sample, a.sample);
    // Every sampled snapshot is inside the window.
    for m in &a.sample {
        assert!(m.sequence <= 23, "{m:?}");
    }
    let hosts_only: SampleResponse =
        serde_json::from_slice(&sample(&s, &format!("{QUERY}&kinds=host")).await.1).unwrap();
    assert_eq!(hosts_only.sample, a.sample);
    let none: SampleResponse =
        serde_json::from_slice(&sample(&s, &format!("{QUERY}&kinds=github-org")).await.1).unwrap();
    assert_eq!((none.population_count, none.sample.len()), (0, 0));
}

#[tokio::test]
async fn bad_sampling_queries_and_the_agent_role_are_refused() {
    let s = scene().await;
    let (status, body) = sample(
        &s,
        "from=2026-11-21T00:00:00Z&to=2026-11-20T00:00:00Z&size=0&seed=x&kinds=printer",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let e: ErrorBody = serde_json::from_slice(&body).unwrap();
    assert!(e.message.contains("must be after"), "{}", e.message);
    assert!(e.message.contains("size 0"), "{}", e.message);
    assert!(e.message.contains("\"printer\""), "{}", e.message);
    let (status, body) = sample(&s, "from=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let e: ErrorBody = serde_json::from_slice(&body).unwrap();
    assert_eq!(e.error, "bad_request");
    let agent = s.h.state.create_api_token(Role::Agent, "a").await.unwrap();
    let (status, _) = call(&s.h, get(&format!("/v1/export?{QUERY}"), Some(&agent))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_honest_bundle_verifies_offline_with_and_without_pinned_keys() {
    let s = scene().await;
    let bytes = export(&s).await;
    let report = bundle::verify(&bytes, None, 2);
    assert!(report.ok(), "{:#?}", report.failures);
    assert!(
        report
            .summary
            .contains("sample of 5 from a population of 46")
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("compare the server key id"))
    );
    let files = unpack(&bytes);
    // The sampled chains are complete over the window: 23 envelopes per touched chain.
    let envelopes = files.keys().filter(|p| p.starts_with("envelopes/")).count();
    assert!(envelopes == 23 || envelopes == 46, "{envelopes}");
    let (_, keys) = call(&s.h, get("/v1/keys", Some(&s.auditor))).await;
    let pinned = Keyring::parse(std::str::from_utf8(&keys).unwrap(), "keys.txt").unwrap();
    let report = bundle::verify(&bytes, Some(&pinned), 1);
    assert!(report.ok(), "{:#?}", report.failures);
    assert!(
        report
            .notes
            .iter()
            .all(|n| !n.contains("compare the server key id"))
    );
    // The sample re-derives from population.json alone, as the README tells auditors.
    let population: Vec<vouch_evidence::api::SnapshotRef> =
        serde_json::from_slice(&files["population.json"]).unwrap();
    let digests: Vec<Digest> = population.iter().map(|m| m.digest).collect();
    let resampled: SampleResponse = serde_json::from_slice(&sample(&s, QUERY).await.1).unwrap();
    let expected: Vec<Digest> = resampled.sample.iter().map(|m| m.digest).collect();
    assert_eq!(
        vouch_evidence::sample::draw(&digests, "audit-2026", 5),
        expected
    );
}

#[tokio::test]
async fn a_snapshot_deleted_from_the_middle_of_a_chain_is_named() {
    let s = scene().await;
    let mut files = unpack(&export(&s).await);
    let population: Vec<vouch_evidence::api::SnapshotRef> =
        serde_json::from_slice(&files["population.json"]).unwrap();
    let victim = population
        .iter()
        .find(|m| m.sequence == 12 && files.contains_key(&format!("envelopes/{}.json", m.digest)))
        .unwrap();
    files.remove(&format!("envelopes/{}.json", victim.digest));
    let f = failures(&repack(&files));
    assert_has(&f, "gap, sequence 12 is missing");
    assert_has(&f, "listed in the manifest but missing");
}

#[tokio::test]
async fn a_swapped_public_key_fails() {
    let s = scene().await;
    let mut files = unpack(&export(&s).await);
    let text = String::from_utf8(files["keys/keys.txt"].clone()).unwrap();
    let first = text.lines().find(|l| l.starts_with("ed25519 ")).unwrap();
    let owner = first.split_whitespace().nth(2).unwrap();
    let forged = SigningKey::from_seed(&[77; 32]).public().to_line(owner);
    files.insert(
        "keys/keys.txt".into(),
        text.replace(first, &forged).into_bytes(),
    );
    let bytes = repack(&files);
    let f = failures(&bytes);
    assert_has(&f, "keys/keys.txt: content differs from the manifest");
    // Against the keys the auditor pinned, the forged key is named outright.
    let (_, keys) = call(&s.h, get("/v1/keys", Some(&s.auditor))).await;
    let pinned = Keyring::parse(std::str::from_utf8(&keys).unwrap(), "keys.txt").unwrap();
    let f = bundle::verify(&bytes, Some(&pinned), 1).failures;
    assert_has(&f, "is not among the pinned keys");
}

#[tokio::test]
async fn an_edited_population_or_envelope_fails() {
    let s = scene().await;
    let files = unpack(&export(&s).await);
    let mut edited = files.clone();
    let population = String::from_utf8(edited["population.json"].clone()).unwrap();
    edited.insert(
        "population.json".into(),
        population
            .replacen("\"sequence\": 1,", "\"sequence\": 2,", 1)
            .into_bytes(),
    );
    assert_has(
        &failures(&repack(&edited)),
        "population.json: content differs from the manifest",
    );

    let mut edited = files.clone();
    let (path, bytes) = edited
        .iter_mut()
        .find(|(p, _)| p.starts_with("envelopes/"))
        .unwrap();
    let path = path.clone();
    let last = bytes.len() - 10;
    bytes[last] ^= 0x01;
    let f = failures(&repack(&edited));
    assert_has(&f, &format!("{path}: content differs from the manifest"));
    assert_has(&f, &path);
}

#[tokio::test]
async fn an_edited_manifest_fails_its_signature() {
    let s = scene().await;
    let mut files = unpack(&export(&s).await);
    let mut env = Envelope::from_slice(&files[MANIFEST_FILE]).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let payload = String::from_utf8(b64.decode(&env.payload).unwrap()).unwrap();
    env.payload = b64.encode(payload.replace("audit-2026", "audit-1999"));
    files.insert(MANIFEST_FILE.into(), env.to_vec());
    assert_has(
        &failures(&repack(&files)),
        "manifest.dsse.json: signature does not verify with the server key",
    );
}

/// The bundle carries every evaluation of the sampled snapshots and the packs that made them;
/// `verify` re-derives each result from its pack. A server that signs results its own pack does
/// not give is caught, even with a correctly signed manifest.
#[tokio::test]
async fn results_in_the_bundle_re_derive_from_their_pack() {
    let s = scene().await;
    let policies = vouch_server::controls::Policies::start(
        s.h.state.store().clone(),
        vouch_server::config::PolicySettings::default(),
        vouch_policies::Catalogs::builtin(),
    )
    .await
    .unwrap();
    assert_eq!(policies.evaluator().run_once().await.unwrap(), 60);
    let bytes = export(&s).await;
    let report = bundle::verify(&bytes, None, 1);
    assert!(report.ok(), "{:#?}", report.failures);
    let policy_count = policies.in_force().pack().policies().len();
    assert!(
        report
            .summary
            .contains(&format!("{} policy result(s) re-derived", 5 * policy_count)),
        "{}",
        report.summary
    );
    let mut files = unpack(&bytes);
    let pack = policies.in_force();
    let pack_digest = vouch_server::evaluate::Judge::digest(&*pack).to_string();
    assert!(files.contains_key(&format!("packs/{pack_digest}/vouch-config.json")));

    // A dishonest server: one result turned to pass, the manifest re-signed with its key.
    let path = files
        .keys()
        .find(|p| p.starts_with("results/"))
        .unwrap()
        .clone();
    let mut evaluations: Vec<bundle::BundleEvaluation> =
        serde_json::from_slice(&files[&path]).unwrap();
    let forged = evaluations[0]
        .results
        .iter_mut()
        .find(|r| r.status != "pass")
        .unwrap();
    let policy = forged.policy.clone();
    forged.status = "pass".into();
    let forged_bytes = serde_json::to_vec_pretty(&evaluations).unwrap();
    let env = Envelope::from_slice(&files[MANIFEST_FILE]).unwrap();
    let mut manifest: bundle::Manifest =
        serde_json::from_slice(&env.payload_bytes().unwrap()).unwrap();
    manifest
        .files
        .insert(path.clone(), Digest::of(&forged_bytes));
    files.insert(path.clone(), forged_bytes);
    let payload = vouch_evidence::canonical::to_vec(&manifest).unwrap();
    let server_key = SigningKey::from_seed(&[99; 32]);
    let signed = vouch_evidence::dsse::sign(&server_key, bundle::MANIFEST_PAYLOAD_TYPE, &payload);
    files.insert(MANIFEST_FILE.into(), signed.to_vec());
    let f = failures(&repack(&files));
    assert_has(&f, &format!("{path}: pack "));
    assert_has(&f, &format!("gives {policy} "));
    assert_has(&f, "the bundle says pass");
}

/// Regression (issue 15, defect 9): an auditor who unpacked a bundle and packed it again with
/// `tar -C DIR .` got "not a Vouch evidence bundle" (members are then named `./…`). The real
/// `tar` repacks it here, and the repacked bundle verifies like the original.
#[tokio::test]
async fn a_bundle_repacked_with_tar_c_dir_dot_verifies() {
    let s = scene().await;
    let bytes = export(&s).await;
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("bundle.tar.gz");
    std::fs::write(&original, &bytes).unwrap();
    let unpacked = dir.path().join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    let tar = |args: &[&std::ffi::OsStr]| {
        let out = std::process::Command::new("tar")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    tar(&[
        "-xzf".as_ref(),
        original.as_os_str(),
        "-C".as_ref(),
        unpacked.as_os_str(),
    ]);
    let repacked = dir.path().join("repacked.tar.gz");
    tar(&[
        "-czf".as_ref(),
        repacked.as_os_str(),
        "-C".as_ref(),
        unpacked.as_os_str(),
        ".".as_ref(),
    ]);
    let listing = std::process::Command::new("tar")
        .arg("-tzf")
        .arg(&repacked)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&listing.stdout).contains(&format!("./{MANIFEST_FILE}")),
        "members are named ./…"
    );
    let original_report = bundle::verify(&bytes, None, 1);
    let report = bundle::verify(&std::fs::read(&repacked).unwrap(), None, 1);
    assert!(report.ok(), "{:#?}", report.failures);
    assert_eq!(report.summary, original_report.summary);
}

/// A dishonest server's bundle: `edit` changes its files, then the manifest is re-signed with
/// the server's own receipt key, as a server that lies would.
fn resigned(
    mut files: BTreeMap<String, Vec<u8>>,
    edit: impl FnOnce(&mut BTreeMap<String, Vec<u8>>),
) -> Vec<u8> {
    edit(&mut files);
    let env = Envelope::from_slice(&files[MANIFEST_FILE]).unwrap();
    let mut manifest: bundle::Manifest =
        serde_json::from_slice(&env.payload_bytes().unwrap()).unwrap();
    manifest.files = files
        .iter()
        .filter(|(p, _)| *p != MANIFEST_FILE)
        .map(|(p, b)| (p.clone(), Digest::of(b)))
        .collect();
    let payload = vouch_evidence::canonical::to_vec(&manifest).unwrap();
    let signed = vouch_evidence::dsse::sign(
        &SigningKey::from_seed(&[99; 32]),
        bundle::MANIFEST_PAYLOAD_TYPE,
        &payload,
    );
    files.insert(MANIFEST_FILE.into(), signed.to_vec());
    repack(&files)
}

/// A keys file as it was before the log: without its `vouch-server-log` line.
fn without_log_key(keys: &str) -> String {
    keys.lines()
        .filter(|l| !l.ends_with(" vouch-server-log"))
        .map(|l| format!("{l}\n"))
        .collect()
}

async fn pinned_keys(s: &Scene) -> (String, Keyring) {
    let (_, keys) = call(&s.h, get("/v1/keys", Some(&s.auditor))).await;
    let text = String::from_utf8(keys).unwrap();
    let ring = Keyring::parse(&text, "keys.txt").unwrap();
    (text, ring)
}

/// Issue 19: a bundle carries the log's signed checkpoint and each envelope's inclusion proof;
/// `verify` checks them with the log key the organisation published. A server that signs a
/// bundle whose snapshots are not in its log (a proof of another leaf, a checkpoint of a
/// forked tree, the proofs left out) is caught, each by name, even with a correctly signed
/// manifest.
#[tokio::test]
async fn bundles_prove_their_snapshots_in_the_log_and_a_lying_server_is_named() {
    let s = scene().await;
    let bytes = export(&s).await;
    let (keys_text, pinned) = pinned_keys(&s).await;
    assert!(keys_text.lines().any(|l| l.ends_with(" vouch-server-log")));
    let report = bundle::verify(&bytes, Some(&pinned), 1);
    assert!(report.ok(), "{:#?}", report.failures);
    let files = unpack(&bytes);
    let envelopes: Vec<String> = files
        .keys()
        .filter_map(|p| p.strip_prefix("envelopes/"))
        .map(|p| p.trim_end_matches(".json").to_string())
        .collect();
    assert!(
        report.summary.contains(&format!(
            "{0} of {0} envelope(s) proved in the log's checkpoint of 60 leaves",
            envelopes.len()
        )),
        "{}",
        report.summary
    );
    assert_eq!(report.checkpoint.as_ref().unwrap().size, 60);
    for d in &envelopes {
        assert!(
            files.contains_key(&format!("log/inclusion/{d}.json")),
            "{d}"
        );
    }

    // The proof of one snapshot swapped for another's.
    let (a, b) = (&envelopes[0], &envelopes[1]);
    let swapped = resigned(files.clone(), |f| {
        let other = f[&format!("log/inclusion/{b}.json")].clone();
        f.insert(format!("log/inclusion/{a}.json"), other);
    });
    let f = failures(&swapped);
    assert_has(&f, &format!("log/inclusion/{a}.json: the proof is for {b}"));

    // A checkpoint of a forked tree (same size, another root), signed with the log's key.
    let log = s.h.state.log();
    let log_key = vouch_server::checkpoints::derived_log_key(&SigningKey::from_seed(&[99; 32]));
    let forked = vouch_evidence::note::Checkpoint {
        origin: log.origin().to_string(),
        size: 60,
        root: vouch_evidence::tlog::leaf_hash(b"another history"),
        extensions: Vec::new(),
    }
    .sign(&log_key)
    .unwrap()
    .to_string();
    let bad = resigned(files.clone(), |f| {
        f.insert("log/checkpoint.txt".into(), forked.into_bytes());
    });
    let report = bundle::verify(&bad, Some(&pinned), 1);
    assert_eq!(
        report
            .failures
            .iter()
            .filter(|f| f.contains("the snapshot is not at leaf"))
            .count(),
        envelopes.len(),
        "{:#?}",
        report.failures
    );

    // A checkpoint signed by a key that is not the log's.
    let foreign = vouch_evidence::note::Checkpoint::open(
        &String::from_utf8(files["log/checkpoint.txt"].clone()).unwrap(),
        &log.verifier(),
    )
    .unwrap()
    .0
    .sign(&SigningKey::from_seed(&[7; 32]))
    .unwrap()
    .to_string();
    let bad = resigned(files.clone(), |f| {
        f.insert("log/checkpoint.txt".into(), foreign.into_bytes());
    });
    assert_has(
        &failures(&bad),
        "log/checkpoint.txt: the checkpoint does not verify",
    );

    // The proofs left out: a failure when the auditor pinned the log key, a note otherwise.
    // (As a server from before the log made it: nor had it a key-status list, which would
    // name the log key.)
    let stripped = resigned(files.clone(), |f| {
        f.retain(|p, _| {
            !p.starts_with("log/") && p != vouch_server::verify::keystatus::KEY_STATUS_FILE
        });
        let keys = without_log_key(std::str::from_utf8(&f["keys/keys.txt"]).unwrap());
        f.insert("keys/keys.txt".into(), keys.into_bytes());
    });
    let report = bundle::verify(&stripped, Some(&pinned), 1);
    assert_has(
        &report.failures,
        "log/checkpoint.txt: missing, though the pinned keys name the server's log key",
    );
    let report = bundle::verify(&stripped, None, 1);
    assert!(report.ok(), "{:#?}", report.failures);
    assert_has(&report.notes, "carries no transparency-log proofs");

    // Keys pinned before the log existed: the bundle's log key is used, and said so.
    let old_ring = Keyring::parse(&without_log_key(&keys_text), "keys.txt").unwrap();
    let report = bundle::verify(&bytes, Some(&old_ring), 1);
    assert!(report.ok(), "{:#?}", report.failures);
    assert_has(&report.notes, "the pinned keys name no log key");
}

/// Issue 19: an auditor who saved a checkpoint earlier checks, offline, that the log only
/// grew since: against a bundle's checkpoint, or against a newer checkpoint alone, with the
/// consistency proof the server answers. A proof against a forked tree fails by name.
#[tokio::test]
async fn a_checkpoint_saved_earlier_is_proved_a_prefix_offline() {
    use vouch_server::verify::cli::{Since, VerifyArgs, run};
    let h = harness().await;
    let auditor = h
        .state
        .create_api_token(Role::Auditor, "auditor")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let save = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let mut old = None;
    for seed in [1, 2] {
        let mut agent = enroll(&h, seed).await;
        for _ in 0..30 {
            let (env, _) = agent.next();
            assert_eq!(
                call(&h, post("/v1/snapshots", env)).await.0,
                StatusCode::CREATED
            );
        }
        if old.is_none() {
            let (_, note) = call(&h, get("/v1/log/checkpoint", Some(&auditor))).await;
            old = Some(save("old.txt", &note));
        }
    }
    let old = old.unwrap();
    let (_, proof) = call(&h, get("/v1/log/consistency?from=30", Some(&auditor))).await;
    let proof = save("proof.json", &proof);
    let (_, keys) = call(&h, get("/v1/keys", Some(&auditor))).await;
    let keys = save("keys.txt", &keys);
    let (status, bundle) = call(&h, get(&format!("/v1/export?{QUERY}"), Some(&auditor))).await;
    assert_eq!(status, StatusCode::OK);
    let bundle = save("bundle.tar.gz", &bundle);
    let verify = |files: Vec<std::path::PathBuf>, proof: &std::path::Path| {
        let args = VerifyArgs {
            keys: Some(keys.clone()),
            depth: vouch_server::verify::Depth::Canonical,
            threads: 1,
            files,
            since: Some(Since {
                old: old.clone(),
                proof: proof.to_path_buf(),
                new: None,
            }),
            witnesses: Vec::new(),
            witness_quorum: None,
            tsa_cert: None,
        };
        let mut out = Vec::new();
        let ok = run(&args, &mut out).unwrap();
        (ok, String::from_utf8(out).unwrap())
    };
    let (ok, out) = verify(vec![bundle.clone()], &proof);
    assert!(ok, "{out}");
    assert!(
        out.contains("only grew from 30 leaves") && out.contains("to 60"),
        "{out}"
    );
    // Without a bundle: the newer checkpoint is the one the proof carries.
    let (ok, out) = verify(Vec::new(), &proof);
    assert!(ok, "{out}");
    assert!(out.contains("only grew from 30 leaves"), "{out}");

    // A proof whose hashes are of another history.
    let mut forged: vouch_evidence::logproofs::ConsistencyProof =
        serde_json::from_slice(&std::fs::read(&proof).unwrap()).unwrap();
    forged.proof[0] = base64::engine::general_purpose::STANDARD
        .encode(vouch_evidence::tlog::leaf_hash(b"another history"));
    let forged = save("forged.json", &serde_json::to_vec(&forged).unwrap());
    for files in [vec![bundle.clone()], Vec::new()] {
        let (ok, out) = verify(files, &forged);
        assert!(!ok, "{out}");
        assert!(
            out.contains("FAIL") && out.contains("is not a prefix of the signed tree of 60"),
            "{out}"
        );
    }
}

/// Issue 19, a row deleted: a server (or whoever holds its database) that deletes an accepted
/// snapshot leaves the population one short; the bundle it then makes is refused by name, the
/// chain's gap, though every envelope left in it is still proved in the log (the deleted
/// snapshot's leaf stays where the agents saw it).
#[tokio::test]
async fn a_snapshot_row_deleted_from_the_database_is_named_in_the_next_bundle() {
    let s = scene().await;
    let files = unpack(&export(&s).await);
    let population: Vec<vouch_evidence::api::SnapshotRef> =
        serde_json::from_slice(&files["population.json"]).unwrap();
    let victim = population
        .iter()
        .find(|m| m.sequence == 12 && files.contains_key(&format!("envelopes/{}.json", m.digest)))
        .unwrap();
    let db = rusqlite::Connection::open(s.h._dir.path().join("vouch.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    let deleted = db
        .execute(
            "DELETE FROM snapshots WHERE digest = ?1",
            [victim.digest.to_hex()],
        )
        .unwrap();
    assert_eq!(deleted, 1);
    drop(db);
    let report = bundle::verify(&export(&s).await, None, 1);
    assert_has(&report.failures, "gap, sequence 12 is missing");
    assert!(
        report
            .summary
            .contains("proved in the log's checkpoint of 60 leaves"),
        "{}",
        report.summary
    );
}

/// Issue 19, a snapshot replaced: the stored envelope of one snapshot overwritten with
/// another's (a server that shows an auditor a different snapshot in its place). The bundle
/// the server then makes is refused by name: the envelope is not the snapshot its name and the
/// population say, and the snapshot that should be there is missing from its chain.
#[tokio::test]
async fn a_snapshot_replaced_in_the_database_is_named_in_the_next_bundle() {
    let s = scene().await;
    let files = unpack(&export(&s).await);
    let population: Vec<vouch_evidence::api::SnapshotRef> =
        serde_json::from_slice(&files["population.json"]).unwrap();
    let in_bundle = |m: &&vouch_evidence::api::SnapshotRef| {
        files.contains_key(&format!("envelopes/{}.json", m.digest))
    };
    let victim = population
        .iter()
        .filter(in_bundle)
        .find(|m| m.sequence == 12)
        .unwrap();
    let other = population
        .iter()
        .filter(in_bundle)
        .find(|m| m.sequence == 13 && m.agent_id == victim.agent_id)
        .unwrap();
    let db = rusqlite::Connection::open(s.h._dir.path().join("vouch.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    let replaced = db
        .execute(
            "UPDATE snapshots SET envelope = (SELECT envelope FROM snapshots WHERE digest = ?2) \
             WHERE digest = ?1",
            [victim.digest.to_hex(), other.digest.to_hex()],
        )
        .unwrap();
    assert_eq!(replaced, 1);
    drop(db);
    let f = bundle::verify(&export(&s).await, None, 1).failures;
    assert_has(
        &f,
        &format!(
            "envelopes/{}.json: holds snapshot {}, so it should be named",
            victim.digest, other.digest
        ),
    );
    assert_has(
        &f,
        &format!(
            "sequence 12 ({}) is in the population but its envelope is not in the bundle",
            victim.digest
        ),
    );
}

/// Issue 19, witnesses: a bundle made while the log's witnesses have cosigned an older tree
/// than the log's carries that witnessed checkpoint and the proof that it is a prefix of the
/// bundle's; `check_witnesses` accepts the snapshots in it and names those past it. A server
/// that forges the proof, swaps the witnessed checkpoint for one of another tree, leaves the
/// proof out or strips the cosignatures is caught, each by name, with a re-signed manifest.
#[tokio::test]
async fn a_bundle_carries_the_newest_witnessed_checkpoint_and_a_lying_server_is_named() {
    use base64::engine::general_purpose::STANDARD as B64;
    use vouch_evidence::cosign::{Witness, cosign};
    use vouch_evidence::logproofs::ConsistencyProof;
    use vouch_evidence::note::Note;
    use vouch_server::bundle::{LOG_WITNESSED_FILE, LOG_WITNESSED_PROOF_FILE};
    use vouch_server::store::LogHead;

    let s = scene().await;
    let store = s.h.state.store().clone();
    let signer = s.h.state.log();
    let witness_key = SigningKey::from_seed(&[42; 32]);
    let witness = Witness::new("witness.example", witness_key.public().clone()).unwrap();
    let cosigned = |head: LogHead| {
        let mut note = Note::parse(&signer.signed(head)).unwrap();
        cosign(&mut note, "witness.example", &witness_key, 1_780_000_000).unwrap();
        note.to_string()
    };
    // The witness cosigned the tree of 40 leaves; the log holds 60.
    let root = store.log_proof(&[(0, 40)]).await.unwrap()[0];
    let line = cosigned(LogHead { size: 40, root })
        .lines()
        .last()
        .unwrap()
        .to_string();
    let now = s.h.state.now();
    store
        .add_cosignature(40, "witness.example", &line, now)
        .await
        .unwrap();
    let query: vouch_evidence::api::SampleQuery = serde_json::from_value(serde_json::json!({
        "from": "2026-11-20T00:00:00Z", "to": "2026-11-21T00:00:00Z",
        "size": 5, "seed": "audit-2026"
    }))
    .unwrap();
    let signers = bundle::Signers {
        receipt_key: SigningKey::from_seed(&s.h.state.receipt_key().seed()),
        log: signer.clone(),
        quorum: Some(1),
        verdicts: s.h.state.verdicts(),
    };
    let bytes = bundle::build(store.as_ref(), &signers, &query, now)
        .await
        .unwrap();
    let files = unpack(&bytes);
    assert!(files.contains_key(LOG_WITNESSED_FILE) && files.contains_key(LOG_WITNESSED_PROOF_FILE));
    let mut report = bundle::verify(&bytes, None, 1);
    assert!(report.ok(), "{:#?}", report.failures);
    let past = report.leaves.values().filter(|i| **i >= 40).count();
    assert!(past > 0 && past < report.leaves.len());
    report.check_witnesses(std::slice::from_ref(&witness), 1);
    assert_eq!(report.failures.len(), past, "{:#?}", report.failures);
    assert_has(
        &report.failures,
        "is past the newest witnessed checkpoint (40 leaves)",
    );
    assert_has(
        &report.notes,
        "checkpoint of 40 leaves is cosigned by 1 of the 1 witness(es)",
    );

    let witnessed_failures = |bytes: &[u8]| {
        let mut r = bundle::verify(bytes, None, 1);
        r.check_witnesses(std::slice::from_ref(&witness), 1);
        r.failures
    };
    // A forged proof hash.
    let forged = resigned(files.clone(), |f| {
        let mut proof: ConsistencyProof =
            serde_json::from_slice(&f[LOG_WITNESSED_PROOF_FILE]).unwrap();
        proof.proof[0] = B64.encode([7u8; 32]);
        f.insert(
            LOG_WITNESSED_PROOF_FILE.into(),
            serde_json::to_vec(&proof).unwrap(),
        );
    });
    assert_has(&witnessed_failures(&forged), LOG_WITNESSED_PROOF_FILE);
    // A witnessed checkpoint of another tree of 40 leaves (signed by the log, even cosigned).
    let swapped = resigned(files.clone(), |f| {
        let other = cosigned(LogHead {
            size: 40,
            root: [9; 32],
        });
        f.insert(LOG_WITNESSED_FILE.into(), other.into_bytes());
    });
    let failed = witnessed_failures(&swapped);
    assert_has(
        &failed,
        &format!("{LOG_WITNESSED_PROOF_FILE}: the log of 40 leaves"),
    );
    // The proof left out.
    let bare = resigned(files.clone(), |f| {
        f.remove(LOG_WITNESSED_PROOF_FILE);
    });
    assert_has(&witnessed_failures(&bare), "missing beside");
    // The cosignature stripped: nothing in the bundle is witnessed.
    let stripped = resigned(files.clone(), |f| {
        let text = String::from_utf8(f[LOG_WITNESSED_FILE].clone()).unwrap();
        let kept: String = text
            .lines()
            .filter(|l| !l.starts_with("— witness.example "))
            .map(|l| format!("{l}\n"))
            .collect();
        f.insert(LOG_WITNESSED_FILE.into(), kept.into_bytes());
    });
    assert_has(
        &witnessed_failures(&stripped),
        "not witnessed: 0 of the trusted witnesses",
    );
}

/// Issue 19, signed verdicts: every evaluation of a sampled snapshot is in the bundle as an
/// in-toto statement signed with the server's verdict key (published in the keys), and
/// `verify` re-derives each from the evaluation and its pack. A server that signs a verdict
/// its pack does not give, with its own verdict key and a re-signed manifest, is caught by
/// the field it changed; a verdict left out is named; a statement signed by another key fails.
/// A generic DSSE verifier (here `openssl pkeyutl`, no Vouch code) checks a statement's
/// signature with the published key alone.
#[tokio::test]
async fn verdicts_are_signed_statements_an_auditor_re_derives() {
    use vouch_server::verdicts::{STATEMENT_PAYLOAD_TYPE, Statement, VERDICT_KEY_OWNER};
    let s = scene().await;
    let policies = judge_with(&s.h, vouch_server::config::PolicySettings::default()).await;
    assert_eq!(policies.evaluator().run_once().await.unwrap(), 60);
    let bytes = export(&s).await;
    let report = bundle::verify(&bytes, None, 1);
    assert!(report.ok(), "{:#?}", report.failures);
    assert!(
        report
            .summary
            .contains("5 of 5 signed verdict(s) re-derived"),
        "{}",
        report.summary
    );
    let files = unpack(&bytes);
    let keys = String::from_utf8(files["keys/keys.txt"].clone()).unwrap();
    let line = keys
        .lines()
        .find(|l| l.ends_with(VERDICT_KEY_OWNER))
        .expect("the verdict key is published");
    let (_, pinned) = pinned_keys(&s).await;
    assert_eq!(pinned.of_owner(VERDICT_KEY_OWNER).count(), 1);
    let key = s.h.state.verdicts().public().clone();
    assert!(line.contains(&key.to_line(VERDICT_KEY_OWNER)));
    let path = files
        .keys()
        .find(|p| p.starts_with("verdicts/"))
        .unwrap()
        .clone();
    let envelopes: Vec<Envelope> = serde_json::from_slice(&files[&path]).unwrap();
    let statement: Statement =
        serde_json::from_slice(&envelopes[0].payload_bytes().unwrap()).unwrap();
    assert_eq!(statement.type_, "https://in-toto.io/Statement/v1");
    assert_eq!(envelopes[0].payload_type, STATEMENT_PAYLOAD_TYPE);
    let digest = path
        .strip_prefix("verdicts/")
        .unwrap()
        .strip_suffix(".json")
        .unwrap();
    assert_eq!(statement.subject[0].digest["sha256"], digest);
    let failing = statement
        .predicate
        .policies
        .iter()
        .filter(|p| p.status == "fail" || p.status == "error")
        .count();
    assert!(failing > 0, "the scene's hosts fail some policies");
    assert_eq!(
        statement.predicate.verification_result,
        if failing > 0 { "FAILED" } else { "PASSED" }
    );
    assert!(statement.predicate.verified_levels.iter().all(|c| {
        statement
            .predicate
            .controls
            .iter()
            .any(|v| v.control == *c && v.status == "pass")
    }));

    // No Vouch code: the DSSE pre-authentication encoding and the published Ed25519 key.
    let dir = tempfile::tempdir().unwrap();
    let payload = envelopes[0].payload_bytes().unwrap();
    let pae = vouch_evidence::dsse::pae(STATEMENT_PAYLOAD_TYPE, &payload);
    let mut spki = hex::decode("302a300506032b6570032100").unwrap();
    spki.extend_from_slice(&key.to_raw());
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        B64.encode(&spki)
    );
    std::fs::write(dir.path().join("key.pem"), pem).unwrap();
    std::fs::write(dir.path().join("pae.bin"), &pae).unwrap();
    let sig = B64.decode(&envelopes[0].signatures[0].sig).unwrap();
    std::fs::write(dir.path().join("sig.bin"), &sig).unwrap();
    let openssl = |message: &str| {
        std::process::Command::new("openssl")
            .args([
                "pkeyutl", "-verify", "-pubin", "-inkey", "key.pem", "-rawin",
            ])
            .args(["-in", message, "-sigfile", "sig.bin"])
            .current_dir(dir.path())
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(openssl("pae.bin"), "openssl verifies the statement");
    std::fs::write(dir.path().join("bad.bin"), [&pae[..], b" "].concat()).unwrap();
    assert!(!openssl("bad.bin"), "and refuses an altered one");

    // A lying server: the statement turned to PASSED with every policy passing, signed with
    // its own verdict key.
    let verdict_key =
        vouch_server::verdicts::derived_verdict_key(&SigningKey::from_seed(&[99; 32]));
    assert_eq!(verdict_key.public(), &key);
    let mut lie = statement.clone();
    lie.predicate.verification_result = "PASSED".into();
    for p in &mut lie.predicate.policies {
        if p.status == "fail" || p.status == "error" {
            p.status = "pass".into();
        }
    }
    let lying = resigned(files.clone(), |f| {
        let mut all = envelopes.clone();
        all[0] = vouch_evidence::dsse::sign(
            &verdict_key,
            STATEMENT_PAYLOAD_TYPE,
            &vouch_evidence::canonical::to_vec(&lie).unwrap(),
        );
        f.insert(path.clone(), serde_json::to_vec(&all).unwrap());
    });
    let f = failures(&lying);
    assert_has(&f, &format!("{path}: the verdict signed for pack "));
    assert_has(&f, "differs in verificationResult, policies");
    // Left out.
    let bare = resigned(files.clone(), |f| {
        f.remove(&path);
    });
    assert_has(&failures(&bare), &format!("{path}: missing"));
    // Signed by a key that is not the server's verdict key.
    let stranger = resigned(files.clone(), |f| {
        let mut all = envelopes.clone();
        all[0] = vouch_evidence::dsse::sign(
            &SigningKey::from_seed(&[7; 32]),
            STATEMENT_PAYLOAD_TYPE,
            &payload,
        );
        f.insert(path.clone(), serde_json::to_vec(&all).unwrap());
    });
    assert_has(&failures(&stranger), &format!("{path}[0]: "));
}

/// The feed of signed verdicts: every evaluation, oldest first, page by page with the cursor
/// each page answers; each entry opens with the verdict key and names its snapshot. A
/// cursor that is not one, a limit past the page size and a caller without a token are
/// refused by name.
#[tokio::test]
async fn the_feed_serves_every_verdict_signed_page_by_page() {
    use vouch_server::http::verdicts::FeedPage;
    use vouch_server::verdicts::{STATEMENT_PAYLOAD_TYPE, Statement};
    let s = scene().await;
    let policies = judge_with(&s.h, vouch_server::config::PolicySettings::default()).await;
    assert_eq!(policies.evaluator().run_once().await.unwrap(), 60);
    let key = s.h.state.verdicts().public().clone();
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &after {
            Some(c) => format!("/v1/verdicts?limit=25&after={c}"),
            None => "/v1/verdicts?limit=25".to_string(),
        };
        let (status, body) = call(&s.h, get(&path, Some(&s.auditor))).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        let page: FeedPage = serde_json::from_slice(&body).unwrap();
        pages += 1;
        for e in &page.verdicts {
            let v = e
                .envelope
                .verify(STATEMENT_PAYLOAD_TYPE, |id| {
                    (key.id() == *id).then_some(&key)
                })
                .unwrap();
            let st: Statement = serde_json::from_slice(&v.payload).unwrap();
            assert_eq!(st.subject[0].digest["sha256"], e.snapshot.to_hex());
            assert_eq!(st.predicate.policy.digest["sha256"], e.pack);
            seen.push((st.predicate.time_verified, e.snapshot));
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 60);
    assert_eq!(pages, 3, "25 + 25 + 10");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    let unique: std::collections::BTreeSet<_> = seen.iter().map(|(_, d)| *d).collect();
    assert_eq!(unique.len(), 60);
    for (query, needle) in [
        ("after=nonsense", "after: not a cursor"),
        ("after=12.zz.ab", "after: not a cursor"),
        ("limit=0", "limit: 0 is outside"),
        ("limit=501", "limit: 501 is outside"),
    ] {
        let (status, body) = call(
            &s.h,
            get(&format!("/v1/verdicts?{query}"), Some(&s.auditor)),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(String::from_utf8_lossy(&body).contains(needle), "{query}");
    }
    let (status, _) = call(&s.h, get("/v1/verdicts", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Issue 19, key lifecycle: after an agent rotates its key, `GET /v1/keys/status` is the
/// signed list of every key with its status, and a bundle carries it with the retired key,
/// the `rotated` line and the rotation the agent signed. A server that back-dates the
/// rotation (so that snapshots it took under the old key look taken after it), signs a list
/// that calls the retired key active, or leaves the signed rotation out is caught, each by
/// name, with a re-signed manifest.
#[tokio::test]
async fn rotated_keys_are_listed_signed_and_a_lying_server_is_named() {
    use vouch_evidence::rotation::KeyRotation;
    use vouch_server::verify::keystatus::{
        KEY_STATUS_FILE, KEY_STATUS_PAYLOAD_TYPE, KeyStatusList,
    };
    let h = harness().await;
    let mut agent = enroll(&h, 11).await;
    let post_next = |agent: &mut TestAgent| {
        let (env, _) = agent.next();
        post("/v1/snapshots", env)
    };
    for _ in 0..3 {
        assert_eq!(call(&h, post_next(&mut agent)).await.0, StatusCode::CREATED);
    }
    let old = agent.key.public().clone();
    let new = SigningKey::from_seed(&[12; 32]);
    let rotation = KeyRotation {
        owner: agent.id.clone(),
        old_key: old.to_base64(),
        new_key: new.public().to_base64(),
        at: h.state.now(),
    }
    .sign(&agent.key, &new);
    let (status, body) = call(&h, post("/v1/agents/rotate-key", rotation.to_vec())).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    agent.key = new;
    for _ in 0..2 {
        assert_eq!(call(&h, post_next(&mut agent)).await.0, StatusCode::CREATED);
    }
    let auditor = h.state.create_api_token(Role::Auditor, "a").await.unwrap();
    let (status, body) = call(&h, get("/v1/keys/status", Some(&auditor))).await;
    assert_eq!(status, StatusCode::OK);
    let receipts = h.state.receipt_public_key();
    let list: KeyStatusList = serde_json::from_slice(
        &Envelope::from_slice(&body)
            .unwrap()
            .verify(KEY_STATUS_PAYLOAD_TYPE, |id| {
                (*id == receipts.id()).then_some(receipts)
            })
            .unwrap()
            .payload,
    )
    .unwrap();
    let retired = list
        .keys
        .iter()
        .find(|k| k.key_id == old.id().to_string())
        .unwrap();
    assert_eq!(
        (retired.status.as_str(), retired.owner.as_str()),
        ("rotated", agent.id.as_str())
    );
    let rotated_at = retired.until.unwrap();
    let current = list
        .keys
        .iter()
        .find(|k| k.key_id == agent.key.id().to_string())
        .unwrap();
    assert_eq!(
        (current.status.as_str(), current.since),
        ("active", Some(rotated_at))
    );

    let (status, bytes) = call(&h, get(&format!("/v1/export?{QUERY}"), Some(&auditor))).await;
    assert_eq!(status, StatusCode::OK);
    let report = bundle::verify(&bytes, None, 1);
    assert!(report.ok(), "{:#?}", report.failures);
    assert!(
        report
            .summary
            .contains("key-status list of 5 key(s) issued")
            && report.summary.contains("(4 active, 1 rotated, 0 revoked)"),
        "{}",
        report.summary
    );
    let files = unpack(&bytes);
    assert!(files.contains_key(KEY_STATUS_FILE));

    // The rotation back-dated before the snapshots taken under the old key.
    let backdated = resigned(files.clone(), |f| {
        let keys = String::from_utf8(f["keys/keys.txt"].clone()).unwrap();
        let keys = keys.replace(&rotated_at.to_string(), "2000-01-01T00:00:00.000000Z");
        f.insert("keys/keys.txt".into(), keys.into_bytes());
    });
    let f = failures(&backdated);
    assert_has(
        &f,
        &format!(
            "signed by key {} of agent {}, which it rotated at 2000-01-01",
            old.id(),
            agent.id
        ),
    );
    assert_has(
        &f,
        &format!("{KEY_STATUS_FILE}: the signed list does not say what keys/keys.txt says"),
    );
    // A list, signed by the server, that calls the retired key active.
    let lying = resigned(files.clone(), |f| {
        let mut list = list.clone();
        for k in &mut list.keys {
            if k.key_id == old.id().to_string() {
                k.status = "active".into();
                k.until = None;
            }
        }
        let payload = vouch_evidence::canonical::to_vec(&list).unwrap();
        let env = vouch_evidence::dsse::sign(
            &SigningKey::from_seed(&[99; 32]),
            KEY_STATUS_PAYLOAD_TYPE,
            &payload,
        );
        f.insert(KEY_STATUS_FILE.into(), env.to_vec());
    });
    assert_has(
        &failures(&lying),
        &format!("{} (active of {})", old.id(), agent.id),
    );
    // The agent's signed rotation left out.
    let unsigned = resigned(files.clone(), |f| {
        f.remove(&bundle::rotation_file(&old.id()));
    });
    assert_has(
        &failures(&unsigned),
        "missing: nothing shows the agent itself changed its key",
    );
}
