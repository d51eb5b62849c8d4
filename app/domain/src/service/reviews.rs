//! What the portal's pages show, each read as one use case: the review page's version with
//! everything beside it, an approver's inbox with what is live where each step waits, and a
//! registrant's versions with their runs. Reads that do not depend on each other are made
//! together, and lists are read [`CONCURRENT_READS`] rows at a time, in order.

use super::*;

/// Everything the review page shows about one version.
#[derive(Clone, Debug)]
pub struct Review {
    pub record: VersionRecord,
    pub reports: Vec<InferenceReport>,
    pub attempts: Vec<SigningAttempt>,
    pub live: LiveState,
    /// The step waiting for decisions, if one is, and what its approvers weigh it against.
    pub waiting: Option<WaitingBeside>,
}

/// The environment a version waits for, whether its approvers were told, and the version
/// live there with its runs beside the group's recent versions.
#[derive(Clone, Debug)]
pub struct WaitingBeside {
    pub environment: Environment,
    /// The approval or promotion request queued for it.
    pub request: Option<OutboxEntry>,
    pub follow_ups: FollowUpsQueued,
    pub live: Option<ModelVersion>,
    /// The live version's runs.
    pub live_reports: Vec<InferenceReport>,
    /// The group's newest versions, newest first.
    pub recent: Vec<ModelVersion>,
}

/// A step waiting for an approver: its version as read for the page, where and since when it
/// waits with whom, and the version live there.
#[derive(Clone, Debug)]
pub struct InboxRow {
    pub record: VersionRecord,
    pub waiting: workflow::Waiting,
    pub live: Option<ModelVersion>,
}

/// A version someone registered, with its runs.
#[derive(Clone, Debug)]
pub struct RegisteredVersion {
    pub record: VersionRecord,
    pub reports: Vec<InferenceReport>,
}

/// A page of a group's versions, and what is live where in the group.
#[derive(Clone, Debug)]
pub struct GroupVersions {
    pub page: Page<ModelVersion>,
    pub live: LiveState,
}

impl Services {
    /// One `page` of `group`'s versions, newest first, beside what is live where.
    pub async fn group_versions(
        &self,
        group: &GroupName,
        page: PageRequest,
    ) -> Result<GroupVersions, ServiceError> {
        let (page, live) =
            futures::try_join!(self.list_versions(group, page), self.live_state(group))?;
        Ok(GroupVersions { page, live })
    }

    /// The review page's `group` `version`, with the `recent` newest versions of its group
    /// beside it where a step waits; `notifications` says whether its approvers were told.
    pub async fn review(
        &self,
        group: &GroupName,
        version: VersionNumber,
        recent: u32,
        notifications: &Notifications,
    ) -> Result<Review, ServiceError> {
        let (record, reports, attempts, live) = futures::try_join!(
            self.version_record(group, version),
            self.reports_for_version(group, version),
            self.attempts_for_version(group, version),
            self.live_state(group)
        )?;
        let waiting = match record.version.steps.awaiting(self.policy.environments()) {
            Some(environment) => Some(
                self.waiting_beside(&record.version, environment, &live, recent, notifications)
                    .await?,
            ),
            None => None,
        };
        Ok(Review {
            record,
            reports,
            attempts,
            live,
            waiting,
        })
    }

    /// `live`: what `review` read of the group's environments; the version live where the
    /// step waits is taken from it, not read again.
    async fn waiting_beside(
        &self,
        version: &ModelVersion,
        environment: &Environment,
        live: &LiveState,
        recent: u32,
        notifications: &Notifications,
    ) -> Result<WaitingBeside, ServiceError> {
        let group = &version.group;
        let live_and_runs = async {
            let live = match live.versions.get(environment) {
                Some(live) => {
                    self.ports
                        .registry
                        .find_version(group, live.version)
                        .await?
                }
                None => None,
            };
            let runs = match &live {
                Some(live) => self.reports_for_version(group, live.version).await?,
                None => Vec::new(),
            };
            Ok::<_, ServiceError>((live, runs))
        };
        let newest = PageRequest {
            offset: 0,
            limit: recent,
        };
        let (request, follow_ups, (live, live_reports), recent) = futures::try_join!(
            notifications.request_for(version, environment),
            notifications.follow_ups_for(version, environment),
            live_and_runs,
            async { Ok(self.list_versions(group, newest).await?.items) }
        )?;
        Ok(WaitingBeside {
            environment: environment.clone(),
            request,
            follow_ups,
            live,
            live_reports,
            recent,
        })
    }

    /// A page of `actor`'s inbox in the groups `groups` matches, each step with the version
    /// live where it waits (read once per group and environment the page names), and how many
    /// steps the whole inbox holds there.
    pub async fn inbox_rows(
        &self,
        actor: &Actor,
        groups: &GroupFilter,
        page: PageRequest,
    ) -> Result<Page<InboxRow>, ServiceError> {
        let waiting = self.waiting_steps().await?;
        let approvable = self.approvable_by(&waiting, actor);
        let matching = waiting.in_groups(&approvable, groups);
        let total = matching.len() as u64;
        let shown: Vec<_> = matching
            .into_iter()
            .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
            .take(page.limit as usize)
            .map(|position| waiting.step(position))
            .collect();
        let places: std::collections::BTreeSet<_> = shown
            .iter()
            .map(|step| (step.group.clone(), step.waiting.environment.clone()))
            .collect();
        let listed = shown
            .iter()
            .map(|step| (step.group.clone(), step.version))
            .collect();
        let live = stream::iter(places)
            .map(|(group, environment)| async move {
                let found = self.live_version(&group, &environment).await?;
                Ok::<_, ServiceError>(((group, environment), found))
            })
            .buffered(CONCURRENT_READS)
            .try_collect::<BTreeMap<_, _>>();
        let (live, records) = futures::try_join!(live, self.records_of(listed))?;
        // Each row as its version reads now: a step decided since the reading shows as it
        // waits now, or not at all once it no longer waits.
        let items = records
            .into_iter()
            .filter_map(|record| {
                let waiting = workflow::waiting(&self.policy, &record.version, &record.decisions)?;
                let place = (record.version.group.clone(), waiting.environment.clone());
                Some(InboxRow {
                    live: live.get(&place).cloned().flatten(),
                    record,
                    waiting,
                })
            })
            .collect();
        Ok(Page { items, total })
    }

    /// The `limit` versions `person` registered most recently, newest first, with their runs.
    pub async fn my_versions(
        &self,
        person: &Person,
        limit: u32,
    ) -> Result<Vec<RegisteredVersion>, ServiceError> {
        let records = self.registered_by(person, limit).await?;
        stream::iter(records)
            .map(|record| async move {
                let version = &record.version;
                let reports = self
                    .reports_for_version(&version.group, version.version)
                    .await?;
                Ok::<_, ServiceError>(RegisteredVersion { record, reports })
            })
            .buffered(CONCURRENT_READS)
            .try_collect()
            .await
    }
}
