//! People: how many, in which status, who can sign in without a second factor, who has a
//! phishing-resistant one, whose account has gone unused, and which suspended or deactivated
//! accounts are still assigned to applications.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt as _;
use serde_json::json;

use super::api::ApiError;
use super::model::{App, Factor, Strength, User, strongest};
use super::{Shared, call, fatal, listed};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "okta.users.total",
        value_type: ValueType::Integer,
        meaning: "Users of the organisation in every status but deactivated (`DEPROVISIONED`), as Okta lists them by default.",
        source: "GET /api/v1/users",
        context_only: None,
    },
    EvidenceSpec {
        id: "okta.users.by_status",
        value_type: ValueType::Object,
        meaning: "Users counted by Okta status (`ACTIVE`, `STAGED`, `PROVISIONED`, `RECOVERY`, `PASSWORD_EXPIRED`, `LOCKED_OUT`, `SUSPENDED`, `DEPROVISIONED`), deactivated users included; only statuses present appear.",
        source: "GET /api/v1/users; GET /api/v1/users?filter=status eq \"DEPROVISIONED\"",
        context_only: Some(
            "the population behind the judged counts; the accounts that matter are judged by name",
        ),
    },
    EvidenceSpec {
        id: "okta.users.without_second_factor",
        value_type: ValueType::StringList,
        meaning: "Logins of users who can sign in (`ACTIVE`, `RECOVERY`, `PASSWORD_EXPIRED`, `LOCKED_OUT`) with no active factor besides a security question (a knowledge factor, like the password); sorted, at most 100.",
        source: "GET /api/v1/users/{id}/factors",
        context_only: None,
    },
    EvidenceSpec {
        id: "okta.users.without_second_factor_count",
        value_type: ValueType::Integer,
        meaning: "How many users who can sign in have no active second factor (the whole count behind the list).",
        source: "GET /api/v1/users/{id}/factors",
        context_only: None,
    },
    EvidenceSpec {
        id: "okta.users.phishing_resistant_count",
        value_type: ValueType::Integer,
        meaning: "How many users who can sign in have an active phishing-resistant factor: WebAuthn/FIDO2 (`webauthn`), U2F (`u2f`) or Okta FastPass (`signed_nonce`).",
        source: "GET /api/v1/users/{id}/factors",
        context_only: Some(
            "adoption of phishing-resistant factors beyond administrators is a goal, not a requirement of the pack",
        ),
    },
    EvidenceSpec {
        id: "okta.users.inactive",
        value_type: ValueType::StringList,
        meaning: "Logins of users who can sign in but have not for more than `okta.users.inactive_days` days (or never, and were activated, else created, longer ago); sorted, at most 100.",
        source: "GET /api/v1/users (lastLogin, activated, created)",
        context_only: None,
    },
    EvidenceSpec {
        id: "okta.users.inactive_count",
        value_type: ValueType::Integer,
        meaning: "How many users who can sign in are unused by that measure (the whole count behind the list).",
        source: "GET /api/v1/users (lastLogin, activated, created)",
        context_only: None,
    },
    EvidenceSpec {
        id: "okta.users.inactive_days",
        value_type: ValueType::Integer,
        meaning: "The number of days without a sign-in after which an account counts as unused (`inactive_days` of the agent's configuration).",
        source: "collectors.okta.inactive_days",
        context_only: None,
    },
    EvidenceSpec {
        id: "okta.users.deactivated_with_apps",
        value_type: ValueType::StringList,
        meaning: "Logins of suspended or deactivated users still assigned to at least one application; sorted, at most 100.",
        source: "GET /api/v1/apps?filter=user.id eq \"{id}\"",
        context_only: None,
    },
];

/// Okta's filter for deactivated users, which its default listing leaves out.
const DEPROVISIONED: &str = "filter=status%20eq%20%22DEPROVISIONED%22";

/// The collector.
pub struct Users(pub(super) Arc<Shared>);

impl Users {
    /// Each user with the result of its read, `concurrency` reads at a time, in order. A
    /// refused token fails the collector; another error is the first one met.
    async fn per_user<'u, T>(
        &self,
        reads: Vec<impl Future<Output = (&'u User, Result<T, ApiError>)> + Send>,
    ) -> Result<Result<Vec<(&'u User, T)>, String>, CollectError> {
        let results: Vec<(&User, Result<T, ApiError>)> = futures::stream::iter(reads)
            .buffered(self.0.config.concurrency)
        .collect()
        .await;
        let mut out = Vec::with_capacity(results.len());
        for (user, result) in results {
            match fatal(result)? {
                Ok(value) => out.push((user, value)),
                Err(e) => return Ok(Err(e)),
            }
        }
        Ok(Ok(out))
    }
}

