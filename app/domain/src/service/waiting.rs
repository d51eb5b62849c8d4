//! Steps waiting for decisions: across groups (the inbox and every page's count), by
//! registrant, and their reminders and escalations.

use super::*;

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
pub(super) struct WaitingCache(
    std::sync::Mutex<Option<(time::OffsetDateTime, Arc<Vec<WaitingStep>>)>>,
);

impl WaitingCache {
    pub(super) fn fresh(&self, now: time::OffsetDateTime) -> Option<Arc<Vec<WaitingStep>>> {
        let kept = self.0.lock().expect("waiting cache");
        kept.as_ref()
            .filter(|(read_at, _)| now - *read_at < WAITING_FRESH_FOR)
            .map(|(_, steps)| steps.clone())
    }

    pub(super) fn keep(&self, read_at: time::OffsetDateTime, steps: Arc<Vec<WaitingStep>>) {
        *self.0.lock().expect("waiting cache") = Some((read_at, steps));
    }

    pub(super) fn forget(&self) {
        *self.0.lock().expect("waiting cache") = None;
    }
}

/// A step waiting for decisions, with its version and the version's decision log.
#[derive(Clone, Debug, PartialEq)]
pub struct WaitingStep {
    pub version: ModelVersion,
    pub decisions: Vec<DecisionRecord>,
    pub waiting: workflow::Waiting,
}

impl Services {
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

    pub(super) async fn read_waiting_steps(&self) -> Result<Vec<WaitingStep>, ServiceError> {
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
    pub(super) async fn records_of(
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
}
