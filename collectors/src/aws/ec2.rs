//! EC2, per region: EBS encryption by default, unencrypted volumes, security groups that open
//! administrative ports to the whole internet, default security groups that allow traffic,
//! instances that accept IMDSv1, VPCs without flow logs, and each volume's latest snapshot.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    FlowLog, HttpTokensState, Instance, InstanceMetadataEndpointState, InstanceStateName,
    IpPermission, SecurityGroup, Snapshot, SnapshotState, Volume,
};
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
    EvidenceSpec {
        id: "aws.ec2.default_security_groups_open",
        value_type: ValueType::StringList,
        meaning: "Default security groups (one per VPC, name `default`) with any inbound or \
                  outbound rule, as `region/group-id (vpc-id)`: they let traffic reach or leave \
                  whatever is placed in them without a rule of its own.",
        source: "ec2:DescribeSecurityGroups",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.ec2.instances_without_imdsv2",
        value_type: ValueType::StringList,
        meaning: "Instances (not terminated) whose instance metadata service answers without a \
                  session token (IMDSv1: `HttpTokens` not `required`, endpoint enabled), as \
                  `region/instance-id`.",
        source: "ec2:DescribeInstances (MetadataOptions)",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.ec2.vpcs_without_flow_logs",
        value_type: ValueType::StringList,
        meaning: "VPCs with no active flow log delivering (a flow log of the VPC itself, status \
                  ACTIVE, delivery not FAILED), as `region/vpc-id`.",
        source: "ec2:DescribeVpcs, ec2:DescribeFlowLogs",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.ec2.volume_snapshots",
        value_type: ValueType::ObjectList,
        meaning: "Every EBS volume with its newest completed snapshot owned by the account \
                  (AWS Backup's included): `region`, `volume_id`, `latest_snapshot` (its start \
                  time, null when the volume has none).",
        source: "ec2:DescribeVolumes, ec2:DescribeSnapshots (owner self)",
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
    ApiCall {
        api: "ec2:DescribeInstances",
        permission: "ec2:DescribeInstances",
    },
    ApiCall {
        api: "ec2:DescribeVpcs",
        permission: "ec2:DescribeVpcs",
    },
    ApiCall {
        api: "ec2:DescribeFlowLogs",
        permission: "ec2:DescribeFlowLogs",
    },
    ApiCall {
        api: "ec2:DescribeSnapshots",
        permission: "ec2:DescribeSnapshots",
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
    open_defaults: Result<Vec<String>, String>,
    without_imdsv2: Result<Vec<String>, String>,
    without_flow_logs: Result<Vec<String>, String>,
    snapshots: Result<Vec<Value>, String>,
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
            let (ebs, volumes, groups, reservations, vpcs, flow_logs, snapshots) = tokio::join!(
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
                ec2.describe_instances()
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect(),
                ec2.describe_vpcs()
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect(),
                ec2.describe_flow_logs()
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect(),
                ec2.describe_snapshots()
                    .owner_ids("self")
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect(),
            );
            let volumes = volumes.map_err(|e| api_error("ec2:DescribeVolumes", &e));
            let groups = groups.map_err(|e| api_error("ec2:DescribeSecurityGroups", &e));
            let snapshots = snapshots.map_err(|e| api_error("ec2:DescribeSnapshots", &e));
            Ok(Region {
                ebs_default: ebs
                    .map(|o| o.ebs_encryption_by_default().unwrap_or(false))
                    .map_err(|e| api_error("ec2:GetEbsEncryptionByDefault", &e)),
                unencrypted_volumes: volumes.as_ref().map_err(Clone::clone).map(|vs| {
                    vs.iter()
                        .filter(|v| v.encrypted() != Some(true))
                        .filter_map(|v| v.volume_id())
                        .map(|id| format!("{region}/{id}"))
                        .collect()
                }),
                open_groups: groups
                    .as_ref()
                    .map_err(Clone::clone)
                    .map(|gs| gs.iter().filter_map(|g| open_group(&region, g)).collect()),
                open_defaults: groups.map(|gs| {
                    gs.iter()
                        .filter_map(|g| open_default(&region, g))
                        .collect()
                }),
                without_imdsv2: reservations
                    .map(|rs| {
                        rs.iter()
                            .flat_map(|r| r.instances())
                            .filter(|i| accepts_imdsv1(i))
                            .filter_map(|i| i.instance_id())
                            .map(|id| format!("{region}/{id}"))
                            .collect()
                    })
                    .map_err(|e| api_error("ec2:DescribeInstances", &e)),
                without_flow_logs: match (vpcs, flow_logs) {
                    (Ok(vpcs), Ok(logs)) => Ok(vpcs
                        .iter()
                        .filter_map(|v| v.vpc_id())
                        .filter(|id| !logs.iter().any(|l| delivers_for(l, id)))
                        .map(|id| format!("{region}/{id}"))
                        .collect()),
                    (Err(e), _) => Err(api_error("ec2:DescribeVpcs", &e)),
                    (_, Err(e)) => Err(api_error("ec2:DescribeFlowLogs", &e)),
                },
                snapshots: match (volumes, snapshots) {
                    (Ok(vs), Ok(ss)) => Ok(latest_snapshots(&region, &vs, &ss)),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                },
            })
        })
        .await;
        let api = |a: &str| ItemSource::Api(a.into());
        let ebs = regional_fact(&regions, |r| &r.ebs_default);
        let volumes = regional_fact(&regions, |r| &r.unencrypted_volumes);
        let groups = regional_fact(&regions, |r| &r.open_groups);
        let flat = |get: fn(&Region) -> &Result<Vec<String>, String>| {
            regional_fact(&regions, get)
                .map(|v| v.into_iter().flat_map(|(_, v)| v).collect::<Vec<_>>())
        };
        let snapshots = regional_fact(&regions, |r| &r.snapshots)
            .map(|v| v.into_iter().flat_map(|(_, v)| v).collect::<Vec<_>>());
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
            fact(
                "aws.ec2.default_security_groups_open",
                api("ec2:DescribeSecurityGroups"),
                flat(|r| &r.open_defaults),
            ),
            fact(
                "aws.ec2.instances_without_imdsv2",
                api("ec2:DescribeInstances"),
                flat(|r| &r.without_imdsv2),
            ),
            fact(
                "aws.ec2.vpcs_without_flow_logs",
                api("ec2:DescribeFlowLogs"),
                flat(|r| &r.without_flow_logs),
            ),
            fact(
                "aws.ec2.volume_snapshots",
                api("ec2:DescribeSnapshots"),
                snapshots,
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

/// A default security group with any rule, as `region/group-id (vpc-id)`.
fn open_default(region: &str, g: &SecurityGroup) -> Option<String> {
    (g.group_name() == Some("default")
        && (!g.ip_permissions().is_empty() || !g.ip_permissions_egress().is_empty()))
    .then(|| {
        format!(
            "{region}/{} ({})",
            g.group_id().unwrap_or(""),
            g.vpc_id().unwrap_or("no VPC")
        )
    })
}

/// Whether a live instance's metadata service answers IMDSv1 requests (no session token).
fn accepts_imdsv1(i: &Instance) -> bool {
    let terminated = matches!(
        i.state().and_then(|s| s.name()),
        Some(InstanceStateName::Terminated | InstanceStateName::ShuttingDown)
    );
    let options = i.metadata_options();
    let disabled = options.and_then(|o| o.http_endpoint())
        == Some(&InstanceMetadataEndpointState::Disabled);
    let required = options.and_then(|o| o.http_tokens()) == Some(&HttpTokensState::Required);
    !terminated && !disabled && !required
}

/// Whether a flow log of `vpc` is active and not failing to deliver.
fn delivers_for(l: &FlowLog, vpc: &str) -> bool {
    l.resource_id() == Some(vpc)
        && l.flow_log_status() == Some("ACTIVE")
        && l.deliver_logs_status() != Some("FAILED")
}

/// Every volume with the start time of its newest completed snapshot.
fn latest_snapshots(region: &str, volumes: &[Volume], snapshots: &[Snapshot]) -> Vec<Value> {
    volumes
        .iter()
        .filter_map(|v| v.volume_id())
        .map(|id| {
            let latest = snapshots
                .iter()
                .filter(|s| s.volume_id() == Some(id))
                .filter(|s| s.state() == Some(&SnapshotState::Completed))
                .filter_map(|s| s.start_time())
                .map(|t| t.secs())
                .max()
                .and_then(|secs| vouch_evidence::Timestamp::from_unix_micros(secs * 1_000_000))
                .map(|t| t.to_string());
            json!({"region": region, "volume_id": id, "latest_snapshot": latest})
        })
        .collect()
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

    #[test]
    fn default_groups_with_any_rule_are_open() {
        let self_ingress = IpPermission::builder().ip_protocol("-1").build();
        let default = |inbound: bool, outbound: bool| {
            let mut g = SecurityGroup::builder()
                .group_id("sg-0d1")
                .group_name("default")
                .vpc_id("vpc-9");
            if inbound {
                g = g.ip_permissions(self_ingress.clone());
            }
            if outbound {
                g = g.ip_permissions_egress(self_ingress.clone());
            }
            g.build()
        };
        assert_eq!(
            open_default("us-east-1", &default(true, true)).as_deref(),
            Some("us-east-1/sg-0d1 (vpc-9)")
        );
        assert!(open_default("us-east-1", &default(false, true)).is_some());
        assert_eq!(open_default("us-east-1", &default(false, false)), None);
        let named = SecurityGroup::builder()
            .group_id("sg-2")
            .group_name("web")
            .ip_permissions(self_ingress)
            .build();
        assert_eq!(open_default("us-east-1", &named), None);
    }

    #[test]
    fn imdsv1_is_accepted_unless_tokens_are_required_or_the_endpoint_is_off() {
        use aws_sdk_ec2::types::{InstanceMetadataOptionsResponse, InstanceState};
        let instance = |tokens: Option<HttpTokensState>,
                        endpoint: InstanceMetadataEndpointState,
                        state: InstanceStateName| {
            Instance::builder()
                .instance_id("i-1")
                .state(InstanceState::builder().name(state).build())
                .metadata_options(
                    InstanceMetadataOptionsResponse::builder()
                        .set_http_tokens(tokens)
                        .http_endpoint(endpoint)
                        .build(),
                )
                .build()
        };
        use InstanceMetadataEndpointState::{Disabled, Enabled};
        use InstanceStateName::{Running, Stopped, Terminated};
        assert!(accepts_imdsv1(&instance(Some(HttpTokensState::Optional), Enabled, Running)));
        assert!(accepts_imdsv1(&instance(None, Enabled, Stopped)));
        assert!(!accepts_imdsv1(&instance(Some(HttpTokensState::Required), Enabled, Running)));
        assert!(!accepts_imdsv1(&instance(Some(HttpTokensState::Optional), Disabled, Running)));
        assert!(!accepts_imdsv1(&instance(Some(HttpTokensState::Optional), Enabled, Terminated)));
    }

    #[test]
    fn the_newest_completed_snapshot_of_each_volume() {
        use aws_sdk_ec2::primitives::DateTime;
        let snap = |volume: &str, secs: i64, state: SnapshotState| {
            Snapshot::builder()
                .volume_id(volume)
                .start_time(DateTime::from_secs(secs))
                .state(state)
                .build()
        };
        let volumes = [
            Volume::builder().volume_id("vol-a").build(),
            Volume::builder().volume_id("vol-b").build(),
        ];
        let snapshots = [
            snap("vol-a", 1_764_000_000, SnapshotState::Completed),
            snap("vol-a", 1_764_086_400, SnapshotState::Completed),
            snap("vol-a", 1_764_172_800, SnapshotState::Pending),
            snap("vol-b", 1_764_172_800, SnapshotState::Error),
        ];
        assert_eq!(
            latest_snapshots("eu-west-1", &volumes, &snapshots),
            [
                json!({"region": "eu-west-1", "volume_id": "vol-a", "latest_snapshot": "2025-11-25T16:00:00.000000Z"}),
                json!({"region": "eu-west-1", "volume_id": "vol-b", "latest_snapshot": null}),
            ]
        );
    }
}
