//! Checks events against an OCSF schema as the OCSF project's compiler makes it, trimmed to one
//! class and the objects it can reach (`tests/fixtures/ocsf/`, made by `trim.py` there, which
//! names its source).
//!
//! What is checked, at every depth: the class's uid, `type_uid` (class × 100 + activity) and
//! every enumerated integer; each attribute is one the class or object defines (no unknown
//! names), of its type (object, string, integer, long, float, boolean, JSON, or a named scalar
//! type with its base type, pattern and length), an array exactly when the schema says so;
//! every required attribute is present (those of a profile only when the event declares it
//! in `metadata.profiles`); and each object's `at_least_one` and `just_one` constraints.

use std::path::Path;

use serde_json::{Map, Value};

/// A compiled OCSF schema for one class.
pub struct Schema {
    doc: Value,
}

impl Schema {
    /// The schema in `tests/fixtures/ocsf/compliance_finding-1.8.0.json`.
    pub fn compliance_finding() -> Self {
        Self::load(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/ocsf/compliance_finding-1.8.0.json"),
        )
    }

    /// The schema in `path`.
    pub fn load(path: &Path) -> Self {
        let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Schema {
            doc: serde_json::from_slice(&text).expect("the schema is JSON"),
        }
    }

    /// The OCSF version it is.
    pub fn version(&self) -> &str {
        self.doc["version"].as_str().unwrap_or_default()
    }

    /// Every problem of `event`, as `path: problem`; empty when it is valid.
    pub fn problems(&self, event: &Value) -> Vec<String> {
        let mut out = Vec::new();
        let class = &self.doc["class"];
        let Some(fields) = event.as_object() else {
            return vec!["$: an event is a JSON object".into()];
        };
        let uid = class["uid"].as_i64().unwrap_or_default();
        if fields.get("class_uid").and_then(Value::as_i64) != Some(uid) {
            out.push(format!("$.class_uid: not {uid}"));
        }
        if let (Some(activity), Some(type_uid)) = (
            fields.get("activity_id").and_then(Value::as_i64),
            fields.get("type_uid").and_then(Value::as_i64),
        ) && type_uid != uid * 100 + activity
        {
            out.push(format!(
                "$.type_uid: {type_uid} is not class_uid × 100 + activity_id ({})",
                uid * 100 + activity
            ));
        }
        let profiles: Vec<&str> = event["metadata"]["profiles"]
            .as_array()
            .map(|p| p.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        self.object("$", class, fields, &profiles, &mut out);
        out
    }

    fn object(
        &self,
        path: &str,
        def: &Value,
        fields: &Map<String, Value>,
        profiles: &[&str],
        out: &mut Vec<String>,
    ) {
        let empty = Map::new();
        let attributes = def["attributes"].as_object().unwrap_or(&empty);
        for (name, value) in fields {
            match attributes.get(name) {
                None => out.push(format!(
                    "{path}.{name}: no such attribute of {}",
                    def["name"].as_str().unwrap_or("the class")
                )),
                Some(attr) => self.attribute(&format!("{path}.{name}"), attr, value, profiles, out),
            }
        }
        for (name, attr) in attributes {
            let required = attr["requirement"] == "required";
            let in_play = attr["profile"]
                .as_str()
                .is_none_or(|p| profiles.contains(&p));
            if required && in_play && !fields.contains_key(name) {
                out.push(format!("{path}.{name}: required, missing"));
            }
        }
        let constraints = &def["constraints"];
        for (kind, wanted) in [("at_least_one", 1..=usize::MAX), ("just_one", 1..=1)] {
            if let Some(names) = constraints[kind].as_array() {
                let present = names
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|n| fields.contains_key(*n))
                    .count();
                if !wanted.contains(&present) {
                    out.push(format!("{path}: {kind} of {names:?}, {present} present"));
                }
            }
        }
    }

    fn attribute(
        &self,
        path: &str,
        attr: &Value,
        value: &Value,
        profiles: &[&str],
        out: &mut Vec<String>,
    ) {
        let is_array = attr["is_array"].as_bool().unwrap_or(false);
        match (is_array, value) {
            (true, Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    self.value(&format!("{path}[{i}]"), attr, item, profiles, out);
                }
            }
            (true, _) => out.push(format!("{path}: an array is expected")),
            (false, Value::Array(_)) => out.push(format!("{path}: one value, not an array")),
            (false, v) => self.value(path, attr, v, profiles, out),
        }
    }

    fn value(&self, path: &str, attr: &Value, v: &Value, profiles: &[&str], out: &mut Vec<String>) {
        let ty = attr["type"].as_str().unwrap_or_default();
        if let Some(def) = self.doc["objects"].get(ty) {
            match v.as_object() {
                Some(fields) => self.object(path, def, fields, profiles, out),
                None => out.push(format!("{path}: an object ({ty}) is expected")),
            }
            return;
        }
        if let Some(values) = attr["enum"].as_array() {
            let shown = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if !values.iter().any(|e| e.as_str() == Some(shown.as_str())) {
                out.push(format!("{path}: {shown} is not one of {values:?}"));
            }
        }
        self.scalar(path, ty, v, out);
    }

    fn scalar(&self, path: &str, ty: &str, v: &Value, out: &mut Vec<String>) {
        let ok = match ty {
            "string_t" => v.is_string(),
            "integer_t" => v.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
            "long_t" => v.is_i64() || v.is_u64(),
            "float_t" => v.is_number(),
            "boolean_t" => v.is_boolean(),
            "json_t" => true,
            "object" => v.is_object(),
            named => {
                let Some(def) = self.doc["types"].get(named) else {
                    out.push(format!("{path}: the schema has no type {named}"));
                    return;
                };
                if let Some(base) = def["type"].as_str() {
                    self.scalar(path, base, v, out);
                }
                if let (Some(pattern), Some(s)) = (def["regex"].as_str(), v.as_str()) {
                    let re = regex::Regex::new(pattern)
                        .unwrap_or_else(|e| panic!("the pattern of {named}: {e}"));
                    if !re.is_match(s) {
                        out.push(format!("{path}: {s:?} does not match {named}"));
                    }
                }
                if let (Some(max), Some(s)) = (def["max_len"].as_u64(), v.as_str())
                    && s.len() as u64 > max
                {
                    out.push(format!("{path}: longer than {max} ({named})"));
                }
                return;
            }
        };
        if !ok {
            out.push(format!("{path}: {v} is not a {ty}"));
        }
    }
}
