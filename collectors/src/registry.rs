//! The source registry: one registration per source, from which the agent's `[collectors]`
//! table, the list of enabled sources, every evidence declaration and the evidence reference are
//! derived.
//!
//! A source is a folder (`src/<name>/`) whose configuration type implements [`SourceConfig`]
//! (its [`Registration`]: name, asset kind, documentation, evidence declarations; its
//! validation; its constructor), and one line in the `register_sources!` call of `lib.rs`. The
//! kind of asset it describes, with the kind's wire name and title, is declared once in the pure
//! core (`vouch_evidence::SOURCES`), which the server reads without linking any collector; the
//! tests of this module fail when the two disagree, or when the policy pack or the documentation
//! miss a source.

use std::fmt;

use serde::de::DeserializeOwned;
use vouch_evidence::{AssetKind, SourceInfo};

use crate::{EvidenceSpec, Source};

/// What the registry knows of one source besides its configuration's values.
#[derive(Clone, Copy, Debug)]
pub struct Registration {
    /// The source's name: the key of its `[collectors.<name>]` table, the first segment of its
    /// evidence ids, its folder in the policy pack and [`Source::name`] of what it builds.
    pub name: &'static str,
    /// The kind of asset it describes.
    pub kind: AssetKind,
    /// A paragraph for the evidence reference: what the source reads, and how.
    pub intro: &'static str,
    /// Every area's evidence declarations.
    pub evidence: &'static [&'static [EvidenceSpec]],
}

impl Registration {
    /// Every evidence id the source declares, area by area.
    pub fn specs(&self) -> impl Iterator<Item = &'static EvidenceSpec> + use<> {
        let evidence = self.evidence;
        evidence.iter().flat_map(|area| area.iter())
    }

    /// The source as the pure core declares it (title, kind's wire name), if it does.
    pub fn info(&self) -> Option<&'static SourceInfo> {
        SourceInfo::by_name(self.name)
    }

    /// A title for people: the core's title of the source's kind.
    pub fn title(&self) -> &'static str {
        self.kind.source().title
    }
}

/// A source's `[collectors.<name>]` table: what the registry needs of its configuration type.
pub trait SourceConfig:
    Clone + Default + fmt::Debug + PartialEq + Eq + DeserializeOwned + Send + Sync + 'static
{
    /// The source's registration.
    const REGISTRATION: Registration;

    /// Whether the source is to be collected at all.
    fn enabled(&self) -> bool;

    /// Every problem of the table, as (key below `collectors.<name>`, problem).
    fn problems(&self) -> Vec<(&'static str, String)>;

    /// The source this configuration describes.
    fn source(&self) -> Box<dyn Source>;
}

/// Whether two names are equal, at compile time (the macro's check that a table's key is its
/// source's name).
#[doc(hidden)]
pub const fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Registers sources, one line each: `mod <name>: <ConfigType>` declares the source's folder
/// `src/<name>/` as a module; `<name>: <path::to::ConfigType>` names a configuration type
/// declared elsewhere (tests). Generates `CollectorsSection` (the agent's `[collectors]` table,
/// one field per source, unknown keys refused), its `sources` and `problems`, and `REGISTRY`,
/// in the order given. A key that is not its source's registered name does not compile.
macro_rules! register_sources {
    ($(mod $module:ident: $config:ident),* $(,)?) => {
        $(pub mod $module;)*
        $crate::registry::register_sources!($($module: $module::$config),*);
    };
    ($($name:ident: $config:ty),* $(,)?) => {
        /// `[collectors]` in the agent's configuration: one table per registered source, each
        /// `[collectors.<name>]`; an unknown key is an error.
        #[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct CollectorsSection {
            $(
                #[doc = concat!("`[collectors.", stringify!($name), "]`.")]
                pub $name: $config,
            )*
        }

        $(
            const _: () = assert!(
                $crate::registry::same_name(
                    stringify!($name),
                    <$config as $crate::registry::SourceConfig>::REGISTRATION.name,
                ),
                concat!(
                    "the key `", stringify!($name), "` of `register_sources!` is not its \
                     source's registered name"
                ),
            );
        )*

        /// Every registered source, in the order of the `[collectors]` table.
        pub const REGISTRY: &[$crate::registry::Registration] =
            &[$(<$config as $crate::registry::SourceConfig>::REGISTRATION),*];

        impl CollectorsSection {
            /// The enabled sources, built from their tables, in the registry's order.
            pub fn sources(&self) -> Vec<Box<dyn $crate::Source>> {
                let mut out: Vec<Box<dyn $crate::Source>> = Vec::new();
                $(
                    if $crate::registry::SourceConfig::enabled(&self.$name) {
                        out.push($crate::registry::SourceConfig::source(&self.$name));
                    }
                )*
                out
            }

            /// The registrations of the enabled sources, in the registry's order.
            pub fn enabled(&self) -> Vec<&'static $crate::registry::Registration> {
                let enabled = [$($crate::registry::SourceConfig::enabled(&self.$name)),*];
                REGISTRY
                    .iter()
                    .zip(enabled)
                    .filter_map(|(r, on)| on.then_some(r))
                    .collect()
            }

            /// Every problem of every table, as (key below `collectors`, e.g.
            /// `host.schedule`, problem), table by table in the registry's order.
            pub fn problems(&self) -> Vec<(String, String)> {
                let mut out = Vec::new();
                $(
                    for (key, problem) in
                        $crate::registry::SourceConfig::problems(&self.$name)
                    {
                        out.push((format!("{}.{key}", stringify!($name)), problem));
                    }
                )*
                out
            }
        }
    };
}
pub(crate) use register_sources;

