//! IAM: the root user's MFA and access keys, users' MFA, key age and unused credentials (all
//! from the credential report), the password policy, and who has AdministratorAccess.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_iam::types::ReportStateType;
use serde_json::{Value, json};
use time::OffsetDateTime;
use vouch_evidence::{Source as ItemSource, Timestamp};

use super::client::{ApiCall, Session, absent_if, api_error, client};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "aws.iam.credential_report_generated_at",
        value_type: ValueType::Timestamp,
        meaning: "When AWS generated the credential report the user facts come from (it is \
                  regenerated at most every four hours).",
        source: "iam:GenerateCredentialReport, iam:GetCredentialReport",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.iam.root_mfa_enabled",
        value_type: ValueType::Bool,
        meaning: "The root user has an MFA device.",
        source: "iam:GetCredentialReport (<root_account>)",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.iam.root_access_keys_present",
        value_type: ValueType::Bool,
        meaning: "The root user has an active access key.",
        source: "iam:GetCredentialReport (<root_account>)",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.iam.users",
        value_type: ValueType::ObjectList,
        meaning: "One object per IAM user: `name`, `created`, `console_access` (has a \
                  password), `mfa_active`, `password_last_used`, `access_keys` (`active`, \
                  `last_rotated`, `last_used`); times are RFC 3339, null when never or unknown.",
        source: "iam:GetCredentialReport",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.iam.console_users_without_mfa",
        value_type: ValueType::StringList,
        meaning: "Users who can sign in to the console (have a password) without MFA.",
        source: "iam:GetCredentialReport",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.iam.users_with_old_access_keys",
        value_type: ValueType::StringList,
        meaning: "Users with an active access key created or rotated more than 90 days ago.",
        source: "iam:GetCredentialReport",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.iam.users_with_unused_credentials",
        value_type: ValueType::StringList,
        meaning: "Users with a password or an active access key not used for more than 90 \
                  days (or never used and older than 90 days).",
        source: "iam:GetCredentialReport",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.iam.password_policy",
        value_type: ValueType::Object,
        meaning: "The account password policy: `present` (false: none set, AWS defaults \
                  apply), `minimum_length`, `require_symbols`, `require_numbers`, \
                  `require_uppercase`, `require_lowercase`, `allow_users_to_change`, \
                  `max_age_days`, `reuse_prevention`, `hard_expiry`.",
        source: "iam:GetAccountPasswordPolicy",
        context_only: None,
    },
    EvidenceSpec {
        id: "aws.iam.admin_principals",
        value_type: ValueType::StringList,
        meaning: "Users, groups and roles with the AWS managed policy AdministratorAccess \
                  attached, as `user/NAME`, `group/NAME`, `role/NAME`.",
        source: "iam:ListEntitiesForPolicy",
        context_only: None,
    },
];

/// The calls this area makes.
pub const CALLS: &[ApiCall] = &[
    ApiCall {
        api: "iam:GenerateCredentialReport",
        permission: "iam:GenerateCredentialReport",
    },
    ApiCall {
        api: "iam:GetCredentialReport",
        permission: "iam:GetCredentialReport",
    },
    ApiCall {
        api: "iam:GetAccountPasswordPolicy",
        permission: "iam:GetAccountPasswordPolicy",
    },
    ApiCall {
        api: "iam:ListEntitiesForPolicy",
        permission: "iam:ListEntitiesForPolicy",
    },
];

/// The AWS managed policy that grants everything.
const ADMINISTRATOR_ACCESS: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// Credentials older or unused for longer than this are reported.
const MAX_AGE: time::Duration = time::Duration::days(90);

/// How long to wait between polls while AWS generates the credential report.
const REPORT_POLL: Duration = Duration::from_secs(2);

/// The collector.
pub struct IamArea(pub Arc<Session>);

