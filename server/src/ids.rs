//! Name-based identifiers for exported documents: the same thing named the same way gets the
//! same UUID in every export (OSCAL, OCSF), and different namespaces never collide.

use sha2::{Digest as _, Sha256};

/// A name-based UUID in the version 5 layout, over SHA-256 of `namespace`, `kind` and `name`
/// (each followed by a NUL but the last).
pub fn name_uuid(namespace: &str, kind: &str, name: &str) -> String {
    let mut h = Sha256::new();
    h.update(namespace.as_bytes());
    h.update(b"\0");
    h.update(kind.as_bytes());
    h.update(b"\0");
    h.update(name.as_bytes());
    let mut b: [u8; 16] = h.finalize()[..16].try_into().expect("16 bytes");
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}
