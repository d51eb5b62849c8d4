//! Random sequences of decisions and rollbacks by random people, on two versions of one
//! group, must never break the workflow's invariants, whatever the policy.

use countersign_domain::workflow::{self, apply, decide, register, rollback, RollbackRequest};
use countersign_domain::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use time::macros::datetime;

const PEOPLE: [&str; 4] = ["alice", "bob", "carol", "dana"];

fn actor(index: usize) -> Actor {
    let subject = PEOPLE[index % PEOPLE.len()];
    // dana is a data scientist: not in the approver group.
    let groups = if subject == "dana" {
        BTreeSet::from(["data-scientists".to_string()])
    } else {
        BTreeSet::from(["approvers".to_string()])
    };
    Actor {
        person: Person {
            subject: subject.into(),
            name: subject.into(),
            email: format!("{subject}@example.com"),
        },
        groups,
    }
}

#[derive(Debug, Clone)]
enum Command {
    Decide {
        actor: usize,
        version: usize,
        environment: usize,
        approve: bool,
        with_reason: bool,
    },
    /// Roll `environment` back to `target`, from whichever version is live there.
    Rollback {
        actor: usize,
        environment: usize,
        target: usize,
        with_reason: bool,
    },
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        // Approvals four times as often as rejections, so that versions get far.
        4 => (0..PEOPLE.len(), 0..2usize, 0..4usize, prop::bool::weighted(0.8), any::<bool>()).prop_map(
            |(actor, version, environment, approve, with_reason)| Command::Decide {
                actor,
                version,
                environment,
                approve,
                with_reason,
            }
        ),
        // The early environments, where both versions are most often approved.
        1 => (0..PEOPLE.len(), 0..2usize, 0..2usize, any::<bool>()).prop_map(
            |(actor, environment, target, with_reason)| Command::Rollback {
                actor,
                environment,
                target,
                with_reason,
            }
        ),
    ]
}

fn policy(prod_approvals: u8, self_approval_dev: bool, registrant: usize) -> (Policy, usize) {
    let mut policy = Policy::new(Environments::default(), "approvers")
        .with_required_approvals("prod", prod_approvals)
        .unwrap();
    if self_approval_dev {
        policy = policy.allowing_self_approval("dev").unwrap();
    }
    (policy, registrant)
}

