//! X.509 certificates installed on the host (service certificates, not the CA trust store):
//! who they name, who issued them, their keys and when they expire. Private keys are never
//! read: key files are skipped by name, and in a file that holds both, only the CERTIFICATE
//! blocks are decoded.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::PathBuf;

use async_trait::async_trait;
use serde_json::{Value, json};
use vouch_evidence::{Digest, Timestamp};
use x509_parser::der_parser::oid::Oid;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_DSA, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521,
    OID_PKCS1_RSAENCRYPTION, OID_PKCS1_RSASSAPSS, OID_SIG_ED448, OID_SIG_ED25519,
};
use x509_parser::pem::Pem;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::RSAPublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::HostConfig;
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "host.certificates.list",
        value_type: ValueType::ObjectList,
        meaning: "Every certificate in the configured files and directories (a directory's \
                  `.pem`, `.crt` and `.cer` files and those of its subdirectories, e.g. \
                  /etc/letsencrypt/live/<name>/; key files and trust-store bundles such as \
                  ca-bundle.crt left out), one entry per file and certificate: `{path, subject, \
                  issuer, serial, not_before, not_after, key_type (rsa, ec, ed25519…), key_bits, \
                  self_signed (issuer equals subject), signature_algorithm, sha256_fingerprint \
                  (of the DER)}`.",
        source: "collectors.host.certificate_paths",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.certificates.expired_count",
        value_type: ValueType::Integer,
        meaning: "Distinct certificates (by fingerprint) whose validity ended before the \
                  collection.",
        source: "collectors.host.certificate_paths",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.certificates.expiring_30d_count",
        value_type: ValueType::Integer,
        meaning: "Distinct certificates valid at the collection that expire within 30 days of it.",
        source: "collectors.host.certificate_paths",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.certificates.weak_key_count",
        value_type: ValueType::Integer,
        meaning: "Distinct certificates with a weak key: RSA or DSA below 2048 bits, EC below \
                  256 bits.",
        source: "collectors.host.certificate_paths",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.certificates.parse_errors",
        value_type: ValueType::StringList,
        meaning: "Certificate blocks that could not be decoded, as `<file>: <what is wrong>`.",
        source: "collectors.host.certificate_paths",
        context_only: Some(
            "files that could not be read as certificates, for follow-up; the certificate policies judge those that could.",
        ),
    },
];

/// File name endings of certificate files in a directory.
const CERT_EXTENSIONS: &[&str] = &[".pem", ".crt", ".cer"];
/// PEM labels of certificates.
const CERT_LABELS: &[&[u8]] = &[b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"];
/// "Expiring soon".
const SOON_SECS: i64 = 30 * 86_400;

/// The collector.
pub struct Certificates {
    paths: Vec<PathBuf>,
}

impl Certificates {
    /// The collector for the certificate paths of `config`.
    pub fn new(config: &HostConfig) -> Self {
        Certificates {
            paths: config.certificate_paths.clone(),
        }
    }
}

/// A file that holds (or by its name may hold) a private key: never read.
fn is_key_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let stem = lower.rsplit_once('.').map_or(lower.as_str(), |(s, _)| s);
    lower.ends_with(".key")
        || stem == "key"
        || ["privkey", "-key", "_key", ".key"]
            .iter()
            .any(|s| stem.ends_with(s))
}

/// The system's bundle of trusted CAs, which RHEL links into /etc/pki/tls/certs.
fn is_trust_bundle(name: &str) -> bool {
    name.starts_with("ca-bundle") || name == "ca-certificates.crt"
}

/// Where `abs` leads below the root, following symlinks of its last component within it.
fn resolve(ctx: &CollectContext, abs: &str) -> PathBuf {
    let mut path = ctx.path(abs);
    for _ in 0..8 {
        let Ok(target) = std::fs::read_link(&path) else {
            break;
        };
        path = if target.is_absolute() {
            ctx.path(&target.to_string_lossy())
        } else {
            path.parent().map_or(target.clone(), |p| p.join(&target))
        };
    }
    path
}

