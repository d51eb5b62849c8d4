//! The application service: each use case loads through the ports, asks the workflow
//! rules, and stores the result. Inbound adapters (server functions, the pipeline API, the
//! CLI) call these and nothing below them.

use crate::environment::Environment;
use crate::model::*;
use crate::notification::{self, Notice};
use crate::policy::{Actor, Policy};
use crate::ports::*;
use crate::workflow::{self, DecisionEffect, DecisionRequest, Refusal};
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
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGenerator>,
    pub notices: Arc<dyn NoticeSink>,
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
        B: ModelRegistry + ParameterStore + AuditLog + DecisionCommitter + 'static,
    {
        Self {
            policy: Arc::new(policy),
            registry: backend.clone(),
            parameters: backend.clone(),
            audit: backend.clone(),
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
        let found = self.registry.find_version(group, version).await?;
        let version = found.ok_or_else(|| {
            ServiceError::NotFound(format!("model group {group} has no version {version}"))
        })?;
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

    pub async fn version_record(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<VersionRecord, ServiceError> {
        let found = self.registry.find_version(group, version).await?;
        let version = found.ok_or_else(|| {
            ServiceError::NotFound(format!("model group {group} has no version {version}"))
        })?;
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
