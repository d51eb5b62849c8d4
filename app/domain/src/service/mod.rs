//! The application service: each use case loads through the ports, asks the workflow
//! rules, and stores the result. Inbound adapters (server functions, the pipeline API, the
//! CLI) call these and nothing below them.
//!
//! [`Services`] is one value; its use cases are kept by what they are for: `registration`
//! (a version arrives), `decisions` (prepare, sign, record attempts), `reports` (a batch
//! run's report), `reviews` (what each page shows, read as one use case), `waiting` (steps across groups: the inbox, follow-ups), `versions`
//! (reading versions, what is live, history, resolve) and `notifications` (the outbox as
//! people see it).

use crate::audit::{AuditEvent, AuditRecord, PORTAL_ACTOR};
use crate::environment::Environment;
use crate::history::{Drift, GroupHistory};
use crate::model::*;
use crate::notification::{self, LiveComparison, Notice};
use crate::policy::{Actor, Policy};
use crate::ports::*;
use crate::report::{self, InferenceReport, ReportRefusal};
use crate::signature::{AttemptOutcome, Authentication, PendingSignature, Signing, SigningAttempt};
use crate::workflow::{self, DecisionEffect, Refusal};
use futures::stream::{self, StreamExt, TryStreamExt};
use std::collections::BTreeMap;
use std::sync::Arc;

mod access;
mod decisions;
mod kept_keys;
mod notifications;
mod registration;
mod reports;
mod reviews;
mod signatures;
mod system_trail;
mod versions;
mod waiting;
mod waiting_cache;
mod waiting_index;
mod waiting_snapshot;

pub use crate::signature::SigningRequest;
pub use access::{AccessReview, EnvironmentAccess, SignerActivity};
pub use decisions::{Prepared, Signed, SignedOutcome};
pub use notifications::{FollowUpsQueued, NotificationRefusal, Notifications};
pub use reports::ReportReceipt;
pub use reviews::{GroupVersions, InboxRow, RegisteredVersion, Review, WaitingBeside};
pub use signatures::Binding;
pub use versions::{LiveState, LiveVersion, VersionRecord};
pub use waiting::{WaitingStep, CONCURRENT_READS};
use waiting_cache::{Generation, Kept, WaitingCache};
pub use waiting_cache::{WAITING_FRESH_FOR, WAITING_READ_AGAIN_AFTER};
pub use waiting_snapshot::WaitingSnapshot;

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
    NotificationRefused(#[from] NotificationRefusal),
    #[error(transparent)]
    Port(#[from] PortError),
    /// What is live is not what the portal's own signed record deployed there.
    #[error("{}", .0.explain())]
    Drift(Box<Drift>),
}

/// A backend whose one value implements every port the use cases need.
pub trait Backend:
    ModelRegistry + ParameterStore + AuditLog + DecisionCommitter + ReportStore + AuditTrail + 'static
{
}

impl<B> Backend for B where
    B: ModelRegistry
        + ParameterStore
        + AuditLog
        + DecisionCommitter
        + ReportStore
        + AuditTrail
        + 'static
{
}

/// The ports one backend provides (a value of each; the embedded store is all of them).
/// Adapters and the composition root see these; inbound code sees [`Services`] only.
#[derive(Clone)]
pub struct Ports {
    pub registry: Arc<dyn ModelRegistry>,
    pub parameters: Arc<dyn ParameterStore>,
    pub audit: Arc<dyn AuditLog>,
    pub committer: Arc<dyn DecisionCommitter>,
    pub reports: Arc<dyn ReportStore>,
    pub trail: Arc<dyn AuditTrail>,
}

impl Ports {
    /// Every port from a backend whose one value implements them all.
    pub fn of<B>(backend: Arc<B>) -> Self
    where
        B: Backend,
    {
        Self {
            registry: backend.clone(),
            parameters: backend.clone(),
            audit: backend.clone(),
            reports: backend.clone(),
            trail: backend.clone(),
            committer: backend,
        }
    }
}

/// The use cases, over the ports and the policy; shared by every request. Its ports are
/// its own: pages, the API, the CLI and the demo data go through a use case.
#[derive(Clone)]
pub struct Services {
    policy: Arc<Policy>,
    ports: Ports,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    notices: Arc<dyn NoticeSink>,
    waiting: Arc<WaitingCache>,
    kept: Arc<kept_keys::KeptKeys>,
}

impl Services {
    /// The use cases over `ports`, on the system clock, telling nobody until
    /// [`Services::with_notices`].
    pub fn new(ports: Ports, policy: Policy, ids: Arc<dyn IdGenerator>) -> Self {
        Self {
            policy: Arc::new(policy),
            ports,
            clock: Arc::new(SystemClock),
            ids,
            notices: Arc::new(NoNotices),
            waiting: Arc::default(),
            kept: Arc::default(),
        }
    }

    /// The services of a backend whose one value implements every port.
    pub fn over<B>(backend: Arc<B>, policy: Policy, ids: Arc<dyn IdGenerator>) -> Self
    where
        B: Backend,
    {
        Self::new(Ports::of(backend), policy, ids)
    }

    /// Where notices (approval requests, decisions, promotion requests) go.
    pub fn with_notices(self, notices: Arc<dyn NoticeSink>) -> Self {
        Self { notices, ..self }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    pub fn environment(&self, name: &str) -> Result<Environment, ServiceError> {
        self.policy
            .environments()
            .find(name)
            .cloned()
            .ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "there is no such environment here; the environments are {}",
                    self.policy.environments()
                ))
            })
    }

    /// A new decision's id and time.
    fn stamp(&self) -> Stamp {
        Stamp {
            id: self.ids.new_id(),
            at: self.clock.now(),
        }
    }
}

fn no_such_version(group: &GroupName, version: VersionNumber) -> ServiceError {
    ServiceError::NotFound(format!("model group {group} has no version {version}"))
}