fn reason(with_reason: bool) -> &'static str {
    if with_reason {
        "because"
    } else {
        ""
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn invariants_hold_for_any_sequence(
        (policy, registrant) in (1u8..=3, any::<bool>(), 0..PEOPLE.len())
            .prop_map(|(n, s, r)| policy(n, s, r)),
        commands in prop::collection::vec(command(), 0..60),
    ) {
        let envs = policy.environments().clone();
        let env_list: Vec<Environment> = envs.iter().cloned().collect();
        let registrant = actor(registrant);
        let now = datetime!(2026-11-26 10:00 UTC);
        let mut versions: Vec<ModelVersion> = (1..=2)
            .map(|n| {
                let registration = Registration::new(
                    GroupName::parse("churn").unwrap(),
                    "img",
                    "s3://m",
                    "",
                    Metrics::new(),
                    registrant.person.clone(),
                )
                .unwrap();
                // Version 1's pipeline is bound to its registrant; version 2's only declares it.
                let registration = if n == 1 {
                    registration.with_registrant_verified()
                } else {
                    registration
                };
                register(&policy, registration, now)
                    .into_version(VersionNumber::new(n).unwrap(), format!("arn/{n}"))
            })
            .collect();
        let index_of = |number: VersionNumber| number.get() as usize - 1;
        let mut logs: Vec<Vec<DecisionRecord>> = vec![vec![], vec![]];
        let mut live: BTreeMap<Environment, VersionNumber> = BTreeMap::new();

        for (i, cmd) in commands.iter().enumerate() {
            let stamp = Stamp { id: format!("d{i}"), at: now };
            let before = (versions.clone(), live.clone());
            let (touched, outcome) = match cmd {
                Command::Decide { actor: who, version, environment, approve, with_reason } => {
                    let who = actor(*who);
                    let choice = if *approve { Choice::Approve } else { Choice::Reject };
                    let request =
                        DecisionRequest::new(env_list[*environment].clone(), choice, reason(*with_reason));
                    let outcome =
                        decide(&policy, &versions[*version], &logs[*version], &who, &request, stamp);
                    if outcome.is_ok() {
                        prop_assert!(policy.is_approver(&who, &request.environment));
                    }
                    (*version, outcome)
                }
                Command::Rollback { actor: who, environment, target, with_reason } => {
                    let who = actor(*who);
                    let environment = env_list[*environment].clone();
                    let live_version = live.get(&environment).map(|n| versions[index_of(*n)].clone());
                    let request = RollbackRequest {
                        environment: environment.clone(),
                        target: versions[*target].version,
                        reason: reason(*with_reason).into(),
                        meaning: None,
                    };
                    let outcome = rollback(
                        &policy, live_version.as_ref(), &versions[*target], &[], &who, &request, stamp,
                    );
                    if let Ok(effect) = &outcome {
                        // One approver of the environment suffices; it needs a reason and a
                        // target approved there; the withdrawn version is the live one.
                        prop_assert!(policy.is_approver(&who, &environment));
                        prop_assert!(effect.record.reason.is_some());
                        prop_assert_eq!(versions[*target].steps.state(&environment), StepState::Approved);
                        prop_assert_eq!(Some(effect.record.version), live.get(&environment).copied());
                        prop_assert_eq!(effect.record.verdict, Verdict::Rollback);
                    }
                    let withdrawn = live.get(&environment).map(|n| index_of(*n)).unwrap_or(*target);
                    (withdrawn, outcome)
                }
            };
            match outcome {
                Ok(effect) => {
                    prop_assert_eq!(effect.based_on_revision, versions[touched].revision);
                    versions[touched] = apply(&versions[touched], &effect);
                    if let Some(deployment) = &effect.deployment {
                        live.insert(deployment.environment.clone(), deployment.version);
                    }
                    logs[touched].push(effect.record);
                }
                Err(_) => prop_assert_eq!(&(versions.clone(), live.clone()), &before, "a refusal changes nothing"),
            }

            for version in &versions {
                // Order: a step is approved only once every earlier one was (a rollback may
                // since have withdrawn an earlier one).
                let states: Vec<StepState> = version.steps.in_order(&envs).map(|(_, s)| s).collect();
                for (k, state) in states.iter().enumerate() {
                    if *state == StepState::Approved {
                        prop_assert!(
                            states[..k].iter().all(|s| matches!(s, StepState::Approved | StepState::RolledBack)),
                            "order broken: {:?}", states
                        );
                    }
                }
                // The version's status follows the first environment.
                let expected_status = match states[0] {
                    StepState::Approved => ApprovalStatus::Approved,
                    StepState::Rejected | StepState::RolledBack => ApprovalStatus::Rejected,
                    _ => ApprovalStatus::PendingManualApproval,
                };
                prop_assert_eq!(version.approval_status, expected_status);
            }
            // What is live in an environment is a version approved there.
            for (env, number) in &live {
                prop_assert_eq!(versions[index_of(*number)].steps.state(env), StepState::Approved);
            }
        }

        for (version, log) in versions.iter().zip(&logs) {
            // What waits is kept small, and says who may approve it as the workflow does.
            if let Some(step) = service::WaitingStep::of(&policy, version, log) {
                for index in 0..PEOPLE.len() {
                    let someone = actor(index);
                    let refusal = workflow::approval_refusal(
                        &policy, version, log, &someone, &step.waiting.environment,
                    );
                    prop_assert_eq!(step.may_be_approved_by(&policy, &someone), refusal.is_none());
                }
            }
            // Each step decided once by decisions, and rolled back at most once after.
            let mut deciding: BTreeMap<(&Environment, bool), usize> = BTreeMap::new();
            for record in log {
                if record.resulting_state.is_decided() {
                    *deciding
                        .entry((&record.environment, record.verdict == Verdict::Rollback))
                        .or_default() += 1;
                }
            }
            prop_assert!(deciding.values().all(|n| *n == 1), "decided twice: {:?}", deciding);

            for env in envs.iter() {
                let approvals: Vec<&DecisionRecord> = log
                    .iter()
                    .filter(|r| &r.environment == env && r.verdict == Verdict::Approve)
                    .collect();
                // Distinct approvers, never the registrant unless allowed.
                let subjects: BTreeSet<&str> =
                    approvals.iter().map(|r| r.decided_by.subject.as_str()).collect();
                prop_assert_eq!(subjects.len(), approvals.len(), "someone approved {} twice", env);
                if !policy.self_approval_allowed(env) {
                    prop_assert!(!subjects.contains(registrant.person.subject.as_str()));
                }
                // An approved step (and one rolled back, which was approved first) has
                // exactly the approvals needed, one more where nobody verified the registrant.
                if matches!(version.steps.state(env), StepState::Approved | StepState::RolledBack) {
                    prop_assert_eq!(approvals.len(), usize::from(policy.approvals_needed(env, version)));
                }
            }
            // Every rejection and rollback carries a reason.
            prop_assert!(log
                .iter()
                .filter(|r| r.verdict != Verdict::Approve)
                .all(|r| r.reason.is_some()));
        }
    }
}
