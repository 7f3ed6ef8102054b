//! The agent's configuration file (TOML). Loading reports every problem at once, each naming
//! the file, the key and what is wrong.

use std::path::{Path, PathBuf};

use serde::Deserialize;
/// `[collectors]`: one table per source, generated from the source registry
/// ([`vouch_collectors::REGISTRY`]).
pub use vouch_collectors::CollectorsSection;
use vouch_config::{self as config, Problems, Validate};
pub use vouch_config::{ConfigError, ConfigErrors};

/// `[server]`: where to deliver.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// The server's base URL, `https://…`.
    pub url: String,
    /// PEM file of the CA that signed the server's certificate; absent: the system's bundle.
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
}

pub use vouch_config::logging::LogFormat;

/// `[agent]`: local state and delivery tuning.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentSection {
    /// Keys, enrolment, chain heads, spool and receipts live here (mode 0700).
    pub state_dir: PathBuf,
    /// Log format.
    pub log_format: LogFormat,
    /// Timeout of one request to the server, seconds.
    pub request_timeout_secs: u64,
    /// First retry delay after a failed delivery, milliseconds.
    pub backoff_initial_ms: u64,
    /// Longest retry delay, seconds.
    pub backoff_max_secs: u64,
}

impl Default for AgentSection {
    fn default() -> Self {
        AgentSection {
            state_dir: PathBuf::from("/var/lib/vouch-agent"),
            log_format: LogFormat::Text,
            request_timeout_secs: 30,
            backoff_initial_ms: 1000,
            backoff_max_secs: 300,
        }
    }
}

/// The whole agent configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Where to deliver.
    pub server: ServerSection,
    /// Local state and delivery.
    #[serde(default)]
    pub agent: AgentSection,
    /// The sources.
    #[serde(default)]
    pub collectors: CollectorsSection,
}

impl AgentConfig {
    /// Reads and validates `path`, reporting every problem at once.
    pub fn load(path: &Path) -> Result<Self, ConfigErrors> {
        config::load(path)
    }

    /// Parses and validates text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, ConfigErrors> {
        config::parse(file, text)
    }

    /// What `collect` and `check` use when no configuration file exists: every default (this
    /// host, from `/`), and a server that a dry run never contacts.
    pub fn dry_run() -> Self {
        AgentConfig {
            server: ServerSection {
                url: "https://localhost:8443".into(),
                ca_cert: None,
            },
            agent: AgentSection::default(),
            collectors: CollectorsSection::default(),
        }
    }
}

