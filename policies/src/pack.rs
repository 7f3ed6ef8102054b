//! A policy pack: Rego modules with their metadata, loaded and checked together, with a version
//! digest over its files.
//!
//! A pack is a directory of `*.rego` files (subdirectories included). Each module is either a
//! policy (`package vouch.policies.<id>`, with a `# METADATA` block) or shared rules
//! (`package vouch.lib` or below, no metadata needed). Loading reports every problem at once,
//! each with its file and line: Rego syntax errors, metadata that is missing or invalid, unknown
//! control ids or asset kinds, duplicate policy ids, evidence a policy reads without listing it,
//! and errors the Rego engine finds when it first evaluates each policy.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use sha2::{Digest as _, Sha256};

use crate::catalog::Catalogs;
use crate::engine::{OrgConfig, PARAMETERS, ParameterInfo, VerdictRules};
use crate::metadata::{self, Policy, Problem};

/// The package of shared rules (functions) that policies may import.
pub const LIB_PACKAGE: &str = "vouch.lib";

/// Whether a module of `package` is a library of the pack (`vouch.lib` or below) rather than a
/// policy.
fn is_library(package: &str) -> bool {
    package == LIB_PACKAGE || package.starts_with("vouch.lib.")
}

/// The built-in pack (`policies/pack/**/*.rego`), compiled in: (path inside `policies/pack/`,
/// contents), in path order. `build.rs` generates the list from the directory.
pub const BUILTIN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_pack.rs"));

/// One problem found while loading a pack: the file, the line (0 for the whole file), why.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, thiserror::Error)]
pub struct LoadError {
    /// The file, relative to the pack.
    pub file: String,
    /// The line, from 1; 0 when the problem concerns the whole file or pack.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.reason)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.reason)
        }
    }
}

/// Every problem of a pack, one per line when displayed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct LoadErrors(pub Vec<LoadError>);

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// A loaded, checked set of policies, ready to evaluate snapshots.
///
/// Cloning is cheap enough to do per evaluation (the compiled modules are shared).
#[derive(Clone)]
pub struct PolicyPack {
    /// Sorted by id.
    pub(crate) policies: Vec<Policy>,
    /// The verdict rules each policy declares, in the order of `policies`.
    pub(crate) rules: Vec<VerdictRules>,
    /// Engines holding each the policies that read the same libraries, and those libraries,
    /// with the configuration set as `data.vouch.config` ([`group_engine`]).
    pub(crate) engines: Vec<regorus::Engine>,
    /// Per policy, in the order of `policies`, the index of its engine in `engines`.
    pub(crate) engine_of: Vec<usize>,
    digest: String,
    config: OrgConfig,
    /// The `.rego` files, by relative path.
    files: BTreeMap<String, String>,
}

impl fmt::Debug for PolicyPack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyPack")
            .field("policies", &self.policies.len())
            .field("digest", &self.digest)
            .finish()
    }
}

impl PolicyPack {
    /// The built-in pack, checked against the built-in catalogs.
    pub fn builtin() -> Self {
        Self::from_sources(builtin_sources(), &Catalogs::builtin())
            .expect("the built-in pack loads (checked by tests)")
    }

    /// Loads every `*.rego` file below `dir`, checking controls against the built-in catalogs.
    pub fn load(dir: &Path) -> Result<Self, LoadErrors> {
        Self::load_with(dir, &Catalogs::builtin())
    }

    /// Loads every `*.rego` file below `dir`, checking controls against `catalogs`.
    pub fn load_with(dir: &Path, catalogs: &Catalogs) -> Result<Self, LoadErrors> {
        let (files, mut errors) = read_tree(dir, "rego");
        match Self::from_sources(files, catalogs) {
            Ok(pack) if errors.is_empty() => Ok(pack),
            Ok(_) => Err(LoadErrors(errors)),
            Err(LoadErrors(more)) => {
                errors.extend(more);
                Err(LoadErrors(errors))
            }
        }
    }

    /// The pack a server or agent runs: the built-in policies when `builtin`, and every `*.rego`
    /// file below `dir` (a file at the same relative path as a built-in one replaces it), with
    /// `config` as `data.vouch.config`. Every problem of every file is reported at once.
    pub fn assemble(
        builtin: bool,
        dir: Option<&Path>,
        catalogs: &Catalogs,
        config: OrgConfig,
    ) -> Result<Self, LoadErrors> {
        let mut files: BTreeMap<String, String> = if builtin {
            builtin_sources().collect()
        } else {
            BTreeMap::new()
        };
        let mut errors = Vec::new();
        if let Some(dir) = dir {
            let (own, problems) = read_tree(dir, "rego");
            files.extend(own);
            errors.extend(problems);
        }
        if files.is_empty() && errors.is_empty() {
            errors.push(LoadError {
                file: dir.map_or_else(|| "(no files)".into(), |d| d.display().to_string()),
                line: 0,
                reason:
                    "no policy: the built-in pack is off and the directory holds no *.rego file"
                        .into(),
            });
        }
        let mut pack = match Self::from_sources(files, catalogs) {
            Ok(pack) => pack,
            Err(LoadErrors(more)) => {
                errors.extend(more);
                return Err(LoadErrors(errors));
            }
        };
        if !errors.is_empty() {
            return Err(LoadErrors(errors));
        }
        pack.set_config(config)?;
        Ok(pack)
    }

