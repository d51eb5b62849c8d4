//! The application service: each use case loads through the ports, asks the workflow
//! rules, and stores the result. Inbound adapters (server functions, the pipeline API, the
//! CLI) call these and nothing below them.

use crate::environment::Environment;
use crate::history::{Drift, GroupHistory};
use crate::model::*;
use crate::notification::{self, LiveComparison, Notice};
use crate::policy::{Actor, Policy};
use crate::ports::*;
use crate::report::{self, InferenceReport, ReportRefusal};
use crate::workflow::{self, DecisionEffect, DecisionRequest, Refusal};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    ReportRefused(#[from] ReportRefusal),
    #[error(transparent)]
    Port(#[from] PortError),
}

/// The ports and the policy, shared by every request.
#[derive(Clone)]
pub struct Services {
    pub policy: Arc<Policy>,
    pub registry: Arc<dyn ModelRegistry>,
    pub parameters: Arc<dyn ParameterStore>,
    pub audit: Arc<dyn AuditLog>,
    pub committer: Arc<dyn DecisionCommitter>,
    pub reports: Arc<dyn ReportStore>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGenerator>,
    pub notices: Arc<dyn NoticeSink>,
}

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

/// What is live in a group's environments.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveState {
    pub versions: BTreeMap<Environment, VersionNumber>,
    /// Environments whose live value the log does not explain.
    pub drift: Vec<Drift>,
}

/// A version together with its decision log.
#[derive(Clone, Debug, PartialEq)]
pub struct VersionRecord {
    pub version: ModelVersion,
    pub decisions: Vec<DecisionRecord>,
}

impl Services {
    /// The services of a backend whose one value implements every port, on the system
    /// clock.
    pub fn over<B>(backend: Arc<B>, policy: Policy, ids: Arc<dyn IdGenerator>) -> Self
    where
        B: ModelRegistry + ParameterStore + AuditLog + DecisionCommitter + ReportStore + 'static,
    {
        Self {
            policy: Arc::new(policy),
            registry: backend.clone(),
            parameters: backend.clone(),
            audit: backend.clone(),
            reports: backend.clone(),
            committer: backend,
            clock: Arc::new(SystemClock),
            ids,
            notices: Arc::new(NoNotices),
        }
    }

