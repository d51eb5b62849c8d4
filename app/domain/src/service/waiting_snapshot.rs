//! A reading of what waits, held compactly: a registry can hold a hundred thousand versions
//! waiting for someone, and every page's header asks about them. Each step is kept as a few
//! numbers; the names, people and attributions they point to are kept once each.

use super::waiting::WaitingStep;
use crate::environment::Environment;
use crate::identity::Attribution;
use crate::model::{GroupFilter, GroupName, Person, VersionNumber};
use crate::policy::Actor;
use crate::workflow::Waiting;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// How many readers' lists a reading remembers before it forgets them all: each is a list of
/// positions, and a reading lasts seconds.
const READERS_REMEMBERED: usize = 1024;

/// The steps waiting for decisions as read at one time (with this replica's own changes
/// since), the longest waiting first, and which of them each reader may approve.
pub struct WaitingSnapshot {
    pub(super) read_at: OffsetDateTime,
    kept: Kept,
    approvable: Mutex<HashMap<Actor, Arc<[usize]>>>,
}

/// One waiting step as numbers: where its parts are in the snapshot's tables.
#[derive(Clone, Copy)]
struct Compact {
    since: OffsetDateTime,
    version: VersionNumber,
    group: u32,
    attributed_to: u32,
    approvals: u32,
    environment: u8,
    needed: u8,
    signature_broken: bool,
}

impl Compact {
    /// What approving depends on, besides the reader: steps alike in this are alike to
    /// every rule of who may approve (`WaitingStep::may_be_approved_by`; a rule that comes to
    /// depend on more, the time waited say, adds it here).
    fn likeness(&self) -> (u32, u8, u32, u32, u8, bool) {
        (
            self.group,
            self.environment,
            self.attributed_to,
            self.approvals,
            self.needed,
            self.signature_broken,
        )
    }
}

/// Each distinct value once, by number.
#[derive(Clone)]
pub(super) struct Table<T> {
    values: Vec<T>,
    numbers: HashMap<T, u32>,
}

impl<T: Clone + Eq + Hash> Default for Table<T> {
    fn default() -> Self {
        Self {
            values: Vec::new(),
            numbers: HashMap::new(),
        }
    }
}

impl<T: Clone + Eq + Hash> Table<T> {
    pub(super) fn number(&mut self, value: &T) -> u32 {
        if let Some(&number) = self.numbers.get(value) {
            return number;
        }
        let number = u32::try_from(self.values.len()).expect("fewer than 2^32 distinct values");
        self.values.push(value.clone());
        self.numbers.insert(value.clone(), number);
        number
    }

    /// The number of `value`, if it has one.
    pub(super) fn find(&self, value: &T) -> Option<u32> {
        self.numbers.get(value).copied()
    }

    pub(super) fn get(&self, number: u32) -> &T {
        &self.values[number as usize]
    }
}

#[derive(Clone, Default)]
struct Kept {
    steps: Vec<Compact>,
    groups: Table<GroupName>,
    environments: Table<Environment>,
    attributions: Table<Attribution>,
    approvals: Table<Vec<Person>>,
}

impl Kept {
    fn compact(&mut self, step: &WaitingStep) -> Compact {
        let environment = self.environments.number(&step.waiting.environment);
        Compact {
            since: step.waiting.since,
            version: step.version,
            group: self.groups.number(&step.group),
            attributed_to: self.attributions.number(&step.attributed_to),
            approvals: self.approvals.number(&step.waiting.approvals),
            environment: u8::try_from(environment).expect("fewer than 256 environments"),
            needed: step.waiting.needed,
            signature_broken: step.signature_broken,
        }
    }

    fn step(&self, compact: &Compact) -> WaitingStep {
        WaitingStep {
            group: self.groups.get(compact.group).clone(),
            version: compact.version,
            waiting: Waiting {
                environment: self
                    .environments
                    .get(u32::from(compact.environment))
                    .clone(),
                since: compact.since,
                approvals: self.approvals.get(compact.approvals).clone(),
                needed: compact.needed,
            },
            attributed_to: self.attributions.get(compact.attributed_to).clone(),
            signature_broken: compact.signature_broken,
        }
    }

