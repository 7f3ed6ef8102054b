//! Kernel protections: live patches applied to the running kernel, and mandatory access control
//! (SELinux, AppArmor). Everything is read from /sys, unprivileged where the kernel allows it;
//! what cannot be read is unavailable with the reason, never guessed.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::logging::{conf_files, read_optional};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact, file};

const LIVEPATCH: &str = "/sys/kernel/livepatch";
const SELINUX_ENFORCE: &str = "/sys/fs/selinux/enforce";
const APPARMOR_ENABLED: &str = "/sys/module/apparmor/parameters/enabled";
const APPARMOR_PROFILES: &str = "/sys/kernel/security/apparmor/profiles";
const APPARMOR_POLICY: &str = "/sys/kernel/security/apparmor/policy/profiles";

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "host.kernel.livepatches",
        value_type: ValueType::ObjectList,
        meaning: "Live patches loaded into the running kernel, whoever loaded them (kpatch, \
                  canonical-livepatch and others all use the kernel's livepatch framework): \
                  `{name, enabled, transition}`, sorted by name; `transition` true while the \
                  patch is not yet in effect for every task. Empty when none is loaded (or the \
                  kernel has no livepatch support).",
        source: "/sys/kernel/livepatch/<patch>/enabled, /sys/kernel/livepatch/<patch>/transition",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.mac.selinux_mode",
        value_type: ValueType::String,
        meaning: "SELinux's mode: `enforcing`, `permissive`, or `disabled` when selinuxfs is \
                  not mounted (SELinux not enabled in the running kernel).",
        source: "/sys/fs/selinux/enforce",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.mac.apparmor_enabled",
        value_type: ValueType::Bool,
        meaning: "AppArmor is enabled in the running kernel (false when the module is absent).",
        source: "/sys/module/apparmor/parameters/enabled",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.mac.apparmor_profiles",
        value_type: ValueType::Object,
        meaning: "AppArmor profiles loaded, counted by mode (`enforce`, `complain`, `kill`, \
                  `unconfined`, …); empty when AppArmor is not enabled. Read from the profiles \
                  list, else (when the kernel refuses it to an unprivileged reader) from each \
                  profile's mode under policy/profiles; unavailable with both reasons when \
                  neither can be read. Profile names are not kept.",
        source: "/sys/kernel/security/apparmor/profiles, else /sys/kernel/security/apparmor/policy/profiles/*/mode",
        context_only: None,
    },
];

/// The collector.
pub struct Kernel;

/// The live patches loaded, as `{name, enabled, transition}` sorted by name.
fn livepatches(ctx: &CollectContext) -> Result<Vec<Value>, String> {
    let Some(dirs) = conf_files(ctx, LIVEPATCH, "")? else {
        return Ok(Vec::new());
    };
    let flag = |path: String| -> Result<bool, String> {
        match ctx.read(&path)?.trim() {
            "1" => Ok(true),
            "0" => Ok(false),
            other => Err(format!("{path} holds {other:?}, not 0 or 1")),
        }
    };
    dirs.into_iter()
        .map(|dir| {
            let name = dir.rsplit('/').next().unwrap_or_default().to_string();
            Ok(json!({
                "name": name,
                "enabled": flag(format!("{dir}/enabled"))?,
                "transition": flag(format!("{dir}/transition"))?,
            }))
        })
        .collect()
}

/// SELinux's mode from selinuxfs.
fn selinux_mode(ctx: &CollectContext) -> Result<&'static str, String> {
    match read_optional(ctx, SELINUX_ENFORCE)?.as_deref().map(str::trim) {
        None => Ok("disabled"),
        Some("1") => Ok("enforcing"),
        Some("0") => Ok("permissive"),
        Some(other) => Err(format!("{SELINUX_ENFORCE} holds {other:?}, not 0 or 1")),
    }
}

/// Whether the AppArmor module is enabled.
fn apparmor_enabled(ctx: &CollectContext) -> Result<bool, String> {
    match read_optional(ctx, APPARMOR_ENABLED)?.as_deref().map(str::trim) {
        None | Some("N") => Ok(false),
        Some("Y") => Ok(true),
        Some(other) => Err(format!("{APPARMOR_ENABLED} holds {other:?}, not Y or N")),
    }
}

/// The mode of a line of the profiles list: `name (mode)`.
fn profile_mode(line: &str) -> Option<&str> {
    line.trim_end()
        .strip_suffix(')')
        .and_then(|l| l.rsplit_once(" ("))
        .map(|(_, mode)| mode)
}