    pub fn environment(&self, name: &str) -> Result<Environment, ServiceError> {
        self.policy
            .environments()
            .find(name)
            .cloned()
            .ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "{name:?} is not an environment here; the environments are {}",
                    self.policy.environments()
                ))
            })
    }

    /// Registers a version and asks its first approvers to review it.
    pub async fn register(&self, registration: Registration) -> Result<ModelVersion, ServiceError> {
        let new = workflow::register(&self.policy, registration, self.clock.now());
        let version = self.registry.register(new).await?;
        self.ask_for_approval_if_due(&version).await;
        Ok(version)
    }

    /// Sends the version's approval request if it needs one now. Safe to call any number of
    /// times: the request's key makes it one message.
    pub async fn ask_for_approval_if_due(&self, version: &ModelVersion) -> bool {
        match notification::approval_request_due(&self.policy, version) {
            Some(notice) => {
                self.notices.notice(notice).await;
                true
            }
            None => false,
        }
    }

    /// Re-reads a version (never trusting what an event said about it) and sends its
    /// approval request if it needs one. `Ok(false)` when none is due.
    pub async fn version_changed(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<bool, ServiceError> {
        let version = self.find_version(group, version).await?;
        Ok(self.ask_for_approval_if_due(&version).await)
    }

    /// The reconciliation scan: every undecided version gets its approval request, so a lost
    /// event delays a request but never loses it. Returns how many versions were checked.
    pub async fn reconcile(&self) -> Result<usize, ServiceError> {
        let undecided = self.registry.undecided_versions().await?;
        for version in &undecided {
            self.ask_for_approval_if_due(version).await;
        }
        Ok(undecided.len())
    }

    /// One version, or `NotFound` naming it.
    pub async fn find_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<ModelVersion, ServiceError> {
        let found = self.registry.find_version(group, version).await?;
        found.ok_or_else(|| {
            ServiceError::NotFound(format!("model group {group} has no version {version}"))
        })
    }

    pub async fn version_record(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<VersionRecord, ServiceError> {
        let version = self.find_version(group, version).await?;
        let decisions = self
            .audit
            .decisions_for_version(&version.group, version.version)
            .await?;
        Ok(VersionRecord { version, decisions })
    }

    /// Takes a decision: refused with the reason, or applied as a whole.
    pub async fn decide(
        &self,
        actor: &Actor,
        group: &GroupName,
        version: VersionNumber,
        request: &DecisionRequest,
    ) -> Result<DecisionEffect, ServiceError> {
        let record = self.version_record(group, version).await?;
        let effect = workflow::decide(
            &self.policy,
            &record.version,
            &record.decisions,
            actor,
            request,
            self.ids.new_id(),
            self.clock.now(),
        )?;
        self.committer.commit(&effect).await?;
        self.notices
            .notice(Notice::Decided {
                version: workflow::apply(&record.version, &effect),
                record: effect.record.clone(),
            })
            .await;
        Ok(effect)
    }

    /// Points `environment` back to `target`, an earlier version approved there (rule 9),
    /// and tells the registrant of the version it replaces.
    pub async fn rollback(
        &self,
        actor: &Actor,
        group: &GroupName,
        environment: &Environment,
        target: VersionNumber,
        reason: &str,
    ) -> Result<DecisionEffect, ServiceError> {
        let target = self.find_version(group, target).await?;
        let live = match self.parameters.live(group, environment).await? {
            Some(deployment) => Some((
                self.find_version(group, deployment.version).await?,
                deployment,
            )),
            None => None,
        };
        let effect = workflow::rollback(
            &self.policy,
            live.as_ref().map(|(version, deployment)| workflow::Live {
                version,
                deployment,
            }),
            &target,
            actor,
            environment,
            reason,
            self.ids.new_id(),
            self.clock.now(),
        )?;
        self.committer.commit(&effect).await?;
        if let Some((withdrawn, _)) = live {
            self.notices
                .notice(Notice::Decided {
                    version: workflow::apply(&withdrawn, &effect),
                    record: effect.record.clone(),
                })
                .await;
        }
        Ok(effect)
    }

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
        let (stored, created) = match self.reports.add_report(&report).await? {
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
        let promotion = report::promotion_target(&self.policy, &version, &stored).cloned();
        if let Some(target) = &promotion {
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
    async fn live_comparison(
        &self,
        group: &GroupName,
        target: &Environment,
        candidate: &InferenceReport,
    ) -> Result<Option<LiveComparison>, ServiceError> {
        let Some(deployment) = self.parameters.live(group, target).await? else {
            return Ok(None);
        };
        let reports = self
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
        Ok(self.reports.reports_for_version(group, version).await?)
    }

    /// What was live in each environment and when, and every decision, for one group.
    pub async fn group_history(&self, group: &GroupName) -> Result<GroupHistory, ServiceError> {
        let deployments = self.parameters.history(group).await?;
        let live = self.live_deployments(group).await?;
        let environments = self.policy.environments();
        Ok(GroupHistory {
            group: group.clone(),
            live: crate::history::live_periods(environments, &deployments),
            decisions: self.audit.decisions_for_group(group).await?,
            drift: crate::history::drift(environments, &live, &deployments),
        })
    }

    /// The version live in each environment that has one, and where that is not what the
    /// log last deployed.
    pub async fn live_state(&self, group: &GroupName) -> Result<LiveState, ServiceError> {
        let deployments = self.parameters.history(group).await?;
        let live = self.live_deployments(group).await?;
        Ok(LiveState {
            drift: crate::history::drift(self.policy.environments(), &live, &deployments),
            versions: live
                .into_iter()
                .map(|(env, deployment)| (env, deployment.version))
                .collect(),
        })
    }

    async fn live_deployments(
        &self,
        group: &GroupName,
    ) -> Result<BTreeMap<Environment, Deployment>, ServiceError> {
        let mut live = BTreeMap::new();
        for env in self.policy.environments().iter() {
            if let Some(deployment) = self.parameters.live(group, env).await? {
                live.insert(env.clone(), deployment);
            }
        }
        Ok(live)
    }

    /// The model live in an environment, as pipelines resolve it.
    pub async fn resolve(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<Deployment, ServiceError> {
        self.parameters
            .live(group, environment)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "no version of {group} is approved for {environment}"
                ))
            })
    }
}
