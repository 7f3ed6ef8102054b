//! Password ageing (/etc/login.defs), quality (pwquality) and lockout (faillock, PAM stacks of
//! Debian and RHEL layouts).

use super::*;

/// `KEY value` settings of /etc/login.defs (the last one of a key wins, as in shadow-utils).
pub(super) fn login_defs(text: &str) -> BTreeMap<&str, &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?, w.next()?.trim_matches('"')))
        })
        .collect()
}

/// `name = value` (or `name value`) settings of pwquality.conf / faillock.conf style files.
pub(super) fn key_values(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            let end = l
                .find(|c: char| c.is_whitespace() || c == '=')
                .unwrap_or(l.len());
            let (k, v) = l.split_at(end);
            let v = v.trim_start();
            let v = v.strip_prefix('=').unwrap_or(v).trim();
            (k.to_ascii_lowercase(), v.to_string())
        })
        .collect()
}

/// A configuration file's settings; a missing file has none.
pub(super) fn optional_settings(
    ctx: &CollectContext,
    abs: &str,
) -> Result<BTreeMap<String, String>, String> {
    match std::fs::read_to_string(ctx.path(abs)) {
        Ok(t) => Ok(key_values(&t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(describe_io(abs, &e)),
    }
}

/// libpwquality's settings: pwquality.conf.d/*.conf in ASCII order, then pwquality.conf,
/// later values replacing earlier ones.
pub(super) fn pwquality_settings(ctx: &CollectContext) -> Result<BTreeMap<String, String>, String> {
    let dir = format!("{PWQUALITY}.d");
    let mut settings = BTreeMap::new();
    for n in dir_names(ctx, &dir)?
        .iter()
        .filter(|n| n.ends_with(".conf"))
    {
        settings.extend(optional_settings(ctx, &format!("{dir}/{n}"))?);
    }
    settings.extend(optional_settings(ctx, PWQUALITY)?);
    Ok(settings)
}

/// One module line of a PAM stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PamEntry {
    /// `required`, `requisite`, `[default=die …]`…
    pub(super) control: String,
    /// The module's name without directory and `.so`: `pam_faillock`.
    pub(super) module: String,
    /// Its arguments.
    pub(super) args: Vec<String>,
}

impl PamEntry {
    /// The value of argument `name=`.
    pub(super) fn arg(&self, name: &str) -> Option<&str> {
        self.args
            .iter()
            .find_map(|a| a.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
    }

    /// Whether the module's failure fails the stack.
    pub(super) fn enforces(&self) -> bool {
        match self.control.as_str() {
            "required" | "requisite" => true,
            c => {
                c.starts_with('[')
                    && c.trim_matches(['[', ']'])
                        .split_whitespace()
                        .any(|kv| kv == "default=die" || kv == "default=bad")
            }
        }
    }
}

/// The entries of type `kind` (`auth`, `password`) of PAM file `abs`, with `@include`,
/// `include` and `substack` followed.
pub(super) fn pam_stack(
    ctx: &CollectContext,
    abs: &str,
    kind: &str,
    depth: usize,
) -> Result<Vec<PamEntry>, String> {
    if depth > MAX_INCLUDE_DEPTH {
        return Err(format!(
            "{abs}: PAM includes nested more than {MAX_INCLUDE_DEPTH} deep"
        ));
    }
    let pam_path = |name: &str| {
        if name.starts_with('/') {
            name.to_string()
        } else {
            format!("/etc/pam.d/{name}")
        }
    };
    let text = ctx.read(abs)?.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(target) = line.strip_prefix("@include") {
            out.extend(pam_stack(ctx, &pam_path(target.trim()), kind, depth + 1)?);
            continue;
        }
        let Some((ty, rest)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        if !ty.trim_start_matches('-').eq_ignore_ascii_case(kind) {
            continue;
        }
        let rest = rest.trim_start();
        let (control, rest) = if rest.starts_with('[') {
            match rest.find(']') {
                Some(end) => (&rest[..=end], &rest[end + 1..]),
                None => continue,
            }
        } else {
            rest.split_once(char::is_whitespace).unwrap_or((rest, ""))
        };
        let mut words = rest.split_whitespace();
        let Some(module) = words.next() else {
            continue;
        };
        let control = control.split_whitespace().collect::<Vec<_>>().join(" ");
        if control == "include" || control == "substack" {
            out.extend(pam_stack(ctx, &pam_path(module), kind, depth + 1)?);
            continue;
        }
        let name = module.rsplit('/').next().unwrap_or(module);
        out.push(PamEntry {
            control,
            module: name.trim_end_matches(".so").to_string(),
            args: words.map(str::to_string).collect(),
        });
    }
    Ok(out)
}

/// The PAM files whose stacks decide password changes and logins, by distribution family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PamLayout {
    /// Files whose `password` stack checks new passwords.
    pub(super) password: &'static [&'static str],
    /// Files whose `auth` stack checks logins.
    pub(super) auth: &'static [&'static str],
}

/// Debian and Ubuntu (pam-auth-update).
pub(super) const DEBIAN_PAM: PamLayout = PamLayout {
    password: &["/etc/pam.d/common-password"],
    auth: &["/etc/pam.d/common-auth"],
};
/// RHEL and Fedora (authselect): local logins use system-auth, remote ones password-auth.
pub(super) const RHEL_PAM: PamLayout = PamLayout {
    password: &["/etc/pam.d/system-auth", "/etc/pam.d/password-auth"],
    auth: &["/etc/pam.d/system-auth", "/etc/pam.d/password-auth"],
};

