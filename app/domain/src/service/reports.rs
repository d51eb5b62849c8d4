//! A pipeline's report of a batch run, and the promotion request it may bring.

use super::*;

/// What became of a submitted report.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportReceipt {
    /// The report as stored (the earlier copy when the run was reported before).
    pub report: InferenceReport,
    /// False when the run had been reported before.
    pub created: bool,
    /// The environment whose approvers were asked to promote the version.
    pub promotion_requested: Option<Environment>,
}

impl Services {
    /// Stores a pipeline's report of a run and asks the next environment's approvers to
    /// promote the version, once however many runs report. A report of a run already
    /// stored changes nothing (and asks again, which the request's key makes a no-op, so a
    /// request lost to a crash after storing is sent on the retry).
    pub async fn submit_report(
        &self,
        report: InferenceReport,
    ) -> Result<ReportReceipt, ServiceError> {
        let version = self.find_version(&report.group, report.version).await?;
        report::check_report(&version, &report)?;
        let (stored, created) = match self.ports.reports.add_report(&report).await? {
            ReportStored::Added => (report, true),
            ReportStored::AlreadyStored(earlier) if earlier.same_run_as(&report) => {
                (*earlier, false)
            }
            ReportStored::AlreadyStored(_) => {
                return Err(ReportRefusal::RunIdTaken {
                    version: report.version,
                    environment: report.environment,
                    run_id: report.run_id,
                }
                .into())
            }
        };
        // Recorded on a retry too: its key makes it once, and a retry mends a gap.
        let received = AuditEvent::ReportReceived(Box::new(stored.clone()));
        self.record(&stored.group, &stored.reported_by, received)
            .await?;
        let promotion = report::promotion_target(&self.policy, &version, &stored).cloned();
        if let Some(target) = &promotion {
            let requested = AuditEvent::PromotionRequested {
                version: version.version,
                environment: target.clone(),
            };
            self.record(&version.group, PORTAL_ACTOR, requested).await?;
            let live = self
                .live_comparison(&version.group, target, &stored)
                .await?;
            self.notices
                .notice(Notice::PromotionRequested {
                    version,
                    target: target.clone(),
                    report: Box::new(stored.clone()),
                    live: live.map(Box::new),
                })
                .await;
        }
        Ok(ReportReceipt {
            report: stored,
            created,
            promotion_requested: promotion,
        })
    }

    /// What is live in `target` now, with its newest report there (or else from the
    /// candidate's environment), for the promotion request.
    pub(super) async fn live_comparison(
        &self,
        group: &GroupName,
        target: &Environment,
        candidate: &InferenceReport,
    ) -> Result<Option<LiveComparison>, ServiceError> {
        let Some(deployment) = self.ports.parameters.live(group, target).await? else {
            return Ok(None);
        };
        let reports = self
            .ports
            .reports
            .reports_for_version(group, deployment.version)
            .await?;
        let report = report::newest_report(&reports, target, &candidate.environment).cloned();
        Ok(Some(LiveComparison { deployment, report }))
    }

    pub async fn reports_for_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<InferenceReport>, ServiceError> {
        Ok(self
            .ports
            .reports
            .reports_for_version(group, version)
            .await?)
    }
}
