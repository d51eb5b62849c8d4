//! What waits, kept as one row per version (the registry's waiting index): written after each
//! change the portal makes or sees, read whole in one read, and repaired by the reconciling
//! scan where the registry changed around the portal.

use super::waiting::WaitingStep;
use super::waiting_snapshot::{Compacting, Table};
use super::*;
use crate::identity::Attribution;
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;

/// A waiting step as the index keeps it. Its field names are the stored document's: renaming
/// one makes every kept row unreadable (read again from the registry, so nothing is lost,
/// but every reading pays for it until the scan rewrites them).
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredStep {
    environment: Environment,
    #[serde(with = "time::serde::rfc3339")]
    since: OffsetDateTime,
    approvals: Vec<Person>,
    needed: u8,
    attributed_to: Vec<String>,
    registrant_verified: bool,
    signature_broken: bool,
}

impl WaitingStep {
    /// The step as the waiting index keeps it.
    pub fn kept(&self) -> KeptStep {
        let stored = StoredStep {
            environment: self.waiting.environment.clone(),
            since: self.waiting.since,
            approvals: self.waiting.approvals.clone(),
            needed: self.waiting.needed,
            attributed_to: self
                .attributed_to
                .identifiers()
                .map(str::to_owned)
                .collect(),
            registrant_verified: self.attributed_to.is_verified(),
            signature_broken: self.signature_broken,
        };
        KeptStep {
            since: self.waiting.since,
            document: serde_json::to_string(&stored).expect("a waiting step serialises"),
        }
    }

    /// The step a kept row holds, if it holds one this portal can read.
    pub fn from_row(row: &WaitingRow) -> Option<Self> {
        let kept = row.step.as_ref()?;
        let stored: StoredStep = serde_json::from_str(&kept.document).ok()?;
        let attributed_to = stored
            .attributed_to
            .iter()
            .fold(Attribution::nobody(), |named, identifier| {
                named.and(identifier)
            })
            .and_verified_when(stored.registrant_verified);
        Some(Self {
            group: row.group.clone(),
            version: row.version,
            waiting: workflow::Waiting {
                environment: stored.environment,
                since: stored.since,
                approvals: stored.approvals,
                needed: stored.needed,
            },
            attributed_to,
            signature_broken: stored.signature_broken,
        })
    }
}

fn row_of(version: &ModelVersion, step: Option<&WaitingStep>) -> WaitingRow {
    WaitingRow {
        group: version.group.clone(),
        version: version.version,
        revision: version.revision,
        step: step.map(WaitingStep::kept),
    }
}

impl Services {
    /// What waits on `version` now, as `decisions` leave it: written to the waiting index and
    /// to this replica's reading. This replica's pages show it even if the index cannot be
    /// written; the error says the index lags until the scan repairs it.
    pub(super) async fn keep_waiting(
        &self,
        version: &ModelVersion,
        decisions: &[DecisionRecord],
    ) -> Result<(), ServiceError> {
        let step = self.step_of(version, decisions);
        let row = row_of(version, step.as_ref());
        self.waiting.changed(&version.group, version.version, step);
        self.ports.registry.keep_waiting(&row).await?;
        Ok(())
    }

    /// Every step the waiting index holds, each as kept and made compact as it arrives; a
    /// row this portal cannot read (damaged, or written by a newer one) is read from the
    /// registry instead.
    pub(super) async fn read_waiting_steps(&self) -> Result<Compacting, ServiceError> {
        let mut compacting = Compacting::default();
        let mut unreadable = Vec::new();
        self.ports
            .registry
            .kept_waiting(&mut |row| match WaitingStep::from_row(&row) {
                Some(step) => compacting.push(&step),
                None => unreadable.push((row.group, row.version)),
            })
            .await?;
        let mut read_again = std::pin::pin!(self.stream_records(unreadable));
        while let Some(record) = read_again.try_next().await? {
            if let Some(step) = self.step_of(&record.version, &record.decisions) {
                compacting.push(&step);
            }
        }
        Ok(compacting)
    }

