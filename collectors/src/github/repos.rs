//! The organisation's repositories: visibility, default-branch protection (classic branch
//! protection and rulesets together), CODEOWNERS, secret scanning and push protection,
//! Dependabot alerts; one object per repository and summary lists that policies test easily.
//!
//! Archived repositories are listed but not examined (they are read-only) and left out of the
//! summary lists. A summary list is unavailable when the fact is unknown for any repository it
//! covers: a list that silently skipped a repository would read as a pass.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use vouch_evidence::Source as ItemSource;

use super::api::{Api, ApiError};
use super::{Shared, call};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

const PROTECTION_SOURCE: &str = "GET /repos/{owner}/{repo}/branches/{branch}/protection + GET /repos/{owner}/{repo}/rules/branches/{branch}";

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "github.repos.count",
        value_type: ValueType::Integer,
        meaning: "Repositories covered (after the configured include/exclude patterns), archived ones included.",
        source: "GET /orgs/{org}/repos?type=all",
        context_only: Some(
            "inventory: it describes the asset and requires nothing.",
        ),
    },
    EvidenceSpec {
        id: "github.repos.list",
        value_type: ValueType::ObjectList,
        meaning: "One object per covered repository: `name`, `visibility`, `archived`, `fork`, `default_branch`, `default_branch_protection` (`protected`, `sources` (`branch_protection`, `rulesets`), `required_reviews`, `required_review_count`, `dismiss_stale_reviews`, `require_code_owner_reviews`, `required_status_checks`, `enforce_admins` (null when only rulesets apply: their bypass lists are not read), `signed_commits`, `force_push_allowed`, `deletion_allowed`), `codeowners_file` (the CODEOWNERS GitHub uses, or null), `secret_scanning`, `secret_scanning_push_protection`, `dependabot_alerts` (`enabled`/`disabled`); a fact that could not be read is null and `unavailable` maps it to the reason. Archived repositories are not examined.",
        source: "GET /orgs/{org}/repos, GET /repos/{owner}/{repo}/branches/{branch}/protection, GET /repos/{owner}/{repo}/rules/branches/{branch}, GET /repos/{owner}/{repo}/contents/{path}, GET /repos/{owner}/{repo}/vulnerability-alerts",
        context_only: None,
    },
    EvidenceSpec {
        id: "github.repos.public",
        value_type: ValueType::StringList,
        meaning: "Covered repositories anyone can read (visibility `public`), archived ones included.",
        source: "GET /orgs/{org}/repos (visibility)",
        context_only: Some(
            "publishing a repository is the organisation's choice; listed for review.",
        ),
    },
    EvidenceSpec {
        id: "github.repos.unprotected_default_branches",
        value_type: ValueType::StringList,
        meaning: "Non-archived repositories whose default branch has neither branch protection nor a ruleset rule.",
        source: PROTECTION_SOURCE,
        context_only: None,
    },
    EvidenceSpec {
        id: "github.repos.default_branches_without_required_reviews",
        value_type: ValueType::StringList,
        meaning: "Non-archived repositories where a change can reach the default branch without at least one approving review.",
        source: PROTECTION_SOURCE,
        context_only: None,
    },
    EvidenceSpec {
        id: "github.repos.default_branches_allowing_force_push",
        value_type: ValueType::StringList,
        meaning: "Non-archived repositories whose default branch accepts force pushes.",
        source: PROTECTION_SOURCE,
        context_only: None,
    },
    EvidenceSpec {
        id: "github.repos.without_codeowners",
        value_type: ValueType::StringList,
        meaning: "Non-archived repositories with no CODEOWNERS file (`.github/`, root or `docs/`).",
        source: "GET /repos/{owner}/{repo}/contents/{path}",
        context_only: None,
    },
    EvidenceSpec {
        id: "github.repos.secret_scanning_disabled",
        value_type: ValueType::StringList,
        meaning: "Non-archived repositories with secret scanning disabled.",
        source: "GET /orgs/{org}/repos (security_and_analysis.secret_scanning)",
        context_only: None,
    },
    EvidenceSpec {
        id: "github.repos.push_protection_disabled",
        value_type: ValueType::StringList,
        meaning: "Non-archived repositories whose secret scanning does not block pushes containing secrets.",
        source: "GET /orgs/{org}/repos (security_and_analysis.secret_scanning_push_protection)",
        context_only: None,
    },
    EvidenceSpec {
        id: "github.repos.dependabot_alerts_disabled",
        value_type: ValueType::StringList,
        meaning: "Non-archived repositories with Dependabot alerts disabled (their open-alert counts are then meaningless).",
        source: "GET /repos/{owner}/{repo}/vulnerability-alerts",
        context_only: None,
    },
];

