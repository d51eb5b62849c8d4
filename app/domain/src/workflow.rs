//! The promotion rules, as pure functions from (policy, current state, request) to either a
//! refusal or the complete effect of a decision.
//!
//! The rules:
//! 1. Registration makes the first environment pending and leaves the others not requested.
//! 2. Only members of an environment's approver groups decide it.
//! 3. Only a pending step is decided, and only once every step before it is approved; a
//!    decided step is never decided again.
//! 4. A rejection needs a reason; any reason is at most [`MAX_REASON_CHARS`] characters.
//! 5. Nobody approves a version attributed to them (four-eyes: the declared registrant, the
//!    owner, whoever created it in the registry), unless the policy allows it for that
//!    environment. People are compared by every identifier they are known by
//!    (`identity.rs`).
//! 6. A step needing several approvals is approved by that many *distinct* people; one
//!    rejection decides it. Where nobody could be established as the registrant, the
//!    environments the policy names need one approval more (fail closed).
//! 7. Approving a step makes every later not-requested step pending; approving the first
//!    environment approves the version. Rejecting a step withdraws the later requests;
//!    rejecting the first environment rejects the version.
//! 8. Each approval that completes a step deploys the version to that environment.
//! 9. An approver of an environment may roll it back, with a reason, to another version
//!    approved there: that version is deployed again, and the step of the version it
//!    replaces becomes `RolledBack` (decided, never decided again; its later requests are
//!    withdrawn, and rolling back the first environment rejects the version). One approver
//!    suffices, however many a promotion needs: a rollback is the emergency brake.

use crate::environment::Environment;
use crate::model::*;
use crate::policy::{Actor, Policy};
use time::OffsetDateTime;

pub const MAX_REASON_CHARS: usize = 2000;

/// What a person asks for: approve or reject one environment of a version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionRequest {
    pub environment: Environment,
    pub verdict: Verdict,
    /// Trimmed; `None` when blank.
    pub reason: Option<String>,
}

impl DecisionRequest {
    pub fn new(environment: Environment, verdict: Verdict, reason: &str) -> Self {
        let reason = reason.trim();
        Self {
            environment,
            verdict,
            reason: (!reason.is_empty()).then(|| reason.to_owned()),
        }
    }
}

/// Why a decision was not taken. Each message is written for the person who asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{environment} is not an environment of this portal")]
    UnknownEnvironment { environment: String },
    #[error("you are not in an approver group for {environment}")]
    NotAnApprover { environment: Environment },
    #[error("{environment} is already {state}; a decided step is not decided again")]
    AlreadyDecided {
        environment: Environment,
        state: StepState,
    },
    #[error("{environment} cannot be decided before {earlier} is approved")]
    EarlierNotApproved {
        environment: Environment,
        earlier: Environment,
    },
    #[error("a rejection needs a reason")]
    ReasonRequired,
    #[error("the reason is too long: at most {MAX_REASON_CHARS} characters")]
    ReasonTooLong,
    #[error("you registered this version, so someone else must approve it for {environment}")]
    OwnVersion { environment: Environment },
    #[error("you have already approved {environment}; it needs another approver")]
    AlreadyApprovedByYou { environment: Environment },
    #[error("nothing is live in {environment}, so there is nothing to roll back")]
    NothingLive { environment: Environment },
    #[error("version {version} is already live in {environment}")]
    AlreadyLive {
        environment: Environment,
        version: VersionNumber,
    },
    #[error("version {version} was never approved for {environment} (it is {state}); a rollback returns to a version approved there")]
    NotApprovedThere {
        environment: Environment,
        version: VersionNumber,
        state: StepState,
    },
    #[error("approve and reject are decided with the decision form; a rollback names the version to return to")]
    NotADecision,
}

/// Everything one accepted decision changes, to be applied as one unit.
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionEffect {
    pub record: DecisionRecord,
    /// The version revision the decision was computed against; applying it to any other
    /// revision is a conflict.
    pub based_on_revision: u64,
    pub approval_status: ApprovalStatus,
    pub steps: Steps,
    /// Set when the decision makes the version live in the environment.
    pub deployment: Option<Deployment>,
}