    /// The longest waiting first; then by group and version, so that a reading's order is
    /// stable.
    fn order(&self, compact: &Compact) -> (OffsetDateTime, &GroupName, VersionNumber) {
        (
            compact.since,
            self.groups.get(compact.group),
            compact.version,
        )
    }
}

/// A reading being made: each step made compact as it arrives.
#[derive(Default)]
pub(super) struct Compacting(Kept);

impl Compacting {
    #[cfg(test)]
    pub(super) fn of(steps: &[WaitingStep]) -> Self {
        let mut compacting = Self::default();
        steps.iter().for_each(|step| compacting.push(step));
        compacting
    }

    pub(super) fn push(&mut self, step: &WaitingStep) {
        let compact = self.0.compact(step);
        self.0.steps.push(compact);
    }

    /// The reading, in the order [`order`] gives.
    pub(super) fn read_at(self, read_at: OffsetDateTime) -> WaitingSnapshot {
        let mut kept = self.0;
        let mut steps = std::mem::take(&mut kept.steps);
        steps.sort_by(|a, b| kept.order(a).cmp(&kept.order(b)));
        steps.shrink_to_fit();
        kept.steps = steps;
        WaitingSnapshot::of(read_at, kept)
    }
}

impl WaitingSnapshot {
    fn of(read_at: OffsetDateTime, kept: Kept) -> Self {
        Self {
            read_at,
            kept,
            approvable: Mutex::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.kept.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kept.steps.is_empty()
    }

    /// The step at `position`, whole.
    pub fn step(&self, position: usize) -> WaitingStep {
        self.kept.step(&self.kept.steps[position])
    }

    /// Every step, whole, in order (a copy each: for a few, or for tests).
    pub fn steps(&self) -> impl Iterator<Item = WaitingStep> + '_ {
        self.kept
            .steps
            .iter()
            .map(|compact| self.kept.step(compact))
    }

    /// Those of `positions` whose step is in a group `filter` matches, in order: each
    /// group's name is matched once.
    pub fn in_groups(&self, positions: &[usize], filter: &GroupFilter) -> Vec<usize> {
        let matches: Vec<bool> = self
            .kept
            .groups
            .values
            .iter()
            .map(|group| filter.matches(group))
            .collect();
        positions
            .iter()
            .copied()
            .filter(|&position| matches[self.kept.steps[position].group as usize])
            .collect()
    }

    /// The positions of the steps `actor` may approve (`may_approve` says which), worked out
    /// once per reader and reading, and once per kind of step: steps alike in everything
    /// approving depends on are asked about once.
    pub(super) fn approvable_by(
        &self,
        actor: &Actor,
        may_approve: impl Fn(&WaitingStep) -> bool,
    ) -> Arc<[usize]> {
        if let Some(found) = self.approvable.lock().expect("waiting snapshot").get(actor) {
            return found.clone();
        }
        let mut answers = HashMap::new();
        let positions: Arc<[usize]> = self
            .kept
            .steps
            .iter()
            .enumerate()
            .filter(|(_, compact)| {
                *answers
                    .entry(compact.likeness())
                    .or_insert_with(|| may_approve(&self.kept.step(compact)))
            })
            .map(|(position, _)| position)
            .collect();
        let mut remembered = self.approvable.lock().expect("waiting snapshot");
        if remembered.len() >= READERS_REMEMBERED {
            remembered.clear();
        }
        remembered.insert(actor.clone(), positions.clone());
        positions
    }

    /// This reading with one version's step replaced: `None` when it no longer waits.
    pub(super) fn with(
        &self,
        group: &GroupName,
        version: VersionNumber,
        step: Option<WaitingStep>,
    ) -> Self {
        let mut kept = self.kept.clone();
        kept.steps.retain(|compact| {
            !(compact.version == version && kept.groups.get(compact.group) == group)
        });
        if let Some(step) = step {
            let compact = kept.compact(&step);
            let at = kept
                .steps
                .partition_point(|other| kept.order(other) < kept.order(&compact));
            kept.steps.insert(at, compact);
        }
        Self::of(self.read_at, kept)
    }
}
