//! What waits, kept as one row per version (the registry's waiting index): written after each
//! change the portal makes or sees, read whole in one read, and repaired by the reconciling
//! scan where the registry changed around the portal.

use super::waiting::WaitingStep;
use super::waiting_snapshot::Compacting;
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
        let listed = self.ports.registry.versions_with_a_pending_step().await?;
        let mut to_read = kept.named(kept.unreadable.iter());
        let mut listed_kept = HashSet::new();
        for (group, version) in listed {
            match kept.number_of(&group, version) {
                Some(number) => {
                    listed_kept.insert(number);
                }
                None => to_read.push((group, version)),
            }
        }
        to_read.extend(kept.also_to_read(&listed_kept, thorough));
        let mut records = std::pin::pin!(self.stream_records(to_read));
        let mut found = HashSet::new();
        let mut rewritten = 0;
        while let Some(record) = records.try_next().await? {
            let (version, decisions) = (&record.version, &record.decisions);
            let step = self.step_of(version, decisions);
            let row = row_of(version, step.as_ref());
            let holds = kept.number_of(&version.group, version.version);
            if let Some(number) = holds {
                found.insert(number);
            }
            let document = row.step.as_ref().map(|step| digest(&step.document));
            if holds
                .and_then(|number| kept.documents.get(&number))
                .copied()
                != document
            {
                self.ports.registry.keep_waiting(&row).await?;
                rewritten += 1;
            }
        }
        for (group, version, revision) in kept.gone(&found, &listed_kept, thorough) {
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
    groups: HashMap<GroupName, u32>,
    names: Vec<GroupName>,
    revisions: HashMap<(u32, VersionNumber), u64>,
    documents: HashMap<(u32, VersionNumber), u64>,
    /// Rows whose document this portal cannot read: read again on every repair.
    unreadable: HashSet<(u32, VersionNumber)>,
}

impl KeptRows {
    fn insert(&mut self, row: &WaitingRow) {
        let group = match self.groups.get(&row.group) {
            Some(&number) => number,
            None => {
                let number = self.names.len() as u32;
                self.names.push(row.group.clone());
                self.groups.insert(row.group.clone(), number);
                number
            }
        };
        let key = (group, row.version);
        self.revisions.insert(key, row.revision);
        if let Some(kept) = &row.step {
            self.documents.insert(key, digest(&kept.document));
        }
        if WaitingStep::from_row(row).is_none() {
            self.unreadable.insert(key);
        }
    }

    fn number_of(&self, group: &GroupName, version: VersionNumber) -> Option<(u32, VersionNumber)> {
        let key = (*self.groups.get(group)?, version);
        self.revisions.contains_key(&key).then_some(key)
    }

    fn named<'a>(
        &self,
        keys: impl Iterator<Item = &'a (u32, VersionNumber)>,
    ) -> Vec<(GroupName, VersionNumber)> {
        keys.map(|&(group, version)| (self.names[group as usize].clone(), version))
            .collect()
    }

    /// Whether a repair reads the version kept under `key` (its row is unreadable, or not
    /// listed by the registry, or the repair is thorough).
    fn to_read(
        &self,
        key: &(u32, VersionNumber),
        listed: &HashSet<(u32, VersionNumber)>,
        thorough: bool,
    ) -> bool {
        thorough || !listed.contains(key) || self.unreadable.contains(key)
    }

    /// The versions kept that a repair reads, besides the unreadable ones: those not listed
    /// (or, `thorough`, every one).
    fn also_to_read(
        &self,
        listed: &HashSet<(u32, VersionNumber)>,
        thorough: bool,
    ) -> Vec<(GroupName, VersionNumber)> {
        self.named(
            self.revisions.keys().filter(|key| {
                self.to_read(key, listed, thorough) && !self.unreadable.contains(key)
            }),
        )
    }

    /// The versions read for the repair that the registry no longer has.
    fn gone(
        &self,
        found: &HashSet<(u32, VersionNumber)>,
        listed: &HashSet<(u32, VersionNumber)>,
        thorough: bool,
    ) -> Vec<(GroupName, VersionNumber, u64)> {
        self.revisions
            .iter()
            .filter(|(key, _)| self.to_read(key, listed, thorough) && !found.contains(key))
            .map(|(&(group, version), &revision)| {
                (self.names[group as usize].clone(), version, revision)
            })
            .collect()
    }
}
