//! API tokens and roles. Tokens are random, shown once, and stored only as SHA-256 hashes.

use vouch_evidence::Digest;

pub use vouch_store::Role;

/// A new random token with a readable prefix (`vch_<kind>_<64 hex>`), and its hash.
pub fn new_token(kind: &str) -> Result<(String, Digest), getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let token = format!("vch_{kind}_{}", hex::encode(bytes));
    let hash = hash_token(&token);
    Ok((token, hash))
}

/// The hash under which a token is stored.
pub fn hash_token(token: &str) -> Digest {
    Digest::of(token.trim().as_bytes())
}

/// Puts a read on record when an auditor made it: every auditor read is logged (target
/// `vouch::audit`) with what was read.
pub fn log_read(role: Role, method: &axum::http::Method, uri: &axum::http::Uri) {
    if role == Role::Auditor {
        tracing::info!(target: "vouch::audit", role = role.as_str(), %method, %uri, "auditor read");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let (a, ha) = new_token("admin").unwrap();
        let (b, _) = new_token("admin").unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("vch_admin_"));
        assert_eq!(hash_token(&a), ha);
        assert_eq!(hash_token(&format!(" {a}\n")), ha);
    }

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert!(!Role::Agent.can_read_evidence());
        assert!(Role::Auditor.can_read_evidence());
    }
}