#[async_trait]
impl Collector for IamArea {
    fn name(&self) -> &'static str {
        "aws.iam"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let sdk = self.0.regional(None).await.map_err(CollectError::Failed)?;
        let iam = client!(aws_sdk_iam, self.0, &sdk);
        let (report, password_policy, admins) = tokio::join!(
            credential_report(&iam, ctx.deadline),
            password_policy(&iam),
            admin_principals(&iam)
        );
        let api = |a: &str| ItemSource::Api(a.into());
        let report_source = || api("iam:GetCredentialReport");
        let now = ctx.clock.now().datetime();
        let report = report.and_then(|(generated, csv)| Ok((generated, parse_report(&csv)?)));
        let rows = report.as_ref().map(|(_, rows)| rows).map_err(Clone::clone);
        let root = rows.clone().and_then(|rows| {
            rows.iter()
                .find(|r| r.user == ROOT)
                .ok_or_else(|| "the credential report has no <root_account> row".to_string())
        });
        let users = rows.map(|rows| rows.iter().filter(|r| r.user != ROOT).collect::<Vec<_>>());
        let names = |keep: &dyn Fn(&Row) -> bool| {
            users.clone().map(|u| {
                u.iter()
                    .filter(|r| keep(r))
                    .map(|r| r.user.clone())
                    .collect::<Vec<_>>()
            })
        };
        Ok(vec![
            fact(
                "aws.iam.credential_report_generated_at",
                report_source(),
                report
                    .as_ref()
                    .map(|(g, _)| g.to_string())
                    .map_err(Clone::clone),
            ),
            fact(
                "aws.iam.root_mfa_enabled",
                report_source(),
                root.clone().map(|r| r.mfa_active),
            ),
            fact(
                "aws.iam.root_access_keys_present",
                report_source(),
                root.map(|r| r.keys.iter().any(|k| k.active)),
            ),
            fact(
                "aws.iam.users",
                report_source(),
                users
                    .clone()
                    .map(|u| u.iter().map(|r| r.to_json()).collect::<Vec<_>>()),
            ),
            fact(
                "aws.iam.console_users_without_mfa",
                report_source(),
                names(&|r| r.password_enabled && !r.mfa_active),
            ),
            fact(
                "aws.iam.users_with_old_access_keys",
                report_source(),
                names(&|r| {
                    r.keys
                        .iter()
                        .any(|k| k.active && older(k.last_rotated, now))
                }),
            ),
            fact(
                "aws.iam.users_with_unused_credentials",
                report_source(),
                names(&|r| r.has_unused_credentials(now)),
            ),
            fact(
                "aws.iam.password_policy",
                api("iam:GetAccountPasswordPolicy"),
                password_policy,
            ),
            fact(
                "aws.iam.admin_principals",
                api("iam:ListEntitiesForPolicy"),
                admins,
            ),
        ])
    }
}

/// Asks AWS to generate the credential report, waits until it is complete (or the collector's
/// deadline is near), and returns when it was generated and its CSV text.
async fn credential_report(
    iam: &aws_sdk_iam::Client,
    deadline: Instant,
) -> Result<(Timestamp, String), String> {
    loop {
        let state = iam
            .generate_credential_report()
            .send()
            .await
            .map_err(|e| api_error("iam:GenerateCredentialReport", &e))?;
        if state.state() == Some(&ReportStateType::Complete) {
            break;
        }
        if Instant::now() + REPORT_POLL >= deadline {
            return Err(
                "iam:GenerateCredentialReport: the report was still being generated at the \
                 collector's deadline"
                    .into(),
            );
        }
        tokio::time::sleep(REPORT_POLL).await;
    }
    let out = iam
        .get_credential_report()
        .send()
        .await
        .map_err(|e| api_error("iam:GetCredentialReport", &e))?;
    let generated = out
        .generated_time()
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t.secs()).ok())
        .map(Timestamp::from_datetime)
        .ok_or("iam:GetCredentialReport answered no generation time")?;
    let content = out
        .content
        .ok_or("iam:GetCredentialReport answered no content")?
        .into_inner();
    let csv = String::from_utf8(content)
        .map_err(|_| "iam:GetCredentialReport: the report is not UTF-8 text".to_string())?;
    Ok((generated, csv))
}