    /// Loads a pack from (relative path, text) pairs, reporting every problem at once.
    pub fn from_sources(
        files: impl IntoIterator<Item = (String, String)>,
        catalogs: &Catalogs,
    ) -> Result<Self, LoadErrors> {
        let files: BTreeMap<String, String> = files.into_iter().collect();
        let digest = digest(&files);
        let mut engine = regorus::Engine::new();
        engine.set_strict_builtin_errors(true);
        let mut errors = Vec::new();
        let mut policies: Vec<Policy> = Vec::new();
        for (file, text) in &files {
            let mut err = |line: usize, reason: String| {
                errors.push(LoadError {
                    file: file.clone(),
                    line,
                    reason,
                })
            };
            let (package_line, package) = metadata::package_statement(text).unwrap_or((0, ""));
            if is_library(package) {
                if let Err(e) = engine.add_policy(file.clone(), text.clone()) {
                    let (line, reason) = rego_error(&e.to_string());
                    err(line, reason);
                }
                continue;
            }
            let policy = metadata::parse(file, text, catalogs);
            let added = engine.add_policy(file.clone(), text.clone());
            if let Err(e) = &added {
                let (line, reason) = rego_error(&e.to_string());
                err(line, reason);
            }
            let policy = match policy {
                Ok(p) => p,
                Err(problems) => {
                    for Problem { line, reason } in problems {
                        err(line, reason);
                    }
                    continue;
                }
            };
            if added.is_ok() && package != policy.package() {
                err(
                    package_line,
                    format!(
                        "package must be {} (vouch.policies. and the policy id), not {package:?}",
                        policy.package()
                    ),
                );
            }
            for Problem { line, reason } in static_checks(text, &policy.evidence) {
                err(line, reason);
            }
            if let Some(first) = policies.iter().find(|p| p.id == policy.id) {
                err(
                    package_line,
                    format!(
                        "duplicate policy id {} (also in {}:{})",
                        policy.id, first.file, first.line
                    ),
                );
                continue;
            }
            policies.push(policy);
        }
        policies.sort_by(|a, b| a.id.cmp(&b.id));
        let config = OrgConfig::default();
        if let Err(e) = engine.add_data(config.as_data()) {
            errors.push(LoadError {
                file: "data.vouch.config".into(),
                line: 0,
                reason: e.to_string(),
            });
        }
        let mut rules = Vec::new();
        if errors.is_empty() {
            // Evaluating each policy's rules once on an empty snapshot finds what parsing cannot
            // (unknown functions, rules that conflict on every input) and prepares the engine,
            // so that clones start ready.
            for p in &policies {
                let declared = match VerdictRules::declared(&engine, p) {
                    Ok(r) => r,
                    Err(reason) => {
                        errors.push(LoadError {
                            file: p.file.clone(),
                            line: p.line,
                            reason,
                        });
                        continue;
                    }
                };
                engine.set_input(crate::engine::empty_input(p));
                for path in declared.paths() {
                    if let Err(e) = engine.eval_rule(path.to_string()) {
                        errors.push(evaluation_problem(p, &e.to_string()));
                    }
                }
                rules.push(declared);
            }
        }
        // Evaluation runs on an engine per set of libraries, holding the policies that read
        // that set (see [`group_engine`]), made once the whole pack is known to load.
        let mut engines = Vec::new();
        let mut engine_of = vec![0; policies.len()];
        if errors.is_empty() {
            let libraries: Vec<(&str, &String, &String)> = files
                .iter()
                .filter_map(|(file, text)| {
                    let package = metadata::package_statement(text).map_or("", |(_, p)| p);
                    is_library(package).then_some((package, file, text))
                })
                .collect();
            let mut groups: BTreeMap<Vec<usize>, Vec<usize>> = BTreeMap::new();
            for (i, p) in policies.iter().enumerate() {
                groups
                    .entry(libraries_read(&files[&p.file], &libraries))
                    .or_default()
                    .push(i);
            }
            let all: Vec<usize> = (0..libraries.len()).collect();
            for (read, members) in groups {
                let made = group_engine(
                    &libraries, &read, &members, &policies, &files, &rules, &config,
                );
                // A library reached in a way the texts do not show: all of them.
                let made = match made {
                    Err(_) if read != all => group_engine(
                        &libraries, &all, &members, &policies, &files, &rules, &config,
                    ),
                    made => made,
                };
                match made {
                    Ok(e) => {
                        for &i in &members {
                            engine_of[i] = engines.len();
                        }
                        engines.push(e);
                    }
                    Err(e) => errors.extend(e),
                }
            }
        }
        // An error in scheduling one module fails every evaluation of the engine: name it once.
        let mut seen = std::collections::HashSet::new();
        errors.retain(|e| seen.insert(e.clone()));
        if errors.is_empty() {
            tracing::debug!(policies = policies.len(), %digest, "policy pack loaded");
            Ok(PolicyPack {
                policies,
                rules,
                engines,
                engine_of,
                digest,
                config,
                files,
            })
        } else {
            Err(LoadErrors(errors))
        }
    }

