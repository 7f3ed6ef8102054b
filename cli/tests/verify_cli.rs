//! `vouch verify`, offline: exit codes, one line per failing file, chain gaps named, and any
//! single flipped byte anywhere in an envelope detected.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use vouch_evidence::{Digest, EvidenceItem, SigningKey, Source};
use vouch_server::verify::{Keyring, verify_bytes};

const AGENT: &str = "agt_00112233aabbccdd";

fn chain(key: &SigningKey, n: u64) -> Vec<Vec<u8>> {
    let mut prev: Option<Digest> = None;
    (1..=n)
        .map(|seq| {
            let at = format!("2026-11-24T0{}:00:00Z", seq % 10).parse().unwrap();
            let mut evidence = BTreeMap::new();
            evidence.insert(
                "host.ssh.permit_root_login".to_string(),
                EvidenceItem::ok("no", Source::Command("sshd -T".into())),
            );
            let s = vouch_evidence::testing::host_snapshot(AGENT, "m-1", at, seq, prev, evidence);
            let (env, d) = s.sign(key).unwrap();
            prev = Some(d);
            env.to_vec()
        })
        .collect()
}

struct Files {
    dir: tempfile::TempDir,
    paths: Vec<PathBuf>,
    keys: PathBuf,
}

fn write(envelopes: &[Vec<u8>], key: &SigningKey) -> Files {
    let dir = tempfile::tempdir().unwrap();
    let paths = envelopes
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let p = dir.path().join(format!("snap-{:03}.json", i + 1));
            std::fs::write(&p, e).unwrap();
            p
        })
        .collect();
    let keys = dir.path().join("keys.txt");
    std::fs::write(
        &keys,
        format!("# test keys\n{}\n", key.public().to_line(AGENT)),
    )
    .unwrap();
    Files { dir, paths, keys }
}

fn vouch(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .arg("verify")
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn args<'a>(f: &'a Files, extra: &'a [PathBuf]) -> Vec<&'a std::ffi::OsStr> {
    let mut v: Vec<&std::ffi::OsStr> = vec!["--keys".as_ref(), f.keys.as_os_str()];
    v.extend(extra.iter().map(|p| p.as_os_str()));
    v
}

#[test]
fn an_intact_chain_verifies() {
    let key = SigningKey::from_seed(&[1; 32]);
    let f = write(&chain(&key, 5), &key);
    let (code, out) = vouch(&args(&f, &f.paths));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("5 of 5 envelopes verified; 1 chain(s); OK"),
        "{out}"
    );
    let mut strict = args(&f, &f.paths);
    strict.insert(0, "--strict".as_ref());
    assert_eq!(vouch(&strict).0, 0);
}

#[test]
fn any_single_flipped_byte_fails() {
    let key = SigningKey::from_seed(&[2; 32]);
    let mut ring = Keyring::default();
    ring.add(key.public().clone(), AGENT.into());
    let envelope = chain(&key, 1).remove(0);
    assert!(verify_bytes(&envelope, &ring, false).is_ok());
    for pos in 0..envelope.len() {
        for bit in [0x01u8, 0x20, 0x80] {
            let mut bad = envelope.clone();
            bad[pos] ^= bit;
            assert!(
                verify_bytes(&bad, &ring, false).is_err(),
                "flipping bit {bit:#x} of byte {pos} ({:?}) went unnoticed",
                envelope[pos] as char
            );
        }
    }
    // And through the binary, for a sample of positions, with the file named.
    let f = write(std::slice::from_ref(&envelope), &key);
    for pos in [
        0,
        20,
        envelope.len() / 2,
        envelope.len() - 30,
        envelope.len() - 1,
    ] {
        let mut bad = envelope.clone();
        bad[pos] ^= 0x01;
        std::fs::write(&f.paths[0], &bad).unwrap();
        let (code, out) = vouch(&args(&f, &f.paths));
        assert_eq!(code, 1, "position {pos}: {out}");
        assert!(
            out.contains("FAIL") && out.contains("snap-001.json"),
            "{out}"
        );
    }
}

#[test]
fn a_deleted_snapshot_is_named_as_a_gap() {
    let key = SigningKey::from_seed(&[3; 32]);
    let f = write(&chain(&key, 6), &key);
    let mut some = f.paths.clone();
    some.remove(3); // sequence 4
    let (code, out) = vouch(&args(&f, &some));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("gap, sequence 4 is missing"), "{out}");
}

#[test]
fn an_unknown_key_and_a_wrong_owner_are_named() {
    let key = SigningKey::from_seed(&[4; 32]);
    let f = write(&chain(&key, 2), &key);
    let other = SigningKey::from_seed(&[5; 32]);
    std::fs::write(&f.keys, other.public().to_line(AGENT)).unwrap();
    let (code, out) = vouch(&args(&f, &f.paths));
    assert_eq!(code, 1);
    assert!(
        out.contains("snap-001.json: no signature by a known key"),
        "{out}"
    );

    // The right key, but the keys file says it belongs to another agent.
    std::fs::write(&f.keys, key.public().to_line("agt_ffffffffffffffff")).unwrap();
    let (code, out) = vouch(&args(&f, &f.paths));
    assert_eq!(code, 1);
    assert!(
        out.contains("signed with the key of agent agt_ffffffffffffffff"),
        "{out}"
    );

    // A keys directory of *.pub files works too; a bad line is reported with file and line.
    let keydir = f.dir.path().join("keys.d");
    std::fs::create_dir(&keydir).unwrap();
    std::fs::write(keydir.join("a.pub"), key.public().to_line(AGENT)).unwrap();
    let dir_args: Vec<&std::ffi::OsStr> = [keydir.as_os_str()]
        .into_iter()
        .chain(f.paths.iter().map(|p| p.as_os_str()))
        .collect();
    let mut a: Vec<&std::ffi::OsStr> = vec!["--keys".as_ref()];
    a.extend(dir_args);
    assert_eq!(vouch(&a).0, 0);
    std::fs::write(keydir.join("b.pub"), "ed25519 nope\n").unwrap();
    let (code, out) = vouch(&a);
    assert_ne!(code, 0);
    assert!(out.contains("b.pub:1"), "{out}");
}
