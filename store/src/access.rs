//! Records of access: tokens, revocations and the audit log.

use std::fmt;

use vouch_evidence::{Digest, PublicKey, Timestamp};

use crate::AgentRecord;

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

/// How many hex digits of a token's hash name it (`vouch token list`, `vouch token revoke`).
pub const TOKEN_ID_HEX: usize = 12;
/// The fewest hex digits that may name a token to revoke.
pub const MIN_TOKEN_ID_HEX: usize = 8;

/// Why and when something was revoked, and by whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// When.
    pub at: Timestamp,
    /// Why, in the revoker's words (truncated).
    pub reason: String,
    /// Who (a token id, a session, `cli`).
    pub by: String,
}

/// What a token is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// An API token with a role.
    Api(Role),
    /// A one-time enrolment token.
    Enroll {
        /// The scope it grants, as its parts (empty for a token issued before scopes).
        scope: Vec<String>,
        /// The agent that used it.
        used_by: Option<String>,
    },
}

/// An API or enrolment token (never the token itself: only its hash is kept).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    /// The SHA-256 of the token.
    pub hash: Digest,
    /// What it is for.
    pub kind: TokenKind,
    /// The label given at issue.
    pub label: String,
    /// When it was issued.
    pub created_at: Timestamp,
    /// When it stops being valid (`None`: a token issued before expiry existed).
    pub expires_at: Option<Timestamp>,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
    /// When it was last used (API tokens; for an enrolment token, when it was used).
    pub last_used_at: Option<Timestamp>,
}

impl TokenRecord {
    /// Its id: the first [`TOKEN_ID_HEX`] hex digits of its hash.
    pub fn id(&self) -> String {
        self.hash.to_hex()[..TOKEN_ID_HEX].to_string()
    }

    /// The role name (`enroll` for an enrolment token).
    pub fn role_name(&self) -> &'static str {
        match &self.kind {
            TokenKind::Api(role) => role.as_str(),
            TokenKind::Enroll { .. } => "enroll",
        }
    }

    /// Whether it is revoked or expired at `now`, and which.
    pub fn invalid_at(&self, now: Timestamp) -> Option<TokenInvalid> {
        if let Some(at) = self.revoked_at {
            return Some(TokenInvalid::Revoked(at));
        }
        match self.expires_at {
            Some(at) if at <= now => Some(TokenInvalid::Expired(at)),
            _ => None,
        }
    }
}

/// Why a known token is not valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenInvalid {
    /// Revoked at this instant.
    Revoked(Timestamp),
    /// Expired at this instant.
    Expired(Timestamp),
}

/// What a revocation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevokeOutcome<T> {
    /// Revoked now.
    Revoked(T),
    /// It had been revoked before; that revocation stands.
    AlreadyRevoked(T),
    /// Nothing has that id.
    NotFound,
    /// More than one token's id starts so: give more digits.
    Ambiguous(usize),
}

/// A key an agent held before its current one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetiredKey {
    /// The agent.
    pub agent_id: String,
    /// The key.
    pub public_key: PublicKey,
    /// When the server took the agent's next key instead (nothing signed by this key is
    /// accepted after it).
    pub retired_at: Timestamp,
    /// The rotation, as the agent signed it with this key and the next (a DSSE envelope).
    pub rotation: Vec<u8>,
}

impl RetiredKey {
    /// A retired key as both backends keep it: the key in base64.
    pub(crate) fn from_row(
        agent_id: String,
        key: &str,
        retired_at: Timestamp,
        rotation: Vec<u8>,
    ) -> Result<Self, crate::StoreError> {
        let public_key = PublicKey::from_base64(key).map_err(|e| {
            crate::StoreError::Backend(format!("agent {agent_id}: retired key unreadable: {e}"))
        })?;
        Ok(RetiredKey {
            agent_id,
            public_key,
            retired_at,
            rotation,
        })
    }
}

/// What a key rotation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The agent holds the new key from now on (its record, with it).
    Rotated(AgentRecord),
    /// The same rotation was recorded before (a retry): nothing changed.
    Again(AgentRecord),
    /// No agent has that id.
    NotFound,
    /// The agent is revoked: its keys change no more.
    Revoked,
    /// The old key is not the agent's key now (the record, with the key it holds).
    NotCurrent(AgentRecord),
}

/// One record of the audit log: who did what to what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// When.
    pub at: Timestamp,
    /// Who (a token id with its role, a session, `cli`).
    pub actor: String,
    /// What (`agent.revoke`, `token.revoke`, `token.issue`, `agent.enroll`).
    pub action: String,
    /// To what (an agent id, a token id).
    pub subject: String,
    /// Details for people (a reason, a scope), truncated.
    pub detail: String,
}
