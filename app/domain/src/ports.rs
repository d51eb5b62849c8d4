//! The ports: what the workflow needs from the outside world.
//!
//! Each adapter (the embedded SQLite store; the AWS SageMaker and SSM clients)
//! implements these traits. Every method's error contract is [`PortError`]: `Conflict` when
//! a concurrent change won, `Unavailable` when the backend could not be reached or failed
//! (retrying may help), `Corrupt` when stored data cannot be read back (it will not), `Rejected` when the backend
//! refuses the input itself, `Denied` when it refuses the portal's credentials.

use crate::environment::Environment;
use crate::model::*;
use crate::workflow::DecisionEffect;
use async_trait::async_trait;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    #[error("someone else changed this version at the same time; reload and decide again")]
    Conflict,
    #[error("the backend is unavailable: {0}")]
    Unavailable(String),
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    /// The backend refused what was sent as invalid (for example a value SageMaker's
    /// metadata cannot hold); sending it again will not help, changing it will.
    #[error("{0}")]
    Rejected(String),
    /// The backend refused the portal's own credentials; an operator must grant access.
    #[error("{0}")]
    Denied(String),
}

/// The model registry (SageMaker Model Registry, or its local equivalent).
#[async_trait]
pub trait ModelRegistry: Send + Sync {
    /// All model package groups, by name.
    async fn list_groups(&self) -> Result<Vec<GroupSummary>, PortError>;

    /// Versions of one group, newest first. An unknown group has no versions.
    async fn list_versions(
        &self,
        group: &GroupName,
        page: PageRequest,
    ) -> Result<Page<ModelVersion>, PortError>;

    async fn find_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Option<ModelVersion>, PortError>;

    /// Stores a new version, creating its group when needed, and returns it with the number
    /// and ARN the registry assigned.
    async fn register(&self, new: NewVersion) -> Result<ModelVersion, PortError>;
}

/// Where pipelines find the model live in each environment (SSM Parameter Store).
#[async_trait]
pub trait ParameterStore: Send + Sync {
    async fn live(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<Option<Deployment>, PortError>;

    /// Every deployment of the environment, newest first.
    async fn history(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<Vec<Deployment>, PortError>;
}

/// The decision log: every human decision, never forgotten.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Decisions on one version, oldest first.
    async fn decisions_for_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<DecisionRecord>, PortError>;

    /// Every decision on every version of a group, oldest first.
    async fn decisions_for_group(
        &self,
        group: &GroupName,
    ) -> Result<Vec<DecisionRecord>, PortError>;
}

/// Applies a decision's whole effect (registry state, parameter, log record) as one unit:
/// all of it or none of it. Returns `Conflict`, changing nothing, when the version's revision
/// is no longer the one the decision was computed against.
#[async_trait]
pub trait DecisionCommitter: Send + Sync {
    async fn commit(&self, effect: &DecisionEffect) -> Result<(), PortError>;
}

/// The time, so that the core and the tests need no real clock.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A source of unique decision ids.
pub trait IdGenerator: Send + Sync {
    fn new_id(&self) -> String;
}
