//! The server's configuration file (TOML).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use vouch_config::{self as config, Problems, Validate};
pub use vouch_config::{ConfigError, ConfigErrors};

pub use crate::controls::{Exclusion, PolicySettings};

pub use vouch_config::logging::LogFormat;

/// Certificate and key for HTTPS. Without them the server makes a local CA under
/// `<data_dir>/tls` and uses a certificate it signed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// PEM certificate chain, server certificate first.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// `vouch serve` configuration. Every field has a default, so an empty file is valid.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub listen: String,
    /// Directory for the database, keys and the local CA.
    pub data_dir: PathBuf,
    /// Where the index, results and envelopes are kept: absent, SQLite in `data_dir`;
    /// `postgres://user@host/db`, PostgreSQL, which several `vouch serve` replicas may share
    /// (each with the same `receipt.key` in its `data_dir`). `VOUCH_DATABASE_URL` overrides it.
    pub database_url: Option<String>,
    /// HTTPS certificate and key; absent: a local CA in `<data_dir>/tls`.
    pub tls: Option<TlsFiles>,
    /// Names (DNS names or IP addresses) agents use to reach the server, put in the certificate
    /// the local CA issues besides `localhost`, `127.0.0.1` and `::1`. Only without `[tls]`.
    pub tls_names: Vec<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How far in the future a snapshot's `collected_at` may be, in seconds.
    pub clock_skew_secs: u64,
    /// Log format.
    pub log_format: LogFormat,
    /// Webhooks told when a control turns from pass to fail.
    pub alerts: crate::alerts::AlertConfig,
    /// The policy pack every accepted snapshot is judged by.
    pub policies: PolicySettings,
    /// Envelopes in S3-compatible object storage (`[objects]`); absent: in the database.
    pub objects: Option<crate::objects::ObjectsConfig>,
    /// How long evidence is kept, per framework (`[retention]`); by default for ever.
    pub retention: crate::retention::RetentionConfig,
    /// Timeouts, connection cap and per-address rate limits (`[connections]`).
    pub connections: crate::connections::ConnectionLimits,
    /// Where `/metrics` is served and whether a scrape needs a token (`[metrics]`).
    pub metrics: MetricsConfig,
    /// Other transparency logs this server cosigns as a witness (`[witness]`); none by default.
    pub witness: crate::witness::WitnessConfig,
    /// The witnesses this server's transparency log asks to cosign its checkpoints (`[log]`);
    /// none by default.
    pub log: crate::cosigning::LogConfig,
    /// The time-stamping authority that dates the log's checkpoints (`[timestamps]`); none by
    /// default.
    pub timestamps: crate::timestamps::TimestampConfig,
    /// Signing people in through the company's OpenID provider (`[oidc]`); absent: API-token
    /// sign-in only.
    pub oidc: crate::sso::SsoConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8443".into(),
            data_dir: PathBuf::from("./vouch-data"),
            database_url: None,
            tls: None,
            tls_names: Vec::new(),
            max_body_bytes: vouch_evidence::limits::MAX_ENVELOPE_BYTES,
            clock_skew_secs: 300,
            log_format: LogFormat::Text,
            alerts: crate::alerts::AlertConfig::default(),
            policies: PolicySettings::default(),
            objects: None,
            retention: crate::retention::RetentionConfig::default(),
            connections: Default::default(),
            metrics: MetricsConfig::default(),
            witness: crate::witness::WitnessConfig::default(),
            log: crate::cosigning::LogConfig::default(),
            timestamps: crate::timestamps::TimestampConfig::default(),
            oidc: crate::sso::SsoConfig::default(),
        }
    }
}

/// `[metrics]`: who may read `/metrics`. By default it is served on the HTTPS listener to
/// anyone who can reach it (it holds counts, never evidence); set `listen` to serve it on its
/// own address only, and `token_file` to require a bearer token on every scrape.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// A separate address (`127.0.0.1:9464`), plain HTTP, serving `/metrics` and nothing else:
    /// for loopback or a monitoring network. When set, the HTTPS listener answers `/metrics`
    /// with 404.
    pub listen: Option<String>,
    /// A file holding the bearer token every scrape must present (`Authorization: Bearer …`),
    /// readable by the server's user only (mode 0600 or stricter); absent: no token needed.
    pub token_file: Option<PathBuf>,
}

