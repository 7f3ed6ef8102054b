//! API tokens and roles. Tokens are random, shown once, and stored only as SHA-256 hashes.

use std::fmt;

use vouch_evidence::Digest;

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, including issuing tokens.
    Admin,
    /// Reads everything, manages policies and exceptions.
    SecurityLead,
    /// Reads, samples and exports; changes nothing.
    Auditor,
    /// Pushes snapshots only.
    Agent,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Admin, Role::SecurityLead, Role::Auditor, Role::Agent];

    /// The name used in tokens, the CLI and the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::SecurityLead => "security-lead",
            Role::Auditor => "auditor",
            Role::Agent => "agent",
        }
    }

    /// Parses a role name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether this role may read evidence through the API.
    pub fn can_read_evidence(&self) -> bool {
        matches!(self, Role::Admin | Role::SecurityLead | Role::Auditor)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
