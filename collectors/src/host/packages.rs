//! Patch level: the package database, pending (security) updates against the package index,
//! automatic security updates and whether a reboot is pending. dpkg/apt on Debian and Ubuntu,
//! rpm/dnf on the RHEL family.

mod apt;
mod aptconf;
mod dpkg;
mod rpm;
mod version;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use async_trait::async_trait;
use vouch_evidence::{Source as ItemSource, Timestamp};

use super::HostConfig;
use crate::{
    CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, command_line,
    describe_io, fact, file,
};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "host.packages.manager",
        value_type: ValueType::String,
        meaning: "The package database found: `dpkg` (Debian, Ubuntu) or `rpm` (RHEL family).",
        source: "/var/lib/dpkg/status, else /var/lib/rpm",
        context_only: Some("inventory: it describes the asset and requires nothing."),
    },
    EvidenceSpec {
        id: "host.packages.installed_count",
        value_type: ValueType::Integer,
        meaning: "Packages installed (dpkg: state `installed`, held packages included; rpm: \
                  every package except the `gpg-pubkey` key entries).",
        source: "/var/lib/dpkg/status; `rpm -qa`",
        context_only: Some("inventory: it describes the asset and requires nothing."),
    },
    EvidenceSpec {
        id: "host.packages.newest_install_time",
        value_type: ValueType::Timestamp,
        meaning: "When a package was last installed or upgraded (UTC). dpkg: the newest \
                  modification time of its per-package file lists, which dpkg rewrites each \
                  time it unpacks that package (dpkg.log is rotated away and kept in local \
                  time); rpm: the newest install time.",
        source: "/var/lib/dpkg/info/*.list; `rpm -qa` (INSTALLTIME)",
        context_only: Some(
            "when the host last changed, for context; patching is judged from pending security updates.",
        ),
    },
    EvidenceSpec {
        id: "host.packages.lists_updated_at",
        value_type: ValueType::Timestamp,
        meaning: "How current the package index is: when the newest index held locally was \
                  published (apt: newest `Date` of the Release files; dnf: newest metadata \
                  `timestamp` of the cached repositories). The last refresh was at or after \
                  this; pending counts are only as current as the index.",
        source: "/var/lib/apt/lists/*Release; /var/cache/dnf/*/repodata/repomd.xml",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.packages.pending_updates",
        value_type: ValueType::Integer,
        meaning: "Installed packages with a newer version available. apt: a higher version \
                  (dpkg ordering) of the same package and architecture in a list apt upgrades \
                  from on its own (lists marked NotAutomatic, such as backports, left out; \
                  pinning in /etc/apt/preferences not applied); dnf: upgrades in the cached \
                  metadata.",
        source: "/var/lib/apt/lists/*_Packages[.lz4] and /var/lib/dpkg/status; \
                 `dnf repoquery --upgrades --cacheonly`",
        context_only: Some(
            "every pending update, for context; pending security updates are judged (host.packages.no_pending_security_updates).",
        ),
    },
    EvidenceSpec {
        id: "host.packages.pending_security_updates",
        value_type: ValueType::Integer,
        meaning: "Of those, packages for which a security archive (Release label or suite \
                  `-security`, or a list named after one) offers a higher version than the one \
                  installed; dnf: upgrades that fix a security advisory.",
        source: "/var/lib/apt/lists/*_Packages[.lz4] and /var/lib/dpkg/status; \
                 `dnf repoquery --upgrades --security --cacheonly`",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.packages.pending_security_list",
        value_type: ValueType::StringList,
        meaning: "`name installed -> candidate` for each pending security update (candidate: \
                  the newest version on offer), sorted, at most 200 (the count is complete). \
                  apt writes foreign-architecture packages `name:arch`, dnf writes `name.arch`.",
        source: "as host.packages.pending_security_updates",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.packages.auto_security_updates",
        value_type: ValueType::Bool,
        meaning: "Security updates are installed automatically. apt: unattended-upgrades \
                  installed, `APT::Periodic::Unattended-Upgrade` on (apt.conf.d read in apt's \
                  order, later settings override; `APT::Periodic::Enable` not 0), an allowed \
                  origin naming security, apt-daily-upgrade.timer not masked. dnf: \
                  dnf-automatic installed, `upgrade_type` default or security, and \
                  dnf-automatic-install.timer enabled, or dnf-automatic.timer with \
                  `apply_updates = yes`.",
        source: "/var/lib/dpkg/status, /etc/apt/apt.conf.d, /etc/apt/apt.conf; `rpm -qa`, \
                 /etc/dnf/automatic.conf, /etc/systemd/system/timers.target.wants",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.system.reboot_required",
        value_type: ValueType::Bool,
        meaning: "A reboot is needed to run updated software: /run/reboot-required exists, or \
                  an installed kernel is newer than the running one (dpkg: a kernel image of \
                  the running flavour; rpm: kernel-core).",
        source: "/run/reboot-required; /var/lib/dpkg/status or `rpm -qa`, against \
                 /proc/sys/kernel/osrelease",
        context_only: None,
    },
];

