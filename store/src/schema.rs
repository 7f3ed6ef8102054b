//! The schema, declared once: every table with its columns (logical type, nullability), its
//! primary key and what it holds, and every explicit index. This is the one source of truth:
//! each backend's migrations (SQLite `user_version` steps in [`crate::sqlite`], PostgreSQL
//! `store/migrations/*.sql`) are the way there from any older database, and the test
//! `store/tests/schema.rs` migrates both backends from nothing and compares what each holds with
//! this declaration, column by column and index by index, so neither can drift from it.
//! `docs/schema.md` is generated from it ([`reference_markdown`]).
//!
//! A new table or column is declared here first; the test then names what each backend's
//! migration still lacks.

use std::fmt::Write as _;

/// A storage backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default.
    Sqlite,
    /// Several replicas sharing one database.
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

/// A column's logical type, and how each backend spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// UTF-8 text (digests as lowercase hex, JSON documents, names).
    Text,
    /// A 64-bit integer (sequence numbers, counts, ids).
    Integer,
    /// An instant: microseconds since the Unix epoch, UTC, in a 64-bit integer.
    Instant,
    /// Bytes kept verbatim (envelopes, receipts, documents, pack files).
    Blob,
}

impl ColumnType {
    /// The type as `backend` declares it (SQLite: its type affinity name; PostgreSQL: the
    /// `information_schema.columns.data_type`).
    pub fn sql(&self, backend: Backend) -> &'static str {
        match (self, backend) {
            (ColumnType::Text, _) => "text",
            (ColumnType::Integer | ColumnType::Instant, Backend::Sqlite) => "integer",
            (ColumnType::Integer | ColumnType::Instant, Backend::Postgres) => "bigint",
            (ColumnType::Blob, Backend::Sqlite) => "blob",
            (ColumnType::Blob, Backend::Postgres) => "bytea",
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Integer => "integer",
            ColumnType::Instant => "instant (µs since the epoch, UTC)",
            ColumnType::Blob => "bytes",
        }
    }
}

/// A column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// Its name.
    pub name: &'static str,
    /// Its logical type.
    pub ty: ColumnType,
    /// Whether it may be NULL.
    pub nullable: bool,
    /// NULL allowed on one backend only, and why (the other is stricter); `None`: as
    /// `nullable` says on both.
    pub nullable_only_on: Option<(Backend, &'static str)>,
}

impl Column {
    /// Whether it may be NULL on `backend`.
    pub fn nullable_on(&self, backend: Backend) -> bool {
        self.nullable && self.nullable_only_on.is_none_or(|(b, _)| b == backend)
    }
}

const fn col(name: &'static str, ty: ColumnType, nullable: bool) -> Column {
    Column {
        name,
        ty,
        nullable,
        nullable_only_on: None,
    }
}

/// A table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Table {
    /// Its name.
    pub name: &'static str,
    /// What it holds, in a sentence.
    pub meaning: &'static str,
    /// On one backend only, and why; `None`: on both.
    pub only: Option<(Backend, &'static str)>,
    /// Its primary key's columns, in order.
    pub primary_key: &'static [&'static str],
    /// Its columns, in order.
    pub columns: &'static [Column],
}

impl Table {
    /// Whether `backend` has this table.
    pub fn on(&self, backend: Backend) -> bool {
        self.only.is_none_or(|(b, _)| b == backend)
    }
}

/// An explicit index (`CREATE INDEX`; those behind primary keys and `UNIQUE` are the backends'
/// own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Index {
    /// Its name.
    pub name: &'static str,
    /// Its table.
    pub table: &'static str,
    /// Its key columns, in order (a covering index's included columns are not keys).
    pub columns: &'static [&'static str],
    /// What it serves.
    pub serves: &'static str,
    /// On one backend only, and why; `None`: on both.
    pub only: Option<(Backend, &'static str)>,
}

impl Index {
    /// Whether `backend` has this index.
    pub fn on(&self, backend: Backend) -> bool {
        self.only.is_none_or(|(b, _)| b == backend)
    }
}

use ColumnType::{Blob, Instant, Integer, Text};