/// The initial state of a newly registered version (rule 1).
pub fn register(policy: &Policy, registration: Registration, now: OffsetDateTime) -> NewVersion {
    let envs = policy.environments();
    let steps = envs
        .iter()
        .map(|env| {
            let state = if env == envs.first() {
                StepState::PendingManualApproval
            } else {
                StepState::NotRequested
            };
            (env.clone(), state)
        })
        .collect();
    NewVersion {
        registration,
        approval_status: ApprovalStatus::PendingManualApproval,
        steps,
        registered_at: now,
    }
}

/// Approvals of `environment` already given in its current pending round.
pub fn pending_approvals<'a>(
    history: &'a [DecisionRecord],
    environment: &'a Environment,
) -> impl Iterator<Item = &'a DecisionRecord> + 'a {
    history.iter().filter(move |r| {
        &r.environment == environment
            && r.verdict == Verdict::Approve
            && r.resulting_state == StepState::PendingManualApproval
    })
}

/// What the actor could decide on this version now; the UI offers exactly these.
pub fn decidable_environments<'a>(
    policy: &'a Policy,
    version: &'a ModelVersion,
    history: &'a [DecisionRecord],
    actor: &'a Actor,
) -> impl Iterator<Item = &'a Environment> + 'a {
    policy
        .environments()
        .iter()
        .filter(move |env| approval_refusal(policy, version, history, actor, env).is_none())
}

/// Why the actor may not approve `env` of this version now; `None` when they may.
pub fn approval_refusal(
    policy: &Policy,
    version: &ModelVersion,
    history: &[DecisionRecord],
    actor: &Actor,
    env: &Environment,
) -> Option<Refusal> {
    check_may_decide(policy, version, actor, env)
        .and_then(|()| check_may_approve(policy, version, history, actor, env))
        .err()
}

fn check_may_decide(
    policy: &Policy,
    version: &ModelVersion,
    actor: &Actor,
    env: &Environment,
) -> Result<(), Refusal> {
    if !policy.is_approver(actor, env) {
        return Err(Refusal::NotAnApprover {
            environment: env.clone(),
        });
    }
    // Every earlier step, not only the one before: a rollback can withdraw an early step
    // while later ones stay approved.
    let envs = policy.environments();
    let earlier = envs.iter().take_while(|e| *e != env);
    if let Some(earlier) = earlier
        .into_iter()
        .find(|e| version.steps.state(e) != StepState::Approved)
    {
        return Err(Refusal::EarlierNotApproved {
            environment: env.clone(),
            earlier: earlier.clone(),
        });
    }
    match version.steps.state(env) {
        // Not requested although its predecessor is approved (checked above): only a
        // version registered outside Countersign, without our metadata, looks like this.
        // Missing metadata means undecided, so it waits for a decision like a pending step.
        StepState::PendingManualApproval | StepState::NotRequested => Ok(()),
        state => Err(Refusal::AlreadyDecided {
            environment: env.clone(),
            state,
        }),
    }
}

fn check_may_approve(
    policy: &Policy,
    version: &ModelVersion,
    history: &[DecisionRecord],
    actor: &Actor,
    env: &Environment,
) -> Result<(), Refusal> {
    if version.attributed_to.includes(&actor.person) && !policy.self_approval_allowed(env) {
        return Err(Refusal::OwnVersion {
            environment: env.clone(),
        });
    }
    if pending_approvals(history, env).any(|r| r.decided_by.is_same_person_as(&actor.person)) {
        return Err(Refusal::AlreadyApprovedByYou {
            environment: env.clone(),
        });
    }
    Ok(())
}

