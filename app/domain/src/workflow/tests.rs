//! The rules, case by case: a `Scenario` walks a version through decisions and states.

use super::*;
use crate::environment::Environments;
use crate::identity::Attribution;
use crate::testing::{approver, person};
use std::collections::BTreeSet;
use time::macros::datetime;
use StepState::*;

const NOW: OffsetDateTime = datetime!(2026-11-26 10:00 UTC);

fn env(name: &str) -> Environment {
    Environment::parse(name).unwrap()
}

/// Two approvals for prod, one elsewhere, approvers in the group "approvers".
fn policy() -> Policy {
    Policy::new(Environments::default(), "approvers")
        .with_required_approvals("prod", 2)
        .unwrap()
}

/// One version under a policy, with its decision log, decided step by step.
struct Scenario {
    policy: Policy,
    version: ModelVersion,
    log: Vec<DecisionRecord>,
    /// When the next decision is taken.
    at: OffsetDateTime,
}

impl Scenario {
    fn registered_by(registrant: &str) -> Self {
        Self::with_policy(policy(), registrant)
    }

    /// Registered by a caller bound to `registrant`: the registrant is established.
    fn with_policy(policy: Policy, registrant: &str) -> Self {
        Self::registered(policy, registrant, true)
    }

    /// Registered by a caller whose word alone names `registrant`.
    fn declared_by(policy: Policy, registrant: &str) -> Self {
        Self::registered(policy, registrant, false)
    }

    fn registered(policy: Policy, registrant: &str, registrant_verified: bool) -> Self {
        let registration = Registration {
            group: GroupName::parse("churn").unwrap(),
            image_uri: "img".into(),
            model_data_url: "s3://m".into(),
            digests: ArtifactDigests::default(),
            description: String::new(),
            metrics: Metrics::new(),
            metadata: CustomMetadata::new(),
            registered_by: person(registrant),
            registered_through: None,
            registrant_verified,
        };
        let version = register(&policy, registration, NOW)
            .into_version(VersionNumber::new(1).unwrap(), "arn:local:churn/1".into());
        Self {
            policy,
            version,
            log: vec![],
            at: NOW,
        }
    }

    /// Asks for a decision and, when accepted, applies it.
    fn decide_as(
        &mut self,
        actor: &Actor,
        environment: &str,
        choice: Choice,
        reason: &str,
    ) -> Result<DecisionEffect, Refusal> {
        let request = DecisionRequest::new(env(environment), choice, reason);
        let stamp = Stamp {
            id: format!("d{}", self.log.len()),
            at: self.at,
        };
        let effect = decide(
            &self.policy,
            &self.version,
            &self.log,
            actor,
            &request,
            stamp,
        )?;
        self.version = apply(&self.version, &effect);
        self.log.push(effect.record.clone());
        Ok(effect)
    }

    fn approve(&mut self, who: &str, environment: &str) -> Result<DecisionEffect, Refusal> {
        self.decide_as(&approver(who), environment, Choice::Approve, "looks good")
    }

    fn reject(
        &mut self,
        who: &str,
        environment: &str,
        reason: &str,
    ) -> Result<DecisionEffect, Refusal> {
        self.decide_as(&approver(who), environment, Choice::Reject, reason)
    }

    /// Moves the clock of the next decisions on by `hours`.
    fn later(&mut self, hours: i64) -> &mut Self {
        self.at += time::Duration::hours(hours);
        self
    }

    fn waiting(&self) -> Option<Waiting> {
        waiting(&self.policy, &self.version, &self.log)
    }

    fn states(&self) -> Vec<StepState> {
        self.version
            .steps
            .in_order(self.policy.environments())
            .map(|(_, s)| s)
            .collect()
    }

    fn state(&self, environment: &str) -> StepState {
        self.version.steps.state(&env(environment))
    }

    fn offered_to(&self, who: &str) -> Vec<String> {
        let actor = approver(who);
        decidable_environments(&self.policy, &self.version, &self.log, &actor)
            .map(|e| e.to_string())
            .collect()
    }
}

// Proves: WF-01.
#[test]
fn registration_makes_the_first_environment_pending() {
    let s = Scenario::registered_by("dana");
    assert_eq!(
        s.states(),
        [
            PendingManualApproval,
            NotRequested,
            NotRequested,
            NotRequested
        ]
    );
    assert_eq!(
        s.version.approval_status,
        ApprovalStatus::PendingManualApproval
    );
}

#[test]
fn approving_dev_approves_the_version_requests_the_rest_and_deploys() {
    let mut s = Scenario::registered_by("dana");
    let effect = s.approve("alice", "dev").unwrap();
    assert_eq!(
        s.states(),
        [
            Approved,
            PendingManualApproval,
            PendingManualApproval,
            PendingManualApproval
        ]
    );
    assert_eq!(s.version.approval_status, ApprovalStatus::Approved);
    let deployment = effect.deployment.expect("dev approval deploys");
    assert_eq!(deployment.environment.as_str(), "dev");
    assert_eq!(deployment.approved_by.subject, "alice");
    assert_eq!(effect.record.resulting_state, Approved);
    assert_eq!(s.version.revision, 1);
}