/// Every table.
pub const TABLES: &[Table] = &[
    Table {
        name: "agents",
        meaning: "Enrolled agents: their public key, the assets they are bound to, their revocation.",
        only: None,
        primary_key: &["agent_id"],
        columns: &[
            col("agent_id", Text, false),
            col("keyid", Text, false),
            col("public_key", Text, false),
            col("name", Text, false),
            col("enrolled_at", Instant, false),
            col("assets", Text, false),
            col("revoked_at", Instant, true),
            col("revoked_reason", Text, true),
            col("revoked_by", Text, true),
        ],
    },
    Table {
        name: "agent_keys",
        meaning: "Keys agents held before their current one: when each was retired and the \
                  rotation the agent signed with it and its successor.",
        only: None,
        primary_key: &["keyid"],
        columns: &[
            col("keyid", Text, false),
            col("agent_id", Text, false),
            col("public_key", Text, false),
            col("retired_at", Instant, false),
            col("rotation", Blob, false),
        ],
    },
    Table {
        name: "enroll_tokens",
        meaning: "One-time enrolment tokens, by SHA-256 hash only: scope, expiry, use, revocation.",
        only: None,
        primary_key: &["hash"],
        columns: &[
            col("hash", Text, false),
            col("expires_at", Instant, false),
            col("used_at", Instant, true),
            col("used_by", Text, true),
            col("created_at", Instant, false),
            col("scope", Text, true),
            col("label", Text, false),
            col("revoked_at", Instant, true),
        ],
    },
    Table {
        name: "api_tokens",
        meaning: "API tokens, by SHA-256 hash only: role, expiry, last use, revocation.",
        only: None,
        primary_key: &["hash"],
        columns: &[
            col("hash", Text, false),
            col("role", Text, false),
            col("label", Text, false),
            col("created_at", Instant, false),
            col("expires_at", Instant, true),
            col("revoked_at", Instant, true),
            col("last_used_at", Instant, true),
        ],
    },
    Table {
        name: "chains",
        meaning: "One row per chain (agent × asset): its head, for the link check of the next snapshot, and counts for the listings.",
        only: None,
        primary_key: &["agent_id", "asset_kind", "asset_id"],
        columns: &[
            col("agent_id", Text, false),
            col("asset_kind", Text, false),
            col("asset_id", Text, false),
            col("asset_name", Text, false),
            col("head_sequence", Integer, false),
            col("head_digest", Text, false),
            col("snapshot_count", Integer, false),
            col("last_collected_at", Instant, false),
            col("last_received_at", Instant, false),
        ],
    },
    Table {
        name: "snapshots",
        meaning: "Every accepted snapshot: the index fields, the envelope byte for byte (until moved to object storage or expired) and the signed receipt.",
        only: None,
        primary_key: &["digest"],
        columns: &[
            col("digest", Text, false),
            col("agent_id", Text, false),
            col("asset_kind", Text, false),
            col("asset_id", Text, false),
            col("sequence", Integer, false),
            col("previous_digest", Text, true),
            col("collected_at", Instant, false),
            col("received_at", Instant, false),
            col("envelope", Blob, false),
            col("receipt", Blob, false),
            col("asset_name", Text, false),
            col("envelope_sha256", Text, true),
            col("object_at", Instant, true),
            col("upload_lease", Instant, true),
            col("expired_at", Instant, true),
            col("log_index", Integer, true),
        ],
    },
    Table {
        name: "rejections",
        meaning: "Refused submissions of enrolled agents, newest kept (a bounded log).",
        only: None,
        primary_key: &["id"],
        columns: &[
            col("id", Integer, false),
            col("at", Instant, false),
            col("remote", Text, false),
            col("reason", Text, false),
            col("message", Text, false),
            col("agent_id", Text, true),
            col("body_sha256", Text, false),
            col("body_size", Integer, false),
        ],
    },
    Table {
        name: "policy_packs",
        meaning: "Every policy pack that judged, by digest.",
        only: None,
        primary_key: &["digest"],
        columns: &[col("digest", Text, false), col("loaded_at", Instant, false)],
    },
    Table {
        name: "policy_pack_files",
        meaning: "The files of each kept pack, so any stored result can be re-derived.",
        only: None,
        primary_key: &["pack_digest", "path"],
        columns: &[
            col("pack_digest", Text, false),
            col("path", Text, false),
            col("content", Blob, false),
        ],
    },
    Table {
        name: "evaluations",
        meaning: "Each snapshot × pack judged once: when, by which re-evaluation run, and its result set.",
        only: None,
        primary_key: &["digest", "pack_digest"],
        columns: &[
            col("digest", Text, false),
            col("pack_digest", Text, false),
            col("evaluated_at", Instant, false),
            col("run_id", Integer, true),
            Column {
                name: "result_set",
                ty: Text,
                nullable: true,
                nullable_only_on: Some((
                    Backend::Sqlite,
                    "evaluations stored before result sets keep their results in `results`",
                )),
            },
        ],
    },
    Table {
        name: "results",
        meaning: "One row per result, as evaluations were kept before result sets (SQLite databases from before schema 7 still hold them).",
        only: Some((
            Backend::Sqlite,
            "PostgreSQL began with result sets; SQLite still reads the results of evaluations stored before them",
        )),
        primary_key: &["digest", "pack_digest", "policy_id"],
        columns: &[
            col("digest", Text, false),
            col("pack_digest", Text, false),
            col("policy_id", Text, false),
            col("status", Text, false),
            col("reason", Text, false),
            col("evidence", Text, false),
        ],
    },
    Table {
        name: "evaluation_runs",
        meaning: "Explicit re-evaluation requests: who, why, which pack, which period, progress.",
        only: None,
        primary_key: &["id"],
        columns: &[
            col("id", Integer, false),
            col("requested_by", Text, false),
            col("requested_at", Instant, false),
            col("reason", Text, false),
            col("pack_digest", Text, false),
            col("scope_from", Instant, false),
            col("scope_to", Instant, false),
            col("finished_at", Instant, true),
            col("evaluated", Integer, false),
        ],
    },
    Table {
        name: "exceptions",
        meaning: "Accepted risks: a policy (on one asset or all), justification, owner, expiry.",
        only: None,
        primary_key: &["id"],
        columns: &[
            col("id", Integer, false),
            col("policy_id", Text, false),
            col("asset_kind", Text, true),
            col("asset_id", Text, true),
            col("justification", Text, false),
            col("owner", Text, false),
            col("created_by", Text, false),
            col("created_at", Instant, false),
            col("expires_at", Instant, false),
        ],
    },
    Table {
        name: "attestations",
        meaning: "Signed attestations of organisational controls, with their document.",
        only: None,
        primary_key: &["digest"],
        columns: &[
            col("digest", Text, false),
            col("control", Text, false),
            col("recorded_at", Instant, false),
            col("valid_until", Instant, false),
            col("envelope", Blob, false),
            col("document", Blob, true),
        ],
    },
    Table {
        name: "control_history",
        meaning: "When each control's status changed.",
        only: None,
        primary_key: &["framework", "control", "since"],
        columns: &[
            col("framework", Text, false),
            col("control", Text, false),
            col("since", Instant, false),
            col("state", Text, false),
            col("recorded_at", Instant, false),
        ],
    },
    Table {
        name: "asset_tags",
        meaning: "The organisation's tags on assets.",
        only: None,
        primary_key: &["asset_kind", "asset_id", "key"],
        columns: &[
            col("asset_kind", Text, false),
            col("asset_id", Text, false),
            col("key", Text, false),
            col("value", Text, false),
        ],
    },
    Table {
        name: "result_sets",
        meaning: "Each distinct set of results kept once (many snapshots share one).",
        only: None,
        primary_key: &["id"],
        columns: &[col("id", Text, false), col("results", Text, false)],
    },
    Table {
        name: "audit_periods",
        meaning: "Audit periods: while open, retention removes nothing collected inside them.",
        only: None,
        primary_key: &["id"],
        columns: &[
            col("id", Integer, false),
            col("framework", Text, false),
            col("label", Text, false),
            col("from_at", Instant, false),
            col("to_at", Instant, false),
            col("opened_at", Instant, false),
            col("closed_at", Instant, true),
        ],
    },
    Table {
        name: "audit_log",
        meaning: "Who issued, revoked, accepted, attested, reloaded or expired what.",
        only: None,
        primary_key: &["id"],
        columns: &[
            col("id", Integer, false),
            col("at", Instant, false),
            col("actor", Text, false),
            col("action", Text, false),
            col("subject", Text, false),
            col("detail", Text, false),
        ],
    },
    Table {
        name: "rejection_counts",
        meaning: "Refusals of unknown clients, counted per minute and reason rather than kept one by one.",
        only: None,
        primary_key: &["minute", "reason"],
        columns: &[
            col("minute", Instant, false),
            col("reason", Text, false),
            col("count", Integer, false),
        ],
    },
    Table {
        name: "unjudged",
        meaning: "The queue of snapshots no pack has judged yet.",
        only: None,
        primary_key: &["digest"],
        columns: &[
            col("digest", Text, false),
            col("received_at", Instant, false),
        ],
    },
    Table {
        name: "tlog_nodes",
        meaning: "The transparency log: the hash of every perfect subtree of the Merkle tree of \
                  accepted snapshots' digests (level 0: the leaves), so that any inclusion or \
                  consistency proof is a few lookups.",
        only: None,
        primary_key: &["level", "idx"],
        columns: &[
            col("level", Integer, false),
            col("idx", Integer, false),
            col("hash", Blob, false),
        ],
    },
    Table {
        name: "tlog_queue",
        meaning: "Accepted snapshots committed but not yet appended to the transparency log, in \
                  the order they were accepted: each batch queues its snapshots in the commit \
                  that stores them, and the sequencer appends everything queued in one \
                  transaction of its own before any of them is acknowledged.",
        only: Some((
            Backend::Postgres,
            "several writers (and replicas) commit at once on PostgreSQL; SQLite's one writer \
             appends in the commit that stores a snapshot",
        )),
        primary_key: &["seq"],
        columns: &[col("seq", Integer, false), col("digest", Text, false)],
    },
    Table {
        name: "tlog_leaves",
        meaning: "The leaf index of every snapshot the sequencer appended to the transparency \
                  log, by digest (kept when retention deletes the snapshot: the log does not \
                  forget).",
        only: Some((
            Backend::Postgres,
            "SQLite writes the index into the snapshot's row as it inserts it",
        )),
        primary_key: &["digest"],
        columns: &[col("digest", Text, false), col("idx", Integer, false)],
    },
    Table {
        name: "tlog_timestamps",
        meaning: "RFC 3161 time-stamp tokens of the log's checkpoints, one per size: the \
                  token (DER) a time-stamping authority signed over the checkpoint note, and \
                  the time it gives.",
        only: None,
        primary_key: &["size"],
        columns: &[
            col("size", Integer, false),
            col("token", Blob, false),
            col("gen_time", Instant, false),
        ],
    },
    Table {
        name: "tlog_cosignatures",
        meaning: "Witnesses' cosignatures of the log's checkpoints (C2SP `tlog-cosignature`): \
                  the signature line each witness answered for the checkpoint of a size, kept \
                  until a later checkpoint has as many.",
        only: None,
        primary_key: &["size", "witness"],
        columns: &[
            col("size", Integer, false),
            col("witness", Text, false),
            col("line", Text, false),
            col("received_at", Instant, false),
        ],
    },
];