impl MetricsConfig {
    /// The separate address, when set (validated).
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.listen.as_ref().and_then(|l| l.parse().ok())
    }

    /// The scrape token from `token_file`, when set: its mode checked like every secret's,
    /// surrounding whitespace removed, never empty. The error is a sentence naming the file.
    pub fn token(&self) -> Result<Option<String>, String> {
        let Some(path) = &self.token_file else {
            return Ok(None);
        };
        let shown = path.display();
        if let Some(mode) =
            vouch_config::secret_file_mode(path).map_err(|e| format!("{shown}: {e}"))?
        {
            return Err(format!(
                "{shown} is readable by group or others (mode {mode:04o}): a token file must \
                 be 0600 (chmod 600 {shown})"
            ));
        }
        let token = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
        let token = token.trim();
        if token.len() < 16 {
            return Err(format!(
                "{shown}: the token must have at least 16 characters"
            ));
        }
        Ok(Some(token.to_string()))
    }

    fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(l) = &self.listen
            && l.parse::<SocketAddr>().is_err()
        {
            out.push((
                "listen",
                format!("{l:?} is not an address:port such as 127.0.0.1:9464"),
            ));
        }
        if let Err(e) = self.token() {
            out.push(("token_file", e));
        }
        out
    }
}

impl ServerConfig {
    /// Reads and validates `path`, reporting every problem at once.
    pub fn load(path: &Path) -> Result<Self, ConfigErrors> {
        config::load(path)
    }

    /// Parses and validates configuration text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, ConfigErrors> {
        config::parse(file, text)
    }

    /// Every problem, as [`Validate::validate`] reports them.
    pub fn validate(&self, file: &str) -> Vec<ConfigError> {
        Validate::validate(self, file)
    }

    /// The listen address (validated).
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen.parse().expect("validated")
    }
}

