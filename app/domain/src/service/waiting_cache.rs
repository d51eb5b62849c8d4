//! What waits, as this replica last read it: every page's header counts the steps waiting
//! for its reader, so that count must not cost a reading of every waiting version (on AWS a
//! request each) nor a pass over all of them per request.

use super::waiting::WaitingStep;
use super::waiting_snapshot::{Compacting, WaitingSnapshot};
use crate::model::{GroupName, VersionNumber};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// How long this replica answers "what waits?" from its last reading. Another replica's
/// decision shows within this (and the background's next tick); this replica's own at once.
pub const WAITING_FRESH_FOR: time::Duration = time::Duration::seconds(10);

/// A reading this old is read again by the background if a page asked for it since: before
/// it goes stale, so that no request waits for a reading while one is kept.
pub const WAITING_READ_AGAIN_AFTER: time::Duration = time::Duration::seconds(8);

/// What a page asking "what waits?" does: use what is kept, or read (and keep) it first.
pub(super) enum Kept {
    Use(Arc<WaitingSnapshot>),
    Read(Generation),
}

/// Counts this replica's own changes, so that a reading begun before one is not kept as if
/// it held it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Generation(u64);

#[derive(Default)]
pub(super) struct WaitingCache(Mutex<Cached>);

#[derive(Default)]
struct Cached {
    snapshot: Option<Arc<WaitingSnapshot>>,
    generation: u64,
    /// A page asked since the last reading: only then is it worth reading again.
    asked: bool,
    reading: bool,
}

impl WaitingCache {
    /// What a page uses: the kept reading while fresh, or while another reading is under way;
    /// otherwise a reading to make.
    pub(super) fn ask(&self, now: OffsetDateTime) -> Kept {
        let mut cached = self.0.lock().expect("waiting cache");
        cached.asked = true;
        match &cached.snapshot {
            Some(kept) if now - kept.read_at < WAITING_FRESH_FOR || cached.reading => {
                Kept::Use(kept.clone())
            }
            _ => {
                cached.reading = true;
                Kept::Read(Generation(cached.generation))
            }
        }
    }

    /// Whether the background should read again now: a page asked since the last reading,
    /// which is about to go stale, and no reading is under way.
    pub(super) fn due(&self, now: OffsetDateTime) -> Option<Generation> {
        let mut cached = self.0.lock().expect("waiting cache");
        let ageing = match &cached.snapshot {
            Some(kept) => now - kept.read_at >= WAITING_READ_AGAIN_AFTER,
            None => false,
        };
        if !(ageing && cached.asked) || cached.reading {
            return None;
        }
        cached.reading = true;
        Some(Generation(cached.generation))
    }

    /// Keeps a reading made at `read_at` (begun at `generation`). A reading that began before
    /// one of this replica's changes may lack it: kept, but as already stale.
    pub(super) fn keep(
        &self,
        generation: Generation,
        read_at: OffsetDateTime,
        steps: Compacting,
    ) -> Arc<WaitingSnapshot> {
        let mut cached = self.0.lock().expect("waiting cache");
        cached.reading = false;
        cached.asked = false;
        let read_at = if generation.0 == cached.generation {
            read_at
        } else {
            read_at - WAITING_FRESH_FOR
        };
        let snapshot = Arc::new(steps.read_at(read_at));
        cached.snapshot = Some(snapshot.clone());
        snapshot
    }

    /// A reading failed: the next page (or tick) tries again.
    pub(super) fn reading_failed(&self) {
        self.0.lock().expect("waiting cache").reading = false;
    }

    /// One version changed here: its step, as read after the change, replaces the kept one.
    pub(super) fn changed(
        &self,
        group: &GroupName,
        version: VersionNumber,
        step: Option<WaitingStep>,
    ) {
        let mut cached = self.0.lock().expect("waiting cache");
        cached.generation += 1;
        if let Some(kept) = &cached.snapshot {
            cached.snapshot = Some(Arc::new(kept.with(group, version, step)));
        }
    }

    /// A change whose effect could not be read: the next page reads everything again.
    pub(super) fn forget(&self) {
        let mut cached = self.0.lock().expect("waiting cache");
        cached.generation += 1;
        cached.snapshot = None;
    }
}

#[cfg(test)]
mod tests;