async fn password_policy(iam: &aws_sdk_iam::Client) -> Result<Value, String> {
    let out = absent_if(
        "iam:GetAccountPasswordPolicy",
        iam.get_account_password_policy().send().await,
        &["NoSuchEntity"],
    )?;
    Ok(match out.as_ref().and_then(|o| o.password_policy()) {
        None => json!({"present": false}),
        Some(p) => json!({
            "present": true,
            "minimum_length": p.minimum_password_length(),
            "require_symbols": p.require_symbols(),
            "require_numbers": p.require_numbers(),
            "require_uppercase": p.require_uppercase_characters(),
            "require_lowercase": p.require_lowercase_characters(),
            "allow_users_to_change": p.allow_users_to_change_password(),
            "max_age_days": p.max_password_age(),
            "reuse_prevention": p.password_reuse_prevention(),
            "hard_expiry": p.hard_expiry(),
        }),
    })
}

async fn admin_principals(iam: &aws_sdk_iam::Client) -> Result<Vec<String>, String> {
    let pages = iam
        .list_entities_for_policy()
        .policy_arn(ADMINISTRATOR_ACCESS)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| api_error("iam:ListEntitiesForPolicy", &e))?;
    let mut out = Vec::new();
    for page in &pages {
        out.extend(
            page.policy_users()
                .iter()
                .filter_map(|u| u.user_name())
                .map(|n| format!("user/{n}")),
        );
        out.extend(
            page.policy_groups()
                .iter()
                .filter_map(|g| g.group_name())
                .map(|n| format!("group/{n}")),
        );
        out.extend(
            page.policy_roles()
                .iter()
                .filter_map(|r| r.role_name())
                .map(|n| format!("role/{n}")),
        );
    }
    out.sort();
    Ok(out)
}

/// The root user's row in the credential report.
const ROOT: &str = "<root_account>";

/// One access key slot of a report row.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Key {
    active: bool,
    last_rotated: Option<OffsetDateTime>,
    last_used: Option<OffsetDateTime>,
}

/// One row of the credential report.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Row {
    user: String,
    created: Option<OffsetDateTime>,
    password_enabled: bool,
    password_last_used: Option<OffsetDateTime>,
    password_last_changed: Option<OffsetDateTime>,
    mfa_active: bool,
    keys: Vec<Key>,
}

/// Whether `t` is known and more than [`MAX_AGE`] before `now`.
fn older(t: Option<OffsetDateTime>, now: OffsetDateTime) -> bool {
    t.is_some_and(|t| now - t > MAX_AGE)
}

