//! The Merkle hashing and proof verification of `vouch_evidence::tlog` against a published
//! vector set (transparency-dev/merkle's, for RFC 6962 / RFC 9162 trees: see
//! `tests/vectors/merkle/README.md`), and against the reference roots of its eight leaves.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;
use vouch_evidence::tlog::{self, Hash};

fn vectors(kind: &str) -> Vec<(PathBuf, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/merkle")
        .join(kind);
    let mut out = Vec::new();
    let mut todo = vec![dir];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                let v = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
                out.push((p, v));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A root of a consistency vector; `None` when it is not base64. A value of another length than 32 bytes (the
/// vectors' empty and "don't care" values) becomes a SHA-256 of it under a prefix of ours:
/// equal values stay equal and none can be a real tree hash, which is all such a vector asks.
fn hash(v: &Value) -> Option<Hash> {
    let bytes = B64.decode(v.as_str().unwrap_or_default()).ok()?;
    let len = bytes.len();
    Some(match bytes.try_into() {
        Ok(h) => h,
        Err(bytes) => {
            assert_ne!(len, 32);
            use sha2::Digest as _;
            sha2::Sha256::new()
                .chain_update(b"not a tree hash: ")
                .chain_update(bytes)
                .finalize()
                .into()
        }
    })
}

fn hashes(v: &Value) -> Option<Vec<Hash>> {
    match v {
        Value::Null => Some(Vec::new()),
        v => v
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                let bytes = B64.decode(h.as_str()?).ok()?;
                bytes.try_into().ok()
            })
            .collect(),
    }
}

/// Runs `refuses` (whether the verifier refuses the vector's proof) over every vector of
/// `kind` and names each judged otherwise than published.
fn judge_all(kind: &str, refuses: impl Fn(&Value) -> bool) {
    let all = vectors(kind);
    assert!(all.len() >= 60, "{}", all.len());
    let wrong: Vec<String> = all
        .iter()
        .filter(|(_, v)| refuses(v) != v["wantErr"].as_bool().unwrap())
        .map(|(path, v)| format!("{}: {}", path.display(), v["desc"]))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn every_inclusion_vector_is_judged_as_published() {
    // A leaf or root of another length than 32 bytes cannot be a `Hash`: refused where it is
    // read, as a verifier given such bytes must.
    let exact = |v: &Value| -> Option<Hash> { B64.decode(v.as_str()?).ok()?.try_into().ok() };
    judge_all("inclusion", |v| {
        match (
            exact(&v["leafHash"]),
            exact(&v["root"]),
            hashes(&v["proof"]),
        ) {
            (Some(leaf), Some(root), Some(proof)) => tlog::verify_inclusion(
                &leaf,
                v["leafIdx"].as_u64().unwrap(),
                v["treeSize"].as_u64().unwrap(),
                &proof,
                &root,
            )
            .is_err(),
            _ => true,
        }
    });
}

#[test]
fn every_consistency_vector_is_judged_as_published() {
    judge_all("consistency", |v| {
        match (hash(&v["root1"]), hash(&v["root2"]), hashes(&v["proof"])) {
            (Some(r1), Some(r2), Some(proof)) => tlog::verify_consistency(
                v["size1"].as_u64().unwrap(),
                v["size2"].as_u64().unwrap(),
                &r1,
                &r2,
                &proof,
            )
            .is_err(),
            _ => true,
        }
    });
}

/// The eight reference leaves and the published roots of their trees of each size.
#[test]
fn the_reference_roots_of_the_eight_leaves() {
    let inputs: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    let roots = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let leaves: Vec<Hash> = inputs.iter().map(|i| tlog::leaf_hash(i)).collect();
    let mut frontier = tlog::Frontier::new();
    for (size, want) in roots.iter().enumerate() {
        assert_eq!(
            hex::encode(tlog::root_of(&leaves[..size])),
            *want,
            "size {size}"
        );
        assert_eq!(
            hex::encode(frontier.root()),
            *want,
            "frontier at size {size}"
        );
        if size < leaves.len() {
            frontier.push(leaves[size]);
        }
    }
}
