//! `[collectors.google_workspace]`: the source's configuration, its validation (every
//! problem at once), and the clients it makes: the key file read and checked, the endpoints'
//! URLs, and the paths of the calls.

use std::path::PathBuf;

use serde::Deserialize;
use vouch_evidence::AssetKind;

use super::api::{Api, Endpoints};
use super::model::{PASSKEYS, SECURITY_KEYS};
use super::*;
use crate::{Registration, Source, SourceConfig};

/// `[collectors.google_workspace]` in the agent's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GoogleWorkspaceConfig {
    /// Collect Google Workspace evidence at all.
    pub enabled: bool,
    /// The account's customer id (`C03az79cb`, Admin console > Account > Account settings): the
    /// asset's id, and what every user listed must belong to. A domain is refused: the primary
    /// domain can be changed, the customer id cannot.
    pub customer_id: String,
    /// The administrator the service account acts as (the assertion's subject), e.g.
    /// `vouch-reader@acme.example`: a user with a read-only admin role.
    pub admin_email: String,
    /// The service account's JSON key file (mode 0600, owned by the agent's user); read at every
    /// collection, so a rotated key is picked up. Required when enabled.
    pub credentials_file: Option<PathBuf>,
    /// The scopes asked for, each one of the read-only scopes the source knows; the service
    /// account's domain-wide delegation must grant every one (Google refuses the assertion
    /// otherwise). A call whose scope is left out is refused by Google, and its facts are
    /// unavailable, naming the scope.
    pub scopes: Vec<String>,
    /// The account's name in Vouch, for people (e.g. its primary domain `acme.example`); absent:
    /// the customer id.
    pub name: Option<String>,
    /// The token endpoint, `https://oauth2.googleapis.com/token` (the key file's `token_uri` is
    /// not followed); also the assertion's audience.
    pub token_url: String,
    /// The Admin SDK, `https://admin.googleapis.com`.
    pub api_url: String,
    /// A super administrator the service account acts as for the password policies alone
    /// (the Cloud Identity Policy API answers no other role), e.g.
    /// `vouch-policies@acme.example`; its token carries only the read-only scope
    /// `cloud-identity.policies.readonly`, which the delegation must grant. Absent: the password
    /// policies are unavailable, saying so.
    pub policy_admin_email: Option<String>,
    /// The Cloud Identity API, `https://cloudidentity.googleapis.com`.
    pub policy_api_url: String,
    /// PEM file of the CAs to trust for both; absent: the system bundle
    /// `/etc/ssl/certs/ca-certificates.crt`.
    pub ca_cert: Option<PathBuf>,
    /// When to collect: a cron expression with seconds.
    pub schedule: String,
    /// Time budget of each area's collector, in seconds; throttling pauses count against it.
    pub timeout_secs: u64,
    /// The most group-member reads in flight at once.
    pub concurrency: usize,
    /// Users asked for per page of the users' listing and of the user usage report
    /// (`maxResults`, at most 500).
    pub page_size: usize,
    /// The most pages one listing may take; a longer list is unavailable rather than cut.
    pub max_pages: usize,
    /// Days without a sign-in after which an active account counts as unused.
    pub inactive_days: u32,
}

impl Default for GoogleWorkspaceConfig {
    fn default() -> Self {
        GoogleWorkspaceConfig {
            enabled: false,
            customer_id: String::new(),
            admin_email: String::new(),
            credentials_file: None,
            scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
            name: None,
            token_url: TOKEN_URL.into(),
            api_url: API_URL.into(),
            policy_admin_email: None,
            policy_api_url: POLICY_API_URL.into(),
            ca_cert: None,
            schedule: "0 50 */6 * * *".into(),
            timeout_secs: 900,
            concurrency: 4,
            page_size: 500,
            max_pages: 500,
            inactive_days: 90,
        }
    }
}

