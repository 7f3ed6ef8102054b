//! The organisation: its 2FA requirement, default repository permission, how many members,
//! owners, members without 2FA and outside collaborators it has (counts only: no logins), and
//! whether SAML single sign-on is configured, with how many members have no SAML identity
//! linked (GraphQL: the REST API does not show it).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::api::{Api, ApiError};
use super::{Shared, call};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "github.org.two_factor_required",
        value_type: ValueType::Bool,
        meaning: "The organisation requires two-factor authentication of its members and outside collaborators (seen only by owners' tokens).",
        source: "GET /orgs/{org} (two_factor_requirement_enabled)",
        context_only: None,
    },
    EvidenceSpec {
        id: "github.org.default_repository_permission",
        value_type: ValueType::String,
        meaning: "Base permission every member has on every repository: `none`, `read`, `write` or `admin` (seen only by owners' tokens).",
        source: "GET /orgs/{org} (default_repository_permission)",
        context_only: None,
    },
    EvidenceSpec {
        id: "github.org.members",
        value_type: ValueType::Integer,
        meaning: "Members of the organisation, owners included.",
        source: "GET /orgs/{org}/members",
        context_only: None,
    },
    EvidenceSpec {
        id: "github.org.admins",
        value_type: ValueType::Integer,
        meaning: "Owners of the organisation (a count: no logins).",
        source: "GET /orgs/{org}/members?role=admin",
        context_only: None,
    },
    EvidenceSpec {
        id: "github.org.members_without_2fa",
        value_type: ValueType::Integer,
        meaning: "Members who have not enabled two-factor authentication (owners' tokens only).",
        source: "GET /orgs/{org}/members?filter=2fa_disabled",
        context_only: None,
    },
    EvidenceSpec {
        id: "github.org.outside_collaborators",
        value_type: ValueType::Integer,
        meaning: "Outside collaborators: people with access to at least one repository who are not members (owners' tokens only).",
        source: "GET /orgs/{org}/outside_collaborators",
        context_only: None,
    },
    EvidenceSpec {
        id: "github.org.saml_sso_configured",
        value_type: ValueType::Bool,
        meaning: "The organisation has a SAML identity provider configured (GitHub Enterprise Cloud), so that its members sign in to it through the organisation's identity provider (seen by owners' tokens, or a token with `read:org`). SAML configured on the enterprise account instead is not seen from the organisation.",
        source: "POST /graphql (organization.samlIdentityProvider)",
        context_only: None,
    },
    EvidenceSpec {
        id: "github.org.members_without_saml_identity",
        value_type: ValueType::Integer,
        meaning: "Members with no SAML identity linked to their account (a count: no logins): with SAML single sign-on enforced, every member has one; all members when SAML is not configured.",
        source: "GET /orgs/{org}/members; POST /graphql (organization.samlIdentityProvider.externalIdentities)",
        context_only: None,
    },
];

/// The organisation's SAML identity provider and the logins of the members with a linked
/// identity, a page of 100 at a time.
const SAML_QUERY: &str = "query($login: String!, $after: String) { organization(login: $login) { samlIdentityProvider { externalIdentities(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { user { login } } } } } }";

/// The most pages of linked identities read; more is unavailable rather than cut.
const MAX_IDENTITY_PAGES: usize = 100;

/// Whether the organisation `login` has a SAML identity provider, and the logins (in lower
/// case) of the users with a SAML identity linked.
async fn saml_identities(
    api: &Api,
    ctx: &CollectContext,
    login: &str,
) -> Result<Option<std::collections::BTreeSet<String>>, ApiError> {
    let mut linked = std::collections::BTreeSet::new();
    let mut after = Value::Null;
    for _ in 0..MAX_IDENTITY_PAGES {
        let data = api
            .graphql(
                ctx,
                SAML_QUERY,
                serde_json::json!({"login": login, "after": after}),
            )
            .await?;
        let org = &data["organization"];
        if org.is_null() {
            return Err(ApiError::Failed(format!(
                "POST /graphql: no organisation {login} is visible to the token"
            )));
        }
        let provider = &org["samlIdentityProvider"];
        if provider.is_null() {
            return Ok(None);
        }
        let identities = &provider["externalIdentities"];
        let nodes = identities["nodes"].as_array().ok_or_else(|| {
            ApiError::Failed("POST /graphql: unexpected answer: no externalIdentities.nodes".into())
        })?;
        linked.extend(
            nodes
                .iter()
                .filter_map(|n| n["user"]["login"].as_str())
                .map(str::to_ascii_lowercase),
        );
        let page = &identities["pageInfo"];
        match (page["hasNextPage"].as_bool(), page["endCursor"].as_str()) {
            (Some(true), Some(cursor)) if after.as_str() != Some(cursor) => {
                after = Value::from(cursor);
            }
            (Some(true), _) => {
                return Err(ApiError::Failed(
                    "POST /graphql: unexpected answer: a next page without a new cursor".into(),
                ));
            }
            _ => return Ok(Some(linked)),
        }
    }
    Err(ApiError::Failed(format!(
        "POST /graphql: more than {MAX_IDENTITY_PAGES} pages of SAML identities: the list is not complete"
    )))
}