    /// The version digest: hex SHA-256 over the pack's `.rego` files in order of relative path,
    /// each as its path, a NUL byte, its length in decimal, a NUL byte and its bytes.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The pack's `.rego` files as (relative path, text), in path order: what the digest covers,
    /// kept so a stored result can be re-derived.
    pub fn files(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files.iter().map(|(p, t)| (p.as_str(), t.as_str()))
    }

    /// The organisation parameters (`data.vouch.config.parameters`) policy `id` reads, in its
    /// module or in the `vouch.lib` modules it imports, in the order of [`PARAMETERS`].
    pub fn parameters_of(&self, id: &str) -> Vec<&'static ParameterInfo> {
        let Some(text) = self.policy(id).and_then(|p| self.files.get(&p.file)) else {
            return Vec::new();
        };
        let imported: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("import data."))
            .map(|l| l.split_whitespace().next().unwrap_or_default())
            .collect();
        let libs = self.files.values().filter(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("package "))
                .is_some_and(|pkg| imported.contains(&pkg.trim()))
        });
        let read: Vec<&str> = std::iter::once(text.as_str())
            .chain(libs.map(String::as_str))
            .flat_map(|t| t.lines().flat_map(|l| parameter_names(strip_comment(l))))
            .collect();
        PARAMETERS
            .iter()
            .filter(|p| read.contains(&p.name))
            .collect()
    }

    /// Every policy, sorted by id.
    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    /// A policy by id.
    pub fn policy(&self, id: &str) -> Option<&Policy> {
        self.policies
            .binary_search_by(|p| p.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.policies[i])
    }

    /// The organisation settings policies see as `data.vouch.config`.
    pub fn config(&self) -> &OrgConfig {
        &self.config
    }

    /// Replaces the organisation settings policies see as `data.vouch.config`.
    pub fn set_config(&mut self, config: OrgConfig) -> Result<(), LoadErrors> {
        let data = config.as_data();
        for (n, engine) in self.engines.iter_mut().enumerate() {
            engine.clear_data();
            engine.add_data(data.clone()).map_err(|e| {
                LoadErrors(vec![LoadError {
                    file: "data.vouch.config".into(),
                    line: 0,
                    reason: e.to_string(),
                }])
            })?;
            // New data leaves an engine unprepared: prepare it once here, not in every clone.
            if let Some(i) = self.engine_of.iter().position(|&e| e == n) {
                engine.set_input(crate::engine::empty_input(&self.policies[i]));
                if let Some(path) = self.rules[i].paths().next() {
                    let _ = engine.eval_rule(path.to_string());
                }
            }
        }
        self.config = config;
        Ok(())
    }
}

