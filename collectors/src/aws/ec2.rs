//! EC2, per region: EBS encryption by default, unencrypted volumes, and security groups that
//! open administrative ports to the whole internet.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::types::{IpPermission, SecurityGroup};
use serde_json::{Value, json};
use vouch_evidence::Source as ItemSource;

use super::client::{ApiCall, Session, api_error, client};
use super::{per_region, regional_fact};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "aws.ec2.ebs_encryption_by_default",
        value_type: ValueType::Object,
        meaning: "Per region (region → bool): new EBS volumes are encrypted by default.",
        source: "ec2:GetEbsEncryptionByDefault",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.ec2.regions_without_ebs_encryption_by_default",
        value_type: ValueType::StringList,
        meaning: "Regions where new EBS volumes are not encrypted by default.",
        source: "ec2:GetEbsEncryptionByDefault",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.ec2.unencrypted_volumes",
        value_type: ValueType::StringList,
        meaning: "EBS volumes that are not encrypted, as `region/volume-id`.",
        source: "ec2:DescribeVolumes",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.ec2.open_admin_security_groups",
        value_type: ValueType::ObjectList,
        meaning: "Security groups with an inbound rule from 0.0.0.0/0 or ::/0 that covers an \
                  administrative port (22/tcp SSH, 3389/tcp or udp RDP), whether by that port, \
                  a port range or protocol -1 (all): `region`, `group_id`, `group_name`, \
                  `vpc_id`, `rules` (`protocol`, `from_port`, `to_port`, `source`).",
        source: "ec2:DescribeSecurityGroups",
        context_only: None,
    },
];

/// The calls this area makes.
pub const CALLS: &[ApiCall] = &[
    ApiCall {
        api: "ec2:GetEbsEncryptionByDefault",
        permission: "ec2:GetEbsEncryptionByDefault",
    },
    ApiCall {
        api: "ec2:DescribeVolumes",
        permission: "ec2:DescribeVolumes",
    },
    ApiCall {
        api: "ec2:DescribeSecurityGroups",
        permission: "ec2:DescribeSecurityGroups",
    },
];

/// Administrative ports: (port, protocols that carry it).
const ADMIN_PORTS: &[(i32, &[&str])] = &[(22, &["tcp"]), (3389, &["tcp", "udp"])];

/// The collector.
pub struct Ec2Area(pub Arc<Session>);

/// What one region answered, call by call.
struct Region {
    ebs_default: Result<bool, String>,
    unencrypted_volumes: Result<Vec<String>, String>,
    open_groups: Result<Vec<Value>, String>,
}

#[async_trait]
impl Collector for Ec2Area {
    fn name(&self) -> &'static str {
        "aws.ec2"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, _ctx: &CollectContext) -> Result<Facts, CollectError> {
        let session = &self.0;
        let regions = per_region(session, |sdk, region| async move {
            let ec2 = client!(aws_sdk_ec2, session, &sdk);
            let (ebs, volumes, groups) = tokio::join!(
                ec2.get_ebs_encryption_by_default().send(),
                ec2.describe_volumes()
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect(),
                ec2.describe_security_groups()
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect(),
            );
            Ok(Region {
                ebs_default: ebs
                    .map(|o| o.ebs_encryption_by_default().unwrap_or(false))
                    .map_err(|e| api_error("ec2:GetEbsEncryptionByDefault", &e)),
                unencrypted_volumes: volumes
                    .map(|vs| {
                        vs.iter()
                            .filter(|v| v.encrypted() != Some(true))
                            .filter_map(|v| v.volume_id())
                            .map(|id| format!("{region}/{id}"))
                            .collect()
                    })
                    .map_err(|e| api_error("ec2:DescribeVolumes", &e)),
                open_groups: groups
                    .map(|gs| gs.iter().filter_map(|g| open_group(&region, g)).collect())
                    .map_err(|e| api_error("ec2:DescribeSecurityGroups", &e)),
            })
        })
        .await;
        let api = |a: &str| ItemSource::Api(a.into());
        let ebs = regional_fact(&regions, |r| &r.ebs_default);
        let volumes = regional_fact(&regions, |r| &r.unencrypted_volumes);
        let groups = regional_fact(&regions, |r| &r.open_groups);
        Ok(vec![
            fact(
                "aws.ec2.ebs_encryption_by_default",
                api("ec2:GetEbsEncryptionByDefault"),
                ebs.clone()
                    .map(|e| json!(e.into_iter().collect::<BTreeMap<_, _>>())),
            ),
            fact(
                "aws.ec2.regions_without_ebs_encryption_by_default",
                api("ec2:GetEbsEncryptionByDefault"),
                ebs.map(|e| {
                    e.into_iter()
                        .filter(|(_, on)| !on)
                        .map(|(r, _)| r)
                        .collect::<Vec<_>>()
                }),
            ),
            fact(
                "aws.ec2.unencrypted_volumes",
                api("ec2:DescribeVolumes"),
                volumes.map(|v| v.into_iter().flat_map(|(_, v)| v).collect::<Vec<_>>()),
            ),
            fact(
                "aws.ec2.open_admin_security_groups",
                api("ec2:DescribeSecurityGroups"),
                groups.map(|g| g.into_iter().flat_map(|(_, g)| g).collect::<Vec<_>>()),
            ),
        ])
    }
}

