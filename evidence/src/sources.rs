//! The evidence sources, each declared once: its name, the kind of asset it describes (with the
//! kind's wire name) and a title for people.
//!
//! [`AssetKind`], [`AssetKind::ALL`], its wire names, its parsing and [`SOURCES`] are all
//! generated from the one table at the bottom of this file, so no list of kinds or sources is
//! written twice. A source's name is also the key of its `[collectors.<name>]` table in the
//! agent's configuration, the first segment of its evidence ids (`<name>.area.fact`) and its
//! folder in the policy pack (`policies/pack/<name>/`). The collectors' registry
//! (`vouch_collectors::REGISTRY`) holds the rest of a source (its configuration, constructor and
//! evidence declarations) and a test checks that the two list the same sources.
//!
//! The order of the table is the order of [`AssetKind`]'s variants, hence of its `Ord`: keep it.
//! Adding a kind changes the wire contract (a server refuses kinds it does not know), so a new
//! kind is a new version of the contract, not a local change.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One evidence source, as the pure core knows it (no configuration, no I/O).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceInfo {
    /// The source's name (`host`): the key of its `[collectors.<name>]` table, the first
    /// segment of its evidence ids and its folder in the policy pack.
    pub name: &'static str,
    /// The kind of asset it describes.
    pub kind: AssetKind,
    /// A title for people, e.g. `AWS account`.
    pub title: &'static str,
    /// Whether the agent names the asset itself and declares it at enrolment (its host, its
    /// cluster), rather than the enrolment token's scope naming it (accounts, organisations).
    pub named_by_agent: bool,
}

impl SourceInfo {
    /// The prefix of the source's evidence ids: its name and a dot (`host.`).
    pub fn evidence_prefix(&self) -> String {
        format!("{}.", self.name)
    }

    /// Whether `id` is one of this source's evidence ids (it starts with `<name>.`).
    pub fn owns_evidence_id(&self, id: &str) -> bool {
        id.strip_prefix(self.name)
            .is_some_and(|rest| rest.starts_with('.'))
    }

    /// The source called `name`, if one is declared.
    pub fn by_name(name: &str) -> Option<&'static SourceInfo> {
        SOURCES.iter().find(|s| s.name == name)
    }

    /// The source whose evidence id `id` is (by its first segment), if one is declared.
    pub fn of_evidence_id(id: &str) -> Option<&'static SourceInfo> {
        SOURCES.iter().find(|s| s.owns_evidence_id(id))
    }
}

/// Declares the sources: generates [`AssetKind`] (its variants, serde names, `ALL`, `as_str`,
/// `parse`) and [`SOURCES`] from one line per source.
macro_rules! sources {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident = $wire:literal, source $name:literal, title $title:literal,
            named_by_agent $named:literal;
    )*) => {
        /// What kind of thing an asset is. Generated from the sources table in
        /// `evidence/src/sources.rs`.
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        pub enum AssetKind {
            $(
                $(#[doc = $doc])*
                #[serde(rename = $wire)]
                $variant,
            )*
        }

        impl AssetKind {
            /// Every kind, in a stable order.
            pub const ALL: [AssetKind; [$($wire),*].len()] = [$(AssetKind::$variant),*];

            /// The kebab-case name used on the wire.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $(AssetKind::$variant => $wire,)*
                }
            }

            /// The source that describes assets of this kind.
            pub fn source(&self) -> &'static SourceInfo {
                &SOURCES[*self as usize]
            }
        }

        /// Every source, in the order of [`AssetKind::ALL`] (one per kind).
        pub const SOURCES: &[SourceInfo] = &[$(
            SourceInfo {
                name: $name,
                kind: AssetKind::$variant,
                title: $title,
                named_by_agent: $named,
            },
        )*];
    };
}

