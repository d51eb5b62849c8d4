//! The documents adapters store and the API serves, defined once so the bytes agree.
//!
//! The deployment document is the JSON pipelines read to find the model live in an
//! environment: the SSM parameter's value and the resolve API's answer. The report document
//! is an inference report as stored (an SSM parameter, a SQLite column) and as the reports
//! API answers.

use crate::environment::Environment;
use crate::model::{Deployment, GroupName, Metrics, Person, VersionNumber};
use crate::report::{InferenceReport, ReportDraft, RunId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentDocument {
    pub model_package_group: String,
    pub model_package_version: u32,
    pub model_package_arn: String,
    pub environment: String,
    pub image_uri: String,
    pub model_data_url: String,
    pub approved_by: Person,
    #[serde(with = "time::serde::rfc3339")]
    pub approved_at: OffsetDateTime,
    pub decision_id: String,
}

impl From<&Deployment> for DeploymentDocument {
    fn from(d: &Deployment) -> Self {
        Self {
            model_package_group: d.group.to_string(),
            model_package_version: d.version.get(),
            model_package_arn: d.arn.clone(),
            environment: d.environment.to_string(),
            image_uri: d.image_uri.clone(),
            model_data_url: d.model_data_url.clone(),
            approved_by: d.approved_by.clone(),
            approved_at: d.approved_at,
            decision_id: d.decision_id.clone(),
        }
    }
}

impl TryFrom<DeploymentDocument> for Deployment {
    type Error = String;

    fn try_from(d: DeploymentDocument) -> Result<Self, Self::Error> {
        Ok(Deployment {
            group: GroupName::parse(&d.model_package_group).map_err(|e| e.to_string())?,
            version: VersionNumber::new(d.model_package_version).map_err(|e| e.to_string())?,
            arn: d.model_package_arn,
            environment: Environment::parse(&d.environment).map_err(|e| e.to_string())?,
            image_uri: d.image_uri,
            model_data_url: d.model_data_url,
            approved_by: d.approved_by,
            approved_at: d.approved_at,
            decision_id: d.decision_id,
        })
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportDocument {
    pub model_package_group: String,
    pub model_package_version: u32,
    pub environment: String,
    pub run_id: String,
    pub metrics: Metrics,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
    pub sample_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts_url: Option<String>,
    pub reported_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub reported_at: OffsetDateTime,
}

impl From<&InferenceReport> for ReportDocument {
    fn from(r: &InferenceReport) -> Self {
        Self {
            model_package_group: r.group.to_string(),
            model_package_version: r.version.get(),
            environment: r.environment.to_string(),
            run_id: r.run_id.to_string(),
            metrics: r.metrics.clone(),
            started_at: r.started_at,
            finished_at: r.finished_at,
            sample_count: r.sample_count,
            artifacts_url: r.artifacts_url.clone(),
            reported_by: r.reported_by.clone(),
            reported_at: r.reported_at,
        }
    }
}

impl TryFrom<ReportDocument> for InferenceReport {
    type Error = String;

    /// Validates again: what was stored is read back only if it is still a valid report.
    fn try_from(d: ReportDocument) -> Result<Self, Self::Error> {
        ReportDraft {
            group: GroupName::parse(&d.model_package_group).map_err(|e| e.to_string())?,
            version: VersionNumber::new(d.model_package_version).map_err(|e| e.to_string())?,
            environment: Environment::parse(&d.environment).map_err(|e| e.to_string())?,
            run_id: RunId::parse(&d.run_id).map_err(|e| e.to_string())?,
            metrics: d.metrics,
            started_at: d.started_at,
            finished_at: d.finished_at,
            sample_count: d.sample_count,
            artifacts_url: d.artifacts_url.as_deref(),
            reported_by: &d.reported_by,
            reported_at: d.reported_at,
        }
        .validate()
        .map_err(|e| e.to_string())
    }
}

impl InferenceReport {
    /// The report as its stored document's JSON text.
    pub fn to_document_json(&self) -> String {
        serde_json::to_string(&ReportDocument::from(self)).expect("a report serializes")
    }

    /// A report from a stored document's JSON text, validated again.
    pub fn from_document_json(text: &str) -> Result<Self, String> {
        serde_json::from_str::<ReportDocument>(text)
            .map_err(|e| e.to_string())
            .and_then(Self::try_from)
    }
}

#[cfg(test)]
mod tests;