// Proves: WF-02.
#[test]
fn only_approvers_decide() {
    let mut s = Scenario::registered_by("dana");
    let outsider = Actor {
        person: person("oscar"),
        groups: BTreeSet::from(["data-scientists".to_string()]),
    };
    for choice in [Choice::Approve, Choice::Reject] {
        let refusal = s.decide_as(&outsider, "dev", choice, "no").unwrap_err();
        assert!(matches!(refusal, Refusal::NotAnApprover { .. }));
    }
}

// Proves: WF-01.
#[test]
fn an_environment_waits_for_the_one_before_it() {
    let mut s = Scenario::registered_by("dana");
    assert_eq!(
        s.approve("alice", "test").unwrap_err(),
        Refusal::EarlierNotApproved {
            environment: env("test"),
            earlier: env("dev")
        }
    );
    s.approve("alice", "dev").unwrap();
    // uat is pending after dev's approval (as the seed writes it) but still waits for test.
    let refusal = s.approve("bob", "uat").unwrap_err();
    assert!(matches!(refusal, Refusal::EarlierNotApproved { .. }));
}

// Proves: WF-06.
#[test]
fn a_rejection_needs_a_reason_and_blank_is_no_reason() {
    let mut s = Scenario::registered_by("dana");
    for reason in ["", "   \n"] {
        assert_eq!(
            s.reject("alice", "dev", reason).unwrap_err(),
            Refusal::ReasonRequired
        );
    }
    assert_eq!(s.version.revision, 0, "a refused decision changes nothing");
}

#[test]
fn reasons_are_bounded() {
    let mut s = Scenario::registered_by("dana");
    let long = "x".repeat(MAX_REASON_CHARS + 1);
    let refusal = s
        .decide_as(&approver("alice"), "dev", Choice::Approve, &long)
        .unwrap_err();
    assert_eq!(refusal, Refusal::ReasonTooLong);
}

#[test]
fn rejecting_dev_rejects_the_version() {
    let mut s = Scenario::registered_by("dana");
    let effect = s.reject("alice", "dev", "AUC regressed").unwrap();
    assert_eq!(s.version.approval_status, ApprovalStatus::Rejected);
    assert_eq!(
        s.states(),
        [Rejected, NotRequested, NotRequested, NotRequested]
    );
    assert_eq!(effect.deployment, None);
    assert_eq!(effect.record.reason.as_deref(), Some("AUC regressed"));
}

#[test]
fn rejecting_a_later_environment_withdraws_the_requests_after_it() {
    let mut s = Scenario::registered_by("dana");
    s.approve("alice", "dev").unwrap();
    s.reject("alice", "test", "flaky").unwrap();
    assert_eq!(
        s.version.approval_status,
        ApprovalStatus::Approved,
        "dev stays approved"
    );
    assert_eq!(s.states(), [Approved, Rejected, NotRequested, NotRequested]);
}

// Proves: WF-06.
#[test]
fn a_decided_step_is_not_decided_again() {
    let mut s = Scenario::registered_by("dana");
    s.approve("alice", "dev").unwrap();
    for choice in [Choice::Approve, Choice::Reject] {
        let refusal = s
            .decide_as(&approver("bob"), "dev", choice, "why")
            .unwrap_err();
        assert_eq!(
            refusal,
            Refusal::AlreadyDecided {
                environment: env("dev"),
                state: Approved
            }
        );
    }
}

// Proves: WF-03.
#[test]
fn the_registrant_cannot_approve_their_own_version() {
    let mut s = Scenario::registered_by("alice");
    assert_eq!(
        s.approve("alice", "dev").unwrap_err(),
        Refusal::OwnVersion {
            environment: env("dev")
        }
    );
}

fn signer(subject: &str, email: &str) -> Actor {
    Actor {
        person: Person {
            subject: subject.into(),
            name: "Signer".into(),
            email: email.into(),
        },
        groups: BTreeSet::from(["approvers".to_string()]),
    }
}

// Proves: WF-03.
#[test]
fn the_registrant_is_recognised_by_any_identifier_whatever_its_case() {
    let mut s = Scenario::registered_by("alice");
    s.version.registered_by = Person {
        subject: "Dana.Scientist@Example.COM".into(),
        name: "Dana".into(),
        email: String::new(),
    };
    s.version.attributed_to =
        Attribution::declared(&s.version.registered_by).and("sam@example.com");
    for (subject, email) in [
        ("0f1e-oid-of-dana", "dana.scientist@example.com"),
        (" dana.scientist@example.com ", ""),
        ("sam-oid", "SAM@example.com"),
    ] {
        assert_eq!(
            s.decide_as(&signer(subject, email), "dev", Choice::Approve, "")
                .unwrap_err(),
            Refusal::OwnVersion {
                environment: env("dev")
            },
            "{subject} / {email}"
        );
    }
    s.decide_as(
        &signer("bob-oid", "bob@example.com"),
        "dev",
        Choice::Approve,
        "",
    )
    .unwrap();
}

// Proves: WF-04.
#[test]
fn one_person_in_two_spellings_is_one_approver() {
    let mut s = Scenario::registered_by("dana");
    for e in ["dev", "test", "uat"] {
        s.approve("alice", e).unwrap();
    }
    s.decide_as(
        &signer("alice", "alice@example.com"),
        "prod",
        Choice::Approve,
        "looks good",
    )
    .unwrap();
    for (subject, email) in [("ALICE", ""), ("other-id", "Alice@Example.com")] {
        assert_eq!(
            s.decide_as(&signer(subject, email), "prod", Choice::Approve, "again")
                .unwrap_err(),
            Refusal::AlreadyApprovedByYou {
                environment: env("prod")
            }
        );
    }
}

