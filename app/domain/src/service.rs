//! The application service: each use case loads through the ports, asks the workflow
//! rules, and stores the result. Inbound adapters (server functions, the pipeline API, the
//! CLI) call these and nothing below them.

use crate::audit::{AuditEvent, AuditRecord, PORTAL_ACTOR};
use crate::environment::Environment;
use crate::history::{Drift, GroupHistory};
use crate::model::*;
use crate::notification::{self, LiveComparison, Notice};
use crate::policy::{Actor, Policy};
use crate::ports::*;
use crate::report::{self, InferenceReport, ReportRefusal};
use crate::signature::{AttemptOutcome, Authentication, Signing, SigningAttempt};
use crate::workflow::{self, DecisionEffect, DecisionRequest, Refusal, RollbackRequest};
use futures::stream::{self, StreamExt, TryStreamExt};
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
    NotificationRefused(#[from] NotificationRefusal),
    #[error(transparent)]
    Port(#[from] PortError),
}

/// What a person signs: a decision about one version, or a rollback (rule 9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SigningRequest {
    Decide {
        version: VersionNumber,
        request: DecisionRequest,
    },
    RollBack(RollbackRequest),
}

impl SigningRequest {
    pub fn environment(&self) -> &Environment {
        match self {
            Self::Decide { request, .. } => &request.environment,
            Self::RollBack(request) => &request.environment,
        }
    }
}

/// A decision or rollback computed for the confirmation step, not applied.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// Everything it would change; `effect.signed` is what the signer confirms.
    pub effect: DecisionEffect,
    /// The version whose people are told once it is applied (for a rollback, the version it
    /// withdraws, if any).
    told_about: Option<ModelVersion>,
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
}

/// How long this replica answers "what waits?" from its last reading: the header of every
/// page asks, and on AWS each reading costs a request per waiting version. Another
/// replica's decision shows within this; this replica's own at once.
pub const WAITING_FRESH_FOR: time::Duration = time::Duration::seconds(10);

/// How many reads a list of versions keeps in flight: enough to hide a cloud round trip per
/// row (a page of 50 on AWS would otherwise wait for 100 in a row), few enough to stay well
/// under SageMaker's and DynamoDB's request rates.
pub const CONCURRENT_READS: usize = 8;

/// The steps waiting for decisions as last read, and when.
#[derive(Default)]
struct WaitingCache(std::sync::Mutex<Option<(time::OffsetDateTime, Arc<Vec<WaitingStep>>)>>);

impl WaitingCache {
    fn fresh(&self, now: time::OffsetDateTime) -> Option<Arc<Vec<WaitingStep>>> {
        let kept = self.0.lock().expect("waiting cache");
        kept.as_ref()
            .filter(|(read_at, _)| now - *read_at < WAITING_FRESH_FOR)
            .map(|(_, steps)| steps.clone())
    }

    fn keep(&self, read_at: time::OffsetDateTime, steps: Arc<Vec<WaitingStep>>) {
        *self.0.lock().expect("waiting cache") = Some((read_at, steps));
    }

    fn forget(&self) {
        *self.0.lock().expect("waiting cache") = None;
    }
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

/// A version live in an environment, and since when (its deployment's approval).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveVersion {
    pub version: VersionNumber,
    pub since: time::OffsetDateTime,
}

/// What is live in a group's environments.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveState {
    pub versions: BTreeMap<Environment, LiveVersion>,
    /// Environments whose live value the log does not explain.
    pub drift: Vec<Drift>,
}

/// A version together with its decision log.
#[derive(Clone, Debug, PartialEq)]
pub struct VersionRecord {
    pub version: ModelVersion,
    pub decisions: Vec<DecisionRecord>,
}

/// A step waiting for decisions, with its version and the version's decision log.
#[derive(Clone, Debug, PartialEq)]
pub struct WaitingStep {
    pub version: ModelVersion,
    pub decisions: Vec<DecisionRecord>,
    pub waiting: workflow::Waiting,
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

    /// Every model group with a summary, by name.
    pub async fn list_groups(&self) -> Result<Vec<GroupSummary>, ServiceError> {
        Ok(self.ports.registry.list_groups().await?)
    }

