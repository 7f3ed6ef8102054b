//! The organisation: its 2FA requirement, default repository permission, and how many members,
//! owners, members without 2FA and outside collaborators it has (counts only: no logins).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

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
];

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
        for (id, list) in [
            ("github.org.members", format!("/orgs/{org}/members")),
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