/// A credential unused for longer than [`MAX_AGE`]: its last use is that old, or it was never
/// used and was set that long ago.
fn unused(
    last_used: Option<OffsetDateTime>,
    set: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> bool {
    match last_used {
        Some(_) => older(last_used, now),
        None => older(set, now),
    }
}

impl Row {
    fn has_unused_credentials(&self, now: OffsetDateTime) -> bool {
        let password = self.password_enabled
            && unused(
                self.password_last_used,
                self.password_last_changed.or(self.created),
                now,
            );
        password
            || self
                .keys
                .iter()
                .any(|k| k.active && unused(k.last_used, k.last_rotated, now))
    }

    fn to_json(&self) -> Value {
        let ts = |t: Option<OffsetDateTime>| t.map(|t| Timestamp::from_datetime(t).to_string());
        json!({
            "name": self.user,
            "created": ts(self.created),
            "console_access": self.password_enabled,
            "mfa_active": self.mfa_active,
            "password_last_used": ts(self.password_last_used),
            "access_keys": self.keys.iter().map(|k| json!({
                "active": k.active,
                "last_rotated": ts(k.last_rotated),
                "last_used": ts(k.last_used),
            })).collect::<Vec<_>>(),
        })
    }
}

/// The fields of one CSV line (RFC 4180 quoting).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// A report time: RFC 3339, or none for `N/A`, `no_information`, `not_supported`.
fn report_time(s: &str) -> Result<Option<OffsetDateTime>, String> {
    match s {
        "N/A" | "no_information" | "not_supported" | "" => Ok(None),
        _ => s
            .parse::<Timestamp>()
            .map(|t| Some(t.datetime()))
            .map_err(|_| format!("the credential report has a time that is not RFC 3339: {s:?}")),
    }
}

/// A report flag: `true`/`false` (`not_supported` for the root's password counts as false).
fn report_flag(s: &str) -> Result<bool, String> {
    match s {
        "true" => Ok(true),
        "false" | "not_supported" | "N/A" => Ok(false),
        _ => Err(format!(
            "the credential report has a flag that is not true or false: {s:?}"
        )),
    }
}

/// Parses the credential report's CSV text. IAM user names may contain commas, which the
/// report does not quote: a row with 2k extra fields has k commas in its user name (and the
/// same in its ARN, which ends with the name), and is put back together.
fn parse_report(csv: &str) -> Result<Vec<Row>, String> {
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let header = csv_fields(lines.next().ok_or("the credential report is empty")?);
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("the credential report has no {name} column"))
    };
    let user_col = col("user")?;
    let cols = [
        "user_creation_time",
        "password_enabled",
        "password_last_used",
        "password_last_changed",
        "mfa_active",
        "access_key_1_active",
        "access_key_1_last_rotated",
        "access_key_1_last_used_date",
        "access_key_2_active",
        "access_key_2_last_rotated",
        "access_key_2_last_used_date",
    ]
    .map(col);
    let [
        created,
        pw,
        pw_used,
        pw_changed,
        mfa,
        k1,
        k1_rot,
        k1_used,
        k2,
        k2_rot,
        k2_used,
    ] = {
        let mut out = [0usize; 11];
        for (o, c) in out.iter_mut().zip(cols) {
            *o = c?;
        }
        out
    };
    if user_col != 0 || header.get(1).map(String::as_str) != Some("arn") {
        return Err("the credential report does not start with the user and arn columns".into());
    }
    lines
        .map(|line| {
            let mut f = csv_fields(line);
            let extra = f.len().saturating_sub(header.len());
            if !extra.is_multiple_of(2) || f.len() < header.len() {
                return Err(format!(
                    "a credential report row has {} fields where the header has {}",
                    f.len(),
                    header.len()
                ));
            }
            if extra > 0 {
                let k = extra / 2;
                let user = f[..=k].join(",");
                let arn = f[k + 1..=2 * k + 1].join(",");
                f.splice(..=2 * k + 1, [user, arn]);
            }
            let key = |active: usize, rotated: usize, used: usize| -> Result<Key, String> {
                Ok(Key {
                    active: report_flag(&f[active])?,
                    last_rotated: report_time(&f[rotated])?,
                    last_used: report_time(&f[used])?,
                })
            };
            Ok(Row {
                user: f[0].clone(),
                created: report_time(&f[created])?,
                password_enabled: report_flag(&f[pw])?,
                password_last_used: report_time(&f[pw_used])?,
                password_last_changed: report_time(&f[pw_changed])?,
                mfa_active: report_flag(&f[mfa])?,
                keys: vec![key(k1, k1_rot, k1_used)?, key(k2, k2_rot, k2_used)?],
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

    fn report(rows: &[&str]) -> String {
        let mut s = format!("{HEADER}\n");
        for r in rows {
            s.push_str(r);
            s.push('\n');
        }
        s
    }

    fn at(s: &str) -> OffsetDateTime {
        s.parse::<Timestamp>().unwrap().datetime()
    }

    #[test]
    fn root_and_users_are_read_from_the_report() {
        let csv = report(&[
            "<root_account>,arn:aws:iam::111122223333:root,2020-01-01T00:00:00+00:00,not_supported,2026-10-01T10:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,true,2021-03-04T05:06:07+00:00,N/A,N/A,N/A,false,N/A,false,N/A",
            "alice,arn:aws:iam::111122223333:user/alice,2024-01-01T00:00:00+00:00,true,2026-11-01T00:00:00+00:00,2024-01-01T00:00:00+00:00,N/A,false,true,2026-10-20T00:00:00+00:00,2026-11-20T00:00:00+00:00,eu-west-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
        ]);
        let rows = parse_report(&csv).unwrap();
        assert_eq!(rows.len(), 2);
        let root = &rows[0];
        assert_eq!(root.user, ROOT);
        assert!(root.mfa_active && !root.password_enabled);
        assert_eq!(root.keys.iter().filter(|k| k.active).count(), 1);
        assert_eq!(root.keys[1].last_rotated, Some(at("2021-03-04T05:06:07Z")));
        let alice = &rows[1];
        assert!(alice.password_enabled && !alice.mfa_active);
        assert_eq!(alice.keys[0].last_used, Some(at("2026-11-20T00:00:00Z")));
        assert_eq!(
            alice.to_json()["access_keys"][0]["last_rotated"],
            "2026-10-20T00:00:00.000000Z"
        );
        assert_eq!(
            alice.to_json()["password_last_used"],
            "2026-11-01T00:00:00.000000Z"
        );
    }

    #[test]
    fn ages_and_unused_credentials_against_now() {
        let now = at("2026-11-24T00:00:00Z");
        let csv = report(&[
            // An active key rotated 100 days ago, used yesterday: old, not unused.
            "old-key,arn:aws:iam::1:user/old-key,2026-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2026-08-16T00:00:00+00:00,2026-11-23T00:00:00+00:00,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
            // An inactive old key: neither.
            "inactive,arn:aws:iam::1:user/inactive,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,2020-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
            // A password never used, set 91 days ago: unused.
            "never,arn:aws:iam::1:user/never,2026-08-25T00:00:00+00:00,true,no_information,2026-08-25T00:00:00+00:00,N/A,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
            // A password used 89 days ago: fine.
            "recent,arn:aws:iam::1:user/recent,2020-01-01T00:00:00+00:00,true,2026-08-27T00:00:00+00:00,2020-01-01T00:00:00+00:00,N/A,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
            // A second key, new but never used, beside an unused first one.
            "stale-key,arn:aws:iam::1:user/stale-key,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2026-01-01T00:00:00+00:00,2026-02-01T00:00:00+00:00,N/A,N/A,true,2026-11-20T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A",
        ]);
        let rows = parse_report(&csv).unwrap();
        let old: Vec<&str> = rows
            .iter()
            .filter(|r| {
                r.keys
                    .iter()
                    .any(|k| k.active && older(k.last_rotated, now))
            })
            .map(|r| r.user.as_str())
            .collect();
        assert_eq!(old, ["old-key", "stale-key"]);
        let unused: Vec<&str> = rows
            .iter()
            .filter(|r| r.has_unused_credentials(now))
            .map(|r| r.user.as_str())
            .collect();
        assert_eq!(unused, ["never", "stale-key"]);
    }

    #[test]
    fn user_names_with_commas_are_put_back_together() {
        let csv = report(&[
            "a,b,c,arn:aws:iam::1:user/a,b,c,2024-01-01T00:00:00+00:00,true,N/A,2024-01-01T00:00:00+00:00,N/A,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
        ]);
        let rows = parse_report(&csv).unwrap();
        assert_eq!(rows[0].user, "a,b,c");
        assert!(rows[0].password_enabled && rows[0].mfa_active);
        // Quoted fields are read as CSV.
        assert_eq!(csv_fields(r#""x,y",z,"a ""b""""#), ["x,y", "z", "a \"b\""]);
    }

    #[test]
    fn malformed_reports_are_refused_with_a_reason() {
        assert_eq!(
            parse_report("").unwrap_err(),
            "the credential report is empty"
        );
        assert!(
            parse_report("user,arn\nx,y\n")
                .unwrap_err()
                .contains("no user_creation_time column")
        );
        let short = report(&["bob,arn:aws:iam::1:user/bob,2024-01-01T00:00:00+00:00"]);
        assert!(
            parse_report(&short)
                .unwrap_err()
                .contains("has 3 fields where the header has 22")
        );
        let bad_flag = report(&[
            "bob,arn:aws:iam::1:user/bob,2024-01-01T00:00:00+00:00,yes,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
        ]);
        assert!(parse_report(&bad_flag).unwrap_err().contains("\"yes\""));
    }
}
