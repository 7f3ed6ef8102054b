//! RFC 3161 time-stamps of the log's checkpoints: the request a log sends a time-stamping
//! authority (TSA), and the check of the token it answers against the TSA's certificate,
//! offline. A token over a checkpoint note proves that note — so every snapshot in its tree —
//! existed at the token's `genTime`, on the word of the TSA rather than of the server.
//!
//! The token is a CMS `SignedData` (RFC 5652) over a `TSTInfo`; the checks: the content is a
//! `TSTInfo` whose message imprint is the SHA-256 of the data; the signed attributes name that
//! content type and carry the SHA-256 of the `TSTInfo`; their signature verifies with the
//! pinned TSA certificate's key (RSA PKCS #1 v1.5, ECDSA P-256 or P-384, or Ed25519); the
//! certificate was valid at `genTime` and is for time-stamping (extended key usage
//! `timeStamping`); the nonce is the one sent, when one was. DER is read by a small reader of
//! its own here (definite lengths only); the certificate by `x509-parser`; signatures by
//! `ring`.

use sha2::{Digest as _, Sha256};
use vouch_evidence::Timestamp;

/// The request's and a reply's media types.
pub const QUERY_CONTENT_TYPE: &str = "application/timestamp-query";
/// The media type of a TSA's answer.
pub const REPLY_CONTENT_TYPE: &str = "application/timestamp-reply";

const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
const OID_TST_INFO: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
];
const OID_CONTENT_TYPE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03];
const OID_MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_RSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const OID_ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const GENERALIZED_TIME: u8 = 0x18;
const CONTEXT_0: u8 = 0xa0;

/// A time-stamp of one of the log's checkpoints, as the API serves it and bundles carry it
/// (`log/timestamps/<size>.json`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimestampProof {
    /// The checkpoint's tree size.
    pub size: u64,
    /// The checkpoint note the token is over (signed by the log, without cosignatures).
    pub checkpoint: String,
    /// The token (a CMS `ContentInfo`), DER in base64.
    pub token: String,
    /// The time the token gives (check it with the TSA's certificate; this copy is for
    /// people).
    pub gen_time: Timestamp,
    /// In a bundle: the consistency proof from this checkpoint's tree to the bundle's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consistency: Vec<String>,
}

/// Why a time-stamp does not hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// Not DER of the expected shape.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The TSA refused the request (its PKIStatus, and text when it gave one).
    #[error("the TSA refused: status {status}{text}")]
    Refused {
        /// The status (2 rejection, 3 waiting, 4 revocation warning, 5 revoked).
        status: u64,
        /// `: <its text>`, or nothing.
        text: String,
    },
    /// The token is over other data.
    #[error("the token is over other data (its message imprint is not the SHA-256 of it)")]
    OtherData,
    /// The nonce is not the one sent.
    #[error("the token answers another request (nonce)")]
    Nonce,
    /// The signature does not verify with the TSA's certificate.
    #[error("the signature does not verify with the TSA's certificate: {0}")]
    Signature(String),
    /// The certificate cannot be used for this token.
    #[error("the TSA's certificate: {0}")]
    Certificate(String),
}

fn malformed(what: &str) -> TimestampError {
    TimestampError::Malformed(what.to_string())
}

/// One DER element: its tag, its content, and its whole encoding.
#[derive(Clone, Copy, Debug)]
struct Der<'a> {
    tag: u8,
    content: &'a [u8],
    whole: &'a [u8],
}

/// Reads one element from the front of `input`; answers it and the rest.
fn read(input: &[u8]) -> Result<(Der<'_>, &[u8]), TimestampError> {
    let (&tag, rest) = input.split_first().ok_or_else(|| malformed("truncated"))?;
    if tag & 0x1f == 0x1f {
        return Err(malformed("a multi-byte tag"));
    }
    let (&first, rest) = rest.split_first().ok_or_else(|| malformed("truncated"))?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81..=0x84 => {
            let n = usize::from(first & 0x7f);
            let (bytes, rest) = rest
                .split_at_checked(n)
                .ok_or_else(|| malformed("truncated length"))?;
            let len = bytes.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b));
            (len, rest)
        }
        _ => return Err(malformed("an indefinite or oversized length")),
    };
    let (content, rest) = rest
        .split_at_checked(len)
        .ok_or_else(|| malformed("truncated content"))?;
    let header = input.len() - rest.len() - len;
    Ok((
        Der {
            tag,
            content,
            whole: &input[..header + len],
        },
        rest,
    ))
}

/// Every element of a constructed content, in order.
fn children(content: &[u8]) -> Result<Vec<Der<'_>>, TimestampError> {
    let mut out = Vec::new();
    let mut rest = content;
    while !rest.is_empty() {
        let (d, r) = read(rest)?;
        out.push(d);
        rest = r;
    }
    Ok(out)
}

