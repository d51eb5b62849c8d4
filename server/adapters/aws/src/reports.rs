//! Inference reports in SSM: `{prefix}/{group}/_reports/{version}/{environment}/{run id}`,
//! one create-only parameter per run holding the report document. Creating it decides
//! whether a report is new, so a report sent twice (or to two replicas at once) is stored
//! once. Reports are at most 50 metrics, which fits a parameter's 8 KB.

use crate::AwsBackend;
use async_trait::async_trait;
use countersign_domain::ports::*;
use countersign_domain::*;

impl AwsBackend {
    fn reports_path(&self, group: &GroupName, version: VersionNumber) -> String {
        format!("{}/{group}/_reports/{version}", self.settings.ssm_prefix)
    }

    fn report_name(&self, report: &InferenceReport) -> String {
        format!(
            "{}/{}/{}",
            self.reports_path(&report.group, report.version),
            report.environment,
            report.run_id
        )
    }
}

fn parse_report(name: &str, text: &str) -> Result<InferenceReport, PortError> {
    InferenceReport::from_document_json(text)
        .map_err(|e| PortError::Corrupt(format!("report parameter {name}: {e}")))
}

#[async_trait]
impl ReportStore for AwsBackend {
    async fn add_report(&self, report: &InferenceReport) -> Result<ReportStored, PortError> {
        let name = self.report_name(report);
        if self.create(&name, &report.to_document_json()).await? {
            return Ok(ReportStored::Added);
        }
        let earlier = self.read_parameter(&name, false).await?.ok_or_else(|| {
            PortError::Unavailable(format!("{name} exists and yet could not be read"))
        })?;
        parse_report(&name, &earlier).map(|r| ReportStored::AlreadyStored(Box::new(r)))
    }

    async fn reports_for_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<InferenceReport>, PortError> {
        let parameters = self
            .parameters_under(&self.reports_path(group, version), true)
            .await?;
        let mut reports = parameters
            .into_iter()
            .map(|p| {
                let name = p.name.unwrap_or_default();
                parse_report(&name, p.value.as_deref().unwrap_or_default())
            })
            .collect::<Result<Vec<_>, _>>()?;
        // SSM lists by name; the arrival time is in the document.
        reports.sort_by(|a, b| {
            (a.reported_at, &a.environment, &a.run_id).cmp(&(
                b.reported_at,
                &b.environment,
                &b.run_id,
            ))
        });
        Ok(reports)
    }
}