// Proves: WF-05.
#[test]
fn a_registrant_nobody_verified_needs_one_more_approver_wherever_four_eyes_holds() {
    // The N3 exploit: dana's pipeline names a made-up registrant, and dana approves alone.
    let mut s = Scenario::declared_by(policy(), "ghost");
    for e in ["dev", "test", "uat"] {
        assert_eq!(s.policy.approvals_needed(&env(e), &s.version), 2);
        assert!(s.approve("dana", e).unwrap().deployment.is_none(), "{e}");
        assert_eq!(s.state(e), PendingManualApproval);
        assert!(s.approve("bob", e).unwrap().deployment.is_some(), "{e}");
    }
    assert_eq!(s.policy.approvals_needed(&env("prod"), &s.version), 3);

    let mut named_by_nobody = Scenario::registered_by("dana");
    named_by_nobody.version.attributed_to = Attribution::nobody();
    assert_eq!(
        policy().approvals_needed(&env("dev"), &named_by_nobody.version),
        2
    );
    assert!(named_by_nobody
        .approve("alice", "dev")
        .unwrap()
        .deployment
        .is_none());

    let verified = Scenario::registered_by("dana");
    for (e, needed) in [("dev", 1), ("test", 1), ("uat", 1), ("prod", 2)] {
        assert_eq!(
            verified.policy.approvals_needed(&env(e), &verified.version),
            needed
        );
    }
}

#[test]
fn the_extra_approver_follows_four_eyes_unless_environments_are_named() {
    let own_dev = policy().allowing_self_approval("dev").unwrap();
    let s = Scenario::declared_by(own_dev, "ghost");
    assert_eq!(
        s.policy.approvals_needed(&env("dev"), &s.version),
        1,
        "where registrants may approve their own versions, nobody stands in for them"
    );
    assert_eq!(s.policy.approvals_needed(&env("test"), &s.version), 2);

    let dev_only = policy()
        .with_extra_approval_without_registrant(["dev".to_string()])
        .unwrap();
    let mut s = Scenario::declared_by(dev_only, "ghost");
    assert!(s.approve("alice", "dev").unwrap().deployment.is_none());
    assert!(s.approve("bob", "dev").unwrap().deployment.is_some());
    assert!(s.approve("alice", "test").unwrap().deployment.is_some());
    assert_eq!(s.policy.approvals_needed(&env("prod"), &s.version), 2);
    let none = policy()
        .with_extra_approval_without_registrant(Vec::new())
        .unwrap();
    assert_eq!(none.approvals_needed(&env("dev"), &s.version), 1);
    assert!(policy()
        .with_extra_approval_without_registrant(["staging".to_string()])
        .is_err());
}

// Proves: WF-03.
#[test]
fn self_approval_can_be_allowed_for_a_named_environment() {
    let mut s = Scenario::with_policy(policy().allowing_self_approval("dev").unwrap(), "alice");
    s.approve("alice", "dev").unwrap();
    assert_eq!(
        s.approve("alice", "test").unwrap_err(),
        Refusal::OwnVersion {
            environment: env("test")
        }
    );
}

// Proves: WF-04.
#[test]
fn prod_needs_two_distinct_approvers() {
    let mut s = Scenario::registered_by("dana");
    for e in ["dev", "test", "uat"] {
        s.approve("alice", e).unwrap();
    }
    let first = s.approve("alice", "prod").unwrap();
    assert_eq!(
        first.deployment, None,
        "one approval of two deploys nothing"
    );
    assert_eq!(s.state("prod"), PendingManualApproval);
    assert_eq!(
        s.approve("alice", "prod").unwrap_err(),
        Refusal::AlreadyApprovedByYou {
            environment: env("prod")
        }
    );
    let second = s.approve("bob", "prod").unwrap();
    assert!(second.deployment.is_some());
    assert_eq!(s.state("prod"), Approved);
}

#[test]
fn one_rejection_decides_a_step_needing_two_approvals() {
    let mut s = Scenario::registered_by("dana");
    for e in ["dev", "test", "uat", "prod"] {
        s.approve("alice", e).unwrap();
    }
    s.reject("bob", "prod", "drift").unwrap();
    assert_eq!(s.state("prod"), Rejected);
}

#[test]
fn unknown_environments_are_refused() {
    let mut s = Scenario::registered_by("dana");
    let refusal = s.approve("alice", "staging").unwrap_err();
    assert!(matches!(refusal, Refusal::UnknownEnvironment { .. }));
}

#[test]
fn the_ui_offers_exactly_what_decide_accepts() {
    let mut s = Scenario::registered_by("dana");
    assert_eq!(s.offered_to("alice"), ["dev"]);
    assert!(
        s.offered_to("dana").is_empty(),
        "the registrant is offered nothing"
    );
    s.approve("alice", "dev").unwrap();
    assert_eq!(s.offered_to("bob"), ["test"]);
}

#[test]
fn versions_registered_elsewhere_without_metadata_can_still_be_decided() {
    let mut s = Scenario::registered_by("dana");
    s.version.steps = Steps::default();
    s.approve("alice", "dev").unwrap();
    assert_eq!(
        s.states(),
        [
            Approved,
            PendingManualApproval,
            PendingManualApproval,
            PendingManualApproval
        ]
    );
}