impl SourceConfig for GoogleWorkspaceConfig {
    const REGISTRATION: Registration = Registration {
        name: "google_workspace",
        kind: AssetKind::GoogleWorkspace,
        intro: "Facts about one Google Workspace (or Cloud Identity) account, asked of the Admin SDK Directory API by a service account with domain-wide delegation acting as a read-only administrator (read-only scopes, a signed JWT assertion exchanged for an access token): people and their 2-Step Verification enrolment and enforcement, accounts unused, suspended or archived, administrators, their admin roles (directly or through groups) and their 2-Step Verification; and, from the Admin SDK Reports API's user usage report of two (else three) days before the collection, who enrolled a phishing-resistant second factor (a security key or a passkey). The password policies come from the Cloud Identity Policy API, which answers super administrators only: they are read as a super administrator of their own (`policy_admin_email`) whose token carries only the read-only `cloud-identity.policies.readonly` scope, and are unavailable, saying so, without one. A call the token or the administrator may not make is unavailable, naming the scope it needs; a refused assertion fails every collector with that reason (for the super administrator's token, only the password policies). The organisational units' 2-Step Verification settings are not declared: their enforcement shows per user. People are named by their primary email address, at most 100 a list, beside a whole count.",
        evidence: EVIDENCE_AREAS,
    };

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn problems(&self) -> Vec<(&'static str, String)> {
        self.validate()
    }

    fn source(&self) -> Box<dyn Source> {
        Box::new(GoogleWorkspaceSource::new(self.clone()))
    }
}

