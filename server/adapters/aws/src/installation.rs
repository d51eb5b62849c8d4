//! Installation qualification on AWS (`countersign iq`): the deployment as the README
//! requires it, item by item, read through the portal's own role, changing nothing.

use crate::AwsBackend;
use aws_sdk_dynamodb::types::{
    ContinuousBackupsStatus, PointInTimeRecoveryStatus, SseStatus, SseType, TimeToLiveStatus,
};
use aws_sdk_s3::types::{ObjectLockEnabled, ObjectLockMode};

/// One item of an installation qualification and what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallationCheck {
    /// What the README requires, e.g. "the table has point-in-time recovery on".
    pub item: String,
    pub passed: bool,
    /// What was found, or what to do.
    pub detail: String,
}

impl InstallationCheck {
    pub fn new(item: impl Into<String>, passed: bool, detail: impl Into<String>) -> Self {
        Self {
            item: item.into(),
            passed,
            detail: detail.into(),
        }
    }
}

/// An AWS error with its service's code and message, for a detail.
fn said<E: std::error::Error>(error: E) -> String {
    aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string()
}

/// The attribute the table's TTL removes expired items by (`deploy/countersign-table.yaml`).
const TTL_ATTRIBUTE: &str = "expires_at";

impl AwsBackend {
    /// Each item the README requires of an AWS deployment, checked with this backend's
    /// credentials (the portal's role): the table (active, point-in-time recovery, deletion
    /// protection, KMS encryption, TTL), the audit bucket (Object Lock, checkpoints locked in
    /// compliance mode), the shared secrets' KMS key, and the reads the portal makes of
    /// SageMaker, SSM and the table.
    pub async fn installation_checks(&self) -> Vec<InstallationCheck> {
        let mut checks = self.table_checks().await;
        checks.extend(self.bucket_checks().await);
        checks.push(match &self.settings.secrets_kms_key_id {
            Some(key) if !key.ends_with("alias/aws/ssm") => InstallationCheck::new(
                "the shared secrets are encrypted under a customer managed KMS key",
                true,
                key.clone(),
            ),
            _ => InstallationCheck::new(
                "the shared secrets are encrypted under a customer managed KMS key",
                false,
                "they are under the account's default aws/ssm key: set COUNTERSIGN_SESSION_KMS_KEY_ID",
            ),
        });
        checks.extend(self.read_checks().await);
        checks
    }

    async fn table_checks(&self) -> Vec<InstallationCheck> {
        let (client, name) = (&self.table.client, &self.table.name);
        let described = match client.describe_table().table_name(name).send().await {
            Ok(described) => described,
            Err(e) => {
                return vec![InstallationCheck::new(
                    format!("the table {name} exists"),
                    false,
                    said(e),
                )]
            }
        };
        let table = described.table();
        let status = table
            .and_then(|t| t.table_status())
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        let mut checks = vec![InstallationCheck::new(
            format!("the table {name} exists and is active"),
            status == "ACTIVE",
            format!("status {status}"),
        )];
        let recovery = client
            .describe_continuous_backups()
            .table_name(name)
            .send()
            .await;
        checks.push(match recovery {
            Ok(backups) => {
                let description = backups.continuous_backups_description();
                let on = description.is_some_and(|d| {
                    d.continuous_backups_status() == &ContinuousBackupsStatus::Enabled
                        && d.point_in_time_recovery_description()
                            .and_then(|p| p.point_in_time_recovery_status())
                            == Some(&PointInTimeRecoveryStatus::Enabled)
                });
                InstallationCheck::new(
                    "the table has point-in-time recovery on",
                    on,
                    if on {
                        "restorable to any second of the last 35 days"
                    } else {
                        "off: turn on PointInTimeRecoverySpecification"
                    },
                )
            }
            Err(e) => {
                InstallationCheck::new("the table has point-in-time recovery on", false, said(e))
            }
        });
        let protected = table.and_then(|t| t.deletion_protection_enabled()) == Some(true);
        checks.push(InstallationCheck::new(
            "the table has deletion protection on",
            protected,
            if protected {
                "on"
            } else {
                "off: set DeletionProtectionEnabled"
            },
        ));
        let sse = table.and_then(|t| t.sse_description());
        let kms = sse.is_some_and(|s| {
            s.status() == Some(&SseStatus::Enabled) && s.sse_type() == Some(&SseType::Kms)
        });
        checks.push(InstallationCheck::new(
            "the table is encrypted with a KMS key",
            kms,
            match sse.and_then(|s| s.kms_master_key_arn()) {
                Some(key) if kms => key.to_owned(),
                _ if kms => "the AWS managed key aws/dynamodb".to_owned(),
                _ => {
                    "with the AWS owned key only: set SSESpecification with SSEType KMS".to_owned()
                }
            },
        ));
        let ttl = client.describe_time_to_live().table_name(name).send().await;
        checks.push(match ttl {
            Ok(ttl) => {
                let description = ttl.time_to_live_description();
                let on = description.is_some_and(|d| {
                    d.time_to_live_status() == Some(&TimeToLiveStatus::Enabled)
                        && d.attribute_name() == Some(TTL_ATTRIBUTE)
                });
                InstallationCheck::new(
                    format!("the table's TTL removes expired items by {TTL_ATTRIBUTE}"),
                    on,
                    if on {
                        "on".to_owned()
                    } else {
                        format!("off: enable TimeToLiveSpecification on {TTL_ATTRIBUTE}")
                    },
                )
            }
            Err(e) => InstallationCheck::new(
                format!("the table's TTL removes expired items by {TTL_ATTRIBUTE}"),
                false,
                said(e),
            ),
        });
        checks
    }