/// The host's PAM layout.
pub(super) fn pam_layout(ctx: &CollectContext) -> Result<PamLayout, String> {
    if exists(ctx, DEBIAN_PAM.password[0]) || exists(ctx, DEBIAN_PAM.auth[0]) {
        Ok(DEBIAN_PAM)
    } else if exists(ctx, RHEL_PAM.auth[0]) {
        Ok(RHEL_PAM)
    } else {
        Err(format!(
            "not found: {} or {}",
            DEBIAN_PAM.password[0], RHEL_PAM.password[0]
        ))
    }
}

/// Per stack file: `Ok(minimum length)` when a quality module enforces it, `Err(why not)`.
pub(super) fn quality(
    entries: &[PamEntry],
    conf: &mut dyn FnMut() -> Result<BTreeMap<String, String>, String>,
    file: &str,
) -> Result<Result<i64, String>, String> {
    let Some(entry) = entries
        .iter()
        .find(|e| e.module == "pam_pwquality" || e.module == "pam_cracklib")
    else {
        return Ok(Err(format!(
            "no pam_pwquality or pam_cracklib in the password stack of {file}"
        )));
    };
    let number = |v: Option<&str>| v.and_then(|v| v.trim().parse::<i64>().ok());
    let (min_length, enforcing) = if entry.module == "pam_pwquality" {
        let conf = conf()?;
        let get =
            |k: &str| number(entry.arg(k)).or_else(|| number(conf.get(k).map(String::as_str)));
        (
            get("minlen").unwrap_or(8).max(6),
            get("enforcing").unwrap_or(1),
        )
    } else {
        (number(entry.arg("minlen")).unwrap_or(9), 1)
    };
    Ok(if !entry.enforces() {
        Err(format!(
            "{} is {} in {file}: a failed check does not stop the change",
            entry.module, entry.control
        ))
    } else if enforcing == 0 {
        Err(format!(
            "pam_pwquality has enforcing=0 for {file}: it only warns"
        ))
    } else {
        Ok(min_length)
    })
}

/// Per stack file: `Ok(failed attempts that lock)` when a lockout module enforces it,
/// `Err(why not)`.
pub(super) fn lockout(
    ctx: &CollectContext,
    entries: &[PamEntry],
    file: &str,
) -> Result<Result<i64, String>, String> {
    let modules: Vec<&PamEntry> = entries
        .iter()
        .filter(|e| e.module == "pam_faillock" || e.module == "pam_tally2")
        .collect();
    let Some(first) = modules.first() else {
        return Ok(Err(format!(
            "no pam_faillock or pam_tally2 in the auth stack of {file}"
        )));
    };
    if !modules.iter().any(|e| e.enforces()) {
        return Ok(Err(format!(
            "{} is {} in {file}: it does not stop a login",
            first.module, first.control
        )));
    }
    let number = |v: Option<&str>| v.and_then(|v| v.trim().parse::<i64>().ok());
    let deny = modules.iter().find_map(|e| number(e.arg("deny")));
    let deny = match (deny, first.module.as_str()) {
        (Some(d), _) => d,
        (None, "pam_tally2") => 0,
        (None, _) => {
            let conf = modules
                .iter()
                .find_map(|e| e.arg("conf"))
                .unwrap_or(FAILLOCK);
            number(
                optional_settings(ctx, conf)?
                    .get("deny")
                    .map(String::as_str),
            )
            .unwrap_or(3)
        }
    };
    Ok(if deny > 0 {
        Ok(deny)
    } else {
        Err(format!(
            "{} has deny=0 in {file}: accounts are never locked",
            first.module
        ))
    })
}

/// Password quality and lockout, per stack file.
#[derive(Debug)]
pub(super) struct PamPolicy {
    /// Per password stack file: the minimum length enforced, or why none is.
    pub(super) quality: Vec<Result<i64, String>>,
    /// Per auth stack file: the failed attempts that lock, or why none do.
    pub(super) lockout: Vec<Result<i64, String>>,
}

/// Reads the PAM stacks of `layout`.
pub(super) fn pam_policy(ctx: &CollectContext, layout: PamLayout) -> Result<PamPolicy, String> {
    let mut conf_cache: Option<BTreeMap<String, String>> = None;
    let mut conf = || -> Result<BTreeMap<String, String>, String> {
        if conf_cache.is_none() {
            conf_cache = Some(pwquality_settings(ctx)?);
        }
        Ok(conf_cache.clone().unwrap_or_default())
    };
    let mut policy = PamPolicy {
        quality: Vec::new(),
        lockout: Vec::new(),
    };
    for f in layout.password {
        let entries = pam_stack(ctx, f, "password", 0)?;
        policy.quality.push(quality(&entries, &mut conf, f)?);
    }
    for f in layout.auth {
        let entries = pam_stack(ctx, f, "auth", 0)?;
        policy.lockout.push(lockout(ctx, &entries, f)?);
    }
    Ok(policy)
}

/// Whether every stack file enforces, and then the value over all of them (`pick` of the
/// values), else the first reason one does not.
pub(super) fn across(
    per_file: &[Result<i64, String>],
    pick: fn(i64, i64) -> i64,
) -> (bool, Result<i64, String>) {
    let mut value: Option<i64> = None;
    for r in per_file {
        match r {
            Ok(v) => value = Some(value.map_or(*v, |w| pick(w, *v))),
            Err(why) => return (false, Err(why.clone())),
        }
    }
    (true, value.ok_or_else(|| "no PAM stack file".to_string()))
}
