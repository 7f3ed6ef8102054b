//! dpkg's database: `/var/lib/dpkg/status` and the kernels it lists.

use std::cmp::Ordering;

use super::version::dpkg_cmp;

/// One installed package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    /// `Package`.
    pub name: String,
    /// `Architecture` (`all` as written).
    pub arch: String,
    /// `Version`.
    pub version: String,
}

/// What the status file says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// Packages whose files are installed and configured (state `installed`, or with only
    /// triggers pending), held ones included.
    pub installed: Vec<Installed>,
    /// The native architecture: that of the `dpkg` package itself.
    pub native: Option<String>,
}

/// Parses the status file.
pub fn parse_status(text: &str) -> Status {
    let mut status = Status::default();
    for stanza in text.split("\n\n") {
        let (mut name, mut state, mut arch, mut version) = (None, None, None, None);
        for line in stanza.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key {
                "Package" => name = Some(value),
                "Status" => state = value.split_whitespace().nth(2),
                "Architecture" => arch = Some(value),
                "Version" => version = Some(value),
                _ => {}
            }
        }
        let (Some(name), Some(state), Some(arch), Some(version)) = (name, state, arch, version)
        else {
            continue;
        };
        if !matches!(state, "installed" | "triggers-pending" | "triggers-awaited") {
            continue;
        }
        if name == "dpkg" {
            status.native = Some(arch.to_string());
        }
        status.installed.push(Installed {
            name: name.to_string(),
            arch: arch.to_string(),
            version: version.to_string(),
        });
    }
    status
}

impl Status {
    /// Whether `name` is installed (any architecture).
    pub fn has(&self, name: &str) -> bool {
        self.installed.iter().any(|p| p.name == name)
    }

    /// The architecture apt matches a package's candidates under: `all` is the native one.
    pub fn match_arch<'a>(&'a self, arch: &'a str) -> &'a str {
        match (arch, &self.native) {
            ("all", Some(native)) => native,
            _ => arch,
        }
    }

    /// The kernel releases (`uname -r`) of the installed kernel image packages
    /// (`linux-image-6.1.0-28-amd64`, `linux-image-unsigned-…`; not the `linux-image-amd64`
    /// metapackage, not debug symbols).
    pub fn kernel_releases(&self) -> Vec<&str> {
        self.installed
            .iter()
            .filter_map(|p| {
                let rest = p
                    .name
                    .strip_prefix("linux-image-unsigned-")
                    .or_else(|| p.name.strip_prefix("linux-image-"))?;
                let rest = rest.strip_suffix("-unsigned").unwrap_or(rest);
                let is_release = rest.starts_with(|c: char| c.is_ascii_digit())
                    && !rest.ends_with("-dbg")
                    && !rest.ends_with("-dbgsym");
                is_release.then_some(rest)
            })
            .collect()
    }
}

/// A Debian kernel release split into its version (`6.1.0-28`) and flavour (`amd64`,
/// `cloud-amd64`).
fn split_release(release: &str) -> (&str, &str) {
    let first = release.find('-');
    let second = first.and_then(|i| release[i + 1..].find('-').map(|j| i + 1 + j));
    match second {
        Some(j) => (&release[..j], &release[j + 1..]),
        None => (release, ""),
    }
}

/// Whether one of `installed` (kernel releases) has the running kernel's flavour and a newer
/// version: the newer kernel only runs after a reboot.
pub fn newer_kernel_installed(running: &str, installed: &[&str]) -> bool {
    let (version, flavour) = split_release(running);
    installed.iter().any(|r| {
        let (v, f) = split_release(r);
        f == flavour && dpkg_cmp(v, version) == Ordering::Greater
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "\
Package: dpkg
Essential: yes
Status: install ok installed
Priority: required
Architecture: amd64
Version: 1.21.22
Description: Debian package management system
 Package: continuation lines are not fields

Package: libc6
Status: hold ok installed
Architecture: i386
Multi-Arch: same
Version: 2.36-9+deb12u4

Package: tzdata
Status: install ok installed
Architecture: all
Version: 2024a-0+deb12u1

Package: telnet
Status: deinstall ok config-files
Architecture: amd64
Version: 0.17+2.4-2

Package: man-db
Status: install ok triggers-pending
Architecture: amd64
Version: 2.11.2-2

Package: half
Status: install reinstreq half-installed
Architecture: amd64
Version: 1.0

Package: linux-image-6.1.0-28-amd64
Status: install ok installed
Architecture: amd64
Version: 6.1.119-1

Package: linux-image-6.1.0-30-cloud-amd64
Status: install ok installed
Architecture: amd64
Version: 6.1.124-1

Package: linux-image-amd64
Status: install ok installed
Architecture: amd64
Version: 6.1.119-1

Package: linux-image-6.1.0-28-amd64-dbg
Status: install ok installed
Architecture: amd64
Version: 6.1.119-1
";

    #[test]
    fn installed_packages_and_native_architecture() {
        let s = parse_status(STATUS);
        let names: Vec<&str> = s.installed.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "dpkg",
                "libc6",
                "tzdata",
                "man-db",
                "linux-image-6.1.0-28-amd64",
                "linux-image-6.1.0-30-cloud-amd64",
                "linux-image-amd64",
                "linux-image-6.1.0-28-amd64-dbg"
            ]
        );
        assert_eq!(s.native.as_deref(), Some("amd64"));
        assert_eq!(s.match_arch("all"), "amd64");
        assert_eq!(s.match_arch("i386"), "i386");
        assert!(s.has("tzdata") && !s.has("telnet"));
        assert_eq!(
            s.kernel_releases(),
            ["6.1.0-28-amd64", "6.1.0-30-cloud-amd64"]
        );
        assert!(parse_status("").installed.is_empty());
    }

    #[test]
    fn a_newer_kernel_of_the_running_flavour_needs_a_reboot() {
        let installed = ["6.1.0-28-amd64", "6.1.0-30-cloud-amd64"];
        assert!(!newer_kernel_installed("6.1.0-28-amd64", &installed));
        assert!(newer_kernel_installed("6.1.0-13-amd64", &installed));
        assert!(newer_kernel_installed("6.1.0-29-cloud-amd64", &installed));
        assert!(!newer_kernel_installed("6.1.0-30-cloud-amd64", &installed));
        assert!(newer_kernel_installed("6.1.0-9-amd64", &["6.1.0-10-amd64"]));
        assert!(!newer_kernel_installed("5.15.0-91-generic", &installed));
        assert_eq!(split_release("6.1.0-28-rt-amd64"), ("6.1.0-28", "rt-amd64"));
        assert_eq!(split_release("6.8.0"), ("6.8.0", ""));
    }
}
