use super::*;
use countersign_domain::service::LiveState;
use countersign_domain::testing::{approver, decided_first, registered};

fn detail_for(
    policy: &Policy,
    version: &ModelVersion,
    live: &[(&str, u32)],
    actor: &Actor,
) -> VersionDetail {
    let record = VersionRecord {
        version: version.clone(),
        decisions: vec![],
    };
    let live = LiveState {
        versions: live
            .iter()
            .map(|(env, n)| {
                (
                    Environment::parse(env).unwrap(),
                    countersign_domain::service::LiveVersion {
                        version: VersionNumber::new(*n).unwrap(),
                        since: OffsetDateTime::UNIX_EPOCH,
                    },
                )
            })
            .collect(),
        drift: vec![],
    };
    version_detail(policy, &record, &[], &[], &live, actor, &nobody_told())
}

fn nobody_told() -> Told {
    Told {
        request: None,
        follow_ups: FollowUpsQueued::default(),
        outbox_only: false,
        now: OffsetDateTime::UNIX_EPOCH,
    }
}

/// Alice's signed approval of dev on `version`, and the version it leaves.
fn alice_approves_dev(policy: &Policy, version: &ModelVersion) -> (DecisionRecord, ModelVersion) {
    let request = countersign_domain::DecisionRequest::new(
        Environment::parse("dev").unwrap(),
        Choice::Approve,
        "fine",
    );
    let stamp = countersign_domain::Stamp {
        id: "d-1".into(),
        at: OffsetDateTime::UNIX_EPOCH,
    };
    let effect =
        workflow::decide(policy, version, &[], &approver("alice"), &request, stamp).unwrap();
    let approved = workflow::apply(version, &effect);
    (effect.record, approved)
}

/// The review page Bob, an approver, sees of `version` after `approval`.
fn bobs_page(policy: &Policy, version: ModelVersion, approval: &DecisionRecord) -> VersionDetail {
    let record = VersionRecord {
        version,
        decisions: vec![approval.clone()],
    };
    version_detail(
        policy,
        &record,
        &[],
        &[],
        &LiveState::default(),
        &approver("bob"),
        &nobody_told(),
    )
}

fn step<'a>(detail: &'a VersionDetail, environment: &str) -> &'a StepView {
    detail
        .track
        .iter()
        .find(|s| s.environment == environment)
        .unwrap()
}

#[test]
fn the_review_page_says_who_may_decide_and_why_not() {
    let policy = Policy::new(Environments::default(), "approvers");
    let version = registered(&policy);
    let alice = detail_for(&policy, &version, &[], &approver("alice"));
    assert!(step(&alice, "dev").decidable);
    assert!(!step(&alice, "test").decidable);
    assert_eq!(alice.why_no_decision, None);

    let dana = detail_for(&policy, &version, &[], &approver("dana"));
    assert!(!step(&dana, "dev").decidable);
    assert_eq!(
            dana.why_no_decision.as_deref(),
            Some("You cannot decide dev: you registered this version, so someone else must approve it for dev.")
        );
    let viewer = Actor {
        person: approver("vic").person,
        groups: Default::default(),
    };
    assert_eq!(
        detail_for(&policy, &version, &[], &viewer)
            .why_no_decision
            .as_deref(),
        Some("You cannot decide dev: you are not in an approver group for dev.")
    );
}

#[test]
fn a_rollback_is_offered_to_approvers_where_this_version_was_approved_and_another_is_live() {
    let policy = Policy::new(Environments::default(), "approvers");
    let approved = decided_first(&policy, &registered(&policy), Choice::Approve);
    let number = approved.version.get();
    let offered = |live: &[(&str, u32)], actor: &Actor| {
        step(&detail_for(&policy, &approved, live, actor), "dev").rollback_offered
    };
    assert!(offered(&[("dev", number + 1)], &approver("bob")));
    assert!(
        !offered(&[("dev", number)], &approver("bob")),
        "already live"
    );
    assert!(!offered(&[], &approver("bob")), "nothing live to replace");
    let viewer = Actor {
        person: approver("vic").person,
        groups: Default::default(),
    };
    assert!(!offered(&[("dev", number + 1)], &viewer));
    let live_here = detail_for(&policy, &approved, &[("dev", number)], &approver("bob"));
    assert!(step(&live_here, "dev").live);
}

#[test]
fn a_signature_the_registry_entry_no_longer_matches_is_shown_as_such() {
    let policy = Policy::new(Environments::default(), "approvers");
    let version = registered(&policy);
    let (approval, approved) = alice_approves_dev(&policy, &version);
    let page = |version: ModelVersion| bobs_page(&policy, version, &approval);
    let signature = |detail: &VersionDetail| {
        step(detail, "dev").decisions[0]
            .signature
            .clone()
            .expect("signed")
    };
    let intact = page(approved.clone());
    assert!(intact.broken_signatures.is_empty());
    assert!(signature(&intact).still_binds);
    assert_eq!(signature(&intact).meaning, "Approved for release to dev");
    assert!(step(&intact, "test").decidable);

    let mut rebadged = approved;
    rebadged.image_uri = "registry.example/other:1".into();
    let broken = page(rebadged);
    assert!(!signature(&broken).still_binds);
    assert_eq!(broken.broken_signatures.len(), 1);
    assert!(broken.broken_signatures[0].starts_with("The approval of dev no longer matches"));
    assert!(!step(&broken, "test").decidable, "not promoted further");
    assert!(broken
        .why_no_decision
        .as_deref()
        .is_some_and(|why| why.contains("no longer matches")));
}

#[test]
fn a_step_counts_the_approvals_that_still_bind_as_the_waiting_panel_does() {
    let policy = Policy::new(Environments::default(), "approvers")
        .with_required_approvals("dev", 2)
        .unwrap();
    let (approval, once) = alice_approves_dev(&policy, &registered(&policy));
    let page = |version: ModelVersion| bobs_page(&policy, version, &approval);
    let intact = page(once.clone());
    assert_eq!(step(&intact, "dev").approvals_given, 1);
    assert_eq!(intact.waiting.as_ref().unwrap().still_needed, 1);

    let mut changed = once;
    changed.metrics.insert("auc".into(), 0.5);
    let broken = page(changed);
    assert_eq!(
        step(&broken, "dev").approvals_given,
        0,
        "an approval whose signature no longer binds does not count"
    );
    assert_eq!(broken.waiting.as_ref().unwrap().still_needed, 2);
}