/// Whether `id` is a customer id as Google writes it: `C` and then 6 to 15 lower-case letters
/// and digits (`C03az79cb`).
fn is_customer_id(id: &str) -> bool {
    id.strip_prefix('C').is_some_and(|rest| {
        (6..=15).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// Whether `text` is an email address fit for the assertion's subject: one `@` between a
/// non-empty local part and a domain with a dot, no space or control character, 254 characters
/// at most.
fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    text.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// `https://host[:port]` of `url`, the host in lower case, when it is an https URL with a host
/// and no path, query or credentials.
fn origin(url: &str) -> Option<String> {
    let uri: http::Uri = url.trim_end_matches('/').parse().ok()?;
    let authority = uri.authority()?;
    let fine = uri.scheme_str() == Some("https")
        && !authority.as_str().contains('@')
        && !authority.host().is_empty()
        && matches!(uri.path(), "" | "/")
        && uri.query().is_none();
    fine.then(|| format!("https://{}", authority.as_str().to_ascii_lowercase()))
}

/// `url` when it is an https URL with a host and a path, and no query or credentials (the
/// token endpoint).
fn endpoint(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    let authority = uri.authority()?;
    let fine = uri.scheme_str() == Some("https")
        && !authority.as_str().contains('@')
        && !authority.host().is_empty()
        && uri.path().len() > 1
        && uri.query().is_none();
    fine.then(|| {
        format!(
            "https://{}{}",
            authority.as_str().to_ascii_lowercase(),
            uri.path()
        )
    })
}

impl GoogleWorkspaceConfig {
    /// Every problem, as (key below `collectors.google_workspace`, problem).
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        let shown = vouch_evidence::limits::truncate_echo;
        if self.enabled && self.customer_id.is_empty() {
            errors.push((
                "customer_id",
                "must name the account's customer id, e.g. C03az79cb (Admin console > Account > Account settings)".to_string(),
            ));
        } else if !self.customer_id.is_empty() && !is_customer_id(&self.customer_id) {
            errors.push((
                "customer_id",
                format!(
                    "{:?} is not a customer id: C and 6 to 15 lower-case letters or digits, e.g. C03az79cb (not a domain, not my_customer)",
                    shown(&self.customer_id)
                ),
            ));
        }
        if self.enabled && self.admin_email.is_empty() {
            errors.push((
                "admin_email",
                "must name the administrator the service account acts as, e.g. vouch-reader@acme.example".to_string(),
            ));
        } else if !self.admin_email.is_empty() && !is_email(&self.admin_email) {
            errors.push((
                "admin_email",
                format!(
                    "{:?} is not an email address",
                    shown(&self.admin_email)
                ),
            ));
        }
        if let Some(email) = self.policy_admin_email.as_ref().filter(|e| !is_email(e)) {
            errors.push((
                "policy_admin_email",
                format!("{:?} is not an email address", shown(email)),
            ));
        }
        match &self.credentials_file {
            None if self.enabled => errors.push((
                "credentials_file",
                "must name the service account's JSON key file (mode 0600)".to_string(),
            )),
            Some(p) if !p.is_absolute() => {
                errors.push(("credentials_file", format!("{} must be an absolute path", p.display())));
            }
            _ => {}
        }
        if let Some(p) = self.ca_cert.as_ref().filter(|p| !p.is_absolute()) {
            errors.push(("ca_cert", format!("{} must be an absolute path", p.display())));
        }
        if self.scopes.is_empty() {
            errors.push(("scopes", "must name at least one scope".to_string()));
        }
        for (i, scope) in self.scopes.iter().enumerate() {
            if !SCOPES.contains(&scope.as_str()) {
                errors.push((
                    "scopes",
                    format!(
                        "{:?} is not one of the read-only scopes the source uses: {}",
                        shown(scope),
                        SCOPES.join(", ")
                    ),
                ));
            } else if self.scopes[..i].contains(scope) {
                errors.push(("scopes", format!("{scope} is given twice")));
            }
        }
        if let Some(name) = &self.name
            && (name.trim().is_empty()
                || name.chars().count() > 256
                || name.chars().any(char::is_control))
        {
            errors.push((
                "name",
                "must be 1 to 256 printable characters".to_string(),
            ));
        }
        if endpoint(&self.token_url).is_none() {
            errors.push((
                "token_url",
                format!(
                    "{:?} must be an https:// URL with a host and a path, and no query or credentials",
                    shown(&self.token_url)
                ),
            ));
        }
        for (key, url) in [
            ("api_url", &self.api_url),
            ("policy_api_url", &self.policy_api_url),
        ] {
            if origin(url).is_none() {
                errors.push((
                    key,
                    format!(
                        "{:?} must be an https:// URL with a host and no path, query or credentials",
                        shown(url)
                    ),
                ));
            }
        }
        remote::check_schedule_and_budget(
            &mut errors,
            &self.schedule,
            "0 50 */6 * * *",
            self.timeout_secs,
        );
        remote::check_range(&mut errors, "concurrency", self.concurrency, 1..=16);
        remote::check_range(&mut errors, "page_size", self.page_size, 1..=500);
        remote::check_range(&mut errors, "max_pages", self.max_pages, 1..=10_000);
        remote::check_range(&mut errors, "inactive_days", self.inactive_days, 1..=3650);
        errors
    }

    /// The service account's signer, from its key file. The error is a reason sentence that
    /// never holds the key.
    fn signer(&self) -> Result<auth::Signer, String> {
        let path = self
            .credentials_file
            .as_ref()
            .ok_or("no service account key: credentials_file is not set")?;
        let text = crate::remote::read_private_file(path, "service account key")?;
        auth::Signer::from_key_file(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A client as configured, acting as `admin_email` with `scopes`. The error is a reason
    /// sentence.
    pub(super) fn connect(&self) -> Result<Api, String> {
        let endpoints = Endpoints {
            api: &self.api_url,
            token_url: &self.token_url,
            subject: &self.admin_email,
            scopes: &self.scopes,
            subject_key: "admin_email",
            loss: api::ALL_LOST,
        };
        self.client(&endpoints, "api_url")
    }

    /// The client of the Policy API, acting as `policy_admin_email` with [`POLICY_SCOPE`]
    /// alone, when one is configured. The error is a reason sentence.
    pub(super) fn connect_policies(&self) -> Option<Result<Api, String>> {
        let subject = self.policy_admin_email.as_ref()?;
        let endpoints = Endpoints {
            api: &self.policy_api_url,
            token_url: &self.token_url,
            subject,
            scopes: &[POLICY_SCOPE.to_string()],
            subject_key: "policy_admin_email",
            loss: "the password policies cannot be read",
        };
        Some(self.client(&endpoints, "policy_api_url"))
    }

    /// A client of `wanted` (its API's URL under the configuration's `key`), as configured
    /// (checked here again). The error is a reason sentence.
    fn client(&self, wanted: &Endpoints<'_>, key: &str) -> Result<Api, String> {
        let url = wanted.api;
        let subject = wanted.subject;
        let token_url = endpoint(&self.token_url)
            .ok_or_else(|| format!("token_url {:?} is not an https:// URL", self.token_url))?;
        let api = origin(url).ok_or_else(|| format!("{key} {url:?} is not an https:// URL"))?;
        if !is_customer_id(&self.customer_id) || !is_email(subject) {
            return Err("customer_id and the administrator's email must be set as documented".into());
        }
        let signer = self.signer()?;
        let bundle = self
            .ca_cert
            .clone()
            .unwrap_or_else(|| PathBuf::from(SYSTEM_CA_BUNDLE));
        let pem = std::fs::read(&bundle)
            .map_err(|e| crate::describe_io(&bundle.display().to_string(), &e))?;
        let endpoints = Endpoints {
            api: &api,
            token_url: &token_url,
            ..*wanted
        };
        Api::new(&endpoints, signer, &pem, self.max_pages)
    }

    /// The first page of the users' listing.
    pub(super) fn users_path(&self) -> String {
        format!(
            "/admin/directory/v1/users?customer=my_customer&projection=basic&maxResults={}&fields={USER_FIELDS}",
            self.page_size
        )
    }

    /// The first page of the user usage report of `date` (`2025-11-22`).
    pub(super) fn report_path(&self, date: &str) -> String {
        format!(
            "/admin/reports/v1/usage/users/all/dates/{date}?parameters={SECURITY_KEYS},{PASSKEYS}&maxResults={}",
            self.page_size
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_problems_are_all_reported() {
        let bad = GoogleWorkspaceConfig {
            enabled: true,
            customer_id: "acme.example".into(),
            admin_email: "vouch reader".into(),
            credentials_file: Some("key.json".into()),
            scopes: vec![
                USER_SCOPE.into(),
                "https://www.googleapis.com/auth/admin.directory.user".into(),
                USER_SCOPE.into(),
            ],
            name: Some(" ".into()),
            token_url: "https://oauth2.googleapis.com".into(),
            api_url: "https://admin.googleapis.com/admin/directory/v1".into(),
            policy_admin_email: Some("super admin".into()),
            policy_api_url: "http://cloudidentity.googleapis.com".into(),
            ca_cert: Some("ca.pem".into()),
            schedule: "hourly".into(),
            timeout_secs: 0,
            concurrency: 0,
            page_size: 501,
            max_pages: 0,
            inactive_days: 0,
        };
        let keys: Vec<&str> = bad.validate().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "customer_id",
                "admin_email",
                "policy_admin_email",
                "credentials_file",
                "ca_cert",
                "scopes",
                "scopes",
                "name",
                "token_url",
                "api_url",
                "policy_api_url",
                "schedule",
                "timeout_secs",
                "concurrency",
                "page_size",
                "max_pages",
                "inactive_days"
            ]
        );
        assert!(GoogleWorkspaceConfig::default().validate().is_empty());
        let missing = GoogleWorkspaceConfig {
            enabled: true,
            ..GoogleWorkspaceConfig::default()
        };
        let keys: Vec<&str> = missing.validate().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["customer_id", "admin_email", "credentials_file"]);
        let fine = GoogleWorkspaceConfig {
            enabled: true,
            customer_id: "C03az79cb".into(),
            admin_email: "vouch-reader@acme.example".into(),
            credentials_file: Some("/etc/vouch/google-key.json".into()),
            scopes: vec![USER_SCOPE.into()],
            ..GoogleWorkspaceConfig::default()
        };
        assert!(fine.validate().is_empty(), "{:?}", fine.validate());
        for bad in ["my_customer", "c03az79cb", "C03AZ79CB", "C03az", "C03az79cb/x"] {
            let c = GoogleWorkspaceConfig {
                customer_id: bad.into(),
                ..GoogleWorkspaceConfig::default()
            };
            assert_eq!(c.validate().len(), 1, "{bad}");
        }
        assert_eq!(
            endpoint("https://OAuth2.googleapis.com/token").as_deref(),
            Some("https://oauth2.googleapis.com/token")
        );
        assert_eq!(endpoint("https://oauth2.googleapis.com/token?x=1"), None);
        assert_eq!(origin("https://user:pw@admin.googleapis.com"), None);
        assert!(!is_email("a@b@c.d") && !is_email("@acme.example") && is_email("a@acme.example"));
    }

    #[test]
    fn key_files_must_be_0600_and_never_show_their_content() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key.json");
        std::fs::write(
            &file,
            r#"{"type":"service_account","client_email":"a@b.example","private_key":"PRIVATEKEYTEXT"}"#,
        )
        .unwrap();
        let config = GoogleWorkspaceConfig {
            credentials_file: Some(file.clone()),
            ..GoogleWorkspaceConfig::default()
        };
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = config.signer().err().unwrap();
        assert!(
            e.contains("is readable by group or others (mode 0640)") && !e.contains("PRIVATEKEY"),
            "{e}"
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = config.signer().err().unwrap();
        assert!(
            e.ends_with("key.json: the key file's private_key is not a PEM private key"),
            "{e}"
        );
        let none = GoogleWorkspaceConfig::default();
        assert_eq!(
            none.signer().err().unwrap(),
            "no service account key: credentials_file is not set"
        );
    }
}
