//! What waits, kept as one row per version (the registry's waiting index): written after each
//! change the portal makes or sees, read whole in one read, and repaired by the reconciling
//! scan where the registry changed around the portal.

use super::waiting::WaitingStep;
use super::*;
use crate::identity::Attribution;
use std::collections::{BTreeSet, HashMap};
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

    /// Every step the waiting index holds, each as kept; a row this portal cannot read
    /// (damaged, or written by a newer one) is read from the registry instead.
    pub(super) async fn read_waiting_steps(&self) -> Result<Vec<WaitingStep>, ServiceError> {
        let rows = self.ports.registry.kept_waiting().await?;
        let mut steps = Vec::with_capacity(rows.len());
        let mut unreadable = Vec::new();
        for row in rows {
            match WaitingStep::from_row(&row) {
                Some(step) => steps.push(step),
                None => unreadable.push((row.group, row.version)),
            }
        }
        let read_again: Vec<_> = self
            .stream_records(unreadable)
            .try_filter_map(
                |record| async move { Ok(self.step_of(&record.version, &record.decisions)) },
            )
            .try_collect()
            .await?;
        steps.extend(read_again);
        steps.sort_by(|a, b| waiting_snapshot::order(a).cmp(&waiting_snapshot::order(b)));
        Ok(steps)
    }

    /// The waiting index made true again: every version the registry says may wait and every
    /// version the index holds is read, and each row that says otherwise than the workflow is
    /// rewritten (a version changed or registered around the portal, a write lost to a
    /// failure). Returns how many rows were rewritten.
    pub async fn repair_waiting_index(&self) -> Result<usize, ServiceError> {
        let kept: HashMap<_, _> = self
            .ports
            .registry
            .kept_waiting()
            .await?
            .into_iter()
            .map(|row| ((row.group.clone(), row.version), row))
            .collect();
        let mut listed: BTreeSet<_> = self
            .ports
            .registry
            .versions_with_a_pending_step()
            .await?
            .into_iter()
            .collect();
        listed.extend(kept.keys().cloned());
        let mut records = std::pin::pin!(self.stream_records(listed.into_iter().collect()));
        let mut found = BTreeSet::new();
        let mut rewritten = 0;
        while let Some(record) = records.try_next().await? {
            let (version, decisions) = (&record.version, &record.decisions);
            let key = (version.group.clone(), version.version);
            let step = self.step_of(version, decisions);
            let row = row_of(version, step.as_ref());
            let holds = kept.get(&key).and_then(WaitingStep::from_row);
            if holds != step {
                self.ports.registry.keep_waiting(&row).await?;
                self.waiting.changed(&version.group, version.version, step);
                rewritten += 1;
            }
            found.insert(key);
        }
        for (key, row) in kept {
            if found.contains(&key) {
                continue;
            }
            // The registry no longer has the version.
            let gone = WaitingRow { step: None, ..row };
            self.ports.registry.keep_waiting(&gone).await?;
            self.waiting.changed(&gone.group, gone.version, None);
            rewritten += 1;
        }
        Ok(rewritten)
    }
}
