//! A group's trail checked as an auditor would, for the pages, exports and API that show
//! it: exported, verified with the same verifier, and compared decision by decision, field
//! by field, with the decision log.

use super::*;
use crate::entry::EventJson;
use crate::verify::{Progress, Verified, Violation};
use countersign_domain::DecisionRecord;
use std::collections::BTreeMap;

/// Groups whose trail entries [`AuditDesk::attest_across_groups`] reads at once.
pub(super) const GROUPS_READ_AT_ONCE: usize = 8;

/// What checking a group's trail found.
#[derive(Debug)]
pub struct TrailCheck {
    /// Whether every entry verifies.
    pub verdict: Result<Verified, Violation>,
    /// The group's decisions, oldest first, each as the trail holds it and with how the
    /// log's row compares.
    pub decisions: Vec<AttestedDecision>,
}

impl TrailCheck {
    /// The decisions the log and the trail disagree about.
    pub fn disagreements(&self) -> impl Iterator<Item = &AttestedDecision> {
        self.decisions.iter().filter(|d| !d.standing.agrees())
    }

    /// Each decision the log disagrees with the trail about, a sentence each.
    pub fn alerts(&self) -> Vec<String> {
        self.disagreements().filter_map(|d| d.alert()).collect()
    }

    /// What is wrong, a sentence each: the trail not verifying, then each disagreement.
    pub fn problems(&self) -> Vec<String> {
        let violation = self.verdict.as_ref().err();
        violation
            .map(|v| format!("the audit trail does not verify: {v}"))
            .into_iter()
            .chain(self.alerts())
            .collect()
    }

    /// True when the trail verifies and the log agrees with it about every decision.
    pub fn holds(&self) -> bool {
        self.verdict.is_ok() && self.disagreements().next().is_none()
    }
}

impl AuditDesk {
    /// `decisions` (a version's, say) each beside its own trail entry, read by key: a page
    /// showing a few decisions reads a few entries however long the trail, and verifies
    /// none (the group's [`AuditDesk::check`] does). A decision the trail holds and the log
    /// lacks is not found this way either.
    pub async fn attest(
        &self,
        group: &GroupName,
        decisions: &[DecisionRecord],
    ) -> Result<Vec<AttestedDecision>, PortError> {
        // A trail begins with the policy it was written under, at 0: when it began tells a
        // decision missing from it from one taken before it.
        let keys: Vec<String> = std::iter::once(crate::entry::policy_key(0))
            .chain(decisions.iter().map(|d| AuditRecord::decision_key(&d.id)))
            .chain(
                decisions
                    .iter()
                    .map(|d| AuditRecord::registration_key(d.version)),
            )
            .collect();
        let entries = self.trail.entries_keyed(group, &keys).await?;
        Ok(reconcile(group, &entries, decisions))
    }

    /// As [`AuditDesk::attest`], for `decisions` of any groups (an inbox page's): each
    /// group's read by key, a few groups at a time.
    pub async fn attest_across_groups(
        &self,
        decisions: &[DecisionRecord],
    ) -> Result<Vec<AttestedDecision>, PortError> {
        use futures::{StreamExt, TryStreamExt};
        let mut by_group: BTreeMap<GroupName, Vec<DecisionRecord>> = BTreeMap::new();
        for decision in decisions {
            by_group
                .entry(decision.group.clone())
                .or_default()
                .push(decision.clone());
        }
        let attested: Vec<Vec<AttestedDecision>> = futures::stream::iter(by_group)
            .map(|(group, decisions)| async move { self.attest(&group, &decisions).await })
            .buffered(GROUPS_READ_AT_ONCE)
            .try_collect()
            .await?;
        Ok(attested.into_iter().flatten().collect())
    }

    /// `group`'s trail, verified against this portal's key, beside `decisions` (the log's,
    /// oldest first). What was verified before is remembered (`Progress`): a view verifies
    /// the entries appended since, up to the newest checkpoint published, and reads the
    /// decisions' own entries by key, each compared with the entry verified, so a long
    /// trail costs what changed in it, not its length.
    ///
    /// The verification runs off the async runtime, and one at a time per group: viewers
    /// arriving while a group's trail is being verified wait for that verdict instead of
    /// starting their own (N9).
    pub async fn check(
        &self,
        group: &GroupName,
        decisions: &[DecisionRecord],
    ) -> Result<TrailCheck, PortError> {
        self.check_showing(group, decisions, None).await
    }

    /// As [`AuditDesk::check`], for a page that shows only the decisions `shown` of the
    /// log's `decisions`: only theirs are read and compared field by field, beside every
    /// decision found in one of the log and the verified trail and not the other (known
    /// without reading them), so a page costs its own decisions however long the trail.
    pub async fn check_page(
        &self,
        group: &GroupName,
        decisions: &[DecisionRecord],
        shown: &std::collections::BTreeSet<&str>,
    ) -> Result<TrailCheck, PortError> {
        self.check_showing(group, decisions, Some(shown)).await
    }