/// The collector.
pub struct Packages {
    /// Where the apt lists' offers are kept between processes (the agent's cache directory).
    keep_in: Option<PathBuf>,
}

impl Packages {
    /// The collector, keeping what it may in the configuration's cache directory.
    pub fn new(config: &HostConfig) -> Self {
        Packages {
            keep_in: config.cache_dir.clone(),
        }
    }
}

const DPKG_STATUS: &str = "/var/lib/dpkg/status";
const DPKG_INFO: &str = "/var/lib/dpkg/info";
const RPM_DB: &str = "/var/lib/rpm";
const RPM: &str = "/usr/bin/rpm";
const DNF: &str = "/usr/bin/dnf";
const DNF_CACHE: &str = "/var/cache/dnf";
const OSRELEASE: &str = "/proc/sys/kernel/osrelease";
const REBOOT_FLAGS: &[&str] = &["/run/reboot-required", "/var/run/reboot-required"];
const APT_PARTS: &str = "/etc/apt/apt.conf.d";
const APT_CONF: &str = "/etc/apt/apt.conf";
const SYSTEMD_ETC: &str = "/etc/systemd/system";

/// The most pending security updates listed by name.
pub const MAX_LISTED: usize = 200;

/// A fact's source and value (or the reason it is unavailable).
type Item = (ItemSource, Result<serde_json::Value, String>);

/// An [`Item`] of any JSON value.
fn item<V: Into<serde_json::Value>>(source: ItemSource, value: Result<V, String>) -> Item {
    (source, value.map(Into::into))
}

/// The pending updates and the listed security ones.
struct Pending {
    count: u64,
    security: u64,
    security_list: Vec<String>,
}

/// Every id's item, in [`EVIDENCE`]'s order.
fn facts(items: [Item; 9]) -> Facts {
    EVIDENCE
        .iter()
        .zip(items)
        .map(|(spec, (source, value))| fact(spec.id, source, value))
        .collect()
}

/// The three pending items from one result.
fn pending_items(source: ItemSource, pending: Result<Pending, String>) -> [Item; 3] {
    match pending {
        Ok(p) => {
            let mut list = p.security_list;
            list.sort();
            list.truncate(MAX_LISTED);
            [
                item(source.clone(), Ok(p.count)),
                item(source.clone(), Ok(p.security)),
                item(source, Ok(list)),
            ]
        }
        Err(e) => [
            item::<bool>(source.clone(), Err(e.clone())),
            item::<bool>(source.clone(), Err(e.clone())),
            item::<bool>(source, Err(e)),
        ],
    }
}

/// An instant in seconds since the epoch as an evidence timestamp.
fn timestamp(secs: i64) -> Result<String, String> {
    Timestamp::from_unix_micros(secs.saturating_mul(1_000_000))
        .map(|t| t.to_string())
        .ok_or_else(|| format!("{secs} is not a valid time"))
}

/// A file time as an evidence timestamp.
fn system_time(t: SystemTime) -> Result<String, String> {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|_| "a modification time before 1970".to_string())?
        .as_secs();
    timestamp(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// Whether a file or symlink (dangling or not) exists below the root.
fn link_present(ctx: &CollectContext, abs: &str) -> bool {
    std::fs::symlink_metadata(ctx.path(abs)).is_ok()
}

/// The reboot flag file, when present.
fn reboot_flag(ctx: &CollectContext) -> Option<&'static str> {
    REBOOT_FLAGS.iter().copied().find(|f| link_present(ctx, f))
}

/// The running kernel's release.
fn running_kernel(ctx: &CollectContext) -> Result<String, String> {
    ctx.read(OSRELEASE).map(|s| s.trim().to_string())
}

/// Which package database the host has.
fn database(ctx: &CollectContext) -> Result<&'static str, String> {
    match std::fs::metadata(ctx.path(DPKG_STATUS)) {
        Ok(_) => return Ok("dpkg"),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(describe_io(DPKG_STATUS, &e));
        }
        Err(_) => {}
    }
    if ctx.path(RPM_DB).is_dir() {
        return Ok("rpm");
    }
    Err(format!("not found: {DPKG_STATUS} or {RPM_DB}"))
}

