//! Inference reports in the same SQLite file: one row per run (group, version, environment,
//! run id), holding the report document the AWS backend stores as a parameter.

use crate::{all_rows, unavailable, CachedStatements, LocalStore};
use async_trait::async_trait;
use countersign_domain::ports::*;
use countersign_domain::*;
use rusqlite::{params, OptionalExtension};

fn parse_document(text: &str) -> Result<InferenceReport, PortError> {
    InferenceReport::from_document_json(text)
        .map_err(|e| PortError::Corrupt(format!("stored report: {e}")))
}

#[async_trait]
impl ReportStore for LocalStore {
    async fn add_report(&self, report: &InferenceReport) -> Result<ReportStored, PortError> {
        let report = report.clone();
        self.with(move |connection| {
            let key = params![
                report.group.as_str(),
                report.version.get(),
                report.environment.as_str(),
                report.run_id.as_str(),
            ];
            let added = connection
                .execute_cached(
                    "INSERT INTO reports (group_name, version, environment, run_id, document)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                    params![
                        report.group.as_str(),
                        report.version.get(),
                        report.environment.as_str(),
                        report.run_id.as_str(),
                        report.to_document_json(),
                    ],
                )
                .map_err(unavailable)?
                == 1;
            if added {
                return Ok(ReportStored::Added);
            }
            let earlier: Option<String> = connection
                .query_row_cached(
                    "SELECT document FROM reports
                     WHERE group_name = ?1 AND version = ?2 AND environment = ?3 AND run_id = ?4",
                    key,
                    |row| row.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            let earlier = earlier.ok_or_else(|| {
                PortError::Unavailable("a report row vanished while it was read".into())
            })?;
            Ok(ReportStored::AlreadyStored(Box::new(parse_document(
                &earlier,
            )?)))
        })
        .await
    }

    async fn reports_for_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<InferenceReport>, PortError> {
        let group = group.clone();
        self.with(move |connection| {
            let documents = all_rows(
                connection,
                "SELECT document FROM reports WHERE group_name = ?1 AND version = ?2
                 ORDER BY seq",
                params![group.as_str(), version.get()],
                |row| row.get::<_, String>(0),
            )?;
            documents.iter().map(|d| parse_document(d)).collect()
        })
        .await
    }
}
