//! A version arriving: registered through the API, or found by an event or the
//! reconciling scan, and its first approval request.

use super::*;

/// How many undecided versions the reconciliation scan reads at a time: one SageMaker
/// `Search` page, and never every undecided version in memory at once.
pub const SCAN_PAGE: u32 = 100;

impl Services {
    /// Registers a version and asks its first approvers to review it.
    pub async fn register(&self, registration: Registration) -> Result<ModelVersion, ServiceError> {
        let new = workflow::register(&self.policy, registration, self.clock.now());
        let version = self.ports.registry.register(new).await?;
        // A new version has no decisions: its step needs no reading. Registered is
        // registered: a row the index could not take is repaired by the scan.
        let _ = self.keep_waiting(&version, &[]).await;
        let registrant = match &version.registered_through {
            Some(client) => client.clone(),
            None => version.registered_by.subject.clone(),
        };
        self.record(
            &version.group,
            &registrant,
            AuditEvent::RegistrationSeen(Box::new(version.clone())),
        )
        .await?;
        self.ask_for_approval_if_due(&version).await?;
        Ok(version)
    }

    /// Sends the version's approval request if it needs one now, recorded in the audit
    /// trail first (with the version, the first time the portal sees it). Safe to call any
    /// number of times: the request's key makes it one message and one entry.
    pub async fn ask_for_approval_if_due(
        &self,
        version: &ModelVersion,
    ) -> Result<bool, ServiceError> {
        let Some(notice) = notification::approval_request_due(&self.policy, version) else {
            return Ok(false);
        };
        if let Notice::ApprovalRequested { environment, .. } = &notice {
            let group = &version.group;
            let seen = AuditEvent::RegistrationSeen(Box::new(version.clone()));
            self.record(group, PORTAL_ACTOR, seen).await?;
            let requested = AuditEvent::ApprovalRequested {
                version: version.version,
                environment: environment.clone(),
            };
            self.record(group, PORTAL_ACTOR, requested).await?;
        }
        self.notices.notice(notice).await;
        Ok(true)
    }

    /// Appends `event`, caused by `actor` now under the policy in force, to `group`'s
    /// audit trail (once: a repeat of its key changes nothing).
    pub(super) async fn record(
        &self,
        group: &GroupName,
        actor: &str,
        event: AuditEvent,
    ) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let record = AuditRecord::new(group.clone(), actor, now, event, self.policy.clone());
        self.ports.trail.append(&record).await?;
        Ok(())
    }

    /// [`Self::record`] for an event whose key says what it is about (drift seen, a broken
    /// signature, a refusal within its minute), met again on every read: appended once, and
    /// then not even looked up while this replica remembers it kept.
    pub(super) async fn record_once(
        &self,
        group: &GroupName,
        actor: &str,
        event: AuditEvent,
    ) -> Result<(), ServiceError> {
        let key = AuditRecord::key_of(&event);
        if self.kept.holds(group, &key) {
            return Ok(());
        }
        self.record(group, actor, event).await?;
        self.kept.remember(group, key);
        Ok(())
    }

    /// Re-reads a version (never trusting what an event said about it) and sends its
    /// approval request if it needs one. `Ok(false)` when none is due.
    pub async fn version_changed(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<bool, ServiceError> {
        // A version registered or changed outside the portal may wait now.
        let read = self.version_record(group, version).await;
        self.waiting_read(group, version, read.as_ref()).await?;
        self.ask_for_approval_if_due(&read?.version).await
    }

    /// The reconciliation scan: every undecided version gets its approval request, so a lost
    /// event delays a request but never loses it. Returns how many versions were checked.
    pub async fn reconcile(&self) -> Result<usize, ServiceError> {
        let mut cursor = None;
        let mut checked = 0;
        let mut first_failure = None;
        loop {
            let page = self
                .ports
                .registry
                .undecided_versions(cursor, SCAN_PAGE)
                .await?;
            for version in &page.versions {
                if let Err(e) = self.ask_for_approval_if_due(version).await {
                    first_failure.get_or_insert(e);
                }
            }
            checked += page.versions.len();
            cursor = page.next;
            if cursor.is_none() {
                break;
            }
        }
        match first_failure {
            Some(e) => Err(e),
            None => Ok(checked),
        }
    }
}
