//! The AWS backend: the SageMaker Model Registry is the registry, SSM Parameter Store holds
//! what is live in each environment (what pipelines read), and one DynamoDB table holds
//! everything else the portal writes.
//!
//! - `registry.rs`: model package groups and versions (`ModelRegistry`).
//! - `metadata.rs`: the custom metadata we keep on a model package, and how we read others'.
//! - `parameters.rs`: the live parameter per environment and the shared secrets, in SSM
//!   (`ParameterStore`).
//! - `table.rs`: the DynamoDB table, its keys, and the decision log's transaction with one
//!   guard per environment.
//! - `log.rs`: the decision log's entries, signed by the portal (`AuditLog`).
//! - `commit.rs`: applying a decision across the three services (`DecisionCommitter`).
//! - `outbox.rs`, `reports.rs`, `revocations.rs`: the notification outbox, inference
//!   reports and session revocations, in the table.
//! - `trail.rs`: the audit trail (`AuditTrail`) in the table and its checkpoints
//!   (`CheckpointPublisher`), also published apart: `bucket.rs` (S3 Object Lock) or SSM.
//! - `migrate.rs`: moving what an earlier portal kept in SSM into the table.
//! - `calls.rs`: every AWS request goes through one function that counts it and turns its
//!   failure into a `PortError` naming the IAM action.
//!
//! Where each piece of state lives, and why a decision is never half-applied, is in
//! ARCHITECTURE.md ("The AWS backend").

mod attempts;
mod bucket;
mod calls;
mod commit;
pub mod installation;
mod log;
pub mod metadata;
mod migrate;
mod outbox;
mod parameters;
mod registry;
mod reports;
mod revocations;
mod sign_ins;
pub mod table;
mod trail;

pub use calls::CallCounts;
pub use migrate::{Migration, Moved};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use countersign_domain::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Where Countersign keeps its state on AWS.
#[derive(Clone, Debug)]
pub struct AwsSettings {
    /// The SSM path every parameter lives under, e.g. `/countersign`.
    pub ssm_prefix: String,
    pub environments: Environments,
    /// Who the identities that create model versions in SageMaker are.
    pub identities: metadata::IdentityMap,
    /// The KMS key (id, ARN or alias) the shared secrets are encrypted under; `None`: the
    /// account's default `aws/ssm` key.
    pub secrets_kms_key_id: Option<String>,
    /// The DynamoDB table for the log, reports, outbox and revocations.
    pub table: String,
    /// Whether start-up may create the table when it is missing (tests, laptops against
    /// moto); never in production, where infrastructure as code creates it.
    pub create_table: bool,
    /// How long a sent or abandoned message stays in the outbox before DynamoDB's TTL
    /// removes it.
    pub outbox_retention: time::Duration,
    /// Where audit checkpoints are kept under S3 Object Lock; `None`: as versions of an SSM
    /// parameter.
    pub audit_bucket: Option<AuditBucket>,
}

/// An S3 bucket with Object Lock enabled, and how long each checkpoint put there is locked
/// in compliance mode (nobody, the account's root included, can delete or overwrite it
/// before then).
#[derive(Clone, Debug)]
pub struct AuditBucket {
    pub name: String,
    pub retention: time::Duration,
}

pub struct AwsBackend {
    sagemaker: aws_sdk_sagemaker::Client,
    ssm: aws_sdk_ssm::Client,
    table: table::Table,
    settings: AwsSettings,
    calls: Arc<calls::CallCounter>,
    /// Model package group ARNs by name. A group's ARN never changes, and a version's ARN
    /// is derived from it, so one lookup per group serves every later read.
    group_arns: Mutex<HashMap<GroupName, String>>,
    /// The key decision log entries are authenticated with (`{prefix}/_settings/log_key`),
    /// read once, when first needed.
    log_key: tokio::sync::OnceCell<log::LogKey>,
    /// One lock per group's audit trail: this replica's appends to a trail wait their turn
    /// instead of racing each other for its head (other replicas' still may).
    audit_locks: trail::Locks,
    /// The S3 client for the audit bucket, when one is configured.
    s3: Option<aws_sdk_s3::Client>,
    /// Who this backend's credentials are; `None` when built from clients configured apart.
    sts: Option<aws_sdk_sts::Client>,
    /// Whether this process created the decision log key (a first start).
    pub(crate) log_key_created: std::sync::atomic::AtomicBool,
}

