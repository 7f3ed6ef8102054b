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

/// A person signed in through the identity provider (single sign-on), as the ID token names
/// them: what every write they make is recorded with.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// The provider's stable identifier of the person (`sub`).
    pub subject: String,
    /// Their e-mail address (`email`), when the provider gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Their name (`name`), when the provider gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Person {
    /// Who, for records: name, e-mail, role and subject (`Alice Liddell <alice@example.com>,
    /// security-lead, subject 248289761001`), each cut to what an echoed string may hold.
    pub fn describe(&self, role: Role) -> String {
        let cut = |s: &str| vouch_evidence::limits::truncate_echo(s.trim());
        let mut out = String::new();
        if let Some(name) = self.name.as_deref().filter(|n| !n.trim().is_empty()) {
            out.push_str(&cut(name));
        }
        if let Some(email) = self.email.as_deref().filter(|e| !e.trim().is_empty()) {
            if out.is_empty() {
                out.push_str(&cut(email));
            } else {
                out.push_str(&format!(" <{}>", cut(email)));
            }
        }
        if out.is_empty() {
            out.push_str("a person");
        }
        format!("{out}, {role}, subject {}", cut(&self.subject))
    }

    /// A short name for pages: the name, else the e-mail, else the subject.
    pub fn short(&self) -> String {
        let pick = [self.name.as_deref(), self.email.as_deref()]
            .into_iter()
            .flatten()
            .find(|s| !s.trim().is_empty())
            .unwrap_or(&self.subject);
        vouch_evidence::limits::truncate_echo(pick.trim())
    }
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
    fn a_person_is_recorded_by_name_email_role_and_subject() {
        let p = Person {
            subject: "248289761001".into(),
            email: Some("alice@example.com".into()),
            name: Some("Alice Liddell".into()),
        };
        assert_eq!(
            p.describe(Role::SecurityLead),
            "Alice Liddell <alice@example.com>, security-lead, subject 248289761001"
        );
        assert_eq!(p.short(), "Alice Liddell");
        let bare = Person {
            subject: "s".repeat(1000),
            email: None,
            name: Some("  ".into()),
        };
        let d = bare.describe(Role::Auditor);
        assert!(d.starts_with("a person, auditor, subject sss"));
        assert!(d.len() < 1000, "the subject is cut: {}", d.len());
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
