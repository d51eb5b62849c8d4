//! Inference reports in the table: one item per run, `report#{version:010}#{environment}#{run
//! id}` in the group's partition, holding the report document. Writing it only where no item
//! is decides whether a report is new, so a report sent twice (or to two replicas at once)
//! is stored once.

use crate::table::{group_key, key, s, text};
use crate::AwsBackend;
use async_trait::async_trait;
use countersign_domain::ports::*;
use countersign_domain::*;

fn report_prefix(version: VersionNumber) -> String {
    format!("report#{:010}#", version.get())
}

fn report_key(report: &InferenceReport) -> crate::table::Item {
    key(
        group_key(&report.group),
        format!(
            "{}{}#{}",
            report_prefix(report.version),
            report.environment,
            report.run_id
        ),
    )
}

fn parse_report(item: &crate::table::Item) -> Result<InferenceReport, PortError> {
    InferenceReport::from_document_json(text(item, "report")?).map_err(|e| {
        PortError::Corrupt(format!(
            "report {:?}: {e}",
            item.get("sk").and_then(|v| v.as_s().ok())
        ))
    })
}

#[async_trait]
impl ReportStore for AwsBackend {
    async fn add_report(&self, report: &InferenceReport) -> Result<ReportStored, PortError> {
        let mut item = report_key(report);
        item.insert("report".into(), s(report.to_document_json()));
        if self.table.put_new(item).await? {
            return Ok(ReportStored::Added);
        }
        let earlier = self.table.item(report_key(report)).await?.ok_or_else(|| {
            PortError::Unavailable(format!(
                "the report of run {} exists and yet could not be read",
                report.run_id
            ))
        })?;
        parse_report(&earlier).map(|r| ReportStored::AlreadyStored(Box::new(r)))
    }

    async fn reports_for_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<InferenceReport>, PortError> {
        let items = self
            .table
            .items_under(&group_key(group), &report_prefix(version))
            .await?;
        let mut reports = items
            .iter()
            .map(parse_report)
            .collect::<Result<Vec<_>, _>>()?;
        // The table orders by key; the arrival time is in the document.
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