/// Two versions of one group, both promoted to test; version 2 is live there.
fn two_promoted_to_test() -> (Scenario, Scenario) {
    let mut older = Scenario::registered_by("dana");
    let mut newer = Scenario::registered_by("dana");
    newer.version.version = VersionNumber::new(2).unwrap();
    for scenario in [&mut older, &mut newer] {
        scenario.approve("alice", "dev").unwrap();
        scenario.approve("alice", "test").unwrap();
    }
    (older, newer)
}

/// Bob rolls `environment` back from `newer` (live there) to `older`.
fn roll_back(
    older: &Scenario,
    newer: &Scenario,
    environment: &str,
    reason: &str,
) -> Result<DecisionEffect, Refusal> {
    rollback(
        &older.policy,
        Some(&newer.version),
        &older.version,
        &older.log,
        &approver("bob"),
        &RollbackRequest {
            environment: env(environment),
            target: older.version.version,
            reason: reason.into(),
            meaning: None,
        },
        Stamp {
            id: "r1".into(),
            at: NOW,
        },
    )
}

// Proves: WF-07.
#[test]
fn a_rollback_redeploys_an_earlier_approved_version_and_withdraws_the_live_one() {
    let (older, newer) = two_promoted_to_test();
    let effect = roll_back(&older, &newer, "test", "  latency regression  ").unwrap();
    assert_eq!(
        effect.record.version, newer.version.version,
        "recorded on the withdrawn version"
    );
    assert_eq!(effect.record.verdict, Verdict::Rollback);
    assert_eq!(effect.record.rollback_to, Some(older.version.version));
    assert_eq!(effect.record.reason.as_deref(), Some("latency regression"));
    assert_eq!(effect.record.resulting_state, RolledBack);
    assert_eq!(effect.steps.state(&env("test")), RolledBack);
    assert_eq!(
        effect.steps.state(&env("uat")),
        NotRequested,
        "its next request withdrawn"
    );
    assert_eq!(
        effect.approval_status,
        ApprovalStatus::Approved,
        "still approved for dev"
    );
    let deployment = effect.deployment.unwrap();
    assert_eq!(
        (deployment.version, deployment.environment.as_str()),
        (older.version.version, "test")
    );
    assert_eq!(deployment.approved_by, person("bob"));
    assert_eq!(deployment.decision_id, "r1");

    let mut rolled = Scenario {
        policy: newer.policy.clone(),
        version: newer.version.clone(),
        log: newer.log.clone(),
        at: NOW,
    };
    rolled.version.steps = effect.steps.clone();
    assert_eq!(
        rolled.approve("carol", "test"),
        Err(Refusal::AlreadyDecided {
            environment: env("test"),
            state: RolledBack
        })
    );
    assert!(rolled.offered_to("carol").is_empty());
}

#[test]
fn rolling_back_the_first_environment_rejects_the_version() {
    let (older, newer) = two_promoted_to_test();
    let effect = roll_back(&older, &newer, "dev", "bad data").unwrap();
    assert_eq!(effect.approval_status, ApprovalStatus::Rejected);
    assert_eq!(
        effect.steps.state(&env("test")),
        Approved,
        "a decided later step stays as it is"
    );
}

#[test]
fn after_an_early_rollback_no_later_step_is_decided() {
    let (older, mut newer) = two_promoted_to_test();
    newer.approve("alice", "uat").unwrap();
    let effect = roll_back(&older, &newer, "dev", "bad data").unwrap();
    newer.version = apply(&newer.version, &effect);
    assert_eq!(newer.state("prod"), NotRequested);
    assert_eq!(
        newer.approve("carol", "prod"),
        Err(Refusal::EarlierNotApproved {
            environment: env("prod"),
            earlier: env("dev")
        })
    );
}

#[test]
fn a_version_changed_since_its_approval_is_not_put_back() {
    let (mut older, newer) = two_promoted_to_test();
    older.version.metrics.insert("auc".into(), 0.99);
    assert_eq!(
        roll_back(&older, &newer, "test", "latency regression"),
        Err(Refusal::RollbackTargetChanged {
            environment: env("test"),
            version: older.version.version
        })
    );
    assert!(
        rollback_refusal(
            &older.policy,
            Some(newer.version.version),
            &older.version,
            &older.log,
            &approver("bob"),
            &env("test")
        )
        .is_some(),
        "not offered either"
    );
}

// Proves: WF-07.
#[test]
fn the_registrant_of_the_version_put_back_may_not_roll_back_to_it_alone() {
    let (older, newer) = two_promoted_to_test();
    let request = RollbackRequest {
        environment: env("test"),
        target: older.version.version,
        reason: "latency regression".into(),
        meaning: None,
    };
    let stamp = || Stamp {
        id: "r".into(),
        at: NOW,
    };
    let dana = approver("dana");
    assert_eq!(
        rollback(
            &older.policy,
            Some(&newer.version),
            &older.version,
            &older.log,
            &dana,
            &request,
            stamp()
        ),
        Err(Refusal::OwnVersion {
            environment: env("test")
        })
    );
    let exempt = older.policy.clone().allowing_self_approval("test").unwrap();
    assert!(
        rollback(
            &exempt,
            Some(&newer.version),
            &older.version,
            &older.log,
            &dana,
            &request,
            stamp()
        )
        .is_ok(),
        "where the environment exempts registrants from four-eyes"
    );
}

