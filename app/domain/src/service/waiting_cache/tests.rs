use super::*;
use crate::environment::Environments;
use crate::policy::Policy;
use crate::service::waiting_snapshot::Compacting;
use crate::testing::{approver, registered};
use std::cell::Cell;
use time::Duration;

const T0: OffsetDateTime = OffsetDateTime::UNIX_EPOCH;

/// Version `number` of `churn`, waiting for its first environment since `since` seconds.
fn step(number: u32, since: i64) -> WaitingStep {
    let policy = Policy::new(Environments::default(), "approvers");
    let mut version = registered(&policy);
    version.version = VersionNumber::new(number).unwrap();
    let mut step = WaitingStep::of(&policy, &version, &[]).expect("a new version waits");
    step.waiting.since = T0 + Duration::seconds(since);
    step
}

fn number(n: u32) -> VersionNumber {
    VersionNumber::new(n).unwrap()
}

fn numbers(snapshot: &WaitingSnapshot) -> Vec<u32> {
    snapshot.steps().map(|s| s.version.get()).collect()
}

/// A page asking when nothing fresh is kept: it is to read.
fn reading(cache: &WaitingCache, at: OffsetDateTime) -> Generation {
    match cache.ask(at) {
        Kept::Read(generation) => generation,
        Kept::Use(_) => panic!("nothing fresh is kept: the page reads"),
    }
}

fn read(cache: &WaitingCache, at: OffsetDateTime, steps: Vec<WaitingStep>) -> Arc<WaitingSnapshot> {
    let generation = reading(cache, at);
    cache.keep(generation, at, Compacting::of(&steps))
}

fn kept(cache: &WaitingCache, at: OffsetDateTime) -> Arc<WaitingSnapshot> {
    match cache.ask(at) {
        Kept::Use(snapshot) => snapshot,
        Kept::Read(_) => panic!("a fresh reading is kept"),
    }
}

#[test]
fn a_reading_is_used_while_fresh_and_read_again_once_stale() {
    let cache = WaitingCache::default();
    read(&cache, T0, vec![step(1, 0)]);
    assert_eq!(numbers(&kept(&cache, T0 + Duration::seconds(9))), [1]);
    reading(&cache, T0 + WAITING_FRESH_FOR);
}

#[test]
fn while_a_reading_is_under_way_pages_use_the_stale_one() {
    let cache = WaitingCache::default();
    read(&cache, T0, vec![step(1, 0)]);
    let later = T0 + WAITING_FRESH_FOR;
    reading(&cache, later);
    assert_eq!(
        numbers(&kept(&cache, later)),
        [1],
        "one reading at a time: the next page uses what is kept"
    );
    cache.reading_failed();
    assert!(
        matches!(cache.ask(later), Kept::Read(_)),
        "a failed reading leaves the next page to read"
    );
}

#[test]
fn the_background_reads_again_before_staleness_only_when_a_page_asked() {
    let cache = WaitingCache::default();
    assert!(cache.due(T0).is_none(), "nothing kept, nobody asked");
    read(&cache, T0, vec![step(1, 0)]);
    let ageing = T0 + WAITING_READ_AGAIN_AFTER;
    assert!(
        cache.due(ageing).is_none(),
        "no page asked since the reading"
    );
    kept(&cache, ageing);
    assert!(
        cache.due(ageing - Duration::seconds(1)).is_none(),
        "still young"
    );
    let generation = cache.due(ageing).expect("asked and ageing: read again");
    assert!(cache.due(ageing).is_none(), "one reading at a time");
    cache.keep(generation, ageing, Compacting::of(&[step(2, 0)]));
    assert_eq!(numbers(&kept(&cache, ageing + Duration::seconds(9))), [2]);
}

#[test]
fn a_change_here_replaces_its_step_in_order_and_removes_what_no_longer_waits() {
    let cache = WaitingCache::default();
    read(&cache, T0, vec![step(1, 10), step(2, 30)]);
    let group = step(1, 0).group;
    cache.changed(&group, number(3), Some(step(3, 20)));
    cache.changed(&group, number(1), None);
    assert_eq!(
        numbers(&kept(&cache, T0)),
        [3, 2],
        "the longest waiting first"
    );
}

#[test]
fn a_reading_begun_before_a_change_here_is_kept_as_stale() {
    let cache = WaitingCache::default();
    read(&cache, T0, vec![step(1, 0)]);
    let later = T0 + WAITING_FRESH_FOR;
    let generation = reading(&cache, later);
    cache.changed(&step(1, 0).group, number(1), None);
    cache.keep(generation, later, Compacting::of(&[step(1, 0)]));
    assert!(
        matches!(cache.ask(later), Kept::Read(_)),
        "it may lack the change: read again"
    );
}

/// Version `number` as [`step`] makes it, with a signature that no longer matches it.
fn broken(number: u32, since: i64) -> WaitingStep {
    WaitingStep {
        signature_broken: true,
        ..step(number, since)
    }
}

#[test]
fn what_a_reader_may_approve_is_worked_out_once_per_reading_and_kind_of_step() {
    let cache = WaitingCache::default();
    let first = read(&cache, T0, vec![step(1, 0), broken(2, 5), step(3, 7)]);
    let asked = Cell::new(0);
    let intact = |s: &WaitingStep| {
        asked.set(asked.get() + 1);
        !s.signature_broken
    };
    let alice = approver("alice");
    assert_eq!(&*first.approvable_by(&alice, intact), [0, 2]);
    assert_eq!(&*first.approvable_by(&alice, intact), [0, 2]);
    assert_eq!(
        asked.get(),
        2,
        "asked once per kind of step (1 and 3 are alike), and once per reading"
    );
    first.approvable_by(&approver("bob"), intact);
    assert_eq!(asked.get(), 4, "each reader their own");
    cache.changed(&step(1, 0).group, number(2), Some(step(2, 5)));
    assert_eq!(
        &*kept(&cache, T0).approvable_by(&alice, intact),
        [0, 1, 2],
        "worked out again after a change"
    );
}

#[test]
fn a_compact_reading_gives_back_each_step_whole() {
    let cache = WaitingCache::default();
    let mut approved_once = step(4, 3);
    approved_once.waiting.approvals = vec![crate::testing::person("bob")];
    approved_once.waiting.needed = 2;
    let steps = vec![step(1, 0), broken(2, 1), approved_once];
    let snapshot = read(&cache, T0, steps.clone());
    assert_eq!(snapshot.steps().collect::<Vec<_>>(), steps);
    assert_eq!(snapshot.step(2), steps[2]);
}