/// Every explicit index.
pub const INDEXES: &[Index] = &[
    Index {
        name: "snapshots_by_asset",
        table: "snapshots",
        columns: &["asset_kind", "asset_id", "sequence"],
        serves: "an asset's snapshots in chain order (the API's listings)",
        only: Some((
            Backend::Sqlite,
            "PostgreSQL reads them from snapshots_by_chain_covered, which carries the instants too \
             (INCLUDE has no SQLite form)",
        )),
    },
    Index {
        name: "snapshots_by_chain_covered",
        table: "snapshots",
        columns: &["asset_kind", "asset_id", "agent_id", "sequence"],
        serves: "the view as of an instant: each chain's count and newest snapshot by then, \
                 from the index alone (INCLUDE collected_at, received_at)",
        only: Some((Backend::Postgres, "the covering form of snapshots_by_asset")),
    },
    Index {
        name: "evaluations_by_time",
        table: "evaluations",
        columns: &["evaluated_at", "digest", "pack_digest"],
        serves: "the feed of signed verdicts, in the order they were made",
        only: None,
    },
    Index {
        name: "rejections_by_time",
        table: "rejections",
        columns: &["at"],
        serves: "the newest refusals first",
        only: None,
    },
    Index {
        name: "snapshots_by_time",
        table: "snapshots",
        columns: &["collected_at"],
        serves: "sampling populations, selected by collection time",
        only: None,
    },
    Index {
        name: "attestations_by_control",
        table: "attestations",
        columns: &["control", "recorded_at"],
        serves: "a control's attestations, oldest first",
        only: None,
    },
    Index {
        name: "snapshots_by_received",
        table: "snapshots",
        columns: &["received_at"],
        serves: "the view as of an instant (what had been received by then)",
        only: None,
    },
    Index {
        name: "control_history_by_since",
        table: "control_history",
        columns: &["framework", "since"],
        serves: "a framework's history of control statuses in time order",
        only: None,
    },
    Index {
        name: "snapshots_by_chain_time",
        table: "snapshots",
        columns: &["agent_id", "asset_kind", "asset_id", "collected_at"],
        serves: "each chain's newest snapshot collected by an instant",
        only: None,
    },
    Index {
        name: "snapshots_to_upload",
        table: "snapshots",
        columns: &["received_at"],
        serves: "the envelopes still to move to object storage (partial: not moved, not expired)",
        only: None,
    },
    Index {
        name: "snapshots_by_log_index",
        table: "snapshots",
        columns: &["log_index"],
        serves: "a snapshot by its leaf in the transparency log (unique)",
        only: None,
    },
    Index {
        name: "unjudged_by_received",
        table: "unjudged",
        columns: &["received_at"],
        serves: "the judging queue, oldest first",
        only: None,
    },
];

