//! The read ports, counted: each call the use cases make through them, by port and method.
//! A page's cost in calls is then the same figure on every backend, and a check can hold it
//! to a number that does not grow with the rows it shows.

use super::*;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Calls made so far, by `port.method`.
#[derive(Default)]
pub struct Calls(Mutex<BTreeMap<&'static str, usize>>);

impl Calls {
    fn count(&self, call: &'static str) {
        *self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(call)
            .or_default() += 1;
    }

    /// Every call since the last `take`, by name; the count starts again.
    pub fn take(&self) -> BTreeMap<&'static str, usize> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// `ports` with the registry, parameter store, log and report store counting into `calls`;
/// the committer and trail as they are.
pub fn counted(ports: &Ports, calls: &Arc<Calls>) -> Ports {
    let counting = Arc::new(Counting {
        ports: ports.clone(),
        calls: calls.clone(),
    });
    Ports {
        registry: counting.clone(),
        parameters: counting.clone(),
        audit: counting.clone(),
        reports: counting,
        ..ports.clone()
    }
}

struct Counting {
    ports: Ports,
    calls: Arc<Calls>,
}

#[async_trait]
impl ModelRegistry for Counting {
    async fn list_groups(&self) -> Result<Vec<GroupSummary>, PortError> {
        self.calls.count("registry.list_groups");
        self.ports.registry.list_groups().await
    }

    async fn list_versions(
        &self,
        group: &GroupName,
        page: PageRequest,
    ) -> Result<Page<ModelVersion>, PortError> {
        self.calls.count("registry.list_versions");
        self.ports.registry.list_versions(group, page).await
    }

    async fn find_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Option<ModelVersion>, PortError> {
        self.calls.count("registry.find_version");
        self.ports.registry.find_version(group, version).await
    }

    async fn find_version_and_decisions(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Option<(ModelVersion, Option<Vec<DecisionRecord>>)>, PortError> {
        self.calls.count("registry.find_version_and_decisions");
        self.ports
            .registry
            .find_version_and_decisions(group, version)
            .await
    }

    async fn register(&self, new: NewVersion) -> Result<ModelVersion, PortError> {
        self.calls.count("registry.register");
        self.ports.registry.register(new).await
    }

    async fn undecided_versions(
        &self,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<UndecidedPage, PortError> {
        self.calls.count("registry.undecided_versions");
        self.ports.registry.undecided_versions(cursor, limit).await
    }

    async fn keep_waiting(&self, row: &WaitingRow) -> Result<(), PortError> {
        self.calls.count("registry.keep_waiting");
        self.ports.registry.keep_waiting(row).await
    }

    async fn kept_waiting(
        &self,
        each: &mut (dyn FnMut(WaitingRow) + Send),
    ) -> Result<(), PortError> {
        self.calls.count("registry.kept_waiting");
        self.ports.registry.kept_waiting(each).await
    }

    async fn versions_with_a_pending_step(
        &self,
    ) -> Result<Vec<(GroupName, VersionNumber)>, PortError> {
        self.calls.count("registry.versions_with_a_pending_step");
        self.ports.registry.versions_with_a_pending_step().await
    }

    async fn versions_registered_by(
        &self,
        person: &Person,
        limit: u32,
    ) -> Result<Vec<(GroupName, VersionNumber)>, PortError> {
        self.calls.count("registry.versions_registered_by");
        self.ports
            .registry
            .versions_registered_by(person, limit)
            .await
    }
}

#[async_trait]
impl ParameterStore for Counting {
    async fn live(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<Option<Deployment>, PortError> {
        self.calls.count("parameters.live");
        self.ports.parameters.live(group, environment).await
    }

    async fn live_uncached(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<Option<Deployment>, PortError> {
        self.calls.count("parameters.live_uncached");
        self.ports
            .parameters
            .live_uncached(group, environment)
            .await
    }

    async fn deployed(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<Option<Deployment>, PortError> {
        self.calls.count("parameters.deployed");
        self.ports.parameters.deployed(group, environment).await
    }

    async fn history(&self, group: &GroupName) -> Result<Vec<Deployment>, PortError> {
        self.calls.count("parameters.history");
        self.ports.parameters.history(group).await
    }
}

#[async_trait]
impl AuditLog for Counting {
    async fn decisions_for_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<DecisionRecord>, PortError> {
        self.calls.count("audit.decisions_for_version");
        self.ports.audit.decisions_for_version(group, version).await
    }

    async fn decisions_for_group(
        &self,
        group: &GroupName,
    ) -> Result<Vec<DecisionRecord>, PortError> {
        self.calls.count("audit.decisions_for_group");
        self.ports.audit.decisions_for_group(group).await
    }

    async fn record_attempt(&self, attempt: &SigningAttempt) -> Result<(), PortError> {
        self.calls.count("audit.record_attempt");
        self.ports.audit.record_attempt(attempt).await
    }

    async fn attempts_for_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<SigningAttempt>, PortError> {
        self.calls.count("audit.attempts_for_version");
        self.ports.audit.attempts_for_version(group, version).await
    }
}

#[async_trait]
impl ReportStore for Counting {
    async fn add_report(&self, report: &InferenceReport) -> Result<ReportStored, PortError> {
        self.calls.count("reports.add_report");
        self.ports.reports.add_report(report).await
    }

    async fn reports_for_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<InferenceReport>, PortError> {
        self.calls.count("reports.reports_for_version");
        self.ports.reports.reports_for_version(group, version).await
    }
}
