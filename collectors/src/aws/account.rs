//! The account the credentials reach, its alias and the regions collected.

use std::sync::Arc;

use async_trait::async_trait;
use vouch_evidence::Source as ItemSource;

use super::client::Session;
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "aws.account.id",
        value_type: ValueType::String,
        meaning: "The 12-digit id of the account the collector's credentials reach.",
        source: "sts:GetCallerIdentity",
        context_only: Some(
            "inventory: the asset's identity.",
        ),
    },
    EvidenceSpec {
        id: "aws.account.aliases",
        value_type: ValueType::StringList,
        meaning: "The account's alias (AWS allows at most one); empty when none is set.",
        source: "iam:ListAccountAliases",
        context_only: Some(
            "inventory: the account's names for people.",
        ),
    },
    EvidenceSpec {
        id: "aws.account.regions",
        value_type: ValueType::StringList,
        meaning: "The regions whose regional resources (EC2, KMS, CloudTrail, RDS) this \
                  snapshot covers: those enabled for the account, or those configured.",
        source: "ec2:DescribeRegions, or the agent's `collectors.aws.regions`",
        context_only: None,
    },
];

/// The collector.
pub struct AccountArea(pub Arc<Session>);

#[async_trait]
impl Collector for AccountArea {
    fn name(&self) -> &'static str {
        "aws.account"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, _ctx: &CollectContext) -> Result<Facts, CollectError> {
        let state = self.0.state().await;
        let account = state.account.as_ref().map_err(Clone::clone);
        let regions_source = if self.0.config().regions.is_empty() {
            ItemSource::Api("ec2:DescribeRegions".into())
        } else {
            ItemSource::File("agent configuration: collectors.aws.regions".into())
        };
        Ok(vec![
            fact(
                "aws.account.id",
                ItemSource::Api("sts:GetCallerIdentity".into()),
                account.clone().map(|a| a.id.clone()),
            ),
            fact(
                "aws.account.aliases",
                ItemSource::Api("iam:ListAccountAliases".into()),
                account.and_then(|a| a.alias.clone().map(|o| o.into_iter().collect::<Vec<_>>())),
            ),
            fact("aws.account.regions", regions_source, state.regions.clone()),
        ])
    }
}