#[async_trait]
impl Collector for Users {
    fn name(&self) -> &'static str {
        "okta.users"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let api = self.0.api()?;
        let days = self.0.config.inactive_days;
        let now = ctx.clock.now().datetime();
        let users: Result<Vec<User>, String> =
            fatal(api.get_all(ctx, &self.0.paged("/api/v1/users")).await)?;
        let deprovisioned: Result<Vec<User>, String> = fatal(
            api.get_all(ctx, &self.0.paged(&format!("/api/v1/users?{DEPROVISIONED}")))
                .await,
        )?;

        let signers: Vec<&User> = users
            .iter()
            .flatten()
            .filter(|u| u.can_sign_in())
            .collect();
        let factors: Result<Vec<(&User, Vec<Factor>)>, String> = match &users {
            Ok(_) => {
                let reads = signers
                    .iter()
                    .map(|u| {
                        let path = format!("/api/v1/users/{}/factors", u.id);
                        let api = api.clone();
                        let u = *u;
                        async move { (u, api.get_all::<Factor>(ctx, &path).await) }
                    })
                    .collect();
                self.per_user(reads).await?
            }
            Err(e) => Err(e.clone()),
        };
        let strengths = factors.map(|f| {
            f.into_iter()
                .map(|(u, factors)| (u, strongest(&factors)))
                .collect::<Vec<_>>()
        });
        let without_second: Result<Vec<&str>, String> = strengths.clone().map(|s| {
            s.iter()
                .filter(|(_, best)| best.is_none_or(|b| b == Strength::Knowledge))
                .map(|(u, _)| u.profile.login.as_str())
                .collect()
        });
        let phishing_resistant = strengths.map(|s| {
            s.iter()
                .filter(|(_, best)| *best == Some(Strength::PhishingResistant))
                .count() as u64
        });

        let inactive: Result<Vec<&str>, String> = users.clone().map(|_| {
            signers
                .iter()
                .filter(|u| u.unused_for(days, now))
                .map(|u| u.profile.login.as_str())
                .collect()
        });

        let by_status = match (&users, &deprovisioned) {
            (Ok(users), Ok(deprovisioned)) => {
                let mut counts: BTreeMap<String, u64> = BTreeMap::new();
                for u in users.iter().chain(deprovisioned) {
                    *counts
                        .entry(vouch_evidence::limits::truncate_echo(&u.status))
                        .or_default() += 1;
                }
                Ok(json!(counts))
            }
            (Err(e), _) | (_, Err(e)) => Err(e.clone()),
        };

        let deactivated: Result<Vec<&User>, String> = match (&users, &deprovisioned) {
            (Ok(users), Ok(deprovisioned)) => Ok(users
                .iter()
                .chain(deprovisioned)
                .filter(|u| u.is_deactivated())
                .collect()),
            (Err(e), _) | (_, Err(e)) => Err(e.clone()),
        };
        let with_apps: Result<Vec<&str>, String> = match deactivated {
            Ok(deactivated) => {
                let reads = deactivated
                    .iter()
                    .map(|u| {
                        let path = self.0.paged(&format!(
                            "/api/v1/apps?filter=user.id%20eq%20%22{}%22",
                            u.id
                        ));
                        let api = api.clone();
                        let u = *u;
                        async move { (u, api.get_all::<App>(ctx, &path).await) }
                    })
                    .collect();
                self.per_user(reads).await?.map(|apps| {
                    apps.into_iter()
                        .filter(|(_, apps)| !apps.is_empty())
                        .map(|(u, _)| u.profile.login.as_str())
                        .collect()
                })
            }
            Err(e) => Err(e),
        };

        let factors_source = || call("/api/v1/users/{id}/factors");
        Ok(vec![
            fact(
                "okta.users.total",
                call("/api/v1/users"),
                users.as_ref().map(|u| u.len() as u64).map_err(Clone::clone),
            ),
            fact(
                "okta.users.by_status",
                call(format!("/api/v1/users?{DEPROVISIONED}")),
                by_status,
            ),
            fact(
                "okta.users.without_second_factor",
                factors_source(),
                without_second.clone().map(listed),
            ),
            fact(
                "okta.users.without_second_factor_count",
                factors_source(),
                without_second.map(|w| w.len() as u64),
            ),
            fact(
                "okta.users.phishing_resistant_count",
                factors_source(),
                phishing_resistant,
            ),
            fact(
                "okta.users.inactive",
                call("/api/v1/users"),
                inactive.clone().map(listed),
            ),
            fact(
                "okta.users.inactive_count",
                call("/api/v1/users"),
                inactive.map(|i| i.len() as u64),
            ),
            fact(
                "okta.users.inactive_days",
                vouch_evidence::Source::Syscall("collectors.okta.inactive_days".into()),
                Ok::<_, String>(u64::from(days)),
            ),
            fact(
                "okta.users.deactivated_with_apps",
                call("/api/v1/apps?filter=user.id eq \"{id}\""),
                with_apps.map(listed),
            ),
        ])
    }
}