/// The collector.
pub struct Org(pub(super) Arc<Shared>);

#[async_trait]
impl Collector for Org {
    fn name(&self) -> &'static str {
        "github.org"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let api = self.0.api()?;
        let org = self.0.org();
        let path = format!("/orgs/{org}");
        let profile = api.get(ctx, &path).await.map(|a| a.body);
        // Owner-only fields are absent (or null) for other tokens: unavailable, not false.
        let owner_field = |field: &str| -> Result<Value, String> {
            let body = profile.as_ref().map_err(ToString::to_string)?;
            match body.get(field) {
                Some(v) if !v.is_null() => Ok(v.clone()),
                _ => Err(format!(
                    "GET {path} did not return {field}: only an organisation owner's token sees it"
                )),
            }
        };
        let two_factor = owner_field("two_factor_requirement_enabled").and_then(|v| {
            v.as_bool()
                .ok_or_else(|| format!("two_factor_requirement_enabled is {v}, not a boolean"))
        });
        let permission = owner_field("default_repository_permission").and_then(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("default_repository_permission is {v}, not a string"))
        });
        let mut facts = vec![
            fact("github.org.two_factor_required", call(&path), two_factor),
            fact(
                "github.org.default_repository_permission",
                call(&path),
                permission,
            ),
        ];
        // The members, kept for their SAML identities.
        let members_path = format!("/orgs/{org}/members");
        let members = api
            .get_all(ctx, &format!("{members_path}?per_page=100"))
            .await
            .map_err(|e| e.to_string());
        facts.push(fact(
            "github.org.members",
            call(&members_path),
            members.as_ref().map(|m| m.len() as u64).map_err(Clone::clone),
        ));
        let saml = saml_identities(&api, ctx, org)
            .await
            .map_err(|e| e.to_string());
        facts.push(fact(
            "github.org.saml_sso_configured",
            vouch_evidence::Source::Api("POST /graphql".into()),
            saml.as_ref().map(Option::is_some).map_err(Clone::clone),
        ));
        let without_identity = match (&members, &saml) {
            (Err(e), _) | (_, Err(e)) => Err(e.clone()),
            (Ok(members), Ok(linked)) => Ok(members
                .iter()
                .filter(|m| {
                    let login = m["login"].as_str().unwrap_or("").to_ascii_lowercase();
                    !linked.as_ref().is_some_and(|l| l.contains(&login))
                })
                .count() as u64),
        };
        facts.push(fact(
            "github.org.members_without_saml_identity",
            vouch_evidence::Source::Api("POST /graphql".into()),
            without_identity,
        ));
        for (id, list) in [
            (
                "github.org.admins",
                format!("/orgs/{org}/members?role=admin"),
            ),
            (
                "github.org.members_without_2fa",
                format!("/orgs/{org}/members?filter=2fa_disabled"),
            ),
            (
                "github.org.outside_collaborators",
                format!("/orgs/{org}/outside_collaborators"),
            ),
        ] {
            let sep = if list.contains('?') { '&' } else { '?' };
            let count = api
                .get_all(ctx, &format!("{list}{sep}per_page=100"))
                .await
                .map(|people| people.len() as u64)
                .map_err(|e| e.to_string());
            facts.push(fact(id, call(&list), count));
        }
        Ok(facts)
    }
}
