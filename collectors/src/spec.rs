//! Evidence declarations and the reference documentation generated from them.

use std::fmt::Write as _;

use serde_json::Value;

use crate::Registration;

/// The JSON type of an evidence value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// `true` / `false`.
    Bool,
    /// A whole number.
    Integer,
    /// Text.
    String,
    /// A list of strings.
    StringList,
    /// An RFC 3339 UTC instant, as text.
    Timestamp,
    /// A JSON object whose members the meaning describes (e.g. counts by key type).
    Object,
    /// A list of JSON objects whose members the meaning describes (e.g. listening sockets).
    ObjectList,
}

impl ValueType {
    /// Its name in the documentation.
    pub fn as_str(&self) -> &'static str {
        match self {
            ValueType::Bool => "bool",
            ValueType::Integer => "integer",
            ValueType::String => "string",
            ValueType::StringList => "list of strings",
            ValueType::Timestamp => "timestamp",
            ValueType::Object => "object",
            ValueType::ObjectList => "list of objects",
        }
    }

    /// Whether `v` has this type.
    pub fn matches(&self, v: &Value) -> bool {
        match self {
            ValueType::Bool => v.is_boolean(),
            ValueType::Integer => v.is_i64() || v.is_u64(),
            ValueType::String => v.is_string(),
            ValueType::StringList => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            ValueType::Timestamp => v
                .as_str()
                .is_some_and(|s| s.parse::<vouch_evidence::Timestamp>().is_ok()),
            ValueType::Object => v.is_object(),
            ValueType::ObjectList => v.as_array().is_some_and(|a| a.iter().all(Value::is_object)),
        }
    }
}

/// The declaration of one evidence id, beside the code that collects it.
#[derive(Clone, Copy, Debug)]
pub struct EvidenceSpec {
    /// `source.area.fact`.
    pub id: &'static str,
    /// The value's type.
    pub value_type: ValueType,
    /// What it means, for auditors.
    pub meaning: &'static str,
    /// Where it is read from.
    pub source: &'static str,
    /// `Some(why)` when no policy judges it and none is meant to: it gives an auditor context
    /// (inventory, the detail behind a judged fact). Every other id must be read by some
    /// policy of the built-in pack (a test holds the two lists to the pack).
    pub context_only: Option<&'static str>,
}

/// The evidence reference, in Markdown, generated from every registered source's declarations.
pub fn reference_markdown() -> String {
    reference_markdown_of(crate::REGISTRY)
}

/// The evidence reference of the sources of `registry`: one section per source (its title,
/// name, asset kind, configuration table and introduction), then its ids sorted.
pub fn reference_markdown_of(registry: &[Registration]) -> String {
    let mut out = String::from(
        "# Evidence reference\n\nGenerated from the declarations beside the collectors' code \
         (`cargo run -p vouch-agent -- docs evidence > docs/evidence.md`); do not edit by hand.\n\
         An item whose source cannot be read has status `unavailable`, a null value and the reason.\n",
    );
    for r in registry {
        let _ = write!(
            out,
            "\n## {title} (`{name}`)\n\n{intro}\nAsset kind `{kind}`; configured in \
             `[collectors.{name}]`; evidence ids `{name}.*`.\n\n\
             | id | type | meaning | source |\n|---|---|---|---|\n",
            title = r.title(),
            name = r.name,
            intro = r.intro,
            kind = r.kind,
        );
        let mut specs: Vec<_> = r.specs().collect();
        specs.sort_by_key(|s| s.id);
        for s in specs {
            let context = s
                .context_only
                .map(|why| format!(" *Context only, judged by no policy: {why}*"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| `{}` | {} | {}{} | {} |",
                s.id,
                s.value_type.as_str(),
                s.meaning,
                context,
                s.source
            );
        }
    }
    out
}