#[async_trait]
impl Collector for Packages {
    fn name(&self) -> &'static str {
        "host.packages"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        match database(ctx) {
            Ok("dpkg") => {
                let ctx = ctx.clone();
                let keep_in = self.keep_in.clone();
                tokio::task::spawn_blocking(move || dpkg_facts(&ctx, keep_in.as_deref()))
                    .await
                    .map_err(|e| CollectError::Failed(format!("reading dpkg and apt: {e}")))
            }
            Ok(_) => Ok(rpm_facts(ctx).await),
            Err(reason) => {
                let reboot = match reboot_flag(ctx) {
                    Some(flag) => item(file(flag), Ok(true)),
                    None => item::<bool>(file(REBOOT_FLAGS[0]), Err(reason.clone())),
                };
                let mut items: [Item; 9] =
                    std::array::from_fn(|_| item::<bool>(file(DPKG_STATUS), Err(reason.clone())));
                items[8] = reboot;
                Ok(facts(items))
            }
        }
    }
}

// ---------------------------------------------------------------- dpkg and apt

fn dpkg_facts(ctx: &CollectContext, keep_in: Option<&Path>) -> Facts {
    let status = ctx.read(DPKG_STATUS).map(|t| dpkg::parse_status(&t));
    let lists = apt::Lists::scan(ctx);
    let lists_source = file(apt::LISTS_DIR);
    let pending = status
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|s| apt_pending(ctx, s, lists.as_ref().map_err(Clone::clone)?, keep_in));
    let [pending, security, security_list] = pending_items(lists_source.clone(), pending);
    let status_ref = status.as_ref().map_err(Clone::clone);
    facts([
        item(file(DPKG_STATUS), status_ref.clone().map(|_| "dpkg")),
        item(
            file(DPKG_STATUS),
            status_ref.clone().map(|s| s.installed.len() as u64),
        ),
        item(file(DPKG_INFO), newest_list_mtime(ctx)),
        item(
            lists_source,
            lists
                .and_then(|l| l.newest_release_date())
                .map(|d| Timestamp::from_datetime(d).to_string()),
        ),
        pending,
        security,
        security_list,
        apt_auto_updates(ctx, status_ref.clone()),
        dpkg_reboot(ctx, status_ref),
    ])
}

/// Installed packages against the lists' offers (kept in `keep_in` between processes).
fn apt_pending(
    ctx: &CollectContext,
    status: &dpkg::Status,
    lists: &apt::Lists,
    keep_in: Option<&Path>,
) -> Result<Pending, String> {
    let mut wanted: Vec<String> = status.installed.iter().map(|p| p.name.clone()).collect();
    wanted.sort();
    wanted.dedup();
    let index = lists.index(ctx, &wanted, status.native.as_deref(), keep_in)?;
    let mut pending = Pending {
        count: 0,
        security: 0,
        security_list: Vec::new(),
    };
    for p in &status.installed {
        let arch = status.match_arch(&p.arch);
        let Some(offer) = index.offers.get(&(p.name.clone(), arch.to_string())) else {
            continue;
        };
        let Some(candidate) = newer(&offer.newest, &p.version) else {
            continue;
        };
        pending.count += 1;
        if newer(&offer.newest_security, &p.version).is_some() {
            pending.security += 1;
            let foreign = status.native.as_deref().is_some_and(|n| n != arch);
            let name = if foreign {
                format!("{}:{arch}", p.name)
            } else {
                p.name.clone()
            };
            pending
                .security_list
                .push(format!("{name} {} -> {candidate}", p.version));
        }
    }
    Ok(pending)
}

/// The version on offer when it is newer than the installed one.
fn newer<'a>(offer: &'a Option<String>, installed: &str) -> Option<&'a str> {
    offer
        .as_deref()
        .filter(|v| version::dpkg_cmp(v, installed).is_gt())
}

/// The newest modification time of dpkg's per-package file lists.
fn newest_list_mtime(ctx: &CollectContext) -> Result<String, String> {
    let entries = std::fs::read_dir(ctx.path(DPKG_INFO)).map_err(|e| describe_io(DPKG_INFO, &e))?;
    let newest = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".list"))
        .filter_map(|e| e.metadata().ok()?.modified().ok())
        .max()
        .ok_or_else(|| format!("no package file lists (*.list) in {DPKG_INFO}"))?;
    system_time(newest)
}

/// apt's configuration as apt reads it: the parts in name order, then apt.conf.
fn apt_config(ctx: &CollectContext) -> Result<aptconf::AptConfig, String> {
    let mut names: Vec<String> = match std::fs::read_dir(ctx.path(APT_PARTS)) {
        Ok(entries) => entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| aptconf::is_config_part(n))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(describe_io(APT_PARTS, &e)),
    };
    names.sort();
    let include = |p: &str| ctx.read(p).ok();
    let mut config = aptconf::AptConfig::default();
    for name in names {
        let text = ctx.read(&format!("{APT_PARTS}/{name}"))?;
        config.apply(&text, &include);
    }
    match ctx.read(APT_CONF) {
        Ok(text) => config.apply(&text, &include),
        Err(e) if e.starts_with("not found") => {}
        Err(e) => return Err(e),
    }
    Ok(config)
}