impl Validate for AgentConfig {
    /// Every rule the types cannot express.
    fn validate(&self, file: &str) -> Vec<ConfigError> {
        let mut problems = Problems::new(file);
        let mut err = |key: &str, problem: String| problems.add(key, problem);
        match reqwest::Url::parse(&self.server.url) {
            Ok(u) if u.scheme() == "https" && u.host().is_some() => {}
            Ok(_) => err(
                "server.url",
                format!("{} must be an https:// URL with a host", self.server.url),
            ),
            Err(e) => err(
                "server.url",
                format!("{:?} is not a URL: {e}", self.server.url),
            ),
        }
        if let Some(ca) = self.server.ca_cert.as_ref().filter(|ca| !ca.is_file()) {
            err(
                "server.ca_cert",
                format!("{} is not a readable file", ca.display()),
            );
        }
        if !self.agent.state_dir.is_absolute() {
            err(
                "agent.state_dir",
                format!(
                    "{} must be an absolute path",
                    self.agent.state_dir.display()
                ),
            );
        }
        if !(1..=600).contains(&self.agent.request_timeout_secs) {
            err(
                "agent.request_timeout_secs",
                format!("{} is outside 1..=600", self.agent.request_timeout_secs),
            );
        }
        if !(10..=600_000).contains(&self.agent.backoff_initial_ms) {
            err(
                "agent.backoff_initial_ms",
                format!("{} is outside 10..=600000", self.agent.backoff_initial_ms),
            );
        }
        if self.agent.backoff_max_secs == 0
            || self.agent.backoff_max_secs * 1000 < self.agent.backoff_initial_ms
        {
            err(
                "agent.backoff_max_secs",
                "must be at least backoff_initial_ms".into(),
            );
        }
        for (key, problem) in self.collectors.problems() {
            err(&format!("collectors.{key}"), problem);
        }
        problems.errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let text = r#"
[server]
url = "http://plain.example"
ca_cert = "/no/such/ca.pem"
[agent]
state_dir = "relative/state"
backoff_initial_ms = 1
[collectors.host]
schedule = "hourly"
"#;
        let errs = AgentConfig::parse("agent.toml", text).unwrap_err();
        let keys: Vec<&str> = errs.0.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "server.url",
                "server.ca_cert",
                "agent.state_dir",
                "agent.backoff_initial_ms",
                "collectors.host.schedule"
            ]
        );
        assert!(
            errs.to_string()
                .contains("agent.toml: collectors.host.schedule: \"hourly\""),
            "{errs}"
        );
    }

    #[test]
    fn aws_section_problems_carry_its_prefix() {
        let text = r#"
[server]
url = "https://vouch.example"
[collectors.aws]
enabled = true
regions = ["eu-west-1", "Frankfurt"]
max_concurrent_requests = 0
"#;
        let errs = AgentConfig::parse("agent.toml", text).unwrap_err();
        let keys: Vec<&str> = errs.0.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "collectors.aws.max_concurrent_requests",
                "collectors.aws.regions"
            ]
        );
        let ok = AgentConfig::parse(
            "agent.toml",
            "[server]\nurl = \"https://x\"\n[collectors.aws]\nenabled = true\nprofile = \"audit\"\n",
        )
        .unwrap();
        assert!(ok.collectors.aws.enabled);
        assert_eq!(ok.collectors.aws.profile.as_deref(), Some("audit"));
        assert!(crate::sources(&ok).iter().any(|s| s.name() == "aws"));
        let off = AgentConfig::parse("agent.toml", "[server]\nurl = \"https://x\"\n").unwrap();
        assert!(!off.collectors.aws.enabled);
        assert!(!crate::sources(&off).iter().any(|s| s.name() == "aws"));
    }

    /// The names of the sources `text` enables.
    fn enabled_sources(text: &str) -> Vec<&'static str> {
        let config = AgentConfig::parse("agent.toml", text).unwrap();
        crate::sources(&config).iter().map(|s| s.name()).collect()
    }

    #[test]
    fn github_and_kubernetes_sections_carry_their_prefix() {
        let text = "[server]\nurl = \"https://vouch.example\"\n\
                    [collectors.github]\nenabled = true\ntoken_file = \"token\"\n\
                    [collectors.kubernetes]\nenabled = true\npage_size = 0\n";
        let problems: Vec<String> = AgentConfig::parse("agent.toml", text)
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.key)
            .collect();
        assert_eq!(
            problems,
            [
                "collectors.github.org",
                "collectors.github.token_file",
                "collectors.kubernetes.page_size"
            ]
        );
        let both = enabled_sources(
            "[server]\nurl = \"https://x\"\n[collectors.github]\nenabled = true\norg = \"acme\"\n\
             [collectors.kubernetes]\nenabled = true\n",
        );
        assert!(
            both.contains(&"github") && both.contains(&"kubernetes"),
            "{both:?}"
        );
        let off = enabled_sources("[server]\nurl = \"https://x\"\n");
        assert!(
            !off.contains(&"github") && !off.contains(&"kubernetes"),
            "{off:?}"
        );
    }

    /// The `[collectors]` table is the source registry's: every registered source has its
    /// `[collectors.<name>]` table, enabling it builds that source, and a table no source
    /// registers is refused with its line.
    #[test]
    fn every_registered_source_has_its_collectors_table() {
        for r in vouch_collectors::REGISTRY {
            let host_off = if r.name == "host" {
                ""
            } else {
                "[collectors.host]\nenabled = false\n"
            };
            let text = format!(
                "[server]\nurl = \"https://x\"\n{host_off}[collectors.{}]\nenabled = true\n",
                r.name
            );
            // Some sources need more than `enabled` (an organisation's login): their problems
            // must then carry their own prefix.
            match AgentConfig::parse("agent.toml", &text) {
                Ok(c) => assert_eq!(enabled_sources_of(&c), [r.name]),
                Err(errs) => {
                    for e in errs.0 {
                        assert!(
                            e.key.starts_with(&format!("collectors.{}.", r.name)),
                            "{}: {e}",
                            r.name
                        );
                    }
                }
            }
        }
        let errs = AgentConfig::parse(
            "agent.toml",
            "[server]\nurl = \"https://x\"\n[collectors.mainframe]\nenabled = true\n",
        )
        .unwrap_err();
        assert_eq!(errs.0[0].key, "line 3", "{errs}");
    }

    fn enabled_sources_of(config: &AgentConfig) -> Vec<&'static str> {
        crate::sources(config).iter().map(|s| s.name()).collect()
    }

    #[test]
    fn unknown_keys_name_their_line() {
        let errs = AgentConfig::parse(
            "a.toml",
            "[server]\nurl = \"https://x\"\n[agent]\nstate_dri = \"/x\"\n",
        )
        .unwrap_err();
        assert_eq!(errs.0[0].key, "line 4");
        assert!(errs.0[0].problem.contains("state_dri"));
    }

    #[test]
    fn the_example_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("agent.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let c = AgentConfig::parse("agent.example.toml", &text).unwrap();
        assert_eq!(c.collectors.host.schedule, "0 */15 * * * *");
    }
}