/// SDK configuration from the standard AWS chain (environment, profile, container or
/// instance role; `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_SAGEMAKER`/`_SSM`/`_DYNAMODB` point it at an
/// emulator), with throttling retried: up to 5 attempts, exponential backoff with jitter.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry_config())
        .load()
        .await
}

pub fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(5)
}

/// The SSM path Countersign's parameters live under, as written (a trailing `/` dropped):
/// segments of letters, digits, `_ . -`, not under SSM's reserved `/aws` or `/ssm`.
pub fn ssm_prefix(text: &str) -> Result<String, String> {
    let prefix = text.trim_end_matches('/').to_owned();
    let segments_ok = prefix.starts_with('/')
        && prefix[1..].split('/').all(|segment| {
            !segment.is_empty()
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        });
    let reserved = ["/aws", "/ssm"]
        .iter()
        .any(|p| prefix.to_ascii_lowercase().starts_with(p));
    if !segments_ok || reserved {
        return Err(format!(
            "is {text:?}; use an SSM path such as /countersign: segments of letters, digits, _ . -, not starting with /aws or /ssm"
        ));
    }
    Ok(prefix)
}

impl AwsBackend {
    pub fn new(config: &SdkConfig, settings: AwsSettings) -> Self {
        let s3 = settings.audit_bucket.as_ref().map(|_| {
            // An emulator at an address answers paths, not bucket host names.
            let emulated = config.endpoint_url().is_some()
                || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
            let s3 = aws_sdk_s3::config::Builder::from(config).force_path_style(emulated);
            aws_sdk_s3::Client::from_conf(s3.build())
        });
        Self {
            s3,
            sts: Some(aws_sdk_sts::Client::new(config)),
            ..Self::from_clients(
                aws_sdk_sagemaker::Client::new(config),
                aws_sdk_ssm::Client::new(config),
                aws_sdk_dynamodb::Client::new(config),
                settings,
            )
        }
    }

    /// From clients configured apart, e.g. each service at its own endpoint.
    pub fn from_clients(
        sagemaker: aws_sdk_sagemaker::Client,
        ssm: aws_sdk_ssm::Client,
        dynamodb: aws_sdk_dynamodb::Client,
        settings: AwsSettings,
    ) -> Self {
        let prefix = settings.ssm_prefix.trim_end_matches('/').to_owned();
        let calls = Arc::new(calls::CallCounter::default());
        Self {
            sagemaker,
            ssm,
            table: table::Table::counted(dynamodb, settings.table.clone(), calls.clone()),
            settings: AwsSettings {
                ssm_prefix: prefix,
                ..settings
            },
            calls,
            group_arns: Mutex::new(HashMap::new()),
            log_key: tokio::sync::OnceCell::new(),
            audit_locks: trail::Locks::default(),
            s3: None,
            sts: None,
            log_key_created: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The ARN of the identity this backend's credentials are (`sts:GetCallerIdentity`).
    pub async fn caller_arn(&self) -> Result<String, countersign_domain::ports::PortError> {
        let Some(sts) = &self.sts else {
            return Err(countersign_domain::ports::PortError::Unavailable(
                "no STS client".into(),
            ));
        };
        let identity = self
            .calls
            .call("sts:GetCallerIdentity", sts.get_caller_identity().send())
            .await
            .map_err(calls::port)?;
        Ok(identity.arn().unwrap_or("unknown").to_owned())
    }

    /// Whether this process created the decision log key: a first start, which the
    /// portal's own trail keeps.
    pub fn created_the_log_key(&self) -> bool {
        self.log_key_created
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many requests of each kind this backend has made so far.
    pub fn calls(&self) -> CallCounts {
        self.calls.snapshot()
    }

    fn environments(&self) -> &Environments {
        &self.settings.environments
    }
}