fn apt_auto_updates(ctx: &CollectContext, status: Result<&dpkg::Status, String>) -> Item {
    match status {
        Ok(s) if !s.has("unattended-upgrades") => return item(file(DPKG_STATUS), Ok(false)),
        Ok(_) => {}
        Err(e) => return item::<bool>(file(DPKG_STATUS), Err(e)),
    }
    let on = apt_config(ctx).map(|c| {
        let enabled = c
            .get("APT::Periodic::Enable")
            .is_none_or(|v| v.trim() != "0");
        let security_origin = [
            "Unattended-Upgrade::Origins-Pattern",
            "Unattended-Upgrade::Allowed-Origins",
        ]
        .iter()
        .flat_map(|k| c.list(k))
        .any(|o| o.to_ascii_lowercase().contains("security"));
        let masked =
            std::fs::read_link(ctx.path(&format!("{SYSTEMD_ETC}/apt-daily-upgrade.timer")))
                .is_ok_and(|t| t == std::path::Path::new("/dev/null"));
        enabled
            && aptconf::periodic_on(c.get("APT::Periodic::Unattended-Upgrade"))
            && security_origin
            && !masked
    });
    item(file(APT_PARTS), on)
}

fn dpkg_reboot(ctx: &CollectContext, status: Result<&dpkg::Status, String>) -> Item {
    if let Some(flag) = reboot_flag(ctx) {
        return item(file(flag), Ok(true));
    }
    let kernels = match status {
        Ok(s) => s.kernel_releases(),
        Err(e) => return item::<bool>(file(DPKG_STATUS), Err(e)),
    };
    if kernels.is_empty() {
        // No kernel package (a container): nothing installed could need a reboot.
        return item(file(REBOOT_FLAGS[0]), Ok(false));
    }
    item(
        file(OSRELEASE),
        running_kernel(ctx).map(|r| dpkg::newer_kernel_installed(&r, &kernels)),
    )
}

// ---------------------------------------------------------------- rpm and dnf

async fn rpm_facts(ctx: &CollectContext) -> Facts {
    let qa_args = ["-qa", "--queryformat", rpm::QUERY_FORMAT];
    let qa_source = ItemSource::Command(command_line(RPM, &qa_args));
    let rpms = ctx
        .command(RPM, &qa_args)
        .await
        .and_then(|out| rpm::parse_rpm_qa(&out));
    let upgrades_args = [
        "repoquery",
        "--upgrades",
        "--cacheonly",
        "--quiet",
        "--queryformat",
        rpm::DNF_QUERY_FORMAT,
    ];
    let security_args = [
        "repoquery",
        "--upgrades",
        "--security",
        "--cacheonly",
        "--quiet",
        "--queryformat",
        rpm::DNF_QUERY_FORMAT,
    ];
    let pending = match &rpms {
        Ok(rpms) => dnf_pending(ctx, rpms, &upgrades_args, &security_args).await,
        Err(e) => Err(e.clone()),
    };
    let [pending, security, security_list] = pending_items(
        ItemSource::Command(command_line(DNF, &security_args)),
        pending,
    );
    let rpms_ref = rpms.as_ref().map_err(Clone::clone);
    facts([
        item(file(RPM_DB), Ok("rpm")),
        item(qa_source.clone(), rpms_ref.clone().map(|r| r.len() as u64)),
        item(
            qa_source.clone(),
            rpms_ref.clone().and_then(|r| {
                let newest = r.iter().map(|p| p.install_time).max();
                newest
                    .ok_or_else(|| "rpm lists no package".to_string())
                    .and_then(timestamp)
            }),
        ),
        item(file(DNF_CACHE), dnf_metadata_time(ctx)),
        pending,
        security,
        security_list,
        dnf_auto_updates(ctx, qa_source.clone(), rpms_ref.clone()),
        rpm_reboot(ctx, qa_source, rpms_ref),
    ])
}

async fn dnf_pending(
    ctx: &CollectContext,
    rpms: &[rpm::Rpm],
    upgrades_args: &[&str],
    security_args: &[&str],
) -> Result<Pending, String> {
    let upgrades = rpm::parse_repoquery(&ctx.command(DNF, upgrades_args).await?)?;
    let security = rpm::parse_repoquery(&ctx.command(DNF, security_args).await?)?;
    let candidates: BTreeMap<&str, &str> = upgrades
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let security_list = security
        .iter()
        .map(|(name_arch, evr)| {
            let installed = rpms
                .iter()
                .filter(|r| format!("{}.{}", r.name, r.arch) == *name_arch)
                .map(|r| r.evr.as_str())
                .max_by(|a, b| version::rpm_evr_cmp(a, b))
                .unwrap_or("(not installed)");
            let candidate = candidates.get(name_arch.as_str()).copied().unwrap_or(evr);
            format!(
                "{name_arch} {} -> {}",
                rpm::display_evr(installed),
                rpm::display_evr(candidate)
            )
        })
        .collect();
    Ok(Pending {
        count: upgrades.len() as u64,
        security: security.len() as u64,
        security_list,
    })
}