impl Validate for ServerConfig {
    /// Every rule the types cannot express.
    fn validate(&self, file: &str) -> Vec<ConfigError> {
        let mut problems = Problems::new(file);
        let mut err = |key: &str, problem: String| problems.add(key, problem);
        if self.listen.parse::<SocketAddr>().is_err() {
            err(
                "listen",
                format!(
                    "{:?} is not an address:port such as 127.0.0.1:8443",
                    self.listen
                ),
            );
        }
        if self.data_dir.as_os_str().is_empty() {
            err("data_dir", "must not be empty".into());
        }
        if let Some(url) = &self.database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            err(
                "database_url",
                "must be a PostgreSQL URL (postgres://user@host/db); leave it out for SQLite"
                    .into(),
            );
        }
        let ceiling = vouch_evidence::limits::MAX_ENVELOPE_BYTES_CEILING;
        if !(1024..=ceiling).contains(&self.max_body_bytes) {
            err(
                "max_body_bytes",
                format!("{} is outside 1024..={ceiling}", self.max_body_bytes),
            );
        }
        if self.clock_skew_secs > 24 * 3600 {
            err(
                "clock_skew_secs",
                format!("{} is more than a day", self.clock_skew_secs),
            );
        }
        for (key, problem) in self.alerts.problems() {
            err(&format!("alerts.{key}"), problem);
        }
        for (key, problem) in self.connections.problems() {
            err(&format!("connections.{key}"), problem);
        }
        for (key, problem) in self.metrics.problems() {
            err(&format!("metrics.{key}"), problem);
        }
        for (key, problem) in self.objects.iter().flat_map(|o| o.problems()) {
            err(&format!("objects.{key}"), problem);
        }
        let frameworks = if self.retention.frameworks.is_empty() {
            Default::default()
        } else {
            vouch_policies::Catalogs::builtin()
                .iter()
                .map(|c| c.id.clone())
                .collect()
        };
        for (key, problem) in self.retention.problems(&frameworks) {
            err(&format!("retention.{key}"), problem);
        }
        if let Some(dir) = &self.policies.dir
            && !dir.is_dir()
        {
            err(
                "policies.dir",
                format!("{} is not a readable directory", dir.display()),
            );
        }
        // The catalogs are parsed only when there is an exclusion to check against them.
        let catalogs = std::sync::LazyLock::new(vouch_policies::Catalogs::builtin);
        for (i, x) in self.policies.exclusions.iter().enumerate() {
            match x.control.parse::<vouch_policies::ControlId>() {
                Ok(id) if catalogs.control(&id).is_some() => {}
                Ok(id) => err(
                    &format!("policies.exclusions[{i}].control"),
                    format!("{id} is in no loaded catalog"),
                ),
                Err(e) => err(&format!("policies.exclusions[{i}].control"), e),
            }
            if x.justification.trim().len() < 10 {
                err(
                    &format!("policies.exclusions[{i}].justification"),
                    "must say why the control does not apply".into(),
                );
            }
        }
        for (key, problem) in self.policies.organisation.parameters.problems() {
            err(&format!("policies.organisation.parameters.{key}"), problem);
        }
        if !self.policies.builtin && self.policies.dir.is_none() {
            err(
                "policies.builtin",
                "is off and no policies.dir is given: nothing would judge the evidence".into(),
            );
        }
        if let Some(tls) = &self.tls {
            for (key, path) in [("tls.cert", &tls.cert), ("tls.key", &tls.key)] {
                if !path.is_file() {
                    err(key, format!("{} is not a readable file", path.display()));
                }
            }
            if !self.tls_names.is_empty() {
                err(
                    "tls_names",
                    "applies to the local CA only; put the names in your [tls] certificate".into(),
                );
            }
        }
        for name in &self.tls_names {
            let ok = !name.is_empty()
                && name.len() <= 253
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '*'));
            if !ok {
                err(
                    "tls_names",
                    format!("{name:?} is not a DNS name or IP address"),
                );
            }
        }
        for (key, problem) in self.witness.problems() {
            err(&key, problem);
        }
        for (key, problem) in self.log.problems() {
            err(&format!("log.{key}"), problem);
        }
        for (key, problem) in self.timestamps.problems() {
            err(&format!("timestamps.{key}"), problem);
        }
        for (key, problem) in self.oidc.problems() {
            err(&format!("oidc.{key}"), problem);
        }
        problems.errors
    }
}

