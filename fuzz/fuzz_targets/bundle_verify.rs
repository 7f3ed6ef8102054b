//! Evidence bundles (`vouch verify BUNDLE`): unpacking and every offline check but the
//! re-judging of stored results (which needs the policy engine, fuzzed as pack loading).
//!
//! The input is an uncompressed tar (seeds: real bundles from the server's export, signed
//! with the test server's receipt key, and hostile archives). Each run checks:
//! - the input as a `.tar.gz` (mostly refused as not gzip: the unpacker's error paths);
//! - the input gzipped, so the tar layer itself is fuzzed: `unpack` never panics and never
//!   returns a member path that is absolute, has a `..` or `.` step, or is empty, and
//!   `verify_with` never panics;
//! - the same archive with its manifest re-signed by the receipt key, so mutations of the
//!   manifest reach the checks behind its signature.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use vouch_evidence::SigningKey;
use vouch_evidence::dsse::{self, Envelope};
use vouch_verify::bundle::{self, MANIFEST_FILE, MANIFEST_PAYLOAD_TYPE};

/// The receipt key of the server tests' harness, which signed the seed bundles.
const SERVER_SEED: [u8; 32] = [99; 32];

fn key() -> &'static SigningKey {
    static KEY: std::sync::OnceLock<SigningKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_seed(&SERVER_SEED))
}

fn gzip(tar: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    std::io::Write::write_all(&mut gz, tar).expect("in memory");
    gz.finish().expect("in memory")
}

fn repack(files: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, path, bytes.as_slice())
            .expect("in memory");
    }
    tar.into_inner().expect("in memory")
}

fn no_results(
    _: &BTreeMap<String, Vec<u8>>,
    _: &std::collections::BTreeSet<vouch_evidence::Digest>,
    _: &mut bundle::BundleReport,
) -> usize {
    0
}

fuzz_target!(|data: &[u8]| {
    let _ = bundle::verify_with(data, None, 1, no_results);

    let gz = gzip(data);
    let Ok(mut files) = bundle::unpack(&gz) else {
        return;
    };
    for path in files.keys() {
        assert!(!path.is_empty(), "empty member path");
        assert!(!path.starts_with('/'), "absolute member path {path:?}");
        assert!(
            path.split('/').all(|step| !step.is_empty() && step != "." && step != ".."),
            "member path {path:?} has an empty, . or .. step"
        );
    }
    let report = bundle::verify_with(&gz, None, 1, no_results);
    if report.ok() {
        assert!(files.contains_key(MANIFEST_FILE), "verified without a manifest");
    }

    // Re-sign whatever the manifest member holds (an envelope's payload, or the raw bytes).
    let Some(manifest) = files.get(MANIFEST_FILE) else {
        return;
    };
    let payload = Envelope::from_slice(manifest)
        .ok()
        .and_then(|e| e.payload_bytes().ok())
        .unwrap_or_else(|| manifest.clone());
    let signed = dsse::sign(key(), MANIFEST_PAYLOAD_TYPE, &payload).to_vec();
    files.insert(MANIFEST_FILE.to_string(), signed);
    let _ = bundle::verify_with(&gzip(&repack(&files)), None, 1, no_results);
});