/// The certificate files of `dir_abs`, and of its subdirectories while `depth` > 0.
fn files_in(
    ctx: &CollectContext,
    dir_abs: &str,
    depth: u32,
    out: &mut Vec<String>,
) -> Result<(), String> {
    let names = super::storage::sorted_names(&resolve(ctx, dir_abs))
        .map_err(|e| crate::describe_io(dir_abs, &e))?;
    for name in names {
        if is_key_file(&name) || is_trust_bundle(&name) {
            continue;
        }
        let abs = format!("{dir_abs}/{name}");
        let md = match std::fs::metadata(resolve(ctx, &abs)) {
            Ok(md) => md,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue, // dangling link
            Err(e) => return Err(crate::describe_io(&abs, &e)),
        };
        if md.is_file() && CERT_EXTENSIONS.iter().any(|x| name.ends_with(x)) {
            out.push(abs);
        } else if md.is_dir() && depth > 0 {
            files_in(ctx, &abs, depth - 1, out)?;
        }
    }
    Ok(())
}

/// The files to read: configured files as they are, directories searched.
fn certificate_files(ctx: &CollectContext, paths: &[PathBuf]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for p in paths {
        let abs = p.to_string_lossy().trim_end_matches('/').to_string();
        let md = match std::fs::metadata(resolve(ctx, &abs)) {
            Ok(md) => md,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(crate::describe_io(&abs, &e)),
        };
        if md.is_dir() {
            files_in(ctx, &abs, 1, &mut out)?;
        } else if !is_key_file(&abs) {
            out.push(abs);
        }
    }
    Ok(out)
}

/// The DER of every certificate in a file: its CERTIFICATE PEM blocks (other blocks, private
/// keys among them, are not decoded), or the whole file if it is DER.
fn certificate_ders(bytes: &[u8]) -> Vec<Result<Vec<u8>, String>> {
    let mut out = Vec::new();
    let mut block: Option<(usize, bool)> = None;
    let mut pem = false;
    let mut offset = 0;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let t = line.trim_ascii();
        if let Some(label) = t
            .strip_prefix(b"-----BEGIN ")
            .and_then(|r| r.strip_suffix(b"-----"))
        {
            pem = true;
            block = Some((offset, CERT_LABELS.contains(&label)));
        } else if t.starts_with(b"-----END ") {
            if let Some((start, true)) = block {
                let text = &bytes[start..offset + line.len()];
                out.push(
                    Pem::read(Cursor::new(text))
                        .map(|(p, _)| p.contents)
                        .map_err(|e| format!("a CERTIFICATE block is not valid PEM: {e}")),
                );
            }
            block = None;
        }
        offset += line.len();
    }
    if !pem && bytes.first() == Some(&0x30) {
        out.push(Ok(bytes.to_vec()));
    }
    out
}

/// The bits of a big-endian unsigned integer.
fn bit_length(n: &[u8]) -> u64 {
    let n = &n[n.iter().position(|&b| b != 0).unwrap_or(n.len())..];
    match n.first() {
        Some(first) => (n.len() as u64 - 1) * 8 + u64::from(8 - first.leading_zeros()),
        None => 0,
    }
}

/// The key's type and size in bits.
fn key_type_and_bits(spki: &SubjectPublicKeyInfo<'_>) -> (String, Option<u64>) {
    let alg = &spki.algorithm.algorithm;
    let key = &spki.subject_public_key.data;
    if *alg == OID_PKCS1_RSAENCRYPTION || *alg == OID_PKCS1_RSASSAPSS {
        let bits = RSAPublicKey::from_der(key)
            .ok()
            .map(|(_, k)| bit_length(k.modulus));
        let kind = if *alg == OID_PKCS1_RSAENCRYPTION {
            "rsa"
        } else {
            "rsa-pss"
        };
        (kind.into(), bits)
    } else if *alg == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| Oid::try_from(p).ok());
        let bits = match curve {
            Some(c) if c == OID_EC_P256 => Some(256),
            Some(c) if c == OID_NIST_EC_P384 => Some(384),
            Some(c) if c == OID_NIST_EC_P521 => Some(521),
            // Other curves: the size of a coordinate of the uncompressed point.
            _ => match spki.parsed() {
                Ok(k) if k.key_size() > 0 => Some(k.key_size() as u64),
                _ => None,
            },
        };
        ("ec".into(), bits)
    } else if *alg == OID_SIG_ED25519 {
        ("ed25519".into(), Some(256))
    } else if *alg == OID_SIG_ED448 {
        ("ed448".into(), Some(456))
    } else if *alg == OID_KEY_TYPE_DSA {
        let bits = spki.parsed().ok().map(|k| k.key_size() as u64);
        ("dsa".into(), bits)
    } else {
        (alg.to_id_string(), None)
    }
}