/// The one element of `input`, of tag `tag`.
fn only<'a>(input: &'a [u8], tag: u8, what: &str) -> Result<Der<'a>, TimestampError> {
    let (d, rest) = read(input)?;
    if d.tag != tag || !rest.is_empty() {
        return Err(malformed(what));
    }
    Ok(d)
}

fn expect<'a>(d: Option<&Der<'a>>, tag: u8, what: &str) -> Result<Der<'a>, TimestampError> {
    match d {
        Some(d) if d.tag == tag => Ok(*d),
        _ => Err(malformed(what)),
    }
}

/// A DER length.
fn length(len: usize) -> Vec<u8> {
    if len < 0x80 {
        return vec![len as u8];
    }
    let bytes: Vec<u8> = len
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

fn element(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(length(content.len()));
    out.extend_from_slice(content);
    out
}

/// A non-negative INTEGER.
fn unsigned(value: u64) -> Vec<u8> {
    let mut bytes: Vec<u8> = value
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    if bytes.first().is_none_or(|b| b & 0x80 != 0) {
        bytes.insert(0, 0);
    }
    element(INTEGER, &bytes)
}

/// An INTEGER's value when it fits a u64 (non-negative).
fn as_u64(d: &Der<'_>) -> Option<u64> {
    let bytes = d.content;
    // A first byte with its high bit set is a negative number.
    if bytes.first().is_none_or(|b| b & 0x80 != 0) {
        return None;
    }
    // The zero that keeps a positive number's high bit from reading as a sign.
    let bytes = match bytes {
        [0, rest @ ..] if !rest.is_empty() => rest,
        _ => bytes,
    };
    if bytes.len() > 8 {
        return None;
    }
    Some(bytes.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b)))
}

/// The DER `TimeStampReq` for the SHA-256 of `data`, with `nonce`, asking for the TSA's
/// certificate in the token.
pub fn request(data: &[u8], nonce: u64) -> Vec<u8> {
    let algorithm = element(
        SEQUENCE,
        &[element(OID, OID_SHA256), vec![0x05, 0x00]].concat(),
    );
    let imprint = element(
        SEQUENCE,
        &[algorithm, element(OCTET_STRING, &Sha256::digest(data))].concat(),
    );
    element(
        SEQUENCE,
        &[
            unsigned(1),
            imprint,
            unsigned(nonce),
            vec![0x01, 0x01, 0xff],
        ]
        .concat(),
    )
}

/// The token (`ContentInfo`) of a `TimeStampResp`, when the TSA granted the request.
pub fn token_of_reply(reply: &[u8]) -> Result<Vec<u8>, TimestampError> {
    let resp = only(reply, SEQUENCE, "not a TimeStampResp")?;
    let parts = children(resp.content)?;
    let status = expect(parts.first(), SEQUENCE, "no PKIStatusInfo")?;
    let info = children(status.content)?;
    let code = expect(info.first(), INTEGER, "no PKIStatus")?;
    let code = as_u64(&code).ok_or_else(|| malformed("PKIStatus"))?;
    if code > 1 {
        let text = info
            .get(1)
            .filter(|d| d.tag == SEQUENCE)
            .and_then(|d| children(d.content).ok())
            .and_then(|t| {
                t.first()
                    .map(|s| String::from_utf8_lossy(s.content).into_owned())
            })
            .map(|t| format!(": {}", vouch_evidence::limits::truncate_echo(&t)))
            .unwrap_or_default();
        return Err(TimestampError::Refused { status: code, text });
    }
    let token = expect(parts.get(1), SEQUENCE, "granted, but no token")?;
    Ok(token.whole.to_vec())
}

/// What a verified token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamped {
    /// When the TSA says the data existed.
    pub gen_time: Timestamp,
    /// The token's serial number, hex.
    pub serial: String,
    /// The TSA's certificate subject.
    pub tsa: String,
}

/// A certificate from PEM (the first `CERTIFICATE` block) or DER.
pub fn certificate_der(bytes: &[u8]) -> Result<Vec<u8>, TimestampError> {
    if bytes.first() == Some(&SEQUENCE) {
        return Ok(bytes.to_vec());
    }
    for pem in x509_parser::pem::Pem::iter_from_buffer(bytes) {
        let pem = pem.map_err(|e| TimestampError::Certificate(e.to_string()))?;
        if pem.label == "CERTIFICATE" {
            return Ok(pem.contents);
        }
    }
    Err(TimestampError::Certificate(
        "no CERTIFICATE in the file".into(),
    ))
}

