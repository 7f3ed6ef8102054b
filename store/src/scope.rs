//! Which assets an agent may write.
//!
//! An enrolment token carries a [`Scope`]: one host, one cluster, named AWS accounts, named
//! GitHub or Okta organisations, named Entra ID tenants, named Google Workspace accounts, named
//! imports of scanner reports (any combination, each kind at most once). At enrolment the scope and
//! what the agent declares (the host and cluster only it can name) become the agent's
//! [`Binding`]: the exact set of assets it may write. A snapshot for any other asset is
//! refused with `403 out_of_scope` and stored nowhere.

use std::collections::BTreeSet;
use std::fmt;

use vouch_evidence::AssetKind;
use vouch_evidence::api::AssetRef;

/// Longest asset id a scope names.
const MAX_ID_CHARS: usize = 256;
/// Most ids one grant names.
const MAX_IDS: usize = 1000;

/// The forms of a scope's parts, for messages.
const FORMS: &str = "host[:ID], kubernetes-cluster[:UID], aws-account:ID[,ID…], \
                     github-org:LOGIN[,LOGIN…], okta-org:HOST[,HOST…], \
                     entra-tenant:TENANT-ID[,TENANT-ID…], \
                     google-workspace:CUSTOMER-ID[,CUSTOMER-ID…] or import:NAME[,NAME…]";

/// One part of a scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// One host: the one named, or the one the agent declares at enrolment.
    Host(Option<String>),
    /// One Kubernetes cluster: the one named (the `kube-system` namespace UID), or the one the
    /// agent declares at enrolment.
    Cluster(Option<String>),
    /// These AWS accounts.
    AwsAccounts(BTreeSet<String>),
    /// These GitHub organisations.
    GithubOrgs(BTreeSet<String>),
    /// These Okta organisations, by host (`acme.okta.com`).
    OktaOrgs(BTreeSet<String>),
    /// These Microsoft Entra ID tenants, by tenant id (a GUID in lower case).
    EntraTenants(BTreeSet<String>),
    /// These Google Workspace accounts, by customer id (`C03az79cb`).
    GoogleWorkspaces(BTreeSet<String>),
    /// These imports of scanner reports, by the name their agent's configuration gives them.
    Imports(BTreeSet<String>),
}

impl Grant {
    fn kind(&self) -> AssetKind {
        match self {
            Grant::Host(_) => AssetKind::Host,
            Grant::Cluster(_) => AssetKind::KubernetesCluster,
            Grant::AwsAccounts(_) => AssetKind::AwsAccount,
            Grant::GithubOrgs(_) => AssetKind::GithubOrg,
            Grant::OktaOrgs(_) => AssetKind::OktaOrg,
            Grant::EntraTenants(_) => AssetKind::EntraTenant,
            Grant::GoogleWorkspaces(_) => AssetKind::GoogleWorkspace,
            Grant::Imports(_) => AssetKind::Import,
        }
    }

    /// Parses `host`, `host:ID`, `kubernetes-cluster`, `kubernetes-cluster:UID`,
    /// `aws-account:ID[,ID…]`, `github-org:LOGIN[,LOGIN…]`, `okta-org:HOST[,HOST…]`,
    /// `entra-tenant:TENANT-ID[,TENANT-ID…]`, `google-workspace:CUSTOMER-ID[,CUSTOMER-ID…]` or
    /// `import:NAME[,NAME…]`.
    pub fn parse(text: &str) -> Result<Grant, String> {
        let text = text.trim();
        let (kind, ids) = match text.split_once(':') {
            Some((k, ids)) => (k, Some(ids)),
            None => (text, None),
        };
        let kind = AssetKind::parse(kind)
            .ok_or_else(|| format!("{:?} is not a scope: {FORMS}", shown(text)))?;
        let ids: Vec<String> = match ids {
            None => Vec::new(),
            Some(ids) => ids.split(',').map(|s| s.trim().to_string()).collect(),
        };
        if ids.len() > MAX_IDS {
            return Err(format!("scope {kind}: more than {MAX_IDS} ids"));
        }
        for id in &ids {
            check_id(kind, id)?;
        }
        let one = |ids: Vec<String>| -> Result<Option<String>, String> {
            match ids.len() {
                0 => Ok(None),
                1 => Ok(ids.into_iter().next()),
                _ => Err(format!(
                    "scope {kind} is for one {kind}; give one token per {kind}"
                )),
            }
        };
        let named = |ids: Vec<String>| -> Result<BTreeSet<String>, String> {
            if ids.is_empty() {
                Err(format!("scope {kind} must name its ids: {kind}:ID[,ID…]"))
            } else {
                Ok(ids.into_iter().collect())
            }
        };
        Ok(match kind {
            AssetKind::Host => Grant::Host(one(ids)?),
            AssetKind::KubernetesCluster => Grant::Cluster(one(ids)?),
            AssetKind::AwsAccount => Grant::AwsAccounts(named(ids)?),
            AssetKind::GithubOrg => Grant::GithubOrgs(named(ids)?),
            AssetKind::OktaOrg => Grant::OktaOrgs(named(ids)?),
            AssetKind::EntraTenant => Grant::EntraTenants(named(ids)?),
            AssetKind::GoogleWorkspace => Grant::GoogleWorkspaces(named(ids)?),
            AssetKind::Import => Grant::Imports(named(ids)?),
        })
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind();
        match self {
            Grant::Host(None) | Grant::Cluster(None) => write!(f, "{kind}"),
            Grant::Host(Some(id)) | Grant::Cluster(Some(id)) => write!(f, "{kind}:{id}"),
            Grant::AwsAccounts(ids)
            | Grant::GithubOrgs(ids)
            | Grant::OktaOrgs(ids)
            | Grant::EntraTenants(ids)
            | Grant::GoogleWorkspaces(ids)
            | Grant::Imports(ids) => {
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                write!(f, "{kind}:{}", ids.join(","))
            }
        }
    }
}

