//! The fixture hosts under `tests/fixtures/hosts/`, for the tests of every crate. Not behind the
//! `testing` feature: a crate that only needs a fixture host does not pull in the replay
//! server's dependencies (which would change the feature set, and the binaries, it builds).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The fixture host `name` under `tests/fixtures/hosts/`, ready to collect from: the files
/// listed in its `.vouch-modes` (`<octal mode> <path>` a line) are given their modes first, as
/// git keeps only the executable bit and the hosts are described by their real modes (a 0640
/// /etc/shadow, a world-writable script). Every test that collects from a fixture host goes
/// through here, whatever crate it lives in and whichever test binary runs first.
///
/// # Panics
/// When a listed mode cannot be applied, naming every such line.
pub fn fixture_host(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/hosts")
        .join(name);
    let problems = apply_modes(&root);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    root
}

/// Applies `<root>/.vouch-modes`; the lines that could not be applied.
fn apply_modes(root: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(root.join(".vouch-modes")) else {
        return Vec::new();
    };
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter(|line| {
            let applied = line.split_once(' ').and_then(|(mode, path)| {
                let mode = u32::from_str_radix(mode, 8).ok()?;
                let path = root.join(path.trim().trim_start_matches('/'));
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).ok()
            });
            applied.is_none()
        })
        .map(|line| format!("{}/.vouch-modes: cannot apply {line:?}", root.display()))
        .collect()
}
