//! Random sequences of decisions by random people must never break the workflow's
//! invariants, whatever the policy.

use countersign_domain::workflow::{apply, decide, register};
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
struct Command {
    actor: usize,
    environment: usize,
    approve: bool,
    with_reason: bool,
}

fn command() -> impl Strategy<Value = Command> {
    (0..PEOPLE.len(), 0..4usize, any::<bool>(), any::<bool>()).prop_map(
        |(actor, environment, approve, with_reason)| Command {
            actor,
            environment,
            approve,
            with_reason,
        },
    )
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn invariants_hold_for_any_sequence(
        (policy, registrant) in (1u8..=3, any::<bool>(), 0..PEOPLE.len())
            .prop_map(|(n, s, r)| policy(n, s, r)),
        commands in prop::collection::vec(command(), 0..40),
    ) {
        let envs = policy.environments().clone();
        let env_list: Vec<Environment> = envs.iter().cloned().collect();
        let registrant = actor(registrant);
        let now = datetime!(2026-11-26 10:00 UTC);
        let new = register(
            &policy,
            Registration::new(
                GroupName::parse("churn").unwrap(),
                "img",
                "s3://m",
                "",
                Metrics::new(),
                registrant.person.clone(),
            )
            .unwrap(),
            now,
        );
        let mut version = new.into_version(VersionNumber::new(1).unwrap(), "arn".into());
        let mut log: Vec<DecisionRecord> = vec![];

        for (i, cmd) in commands.iter().enumerate() {
            let who = actor(cmd.actor);
            let request = DecisionRequest::new(
                env_list[cmd.environment].clone(),
                if cmd.approve { Verdict::Approve } else { Verdict::Reject },
                if cmd.with_reason { "because" } else { "" },
            );
            let before = version.clone();
            match decide(&policy, &version, &log, &who, &request, format!("d{i}"), now) {
                Ok(effect) => {
                    prop_assert!(policy.is_approver(&who, &request.environment));
                    prop_assert_eq!(effect.based_on_revision, before.revision);
                    version = apply(&version, &effect);
                    log.push(effect.record);
                }
                Err(_) => prop_assert_eq!(&version, &before, "a refusal changes nothing"),
            }

            // Order: an environment is approved only if every one before it is approved.
            let states: Vec<StepState> = version.steps.in_order(&envs).map(|(_, s)| s).collect();
            for (k, state) in states.iter().enumerate() {
                if *state == StepState::Approved {
                    prop_assert!(states[..k].iter().all(|s| *s == StepState::Approved),
                        "order broken: {:?}", states);
                }
            }
            // The version's status follows the first environment.
            let expected_status = match states[0] {
                StepState::Approved => ApprovalStatus::Approved,
                StepState::Rejected => ApprovalStatus::Rejected,
                _ => ApprovalStatus::PendingManualApproval,
            };
            prop_assert_eq!(version.approval_status, expected_status);
        }

        // Nothing decided twice: at most one deciding record per environment.
        let mut deciding: BTreeMap<&Environment, usize> = BTreeMap::new();
        for record in &log {
            if record.resulting_state.is_decided() {
                *deciding.entry(&record.environment).or_default() += 1;
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
            // An approved step has exactly the required number of approvals.
            if version.steps.state(env) == StepState::Approved {
                prop_assert_eq!(approvals.len(), usize::from(policy.required_approvals(env)));
            }
        }
        // Every rejection carries a reason.
        prop_assert!(log
            .iter()
            .filter(|r| r.verdict == Verdict::Reject)
            .all(|r| r.reason.is_some()));
    }
}