/// Decides whether `actor` may take `request` on `version` and, if so, returns its complete
/// effect. `history` is the version's decision log so far.
pub fn decide(
    policy: &Policy,
    version: &ModelVersion,
    history: &[DecisionRecord],
    actor: &Actor,
    request: &DecisionRequest,
    decision_id: String,
    now: OffsetDateTime,
) -> Result<DecisionEffect, Refusal> {
    let env = &request.environment;
    let envs = policy.environments();
    if envs.position(env).is_none() {
        return Err(Refusal::UnknownEnvironment {
            environment: env.to_string(),
        });
    }
    check_may_decide(policy, version, actor, env)?;
    if let Some(reason) = &request.reason {
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(Refusal::ReasonTooLong);
        }
    }

    let mut steps = version.steps.clone();
    let mut approval_status = version.approval_status;
    let mut deployment = None;
    let is_first = env == envs.first();

    let resulting_state = match request.verdict {
        Verdict::Rollback => return Err(Refusal::NotADecision),
        Verdict::Reject => {
            if request.reason.is_none() {
                return Err(Refusal::ReasonRequired);
            }
            steps.set(env, StepState::Rejected);
            for later in envs.after(env) {
                steps.set(later, StepState::NotRequested);
            }
            if is_first {
                approval_status = ApprovalStatus::Rejected;
            }
            StepState::Rejected
        }
        Verdict::Approve => {
            check_may_approve(policy, version, history, actor, env)?;
            let approvals = pending_approvals(history, env).count() + 1;
            if approvals < usize::from(policy.approvals_needed(env, version)) {
                steps.set(env, StepState::PendingManualApproval);
                StepState::PendingManualApproval
            } else {
                steps.set(env, StepState::Approved);
                for later in envs.after(env) {
                    if steps.state(later) == StepState::NotRequested {
                        steps.set(later, StepState::PendingManualApproval);
                    }
                }
                if is_first {
                    approval_status = ApprovalStatus::Approved;
                }
                deployment = Some(Deployment {
                    group: version.group.clone(),
                    version: version.version,
                    arn: version.arn.clone(),
                    environment: env.clone(),
                    image_uri: version.image_uri.clone(),
                    model_data_url: version.model_data_url.clone(),
                    approved_by: actor.person.clone(),
                    approved_at: now,
                    decision_id: decision_id.clone(),
                });
                StepState::Approved
            }
        }
    };

    Ok(DecisionEffect {
        record: DecisionRecord {
            id: decision_id,
            group: version.group.clone(),
            version: version.version,
            environment: env.clone(),
            verdict: request.verdict,
            reason: request.reason.clone(),
            decided_by: actor.person.clone(),
            decided_at: now,
            resulting_state,
            rollback_to: None,
        },
        based_on_revision: version.revision,
        approval_status,
        steps,
        deployment,
    })
}

/// The version live in an environment, read from the registry, with its deployment.
pub struct Live<'a> {
    pub version: &'a ModelVersion,
    pub deployment: &'a Deployment,
}

/// Why the actor may not roll `environment` back to `target` now, with `live` the version
/// live there; `None` when they may (the UI offers exactly these rollbacks).
pub fn rollback_refusal(
    policy: &Policy,
    live: Option<VersionNumber>,
    target: &ModelVersion,
    actor: &Actor,
    environment: &Environment,
) -> Option<Refusal> {
    if policy.environments().position(environment).is_none() {
        return Some(Refusal::UnknownEnvironment {
            environment: environment.to_string(),
        });
    }
    if !policy.is_approver(actor, environment) {
        return Some(Refusal::NotAnApprover {
            environment: environment.clone(),
        });
    }
    let Some(live) = live else {
        return Some(Refusal::NothingLive {
            environment: environment.clone(),
        });
    };
    if live == target.version {
        return Some(Refusal::AlreadyLive {
            environment: environment.clone(),
            version: target.version,
        });
    }
    let state = target.steps.state(environment);
    (state != StepState::Approved).then(|| Refusal::NotApprovedThere {
        environment: environment.clone(),
        version: target.version,
        state,
    })
}

/// Rolls `environment` back from the live version to `target` (rule 9). The effect belongs
/// to the live version, whose step becomes `RolledBack`; its deployment puts `target` back.
#[allow(clippy::too_many_arguments)]
pub fn rollback(
    policy: &Policy,
    live: Option<Live<'_>>,
    target: &ModelVersion,
    actor: &Actor,
    environment: &Environment,
    reason: &str,
    decision_id: String,
    now: OffsetDateTime,
) -> Result<DecisionEffect, Refusal> {
    if let Some(refusal) = rollback_refusal(
        policy,
        live.as_ref().map(|l| l.version.version),
        target,
        actor,
        environment,
    ) {
        return Err(refusal);
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Refusal::ReasonRequired);
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(Refusal::ReasonTooLong);
    }
    let envs = policy.environments();
    let withdrawn = live
        .expect("a rollback with nothing live is refused above")
        .version;
    let mut steps = withdrawn.steps.clone();
    steps.set(environment, StepState::RolledBack);
    for later in envs.after(environment) {
        if !steps.state(later).is_decided() {
            steps.set(later, StepState::NotRequested);
        }
    }
    let approval_status = if environment == envs.first() {
        ApprovalStatus::Rejected
    } else {
        withdrawn.approval_status
    };
    Ok(DecisionEffect {
        record: DecisionRecord {
            id: decision_id.clone(),
            group: withdrawn.group.clone(),
            version: withdrawn.version,
            environment: environment.clone(),
            verdict: Verdict::Rollback,
            reason: Some(reason.to_owned()),
            decided_by: actor.person.clone(),
            decided_at: now,
            resulting_state: StepState::RolledBack,
            rollback_to: Some(target.version),
        },
        based_on_revision: withdrawn.revision,
        approval_status,
        steps,
        deployment: Some(Deployment {
            group: target.group.clone(),
            version: target.version,
            arn: target.arn.clone(),
            environment: environment.clone(),
            image_uri: target.image_uri.clone(),
            model_data_url: target.model_data_url.clone(),
            approved_by: actor.person.clone(),
            approved_at: now,
            decision_id,
        }),
    })
}