// The table: one line per source. Wire names are part of the signed snapshot format.
sources! {
    /// A Linux host (physical, virtual or a container's node).
    Host = "host", source "host", title "Host", named_by_agent true;
    /// A Kubernetes cluster.
    KubernetesCluster = "kubernetes-cluster", source "kubernetes", title "Kubernetes cluster",
        named_by_agent true;
    /// An AWS account.
    AwsAccount = "aws-account", source "aws", title "AWS account", named_by_agent false;
    /// A GitHub organisation.
    GithubOrg = "github-org", source "github", title "GitHub organisation",
        named_by_agent false;
    /// An Okta organisation (its identity provider tenant), named by its host.
    OktaOrg = "okta-org", source "okta", title "Okta organisation", named_by_agent false;
    /// A Microsoft Entra ID tenant (its directory), named by its tenant id.
    EntraTenant = "entra-tenant", source "entra", title "Microsoft Entra ID tenant",
        named_by_agent false;
    /// A Google Workspace (or Cloud Identity) account, named by its customer id.
    GoogleWorkspace = "google-workspace", source "google_workspace", title "Google Workspace",
        named_by_agent false;
    /// The reports of scanners a team already runs (SARIF, CycloneDX, Trivy, Grype, Prowler's
    /// OCSF), imported from files by the agent, named by the import's configured name.
    Import = "import", source "import", title "Imported reports", named_by_agent false;
}

impl AssetKind {
    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Every kind's wire name, comma-separated (`host, kubernetes-cluster, …`), for messages
    /// that list the kinds a reader may give.
    pub fn wire_names() -> String {
        Self::ALL.map(|k| k.as_str()).join(", ")
    }

    /// Whether the agent names an asset of this kind itself and declares it at enrolment (a
    /// host, a cluster); the others are named by the enrolment token's scope.
    pub fn named_by_agent(&self) -> bool {
        self.source().named_by_agent
    }
}

impl fmt::Display for AssetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generated wire names are serde's, byte for byte, and those of the signed
    /// snapshots already on disk (the kebab-case of the variants).
    #[test]
    fn wire_names_are_serdes_and_unchanged() {
        let expected = [
            (AssetKind::Host, "host"),
            (AssetKind::KubernetesCluster, "kubernetes-cluster"),
            (AssetKind::AwsAccount, "aws-account"),
            (AssetKind::GithubOrg, "github-org"),
            (AssetKind::OktaOrg, "okta-org"),
            (AssetKind::EntraTenant, "entra-tenant"),
            (AssetKind::GoogleWorkspace, "google-workspace"),
            (AssetKind::Import, "import"),
        ];
        assert_eq!(AssetKind::ALL.map(|k| (k, k.as_str())), expected);
        for kind in AssetKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<AssetKind>(&json).unwrap(), kind);
            assert_eq!(AssetKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(AssetKind::parse("Host"), None);
        assert_eq!(
            AssetKind::wire_names(),
            "host, kubernetes-cluster, aws-account, github-org, okta-org, entra-tenant, google-workspace, import"
        );
        let unknown = serde_json::from_str::<AssetKind>("\"mainframe\"").unwrap_err();
        assert!(
            unknown.to_string().contains(
                "expected one of `host`, `kubernetes-cluster`, `aws-account`, `github-org`, `okta-org`, `entra-tenant`, `google-workspace`, `import`"
            ),
            "{unknown}"
        );
    }

    /// One source per kind, in the kinds' order, with distinct names that can start an
    /// evidence id.
    #[test]
    fn one_source_per_kind() {
        assert_eq!(SOURCES.len(), AssetKind::ALL.len());
        for (source, kind) in SOURCES.iter().zip(AssetKind::ALL) {
            assert_eq!(source.kind, kind);
            assert_eq!(kind.source(), source);
            assert_eq!(SourceInfo::by_name(source.name), Some(source));
            assert!(
                !source.name.is_empty()
                    && source
                        .name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                source.name
            );
            assert!(!source.title.is_empty());
        }
        assert_eq!(
            SourceInfo::of_evidence_id("kubernetes.rbac.x").map(|s| s.kind),
            Some(AssetKind::KubernetesCluster)
        );
        assert_eq!(SourceInfo::of_evidence_id("hostile.x"), None);
        assert_eq!(
            AssetKind::ALL.map(|k| k.named_by_agent()),
            [true, true, false, false, false, false, false, false]
        );
    }
}