/// The table named `name`.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// The schema reference (`docs/schema.md`), generated from the declarations above.
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "# Storage schema\n\n\
         Generated from `store/src/schema.rs` (`UPDATE_DOCS=1 cargo test -p vouch-store \
         schema_reference`); do not edit by hand. Both backends hold these tables; SQLite \
         spells integers and instants `INTEGER` and bytes `BLOB`, PostgreSQL `BIGINT` and \
         `BYTEA`. Instants are microseconds since the Unix epoch, UTC. Digests are lowercase \
         hex SHA-256.\n",
    );
    for t in TABLES {
        let _ = write!(out, "\n## `{}`\n\n{}", t.name, t.meaning);
        if let Some((backend, why)) = t.only {
            let _ = write!(out, " Only on {backend}: {why}.");
        }
        let _ = write!(out, "\n\n| column | type | null |\n|---|---|---|\n");
        for c in t.columns {
            let key = if t.primary_key.contains(&c.name) {
                " (key)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "| `{}`{key} | {} | {} |",
                c.name,
                c.ty.describe(),
                match c.nullable_only_on {
                    Some((backend, why)) => format!("on {backend} only: {why}"),
                    None if c.nullable => "yes".into(),
                    None => "no".into(),
                }
            );
        }
        let indexes: Vec<&Index> = INDEXES.iter().filter(|i| i.table == t.name).collect();
        if !indexes.is_empty() {
            out.push_str("\nIndexes:\n");
            for i in indexes {
                let _ = write!(
                    out,
                    "- `{}` ({}): {}",
                    i.name,
                    i.columns.join(", "),
                    i.serves
                );
                if let Some((backend, why)) = i.only {
                    let _ = write!(out, "; only on {backend}: {why}");
                }
                out.push_str(".\n");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_and_index_names_columns_of_its_table() {
        for t in TABLES {
            assert!(!t.primary_key.is_empty(), "{} has no primary key", t.name);
            for k in t.primary_key {
                let c = t.columns.iter().find(|c| c.name == *k).unwrap();
                assert!(!c.nullable, "{}.{k} is a key and may be NULL", t.name);
            }
        }
        for i in INDEXES {
            let t = table(i.table).unwrap_or_else(|| panic!("{}: no table {}", i.name, i.table));
            for c in i.columns {
                assert!(t.columns.iter().any(|x| x.name == *c), "{}: no {c}", i.name);
            }
        }
    }

    #[test]
    fn schema_reference_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schema.md");
        let text = reference_markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap_or_default(),
            text,
            "docs/schema.md is stale: run `UPDATE_DOCS=1 cargo test -p vouch-store \
             schema_reference` and commit it"
        );
    }
}