/// The engine the policies `members` (indexes into `policies` and `rules`) are evaluated on:
/// the libraries `read` (indexes into `libraries`) and their modules, with `config` as
/// `data.vouch.config`. Each policy's rules are evaluated once on an empty input, which also
/// prepares the engine so that clones start ready; the problems found are the answer.
///
/// Regorus evaluates every rule of every module under a package a policy refers to each time
/// it judges, and looks each `data.` reference up in every module its engine holds: with the
/// built-in pack, engines holding only the libraries their policies read take 31 M
/// instructions to judge the eval bench's host snapshot where one engine of the whole pack took
/// 49 M (callgrind, 2026-12-07); an engine per policy would save 7 % more for 2.5 times the
/// memory.
#[allow(clippy::too_many_arguments)]
fn group_engine(
    libraries: &[(&str, &String, &String)],
    read: &[usize],
    members: &[usize],
    policies: &[Policy],
    files: &BTreeMap<String, String>,
    rules: &[VerdictRules],
    config: &OrgConfig,
) -> Result<regorus::Engine, Vec<LoadError>> {
    let mut engine = regorus::Engine::new();
    engine.set_strict_builtin_errors(true);
    for &l in read {
        let (_, file, text) = libraries[l];
        // Added to the whole pack's engine without an error.
        let _ = engine.add_policy(file.clone(), text.clone());
    }
    let mut errors = Vec::new();
    for &i in members {
        let p = &policies[i];
        if let Err(e) = engine.add_policy(p.file.clone(), files[&p.file].clone()) {
            errors.push(evaluation_problem(p, &e.to_string()));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if let Err(e) = engine.add_data(config.as_data()) {
        return Err(vec![evaluation_problem(
            &policies[members[0]],
            &e.to_string(),
        )]);
    }
    for &i in members {
        engine.set_input(crate::engine::empty_input(&policies[i]));
        for path in rules[i].paths() {
            if let Err(e) = engine.eval_rule(path.to_string()) {
                errors.push(evaluation_problem(&policies[i], &e.to_string()));
            }
        }
    }
    if errors.is_empty() {
        Ok(engine)
    } else {
        Err(errors)
    }
}

/// A regorus error met while loading `policy`, as a load error naming the file and line it
/// points at (a library's, when the error is there), else the policy's file.
fn evaluation_problem(policy: &Policy, message: &str) -> LoadError {
    let (line, reason) = rego_error(message);
    LoadError {
        file: rego_error_file(message).unwrap_or_else(|| policy.file.clone()),
        line,
        reason,
    }
}

/// The libraries (indexes into `libraries`: package, file, text) a policy's `text` may read,
/// and those they may read in turn. Every reference counts by the path it names below `data`,
/// written out (`data.vouch.lib.aws.f`) or through an import (`import data.vouch.lib` then
/// `lib.aws.f`): a library is read when that path is its package, lies inside it (a rule) or
/// above it (`data.vouch` reaches `vouch.lib.aws`); `data` or an import's name alone or
/// indexed (`data[x]`, `lib[x]`) reaches all below it. Regorus evaluates every rule of every
/// module under a package a policy refers to, each time it judges, so a policy's engine holds
/// only these.
fn libraries_read(text: &str, libraries: &[(&str, &String, &String)]) -> Vec<usize> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    // The `.a.b` segments at the start of `rest`, and whether an index follows them.
    let segments = |mut rest: &str| -> (Vec<String>, bool) {
        let mut path = Vec::new();
        while let Some(after) = rest.strip_prefix('.') {
            let end = after.find(|c: char| !ident(c)).unwrap_or(after.len());
            if end == 0 {
                break;
            }
            path.push(after[..end].to_string());
            rest = &after[end..];
        }
        (path, rest.starts_with('['))
    };
    // Where `word` stands alone in `text`, not after a dot: the text after it.
    let uses = |text: &'_ str, word: &str| -> Vec<usize> {
        text.match_indices(word)
            .filter(|(at, _)| {
                !text[..*at].ends_with(|c: char| ident(c) || c == '.')
                    && !text[at + word.len()..].starts_with(ident)
            })
            .map(|(at, _)| at + word.len())
            .collect()
    };
    // The paths `text` names below `data`; `None` for one that may reach anything. Lines of
    // comment name none (`#` within a line is kept: at worst a library more).
    let paths = |text: &str| -> Vec<Option<String>> {
        let text: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .flat_map(|l| [l, "\n"])
            .collect();
        let text = text.as_str();
        let mut out = Vec::new();
        let mut roots: Vec<(String, Vec<String>)> = vec![("data".into(), Vec::new())];
        for line in text.lines() {
            let Some(import) = line.trim().strip_prefix("import data") else {
                continue;
            };
            let (path, _) = segments(import);
            let alias = match import.split_once(" as ") {
                Some((_, alias)) => alias.trim().to_string(),
                None => path.last().cloned().unwrap_or_default(),
            };
            if !path.is_empty() && !alias.is_empty() {
                roots.push((alias, path));
            }
        }
        for (word, base) in &roots {
            for after in uses(text, word) {
                let line = text[..after].rfind('\n').map_or(0, |n| n + 1);
                if text[line..].trim_start().starts_with("import ") {
                    continue; // an import names a path; its uses read it
                }
                let (more, indexed) = segments(&text[after..]);
                let path: Vec<String> = base.iter().cloned().chain(more).collect();
                out.push((!path.is_empty() && !indexed).then(|| path.join(".")));
            }
        }
        out
    };
    let reaches = |path: &Option<String>, package: &str| match path {
        None => true,
        Some(p) => {
            let under = |long: &str, short: &str| {
                long == short || long.strip_prefix(short).is_some_and(|r| r.starts_with('.'))
            };
            under(package, p) || under(p, package)
        }
    };
    let mut read: Vec<usize> = Vec::new();
    let mut texts = vec![text];
    while let Some(t) = texts.pop() {
        let named = paths(t);
        for (i, (package, _, lib)) in libraries.iter().enumerate() {
            if !read.contains(&i) && named.iter().any(|p| reaches(p, package)) {
                read.push(i);
                texts.push(lib);
            }
        }
    }
    read.sort_unstable();
    read
}

/// The built-in pack's files as owned (path, text) pairs.
pub fn builtin_sources() -> impl Iterator<Item = (String, String)> {
    BUILTIN.iter().map(|(p, t)| (p.to_string(), t.to_string()))
}