/// A client-supplied text cut short for a message.
fn shown(text: &str) -> String {
    vouch_evidence::limits::truncate_echo(text)
}

fn check_id(kind: AssetKind, id: &str) -> Result<(), String> {
    let ok = match kind {
        AssetKind::AwsAccount => id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()),
        AssetKind::GithubOrg => {
            (1..=39).contains(&id.len())
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        }
        AssetKind::OktaOrg => is_host_name(id),
        AssetKind::EntraTenant => is_tenant_id(id),
        AssetKind::GoogleWorkspace => is_customer_id(id),
        AssetKind::Host | AssetKind::KubernetesCluster | AssetKind::Import => {
            !id.is_empty()
                && id.chars().count() <= MAX_ID_CHARS
                && !id.chars().any(|c| c.is_control() || c == ',')
        }
    };
    if ok {
        Ok(())
    } else {
        let rule = match kind {
            AssetKind::AwsAccount => "an AWS account id has 12 digits",
            AssetKind::GithubOrg => "a GitHub login has 1 to 39 letters, digits or hyphens",
            AssetKind::OktaOrg => {
                "an Okta organisation is named by its host in lower case (acme.okta.com)"
            }
            AssetKind::EntraTenant => {
                "an Entra ID tenant is named by its tenant id, a GUID in lower case \
                 (72f988bf-86f1-41af-91ab-2d7cd011db47), not by a domain"
            }
            AssetKind::GoogleWorkspace => {
                "a Google Workspace account is named by its customer id, C and 6 to 15 lower-case \
                 letters or digits (C03az79cb), not by a domain"
            }
            _ => "an id has 1 to 256 printable characters and no comma",
        };
        Err(format!("scope {kind}: {:?}: {rule}", shown(id)))
    }
}

