//! Steps waiting for decisions: across groups (the inbox and every page's count), by
//! registrant, and their reminders and escalations.

use super::*;

/// How many reads a list of versions keeps in flight: enough to hide a cloud round trip per
/// row (a page of 50 on AWS would otherwise wait for 100 in a row), few enough to stay well
/// under SageMaker's and DynamoDB's request rates.
pub const CONCURRENT_READS: usize = 8;

/// A step waiting for decisions, as what waits is kept: which version, where, since when,
/// with whom, and who may not approve it; not the version itself (a reading holds every
/// waiting step, so each is kept small). Pages read the versions of the rows they show.
#[derive(Clone, Debug, PartialEq)]
pub struct WaitingStep {
    pub group: GroupName,
    pub version: VersionNumber,
    pub waiting: workflow::Waiting,
    /// Everyone the version is attributed to: none of them may approve it (four-eyes).
    pub(super) attributed_to: crate::identity::Attribution,
    /// A signature on the version no longer matches it: nobody may approve it.
    pub(super) signature_broken: bool,
}

impl WaitingStep {
    /// The step of `version` waiting for decisions, if one waits, as `decisions` leave it.
    pub fn of(
        policy: &Policy,
        version: &ModelVersion,
        decisions: &[DecisionRecord],
    ) -> Option<Self> {
        let waiting = workflow::waiting(policy, version, decisions)?;
        Some(Self {
            group: version.group.clone(),
            version: version.version,
            waiting,
            attributed_to: version.attributed_to.clone(),
            signature_broken: !workflow::broken_signatures(version, decisions).is_empty(),
        })
    }

    /// Whether `actor` may approve the step now: what `workflow::approval_refusal` says of
    /// the version, from what the step keeps.
    pub fn may_be_approved_by(&self, policy: &Policy, actor: &Actor) -> bool {
        let env = &self.waiting.environment;
        let own_version =
            self.attributed_to.includes(&actor.person) && !policy.self_approval_allowed(env);
        let approved_already = self
            .waiting
            .approvals
            .iter()
            .any(|approver| approver.is_same_person_as(&actor.person));
        policy.is_approver(actor, env)
            && !own_version
            && !self.signature_broken
            && !approved_already
    }
}

impl Services {
    /// Every step waiting for decisions, in any group, the longest waiting first: as last
    /// read (see [`WAITING_FRESH_FOR`]), read now only when nothing fresh is kept.
    pub async fn waiting_steps(&self) -> Result<Arc<WaitingSnapshot>, ServiceError> {
        match self.waiting.ask(self.clock.now()) {
            Kept::Use(snapshot) => Ok(snapshot),
            Kept::Read(generation) => self.read_and_keep_waiting(generation).await,
        }
    }

    /// Reads what waits again if a page asked since the last reading and it is about to go
    /// stale (the background calls this every second or so). Whether it read.
    pub async fn read_waiting_again_if_due(&self) -> Result<bool, ServiceError> {
        let Some(generation) = self.waiting.due(self.clock.now()) else {
            return Ok(false);
        };
        self.read_and_keep_waiting(generation).await?;
        Ok(true)
    }

    async fn read_and_keep_waiting(
        &self,
        generation: Generation,
    ) -> Result<Arc<WaitingSnapshot>, ServiceError> {
        let read_at = self.clock.now();
        let steps = self.read_waiting_steps().await.inspect_err(|_| {
            self.waiting.reading_failed();
        })?;
        Ok(self.waiting.keep(generation, read_at, steps))
    }

    /// A version decided here: its step, read again, replaces the kept one and its row in
    /// the waiting index, so that pages show the change at once without reading everything
    /// again. Never fails the change it follows: a row that cannot be written is repaired by
    /// the scan.
    pub(super) async fn waiting_changed(&self, group: &GroupName, version: VersionNumber) {
        let read = self.version_record(group, version).await;
        let _ = self.waiting_read(group, version, read.as_ref()).await;
    }

    /// What a reading of one version says of its step, kept in the index and this replica's
    /// reading. A version the registry no longer has waits no more here; its row goes with
    /// the next scan.
    pub(super) async fn waiting_read(
        &self,
        group: &GroupName,
        version: VersionNumber,
        read: Result<&VersionRecord, &ServiceError>,
    ) -> Result<(), ServiceError> {
        match read {
            Ok(record) => self.keep_waiting(&record.version, &record.decisions).await,
            Err(ServiceError::NotFound(_)) => {
                self.waiting.changed(group, version, None);
                Ok(())
            }
            Err(_) => {
                self.waiting.forget();
                Ok(())
            }
        }
    }

    /// The version's waiting step, if one of its steps waits.
    pub(super) fn step_of(
        &self,
        version: &ModelVersion,
        decisions: &[DecisionRecord],
    ) -> Option<WaitingStep> {
        WaitingStep::of(&self.policy, version, decisions)
    }

    /// Reminds the approvers of every step waiting longer than the rules say, and escalates
    /// those waiting longer still: each once per step, however often this runs and on however
    /// many replicas (the outbox keeps one message per key). Returns how many follow-ups were
    /// due. The waiting index says since when each step waits: only the versions of steps
    /// waiting long enough are read (and those whose row cannot be read).
    pub async fn follow_up(&self, rules: &notification::FollowUps) -> Result<usize, ServiceError> {
        let now = self.clock.now();
        let mut late = Vec::new();
        self.ports
            .registry
            .kept_waiting(&mut |row| {
                let due = WaitingStep::from_row(&row).is_none_or(|step| {
                    rules.any_due(&step.waiting.environment, now - step.waiting.since)
                });
                if due {
                    late.push((row.group, row.version));
                }
            })
            .await?;
        let mut records = std::pin::pin!(self.stream_records(late));
        let mut due = 0;
        while let Some(record) = records.try_next().await? {
            let Some(step) = self.step_of(&record.version, &record.decisions) else {
                continue;
            };
            let notices = notification::follow_ups_due(
                rules,
                &record.version,
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
        Ok(self
            .approvable_by(&waiting, actor)
            .iter()
            .map(|&position| waiting.step(position))
            .collect())
    }

    /// How many steps wait for `actor`'s decision (every page's header shows it): counted
    /// once per reader and reading.
    pub async fn waiting_for(&self, actor: &Actor) -> Result<usize, ServiceError> {
        let waiting = self.waiting_steps().await?;
        Ok(self.approvable_by(&waiting, actor).len())
    }

    pub(super) fn approvable_by(&self, waiting: &WaitingSnapshot, actor: &Actor) -> Arc<[usize]> {
        waiting.approvable_by(actor, |step| step.may_be_approved_by(&self.policy, actor))
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
    pub(super) async fn records_of(
        &self,
        versions: Vec<(GroupName, VersionNumber)>,
    ) -> Result<Vec<VersionRecord>, ServiceError> {
        self.stream_records(versions).try_collect().await
    }

    /// [`Services::records_of`], one record at a time, for lists too long to hold read.
    pub(super) fn stream_records(
        &self,
        versions: Vec<(GroupName, VersionNumber)>,
    ) -> impl futures::Stream<Item = Result<VersionRecord, ServiceError>> + Send + '_ {
        stream::iter(versions)
            .map(move |(group, version)| async move {
                match self.version_record(&group, version).await {
                    Ok(record) => Ok(Some(record)),
                    Err(ServiceError::NotFound(_)) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .buffered(CONCURRENT_READS)
            .try_filter_map(|found| async move { Ok(found) })
    }
}