    async fn check_showing(
        &self,
        group: &GroupName,
        decisions: &[DecisionRecord],
        shown: Option<&std::collections::BTreeSet<&str>>,
    ) -> Result<TrailCheck, PortError> {
        let _one_verification = self.verifying.turn(group).await;
        let before = self.progress.of(group, || {
            Progress::start(
                group.as_str(),
                &self.notary.origin(group.as_str()),
                self.notary.public_key(),
            )
        });
        let appended = self.trail.entries(group, before.size()).await?;
        let newest = self.publisher.newest_published(group).await?;
        let extending = before.clone();
        let extended = tokio::task::spawn_blocking(move || {
            use std::borrow::Cow;
            match extending.extend(&appended, newest.as_deref())? {
                Cow::Borrowed(_) => Ok(None),
                Cow::Owned(next) => Ok(Some(next)),
            }
        })
        .await
        .map_err(|e| PortError::Unavailable(format!("verifying the trail of {group}: {e}")))?;
        let (progress, mut verdict) = match extended {
            Ok(Some(next)) => {
                let next = self.progress.remember(group, Arc::new(next));
                let verified = next.verified().clone();
                (next, Ok(verified))
            }
            Ok(None) => {
                let verified = before.verified().clone();
                (self.progress.remember(group, before), Ok(verified))
            }
            Err(violation) => (before, Err(violation)),
        };
        let verified_ids: std::collections::BTreeSet<&str> = progress.decision_ids().collect();
        // Without `shown`, all; with it, those and the log's rows the verified trail lacks
        // (found in the trail's unverified tail, or missing from it).
        let read: Vec<DecisionRecord> = decisions
            .iter()
            .filter(|d| {
                shown.is_none_or(|shown| {
                    shown.contains(d.id.as_str()) || !verified_ids.contains(d.id.as_str())
                })
            })
            .cloned()
            .collect();
        let entries = self
            .decision_entries(group, &read, decisions, &progress)
            .await?;
        if let (Ok(verified), Some(seq)) = (&verdict, changed_since_verified(&progress, &entries)) {
            verdict = Err(Violation {
                entry: Some(seq),
                message: "changed after it was verified: the store no longer holds the entry the checkpoints vouch for".into(),
                verified: Box::new(verified.clone()),
            });
        }
        let mut decisions = reconcile(group, &entries, &read);
        if let Some(shown) = shown {
            decisions.retain(|d| shown.contains(d.record.id.as_str()) || !d.standing.agrees());
        }
        Ok(TrailCheck { verdict, decisions })
    }

    /// The trail's entries of `read` (some of the log's `decisions`) and of the decisions
    /// verified that the log lacks, with the trail's first (when it began), read by key.
    async fn decision_entries(
        &self,
        group: &GroupName,
        read: &[DecisionRecord],
        decisions: &[DecisionRecord],
        progress: &Progress,
    ) -> Result<Vec<String>, PortError> {
        let logged: std::collections::BTreeSet<&str> =
            decisions.iter().map(|d| d.id.as_str()).collect();
        let unverified = read.iter().filter(|d| !progress.has_verified(&d.id));
        let keys: Vec<String> = std::iter::once(crate::entry::policy_key(0))
            .chain(read.iter().map(|d| AuditRecord::decision_key(&d.id)))
            // When a row the trail may lack is about a version first seen after the trail
            // began, it cannot be from before it.
            .chain(unverified.map(|d| AuditRecord::registration_key(d.version)))
            .chain(
                progress
                    .decision_ids()
                    .filter(|id| !logged.contains(id))
                    .map(AuditRecord::decision_key),
            )
            .collect();
        self.trail.entries_keyed(group, &keys).await
    }
}

/// The first of `entries` that is a decision's whose text is not the one verified.
fn changed_since_verified(progress: &Progress, entries: &[String]) -> Option<u64> {
    entries.iter().find_map(|text| {
        let entry = serde_json::from_str::<crate::Entry>(text).ok()?;
        let EventJson::Decided { decision, .. } = &entry.event else {
            return None;
        };
        progress.vouches_for(&decision.id, text)?.err()
    })
}

/// The groups' verified progress a replica remembers, at most [`TRAILS_REMEMBERED`].
#[derive(Default)]
pub(super) struct Remembered(std::sync::Mutex<BTreeMap<GroupName, Arc<Progress>>>);

impl Remembered {
    fn of(&self, group: &GroupName, start: impl FnOnce() -> Progress) -> Arc<Progress> {
        self.lock()
            .get(group)
            .cloned()
            .unwrap_or_else(|| Arc::new(start()))
    }

    fn remember(&self, group: &GroupName, progress: Arc<Progress>) -> Arc<Progress> {
        let mut remembered = self.lock();
        if remembered.len() >= TRAILS_REMEMBERED && !remembered.contains_key(group) {
            remembered.clear();
        }
        remembered.insert(group.clone(), progress.clone());
        progress
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<GroupName, Arc<Progress>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