/// The newest metadata timestamp among dnf's cached repositories.
fn dnf_metadata_time(ctx: &CollectContext) -> Result<String, String> {
    let entries = std::fs::read_dir(ctx.path(DNF_CACHE)).map_err(|e| describe_io(DNF_CACHE, &e))?;
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    let mut newest = None;
    for name in names {
        let abs = format!("{DNF_CACHE}/{name}/repodata/repomd.xml");
        match ctx.read(&abs) {
            Ok(xml) => newest = newest.max(rpm::repomd_timestamp(&xml)),
            Err(e) if e.starts_with("not found") => {}
            Err(e) => return Err(e),
        }
    }
    newest
        .ok_or_else(|| {
            format!("no cached repository metadata (*/repodata/repomd.xml) in {DNF_CACHE}")
        })
        .and_then(timestamp)
}

fn dnf_auto_updates(
    ctx: &CollectContext,
    qa_source: ItemSource,
    rpms: Result<&Vec<rpm::Rpm>, String>,
) -> Item {
    const CONF: &str = "/etc/dnf/automatic.conf";
    match rpms {
        Ok(r) if !r.iter().any(|p| p.name == "dnf-automatic") => return item(qa_source, Ok(false)),
        Ok(_) => {}
        Err(e) => return item::<bool>(file(CONF), Err(e)),
    }
    let conf = match ctx.read(CONF) {
        Ok(text) => Ok(text),
        Err(e) if e.starts_with("not found") => Ok(String::new()),
        Err(e) => Err(e),
    };
    let on = conf.map(|text| {
        let apply = rpm::ini_value(&text, "commands", "apply_updates").is_some_and(rpm::dnf_bool);
        let kind = rpm::ini_value(&text, "commands", "upgrade_type").unwrap_or("default");
        let timer = |t: &str| link_present(ctx, &format!("{SYSTEMD_ETC}/timers.target.wants/{t}"));
        matches!(kind, "default" | "security")
            && (timer("dnf-automatic-install.timer") || (timer("dnf-automatic.timer") && apply))
    });
    item(file(CONF), on)
}

