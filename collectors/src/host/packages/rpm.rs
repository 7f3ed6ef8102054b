//! The RHEL family: `rpm -qa` output, `dnf repoquery` output, dnf's cached repository
//! metadata, dnf-automatic's configuration and the running kernel against the installed ones.

use std::cmp::Ordering;

use super::version::rpm_evr_cmp;

/// The query format given to `rpm -qa`: one package a line.
pub const QUERY_FORMAT: &str =
    "%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE} %{ARCH} %{INSTALLTIME}\\n";

/// The query format given to `dnf repoquery`: one package a line.
pub const DNF_QUERY_FORMAT: &str = "%{name}.%{arch} %{epoch}:%{version}-%{release}";

/// One installed rpm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rpm {
    /// `NAME`.
    pub name: String,
    /// `EPOCHNUM:VERSION-RELEASE`.
    pub evr: String,
    /// `ARCH`.
    pub arch: String,
    /// `INSTALLTIME`, seconds since the epoch.
    pub install_time: i64,
}

/// Parses `rpm -qa --queryformat` [`QUERY_FORMAT`] output; the `gpg-pubkey` entries (keys
/// imported into rpm, not packages) are left out.
pub fn parse_rpm_qa(out: &str) -> Result<Vec<Rpm>, String> {
    let mut rpms = Vec::new();
    for line in out.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [name, evr, arch, time] = f[..] else {
            return Err(format!("unexpected line in the rpm output: {line:?}"));
        };
        let install_time = time
            .parse()
            .map_err(|_| format!("unexpected install time in the rpm output: {line:?}"))?;
        if name == "gpg-pubkey" {
            continue;
        }
        rpms.push(Rpm {
            name: name.into(),
            evr: evr.into(),
            arch: arch.into(),
            install_time,
        });
    }
    Ok(rpms)
}

/// Parses `dnf repoquery --queryformat` [`DNF_QUERY_FORMAT`] output: (`name.arch`, evr), the
/// newest per package.
pub fn parse_repoquery(out: &str) -> Result<Vec<(String, String)>, String> {
    let mut newest: std::collections::BTreeMap<String, String> = Default::default();
    for line in out.lines().filter(|l| !l.trim().is_empty()) {
        let Some((name_arch, evr)) = line.trim().split_once(' ') else {
            return Err(format!("unexpected line in the dnf output: {line:?}"));
        };
        if !name_arch.contains('.') || !evr.contains(':') {
            return Err(format!("unexpected line in the dnf output: {line:?}"));
        }
        let slot = newest.entry(name_arch.to_string()).or_default();
        if slot.is_empty() || rpm_evr_cmp(evr, slot) == Ordering::Greater {
            *slot = evr.trim().to_string();
        }
    }
    Ok(newest.into_iter().collect())
}

/// `epoch:version-release` without a zero epoch, as people write it.
pub fn display_evr(evr: &str) -> &str {
    evr.strip_prefix("0:").unwrap_or(evr)
}

/// The newest `<timestamp>` of a repomd.xml: when the repository's metadata was generated.
pub fn repomd_timestamp(xml: &str) -> Option<i64> {
    xml.split("<timestamp>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</timestamp>"))
        .filter_map(|(t, _)| t.trim().parse::<i64>().ok())
        .max()
}

/// The value of `key` in `[section]` of an INI file (the last one wins; `#`, `;` comments).
pub fn ini_value<'a>(text: &'a str, section: &str, key: &str) -> Option<&'a str> {
    let mut current = "";
    let mut found = None;
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = s.trim();
        } else if current == section
            && let Some((k, v)) = line.split_once('=')
            && k.trim() == key
        {
            found = Some(v.trim());
        }
    }
    found
}

/// A dnf boolean (`1`, `yes`, `true`, `on`).
pub fn dnf_bool(v: &str) -> bool {
    ["1", "yes", "true", "on"]
        .iter()
        .any(|t| v.eq_ignore_ascii_case(t))
}