/// Checks `token` (a `ContentInfo`) over `data` with the TSA's certificate (DER), and the
/// nonce when one was sent; answers what it says.
pub fn verify_token(
    token: &[u8],
    data: &[u8],
    certificate: &[u8],
    nonce: Option<u64>,
) -> Result<Stamped, TimestampError> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    // ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT SignedData }
    let info = only(token, SEQUENCE, "not a ContentInfo")?;
    let parts = children(info.content)?;
    if expect(parts.first(), OID, "no content type")?.content != OID_SIGNED_DATA {
        return Err(malformed("not SignedData"));
    }
    let wrapped = expect(parts.get(1), CONTEXT_0, "no content")?;
    let signed = only(wrapped.content, SEQUENCE, "SignedData")?;
    let fields = children(signed.content)?;
    // version, digestAlgorithms, encapContentInfo, [0] certificates?, [1] crls?, signerInfos
    let encap = expect(fields.get(2), SEQUENCE, "encapContentInfo")?;
    let encap = children(encap.content)?;
    if expect(encap.first(), OID, "eContentType")?.content != OID_TST_INFO {
        return Err(malformed("the content is not a TSTInfo"));
    }
    let econtent = expect(encap.get(1), CONTEXT_0, "no eContent")?;
    let tst_info = only(econtent.content, OCTET_STRING, "eContent")?.content;
    let signer_infos = fields.last().filter(|d| d.tag == SET);
    let signer_infos = children(expect(signer_infos, SET, "signerInfos")?.content)?;
    let [signer] = signer_infos.as_slice() else {
        return Err(malformed("not exactly one SignerInfo"));
    };
    let signer = children(signer.content)?;
    // version, sid, digestAlgorithm, [0] signedAttrs, signatureAlgorithm, signature, ...
    let digest_alg = children(expect(signer.get(2), SEQUENCE, "digestAlgorithm")?.content)?;
    if expect(digest_alg.first(), OID, "digestAlgorithm")?.content != OID_SHA256 {
        return Err(malformed("a digest other than SHA-256"));
    }
    let attrs = expect(signer.get(3), CONTEXT_0, "no signed attributes")?;
    let sig_alg = children(expect(signer.get(4), SEQUENCE, "signatureAlgorithm")?.content)?;
    let sig_alg = expect(sig_alg.first(), OID, "signatureAlgorithm")?.content;
    let signature = expect(signer.get(5), OCTET_STRING, "signature")?.content;

    // The signed attributes: the content type and the digest of the TSTInfo.
    let mut content_type_ok = false;
    let mut digest_ok = false;
    for attr in children(attrs.content)? {
        let attr = children(attr.content)?;
        let oid = expect(attr.first(), OID, "attribute type")?.content;
        let values = children(expect(attr.get(1), SET, "attribute values")?.content)?;
        let [value] = values.as_slice() else {
            return Err(malformed("an attribute with other than one value"));
        };
        if oid == OID_CONTENT_TYPE {
            content_type_ok = value.tag == OID && value.content == OID_TST_INFO;
        } else if oid == OID_MESSAGE_DIGEST {
            digest_ok =
                value.tag == OCTET_STRING && value.content == Sha256::digest(tst_info).as_slice();
        }
    }
    if !content_type_ok || !digest_ok {
        return Err(TimestampError::Signature(
            "the signed attributes do not name this TSTInfo".into(),
        ));
    }
    // What is signed is the attributes' DER as a SET (the [0] tag replaced).
    let mut signed_attrs = attrs.whole.to_vec();
    signed_attrs[0] = SET;

    let (_, cert) = X509Certificate::from_der(certificate)
        .map_err(|e| TimestampError::Certificate(e.to_string()))?;
    let spki = cert.public_key();
    let key_alg = spki.algorithm.algorithm.as_bytes();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.as_bytes().to_vec());
    let algorithm: &'static dyn ring::signature::VerificationAlgorithm =
        match (sig_alg, key_alg, curve.as_deref()) {
            (OID_RSA | OID_RSA_SHA256, OID_RSA, _) => &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            (OID_ECDSA_SHA256, OID_EC_PUBLIC_KEY, Some(OID_P256)) => {
                &ring::signature::ECDSA_P256_SHA256_ASN1
            }
            (OID_ECDSA_SHA384, OID_EC_PUBLIC_KEY, Some(OID_P384)) => {
                &ring::signature::ECDSA_P384_SHA384_ASN1
            }
            (OID_ED25519, OID_ED25519, _) => &ring::signature::ED25519,
            _ => {
                return Err(TimestampError::Signature(
                    "a signature algorithm or key this check does not know".into(),
                ));
            }
        };
    ring::signature::UnparsedPublicKey::new(algorithm, &spki.subject_public_key.data)
        .verify(&signed_attrs, signature)
        .map_err(|_| TimestampError::Signature("it does not verify".into()))?;

    // TSTInfo ::= SEQUENCE { version, policy, messageImprint, serialNumber, genTime, ...,
    //   nonce INTEGER OPTIONAL, ... }
    let tst = children(only(tst_info, SEQUENCE, "TSTInfo")?.content)?;
    let imprint = children(expect(tst.get(2), SEQUENCE, "messageImprint")?.content)?;
    let alg = children(expect(imprint.first(), SEQUENCE, "imprint algorithm")?.content)?;
    if expect(alg.first(), OID, "imprint algorithm")?.content != OID_SHA256
        || expect(imprint.get(1), OCTET_STRING, "imprint")?.content
            != Sha256::digest(data).as_slice()
    {
        return Err(TimestampError::OtherData);
    }
    let serial = hex(expect(tst.get(3), INTEGER, "serialNumber")?.content);
    let gen_time = generalized_time(expect(tst.get(4), GENERALIZED_TIME, "genTime")?.content)?;
    if let Some(sent) = nonce {
        let answered = tst[5..].iter().find(|d| d.tag == INTEGER).and_then(as_u64);
        if answered != Some(sent) {
            return Err(TimestampError::Nonce);
        }
    }
    let validity = cert.validity();
    let at = gen_time.unix_micros() / 1_000_000;
    if at < validity.not_before.timestamp() || at > validity.not_after.timestamp() {
        return Err(TimestampError::Certificate(format!(
            "not valid at {gen_time} ({} to {})",
            validity.not_before, validity.not_after
        )));
    }
    let for_stamping = cert
        .extended_key_usage()
        .ok()
        .flatten()
        .is_some_and(|e| e.value.time_stamping);
    if !for_stamping {
        return Err(TimestampError::Certificate(
            "its extended key usage is not timeStamping".into(),
        ));
    }
    Ok(Stamped {
        gen_time,
        serial,
        tsa: cert.subject().to_string(),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `YYYYMMDDHHMMSS[.f+]Z`, as RFC 3161 requires it.
fn generalized_time(text: &[u8]) -> Result<Timestamp, TimestampError> {
    let text = std::str::from_utf8(text).map_err(|_| malformed("genTime"))?;
    let bad = || malformed("genTime");
    let body = text.strip_suffix('Z').ok_or_else(bad)?;
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    if whole.len() != 14
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let fraction = if fraction.is_empty() {
        String::new()
    } else {
        format!(".{}", &fraction[..fraction.len().min(6)])
    };
    format!(
        "{}-{}-{}T{}:{}:{}{fraction}Z",
        &whole[..4],
        &whole[4..6],
        &whole[6..8],
        &whole[8..10],
        &whole[10..12],
        &whole[12..14]
    )
    .parse()
    .map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_the_der_rfc_3161_describes() {
        let der = request(b"abc", 0x80);
        let req = only(&der, SEQUENCE, "req").unwrap();
        let parts = children(req.content).unwrap();
        assert_eq!(as_u64(&parts[0]), Some(1));
        let imprint = children(parts[1].content).unwrap();
        assert_eq!(
            imprint[1].content,
            Sha256::digest(b"abc").as_slice(),
            "the SHA-256 of the data"
        );
        // 0x80 needs a leading zero to stay positive.
        assert_eq!(parts[2].content, [0x00, 0x80]);
        assert_eq!(as_u64(&parts[2]), Some(0x80));
        let der = request(b"abc", u64::MAX);
        let parts = children(only(&der, SEQUENCE, "req").unwrap().content).unwrap();
        assert_eq!(as_u64(&parts[2]), Some(u64::MAX));
        // A negative INTEGER is no nonce.
        let negative = element(INTEGER, &[0xff]);
        assert_eq!(as_u64(&read(&negative).unwrap().0), None);
        assert_eq!(parts[3].whole, [0x01, 0x01, 0xff]);
    }

    #[test]
    fn der_lengths_and_malformed_input() {
        let long = element(OCTET_STRING, &[7; 300]);
        assert_eq!(&long[..4], [0x04, 0x82, 0x01, 0x2c]);
        let (d, rest) = read(&long).unwrap();
        assert_eq!((d.content.len(), rest.len()), (300, 0));
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x05, 1],
            &[0x30, 0x80],
            &[0x1f, 0x01, 0x00],
        ] {
            assert!(read(bad).is_err(), "{bad:?}");
        }
        assert!(token_of_reply(&[0x30, 0x00]).is_err());
    }

    #[test]
    fn generalized_times() {
        assert_eq!(
            generalized_time(b"20261206211500Z").unwrap().to_string(),
            "2026-12-06T21:15:00.000000Z"
        );
        assert_eq!(
            generalized_time(b"20261206211500.5Z").unwrap().to_string(),
            "2026-12-06T21:15:00.500000Z"
        );
        for bad in [
            &b"20261206211500"[..],
            b"2026120621150Z",
            b"20261306211500Z",
            b"x",
        ] {
            assert!(generalized_time(bad).is_err());
        }
    }
}