/// The registration named `name`, if one is registered.
pub fn registration(name: &str) -> Option<&'static Registration> {
    crate::REGISTRY.iter().find(|r| r.name == name)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use vouch_evidence::SOURCES;

    use super::*;
    use crate::{CollectorsSection, REGISTRY};

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// The registry and the evidence contract's table list the same sources with the same
    /// kinds: the server (which knows only the table) and the agent (which builds from the
    /// registry) cannot disagree about which sources and kinds exist.
    #[test]
    fn the_registry_and_the_evidence_table_list_the_same_sources() {
        let registered: BTreeSet<&str> = REGISTRY.iter().map(|r| r.name).collect();
        assert_eq!(
            registered.len(),
            REGISTRY.len(),
            "a source registered twice"
        );
        let declared: BTreeSet<&str> = SOURCES.iter().map(|s| s.name).collect();
        assert_eq!(
            registered, declared,
            "collectors::REGISTRY and vouch_evidence::SOURCES differ"
        );
        for r in REGISTRY {
            let info = r.info().unwrap();
            assert_eq!(r.kind, info.kind, "{}: kind", r.name);
            assert_eq!(r.title(), info.title);
            assert!(!r.intro.trim().is_empty(), "{}: no introduction", r.name);
        }
        let kinds: BTreeSet<AssetKind> = REGISTRY.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, AssetKind::ALL.into_iter().collect());
    }

    /// Every id a source declares is `<source>.area.fact`, and no id is declared twice.
    #[test]
    fn every_evidence_id_starts_with_its_sources_name() {
        let mut seen = BTreeSet::new();
        for r in REGISTRY {
            assert!(
                r.specs().next().is_some(),
                "{} declares no evidence",
                r.name
            );
            for spec in r.specs() {
                assert!(
                    spec.id.starts_with(&format!("{}.", r.name))
                        && vouch_evidence::is_valid_evidence_id(spec.id),
                    "{}: {} is not {0}.area.fact",
                    r.name,
                    spec.id
                );
                assert_eq!(
                    SourceInfo::of_evidence_id(spec.id).map(|s| s.name),
                    Some(r.name)
                );
                assert!(seen.insert(spec.id), "{} declared twice", spec.id);
            }
        }
    }

    /// Each registered source has its `[collectors.<name>]` table, which builds a source of the
    /// same name when enabled; a table no source registers is refused.
    #[test]
    fn every_registered_source_has_its_table_and_builds_itself() {
        let none: CollectorsSection = toml::from_str("").unwrap();
        assert_eq!(none, CollectorsSection::default());
        for r in REGISTRY {
            let section: CollectorsSection =
                toml::from_str(&format!("[{}]\nenabled = true\n", r.name)).unwrap();
            let built: Vec<&str> = section.sources().iter().map(|s| s.name()).collect();
            assert!(built.contains(&r.name), "{}: built {built:?}", r.name);
            assert!(section.enabled().iter().any(|e| e.name == r.name));
            assert_eq!(registration(r.name).map(|e| e.kind), Some(r.kind));
        }
        let unknown = toml::from_str::<CollectorsSection>("[mainframe]\nenabled = true\n")
            .unwrap_err()
            .to_string();
        let expected: Vec<String> = REGISTRY.iter().map(|r| format!("`{}`", r.name)).collect();
        assert!(
            unknown.contains(&format!("expected one of {}", expected.join(", "))),
            "{unknown}"
        );
    }

    /// The generated reference has one section per registered source, and none for a source
    /// that is not registered; the agent's example configuration shows every source's table.
    #[test]
    fn the_docs_have_one_section_per_source() {
        let sections = |text: &str| -> BTreeSet<String> {
            text.lines()
                .filter_map(|l| l.strip_prefix("## "))
                .filter_map(|h| h.split('`').nth(1))
                .map(String::from)
                .collect()
        };
        let registered: BTreeSet<String> = REGISTRY.iter().map(|r| r.name.to_string()).collect();
        assert_eq!(sections(&crate::reference_markdown()), registered);
        let committed = std::fs::read_to_string(repo().join("docs/evidence.md")).unwrap();
        assert_eq!(
            sections(&committed),
            registered,
            "docs/evidence.md: regenerate it (`UPDATE_DOCS=1 cargo test -p vouch-collectors reference`)"
        );
        let example = std::fs::read_to_string(repo().join("agent/agent.example.toml")).unwrap();
        for r in REGISTRY {
            assert!(
                example.contains(&format!("[collectors.{}]", r.name)),
                "agent/agent.example.toml does not show [collectors.{}]",
                r.name
            );
        }
    }

    /// A trivial source added through the one registration mechanism: a module of its own
    /// (here inline; a real source is a folder `src/<name>/`) and one line of
    /// `register_sources!`. It reuses the host's kind of asset: a new kind is a new line of
    /// the evidence contract's table (`vouch_evidence::SOURCES`), an enum a test cannot extend.
    mod example {
        use std::sync::Arc;
        use std::time::{Duration, Instant};

        use serde::Deserialize;
        use tokio_util::sync::CancellationToken;
        use vouch_evidence::{Asset, AssetKind};

        use crate::registry::{Registration, SourceConfig};
        use crate::{
            CollectContext, CollectError, Collector, EvidenceSpec, Facts, Source, ValueType, fact,
            file,
        };

        /// The area's declarations.
        const EVIDENCE: &[EvidenceSpec] = &[EvidenceSpec {
            id: "example.hello.greeting",
            value_type: ValueType::String,
            meaning: "The greeting of `/etc/hello`.",
            source: "`/etc/hello`",
            context_only: None,
        }];

        /// `[collectors.example]`.
        #[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct ExampleConfig {
            pub enabled: bool,
            pub schedule: String,
        }

        impl Default for ExampleConfig {
            fn default() -> Self {
                ExampleConfig {
                    enabled: false,
                    schedule: "0 0 * * * *".into(),
                }
            }
        }

        impl SourceConfig for ExampleConfig {
            const REGISTRATION: Registration = Registration {
                name: "example",
                kind: AssetKind::Host,
                intro: "Says hello.",
                evidence: &[EVIDENCE],
            };
            fn enabled(&self) -> bool {
                self.enabled
            }
            fn problems(&self) -> Vec<(&'static str, String)> {
                let mut errors = Vec::new();
                crate::remote::check_schedule_and_budget(
                    &mut errors,
                    &self.schedule,
                    "0 0 * * * *",
                    1,
                );
                errors
            }
            fn source(&self) -> Box<dyn Source> {
                Box::new(ExampleSource(self.clone()))
            }
        }

        struct ExampleSource(ExampleConfig);
        struct Hello;

        #[async_trait::async_trait]
        impl Collector for Hello {
            fn name(&self) -> &'static str {
                "example.hello"
            }
            fn evidence(&self) -> &'static [EvidenceSpec] {
                EVIDENCE
            }
            async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
                let greeting = ctx.read("/etc/hello").map(|s| s.trim().to_string());
                Ok(vec![fact(
                    "example.hello.greeting",
                    file("/etc/hello"),
                    greeting,
                )])
            }
        }

        #[async_trait::async_trait]
        impl Source for ExampleSource {
            fn name(&self) -> &'static str {
                <ExampleConfig as SourceConfig>::REGISTRATION.name
            }
            async fn asset(&self, _: &CollectContext) -> Asset {
                Asset {
                    kind: AssetKind::Host,
                    id: "example".into(),
                    name: "example".into(),
                }
            }
            fn collectors(&self) -> Vec<Arc<dyn Collector>> {
                vec![Arc::new(Hello)]
            }
            fn context(&self, shutdown: CancellationToken) -> CollectContext {
                CollectContext {
                    root: "/nonexistent".into(),
                    deadline: Instant::now() + Duration::from_secs(10),
                    shutdown,
                    clock: vouch_evidence::Clock::System,
                }
            }
            fn schedule(&self) -> &str {
                &self.0.schedule
            }
        }
    }

    /// The registry of `lib.rs` with the example source added: its one line.
    mod with_example {
        crate::registry::register_sources! {
            host: crate::host::HostConfig,
            aws: crate::aws::AwsConfig,
            github: crate::github::GithubConfig,
            kubernetes: crate::kubernetes::KubernetesConfig,
            okta: crate::okta::OktaConfig,
            entra: crate::entra::EntraConfig,
            google_workspace: crate::google_workspace::GoogleWorkspaceConfig,
            import: crate::import::ImportConfig,
            example: super::example::ExampleConfig,
        }
    }

    /// Everything derived from the registry picks the example source up: the evidence ids,
    /// the reference, the `[collectors]` table (parsing, unknown keys, problems with their key)
    /// and the enabled sources, which run.
    #[tokio::test]
    async fn a_source_added_by_one_registration_appears_everywhere() {
        use with_example::{CollectorsSection, REGISTRY};

        let ids: Vec<&str> = crate::specs_of(REGISTRY).iter().map(|s| s.id).collect();
        assert!(ids.contains(&"example.hello.greeting"));
        assert_eq!(ids.len(), crate::all_specs().len() + 1);

        let docs = crate::reference_markdown_of(REGISTRY);
        assert!(
            docs.contains("\n## Host (`example`)\n\nSays hello.\n"),
            "{docs}"
        );
        assert!(docs.contains("| `example.hello.greeting` | string |"));
        assert!(docs.contains("configured in `[collectors.example]`"));

        let section: CollectorsSection =
            toml::from_str("[example]\nenabled = true\n[host]\nenabled = false\n").unwrap();
        assert!(section.example.enabled);
        let names: Vec<&str> = section.sources().iter().map(|s| s.name()).collect();
        assert_eq!(names, ["example"]);
        assert_eq!(
            section.enabled().iter().map(|r| r.name).collect::<Vec<_>>(),
            ["example"]
        );

        let bad: CollectorsSection = toml::from_str("[example]\nschedule = \"hourly\"\n").unwrap();
        let keys: Vec<String> = bad.problems().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["example.schedule"]);
        let typo = toml::from_str::<CollectorsSection>("[exampel]\n").unwrap_err();
        assert!(typo.to_string().contains("`example`"), "{typo}");

        let source = &section.sources()[0];
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/hello"), "hello\n").unwrap();
        let collected = crate::run_source(
            source.as_ref(),
            &crate::CollectContext::for_test(dir.path()),
        )
        .await;
        assert_eq!(
            collected.evidence["example.hello.greeting"].value,
            serde_json::json!("hello")
        );

        // The real registry is unchanged by the test's.
        assert!(!crate::REGISTRY.iter().any(|r| r.name == "example"));
    }
}
