//! Configuration loading shared by the agent, the collectors and the server: TOML files whose
//! every problem is reported at once, each naming the file, the key and what is wrong, and
//! secret files checked for their mode before they are read.

#[cfg(feature = "logging")]
pub mod logging;

use std::fmt;
use std::path::Path;

use serde::de::DeserializeOwned;

/// One problem: the file, the key (e.g. `collectors.host.schedule`, or `line 4` for syntax) and
/// what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub file: String,
    /// The key.
    pub key: String,
    /// The problem.
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A problem of the whole file (it cannot be read, or is not TOML) names no key.
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file, self.problem)
        } else {
            write!(f, "{}: {}: {}", self.file, self.key, self.problem)
        }
    }
}

/// Every problem found in a file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} configuration error(s):", self.0.len())?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

/// The rules of a configuration that its types cannot express.
pub trait Validate {
    /// Every problem; `file` names the file in each.
    fn validate(&self, file: &str) -> Vec<ConfigError>;
}

/// Collects problems for one file.
pub struct Problems<'f> {
    file: &'f str,
    /// The problems so far.
    pub errors: Vec<ConfigError>,
}

impl<'f> Problems<'f> {
    /// No problems yet, in `file`.
    pub fn new(file: &'f str) -> Self {
        Problems {
            file,
            errors: Vec::new(),
        }
    }

    /// Records that `key` has `problem`.
    pub fn add(&mut self, key: &str, problem: impl Into<String>) {
        self.errors.push(ConfigError {
            file: self.file.into(),
            key: key.into(),
            problem: problem.into(),
        });
    }
}

/// Parses TOML `text` (named `file` in errors) and validates it.
pub fn parse<T: DeserializeOwned + Validate>(file: &str, text: &str) -> Result<T, ConfigErrors> {
    let config: T = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| text[..s.start].matches('\n').count() + 1);
        ConfigErrors(vec![ConfigError {
            file: file.into(),
            key: line.map_or(String::new(), |l| format!("line {l}")),
            problem: e.message().to_string(),
        }])
    })?;
    let errors = config.validate(file);
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(errors))
    }
}

/// Reads, parses and validates the TOML file at `path`.
pub fn load<T: DeserializeOwned + Validate>(path: &Path) -> Result<T, ConfigErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: file.clone(),
            key: String::new(),
            problem: e.to_string(),
        }])
    })?;
    parse(&file, &text)
}

/// The mode of a secret file when group or others have any permission on it (it must then not
/// be read), `None` when only its owner has.
pub fn secret_file_mode(path: &Path) -> std::io::Result<Option<u32>> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o7777;
    Ok((mode & 0o077 != 0).then_some(mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_readable_by_others_is_named_by_its_mode() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "x").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(secret_file_mode(&path).unwrap(), None);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(secret_file_mode(&path).unwrap(), Some(0o640));
        assert!(secret_file_mode(&dir.path().join("absent")).is_err());
    }
}
