//! Reading a parsed report by JSON path: every value is taken through [`At`], which knows where
//! it is (`$.runs[0].results[3].level`), so a report of the right format but the wrong shape is
//! refused with the path and the problem, never with a panic or a silently missing finding.

use serde_json::Value;

/// A problem at a JSON path, as a reason sentence.
pub(crate) type Problem = String;

/// A value of the report and its JSON path.
#[derive(Clone, Debug)]
pub(crate) struct At<'a> {
    pub(crate) v: &'a Value,
    path: String,
}

/// The JSON type of `v`, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<'a> At<'a> {
    /// The document's root, `$`.
    pub(crate) fn root(v: &'a Value) -> At<'a> {
        At {
            v,
            path: "$".to_string(),
        }
    }

    /// A problem with this value.
    pub(crate) fn problem(&self, what: impl std::fmt::Display) -> Problem {
        format!("{}: {what}", self.path)
    }

    /// Member `name` of this object, if present and not null.
    pub(crate) fn get(&self, name: &str) -> Option<At<'a>> {
        let v = self.v.get(name).filter(|v| !v.is_null())?;
        Some(At {
            v,
            path: format!("{}.{name}", self.path),
        })
    }

    /// Member `name`, which must be present.
    pub(crate) fn req(&self, name: &str) -> Result<At<'a>, Problem> {
        if !self.v.is_object() {
            return Err(self.problem(format!("expected an object, found {}", kind(self.v))));
        }
        self.get(name)
            .ok_or_else(|| self.problem(format!("missing member \"{name}\"")))
    }

    /// This value as a string.
    pub(crate) fn str(&self) -> Result<&'a str, Problem> {
        self.v
            .as_str()
            .ok_or_else(|| self.problem(format!("expected a string, found {}", kind(self.v))))
    }

    /// Member `name` as a string, if present.
    pub(crate) fn opt_str(&self, name: &str) -> Result<Option<&'a str>, Problem> {
        self.get(name).map(|a| a.str()).transpose()
    }

    /// Member `name` as a string, required.
    pub(crate) fn req_str(&self, name: &str) -> Result<&'a str, Problem> {
        self.req(name)?.str()
    }

    /// This value's items, when it is an array.
    pub(crate) fn items(&self) -> Result<Vec<At<'a>>, Problem> {
        let a = self
            .v
            .as_array()
            .ok_or_else(|| self.problem(format!("expected an array, found {}", kind(self.v))))?;
        Ok(a.iter()
            .enumerate()
            .map(|(i, v)| At {
                v,
                path: format!("{}[{i}]", self.path),
            })
            .collect())
    }

    /// This value as a whole number, when it is one.
    pub(crate) fn u64(&self) -> Result<u64, Problem> {
        self.v
            .as_u64()
            .ok_or_else(|| self.problem(format!("expected a whole number, found {}", kind(self.v))))
    }
}

/// The items of member `name` of `at` (none when absent), each given to `f`.
pub(crate) fn each<'a, T>(
    at: &At<'a>,
    name: &str,
    mut f: impl FnMut(&At<'a>) -> Result<T, Problem>,
) -> Result<Vec<T>, Problem> {
    match at.get(name) {
        None => Ok(Vec::new()),
        Some(list) => list.items()?.iter().map(&mut f).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_the_json_path() {
        let v: Value =
            serde_json::from_str(r#"{"runs":[{"results":[{"level":"error"},{"level":3}]}]}"#)
                .unwrap();
        let root = At::root(&v);
        let runs = root.req("runs").unwrap();
        let run = &runs.items().unwrap()[0];
        let results = run.req("results").unwrap();
        let items = results.items().unwrap();
        assert_eq!(items[0].req_str("level").unwrap(), "error");
        assert_eq!(
            items[1].req_str("level").unwrap_err(),
            "$.runs[0].results[1].level: expected a string, found a number"
        );
        assert_eq!(
            run.req("tool").unwrap_err(),
            "$.runs[0]: missing member \"tool\""
        );
        assert_eq!(
            results.req("x").unwrap_err(),
            "$.runs[0].results: expected an object, found an array"
        );
    }
}
