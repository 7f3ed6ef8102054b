//! Policy pack loading (`--policies DIR`, `vouch policy test`, a bundle's `packs/`): Rego text
//! with Vouch's metadata comments, checked against the built-in catalogs.
//!
//! The input is split into files at lines `#-- file: NAME` (one file `fuzz/input.rego` when
//! there is none) and loaded with the built-in library modules (`vouch.lib*`), which policies
//! import. Checks: loading never panics; every problem names a file that was loaded and a line
//! that file has (0: the whole file; one past the last: its end), so an operator can find it; a loaded pack has unique
//! policy ids and a 64-hex digest.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use vouch_policies::{Catalogs, PolicyPack};

fn catalogs() -> &'static Catalogs {
    static C: std::sync::OnceLock<Catalogs> = std::sync::OnceLock::new();
    C.get_or_init(Catalogs::builtin)
}

fn library() -> &'static Vec<(String, String)> {
    static L: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    L.get_or_init(|| {
        vouch_policies::pack::builtin_sources()
            .filter(|(path, _)| path.starts_with("lib/"))
            .collect()
    })
}

fn split(text: &str) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut name = "fuzz/input.rego".to_string();
    let mut body = String::new();
    for line in text.split_inclusive('\n') {
        if let Some(next) = line.trim_end().strip_prefix("#-- file: ") {
            let before = std::mem::replace(&mut name, next.to_string());
            let text = std::mem::take(&mut body);
            // Text before the first marker is a file only when it holds something.
            if !(files.is_empty() && before == "fuzz/input.rego" && text.is_empty()) {
                files.insert(before, text);
            }
        } else {
            body.push_str(line);
        }
    }
    files.insert(name, body);
    files
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut files = split(text);
    for (path, body) in library() {
        files.entry(path.clone()).or_insert_with(|| body.clone());
    }
    let lines: BTreeMap<String, usize> =
        files.iter().map(|(p, b)| (p.clone(), b.lines().count())).collect();
    match PolicyPack::from_sources(files, catalogs()) {
        Ok(pack) => {
            let ids: Vec<&str> = pack.policies().iter().map(|p| p.id.as_str()).collect();
            let mut unique = ids.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), ids.len(), "duplicate policy ids: {ids:?}");
            assert!(
                pack.digest().len() == 64 && pack.digest().bytes().all(|b| b.is_ascii_hexdigit()),
                "digest {:?}",
                pack.digest()
            );
        }
        Err(errors) => {
            assert!(!errors.0.is_empty(), "refused with no reason");
            for e in &errors.0 {
                let Some(&n) = lines.get(&e.file) else {
                    panic!("a problem names a file that was not loaded: {e}");
                };
                // n + 1: the end of a file that ends with a newline (a missing `}`, say).
                assert!(e.line <= n + 1, "{e}: the file has {n} line(s)");
            }
        }
    }
});
