//! Structural limits on what Vouch signs, accepts and stores, defined once.
//!
//! The agent checks its own snapshots against these before it signs them, the server checks
//! every submission against them before any costly work (before a signature is verified, before
//! a document is built), and the evaluator relies on them: a payload that passed them always
//! parses (serde_json stops at 128 levels) and always converts to a policy input. A refusal
//! names the limit with [`Limit`]'s `Display`, e.g. `nesting depth exceeds the limit of 64`.

use std::fmt;

/// Deepest nesting of arrays and objects in a snapshot payload, counted from the payload's
/// root object (evidence values start at depth 3). Real evidence stays under 10.
pub const MAX_DEPTH: usize = 64;

/// Longest string in a payload (a name or a value), in bytes of its JSON text.
pub const MAX_STRING_BYTES: usize = 64 * 1024;

/// Most members of one array or object (the host scan caps its lists at 50,000 entries).
pub const MAX_CONTAINER_ITEMS: usize = 100_000;

/// Most JSON values (scalars, arrays and objects) in one payload.
pub const MAX_VALUES: usize = 2_000_000;

/// The default largest body of one submission (a DSSE envelope), bytes: the server's
/// `max_body_bytes` unless configured, within 1024..=[`MAX_ENVELOPE_BYTES_CEILING`].
pub const MAX_ENVELOPE_BYTES: usize = 4 * 1024 * 1024;

/// The most any configuration may allow for one envelope, bytes.
pub const MAX_ENVELOPE_BYTES_CEILING: usize = 256 * 1024 * 1024;

/// Signatures a snapshot envelope carries: its agent's one. More is refused before any is
/// checked.
pub const SNAPSHOT_SIGNATURES: usize = 1;

/// Most signatures any DSSE envelope may carry (receipts and attestations carry one; a
/// co-signed document a few).
pub const MAX_SIGNATURES: usize = 4;

/// Length of a key id: the hex SHA-256 of the public key.
pub const KEYID_CHARS: usize = 64;

/// Longest client-supplied string the server keeps, logs or shows (a refusal's message, an
/// agent-chosen name in an error), in characters; longer ones are cut with `…`.
pub const MAX_ECHO_CHARS: usize = 256;

/// Which limit a document broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// [`MAX_DEPTH`].
    Depth,
    /// [`MAX_STRING_BYTES`].
    StringBytes,
    /// [`MAX_CONTAINER_ITEMS`].
    ContainerItems,
    /// [`MAX_VALUES`].
    Values,
    /// A signature count (the number allowed).
    Signatures(usize),
}

impl Limit {
    /// The limit's value.
    pub fn value(&self) -> usize {
        match self {
            Limit::Depth => MAX_DEPTH,
            Limit::StringBytes => MAX_STRING_BYTES,
            Limit::ContainerItems => MAX_CONTAINER_ITEMS,
            Limit::Values => MAX_VALUES,
            Limit::Signatures(n) => *n,
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Limit::Depth => "nesting depth",
            Limit::StringBytes => "a string's length in bytes",
            Limit::ContainerItems => "members of one array or object",
            Limit::Values => "values in the document",
            Limit::Signatures(_) => "signatures on the envelope",
        };
        write!(f, "{what} exceeds the limit of {}", self.value())
    }
}

/// `text` cut to at most [`MAX_ECHO_CHARS`] characters (`…` marks a cut), with control
/// characters replaced, fit to store, log or show although a client chose it.
pub fn truncate_echo(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_ECHO_CHARS * 4));
    for (i, c) in text.chars().enumerate() {
        if i == MAX_ECHO_CHARS {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { '\u{fffd}' } else { c });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_names_itself_and_its_value() {
        assert_eq!(
            Limit::Depth.to_string(),
            "nesting depth exceeds the limit of 64"
        );
        assert_eq!(
            Limit::Signatures(1).to_string(),
            "signatures on the envelope exceeds the limit of 1"
        );
    }

    #[test]
    fn echoed_strings_are_cut_and_cleaned() {
        assert_eq!(truncate_echo("ab\ncd"), "ab\u{fffd}cd");
        let long = "é".repeat(10_000);
        let cut = truncate_echo(&long);
        assert_eq!(cut.chars().count(), MAX_ECHO_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(truncate_echo("short"), "short");
    }
}