    /// The waiting index made true again where it lags the registry: a version changed or
    /// registered around the portal, a write lost to a failure. The registry's list of
    /// versions that may wait is compared with the rows kept, and a version on one but not
    /// the other is read; `thorough` reads every version on either (at start: the rules may
    /// have changed since the rows were written). Returns how many rows were rewritten.
    pub async fn repair_waiting_index(&self, thorough: bool) -> Result<usize, ServiceError> {
        let mut kept = KeptRows::default();
        self.ports
            .registry
            .kept_waiting(&mut |row| kept.insert(&row))
            .await?;
        let mut listed = HashSet::new();
        let mut to_read = Vec::new();
        for (group, version) in self.ports.registry.versions_with_a_pending_step().await? {
            match kept.key_of(&group, version) {
                Some(key) => {
                    listed.insert(key);
                }
                None => to_read.push((group, version)),
            }
        }
        let read_again = |key: &(u32, VersionNumber), row: &KeptRow| {
            thorough || row.unreadable || !listed.contains(key)
        };
        to_read.extend(kept.named(&read_again));
        let mut records = std::pin::pin!(self.stream_records(to_read));
        let mut found = HashSet::new();
        let mut rewritten = 0;
        while let Some(record) = records.try_next().await? {
            let (version, decisions) = (&record.version, &record.decisions);
            let step = self.step_of(version, decisions);
            let row = row_of(version, step.as_ref());
            let key = kept.key_of(&version.group, version.version);
            let holds = key
                .and_then(|key| kept.rows.get(&key))
                .map(|kept| kept.digest);
            if let Some(key) = key {
                found.insert(key);
            }
            if holds != row.step.as_ref().map(|step| digest(&step.document)) {
                self.ports.registry.keep_waiting(&row).await?;
                rewritten += 1;
            }
        }
        // Read, and no longer in the registry.
        let gone = |key: &(u32, VersionNumber), row: &KeptRow| {
            read_again(key, row) && !found.contains(key)
        };
        for (group, version, revision) in kept.revisions(&gone) {
            let gone = WaitingRow {
                group,
                version,
                revision,
                step: None,
            };
            self.ports.registry.keep_waiting(&gone).await?;
            rewritten += 1;
        }
        if rewritten > 0 {
            // Read again whole rather than changed row by row: a repair may change many.
            self.waiting.forget();
        }
        Ok(rewritten)
    }
}

/// A digest of a kept document: what a repair compares, instead of holding every document.
fn digest(document: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    document.hash(&mut hasher);
    hasher.finish()
}

/// The rows of the waiting index as a repair needs them: which versions, at which revision,
/// and a digest of each document (group names kept once).
#[derive(Default)]
struct KeptRows {
    groups: Table<GroupName>,
    rows: HashMap<(u32, VersionNumber), KeptRow>,
}

struct KeptRow {
    revision: u64,
    digest: u64,
    /// This portal cannot read the document: read again on every repair.
    unreadable: bool,
}

impl KeptRows {
    fn insert(&mut self, row: &WaitingRow) {
        let Some(step) = &row.step else { return };
        let key = (self.groups.number(&row.group), row.version);
        let kept = KeptRow {
            revision: row.revision,
            digest: digest(&step.document),
            unreadable: WaitingStep::from_row(row).is_none(),
        };
        self.rows.insert(key, kept);
    }

    fn key_of(&self, group: &GroupName, version: VersionNumber) -> Option<(u32, VersionNumber)> {
        let key = (self.groups.find(group)?, version);
        self.rows.contains_key(&key).then_some(key)
    }

    /// The versions of the rows `chosen` picks.
    fn named(
        &self,
        chosen: &impl Fn(&(u32, VersionNumber), &KeptRow) -> bool,
    ) -> Vec<(GroupName, VersionNumber)> {
        self.revisions(chosen)
            .into_iter()
            .map(|(group, version, _)| (group, version))
            .collect()
    }

    /// The versions and revisions of the rows `chosen` picks.
    fn revisions(
        &self,
        chosen: &impl Fn(&(u32, VersionNumber), &KeptRow) -> bool,
    ) -> Vec<(GroupName, VersionNumber, u64)> {
        self.rows
            .iter()
            .filter(|(key, row)| chosen(key, row))
            .map(|(&(group, version), row)| (self.groups.get(group).clone(), version, row.revision))
            .collect()
    }
}
