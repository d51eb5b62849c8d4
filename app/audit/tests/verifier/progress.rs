//! Verification kept and continued (`Progress`): what a page that shows a trail does
//! instead of verifying it whole on every view.

use super::*;
use countersign_audit::Progress;

fn start(trail: &Trail) -> Progress {
    Progress::start(
        GROUP,
        &trail.notary.origin(GROUP),
        trail.notary.public_key(),
    )
}

/// The checkpoint of exactly `size` entries.
fn checkpoint_of(trail: &Trail, size: u64) -> &str {
    trail
        .checkpoints
        .iter()
        .find(|note| countersign_audit::checkpoint::size_of(note) == Some(size))
        .unwrap()
}

/// `progress` continued over the trail's entries up to `size`, with that checkpoint.
fn to(trail: &Trail, progress: &Progress, size: u64) -> Result<Progress, String> {
    let entries = &trail.entries[progress.size() as usize..];
    progress
        .extend(entries, Some(checkpoint_of(trail, size)))
        .map(std::borrow::Cow::into_owned)
        .map_err(|v| v.to_string())
}

#[test]
fn a_trail_verified_in_steps_is_verified_as_it_is_whole() {
    let trail = promoted();
    let whole = verify(&trail.bundle(), None).unwrap();
    let mut progress = start(&trail);
    let end = trail.entries.len() as u64;
    for size in [3, 4, 7, end] {
        progress = to(&trail, &progress, size).unwrap();
        assert_eq!(progress.size(), size);
    }
    let stepped = progress.verified();
    assert_eq!(stepped.entries, whole.entries);
    assert_eq!(stepped.decisions_checked, whole.decisions_checked);
    assert_eq!(stepped.last, whole.last);
    assert_eq!(progress.decision_ids().count(), 5);
    // Nothing appended since: nothing read, nothing changes, nothing copied.
    let again = progress
        .extend(&[], Some(checkpoint_of(&trail, end)))
        .unwrap();
    assert!(matches!(again, std::borrow::Cow::Borrowed(_)));
    assert_eq!(again.verified(), progress.verified());
}

#[test]
fn entries_beyond_the_newest_checkpoint_wait_for_it() {
    let trail = promoted();
    let started = start(&trail);
    let progress = started
        .extend(&trail.entries, Some(checkpoint_of(&trail, 4)))
        .unwrap();
    assert_eq!(
        progress.size(),
        4,
        "verified as far as a checkpoint vouches"
    );
}

#[test]
fn the_rules_carry_over_from_one_step_to_the_next() {
    // Dana's version, verified; then she approves it herself in the next step.
    let mut trail = Trail::new(policy());
    let progress = to(&trail, &start(&trail), trail.entries.len() as u64).unwrap();
    trail
        .decide_under(
            &policy().allowing_self_approval("dev").unwrap(),
            "dana",
            "dev",
            Choice::Approve,
        )
        .unwrap();
    let refused = to(&trail, &progress, trail.entries.len() as u64).unwrap_err();
    assert!(refused.contains("four-eyes"), "{refused}");
}

#[test]
fn what_changed_after_it_was_verified_is_caught_when_shown_and_a_rollback_at_once() {
    let trail = promoted();
    let end = trail.entries.len() as u64;
    let progress = to(&trail, &start(&trail), end).unwrap();
    let at = seq_of_decision(&trail.bundle(), "d-1");
    assert_eq!(
        progress.vouches_for("d-1", &trail.entries[at]),
        Some(Ok(()))
    );
    let rewritten = trail.entries[at].replace("looked at the runs", "did not look");
    assert_eq!(
        progress.vouches_for("d-1", &rewritten),
        Some(Err(at as u64))
    );
    assert_eq!(progress.vouches_for("d-none", &rewritten), None);

    // The store rolled back behind the newest checkpoint: named at once.
    let cut = progress
        .extend(&[], Some(checkpoint_of(&trail, end)))
        .map(|_| ());
    assert!(cut.is_ok());
    let shorter = to(&trail, &start(&trail), 4).unwrap();
    let missing = shorter
        .extend(&trail.entries[4..6], Some(checkpoint_of(&trail, end)))
        .unwrap_err();
    assert!(missing.to_string().contains("missing"), "{missing}");

    // A new entry changed before it was verified: named at its place.
    let mut changed = trail.entries[4..].to_vec();
    changed[1] = changed[1].replace("looked at the runs", "did not look");
    let caught = shorter
        .extend(&changed, Some(checkpoint_of(&trail, end)))
        .unwrap_err();
    assert_eq!(caught.entry, Some(5));
}