fn digest(files: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    for (path, text) in files {
        h.update(path.as_bytes());
        h.update([0]);
        h.update(text.len().to_string().as_bytes());
        h.update([0]);
        h.update(text.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Every file below `dir` whose name ends in `.{ext}` (hidden entries skipped), as (path
/// relative to `dir` with `/` separators, text), with a problem for each that cannot be read.
pub(crate) fn read_tree(dir: &Path, ext: &str) -> (Vec<(String, String)>, Vec<LoadError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, rel)) = pending.pop() {
        let entries = match std::fs::read_dir(&path) {
            Ok(e) => e,
            Err(e) => {
                errors.push(io_error(&path, &e));
                continue;
            }
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let child = entry.path();
            let child_rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if child.is_dir() {
                pending.push((child, child_rel));
            } else if name.ends_with(&format!(".{ext}")) {
                match std::fs::read_to_string(&child) {
                    Ok(text) => files.push((child_rel, text)),
                    Err(e) => errors.push(io_error(&child, &e)),
                }
            }
        }
    }
    files.sort();
    (files, errors)
}

fn io_error(path: &Path, e: &std::io::Error) -> LoadError {
    let reason = match e.kind() {
        std::io::ErrorKind::NotFound => format!("not found: {}", path.display()),
        std::io::ErrorKind::PermissionDenied => {
            format!("permission denied reading {}", path.display())
        }
        _ => format!("cannot read {}: {e}", path.display()),
    };
    LoadError {
        file: path.display().to_string(),
        line: 0,
        reason,
    }
}

/// The line and the reason of a regorus error, which reads
/// `--> file:line:col`, the source line with a caret, then `error: reason`.
pub(crate) fn rego_error(message: &str) -> (usize, String) {
    let at = message
        .lines()
        .find_map(|l| l.trim().strip_prefix("--> "))
        .and_then(|loc| {
            let mut parts = loc.rsplitn(3, ':');
            let col: usize = parts.next()?.trim().parse().ok()?;
            let line: usize = parts.next()?.trim().parse().ok()?;
            Some((line, col))
        });
    let reason = message
        .lines()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .unwrap_or(message.trim())
        .to_string();
    match at {
        Some((line, col)) => (line, format!("{reason} (column {col})")),
        None => (0, reason),
    }
}

/// The file a regorus error points at, when it names one.
fn rego_error_file(message: &str) -> Option<String> {
    let loc = message
        .lines()
        .find_map(|l| l.trim().strip_prefix("--> "))?;
    Some(loc.rsplitn(3, ':').nth(2)?.to_string())
}

/// Checks of a policy's text that Rego itself does not make: it must read only the evidence its
/// metadata lists (or the engine could not report it unavailable), index evidence by the full
/// dotted id, and not depend on the wall clock.
fn static_checks(text: &str, declared: &[String]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = strip_comment(line);
        let line_no = i + 1;
        if code.contains("time.now_ns") {
            problems.push(Problem {
                line: line_no,
                reason: "time.now_ns makes a verdict depend on when it is evaluated: compare with input.collected_at".into(),
            });
        }
        if let Some(rest) = code.split("input.evidence.").nth(1)
            && rest.starts_with(|c: char| c.is_ascii_alphabetic())
        {
            problems.push(Problem {
                line: line_no,
                reason: "evidence ids contain dots: index them whole, input.evidence[\"host.area.fact\"]".into(),
            });
        }
        for name in parameter_names(code) {
            if !PARAMETERS.iter().any(|p| p.name == name) {
                problems.push(Problem {
                    line: line_no,
                    reason: format!(
                        "reads data.vouch.config.parameters.{name}, which is no parameter (known: {})",
                        PARAMETERS.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        }
        for literal in string_literals(code) {
            if vouch_evidence::SourceInfo::of_evidence_id(literal).is_some()
                && metadata::valid_evidence_id(literal)
                && !declared.iter().any(|d| d == literal)
            {
                problems.push(Problem {
                    line: line_no,
                    reason: format!(
                        "reads {literal}, which custom.evidence does not list (the engine must know every fact a policy uses)"
                    ),
                });
            }
        }
    }
    problems
}

/// The names of the organisation parameters a line of code reads
/// (`data.vouch.config.parameters.<name>`).
fn parameter_names(code: &str) -> Vec<&str> {
    code.match_indices("config.parameters.")
        .map(|(i, m)| {
            let rest = &code[i + m.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

/// The line without its `#` comment (a `#` inside a string does not start one).
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q == '"' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
        } else if c == '"' || c == '`' {
            quote = Some(c);
        } else if c == '#' {
            return &line[..i];
        }
    }
    line
}

/// The contents of the string literals on a line (escapes are not decoded: ids have none).
fn string_literals(code: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    let mut escaped = false;
    for (i, c) in code.char_indices() {
        match start {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(s) if c == '"' => {
                out.push(&code[s..i]);
                start = None;
            }
            Some(_) => {}
            None if c == '"' => start = Some(i + 1),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{load, module};

    fn policy(id: &str, controls: &str, body: &str) -> String {
        module(
            id,
            "low",
            controls,
            "host.test.flag",
            &format!("{body}\n{DENY}"),
        )
    }

    const DENY: &str =
        "deny contains \"flag is off\" if input.evidence[\"host.test.flag\"] == false";

    const BODY: &str = "allow := \"flag set\" if input.evidence[\"host.test.flag\"] == true";

    #[test]
    fn a_good_pack_loads_with_a_stable_digest() {
        let files = [("a.rego", policy("host.test.a", "iso27001-2022:A.8.9", BODY))];
        let pack = load(&files).unwrap();
        assert_eq!(pack.policies().len(), 1);
        assert_eq!(pack.policy("host.test.a").unwrap().file, "a.rego");
        assert_eq!(pack.digest().len(), 64);
        assert_eq!(pack.digest(), load(&files).unwrap().digest());
        let kept: Vec<(&str, &str)> = pack.files().collect();
        assert_eq!(kept, vec![("a.rego", files[0].1.as_str())]);
        let edited = [(
            "a.rego",
            policy("host.test.a", "iso27001-2022:A.8.9", &format!("{BODY} ")),
        )];
        assert_ne!(pack.digest(), load(&edited).unwrap().digest());
        let renamed = [("b.rego", files[0].1.clone())];
        assert_ne!(pack.digest(), load(&renamed).unwrap().digest());
    }

    /// The server's pack: the built-in policies plus a directory's (a file at a built-in path
    /// replaces it), with the settings applied; nothing at all is an error, not an empty pack.
    #[test]
    fn assemble_adds_a_directory_to_the_builtin_pack() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("own.rego"),
            policy("host.test.own", "iso27001-2022:A.8.9", BODY),
        )
        .unwrap();
        let config = OrgConfig {
            allowed_jurisdictions: vec!["eu".into()],
            ..OrgConfig::default()
        };
        let builtin = PolicyPack::builtin().policies().len();
        let pack =
            PolicyPack::assemble(true, Some(dir.path()), &Catalogs::builtin(), config.clone())
                .unwrap();
        assert_eq!(pack.policies().len(), builtin + 1);
        assert_eq!(pack.config(), &config);
        let own =
            PolicyPack::assemble(false, Some(dir.path()), &Catalogs::builtin(), config).unwrap();
        assert_eq!(own.policies().len(), 1);
        let (first, _) = builtin_sources().next().unwrap();
        let replacement = dir.path().join(&first);
        std::fs::create_dir_all(replacement.parent().unwrap()).unwrap();
        std::fs::write(
            &replacement,
            policy("host.test.other", "iso27001-2022:A.8.9", BODY),
        )
        .unwrap();
        let replaced = PolicyPack::assemble(
            true,
            Some(dir.path()),
            &Catalogs::builtin(),
            OrgConfig::default(),
        )
        .unwrap();
        assert_eq!(
            replaced.policies().len(),
            builtin + 1,
            "{first} was replaced"
        );
        let empty = tempfile::tempdir().unwrap();
        let err = PolicyPack::assemble(
            false,
            Some(empty.path()),
            &Catalogs::builtin(),
            OrgConfig::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("no policy"), "{err}");
    }

    #[test]
    fn every_problem_is_reported_with_file_and_line() {
        let files = [
            (
                "syntax.rego",
                policy(
                    "host.test.syntax",
                    "iso27001-2022:A.8.9",
                    "allow := \"x\" if {\n  input.x ==\n}",
                ),
            ),
            (
                "control.rego",
                policy("host.test.control", "iso27001-2022:A.8.99", BODY),
            ),
            (
                "nometa.rego",
                format!("package vouch.policies.host.test.nometa\n\n{BODY}\n"),
            ),
            (
                "dup1.rego",
                policy("host.test.dup", "iso27001-2022:A.8.9", BODY),
            ),
            (
                "dup2.rego",
                policy("host.test.dup", "iso27001-2022:A.8.9", BODY).replace(
                    "package vouch.policies.host.test.dup",
                    "package vouch.policies.host.test.dup2",
                ),
            ),
        ];
        let e = load(&files).unwrap_err();
        let has = |prefix: &str, text: &str| {
            assert!(
                e.iter().any(|l| l.starts_with(prefix) && l.contains(text)),
                "no {prefix}…{text} in {e:#?}"
            )
        };
        has("syntax.rego:16:", "expecting expression");
        has("control.rego:7:", "unknown control iso27001-2022:A.8.99");
        has("nometa.rego:1:", "no `# METADATA` block");
        has(
            "dup2.rego:12:",
            "duplicate policy id host.test.dup (also in dup1.rego:12)",
        );
        has(
            "dup2.rego:12:",
            "package must be vouch.policies.host.test.dup",
        );
    }

    /// A policy reads the organisation's parameters by name: an unknown name is a load error,
    /// and the parameters a policy reads (itself or through a library it imports) are known.
    #[test]
    fn parameters_are_checked_and_found_through_imported_libraries() {
        let typo = policy(
            "host.test.typo",
            "iso27001-2022:A.8.9",
            "allow := \"x\" if input.evidence[\"host.test.flag\"] < data.vouch.config.parameters.lockout_max_attempt",
        );
        let e = load(&[("typo.rego", typo)]).unwrap_err();
        assert!(
            e.iter().any(|l| l.starts_with("typo.rego:14:")
                && l.contains("parameters.lockout_max_attempt, which is no parameter")),
            "{e:#?}"
        );
        let pack = PolicyPack::builtin();
        let names =
            |id: &str| -> Vec<&str> { pack.parameters_of(id).iter().map(|p| p.name).collect() };
        assert_eq!(
            names("aws.rds.automated_backups"),
            ["rds_backup_retention_days"]
        );
        assert_eq!(
            names("kubernetes.pods.no_privileged_containers"),
            ["kubernetes_system_namespaces"]
        );
        assert_eq!(names("host.ssh.root_login_disabled"), Vec::<&str>::new());
    }

    /// Policies are judged on engines holding the libraries they read: named by import,
    /// reached through another library, or (reached in a way the text does not show) all of
    /// them; each policy judges as it would on one engine holding the whole pack.
    #[test]
    fn policies_are_judged_with_the_libraries_they_read() {
        let lib = |package: &str, body: &str| format!("package {package}\n\n{body}\n");
        let files = [
            (
                "lib/a.rego",
                lib(
                    "vouch.lib.a",
                    "import data.vouch.lib.b\n\non(x) if b.yes(x)",
                ),
            ),
            ("lib/b.rego", lib("vouch.lib.b", "yes(x) if x == true")),
            ("lib/c.rego", lib("vouch.lib.c", "limit := 3")),
            (
                "through_a.rego",
                module(
                    "host.test.through_a",
                    "low",
                    "iso27001-2022:A.8.9",
                    "host.test.flag",
                    "import data.vouch.lib.a\n\nallow := \"on\" if a.on(input.evidence[\"host.test.flag\"])\ndeny contains \"off\" if not a.on(input.evidence[\"host.test.flag\"])",
                ),
            ),
            (
                "unnamed.rego",
                module(
                    "host.test.unnamed",
                    "low",
                    "iso27001-2022:A.8.9",
                    "host.test.flag",
                    "import data.vouch\n\nallow := \"under\" if input.evidence[\"host.test.flag\"] < vouch.lib.c.limit\ndeny contains \"over\" if input.evidence[\"host.test.flag\"] >= vouch.lib.c.limit",
                ),
            ),
        ];
        let files: Vec<(&str, String)> = files.into_iter().collect();
        let libraries: Vec<(&str, &String, &String)> = files[..3]
            .iter()
            .map(|(_, t)| (metadata::package_statement(t).unwrap().1, t, t))
            .collect();
        assert_eq!(libraries_read(&files[3].1, &libraries), [0, 1]);
        assert_eq!(libraries_read(&files[4].1, &libraries), [2]);
        let read = |text: &str| libraries_read(text, &libraries);
        assert_eq!(read("x := data.vouch.lib.bb.y"), Vec::<usize>::new());
        assert_eq!(read("x := data.vouch.lib.c.limit"), [2]);
        assert_eq!(
            read("x := data.vouch.config.parameters.p"),
            Vec::<usize>::new()
        );
        assert_eq!(read("x := data[\"vouch\"]"), [0, 1, 2]);
        assert_eq!(read("x := data"), [0, 1, 2]);
        assert_eq!(read("import data.vouch.lib.c\n\ny := c.limit"), [2]);
        assert_eq!(read("import data.vouch.lib as v\n\ny := v.c.limit"), [2]);
        assert_eq!(read("import data.vouch.lib as v\n\ny := v[x]"), [0, 1, 2]);
        assert_eq!(
            read("# reads data.vouch.lib.c\nimport data.vouch.lib.c"),
            Vec::<usize>::new()
        );
        assert_eq!(read("metadata.x := 1"), Vec::<usize>::new());
        let pack = load(&files).unwrap();
        let judge = |id: &str, flag: serde_json::Value| {
            let evidence = std::collections::BTreeMap::from([(
                "host.test.flag".to_string(),
                vouch_evidence::EvidenceItem::ok(flag, vouch_evidence::Source::File("/x".into())),
            )]);
            let asset = vouch_evidence::Asset {
                kind: vouch_evidence::AssetKind::Host,
                id: "h".into(),
                name: "h".into(),
            };
            let view = crate::SnapshotView {
                asset: &asset,
                collected_at: "2026-01-01T00:00:00Z".parse().unwrap(),
                evidence: &evidence,
            };
            let r = pack.evaluate_policy(id, &view).unwrap();
            (r.status.as_str(), r.reason)
        };
        assert_eq!(
            judge("host.test.through_a", true.into()),
            ("pass", "on".into())
        );
        assert_eq!(
            judge("host.test.through_a", false.into()),
            ("fail", "off".into())
        );
        assert_eq!(
            judge("host.test.unnamed", 2.into()),
            ("pass", "under".into())
        );
        assert_eq!(
            judge("host.test.unnamed", 5.into()),
            ("fail", "over".into())
        );
        assert_ne!(
            pack.engine_of[0], pack.engine_of[1],
            "policies reading other libraries share no engine"
        );
    }

    #[test]
    fn unknown_functions_and_undeclared_evidence_are_load_errors() {
        let files = [
            (
                "fn.rego",
                policy(
                    "host.test.fn",
                    "iso27001-2022:A.8.9",
                    "allow := \"x\" if no_such_function(input.evidence[\"host.test.flag\"])",
                ),
            ),
            (
                "undeclared.rego",
                policy(
                    "host.test.undeclared",
                    "iso27001-2022:A.8.9",
                    "allow := \"x\" if input.evidence[\"host.test.other\"] == 1",
                ),
            ),
            (
                "dotted.rego",
                policy(
                    "host.test.dotted",
                    "iso27001-2022:A.8.9",
                    "allow := \"x\" if input.evidence.host == 1\nx := time.now_ns()",
                ),
            ),
            (
                "package.rego",
                policy("host.test.package", "iso27001-2022:A.8.9", BODY)
                    .replace("package vouch.policies.host.test.package", "package other"),
            ),
        ];
        let e = load(&files).unwrap_err();
        let has = |prefix: &str, text: &str| {
            assert!(
                e.iter().any(|l| l.starts_with(prefix) && l.contains(text)),
                "no {prefix}…{text} in {e:#?}"
            )
        };
        has(
            "undeclared.rego:14:",
            "reads host.test.other, which custom.evidence does not list",
        );
        has("dotted.rego:14:", "index them whole");
        has("dotted.rego:15:", "time.now_ns");
        has(
            "package.rego:12:",
            "package must be vouch.policies.host.test.package",
        );
        // Found by evaluating, once the rest is clean.
        let e = load(&files[..1]).unwrap_err();
        assert!(
            e[0].starts_with("fn.rego:14:") && e[0].contains("no_such_function"),
            "{e:?}"
        );
        let no_deny = [(
            "nodeny.rego",
            policy("host.test.nodeny", "iso27001-2022:A.8.9", BODY).replace(DENY, ""),
        )];
        let e = load(&no_deny).unwrap_err();
        assert_eq!(
            e,
            vec![
                "nodeny.rego:12: declares no `deny` rule: a policy says when it fails (deny, a set of reasons) and when it passes (allow, a reason)"
            ]
        );
    }

    #[test]
    fn an_error_that_fails_the_whole_engine_is_named_once() {
        let late = "deny contains msg if {\n  n := [x | some x in p]\n  some p in input.evidence[\"host.test.flag\"]\n  msg := \"late\"\n}";
        let files = [
            ("a.rego", policy("host.test.a", "iso27001-2022:A.8.9", BODY)),
            (
                "late.rego",
                policy(
                    "host.test.late",
                    "iso27001-2022:A.8.9",
                    &format!("{BODY}\n{late}"),
                ),
            ),
            ("z.rego", policy("host.test.z", "iso27001-2022:A.8.9", BODY)),
        ];
        let e = load(&files).unwrap_err();
        assert_eq!(e.len(), 1, "{e:#?}");
        assert!(e[0].starts_with("late.rego:16:"), "{e:?}");
    }

    #[test]
    fn a_directory_is_read_recursively_and_unreadable_dirs_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("host")).unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::write(
            dir.path().join("host/a.rego"),
            policy("host.test.a", "iso27001-2022:A.8.9", BODY),
        )
        .unwrap();
        std::fs::write(dir.path().join(".git/x.rego"), "not rego").unwrap();
        std::fs::write(dir.path().join("host/notes.txt"), "ignored").unwrap();
        let pack = PolicyPack::load(dir.path()).unwrap();
        assert_eq!(pack.policy("host.test.a").unwrap().file, "host/a.rego");
        let e = PolicyPack::load(&dir.path().join("missing")).unwrap_err();
        assert!(e.to_string().contains("not found: "), "{e}");
    }

    #[test]
    fn regorus_errors_are_split_into_line_and_reason() {
        let msg = "\n--> host/a.rego:5:7\n  |\n5 |   msg := \"x\"\n  |       ^\nerror: expecting `}` while parsing query";
        assert_eq!(
            rego_error(msg),
            (
                5,
                "expecting `}` while parsing query (column 7)".to_string()
            )
        );
        assert_eq!(rego_error_file(msg).as_deref(), Some("host/a.rego"));
        assert_eq!(
            rego_error("plain failure"),
            (0, "plain failure".to_string())
        );
    }

    #[test]
    fn comments_and_literals_are_told_apart() {
        assert_eq!(strip_comment("x := \"a#b\" # note"), "x := \"a#b\" ");
        assert_eq!(
            string_literals("f(\"host.a.b\", \"q\\\"x\")"),
            vec!["host.a.b", "q\\\"x"]
        );
    }

    #[test]
    fn the_pack_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<PolicyPack>();
    }
}