/// Whether `id` is a DNS host name in lower case: dot-separated labels of 1 to 63 letters,
/// digits or inner hyphens, 253 characters at most, at least two labels.
fn is_host_name(id: &str) -> bool {
    (1..=253).contains(&id.len())
        && id.split('.').count() >= 2
        && id.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// Whether `id` is a tenant id as Entra ID writes it: a GUID in lower case, hyphenated 8-4-4-4-12
/// (`72f988bf-86f1-41af-91ab-2d7cd011db47`). A domain (`acme.onmicrosoft.com`) names a tenant
/// too, but can be renamed or moved; the id cannot.
fn is_tenant_id(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| {
            g.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

/// Whether `id` is a customer id as Google writes it: `C` and then lower-case letters and
/// digits (`C03az79cb`), 7 to 16 characters in all. A primary domain (`acme.example`) names an
/// account too, but can be changed; the customer id cannot.
fn is_customer_id(id: &str) -> bool {
    id.strip_prefix('C').is_some_and(|rest| {
        (6..=15).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// What an enrolment token allows: at least one grant, each kind at most once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    grants: Vec<Grant>,
}

impl Scope {
    /// Parses a scope from its parts (`--scope` flags, the API's `scope` list). Every problem
    /// is reported, one per line.
    pub fn parse<S: AsRef<str>>(parts: &[S]) -> Result<Scope, String> {
        let mut grants: Vec<Grant> = Vec::new();
        let mut problems = Vec::new();
        for part in parts {
            match Grant::parse(part.as_ref()) {
                Ok(g) if grants.iter().any(|h| h.kind() == g.kind()) => problems.push(format!(
                    "scope {} is given twice: name every {0} in one part",
                    g.kind()
                )),
                Ok(g) => grants.push(g),
                Err(e) => problems.push(e),
            }
        }
        if grants.is_empty() && problems.is_empty() {
            problems.push(format!("an enrolment token needs a scope: {FORMS}"));
        }
        if problems.is_empty() {
            Ok(Scope { grants })
        } else {
            Err(problems.join("\n"))
        }
    }

    /// The parts, as [`parse`](Self::parse) reads them.
    pub fn parts(&self) -> Vec<String> {
        self.grants.iter().map(Grant::to_string).collect()
    }

    /// The scope as stored: a JSON array of its parts.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.parts()).expect("strings serialise")
    }

    /// Reads [`to_json`](Self::to_json).
    pub fn from_json(text: &str) -> Result<Scope, String> {
        let parts: Vec<String> =
            serde_json::from_str(text).map_err(|e| format!("stored scope unreadable: {e}"))?;
        Scope::parse(&parts)
    }

    /// The binding of an agent enrolling with this scope and declaring `declared`.
    pub fn bind(&self, declared: &[AssetRef]) -> Result<Binding, BindError> {
        let mut assets = BTreeSet::new();
        for d in declared {
            let allowed = self.grants.iter().any(|g| match (g, d.kind) {
                (Grant::Host(None), AssetKind::Host)
                | (Grant::Cluster(None), AssetKind::KubernetesCluster) => true,
                (Grant::Host(Some(id)), AssetKind::Host)
                | (Grant::Cluster(Some(id)), AssetKind::KubernetesCluster) => *id == d.id,
                (Grant::AwsAccounts(ids), AssetKind::AwsAccount)
                | (Grant::GithubOrgs(ids), AssetKind::GithubOrg)
                | (Grant::OktaOrgs(ids), AssetKind::OktaOrg)
                | (Grant::EntraTenants(ids), AssetKind::EntraTenant)
                | (Grant::GoogleWorkspaces(ids), AssetKind::GoogleWorkspace)
                | (Grant::Imports(ids), AssetKind::Import) => ids.contains(&d.id),
                _ => false,
            });
            if !allowed {
                return Err(BindError::OutOfScope(format!(
                    "the agent declared {}, which the enrolment token's scope ({self}) does not cover",
                    shown(&d.to_string())
                )));
            }
            if d.kind.named_by_agent()
                && assets
                    .iter()
                    .any(|a: &AssetRef| a.kind == d.kind && a.id != d.id)
            {
                return Err(BindError::Invalid(format!(
                    "the agent declared more than one {}: an agent writes one",
                    d.kind
                )));
            }
            assets.insert(d.clone());
        }
        for g in &self.grants {
            let kind = g.kind();
            match g {
                Grant::Host(None) | Grant::Cluster(None) => {
                    if !assets.iter().any(|a| a.kind == kind) {
                        return Err(BindError::Invalid(format!(
                            "the enrolment token is for one {kind}, and the agent declared none \
                             (enable its {kind} collector, or issue the token as {kind}:ID)"
                        )));
                    }
                }
                Grant::Host(Some(id)) | Grant::Cluster(Some(id)) => {
                    assets.insert(AssetRef {
                        kind,
                        id: id.clone(),
                    });
                }
                Grant::AwsAccounts(ids)
                | Grant::GithubOrgs(ids)
                | Grant::OktaOrgs(ids)
                | Grant::EntraTenants(ids)
                | Grant::GoogleWorkspaces(ids)
                | Grant::Imports(ids) => {
                    assets.extend(ids.iter().map(|id| AssetRef {
                        kind,
                        id: id.clone(),
                    }));
                }
            }
        }
        Ok(Binding { assets })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.parts().join(" "))
    }
}

/// Why an enrolment cannot be bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindError {
    /// The agent declared an asset outside the token's scope.
    #[error("{0}")]
    OutOfScope(String),
    /// The declaration does not fit the scope's shape.
    #[error("{0}")]
    Invalid(String),
}

/// The assets an enrolled agent may write, fixed at enrolment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Binding {
    assets: BTreeSet<AssetRef>,
}

impl Binding {
    /// A binding to exactly `assets`.
    pub fn of(assets: impl IntoIterator<Item = AssetRef>) -> Binding {
        Binding {
            assets: assets.into_iter().collect(),
        }
    }

    /// Whether the agent may write the asset `kind`/`id`.
    pub fn allows(&self, kind: AssetKind, id: &str) -> bool {
        self.assets.iter().any(|a| a.kind == kind && a.id == id)
    }

    /// The assets.
    pub fn assets(&self) -> impl Iterator<Item = &AssetRef> {
        self.assets.iter()
    }

    /// As stored: a JSON array of `kind:id`.
    pub fn to_json(&self) -> String {
        let parts: Vec<String> = self.assets.iter().map(AssetRef::to_string).collect();
        serde_json::to_string(&parts).expect("strings serialise")
    }

    /// Reads [`to_json`](Self::to_json).
    pub fn from_json(text: &str) -> Result<Binding, String> {
        let parts: Vec<String> =
            serde_json::from_str(text).map_err(|e| format!("stored binding unreadable: {e}"))?;
        parts
            .iter()
            .map(|p| p.parse::<AssetRef>())
            .collect::<Result<BTreeSet<_>, _>>()
            .map(|assets| Binding { assets })
    }
}

impl fmt::Display for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.assets.is_empty() {
            return f.write_str("no asset");
        }
        let parts: Vec<String> = self.assets.iter().map(AssetRef::to_string).collect();
        f.write_str(&parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(kind: AssetKind, id: &str) -> AssetRef {
        AssetRef {
            kind,
            id: id.into(),
        }
    }

    #[test]
    fn scopes_parse_round_trip_and_report_every_problem() {
        let s = Scope::parse(&["host", "aws-account:123456789012,210987654321"]).unwrap();
        assert_eq!(s.parts(), ["host", "aws-account:123456789012,210987654321"]);
        assert_eq!(Scope::from_json(&s.to_json()).unwrap(), s);
        let e = Scope::parse(&["host:a,b", "aws-account:12", "github-org", "disk"]).unwrap_err();
        assert_eq!(e.lines().count(), 4, "{e}");
        assert!(e.contains("one token per host"), "{e}");
        assert!(e.contains("12 digits"), "{e}");
        assert!(e.contains("must name its ids"), "{e}");
        assert!(
            Scope::parse::<&str>(&[])
                .unwrap_err()
                .contains("needs a scope")
        );
        assert!(
            Scope::parse(&["host", "host:x"])
                .unwrap_err()
                .contains("twice")
        );
    }

    #[test]
    fn binding_takes_the_declared_host_and_the_named_accounts_only() {
        let s = Scope::parse(&["host", "github-org:acme"]).unwrap();
        let b = s.bind(&[asset(AssetKind::Host, "m-1")]).unwrap();
        assert!(b.allows(AssetKind::Host, "m-1"));
        assert!(b.allows(AssetKind::GithubOrg, "acme"));
        assert!(!b.allows(AssetKind::Host, "m-2"));
        assert!(!b.allows(AssetKind::GithubOrg, "other"));
        assert!(!b.allows(AssetKind::AwsAccount, "123456789012"));
        assert_eq!(Binding::from_json(&b.to_json()).unwrap(), b);
        // Okta organisations are named by host, like accounts by id.
        let okta = Scope::parse(&["okta-org:acme.okta.com,acme-emea.okta-emea.com"]).unwrap();
        assert_eq!(
            okta.parts(),
            ["okta-org:acme-emea.okta-emea.com,acme.okta.com"]
        );
        let b = okta.bind(&[]).unwrap();
        assert!(b.allows(AssetKind::OktaOrg, "acme.okta.com"));
        assert!(!b.allows(AssetKind::OktaOrg, "evil.okta.com"));
        assert!(!b.allows(AssetKind::GithubOrg, "acme.okta.com"));
        for bad in [
            "okta-org:ACME.okta.com",
            "okta-org:acme",
            "okta-org:-a.okta.com",
            "okta-org:a..com",
        ] {
            let e = Scope::parse(&[bad]).unwrap_err();
            assert!(e.contains("by its host in lower case"), "{bad}: {e}");
        }
        assert!(
            Scope::parse(&["okta-org"])
                .unwrap_err()
                .contains("must name its ids")
        );
        // Entra ID tenants are named by tenant id, a lower-case GUID, never by a domain.
        let entra = Scope::parse(&[
            "entra-tenant:f7c3a1d2-5b8e-4c6f-9a0d-2e4b6c8d0f13,0b1e2d3c-4a5f-4e6d-8c7b-9a0f1e2d3c4b",
        ])
        .unwrap();
        assert_eq!(
            entra.parts(),
            [
                "entra-tenant:0b1e2d3c-4a5f-4e6d-8c7b-9a0f1e2d3c4b,f7c3a1d2-5b8e-4c6f-9a0d-2e4b6c8d0f13"
            ]
        );
        let b = entra.bind(&[]).unwrap();
        assert!(b.allows(
            AssetKind::EntraTenant,
            "f7c3a1d2-5b8e-4c6f-9a0d-2e4b6c8d0f13"
        ));
        assert!(!b.allows(
            AssetKind::EntraTenant,
            "00000000-0000-0000-0000-000000000000"
        ));
        assert!(!b.allows(AssetKind::OktaOrg, "f7c3a1d2-5b8e-4c6f-9a0d-2e4b6c8d0f13"));
        for bad in [
            "entra-tenant:F7C3A1D2-5B8E-4C6F-9A0D-2E4B6C8D0F13",
            "entra-tenant:acme.onmicrosoft.com",
            "entra-tenant:f7c3a1d25b8e4c6f9a0d2e4b6c8d0f13",
            "entra-tenant:{f7c3a1d2-5b8e-4c6f-9a0d-2e4b6c8d0f13}",
            "entra-tenant:f7c3a1d2-5b8e-4c6f-9a0d-2e4b6c8d0f1g",
            "entra-tenant:f7c3a1d2-5b8e-4c6f-9a0d2-e4b6c8d0f13",
        ] {
            let e = Scope::parse(&[bad]).unwrap_err();
            assert!(
                e.contains("by its tenant id, a GUID in lower case"),
                "{bad}: {e}"
            );
        }
        // Google Workspace accounts are named by customer id, never by a domain.
        let google = Scope::parse(&["google-workspace:C03az79cb,C01b2c3d4"]).unwrap();
        assert_eq!(google.parts(), ["google-workspace:C01b2c3d4,C03az79cb"]);
        let b = google.bind(&[]).unwrap();
        assert!(b.allows(AssetKind::GoogleWorkspace, "C03az79cb"));
        assert!(!b.allows(AssetKind::GoogleWorkspace, "C03az79cc"));
        assert!(!b.allows(AssetKind::EntraTenant, "C03az79cb"));
        for bad in [
            "google-workspace:acme.example",
            "google-workspace:my_customer",
            "google-workspace:c03az79cb",
            "google-workspace:C03AZ79CB",
            "google-workspace:C03az",
            "google-workspace:C03az79cb0123456789",
            "google-workspace:C03az-79cb",
        ] {
            let e = Scope::parse(&[bad]).unwrap_err();
            assert!(e.contains("by its customer id"), "{bad}: {e}");
        }
        assert!(
            Scope::parse(&["google-workspace"])
                .unwrap_err()
                .contains("must name its ids")
        );
        // Imports of scanner reports are named by their configured name.
        let imports = Scope::parse(&["import:ci-scans,prod scans"]).unwrap();
        assert_eq!(imports.parts(), ["import:ci-scans,prod scans"]);
        let b = imports.bind(&[]).unwrap();
        assert!(b.allows(AssetKind::Import, "ci-scans"));
        assert!(b.allows(AssetKind::Import, "prod scans"));
        assert!(!b.allows(AssetKind::Import, "other"));
        assert!(!b.allows(AssetKind::Host, "ci-scans"));
        assert!(
            Scope::parse(&["import"])
                .unwrap_err()
                .contains("must name its ids")
        );
        // Out of scope: a kind the token does not grant, an account it does not name.
        assert!(matches!(
            s.bind(&[
                asset(AssetKind::Host, "m-1"),
                asset(AssetKind::AwsAccount, "123456789012")
            ]),
            Err(BindError::OutOfScope(_))
        ));
        // One host: none declared, or two, is refused.
        assert!(matches!(s.bind(&[]), Err(BindError::Invalid(_))));
        assert!(matches!(
            s.bind(&[asset(AssetKind::Host, "a"), asset(AssetKind::Host, "b")]),
            Err(BindError::Invalid(_))
        ));
        // A named host binds without a declaration, and refuses another.
        let named = Scope::parse(&["host:m-9"]).unwrap();
        assert!(named.bind(&[]).unwrap().allows(AssetKind::Host, "m-9"));
        assert!(matches!(
            named.bind(&[asset(AssetKind::Host, "m-8")]),
            Err(BindError::OutOfScope(_))
        ));
    }
}