#[test]
fn a_rollback_is_refused_with_the_reason() {
    let (older, newer) = two_promoted_to_test();
    let fresh = Scenario::registered_by("dana");
    let outsider = Actor {
        person: person("oscar"),
        groups: BTreeSet::new(),
    };
    let attempt = |actor: &Actor,
                   environment: &str,
                   live: Option<&ModelVersion>,
                   target: &ModelVersion,
                   reason: &str| {
        let request = RollbackRequest {
            environment: env(environment),
            target: target.version,
            reason: reason.into(),
            meaning: None,
        };
        let stamp = Stamp {
            id: "r".into(),
            at: NOW,
        };
        rollback(&older.policy, live, target, &[], actor, &request, stamp)
    };
    let live_now = || Some(&newer.version);
    assert_eq!(
        attempt(&outsider, "test", live_now(), &older.version, "why"),
        Err(Refusal::NotAnApprover {
            environment: env("test")
        })
    );
    assert_eq!(
        attempt(&approver("bob"), "test", live_now(), &older.version, "  "),
        Err(Refusal::ReasonRequired)
    );
    assert_eq!(
        attempt(
            &approver("bob"),
            "test",
            live_now(),
            &older.version,
            &"x".repeat(MAX_REASON_CHARS + 1)
        ),
        Err(Refusal::ReasonTooLong)
    );
    assert_eq!(
        attempt(&approver("bob"), "uat", None, &older.version, "why"),
        Err(Refusal::NothingLive {
            environment: env("uat")
        })
    );
    assert_eq!(
        attempt(&approver("bob"), "test", live_now(), &newer.version, "why"),
        Err(Refusal::AlreadyLive {
            environment: env("test"),
            version: newer.version.version
        })
    );
    assert_eq!(
        attempt(&approver("bob"), "test", live_now(), &fresh.version, "why"),
        Err(Refusal::NotApprovedThere {
            environment: env("test"),
            version: fresh.version.version,
            state: NotRequested
        })
    );
    assert_eq!(
        attempt(
            &approver("bob"),
            "staging",
            live_now(),
            &older.version,
            "why"
        ),
        Err(Refusal::UnknownEnvironment {
            environment: "staging".into()
        })
    );
}

#[test]
fn an_effect_that_deploys_may_replace_only_what_it_was_computed_against() {
    let deployed_first = Scenario::registered_by("dana")
        .approve("alice", "dev")
        .unwrap();
    let live = deployed_first.deployment.clone().unwrap();
    let mut second = Scenario::registered_by("dana")
        .approve("alice", "dev")
        .unwrap();
    second.record.id = "d-second".into();
    second.deployment.as_mut().unwrap().decision_id = "d-second".into();
    let over_first = second.replacing(Some(&live));
    assert_eq!(
        over_first.replaces.as_deref(),
        Some(live.decision_id.as_str())
    );
    assert!(over_first.may_replace(Some(&live.decision_id)));
    assert!(
        !over_first.may_replace(None),
        "what it replaced was withdrawn meanwhile"
    );
    assert!(!over_first.may_replace(Some("d-someone-else")));
    assert!(
        over_first.may_replace(Some("d-second")),
        "a retry of itself"
    );

    let onto_nothing = deployed_first.replacing(None);
    assert!(onto_nothing.may_replace(None));
    assert!(!onto_nothing.may_replace(Some("d-someone-else")));

    let rejection = Scenario::registered_by("dana")
        .reject("alice", "dev", "leaks the label")
        .unwrap();
    assert!(
        rejection.may_replace(Some("anything")),
        "a decision that deploys nothing takes no guard"
    );
}

#[test]
fn every_decision_in_a_reason_required_environment_needs_a_reason() {
    let mut s = Scenario::registered_by("dana");
    for e in ["dev", "test", "uat"] {
        s.decide_as(&approver("alice"), e, Choice::Approve, "")
            .expect("elsewhere an approval may go without a reason");
    }
    assert_eq!(
        s.decide_as(&approver("alice"), "prod", Choice::Approve, "  ")
            .unwrap_err(),
        Refusal::ReasonRequiredIn {
            environment: env("prod")
        },
        "prod, the default"
    );
    let in_dev = policy().with_reason_required(["dev".to_owned()]).unwrap();
    let mut s = Scenario::with_policy(in_dev, "dana");
    assert!(matches!(
        s.decide_as(&approver("alice"), "dev", Choice::Approve, ""),
        Err(Refusal::ReasonRequiredIn { .. })
    ));
    s.decide_as(&approver("alice"), "dev", Choice::Approve, "fine")
        .unwrap();
    let nowhere = policy().with_reason_required(Vec::new()).unwrap();
    let mut s = Scenario::with_policy(nowhere, "dana");
    for e in ["dev", "test", "uat", "prod"] {
        s.decide_as(&approver("alice"), e, Choice::Approve, "")
            .expect("no environment requires one");
    }
}