/// Applies an effect to the version it was computed from, as every adapter must store it.
pub fn apply(version: &ModelVersion, effect: &DecisionEffect) -> ModelVersion {
    ModelVersion {
        approval_status: effect.approval_status,
        steps: effect.steps.clone(),
        revision: effect.based_on_revision + 1,
        ..version.clone()
    }
}

#[cfg(test)]
mod tests {
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
    }

    impl Scenario {
        fn registered_by(registrant: &str) -> Self {
            Self::with_policy(policy(), registrant)
        }

        fn with_policy(policy: Policy, registrant: &str) -> Self {
            let registration = Registration {
                group: GroupName::parse("churn").unwrap(),
                image_uri: "img".into(),
                model_data_url: "s3://m".into(),
                description: String::new(),
                metrics: Metrics::new(),
                registered_by: person(registrant),
                registered_through: None,
            };
            let version = register(&policy, registration, NOW)
                .into_version(VersionNumber::new(1).unwrap(), "arn:local:churn/1".into());
            Self {
                policy,
                version,
                log: vec![],
            }
        }

        /// Asks for a decision and, when accepted, applies it.
        fn decide_as(
            &mut self,
            actor: &Actor,
            environment: &str,
            verdict: Verdict,
            reason: &str,
        ) -> Result<DecisionEffect, Refusal> {
            let request = DecisionRequest::new(env(environment), verdict, reason);
            let id = format!("d{}", self.log.len());
            let effect = decide(
                &self.policy,
                &self.version,
                &self.log,
                actor,
                &request,
                id,
                NOW,
            )?;
            self.version = apply(&self.version, &effect);
            self.log.push(effect.record.clone());
            Ok(effect)
        }

        fn approve(&mut self, who: &str, environment: &str) -> Result<DecisionEffect, Refusal> {
            self.decide_as(&approver(who), environment, Verdict::Approve, "")
        }

        fn reject(
            &mut self,
            who: &str,
            environment: &str,
            reason: &str,
        ) -> Result<DecisionEffect, Refusal> {
            self.decide_as(&approver(who), environment, Verdict::Reject, reason)
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

    #[test]
    fn only_approvers_decide() {
        let mut s = Scenario::registered_by("dana");
        let outsider = Actor {
            person: person("oscar"),
            groups: BTreeSet::from(["data-scientists".to_string()]),
        };
        for verdict in [Verdict::Approve, Verdict::Reject] {
            let refusal = s.decide_as(&outsider, "dev", verdict, "no").unwrap_err();
            assert!(matches!(refusal, Refusal::NotAnApprover { .. }));
        }
    }

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
            .decide_as(&approver("alice"), "dev", Verdict::Approve, &long)
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

    #[test]
    fn a_decided_step_is_not_decided_again() {
        let mut s = Scenario::registered_by("dana");
        s.approve("alice", "dev").unwrap();
        for verdict in [Verdict::Approve, Verdict::Reject] {
            let refusal = s
                .decide_as(&approver("bob"), "dev", verdict, "why")
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

    #[test]
    fn the_registrant_is_recognised_by_any_identifier_whatever_its_case() {
        let mut s = Scenario::registered_by("alice");
        s.version.registered_by = Person {
            subject: "Dana.Scientist@Example.COM".into(),
            name: "Dana".into(),
            email: String::new(),
        };
        s.version.attributed_to = Attribution::of(&s.version.registered_by).and("sam@example.com");
        for (subject, email) in [
            ("0f1e-oid-of-dana", "dana.scientist@example.com"),
            (" dana.scientist@example.com ", ""),
            ("sam-oid", "SAM@example.com"),
        ] {
            assert_eq!(
                s.decide_as(&signer(subject, email), "dev", Verdict::Approve, "")
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
            Verdict::Approve,
            "",
        )
        .unwrap();
    }

    #[test]
    fn one_person_in_two_spellings_is_one_approver() {
        let mut s = Scenario::registered_by("dana");
        for e in ["dev", "test", "uat"] {
            s.approve("alice", e).unwrap();
        }
        s.decide_as(
            &signer("alice", "alice@example.com"),
            "prod",
            Verdict::Approve,
            "",
        )
        .unwrap();
        for (subject, email) in [("ALICE", ""), ("other-id", "Alice@Example.com")] {
            assert_eq!(
                s.decide_as(&signer(subject, email), "prod", Verdict::Approve, "")
                    .unwrap_err(),
                Refusal::AlreadyApprovedByYou {
                    environment: env("prod")
                }
            );
        }
    }

    #[test]
    fn without_an_established_registrant_the_last_environment_needs_one_more_approver() {
        let mut s = Scenario::registered_by("dana");
        s.version.attributed_to = Attribution::nobody();
        for e in ["dev", "test", "uat"] {
            let effect = s.approve("alice", e).unwrap();
            assert!(
                effect.deployment.is_some(),
                "{e} needs one approval as configured"
            );
        }
        assert_eq!(s.policy.approvals_needed(&env("prod"), &s.version), 3);
        assert!(s.approve("alice", "prod").unwrap().deployment.is_none());
        assert!(s.approve("bob", "prod").unwrap().deployment.is_none());
        assert_eq!(s.state("prod"), PendingManualApproval);
        assert!(s.approve("carol", "prod").unwrap().deployment.is_some());

        let dev_too = policy()
            .with_extra_approval_without_registrant(["dev".to_string()])
            .unwrap();
        let mut s = Scenario::with_policy(dev_too, "dana");
        s.version.attributed_to = Attribution::nobody();
        assert!(s.approve("alice", "dev").unwrap().deployment.is_none());
        assert!(s.approve("bob", "dev").unwrap().deployment.is_some());
        assert!(policy()
            .with_extra_approval_without_registrant(["staging".to_string()])
            .is_err());
    }

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
        let live = live_of(newer, environment);
        rollback(
            &older.policy,
            Some(Live {
                version: &newer.version,
                deployment: &live,
            }),
            &older.version,
            &approver("bob"),
            &env(environment),
            reason,
            "r1".into(),
            NOW,
        )
    }

    fn live_of(scenario: &Scenario, environment: &str) -> Deployment {
        let id = scenario
            .log
            .iter()
            .rfind(|r| r.environment == env(environment) && r.resulting_state == Approved)
            .map(|r| r.id.clone())
            .unwrap();
        Deployment {
            group: scenario.version.group.clone(),
            version: scenario.version.version,
            arn: scenario.version.arn.clone(),
            environment: env(environment),
            image_uri: scenario.version.image_uri.clone(),
            model_data_url: scenario.version.model_data_url.clone(),
            approved_by: person("alice"),
            approved_at: NOW,
            decision_id: id,
        }
    }

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
    fn a_rollback_is_refused_with_the_reason() {
        let (older, newer) = two_promoted_to_test();
        let live = live_of(&newer, "test");
        let fresh = Scenario::registered_by("dana");
        let outsider = Actor {
            person: person("oscar"),
            groups: BTreeSet::new(),
        };
        let attempt = |actor: &Actor,
                       environment: &str,
                       live: Option<Live>,
                       target: &ModelVersion,
                       reason: &str| {
            rollback(
                &older.policy,
                live,
                target,
                actor,
                &env(environment),
                reason,
                "r".into(),
                NOW,
            )
        };
        let live_now = || {
            Some(Live {
                version: &newer.version,
                deployment: &live,
            })
        };
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
        let mut scenario = Scenario::registered_by("dana");
        assert_eq!(
            scenario.decide_as(&approver("bob"), "dev", Verdict::Rollback, "why"),
            Err(Refusal::NotADecision)
        );
    }
}