    /// One page of a group's versions, newest first; `NotFound` for a group with none.
    pub async fn list_versions(
        &self,
        group: &GroupName,
        page: PageRequest,
    ) -> Result<Page<ModelVersion>, ServiceError> {
        let listed = self.ports.registry.list_versions(group, page).await?;
        if listed.total == 0 {
            return Err(ServiceError::NotFound(format!(
                "There is no model group named {group}."
            )));
        }
        Ok(listed)
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
        let version = self.ports.registry.register(new).await?;
        self.waiting.forget();
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
    async fn record(
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

    /// Re-reads a version (never trusting what an event said about it) and sends its
    /// approval request if it needs one. `Ok(false)` when none is due.
    pub async fn version_changed(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<bool, ServiceError> {
        let version = self.find_version(group, version).await?;
        // A version registered or changed outside the portal may wait now.
        self.waiting.forget();
        self.ask_for_approval_if_due(&version).await
    }

    /// The reconciliation scan: every undecided version gets its approval request, so a lost
    /// event delays a request but never loses it. Returns how many versions were checked.
    pub async fn reconcile(&self) -> Result<usize, ServiceError> {
        let undecided = self.ports.registry.undecided_versions().await?;
        let mut first_failure = None;
        for version in &undecided {
            if let Err(e) = self.ask_for_approval_if_due(version).await {
                first_failure.get_or_insert(e);
            }
        }
        match first_failure {
            Some(e) => Err(e),
            None => Ok(undecided.len()),
        }
    }

    /// Every step waiting for decisions, in any group, the longest waiting first; read
    /// again at most every [`WAITING_FRESH_FOR`].
    pub async fn waiting_steps(&self) -> Result<Arc<Vec<WaitingStep>>, ServiceError> {
        let now = self.clock.now();
        if let Some(steps) = self.waiting.fresh(now) {
            return Ok(steps);
        }
        let steps = Arc::new(self.read_waiting_steps().await?);
        self.waiting.keep(now, steps.clone());
        Ok(steps)
    }

    async fn read_waiting_steps(&self) -> Result<Vec<WaitingStep>, ServiceError> {
        let listed = self.ports.registry.versions_with_a_pending_step().await?;
        let mut steps = Vec::new();
        for record in self.records_of(listed).await? {
            let Some(waiting) = workflow::waiting(&self.policy, &record.version, &record.decisions)
            else {
                continue;
            };
            steps.push(WaitingStep {
                version: record.version,
                decisions: record.decisions,
                waiting,
            });
        }
        steps.sort_by(|a, b| {
            (a.waiting.since, &a.version.group, a.version.version).cmp(&(
                b.waiting.since,
                &b.version.group,
                b.version.version,
            ))
        });
        Ok(steps)
    }

    /// Reminds the approvers of every step waiting longer than the rules say, and escalates
    /// those waiting longer still: each once per step, however often this runs and on however
    /// many replicas (the outbox keeps one message per key). Returns how many follow-ups were
    /// due.
    pub async fn follow_up(&self, rules: &notification::FollowUps) -> Result<usize, ServiceError> {
        let now = self.clock.now();
        let mut due = 0;
        for step in self.read_waiting_steps().await? {
            let notices = notification::follow_ups_due(
                rules,
                &step.version,
                &step.waiting.environment,
                step.waiting.since,
                now,
            );
            due += notices.len();
            for notice in notices {
                self.notices.notice(notice).await;
            }
        }
        Ok(due)
    }

    /// The steps waiting for `actor`'s decision, the longest waiting first: those they may
    /// approve now (not their own versions, not steps they have approved already).
    pub async fn inbox(&self, actor: &Actor) -> Result<Vec<WaitingStep>, ServiceError> {
        let waiting = self.waiting_steps().await?;
        Ok(waiting
            .iter()
            .filter(|step| {
                let environment = &step.waiting.environment;
                workflow::approval_refusal(
                    &self.policy,
                    &step.version,
                    &step.decisions,
                    actor,
                    environment,
                )
                .is_none()
            })
            .cloned()
            .collect())
    }

    /// The newest `limit` versions `person` registered, in any group, newest first, each
    /// with its decision log. The registry says whom a version is attributed to; the port's
    /// index only says where to look (a row written around the portal names nobody in).
    pub async fn registered_by(
        &self,
        person: &Person,
        limit: u32,
    ) -> Result<Vec<VersionRecord>, ServiceError> {
        let listed = self
            .ports
            .registry
            .versions_registered_by(person, limit)
            .await?;
        let mut records = self.records_of(listed).await?;
        records.retain(|record| record.version.attributed_to.includes(person));
        Ok(records)
    }

    /// The records of these versions in the same order, [`CONCURRENT_READS`] read at a time;
    /// a version the registry no longer has (deleted since it was listed) is left out.
    async fn records_of(
        &self,
        versions: Vec<(GroupName, VersionNumber)>,
    ) -> Result<Vec<VersionRecord>, ServiceError> {
        let found: Vec<Option<VersionRecord>> = stream::iter(versions)
            .map(|(group, version)| async move {
                match self.version_record(&group, version).await {
                    Ok(record) => Ok(Some(record)),
                    Err(ServiceError::NotFound(_)) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .buffered(CONCURRENT_READS)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// The version live in `environment`, if any.
    pub async fn live_version(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<Option<ModelVersion>, ServiceError> {
        let Some(deployment) = self.ports.parameters.live(group, environment).await? else {
            return Ok(None);
        };
        Ok(self
            .ports
            .registry
            .find_version(group, deployment.version)
            .await?)
    }

    /// One version, or `NotFound` naming it.
    pub async fn find_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<ModelVersion, ServiceError> {
        let found = self.ports.registry.find_version(group, version).await?;
        found.ok_or_else(|| no_such_version(group, version))
    }

    pub async fn version_record(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<VersionRecord, ServiceError> {
        let found = self
            .ports
            .registry
            .find_version_and_decisions(group, version)
            .await?;
        let Some((version, decisions)) = found else {
            return Err(no_such_version(group, version));
        };
        let decisions = match decisions {
            Some(decisions) => decisions,
            None => {
                self.ports
                    .audit
                    .decisions_for_version(&version.group, version.version)
                    .await?
            }
        };
        Ok(VersionRecord { version, decisions })
    }

    /// What `what` would do if `actor` signed it now: the whole effect, whose `signed` is
    /// what the confirmation step shows and whose record digest the signer confirms.
    /// Refused with the reason, as signing it would be; nothing is written.
    pub async fn prepare(
        &self,
        actor: &Actor,
        group: &GroupName,
        what: &SigningRequest,
    ) -> Result<Prepared, ServiceError> {
        match what {
            SigningRequest::Decide { version, request } => {
                let record = self.version_record(group, *version).await?;
                let live = self
                    .ports
                    .parameters
                    .deployed(group, &request.environment)
                    .await?;
                let effect = workflow::decide(
                    &self.policy,
                    &record.version,
                    &record.decisions,
                    actor,
                    request,
                    self.stamp(),
                )?
                .replacing(live.as_ref());
                Ok(Prepared {
                    effect,
                    told_about: Some(record.version),
                })
            }
            SigningRequest::RollBack(request) => {
                let target = self.find_version(group, request.target).await?;
                let live_deployment = self
                    .ports
                    .parameters
                    .deployed(group, &request.environment)
                    .await?;
                let live = match &live_deployment {
                    Some(deployment) => Some(self.find_version(group, deployment.version).await?),
                    None => None,
                };
                let effect = workflow::rollback(
                    &self.policy,
                    live.as_ref(),
                    &target,
                    actor,
                    request,
                    self.stamp(),
                )?
                .replacing(live_deployment.as_ref());
                // The registrant of the version a rollback withdraws is told.
                Ok(Prepared {
                    effect,
                    told_about: live,
                })
            }
        }
    }

    /// Signs and applies `what` (a decision, or a rollback under rule 9) as a whole, if the
    /// ceremony holds: the signer confirmed exactly the record it signs now and
    /// authenticated recently enough ([`workflow::check_signing`]). The signature keeps
    /// how they had authenticated.
    pub async fn sign(
        &self,
        actor: &Actor,
        group: &GroupName,
        what: &SigningRequest,
        signing: &Signing,
    ) -> Result<DecisionEffect, ServiceError> {
        let signed = match self.prepare(actor, group, what).await {
            Ok(prepared) => self.sign_prepared(prepared, signing).await,
            Err(e) => Err(e),
        };
        if let Err(ServiceError::Refused(refusal)) = &signed {
            let outcome = AttemptOutcome::Refused {
                reason: refusal.to_string(),
            };
            // A refusal nobody could record is a gap in the trail: say so, not the refusal.
            self.record_attempt(&actor.person, group, what, outcome)
                .await?;
        }
        signed
    }

    /// Keeps a signature that was not made, in the audit log beside the decisions.
    pub async fn record_attempt(
        &self,
        by: &Person,
        group: &GroupName,
        what: &SigningRequest,
        outcome: AttemptOutcome,
    ) -> Result<(), ServiceError> {
        let (version, verdict) = match what {
            SigningRequest::Decide { version, request } => {
                (*version, Verdict::from(request.choice))
            }
            SigningRequest::RollBack(request) => (request.target, Verdict::Rollback),
        };
        let attempt = SigningAttempt {
            id: self.ids.new_id(),
            group: group.to_string(),
            version: version.get(),
            environment: what.environment().to_string(),
            verdict: verdict.as_str().to_owned(),
            by: by.clone(),
            at: self.clock.now(),
            outcome,
        };
        self.ports.audit.record_attempt(&attempt).await?;
        let event = AuditEvent::SigningAttempted(Box::new(attempt));
        self.record(group, &by.subject, event).await
    }

    /// The attempts to sign something about one version, oldest first.
    pub async fn attempts_for_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<SigningAttempt>, ServiceError> {
        Ok(self
            .ports
            .audit
            .attempts_for_version(group, version)
            .await?)
    }

    async fn sign_prepared(
        &self,
        prepared: Prepared,
        signing: &Signing,
    ) -> Result<DecisionEffect, ServiceError> {
        let Prepared {
            mut effect,
            told_about,
        } = prepared;
        workflow::check_signing(&self.policy, &effect, signing, self.clock.now())?;
        if let Some(signature) = &mut effect.record.signature {
            signature.authentication = Some(signing.authentication.clone());
        }
        // The decision and its audit entry, in one transaction.
        let entry = AuditRecord::decided(
            &effect,
            signing.reauthentication_asked_at,
            self.policy.clone(),
        );
        self.ports.committer.commit(&effect, &entry).await?;
        self.waiting.forget();
        if let Some(version) = told_about {
            self.notices
                .notice(Notice::Decided {
                    version: workflow::apply(&version, &effect),
                    record: Box::new(effect.record.clone()),
                })
                .await;
        }
        Ok(effect)
    }

    /// Takes a decision as a person who has just signed in and confirmed what the
    /// decision signs: for tests, which are about the decision, not the ceremony.
    #[cfg(any(test, feature = "testing"))]
    pub async fn decide(
        &self,
        actor: &Actor,
        group: &GroupName,
        version: VersionNumber,
        request: &DecisionRequest,
    ) -> Result<DecisionEffect, ServiceError> {
        let what = SigningRequest::Decide {
            version,
            request: request.clone(),
        };
        self.sign_as_just_confirmed(actor, group, &what).await
    }

    /// A rollback, as [`Services::decide`] takes a decision (for tests).
    #[cfg(any(test, feature = "testing"))]
    pub async fn rollback(
        &self,
        actor: &Actor,
        group: &GroupName,
        request: &RollbackRequest,
    ) -> Result<DecisionEffect, ServiceError> {
        let what = SigningRequest::RollBack(request.clone());
        self.sign_as_just_confirmed(actor, group, &what).await
    }

    /// Signs `what` as someone who confirmed it and authenticated this moment, having been
    /// sent to do so: demo data, and tests that are not about the ceremony.
    pub async fn sign_as_just_confirmed(
        &self,
        actor: &Actor,
        group: &GroupName,
        what: &SigningRequest,
    ) -> Result<DecisionEffect, ServiceError> {
        let prepared = self.prepare(actor, group, what).await?;
        let now = self.clock.now();
        let signing = Signing {
            reviewed_digest: prepared.effect.signed.digest(),
            authentication: Authentication::at(now),
            reauthentication_asked_at: Some(now),
        };
        self.sign_prepared(prepared, &signing).await
    }

    /// A new decision's id and time.
    fn stamp(&self) -> Stamp {
        Stamp {
            id: self.ids.new_id(),
            at: self.clock.now(),
        }
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
    async fn live_comparison(
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

    /// What was live in each environment and when, and every decision, for one group.
    pub async fn group_history(&self, group: &GroupName) -> Result<GroupHistory, ServiceError> {
        let (deployments, live) = self.deployments_and_live(group).await?;
        let environments = self.policy.environments();
        Ok(GroupHistory {
            group: group.clone(),
            live: crate::history::live_periods(environments, &deployments),
            decisions: self.ports.audit.decisions_for_group(group).await?,
            drift: crate::history::drift(environments, &live, &deployments),
        })
    }

    /// The version live in each environment that has one, and where that is not what the
    /// log last deployed.
    pub async fn live_state(&self, group: &GroupName) -> Result<LiveState, ServiceError> {
        let (deployments, live) = self.deployments_and_live(group).await?;
        Ok(LiveState {
            drift: crate::history::drift(self.policy.environments(), &live, &deployments),
            versions: live
                .into_iter()
                .map(|(env, deployment)| {
                    let live = LiveVersion {
                        version: deployment.version,
                        since: deployment.approved_at,
                    };
                    (env, live)
                })
                .collect(),
        })
    }

    /// The group's logged deployments and what is live in each environment. Live values
    /// come through the cache, which may lag a decision another replica just took; where
    /// they disagree with the log, both are read again from the store itself, so that drift
    /// is only reported when the store shows it.
    async fn deployments_and_live(
        &self,
        group: &GroupName,
    ) -> Result<(Vec<Deployment>, BTreeMap<Environment, Deployment>), ServiceError> {
        let environments = self.policy.environments();
        let deployments = self.ports.parameters.history(group).await?;
        let live = self.live_deployments(group, false).await?;
        if crate::history::drift(environments, &live, &deployments).is_empty() {
            return Ok((deployments, live));
        }
        let deployments = self.ports.parameters.history(group).await?;
        let live = self.live_deployments(group, true).await?;
        Ok((deployments, live))
    }

    async fn live_deployments(
        &self,
        group: &GroupName,
        uncached: bool,
    ) -> Result<BTreeMap<Environment, Deployment>, ServiceError> {
        let mut live = BTreeMap::new();
        for env in self.policy.environments().iter() {
            let parameters = &self.ports.parameters;
            let deployment = if uncached {
                parameters.live_uncached(group, env).await?
            } else {
                parameters.live(group, env).await?
            };
            if let Some(deployment) = deployment {
                live.insert(env.clone(), deployment);
            }
        }
        Ok(live)
    }

    /// Whether the signature that made `deployment` live still applies to its version as
    /// the registry holds it now (21 CFR 11.70). A deployment whose decision is not in the
    /// log, or was signed before signatures were recorded, has nothing to check.
    pub async fn still_signed(&self, deployment: &Deployment) -> Result<bool, ServiceError> {
        let record = self
            .version_record(&deployment.group, deployment.version)
            .await?;
        let made_live = |d: &DecisionRecord| d.id == deployment.decision_id;
        let decision = match record.decisions.iter().find(|d| made_live(d)) {
            Some(decision) => Some(decision.clone()),
            // A rollback is logged under the version it withdrew, not the one it put back.
            None => self
                .ports
                .audit
                .decisions_for_group(&deployment.group)
                .await?
                .into_iter()
                .find(made_live),
        };
        Ok(decision.is_none_or(|d| crate::signature::still_binds(&d, &record.version)))
    }

    /// The model live in an environment, as pipelines resolve it.
    pub async fn resolve(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<Deployment, ServiceError> {
        self.ports
            .parameters
            .live(group, environment)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "no version of {group} is approved for {environment}"
                ))
            })
    }
}

/// The reminder and the escalation queued about a waiting step, where there are any.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FollowUpsQueued {
    pub reminder: Option<OutboxEntry>,
    pub escalation: Option<OutboxEntry>,
}

/// Why a person may not see or resend a notification. Written for them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationRefusal {
    #[error("Only approvers see the notifications page.")]
    NotAnApprover,
    #[error("Only approvers of {environment} may send this request again.")]
    NotTheirRequest { environment: String },
    #[error("Not sent again: {0}.")]
    NotNow(String),
}

/// The notification outbox as people see it: the latest messages, and sending one again.
/// Approvers of any environment look after it.
#[derive(Clone)]
pub struct Notifications {
    outbox: Arc<dyn Outbox>,
    policy: Arc<Policy>,
    clock: Arc<dyn Clock>,
}

impl Notifications {
    /// The outbox `services` queue their notices in.
    pub fn new(outbox: Arc<dyn Outbox>, services: &Services) -> Self {
        Self {
            outbox,
            policy: services.policy.clone(),
            clock: services.clock.clone(),
        }
    }

    fn check_keeper(&self, actor: &Actor) -> Result<(), NotificationRefusal> {
        if self.policy.approves_anything(actor) {
            Ok(())
        } else {
            Err(NotificationRefusal::NotAnApprover)
        }
    }

    /// The message that asked the approvers of `environment` to decide the version, if one
    /// was queued: the approval request, else the promotion request a run's report made.
    pub async fn request_for(
        &self,
        version: &ModelVersion,
        environment: &Environment,
    ) -> Result<Option<OutboxEntry>, ServiceError> {
        let approval = Notice::ApprovalRequested {
            version: version.clone(),
            environment: environment.clone(),
        };
        if let Some(entry) = self.outbox.entry(&approval.key()).await? {
            return Ok(Some(entry));
        }
        let promotion = notification::promotion_request_key(version, environment);
        Ok(self.outbox.entry(&promotion).await?)
    }

    /// The reminder and the escalation queued about the version waiting for `environment`.
    pub async fn follow_ups_for(
        &self,
        version: &ModelVersion,
        environment: &Environment,
    ) -> Result<FollowUpsQueued, ServiceError> {
        let reminder = notification::reminder_key(version, environment);
        let escalation = notification::escalation_key(version, environment);
        let (reminder, escalation) =
            futures::try_join!(self.outbox.entry(&reminder), self.outbox.entry(&escalation))?;
        Ok(FollowUpsQueued {
            reminder,
            escalation,
        })
    }

    /// One page of messages, the latest first, and how many there are.
    pub async fn recent(
        &self,
        actor: &Actor,
        page: PageRequest,
    ) -> Result<Page<OutboxEntry>, ServiceError> {
        self.check_keeper(actor)?;
        Ok(self.outbox.recent(page).await?)
    }

    /// Puts the message with `key` back in line. A request for a decision goes again only
    /// at the request of those it asks; no message while it waits, nor within a minute of
    /// going out.
    pub async fn resend(&self, actor: &Actor, key: &str) -> Result<(), ServiceError> {
        self.check_keeper(actor)?;
        let not_found = || ServiceError::NotFound(format!("no message {key:?} in the outbox"));
        let entry = self.outbox.entry(key).await?.ok_or_else(not_found)?;
        if let Some(env) = notification::requested_environment(key) {
            let theirs = self
                .policy
                .environments()
                .find(env)
                .is_some_and(|env| self.policy.is_approver(actor, env));
            if !theirs {
                return Err(NotificationRefusal::NotTheirRequest {
                    environment: env.to_owned(),
                }
                .into());
            }
        }
        let now = self.clock.now();
        if let Some(why) = entry.resend_refusal(now) {
            return Err(NotificationRefusal::NotNow(why).into());
        }
        if !self.outbox.resend(key, now).await? {
            return Err(not_found());
        }
        Ok(())
    }
}

fn no_such_version(group: &GroupName, version: VersionNumber) -> ServiceError {
    ServiceError::NotFound(format!("model group {group} has no version {version}"))
}