#[test]
fn a_signature_carries_a_meaning_the_policy_offers_and_the_digest_of_what_was_signed() {
    let mut s = Scenario::registered_by("dana");
    let effect = s.approve("alice", "dev").unwrap();
    let signature = effect.record.signature.clone().expect("signed");
    assert_eq!(
        signature.meaning, "Approved for release to dev",
        "the default"
    );
    assert_eq!(signature.record_digest, effect.signed.digest());
    assert_eq!(effect.signed.image_uri, s.version.image_uri);
    assert_eq!(effect.signed.signer.name, "alice name");
    assert_eq!(effect.signed.reason.as_deref(), Some("looks good"));

    let policy = policy()
        .with_meanings(
            "test",
            Verdict::Approve,
            [
                "Approved for release to test".to_owned(),
                "Approved for a time-boxed trial in test".to_owned(),
            ],
        )
        .unwrap();
    let mut s = Scenario::with_policy(policy, "dana");
    s.approve("alice", "dev").unwrap();
    let unknown = DecisionRequest::new(env("test"), Choice::Approve, "ok").meaning("Shipped");
    let refused = decide(
        &s.policy,
        &s.version,
        &s.log,
        &approver("alice"),
        &unknown,
        Stamp {
            id: "x".into(),
            at: NOW,
        },
    );
    assert!(
        matches!(&refused, Err(Refusal::UnknownMeaning { offered, .. }) if offered.contains("time-boxed trial")),
        "{refused:?}"
    );
    let chosen = DecisionRequest::new(env("test"), Choice::Approve, "ok")
        .meaning(" Approved for a time-boxed trial in test ");
    let effect = decide(
        &s.policy,
        &s.version,
        &s.log,
        &approver("alice"),
        &chosen,
        Stamp {
            id: "y".into(),
            at: NOW,
        },
    )
    .unwrap();
    assert_eq!(
        effect.record.signature.unwrap().meaning,
        "Approved for a time-boxed trial in test"
    );
}

#[test]
fn what_a_decision_replaces_is_part_of_what_is_signed() {
    let mut s = Scenario::registered_by("dana");
    let effect = s.approve("alice", "dev").unwrap();
    let alone = effect.record.signature.clone().unwrap().record_digest;
    let live = effect.deployment.clone().unwrap();
    let replacing = effect.replacing(Some(&live));
    assert_eq!(replacing.signed.replaces_version, Some(1));
    let digest = replacing.record.signature.clone().unwrap().record_digest;
    assert_ne!(digest, alone);
    assert_eq!(digest, replacing.signed.digest());
}

#[test]
fn a_rollback_signs_the_version_it_puts_back_and_the_one_it_withdraws() {
    let (older, newer) = two_promoted_to_test();
    let effect = roll_back(&older, &newer, "test", "latency regression").unwrap();
    assert_eq!(
        effect.signed.model_package_version,
        older.version.version.get()
    );
    assert_eq!(
        effect.signed.replaces_version,
        Some(newer.version.version.get())
    );
    assert_eq!(effect.record.signature.unwrap().meaning, "Rolled back test");
}

#[test]
fn a_registry_entry_changed_after_signing_stops_promotion_and_voids_pending_approvals() {
    let mut s = Scenario::registered_by("dana");
    for e in ["dev", "test", "uat"] {
        s.approve("alice", e).unwrap();
    }
    s.approve("alice", "prod").unwrap();
    assert_eq!(s.version.steps.state(&env("prod")), PendingManualApproval);
    assert!(broken_signatures(&s.version, &s.log).is_empty());
    assert!(s
        .log
        .iter()
        .all(|r| crate::signature::still_binds(r, &s.version)));

    // Someone changes a metric in the registry after the signatures.
    s.version.metrics.insert("auc".into(), 0.99);
    assert_eq!(
        broken_signatures(&s.version, &s.log),
        [env("dev"), env("test"), env("uat")]
    );
    assert_eq!(
        s.approve("bob", "prod").unwrap_err(),
        Refusal::SignatureMismatch {
            environment: env("dev")
        },
        "not promoted further"
    );
    assert_eq!(
        pending_approvals(&s.version, &s.log, &env("prod")).count(),
        0,
        "Alice's pending prod approval is void"
    );

    // A decision from before signatures has nothing to break.
    let unsigned = DecisionRecord {
        signature: None,
        ..s.log[0].clone()
    };
    assert!(crate::signature::still_binds(&unsigned, &s.version));
}

fn signing_of(
    effect: &DecisionEffect,
    at: Option<OffsetDateTime>,
    asked: Option<OffsetDateTime>,
) -> Signing {
    Signing {
        reviewed_digest: effect.signed.digest(),
        authentication: Authentication {
            at,
            ..Authentication::default()
        },
        reauthentication_asked_at: asked,
        evidence: None,
    }
}

#[test]
fn a_signature_applies_only_to_the_record_its_signer_confirmed() {
    let mut scenario = Scenario::registered_by("dana");
    let effect = scenario.approve("alice", "dev").unwrap();
    let fresh = signing_of(&effect, Some(NOW), None);
    assert_eq!(
        check_signing(&scenario.policy, &effect, &fresh, NOW),
        Ok(())
    );
    let mut changed = effect.clone();
    changed.signed.image_uri = "another-image".into();
    assert_eq!(
        check_signing(&scenario.policy, &changed, &fresh, NOW),
        Err(Refusal::ReviewedRecordChanged {
            environment: env("dev")
        })
    );
}