/// What is reported of one certificate.
#[derive(Clone, Debug, PartialEq)]
struct CertInfo {
    value: Value,
    fingerprint: String,
    not_before: i64,
    not_after: i64,
    weak: bool,
}

fn timestamp(secs: i64) -> Value {
    secs.checked_mul(1_000_000)
        .and_then(Timestamp::from_unix_micros)
        .map_or(Value::Null, |t| json!(t.to_string()))
}

/// Parses one certificate found in `path`.
fn describe(path: &str, der: &[u8]) -> Result<CertInfo, String> {
    let (_, cert): (_, X509Certificate<'_>) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("a certificate cannot be parsed: {e}"))?;
    let (key_type, key_bits) = key_type_and_bits(cert.public_key());
    let weak = match (key_type.as_str(), key_bits) {
        ("rsa" | "rsa-pss" | "dsa", Some(b)) => b < 2048,
        ("ec", Some(b)) => b < 256,
        _ => false,
    };
    let signature = &cert.signature_algorithm.algorithm;
    let signature = x509_parser::objects::oid2sn(signature, x509_parser::objects::oid_registry())
        .map_or_else(|_| signature.to_id_string(), str::to_string);
    let fingerprint = Digest::of(cert.as_raw()).to_hex();
    let validity = cert.validity();
    let (not_before, not_after) = (
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
    );
    Ok(CertInfo {
        value: json!({
            "path": path,
            "subject": cert.subject().to_string(),
            "issuer": cert.issuer().to_string(),
            "serial": cert.raw_serial_as_string(),
            "not_before": timestamp(not_before),
            "not_after": timestamp(not_after),
            "key_type": key_type,
            "key_bits": key_bits,
            "self_signed": cert.subject().as_raw() == cert.issuer().as_raw(),
            "signature_algorithm": signature,
            "sha256_fingerprint": fingerprint,
        }),
        fingerprint,
        not_before,
        not_after,
        weak,
    })
}

/// (expired, expiring within 30 days, weak) over distinct certificates, at `now`.
fn counts(certs: &[CertInfo], now: i64) -> (u64, u64, u64) {
    let distinct: BTreeMap<&str, &CertInfo> =
        certs.iter().map(|c| (c.fingerprint.as_str(), c)).collect();
    let mut counts = (0, 0, 0);
    for c in distinct.values() {
        if c.not_after < now {
            counts.0 += 1;
        } else if c.not_before <= now && c.not_after - now <= SOON_SECS {
            counts.1 += 1;
        }
        if c.weak {
            counts.2 += 1;
        }
    }
    counts
}

/// Every certificate of the configured paths, and the blocks that could not be decoded.
fn read_certificates(
    ctx: &CollectContext,
    paths: &[PathBuf],
) -> Result<(Vec<CertInfo>, Vec<String>), String> {
    let mut certs = Vec::new();
    let mut errors = Vec::new();
    for abs in certificate_files(ctx, paths)? {
        let bytes = std::fs::read(resolve(ctx, &abs)).map_err(|e| crate::describe_io(&abs, &e))?;
        for der in certificate_ders(&bytes) {
            match der.and_then(|d| describe(&abs, &d)) {
                Ok(c) => certs.push(c),
                Err(e) => errors.push(format!("{abs}: {e}")),
            }
        }
    }
    Ok((certs, errors))
}

#[async_trait]
impl Collector for Certificates {
    fn name(&self) -> &'static str {
        "host.certificates"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let now = ctx.clock.now().datetime().unix_timestamp();
        let found = read_certificates(ctx, &self.paths);
        let source = || vouch_evidence::Source::File(paths_text(&self.paths));
        let tally = found
            .as_ref()
            .map(|(c, _)| counts(c, now))
            .map_err(Clone::clone);
        Ok(vec![
            fact(
                "host.certificates.list",
                source(),
                found
                    .as_ref()
                    .map(|(c, _)| c.iter().map(|c| c.value.clone()).collect::<Vec<_>>())
                    .map_err(Clone::clone),
            ),
            fact(
                "host.certificates.expired_count",
                source(),
                tally.clone().map(|t| t.0),
            ),
            fact(
                "host.certificates.expiring_30d_count",
                source(),
                tally.clone().map(|t| t.1),
            ),
            fact(
                "host.certificates.weak_key_count",
                source(),
                tally.map(|t| t.2),
            ),
            fact(
                "host.certificates.parse_errors",
                source(),
                found.map(|(_, e)| e),
            ),
        ])
    }
}