/// Parses a duration such as `90s`, `30m`, `24h` or `7d` (a bare number is seconds) into
/// seconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{text:?}: use a number with s, m, h or d, such as 24h"
            ));
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{text:?}: use a positive number with s, m, h or d, such as 24h"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("24h"), Ok(86_400));
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("600"), Ok(600));
        for bad in ["", "h", "0h", "3w", "-1h", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    /// The configuration the .deb installs loads as it is, policies section included.
    #[test]
    fn the_packaged_configuration_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/config/server.toml");
        let config = ServerConfig::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(config.policies.builtin);
        assert_eq!(config.log_format, LogFormat::Json);
    }

    /// `[log]` loads its witnesses, and each mistake is named with its file and key.
    #[test]
    fn the_log_section_names_its_witnesses_and_every_mistake() {
        let key = vouch_evidence::cosign::Witness::new(
            "w.example",
            vouch_evidence::SigningKey::from_seed(&[5; 32])
                .public()
                .clone(),
        )
        .unwrap();
        let good = format!(
            "[log]\nwitness_interval_secs = 30\n[[log.witnesses]]\nurl = \"https://w.example/add-checkpoint\"\nkey = \"{key}\"\n"
        );
        let c = ServerConfig::parse("s.toml", &good).unwrap();
        assert_eq!((c.log.witnesses.len(), c.log.quorum()), (1, 1));
        let bad = "[log]\nwitness_quorum = 2\n[[log.witnesses]]\nurl = \"http://w.example/\"\nkey = \"nope\"\n";
        let errs = ServerConfig::parse("s.toml", bad).unwrap_err().to_string();
        for key in [
            "s.toml: log.witnesses[0].url",
            "s.toml: log.witnesses[0].key",
            "s.toml: log.witness_quorum",
        ] {
            assert!(errs.contains(key), "{key}: {errs}");
        }
        let unknown = "[log]\nwitnesess = []\n";
        assert!(ServerConfig::parse("s.toml", unknown).is_err());
    }

    /// `[timestamps]`: a URL needs the TSA's certificate, and each mistake is named.
    #[test]
    fn the_timestamps_section_names_every_mistake() {
        let ok =
            "[timestamps]\nurl = \"http://tsa.example/\"\ncertificate = \"/etc/vouch/tsa.pem\"\n";
        let c = ServerConfig::parse("s.toml", ok).unwrap();
        assert_eq!(c.timestamps.interval_secs, 600);
        for (text, key) in [
            (
                "[timestamps]\nurl = \"http://tsa.example/\"\n",
                "timestamps.certificate",
            ),
            ("[timestamps]\ncertificate = \"/x.pem\"\n", "timestamps.url"),
            (
                "[timestamps]\nurl = \"ftp://tsa.example/\"\ncertificate = \"/x.pem\"\n",
                "timestamps.url",
            ),
            (
                "[timestamps]\ninterval_secs = 5\n",
                "timestamps.interval_secs",
            ),
        ] {
            let errs = ServerConfig::parse("s.toml", text).unwrap_err().to_string();
            assert!(errs.contains(&format!("s.toml: {key}")), "{text}: {errs}");
        }
    }

    #[test]
    fn policy_settings_parse_with_roles() {
        let c = ServerConfig::parse(
            "s.toml",
            "[policies]\n[policies.organisation]\nroles = { \"iso27701-2019\" = \"processor\" }\n",
        )
        .unwrap();
        assert_eq!(
            c.policies.organisation.roles["iso27701-2019"],
            vouch_policies::Role::Processor
        );
        let bad =
            "[[policies.exclusions]]\ncontrol = \"iso27001-2022:A.99.1\"\njustification = \"x\"\n";
        let errs = ServerConfig::parse("s.toml", bad).unwrap_err().to_string();
        assert!(
            errs.contains("s.toml: policies.exclusions[0].control: iso27001-2022:A.99.1 is in no loaded catalog"),
            "{errs}"
        );
        assert!(
            errs.contains("policies.exclusions[0].justification"),
            "{errs}"
        );
        let errs = ServerConfig::parse("s.toml", "[policies]\nbuiltin = false\n")
            .unwrap_err()
            .to_string();
        assert!(errs.contains("s.toml: policies.builtin: is off"), "{errs}");
    }

    #[test]
    fn policy_parameters_have_cis_defaults_and_every_bad_value_is_named() {
        let c = ServerConfig::parse("s.toml", "").unwrap();
        let p = &c.policies.organisation.parameters;
        assert_eq!(p.rds_backup_retention_days, 7);
        assert_eq!(p.lockout_max_attempts, 5);
        assert_eq!(p.password_max_days, 365);
        assert_eq!(p.github_max_owners, 3);
        assert_eq!(p.ebs_snapshot_max_age_days, 7);
        let c = ServerConfig::parse(
            "s.toml",
            "[policies.organisation.parameters]\nrds_backup_retention_days = 14\n",
        )
        .unwrap();
        assert_eq!(
            c.policies.organisation.parameters.rds_backup_retention_days,
            14
        );
        assert_eq!(c.policies.organisation.parameters.lockout_max_attempts, 5);
        let bad = "[policies.organisation.parameters]\nrds_backup_retention_days = 0\n\
                   lockout_max_attempts = 500\nkubernetes_system_namespaces = [\"Kube System\"]\n\
                   github_max_owners = 0\nebs_snapshot_max_age_days = 400\n";
        let errs = ServerConfig::parse("s.toml", bad).unwrap_err().to_string();
        for expected in [
            "s.toml: policies.organisation.parameters.rds_backup_retention_days: 0 is not between 1 and 35",
            "s.toml: policies.organisation.parameters.lockout_max_attempts: 500 is not between 1 and 100",
            "s.toml: policies.organisation.parameters.kubernetes_system_namespaces: \"Kube System\" is not a namespace name",
            "s.toml: policies.organisation.parameters.github_max_owners: 0 is not between 1 and 100",
            "s.toml: policies.organisation.parameters.ebs_snapshot_max_age_days: 400 is not between 1 and 365",
        ] {
            assert!(errs.contains(expected), "{errs}");
        }
        let unknown = "[policies.organisation.parameters]\nrds_backup_days = 7\n";
        let errs = ServerConfig::parse("s.toml", unknown)
            .unwrap_err()
            .to_string();
        assert!(errs.contains("rds_backup_days"), "{errs}");
    }

    #[test]
    fn objects_and_retention_parse_and_every_problem_is_named() {
        let good = "[objects]\nbucket = \"acme-evidence\"\nendpoint_url = \"http://127.0.0.1:9000\"\npath_style = true\n[objects.lock]\nmode = \"governance\"\ndays = 30\n[retention]\nframeworks = { \"iso27001-2022\" = 1095 }\n";
        let c = ServerConfig::parse("s.toml", good).unwrap();
        let objects = c.objects.unwrap();
        assert_eq!(
            objects.lock.map(|l| (l.mode, l.days)),
            Some((crate::objects::LockModeSetting::Governance, 30))
        );
        assert_eq!(objects.upload_concurrency, 32);
        assert_eq!(objects.upload_busy_percent, 25);
        assert_eq!(c.retention.frameworks["iso27001-2022"], 1095);
        assert_eq!(c.retention.interval_secs, 3600);
        let bad = "[objects]\nbucket = \"Acme_Evidence\"\nendpoint_url = \"127.0.0.1:9000\"\nupload_busy_percent = 0\n[objects.lock]\nmode = \"compliance\"\ndays = 0\n[retention]\nframeworks = { \"iso9001\" = 30 }\ninterval_secs = 5\n";
        let errs = ServerConfig::parse("s.toml", bad).unwrap_err().to_string();
        for expected in [
            "s.toml: objects.bucket: \"Acme_Evidence\" is not an S3 bucket name",
            "s.toml: objects.endpoint_url:",
            "s.toml: objects.lock.days: 0 is outside",
            "s.toml: objects.upload_busy_percent: 0 is outside 1..=100",
            "s.toml: retention.frameworks.iso9001: \"iso9001\" is in no loaded catalog",
            "s.toml: retention.interval_secs: 5 is outside",
        ] {
            assert!(errs.contains(expected), "{expected:?} missing from {errs}");
        }
        // A secret has no place here: unknown keys are refused.
        let errs = ServerConfig::parse(
            "s.toml",
            "[objects]\nbucket = \"acme\"\nsecret_access_key = \"x\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(errs.contains("secret_access_key"), "{errs}");
    }

    #[test]
    fn empty_file_gives_defaults() {
        assert_eq!(
            ServerConfig::parse("s.toml", "").unwrap(),
            ServerConfig::default()
        );
    }

    #[test]
    fn every_problem_is_reported_with_file_and_key() {
        let text = "listen = \"nowhere\"\nmax_body_bytes = 1\ntls_names = [\"a b\"]\n[tls]\ncert = \"/no/cert\"\nkey = \"/no/key\"\n[alerts]\nwebhooks = [\"slack\"]\n[policies]\ndir = \"/no/policies\"\n";
        let errs = ServerConfig::parse("server.toml", text)
            .unwrap_err()
            .to_string();
        for needle in [
            "server.toml: listen:",
            "server.toml: max_body_bytes:",
            "server.toml: tls.cert: /no/cert",
            "server.toml: tls.key: /no/key",
            "server.toml: tls_names: applies to the local CA only",
            "server.toml: tls_names: \"a b\" is not",
            "server.toml: alerts.webhooks[0]: \"slack\" is not an http",
            "server.toml: policies.dir: /no/policies is not a readable directory",
        ] {
            assert!(errs.contains(needle), "{needle} missing in {errs}");
        }
    }

    #[test]
    fn unknown_keys_are_refused_with_a_line() {
        let errs =
            ServerConfig::parse("s.toml", "listen = \"127.0.0.1:1\"\nlisen = 3\n").unwrap_err();
        assert_eq!(errs.0[0].key, "line 2");
        assert!(errs.0[0].problem.contains("lisen"), "{}", errs.0[0].problem);
    }
}