// Proves: SIG-03.
#[test]
fn a_signer_must_have_authenticated_within_the_environments_max_age() {
    let policy = policy()
        .with_signing_max_age("test", time::Duration::seconds(60))
        .unwrap();
    assert_eq!(
        policy.signing_max_age(&env("dev")),
        crate::policy::DEFAULT_SIGNING_MAX_AGE
    );
    assert_eq!(
        policy.signing_max_age(&env("test")),
        time::Duration::seconds(60)
    );
    assert_eq!(
        policy.signing_max_age(&env("prod")),
        time::Duration::ZERO,
        "the last environment: always again"
    );
    let check = |environment: &str, at: Option<OffsetDateTime>, asked: Option<OffsetDateTime>| {
        let authentication = Authentication {
            at,
            ..Authentication::default()
        };
        check_authentication(&policy, &env(environment), &authentication, asked, NOW)
    };
    let ago = |seconds: i64| Some(NOW - time::Duration::seconds(seconds));
    assert_eq!(check("dev", ago(300), None), Ok(()));
    assert_eq!(
        check("dev", ago(301), None),
        Err(Refusal::ReauthenticationRequired {
            environment: env("dev"),
            max_age_seconds: 300
        })
    );
    assert_eq!(check("test", ago(60), None), Ok(()));
    assert!(check("test", ago(61), None).is_err());
    assert_eq!(
        check("prod", ago(0), None),
        Err(Refusal::ReauthenticationRequired {
            environment: env("prod"),
            max_age_seconds: 0
        }),
        "prod signs only after a sign-in the portal asked for"
    );
    assert_eq!(
        check("prod", ago(3), ago(5)),
        Ok(()),
        "authenticated after being sent"
    );
    assert_eq!(
        check("prod", ago(7200), ago(5)),
        Err(Refusal::NotReauthenticated {
            auth_time: "2026-11-26T08:00:00Z".into()
        }),
        "a provider that ignored prompt=login returns the old auth_time"
    );
    assert_eq!(
        check("prod", ago(14), ago(5)),
        Ok(()),
        "within the provider's clock skew"
    );
    assert!(check("prod", ago(16), ago(5)).is_err());
    assert_eq!(
        check("dev", Some(NOW + time::Duration::minutes(5)), None),
        Err(Refusal::ReauthenticationRequired {
            environment: env("dev"),
            max_age_seconds: 300
        }),
        "an auth_time in the future is no proof of anything"
    );
    assert_eq!(
        check("dev", None, None),
        Err(Refusal::ReauthenticationRequired {
            environment: env("dev"),
            max_age_seconds: 300
        }),
        "no auth_time yet: sign in again, asking for it"
    );
    assert_eq!(
        check("dev", None, ago(5)),
        Err(Refusal::AuthenticationTimeMissing)
    );
    assert!(Refusal::AuthenticationTimeMissing
        .to_string()
        .contains("optional claim"));
}

#[test]
fn an_environment_can_require_an_authentication_context() {
    let policy = policy().with_signing_context("prod", "c1").unwrap();
    assert_eq!(policy.signing_context(&env("prod")), Some("c1"));
    assert_eq!(policy.signing_context(&env("dev")), None);
    let asked = Some(NOW - time::Duration::seconds(5));
    let with = |acr: Option<&str>, acrs: &[&str]| Authentication {
        at: Some(NOW),
        acr: acr.map(str::to_owned),
        amr: vec!["pwd".into()],
        acrs: acrs.iter().map(|c| c.to_string()).collect(),
    };
    let check = |authentication: &Authentication, asked| {
        check_authentication(&policy, &env("prod"), authentication, asked, NOW)
    };
    assert_eq!(check(&with(None, &["c1"]), asked), Ok(()), "Entra's acrs");
    assert_eq!(check(&with(Some("c1"), &[]), asked), Ok(()), "acr");
    assert_eq!(
        check(&with(Some("c2"), &["c3"]), asked),
        Err(Refusal::AuthenticationContextMissing {
            environment: env("prod"),
            context: "c1".into()
        })
    );
    assert!(
        matches!(
            check(&with(None, &[]), None),
            Err(Refusal::ReauthenticationRequired { .. })
        ),
        "first ask for it"
    );
    for bad in ["", "two words", &"x".repeat(101)] {
        assert!(
            policy.clone().with_signing_context("prod", bad).is_err(),
            "{bad:?}"
        );
    }
    assert!(policy
        .clone()
        .with_signing_max_age("prod", time::Duration::seconds(-1))
        .is_err());
    assert!(policy
        .with_signing_max_age("staging", time::Duration::ZERO)
        .is_err());
}

#[test]
fn a_new_version_waits_in_the_first_environment_since_its_registration() {
    let s = Scenario::registered_by("dana");
    let waiting = s.waiting().unwrap();
    assert_eq!(waiting.environment, env("dev"));
    assert_eq!(waiting.since, NOW);
    assert!(waiting.approvals.is_empty());
    assert_eq!((waiting.needed, waiting.still_needed()), (1, 1));
}

#[test]
fn a_later_step_waits_since_the_approval_that_completed_the_one_before() {
    let mut s = Scenario::registered_by("dana");
    s.later(5).approve("alice", "dev").unwrap();
    s.later(2).approve("alice", "test").unwrap();
    let waiting = s.waiting().unwrap();
    assert_eq!(waiting.environment, env("uat"));
    assert_eq!(waiting.since, NOW + time::Duration::hours(7));
}