/// Whether an installed kernel (`kernel-core`, else `kernel`) is newer than the running one
/// (`5.14.0-427.13.1.el9_4.x86_64`). `None` when no kernel package is installed.
pub fn newer_kernel_installed(running: &str, rpms: &[Rpm]) -> Option<bool> {
    let kernels: Vec<&Rpm> = ["kernel-core", "kernel"]
        .iter()
        .map(|n| rpms.iter().filter(|r| r.name == *n).collect::<Vec<_>>())
        .find(|k| !k.is_empty())?;
    let running = kernels
        .iter()
        .find_map(|k| running.strip_suffix(&format!(".{}", k.arch)))
        .unwrap_or(running);
    let running = format!("0:{running}");
    Some(
        kernels
            .iter()
            .any(|k| rpm_evr_cmp(&k.evr, &running) == Ordering::Greater),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const QA: &str = "\
kernel-core 0:5.14.0-427.13.1.el9_4 x86_64 1715000000
kernel-core 0:5.14.0-427.16.1.el9_4 x86_64 1716400000
openssl 1:3.0.7-27.el9 x86_64 1714000000
gpg-pubkey 0:fd431d51-4ae0493b (none) 1713000000
";

    #[test]
    fn rpm_query_output() {
        let rpms = parse_rpm_qa(QA).unwrap();
        assert_eq!(rpms.len(), 3);
        assert_eq!(rpms[2].evr, "1:3.0.7-27.el9");
        assert_eq!(rpms[1].install_time, 1_716_400_000);
        assert!(parse_rpm_qa("openssl 3.0.7 x86_64\n").is_err());
        assert!(parse_rpm_qa("openssl 0:3.0.7-1 x86_64 soon\n").is_err());
        assert_eq!(parse_rpm_qa("\n").unwrap(), []);
    }

    #[test]
    fn repoquery_output_keeps_the_newest_per_package() {
        let out = "openssl.x86_64 1:3.0.7-28.el9_4\nopenssl.x86_64 1:3.0.7-27.el9_4\n\
                   kernel-core.x86_64 0:5.14.0-427.20.1.el9_4\n";
        assert_eq!(
            parse_repoquery(out).unwrap(),
            [
                (
                    "kernel-core.x86_64".to_string(),
                    "0:5.14.0-427.20.1.el9_4".to_string()
                ),
                ("openssl.x86_64".to_string(), "1:3.0.7-28.el9_4".to_string())
            ]
        );
        assert!(parse_repoquery("Last metadata expiration check: 0:01:02 ago\n").is_err());
        assert_eq!(parse_repoquery("").unwrap(), []);
        assert_eq!(display_evr("0:5.14.0-1"), "5.14.0-1");
        assert_eq!(display_evr("1:3.0.7-28"), "1:3.0.7-28");
    }

    #[test]
    fn repomd_and_ini() {
        let xml = "<repomd><revision>1716364800</revision>\
                   <data type=\"primary\"><timestamp>1716364000</timestamp></data>\
                   <data type=\"updateinfo\"><timestamp>1716364799</timestamp></data></repomd>";
        assert_eq!(repomd_timestamp(xml), Some(1_716_364_799));
        assert_eq!(repomd_timestamp("<repomd/>"), None);
        let conf = "[commands]\n# apply_updates = yes\nupgrade_type = security\napply_updates = no\n\
                    apply_updates = yes\n[emitters]\napply_updates = no\n";
        assert_eq!(ini_value(conf, "commands", "apply_updates"), Some("yes"));
        assert_eq!(
            ini_value(conf, "commands", "upgrade_type"),
            Some("security")
        );
        assert_eq!(ini_value(conf, "commands", "random_sleep"), None);
        assert!(dnf_bool("True") && dnf_bool("1") && !dnf_bool("no") && !dnf_bool(""));
    }

    #[test]
    fn running_kernel_against_installed() {
        let rpms = parse_rpm_qa(QA).unwrap();
        assert_eq!(
            newer_kernel_installed("5.14.0-427.13.1.el9_4.x86_64", &rpms),
            Some(true)
        );
        assert_eq!(
            newer_kernel_installed("5.14.0-427.16.1.el9_4.x86_64", &rpms),
            Some(false)
        );
        assert_eq!(
            newer_kernel_installed("5.14.0-427.16.1.el9_4.x86_64", &rpms[2..]),
            None
        );
    }
}
