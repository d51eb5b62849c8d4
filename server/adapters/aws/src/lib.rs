//! The AWS backend: the SageMaker Model Registry is the registry, SSM Parameter Store holds
//! what is live in each environment and the decision log.
//!
//! - `registry.rs`: model package groups and versions (`ModelRegistry`).
//! - `metadata.rs`: the custom metadata we keep on a model package, and how we read others'.
//! - `parameters.rs`: the live parameter per environment and the decision log, both in SSM
//!   (`ParameterStore`, `AuditLog`).
//! - `commit.rs`: applying a decision across both services (`DecisionCommitter`).
//! - `calls.rs`: every AWS request goes through one function that counts it and turns its
//!   failure into a `PortError` naming the IAM action.
//! - `table.rs`: the DynamoDB table the decision log moves to (issue 14), with one guard
//!   per environment taken in the same transaction; built and tested, not yet used.
//!
//! Where each piece of state lives, and why a decision is never half-applied, is in
//! ARCHITECTURE.md ("The AWS backend").

mod calls;
mod commit;
pub mod metadata;
mod outbox;
mod parameters;
mod registry;
mod reports;
mod revocations;
pub mod table;

pub use calls::CallCounts;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use countersign_domain::*;
use std::collections::HashMap;
use std::sync::Mutex;

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
}

pub struct AwsBackend {
    sagemaker: aws_sdk_sagemaker::Client,
    ssm: aws_sdk_ssm::Client,
    settings: AwsSettings,
    calls: calls::CallCounter,
    /// Model package group ARNs by name. A group's ARN never changes, and a version's ARN
    /// is derived from it, so one lookup per group serves every later read.
    group_arns: Mutex<HashMap<GroupName, String>>,
    /// The key decision log entries are authenticated with (`{prefix}/_settings/log_key`),
    /// read once, when first needed.
    log_key: tokio::sync::OnceCell<parameters::LogKey>,
}

/// SDK configuration from the standard AWS chain (environment, profile, container or
/// instance role; `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_SAGEMAKER`/`_SSM` point it at an
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
        Self::from_clients(
            aws_sdk_sagemaker::Client::new(config),
            aws_sdk_ssm::Client::new(config),
            settings,
        )
    }

    /// From clients configured apart, e.g. each service at its own endpoint.
    pub fn from_clients(
        sagemaker: aws_sdk_sagemaker::Client,
        ssm: aws_sdk_ssm::Client,
        settings: AwsSettings,
    ) -> Self {
        let prefix = settings.ssm_prefix.trim_end_matches('/').to_owned();
        Self {
            sagemaker,
            ssm,
            settings: AwsSettings {
                ssm_prefix: prefix,
                ..settings
            },
            calls: calls::CallCounter::default(),
            group_arns: Mutex::new(HashMap::new()),
            log_key: tokio::sync::OnceCell::new(),
        }
    }

    /// How many requests of each kind this backend has made so far.
    pub fn calls(&self) -> CallCounts {
        self.calls.snapshot()
    }

    fn environments(&self) -> &Environments {
        &self.settings.environments
    }
}