/// Loaded AppArmor profiles counted by mode: from the list, else from each profile's mode.
fn apparmor_profiles(ctx: &CollectContext, enabled: bool) -> Result<BTreeMap<String, u64>, String> {
    let mut counts = BTreeMap::new();
    if !enabled {
        return Ok(counts);
    }
    let modes: Vec<String> = match ctx.read(APPARMOR_PROFILES) {
        Ok(text) => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                profile_mode(l)
                    .map(str::to_string)
                    .ok_or_else(|| format!("{APPARMOR_PROFILES}: a line has no mode: {l:?}"))
            })
            .collect::<Result<_, _>>()?,
        Err(list) => {
            let dirs = conf_files(ctx, APPARMOR_POLICY, "")
                .and_then(|d| d.ok_or_else(|| format!("not found: {APPARMOR_POLICY}")))
                .map_err(|each| format!("{list}; {each}"))?;
            dirs.into_iter()
                .map(|d| {
                    ctx.read(&format!("{d}/mode"))
                        .map(|m| m.trim().to_string())
                        .map_err(|each| format!("{list}; {each}"))
                })
                .collect::<Result<_, _>>()?
        }
    };
    for mode in modes {
        *counts.entry(mode).or_insert(0) += 1;
    }
    Ok(counts)
}

#[async_trait]
impl Collector for Kernel {
    fn name(&self) -> &'static str {
        "host.kernel"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let enabled = apparmor_enabled(ctx);
        let profiles = enabled
            .clone()
            .and_then(|on| apparmor_profiles(ctx, on))
            .map(|counts| json!(counts));
        Ok(vec![
            fact("host.kernel.livepatches", file(LIVEPATCH), livepatches(ctx)),
            fact(
                "host.mac.selinux_mode",
                file(SELINUX_ENFORCE),
                selinux_mode(ctx),
            ),
            fact("host.mac.apparmor_enabled", file(APPARMOR_ENABLED), enabled),
            fact(
                "host.mac.apparmor_profiles",
                file(APPARMOR_PROFILES),
                profiles,
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_line_gives_its_mode() {
        assert_eq!(profile_mode("/usr/sbin/cupsd (enforce)"), Some("enforce"));
        assert_eq!(
            profile_mode("/usr/lib/snapd/snap-confine//mount-namespace-capture-helper (complain)"),
            Some("complain")
        );
        assert_eq!(profile_mode("docker-default (enforce) "), Some("enforce"));
        assert_eq!(profile_mode("no mode here"), None);
    }

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    #[test]
    fn profiles_come_from_each_mode_when_the_list_is_absent() {
        let dir = tree(&[
            ("/sys/kernel/security/apparmor/policy/profiles/lsb_release.1/mode", "enforce\n"),
            ("/sys/kernel/security/apparmor/policy/profiles/cupsd.7/mode", "complain\n"),
            ("/sys/kernel/security/apparmor/policy/profiles/man.3/mode", "enforce\n"),
        ]);
        let ctx = CollectContext::for_test(dir.path());
        let counts = apparmor_profiles(&ctx, true).unwrap();
        assert_eq!(counts, BTreeMap::from([("complain".into(), 1), ("enforce".into(), 2)]));
        assert!(apparmor_profiles(&ctx, false).unwrap().is_empty());
    }

    #[test]
    fn neither_source_of_profiles_names_both_reasons() {
        let dir = tree(&[(APPARMOR_ENABLED, "Y\n")]);
        let ctx = CollectContext::for_test(dir.path());
        let err = apparmor_profiles(&ctx, true).unwrap_err();
        assert_eq!(
            err,
            format!("not found: {APPARMOR_PROFILES}; not found: {APPARMOR_POLICY}")
        );
    }

    #[test]
    fn odd_values_are_unavailable_not_guessed() {
        let dir = tree(&[
            (SELINUX_ENFORCE, "2\n"),
            (APPARMOR_ENABLED, "maybe\n"),
            ("/sys/kernel/livepatch/kpatch_1/enabled", "1\n"),
        ]);
        let ctx = CollectContext::for_test(dir.path());
        assert!(selinux_mode(&ctx).unwrap_err().contains("not 0 or 1"));
        assert!(apparmor_enabled(&ctx).unwrap_err().contains("not Y or N"));
        assert_eq!(
            livepatches(&ctx).unwrap_err(),
            "not found: /sys/kernel/livepatch/kpatch_1/transition"
        );
    }
}