#[test]
fn a_step_needing_two_approvals_waits_with_the_first_and_names_its_approver_once() {
    let mut s = Scenario::registered_by("dana");
    for environment in ["dev", "test", "uat"] {
        s.later(1).approve("alice", environment).unwrap();
    }
    let requested = s.at;
    s.later(3).approve("bob", "prod").unwrap();
    assert!(s.approve("bob", "prod").is_err(), "once per person");
    let waiting = s.waiting().unwrap();
    assert_eq!(waiting.environment, env("prod"));
    assert_eq!(
        waiting.since, requested,
        "still since the request, not the first approval"
    );
    assert_eq!(waiting.approvals, vec![person("bob")]);
    assert_eq!((waiting.needed, waiting.still_needed()), (2, 1));
    s.approve("carol", "prod").unwrap();
    assert_eq!(s.waiting(), None, "approved everywhere: nothing waits");
}

#[test]
fn a_rejected_version_waits_for_nobody() {
    let mut s = Scenario::registered_by("dana");
    s.approve("alice", "dev").unwrap();
    s.reject("alice", "test", "drifts on new data").unwrap();
    assert_eq!(s.waiting(), None);
}

/// An unsigned token with `claims` (the workflow reads claims; signatures are the OIDC
/// client's and the verifier's).
fn token_with(claims: serde_json::Value) -> String {
    use base64::Engine;
    let part = |json: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json.to_string())
    };
    format!(
        "{}.{}.c2ln",
        part(serde_json::json!({"alg": "RS256"})),
        part(claims)
    )
}

// Proves: SIG-04.
#[test]
fn with_an_identity_provider_a_signature_needs_its_evidence_of_the_sign_in() {
    use crate::signature::{nonce_commitment, EvidenceProblem, IdentityEvidence, IdentityProvider};
    let mut scenario = Scenario::registered_by("dana");
    scenario.policy = scenario
        .policy
        .clone()
        .with_identity_provider(IdentityProvider {
            issuer: "https://login.example.com/".into(),
            audience: "countersign".into(),
            identity_claim: "oid".into(),
            groups_claim: "groups".into(),
        });
    let effect = scenario.approve("alice", "dev").unwrap();
    let asked = NOW - time::Duration::seconds(20);
    let claims = serde_json::json!({
        "iss": "https://login.example.com",
        "aud": ["other-app", "countersign"],
        "oid": "ALICE",
        "auth_time": (NOW - time::Duration::seconds(10)).unix_timestamp(),
        "nonce": nonce_commitment(&effect.signed.digest(), "salt"),
    });
    let evidence = |claims: serde_json::Value| IdentityEvidence {
        id_token: token_with(claims),
        key: serde_json::json!({"kty": "RSA"}),
        nonce_salt: Some("salt".into()),
    };
    let signing = |evidence: Option<IdentityEvidence>| Signing {
        authentication: Authentication::at(NOW - time::Duration::seconds(10)),
        reauthentication_asked_at: Some(asked),
        evidence,
        ..signing_of(&effect, None, None)
    };
    let check = |evidence| check_signing(&scenario.policy, &effect, &signing(evidence), NOW);
    assert_eq!(
        check(Some(evidence(claims.clone()))),
        Ok(()),
        "the identifier compared case-folded, the issuer without its slash"
    );
    assert_eq!(check(None), Err(Refusal::NoProviderEvidence));
    let mut other = claims.clone();
    other["oid"] = "mallory".into();
    assert!(matches!(
        check(Some(evidence(other))),
        Err(Refusal::ProviderEvidence(
            EvidenceProblem::SomeoneElse { .. }
        ))
    ));
    let mut other = claims.clone();
    other["nonce"] = nonce_commitment("another record", "salt").into();
    assert_eq!(
        check(Some(evidence(other))),
        Err(Refusal::ProviderEvidence(
            EvidenceProblem::NonceDoesNotCommit
        ))
    );
    let mut other = claims.clone();
    other["aud"] = "other-app".into();
    assert!(matches!(
        check(Some(evidence(other))),
        Err(Refusal::ProviderEvidence(
            EvidenceProblem::WrongAudience { .. }
        ))
    ));
    let mut other = claims.clone();
    other["auth_time"] = (NOW - time::Duration::seconds(11)).unix_timestamp().into();
    assert_eq!(
        check(Some(evidence(other))),
        Err(Refusal::ProviderEvidence(
            EvidenceProblem::AuthenticationDiffers
        )),
        "the freshness checked is the token's"
    );
    let unreadable = IdentityEvidence {
        id_token: "not a token".into(),
        ..evidence(claims.clone())
    };
    assert_eq!(
        check(Some(unreadable)),
        Err(Refusal::ProviderEvidence(EvidenceProblem::Unreadable))
    );
}

// Proves: SIG-03.
#[test]
fn a_sign_in_asked_for_and_dated_after_the_signature_is_refused() {
    let policy = policy();
    let check = |seconds_ahead: i64, asked: Option<OffsetDateTime>| {
        let authentication = Authentication {
            at: Some(NOW + time::Duration::seconds(seconds_ahead)),
            ..Authentication::default()
        };
        check_authentication(&policy, &env("prod"), &authentication, asked, NOW)
    };
    let asked = Some(NOW - time::Duration::seconds(30));
    assert_eq!(check(5, asked), Ok(()), "within the provider's clock skew");
    assert!(matches!(
        check(3600, asked),
        Err(Refusal::AuthenticationInTheFuture { .. })
    ));
    assert!(
        matches!(
            check(3600, None),
            Err(Refusal::ReauthenticationRequired { .. })
        ),
        "not asked for, the signer is sent to sign in again"
    );
}
