//! Generates the list of the built-in pack's files (`pack/**/*.rego`), compiled in with
//! `include_str!`, so that adding a policy file is all it takes to ship it.

use std::path::{Path, PathBuf};

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo")).join("pack");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    let mut out = String::from("&[\n");
    for (rel, abs) in &files {
        out.push_str(&format!("    ({rel:?}, include_str!({abs:?})),\n"));
    }
    out.push_str("]\n");
    let dest =
        PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("builtin_pack.rs");
    std::fs::write(dest, out).expect("write the generated list");
}

/// Every `.rego` file below `dir` (hidden entries skipped), as (path relative to `root` with `/`
/// separators, absolute path).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, files);
        } else if name.ends_with(".rego") {
            let rel = path.strip_prefix(root).expect("below the root");
            let rel: Vec<&str> = rel
                .iter()
                .map(|c| c.to_str().expect("UTF-8 path"))
                .collect();
            files.push((rel.join("/"), path.display().to_string()));
        }
    }
}
