//! The AWS backend's settings, read once at start-up into the adapter's own
//! [`AwsSettings`].

use crate::settings::{given, SettingError};
use countersign_aws::{metadata::IdentityMap, AuditBucket, AwsSettings};
use countersign_domain::Environments;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The AWS backend's settings as written (`COUNTERSIGN_SSM_PREFIX`, `COUNTERSIGN_DYNAMODB_*`,
/// `COUNTERSIGN_AUDIT_*` and the like).
pub struct AwsBackendSettings<'a> {
    pub ssm_prefix: &'a str,
    pub session_kms_key_id: Option<&'a str>,
    pub identity_map: Option<&'a Path>,
    pub dynamodb_table: &'a str,
    pub dynamodb_create_table: bool,
    pub outbox_retention_days: u32,
    pub audit_bucket: Option<&'a str>,
    pub audit_retention_days: u32,
}

impl AwsBackendSettings<'_> {
    /// The adapter's settings for a portal promoting through `environments`.
    pub fn read(self, environments: Environments) -> Result<AwsSettings, SettingError> {
        Ok(AwsSettings {
            ssm_prefix: countersign_aws::ssm_prefix(self.ssm_prefix)
                .map_err(|why| SettingError::new("ssm_prefix", why))?,
            environments,
            identities: match self.identity_map {
                None => IdentityMap::default(),
                Some(path) => identity_map(path)?,
            },
            secrets_kms_key_id: given(self.session_kms_key_id).map(str::to_owned),
            table: dynamodb_table(self.dynamodb_table)?,
            create_table: self.dynamodb_create_table,
            outbox_retention: match self.outbox_retention_days {
                0 => {
                    return Err(SettingError::new(
                        "outbox_retention_days",
                        "is 0; messages must be kept at least a day (the default is 400)",
                    ))
                }
                days => time::Duration::days(days.into()),
            },
            audit_bucket: audit_bucket(self.audit_bucket, self.audit_retention_days)?,
        })
    }
}

/// The audit bucket: an S3 bucket name (3 to 63 lower-case letters, digits, `.` and `-`),
/// and its retention, at least a day.
fn audit_bucket(
    name: Option<&str>,
    retention_days: u32,
) -> Result<Option<AuditBucket>, SettingError> {
    let Some(name) = given(name) else {
        return Ok(None);
    };
    let valid = (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-".contains(c))
        && !name.starts_with(['.', '-'])
        && !name.ends_with(['.', '-']);
    if !valid {
        return Err(SettingError::new(
            "audit_bucket",
            format!(
                "is {name:?}; an S3 bucket name is 3 to 63 lower-case letters, digits, . and -"
            ),
        ));
    }
    if retention_days == 0 {
        return Err(SettingError::new(
            "audit_retention_days",
            "is 0; a checkpoint must be locked at least a day (the default is 2555, seven years)",
        ));
    }
    Ok(Some(AuditBucket {
        name: name.to_owned(),
        retention: time::Duration::days(retention_days.into()),
    }))
}

/// A DynamoDB table name: 3 to 255 letters, digits, `_ - .`.
fn dynamodb_table(name: &str) -> Result<String, SettingError> {
    let name = name.trim();
    let valid = (3..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if !valid {
        return Err(SettingError::new(
            "dynamodb_table",
            format!("is {name:?}; a DynamoDB table name is 3 to 255 letters, digits, _ - ."),
        ));
    }
    Ok(name.to_owned())
}

/// Reads the identity map: a TOML table whose keys are IAM or Studio identities and whose
/// values are one person's identifier or a list of them.
fn identity_map(path: &Path) -> Result<IdentityMap, SettingError> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum People {
        One(String),
        Many(Vec<String>),
    }
    let wrong = |why: String| {
        SettingError::new(
            "identity_map",
            format!("names {}: {why}; write one line per identity, e.g. \"arn:aws:iam::111122223333:role/churn-training\" = [\"dana@example.com\"]", path.display()),
        )
    };
    let text = std::fs::read_to_string(path).map_err(|e| wrong(e.to_string()))?;
    let entries: BTreeMap<String, People> =
        toml::from_str(&text).map_err(|e| wrong(e.to_string()))?;
    Ok(IdentityMap::new(entries.into_iter().map(
        |(identity, people)| {
            let people = match people {
                People::One(one) => vec![one],
                People::Many(many) => many,
            };
            (identity, people)
        },
    )))
}