/// The configured paths, comma-separated, as an item's source.
fn paths_text(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.to_string_lossy())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_and_bundle_files_are_recognised_by_name() {
        for key in [
            "privkey.pem",
            "server.key",
            "tls-key.pem",
            "KEY.PEM",
            "x.KEY",
            "key",
        ] {
            assert!(is_key_file(key), "{key}");
        }
        for cert in ["cert.pem", "fullchain.pem", "keystone.crt", "monkey.cer"] {
            assert!(!is_key_file(cert), "{cert}");
        }
        assert!(is_trust_bundle("ca-bundle.crt") && is_trust_bundle("ca-bundle.trust.crt"));
        assert!(!is_trust_bundle("localhost.crt"));
    }

    #[test]
    fn only_certificate_blocks_are_decoded() {
        let text = b"subject=CN = x\n\
            -----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n\
            -----BEGIN PRIVATE KEY-----\nthis is not even base64 !!\n-----END PRIVATE KEY-----\n\
            -----BEGIN RSA PRIVATE KEY-----\n@@@@\n-----END RSA PRIVATE KEY-----\n\
            -----BEGIN TRUSTED CERTIFICATE-----\r\nMAMCAQI=\r\n-----END TRUSTED CERTIFICATE-----\r\n\
            -----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n";
        let ders = certificate_ders(text);
        assert_eq!(ders.len(), 3);
        assert_eq!(ders[0], Ok(vec![0x30, 0x03, 0x02, 0x01, 0x01]));
        assert_eq!(ders[1], Ok(vec![0x30, 0x03, 0x02, 0x01, 0x02]));
        assert!(ders[2].as_ref().unwrap_err().contains("not valid PEM"));
        // DER: a file with no PEM block that starts with a SEQUENCE.
        assert_eq!(certificate_ders(&[0x30, 0x00]), [Ok(vec![0x30, 0x00])]);
        assert!(certificate_ders(b"just text\n").is_empty());
    }

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_length(&[0x00, 0x80, 0, 0]), 24);
        assert_eq!(bit_length(&[0x7f, 0xff]), 15);
        assert_eq!(bit_length(&[0, 0]), 0);
        let mut modulus = vec![0u8; 129];
        modulus[1] = 0xc1;
        assert_eq!(bit_length(&modulus), 1024);
    }

    /// An ECDSA P-256 server certificate issued by a P-384 CA, signed with ECDSA-SHA384.
    const WEB1: &str = "-----BEGIN CERTIFICATE-----\n\
MIICBzCCAYygAwIBAgICEAEwCgYIKoZIzj0EAwMwQzELMAkGA1UEBhMCREUxFTAT\n\
BgNVBAoMDEV4YW1wbGUgQ29ycDEdMBsGA1UEAwwURXhhbXBsZSBDb3JwIEFDTUUg\n\
Q0EwIBcNMjUwMTAxMDAwMDAwWhgPMjA5OTEyMzEyMzU5NTlaMBwxGjAYBgNVBAMM\n\
EXdlYi0xLmV4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEbGgd\n\
4BwamUDUNYXXHQvgWnvJBOqxhm9Qa2JTV9NhBg4xDNnlIQmcjmuHaVPlSy1H58Ol\n\
rX/B5XskIjI7pDHrnaOBlDCBkTAMBgNVHRMBAf8EAjAAMA4GA1UdDwEB/wQEAwIF\n\
oDATBgNVHSUEDDAKBggrBgEFBQcDATAdBgNVHQ4EFgQUWeSgJ7HOREtjSMIcb0wQ\n\
lIC3qfMwHwYDVR0jBBgwFoAUYCU70AqrP7FsrbVPtwAHWO8WVeYwHAYDVR0RBBUw\n\
E4IRd2ViLTEuZXhhbXBsZS5jb20wCgYIKoZIzj0EAwMDaQAwZgIxANy3yCf8mwQP\n\
/qDWaAaTpjTZXxLc1VOAJ9w3TfkemXtBwzNorQwxRgbuohuVorUE9gIxANr+UB45\n\
HdYiYZPagaTwz6sVKyzFXTd34VRQxZ8MLGPUOS+QCYg+eq6PLlv4YR8Uog==\n\
-----END CERTIFICATE-----\n";

    #[test]
    fn a_real_certificate_is_described_field_by_field() {
        let ders = certificate_ders(WEB1.as_bytes());
        let info = describe("/etc/ssl/web-1.pem", ders[0].as_ref().unwrap()).unwrap();
        assert_eq!(
            info.value,
            json!({
                "path": "/etc/ssl/web-1.pem",
                "subject": "CN=web-1.example.com",
                "issuer": "C=DE, O=Example Corp, CN=Example Corp ACME CA",
                "serial": "10:01",
                "not_before": "2025-01-01T00:00:00.000000Z",
                "not_after": "2099-12-31T23:59:59.000000Z",
                "key_type": "ec",
                "key_bits": 256,
                "self_signed": false,
                "signature_algorithm": "ecdsa-with-SHA384",
                // openssl x509 -fingerprint -sha256
                "sha256_fingerprint": "e666e7958fa4124d524945717cf60b8a093c985da8b57578941dc3d975ea0ccd",
            })
        );
        assert!(!info.weak);
        assert_eq!(
            (info.not_before, info.not_after),
            (1_735_689_600, 4_102_444_799)
        );
        let mut broken = ders[0].clone().unwrap();
        broken.truncate(100);
        assert!(
            describe("/x", &broken)
                .unwrap_err()
                .contains("cannot be parsed")
        );
    }

    #[test]
    fn files_are_searched_one_level_down_and_keys_are_never_opened() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = CollectContext::for_test(dir.path());
        let put = |abs: &str, text: &str| super::super::storage::put(&ctx, abs, text);
        put("/etc/le/archive/a/cert1.pem", WEB1);
        put("/etc/le/live/README", "not a certificate");
        put("/etc/le/live/a/deeper/too-deep.pem", WEB1);
        put("/etc/le/live/a/chain.crt", "no blocks here");
        put("/etc/tls/server.pem", WEB1);
        std::os::unix::fs::symlink(
            "../../archive/a/cert1.pem",
            ctx.path("/etc/le/live/a/cert.pem"),
        )
        .unwrap();
        // Absolute links resolve below the root, not on the machine running the test.
        std::os::unix::fs::symlink("/etc/tls/server.pem", ctx.path("/etc/le/live/a/abs.pem"))
            .unwrap();
        std::os::unix::fs::symlink("/nowhere.pem", ctx.path("/etc/le/live/a/dangling.pem"))
            .unwrap();
        // Key files and bundles are skipped by name (read, they would give a parse error).
        let bad = "-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n";
        for name in ["privkey.pem", "server.key", "ca-bundle.crt"] {
            put(&format!("/etc/le/live/a/{name}"), bad);
        }
        let paths = [
            PathBuf::from("/etc/le/live"),
            PathBuf::from("/etc/tls/server.pem"),
            PathBuf::from("/etc/absent"),
        ];
        assert_eq!(
            certificate_files(&ctx, &paths).unwrap(),
            [
                "/etc/le/live/a/abs.pem",
                "/etc/le/live/a/cert.pem",
                "/etc/le/live/a/chain.crt",
                "/etc/tls/server.pem",
            ]
        );
        let (certs, errors) = read_certificates(&ctx, &paths).unwrap();
        assert_eq!(certs.len(), 3);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(counts(&certs, 1_800_000_000), (0, 0, 0));
        assert_eq!(counts(&certs, 4_102_444_800), (1, 0, 0));
    }

    fn info(fp: &str, not_before: i64, not_after: i64, weak: bool) -> CertInfo {
        CertInfo {
            value: Value::Null,
            fingerprint: fp.into(),
            not_before,
            not_after,
            weak,
        }
    }

    #[test]
    fn counts_are_over_distinct_certificates_at_the_collection_time() {
        let now = 1_000_000_000;
        let certs = [
            info("a", 0, now - 1, true),
            info("a", 0, now - 1, true), // the same certificate in a second file
            info("b", 0, now + SOON_SECS, false),
            info("c", 0, now + SOON_SECS + 1, false),
            info("d", now + 10, now + 20, false), // not valid yet
            info("e", 0, now, true),
        ];
        assert_eq!(counts(&certs, now), (1, 2, 2));
        assert_eq!(counts(&[], now), (0, 0, 0));
    }
}