fn rpm_reboot(
    ctx: &CollectContext,
    qa_source: ItemSource,
    rpms: Result<&Vec<rpm::Rpm>, String>,
) -> Item {
    if let Some(flag) = reboot_flag(ctx) {
        return item(file(flag), Ok(true));
    }
    let rpms = match rpms {
        Ok(r) => r,
        Err(e) => return item::<bool>(qa_source, Err(e)),
    };
    if !rpms
        .iter()
        .any(|r| r.name == "kernel-core" || r.name == "kernel")
    {
        // No kernel package (a container): nothing installed could need a reboot.
        return item(qa_source, Ok(false));
    }
    let newer = running_kernel(ctx).map(|r| rpm::newer_kernel_installed(&r, rpms));
    match newer {
        Ok(newer) => item(file(OSRELEASE), Ok(newer.unwrap_or(false))),
        Err(e) => item::<bool>(file(OSRELEASE), Err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::time::{Duration, UNIX_EPOCH};

    fn put(root: &Path, abs: &str, text: &str) {
        let path = root.join(abs.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn installed(name: &str, arch: &str, version: &str) -> String {
        format!(
            "Package: {name}\nStatus: install ok installed\nArchitecture: {arch}\nVersion: {version}\n\n"
        )
    }

    /// The items of one run below `root`, by id.
    async fn collect(root: &Path) -> BTreeMap<&'static str, Result<serde_json::Value, String>> {
        let ctx = CollectContext::for_test(root);
        Packages { keep_in: None }
            .collect(&ctx)
            .await
            .unwrap()
            .into_iter()
            .map(|(id, item)| (id, item.reason.map_or(Ok(item.value), Err)))
            .collect()
    }

    /// A tree with a dpkg status file of `status`.
    fn dpkg_tree(status: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        put(dir.path(), DPKG_STATUS, status);
        dir
    }

    /// The value of `id` (or the reason it is unavailable) after one run below `root`.
    async fn value(root: &Path, id: &str) -> Result<serde_json::Value, String> {
        collect(root).await.remove(id).unwrap()
    }

    #[tokio::test]
    async fn newest_install_is_the_newest_package_file_list() {
        let dir = dpkg_tree(&installed("dpkg", "amd64", "1.21.22"));
        let info = dir.path().join("var/lib/dpkg/info");
        for (name, secs) in [
            ("dpkg.list", 1_790_000_000),
            ("bash.list", 1_795_000_000),
            ("bash.md5sums", 1_799_000_000),
        ] {
            put(dir.path(), &format!("{DPKG_INFO}/{name}"), "/.\n");
            let f = std::fs::File::options()
                .write(true)
                .open(info.join(name))
                .unwrap();
            f.set_modified(UNIX_EPOCH + Duration::from_secs(secs))
                .unwrap();
        }
        assert_eq!(
            value(dir.path(), "host.packages.newest_install_time").await,
            Ok(serde_json::json!("2026-11-18T11:06:40.000000Z"))
        );
        std::fs::remove_file(info.join("dpkg.list")).unwrap();
        std::fs::remove_file(info.join("bash.list")).unwrap();
        assert_eq!(
            value(dir.path(), "host.packages.newest_install_time").await,
            Err("no package file lists (*.list) in /var/lib/dpkg/info".to_string())
        );
    }

    #[tokio::test]
    async fn pending_counts_are_never_guessed() {
        let dir = dpkg_tree(&installed("bash", "amd64", "5.2.15-2+b2"));
        let pending = |items: &BTreeMap<_, Result<serde_json::Value, String>>| {
            items["host.packages.pending_updates"].clone()
        };
        assert_eq!(
            pending(&collect(dir.path()).await),
            Err("not found: /var/lib/apt/lists".to_string())
        );
        put(dir.path(), "/var/lib/apt/lists/lock", "");
        assert_eq!(
            pending(&collect(dir.path()).await),
            Err("no package lists in /var/lib/apt/lists (apt-get update has not run)".into())
        );
        put(
            dir.path(),
            "/var/lib/apt/lists/x_dists_y_main_binary-amd64_Packages.xz",
            "",
        );
        let items = collect(dir.path()).await;
        assert!(
            pending(&items)
                .unwrap_err()
                .contains("compressed with .xz are not supported")
        );
        assert_eq!(
            items["host.packages.lists_updated_at"],
            Err("no Release or InRelease file with a Date in /var/lib/apt/lists".into())
        );
        assert_eq!(
            items["host.packages.installed_count"],
            Ok(serde_json::json!(1))
        );
    }

    #[tokio::test]
    async fn the_parsed_lists_are_reused_until_a_list_changes() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = CollectContext::for_test(dir.path());
        let list = "/var/lib/apt/lists/x_dists_y-security_main_binary-amd64_Packages";
        put(
            dir.path(),
            list,
            "Package: bash\nVersion: 5.2.15-2+b8\nArchitecture: amd64\n",
        );
        let wanted = ["bash".to_string()];
        let first = apt::Lists::scan(&ctx)
            .unwrap()
            .index(&ctx, &wanted, Some("amd64"), None)
            .unwrap();
        let again = apt::Lists::scan(&ctx)
            .unwrap()
            .index(&ctx, &wanted, Some("amd64"), None)
            .unwrap();
        assert!(std::sync::Arc::ptr_eq(&first, &again));
        let key = ("bash".to_string(), "amd64".to_string());
        assert_eq!(
            first.offers[&key].newest_security.as_deref(),
            Some("5.2.15-2+b8")
        );
        put(
            dir.path(),
            list,
            "Package: bash\nVersion: 5.2.15-2+b10\nArchitecture: amd64\n",
        );
        let changed = apt::Lists::scan(&ctx)
            .unwrap()
            .index(&ctx, &wanted, Some("amd64"), None)
            .unwrap();
        assert!(!std::sync::Arc::ptr_eq(&first, &changed));
        assert_eq!(changed.offers[&key].newest.as_deref(), Some("5.2.15-2+b10"));
        let more = ["bash".to_string(), "zsh".to_string()];
        let other = apt::Lists::scan(&ctx)
            .unwrap()
            .index(&ctx, &more, Some("amd64"), None)
            .unwrap();
        assert!(!std::sync::Arc::ptr_eq(&changed, &other));
    }

    /// A lists directory below a new root with one security list offering bash `version`.
    fn bash_lists(version: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        put(dir.path(), BASH_LIST, &bash_list(version));
        dir
    }
    const BASH_LIST: &str = "/var/lib/apt/lists/x_dists_y-security_main_binary-amd64_Packages";
    fn bash_list(version: &str) -> String {
        format!(
            "Package: bash\nVersion: {version}\nArchitecture: amd64\n\n\
             Package: zsh\nVersion: 5.9-4\nArchitecture: amd64\n"
        )
    }

    /// The newest bash (and zsh) on offer below `root` for `wanted`, as a new process would
    /// see them (this process's parse of the lists forgotten), with offers kept in `keep`.
    fn fresh_offers(root: &Path, keep: &Path, wanted: &[&str]) -> (Option<String>, Option<String>) {
        apt::forget(&root.join("var/lib/apt/lists"));
        let ctx = CollectContext::for_test(root);
        let wanted: Vec<String> = wanted.iter().map(|w| w.to_string()).collect();
        let index = apt::Lists::scan(&ctx)
            .unwrap()
            .index(&ctx, &wanted, Some("amd64"), Some(keep))
            .unwrap();
        let newest = |name: &str| {
            index
                .offers
                .get(&(name.to_string(), "amd64".to_string()))
                .and_then(|o| o.newest.clone())
        };
        (newest("bash"), newest("zsh"))
    }

    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_process_takes_the_kept_offers_until_a_list_changes() {
        let dir = bash_lists("5.2.15-2+b8");
        let keep = tempfile::tempdir().unwrap();
        let kept = keep.path().join(apt::KEPT);
        let b8 = Some("5.2.15-2+b8".to_string());
        assert_eq!(
            fresh_offers(dir.path(), keep.path(), &["bash"]),
            (b8.clone(), None)
        );
        let text = std::fs::read_to_string(&kept).unwrap();
        assert!(text.contains("5.2.15-2+b8"), "{text}");
        assert_eq!(mode(&kept), 0o600);
        // The next process answers from the kept file, without reading the lists: a version
        // only the kept file holds shows it.
        std::fs::write(&kept, text.replace("5.2.15-2+b8", "5.2.15-2+b9")).unwrap();
        let b9 = Some("5.2.15-2+b9".to_string());
        assert_eq!(
            fresh_offers(dir.path(), keep.path(), &["bash"]),
            (b9.clone(), None)
        );
        // Other installed packages: the lists are read again.
        assert_eq!(
            fresh_offers(dir.path(), keep.path(), &["bash", "zsh"]),
            (b8.clone(), Some("5.9-4".into()))
        );
        std::fs::write(&kept, text.replace("5.2.15-2+b8", "5.2.15-2+b9")).unwrap();
        assert_eq!(fresh_offers(dir.path(), keep.path(), &["bash"]), (b9, None));
        // The list rewritten in place with the same size (and in the same second): read
        // again, and the new offers kept. Its times move on by at least a clock tick (they can
        // be that coarse), as they would between two downloads.
        std::thread::sleep(std::time::Duration::from_millis(20));
        put(dir.path(), BASH_LIST, &bash_list("5.2.15-2+b7"));
        let b7 = Some("5.2.15-2+b7".to_string());
        assert_eq!(
            fresh_offers(dir.path(), keep.path(), &["bash"]),
            (b7.clone(), None)
        );
        assert!(
            std::fs::read_to_string(&kept)
                .unwrap()
                .contains("5.2.15-2+b7")
        );
        // A Release file appearing (it may mark the list not automatic): read again.
        put(
            dir.path(),
            "/var/lib/apt/lists/x_dists_y-security_Release",
            "Suite: y-security\nNotAutomatic: yes\n",
        );
        assert_eq!(
            fresh_offers(dir.path(), keep.path(), &["bash"]),
            (None, None)
        );
    }

    #[test]
    fn a_corrupt_or_foreign_kept_file_is_ignored_and_replaced() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = bash_lists("5.2.15-2+b8");
        let keep = tempfile::tempdir().unwrap();
        let kept = keep.path().join(apt::KEPT);
        let b8 = (Some("5.2.15-2+b8".to_string()), None);
        assert_eq!(fresh_offers(dir.path(), keep.path(), &["bash"]), b8);
        let good = std::fs::read_to_string(&kept).unwrap();
        // Each would answer b9 (or nothing for bash) if it were trusted.
        let b9 = good.replace("5.2.15-2+b8", "5.2.15-2+b9");
        let offer = "[\"bash\",\"amd64\",\"5.2.15-2+b9\",\"5.2.15-2+b9\"]";
        assert!(b9.contains(offer), "{b9}");
        let cases = [
            ("not JSON", "{\"format\":".to_string(), 0o600),
            ("truncated", b9[..b9.len() - 3].to_string(), 0o600),
            ("readable by others", b9.clone(), 0o644),
            ("writable by the group", b9.clone(), 0o620),
            (
                "another format",
                b9.replace("\"format\":1,", "\"format\":99,"),
                0o600,
            ),
            (
                "another agent version",
                b9.replace(env!("CARGO_PKG_VERSION"), "0.0.0-old"),
                0o600,
            ),
            (
                "an unknown field",
                b9.replacen('{', "{\"trust\":true,", 1),
                0o600,
            ),
            (
                "a package not asked about",
                b9.replace("[\"bash\",\"amd64\"", "[\"zsh\",\"amd64\""),
                0o600,
            ),
            (
                "security newer than the newest",
                b9.replace(offer, "[\"bash\",\"amd64\",\"5.2.15-2+b9\",\"9.9\"]"),
                0o600,
            ),
            (
                "security without a newest",
                b9.replace(offer, "[\"bash\",\"amd64\",null,\"5.2.15-2+b9\"]"),
                0o600,
            ),
            (
                "a version that is no version",
                b9.replace(offer, "[\"bash\",\"amd64\",\"5.2 up to date\",null]"),
                0o600,
            ),
            (
                "an empty architecture",
                b9.replace(offer, "[\"bash\",\"\",\"5.2.15-2+b9\",null]"),
                0o600,
            ),
            (
                "the same package twice",
                b9.replace(offer, &format!("{offer},{offer}")),
                0o600,
            ),
        ];
        for (what, text, bits) in cases {
            assert_ne!(
                text, good,
                "{what}: the case must differ from the good file"
            );
            std::fs::write(&kept, &text).unwrap();
            std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(bits)).unwrap();
            assert_eq!(
                fresh_offers(dir.path(), keep.path(), &["bash"]),
                b8,
                "{what}"
            );
            assert_eq!(
                std::fs::read_to_string(&kept).unwrap(),
                good,
                "{what}: replaced"
            );
            assert_eq!(mode(&kept), 0o600, "{what}");
        }
        // A kept file that is a directory, or a cache directory that cannot be written: the
        // lists are read, nothing fails.
        std::fs::remove_file(&kept).unwrap();
        std::fs::create_dir(&kept).unwrap();
        assert_eq!(fresh_offers(dir.path(), keep.path(), &["bash"]), b8);
        let missing = keep.path().join("absent");
        assert_eq!(fresh_offers(dir.path(), &missing, &["bash"]), b8);
        assert!(!missing.exists());
    }

    #[tokio::test]
    async fn automatic_updates_need_every_part() {
        let dir = dpkg_tree(
            &(installed("dpkg", "amd64", "1.21.22")
                + &installed("unattended-upgrades", "all", "2.9.1+nmu3")),
        );
        let auto = || value(dir.path(), "host.packages.auto_security_updates");
        put(
            dir.path(),
            "/etc/apt/apt.conf.d/50unattended-upgrades",
            "Unattended-Upgrade::Origins-Pattern { \"origin=Debian,label=Debian-Security\"; };\n",
        );
        assert_eq!(auto().await, Ok(false.into()));
        put(
            dir.path(),
            "/etc/apt/apt.conf.d/20auto-upgrades",
            "APT::Periodic::Unattended-Upgrade \"1\";\n",
        );
        assert_eq!(auto().await, Ok(true.into()));
        put(dir.path(), APT_CONF, "APT::Periodic::Enable \"0\";\n");
        assert_eq!(auto().await, Ok(false.into()));
        std::fs::remove_file(dir.path().join("etc/apt/apt.conf")).unwrap();
        std::fs::create_dir_all(dir.path().join("etc/systemd/system")).unwrap();
        std::os::unix::fs::symlink(
            "/dev/null",
            dir.path()
                .join("etc/systemd/system/apt-daily-upgrade.timer"),
        )
        .unwrap();
        assert_eq!(auto().await, Ok(false.into()));
    }

    #[tokio::test]
    async fn dnf_automatic_needs_a_timer_that_installs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("var/lib/rpm")).unwrap();
        put(
            dir.path(),
            &format!(
                "/{}/rpm -qa --queryformat {}",
                crate::RECORDED_COMMANDS,
                rpm::QUERY_FORMAT
            ),
            "dnf-automatic 0:4.14.0-9.el9 noarch 1794600120\n",
        );
        let auto = || value(dir.path(), "host.packages.auto_security_updates");
        put(
            dir.path(),
            "/etc/dnf/automatic.conf",
            "[commands]\napply_updates = no\n",
        );
        let wants = dir.path().join("etc/systemd/system/timers.target.wants");
        std::fs::create_dir_all(&wants).unwrap();
        std::os::unix::fs::symlink(
            "/usr/lib/systemd/system/x.timer",
            wants.join("dnf-automatic.timer"),
        )
        .unwrap();
        assert_eq!(auto().await, Ok(false.into()));
        std::os::unix::fs::symlink(
            "/usr/lib/systemd/system/x.timer",
            wants.join("dnf-automatic-install.timer"),
        )
        .unwrap();
        let items = collect(dir.path()).await;
        assert_eq!(
            items["host.packages.auto_security_updates"],
            Ok(true.into())
        );
        assert_eq!(items["host.packages.manager"], Ok("rpm".into()));
        assert_eq!(
            items["host.packages.pending_updates"],
            Err("not installed: /usr/bin/dnf".into())
        );
        // No kernel package: nothing installed needs a reboot, whatever runs.
        assert_eq!(items["host.system.reboot_required"], Ok(false.into()));
    }
}