    async fn bucket_checks(&self) -> Vec<InstallationCheck> {
        let item = "audit checkpoints are kept in an S3 bucket under Object Lock";
        let (Some(s3), Some(bucket)) = (&self.s3, &self.settings.audit_bucket) else {
            return vec![InstallationCheck::new(
                item,
                false,
                "no COUNTERSIGN_AUDIT_BUCKET: checkpoints are kept as SSM parameter versions, which their writer can delete",
            )];
        };
        let lock = s3
            .get_object_lock_configuration()
            .bucket(&bucket.name)
            .send()
            .await;
        let enabled = lock.as_ref().is_ok_and(|l| {
            l.object_lock_configuration()
                .and_then(|c| c.object_lock_enabled())
                == Some(&ObjectLockEnabled::Enabled)
        });
        let mut checks = vec![InstallationCheck::new(
            item,
            enabled,
            match &lock {
                Ok(_) if enabled => format!(
                    "{}, each checkpoint locked for {} days",
                    bucket.name,
                    bucket.retention.whole_days()
                ),
                Ok(_) => format!("{} has no Object Lock", bucket.name),
                Err(e) => said(e),
            },
        )];
        if !enabled {
            return checks;
        }
        let item = "the newest checkpoint in the bucket is locked in compliance mode";
        let listed = s3
            .list_objects_v2()
            .bucket(&bucket.name)
            .prefix("audit/")
            .send()
            .await;
        let newest = match listed {
            Ok(listed) => listed
                .contents()
                .iter()
                .max_by_key(|o| o.last_modified().map(|t| t.secs()))
                .and_then(|o| o.key().map(str::to_owned)),
            Err(e) => {
                checks.push(InstallationCheck::new(item, false, said(e)));
                return checks;
            }
        };
        let Some(key) = newest else {
            checks.push(InstallationCheck::new(
                item,
                true,
                "no checkpoint yet: the first is locked as it is written",
            ));
            return checks;
        };
        // HeadObject says how an object is locked, with the s3:GetObject the portal has.
        let head = s3.head_object().bucket(&bucket.name).key(&key).send().await;
        checks.push(match head {
            Ok(head) => {
                let compliance = head.object_lock_mode() == Some(&ObjectLockMode::Compliance);
                let until = head
                    .object_lock_retain_until_date()
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "no date".into());
                InstallationCheck::new(item, compliance, format!("{key} until {until}"))
            }
            Err(e) => InstallationCheck::new(item, false, format!("{key}: {}", said(e))),
        });
        checks
    }

    /// The reads the portal makes, each once: its role allows them.
    async fn read_checks(&self) -> Vec<InstallationCheck> {
        let prefix = &self.settings.ssm_prefix;
        let sagemaker = self
            .sagemaker
            .list_model_package_groups()
            .max_results(1)
            .send()
            .await
            .map(|_| ())
            .map_err(said);
        let ssm = self
            .ssm
            .get_parameters_by_path()
            .path(prefix)
            .recursive(true)
            .max_results(1)
            .send()
            .await
            .map(|_| ())
            .map_err(said);
        let table = self
            .table
            .client
            .query()
            .table_name(&self.table.name)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", crate::table::s("iq#nothing"))
            .limit(1)
            .send()
            .await
            .map(|_| ())
            .map_err(said);
        [
            (
                "the portal's role may list SageMaker model package groups",
                sagemaker,
            ),
            ("the portal's role may read its SSM parameters", ssm),
            ("the portal's role may query its table", table),
        ]
        .into_iter()
        .map(|(item, result)| match result {
            Ok(()) => InstallationCheck::new(item, true, "allowed"),
            Err(e) => InstallationCheck::new(item, false, e),
        })
        .collect()
    }
}