/// Whether an inbound rule with `protocol` and the port range covers an administrative port.
fn covers_admin_port(protocol: &str, from: Option<i32>, to: Option<i32>) -> bool {
    let protocol = match protocol {
        "6" => "tcp",
        "17" => "udp",
        p => p,
    };
    if protocol == "-1" {
        return true;
    }
    let (from, to) = (from.unwrap_or(0), to.unwrap_or(65535));
    ADMIN_PORTS
        .iter()
        .any(|(port, protocols)| protocols.contains(&protocol) && (from..=to).contains(port))
}

/// Whether a CIDR is the whole address space (prefix length 0).
fn is_world(cidr: &str) -> bool {
    cidr.split_once('/')
        .is_some_and(|(_, len)| len.trim() == "0")
}

/// The rule's world-open sources, one object each, when it covers an administrative port.
fn open_rules(p: &IpPermission) -> Vec<Value> {
    let protocol = p.ip_protocol().unwrap_or("-1");
    if !covers_admin_port(protocol, p.from_port(), p.to_port()) {
        return Vec::new();
    }
    let v4 = p.ip_ranges().iter().filter_map(|r| r.cidr_ip());
    let v6 = p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6());
    v4.chain(v6)
        .filter(|c| is_world(c))
        .map(|source| {
            json!({
                "protocol": protocol,
                "from_port": p.from_port(),
                "to_port": p.to_port(),
                "source": source,
            })
        })
        .collect()
}

/// The group as evidence when some inbound rule opens an administrative port to the world.
fn open_group(region: &str, g: &SecurityGroup) -> Option<Value> {
    let rules: Vec<Value> = g.ip_permissions().iter().flat_map(open_rules).collect();
    (!rules.is_empty()).then(|| {
        json!({
            "region": region,
            "group_id": g.group_id(),
            "group_name": g.group_name(),
            "vpc_id": g.vpc_id(),
            "rules": rules,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::{IpRange, Ipv6Range};

    #[test]
    fn admin_ports_by_port_range_and_protocol() {
        assert!(covers_admin_port("tcp", Some(22), Some(22)));
        assert!(covers_admin_port("6", Some(0), Some(1024)));
        assert!(covers_admin_port("tcp", Some(3000), Some(4000)));
        assert!(covers_admin_port("udp", Some(3389), Some(3389)));
        assert!(covers_admin_port("-1", None, None));
        assert!(!covers_admin_port("tcp", Some(443), Some(443)));
        assert!(!covers_admin_port("tcp", Some(23), Some(3388)));
        assert!(!covers_admin_port("udp", Some(22), Some(22)));
        assert!(!covers_admin_port("icmp", Some(-1), Some(-1)));
    }

    #[test]
    fn only_the_whole_address_space_counts_as_open() {
        assert!(is_world("0.0.0.0/0"));
        assert!(is_world("::/0"));
        assert!(!is_world("10.0.0.0/8"));
        assert!(!is_world("0.0.0.0/1"));
        assert!(!is_world("203.0.113.7"));
    }

    #[test]
    fn a_group_is_reported_with_its_open_rules_only() {
        let ssh = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(22)
            .to_port(22)
            .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
            .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
            .build();
        let https = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build();
        let g = SecurityGroup::builder()
            .group_id("sg-1")
            .group_name("web")
            .vpc_id("vpc-1")
            .ip_permissions(ssh)
            .ip_permissions(https.clone())
            .build();
        let v = open_group("eu-west-1", &g).unwrap();
        assert_eq!(
            v,
            json!({"region": "eu-west-1", "group_id": "sg-1", "group_name": "web", "vpc_id": "vpc-1",
                   "rules": [{"protocol": "tcp", "from_port": 22, "to_port": 22, "source": "::/0"}]})
        );
        let closed = SecurityGroup::builder()
            .group_id("sg-2")
            .ip_permissions(https)
            .build();
        assert_eq!(open_group("eu-west-1", &closed), None);
    }
}