/// Where GitHub looks for CODEOWNERS, in its order.
const CODEOWNERS_PATHS: [&str; 3] = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"];

/// The collector.
pub struct Repos(pub(super) Arc<Shared>);

/// A repository as the organisation's list gives it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Repo {
    name: String,
    private: bool,
    visibility: Option<String>,
    archived: bool,
    fork: bool,
    default_branch: Option<String>,
    permissions: Option<Permissions>,
    security_and_analysis: Option<SecurityAndAnalysis>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Permissions {
    admin: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SecurityAndAnalysis {
    secret_scanning: Option<Status>,
    secret_scanning_push_protection: Option<Status>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Status {
    status: Option<String>,
}

/// Classic branch protection, as `GET …/branches/{branch}/protection` answers.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Classic {
    required_status_checks: Option<ClassicChecks>,
    enforce_admins: Option<Flag>,
    required_pull_request_reviews: Option<ClassicReviews>,
    required_signatures: Option<Flag>,
    allow_force_pushes: Option<Flag>,
    allow_deletions: Option<Flag>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ClassicChecks {
    contexts: Vec<String>,
    checks: Vec<Check>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Check {
    context: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ClassicReviews {
    dismiss_stale_reviews: bool,
    require_code_owner_reviews: bool,
    required_approving_review_count: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Flag {
    enabled: bool,
}

/// One rule of the rulesets that apply to a branch (`GET …/rules/branches/{branch}`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Rule {
    #[serde(rename = "type")]
    kind: String,
    parameters: Value,
}

/// The protection in force on a branch, classic and rulesets together.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Protection {
    protected: bool,
    sources: Vec<&'static str>,
    required_reviews: bool,
    required_review_count: u64,
    dismiss_stale_reviews: bool,
    require_code_owner_reviews: bool,
    required_status_checks: Vec<String>,
    enforce_admins: Option<bool>,
    signed_commits: bool,
    force_push_allowed: bool,
    deletion_allowed: bool,
}

/// The protection `classic` (if any) and `rules` give together: the stricter of the two for
/// every setting.
fn merge(classic: Option<&Classic>, rules: &[Rule]) -> Protection {
    let has_rule = |kind: &str| rules.iter().any(|r| r.kind == kind);
    let param_bool =
        |r: &Rule, key: &str| r.parameters.get(key).and_then(Value::as_bool) == Some(true);
    let pull_request_rules: Vec<&Rule> =
        rules.iter().filter(|r| r.kind == "pull_request").collect();
    let reviews = classic.and_then(|c| c.required_pull_request_reviews.as_ref());
    let mut checks: Vec<String> = classic
        .and_then(|c| c.required_status_checks.as_ref())
        .map(|c| {
            c.contexts
                .iter()
                .cloned()
                .chain(c.checks.iter().map(|k| k.context.clone()))
                .collect()
        })
        .unwrap_or_default();
    for rule in rules.iter().filter(|r| r.kind == "required_status_checks") {
        if let Some(list) = rule
            .parameters
            .get("required_status_checks")
            .and_then(Value::as_array)
        {
            checks.extend(
                list.iter()
                    .filter_map(|c| c.get("context").and_then(Value::as_str))
                    .map(str::to_string),
            );
        }
    }
    checks.sort();
    checks.dedup();
    let mut sources = Vec::new();
    if classic.is_some() {
        sources.push("branch_protection");
    }
    if !rules.is_empty() {
        sources.push("rulesets");
    }
    let flag =
        |f: fn(&Classic) -> &Option<Flag>| classic.and_then(|c| f(c).as_ref()).map(|f| f.enabled);
    Protection {
        protected: !sources.is_empty(),
        required_reviews: reviews.is_some() || !pull_request_rules.is_empty(),
        required_review_count: pull_request_rules
            .iter()
            .filter_map(|r| {
                r.parameters
                    .get("required_approving_review_count")
                    .and_then(Value::as_u64)
            })
            .chain(reviews.map(|r| r.required_approving_review_count))
            .max()
            .unwrap_or(0),
        dismiss_stale_reviews: reviews.is_some_and(|r| r.dismiss_stale_reviews)
            || pull_request_rules
                .iter()
                .any(|r| param_bool(r, "dismiss_stale_reviews_on_push")),
        require_code_owner_reviews: reviews.is_some_and(|r| r.require_code_owner_reviews)
            || pull_request_rules
                .iter()
                .any(|r| param_bool(r, "require_code_owner_review")),
        required_status_checks: checks,
        enforce_admins: match (flag(|c| &c.enforce_admins), classic, rules.is_empty()) {
            (Some(enabled), _, _) => Some(enabled),
            (None, Some(_), _) => Some(false),
            (None, None, true) => Some(false),
            (None, None, false) => None,
        },
        signed_commits: flag(|c| &c.required_signatures) == Some(true)
            || has_rule("required_signatures"),
        force_push_allowed: !has_rule("non_fast_forward")
            && flag(|c| &c.allow_force_pushes).unwrap_or(classic.is_none()),
        deletion_allowed: !has_rule("deletion")
            && flag(|c| &c.allow_deletions).unwrap_or(classic.is_none()),
        sources,
    }
}

/// A path segment with the characters a URL path cannot hold percent-encoded (`/` kept:
/// GitHub takes branch names with slashes as they are).
fn encode_path(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What was learnt about one non-archived repository beyond the list.
struct Details {
    protection: Result<Protection, String>,
    codeowners: Result<Option<&'static str>, String>,
    dependabot_alerts: Result<bool, String>,
}

async fn classic_protection(
    api: &Api,
    ctx: &CollectContext,
    repo_path: &str,
    branch: &str,
) -> Result<Option<Classic>, String> {
    let path = format!("{repo_path}/branches/{}/protection", encode_path(branch));
    match api.get(ctx, &path).await {
        Ok(answer) => serde_json::from_value(answer.body)
            .map(Some)
            .map_err(|e| format!("GET {path}: unexpected answer: {e}")),
        Err(e) => match e.status() {
            // A branch without protection, or one that does not exist yet (an empty
            // repository): no classic protection is in force.
            Some((404, "Branch not protected" | "Branch not found")) => Ok(None),
            // Private repositories on GitHub Free cannot have classic protection at all.
            Some((403, m)) if m.starts_with("Upgrade to GitHub Pro") => Ok(None),
            _ => Err(e.to_string()),
        },
    }
}

async fn protection(
    api: &Api,
    ctx: &CollectContext,
    repo_path: &str,
    branch: &str,
) -> Result<Protection, String> {
    let classic = classic_protection(api, ctx, repo_path, branch).await?;
    let path = format!(
        "{repo_path}/rules/branches/{}?per_page=100",
        encode_path(branch)
    );
    let rules: Vec<Rule> = api
        .get_all(ctx, &path)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(serde_json::from_value)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("GET {path}: unexpected answer: {e}"))?;
    Ok(merge(classic.as_ref(), &rules))
}

async fn codeowners(
    api: &Api,
    ctx: &CollectContext,
    repo_path: &str,
) -> Result<Option<&'static str>, String> {
    for file in CODEOWNERS_PATHS {
        match api.get(ctx, &format!("{repo_path}/contents/{file}")).await {
            Ok(_) => return Ok(Some(file)),
            Err(e) if e.status().is_some_and(|(s, _)| s == 404) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(None)
}

async fn dependabot_alerts(
    api: &Api,
    ctx: &CollectContext,
    repo_path: &str,
    admin: bool,
) -> Result<bool, String> {
    match api
        .get(ctx, &format!("{repo_path}/vulnerability-alerts"))
        .await
    {
        Ok(_) => Ok(true),
        // 404 means "disabled" only to a token with admin access; to others GitHub answers
        // 404 whatever the setting.
        Err(e) if admin && e.status().is_some_and(|(s, _)| s == 404) => Ok(false),
        Err(e @ ApiError::Status { status: 404, .. }) => Err(format!(
            "{e} (without admin access to the repository GitHub answers 404 whether alerts are on or off)"
        )),
        Err(e) => Err(e.to_string()),
    }
}

async fn details(api: &Api, ctx: &CollectContext, org: &str, repo: &Repo) -> Details {
    let repo_path = format!("/repos/{org}/{}", repo.name);
    let protection = match &repo.default_branch {
        Some(branch) => protection(api, ctx, &repo_path, branch).await,
        None => Err("the repository has no default branch".to_string()),
    };
    Details {
        protection,
        codeowners: codeowners(api, ctx, &repo_path).await,
        dependabot_alerts: dependabot_alerts(
            api,
            ctx,
            &repo_path,
            repo.permissions.as_ref().is_some_and(|p| p.admin),
        )
        .await,
    }
}

impl Repo {
    fn visibility(&self) -> &str {
        match &self.visibility {
            Some(v) => v,
            None if self.private => "private",
            None => "public",
        }
    }

    /// `security_and_analysis.<field>.status`, or why it is unknown.
    fn security(&self, field: &str, org: &str) -> Result<String, String> {
        let sa = self.security_and_analysis.as_ref();
        let status = match field {
            "secret_scanning" => sa.and_then(|s| s.secret_scanning.as_ref()),
            _ => sa.and_then(|s| s.secret_scanning_push_protection.as_ref()),
        };
        status.and_then(|s| s.status.clone()).ok_or_else(|| {
            format!(
                "GET /orgs/{org}/repos did not return security_and_analysis.{field}: it is shown only to tokens with admin access to the repository"
            )
        })
    }
}

/// One repository's object in `github.repos.list`.
fn repo_object(org: &str, repo: &Repo, details: Option<&Details>) -> Value {
    let mut object = json!({
        "name": repo.name,
        "visibility": repo.visibility(),
        "archived": repo.archived,
        "fork": repo.fork,
        "default_branch": repo.default_branch,
        "default_branch_protection": null,
        "codeowners_file": null,
        "secret_scanning": null,
        "secret_scanning_push_protection": null,
        "dependabot_alerts": null,
    });
    let Some(d) = details else {
        return object;
    };
    let mut unavailable = BTreeMap::new();
    let mut set = |key: &str, value: Result<Value, String>| match value {
        Ok(v) => object[key] = v,
        Err(reason) => {
            unavailable.insert(key.to_string(), reason);
        }
    };
    set(
        "default_branch_protection",
        d.protection.clone().map(|p| json!(p)),
    );
    set("codeowners_file", d.codeowners.clone().map(|c| json!(c)));
    set(
        "secret_scanning",
        repo.security("secret_scanning", org).map(Value::String),
    );
    set(
        "secret_scanning_push_protection",
        repo.security("secret_scanning_push_protection", org)
            .map(Value::String),
    );
    set(
        "dependabot_alerts",
        d.dependabot_alerts
            .clone()
            .map(|on| json!(if on { "enabled" } else { "disabled" })),
    );
    if !unavailable.is_empty() {
        object["unavailable"] = json!(unavailable);
    }
    object
}

/// The non-archived repositories for which `failing` holds, or, when it is unknown for any of
/// them, why.
fn summary(
    examined: &[(&Repo, &Details)],
    failing: impl Fn(&Repo, &Details) -> Result<bool, String>,
) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let mut unknown = Vec::new();
    for (repo, details) in examined {
        match failing(repo, details) {
            Ok(true) => names.push(repo.name.clone()),
            Ok(false) => {}
            Err(reason) => unknown.push(format!("{}: {reason}", repo.name)),
        }
    }
    if unknown.is_empty() {
        return Ok(names);
    }
    let shown = unknown.len().min(3);
    let mut reason = format!(
        "unknown for {} of {} repositories: {}",
        unknown.len(),
        examined.len(),
        unknown[..shown].join("; ")
    );
    if unknown.len() > shown {
        reason.push_str(&format!("; and {} more", unknown.len() - shown));
    }
    Err(reason)
}

#[async_trait]
impl Collector for Repos {
    fn name(&self) -> &'static str {
        "github.repos"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let api = self.0.api()?;
        let org = self.0.org();
        let list_path = format!("/orgs/{org}/repos");
        let listed = api
            .get_all(ctx, &format!("{list_path}?type=all&per_page=100"))
            .await
            .map_err(|e| e.to_string())
            .and_then(|items| {
                items
                    .into_iter()
                    .map(serde_json::from_value::<Repo>)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("GET {list_path}: unexpected answer: {e}"))
            });
        let repos = match listed {
            Ok(all) => all
                .into_iter()
                .filter(|r| self.0.config.covers(&r.name))
                .collect::<Vec<_>>(),
            Err(reason) => {
                return Ok(EVIDENCE
                    .iter()
                    .map(|s| fact(s.id, call(&list_path), Err::<Value, _>(reason.clone())))
                    .collect());
            }
        };
        let active: Vec<&Repo> = repos.iter().filter(|r| !r.archived).collect();
        let pending: Vec<_> = active
            .iter()
            .map(|repo| details(&api, ctx, org, repo))
            .collect();
        let details: Vec<Details> = futures::stream::iter(pending)
            .buffered(self.0.config.concurrency)
            .collect()
            .await;
        let examined: Vec<(&Repo, &Details)> = active.iter().copied().zip(&details).collect();
        let objects: Vec<Value> = repos
            .iter()
            .map(|r| {
                let d = examined
                    .iter()
                    .find(|(e, _)| std::ptr::eq(*e, r))
                    .map(|(_, d)| *d);
                repo_object(org, r, d)
            })
            .collect();
        let protection = |d: &Details| d.protection.clone();
        let api_source = |s: &str| ItemSource::Api(s.to_string());
        Ok(vec![
            fact(
                "github.repos.count",
                call(&list_path),
                Ok::<_, String>(repos.len() as u64),
            ),
            fact(
                "github.repos.list",
                call(&list_path),
                Ok::<_, String>(objects),
            ),
            fact(
                "github.repos.public",
                call(&list_path),
                Ok::<_, String>(
                    repos
                        .iter()
                        .filter(|r| r.visibility() == "public")
                        .map(|r| r.name.clone())
                        .collect::<Vec<_>>(),
                ),
            ),
            fact(
                "github.repos.unprotected_default_branches",
                api_source(PROTECTION_SOURCE),
                summary(&examined, |_, d| protection(d).map(|p| !p.protected)),
            ),
            fact(
                "github.repos.default_branches_without_required_reviews",
                api_source(PROTECTION_SOURCE),
                summary(&examined, |_, d| {
                    protection(d).map(|p| p.required_review_count == 0)
                }),
            ),
            fact(
                "github.repos.default_branches_allowing_force_push",
                api_source(PROTECTION_SOURCE),
                summary(&examined, |_, d| {
                    protection(d).map(|p| p.force_push_allowed)
                }),
            ),
            fact(
                "github.repos.without_codeowners",
                api_source("GET /repos/{owner}/{repo}/contents/{path}"),
                summary(&examined, |_, d| d.codeowners.clone().map(|c| c.is_none())),
            ),
            fact(
                "github.repos.secret_scanning_disabled",
                call(&list_path),
                summary(&examined, |r, _| {
                    r.security("secret_scanning", org).map(|s| s != "enabled")
                }),
            ),
            fact(
                "github.repos.push_protection_disabled",
                call(&list_path),
                summary(&examined, |r, _| {
                    r.security("secret_scanning_push_protection", org)
                        .map(|s| s != "enabled")
                }),
            ),
            fact(
                "github.repos.dependabot_alerts_disabled",
                api_source("GET /repos/{owner}/{repo}/vulnerability-alerts"),
                summary(&examined, |_, d| d.dependabot_alerts.clone().map(|on| !on)),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(v: Value) -> Vec<Rule> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn no_protection_allows_everything() {
        let p = merge(None, &[]);
        assert!(!p.protected && p.sources.is_empty());
        assert!(p.force_push_allowed && p.deletion_allowed);
        assert_eq!(p.required_review_count, 0);
        assert_eq!(p.enforce_admins, Some(false));
    }

    #[test]
    fn classic_protection_is_read_setting_by_setting() {
        let classic: Classic = serde_json::from_value(json!({
            "required_status_checks": {"strict": true, "contexts": ["ci/build"], "checks": [{"context": "ci/build", "app_id": 15368}, {"context": "lint", "app_id": null}]},
            "enforce_admins": {"enabled": true},
            "required_pull_request_reviews": {"dismiss_stale_reviews": true, "require_code_owner_reviews": false, "required_approving_review_count": 2},
            "required_signatures": {"enabled": false},
            "allow_force_pushes": {"enabled": true},
            "allow_deletions": {"enabled": false}
        }))
        .unwrap();
        let p = merge(Some(&classic), &[]);
        assert_eq!(p.sources, ["branch_protection"]);
        assert_eq!(p.required_status_checks, ["ci/build", "lint"]);
        assert_eq!(p.required_review_count, 2);
        assert!(p.dismiss_stale_reviews && !p.require_code_owner_reviews);
        assert_eq!(p.enforce_admins, Some(true));
        assert!(p.force_push_allowed && !p.deletion_allowed && !p.signed_commits);
    }

    #[test]
    fn rulesets_tighten_classic_protection() {
        let classic: Classic = serde_json::from_value(json!({
            "required_pull_request_reviews": {"required_approving_review_count": 1},
            "allow_force_pushes": {"enabled": true},
            "allow_deletions": {"enabled": true}
        }))
        .unwrap();
        let r = rules(json!([
            {"type": "pull_request", "parameters": {"required_approving_review_count": 3, "require_code_owner_review": true, "dismiss_stale_reviews_on_push": false}},
            {"type": "non_fast_forward"},
            {"type": "required_signatures"},
            {"type": "required_status_checks", "parameters": {"required_status_checks": [{"context": "test"}]}}
        ]));
        let p = merge(Some(&classic), &r);
        assert_eq!(p.sources, ["branch_protection", "rulesets"]);
        assert_eq!(p.required_review_count, 3);
        assert!(p.require_code_owner_reviews && p.signed_commits);
        assert!(
            !p.force_push_allowed,
            "non_fast_forward blocks force pushes"
        );
        assert!(p.deletion_allowed, "no deletion rule, classic allows it");
        assert_eq!(p.required_status_checks, ["test"]);
        assert_eq!(p.enforce_admins, Some(false));
    }

    #[test]
    fn rulesets_alone_leave_admin_enforcement_unknown() {
        let p = merge(None, &rules(json!([{"type": "deletion"}])));
        assert!(p.protected);
        assert!(!p.deletion_allowed && p.force_push_allowed);
        assert!(!p.required_reviews);
        assert_eq!(p.enforce_admins, None);
    }

    #[test]
    fn branch_names_are_encoded_for_paths() {
        assert_eq!(encode_path("release/1.0"), "release/1.0");
        assert_eq!(encode_path("fix#1 a"), "fix%231%20a");
    }

    #[test]
    fn summaries_refuse_to_guess() {
        let a = Repo {
            name: "a".into(),
            ..Repo::default()
        };
        let b = Repo {
            name: "b".into(),
            ..Repo::default()
        };
        let d = |c: Result<Option<&'static str>, String>| Details {
            protection: Ok(merge(None, &[])),
            codeowners: c,
            dependabot_alerts: Ok(true),
        };
        let (da, db) = (d(Ok(None)), d(Ok(Some("CODEOWNERS"))));
        let both = [(&a, &da), (&b, &db)];
        let without = |_: &Repo, d: &Details| d.codeowners.clone().map(|c| c.is_none());
        assert_eq!(summary(&both, without).unwrap(), ["a"]);
        let dc = d(Err("GET /x: HTTP 500: boom".into()));
        let one_unknown = [(&a, &da), (&b, &dc)];
        assert_eq!(
            summary(&one_unknown, without).unwrap_err(),
            "unknown for 1 of 2 repositories: b: GET /x: HTTP 500: boom"
        );
    }

    #[test]
    fn visibility_falls_back_to_private() {
        let r: Repo = serde_json::from_value(json!({"name": "x", "private": true})).unwrap();
        assert_eq!(r.visibility(), "private");
        let r: Repo = serde_json::from_value(
            json!({"name": "x", "private": false, "visibility": "internal"}),
        )
        .unwrap();
        assert_eq!(r.visibility(), "internal");
        assert!(
            r.security("secret_scanning", "acme")
                .unwrap_err()
                .contains("admin access")
        );
    }
}
