//! Rule 9: rolling an environment back to a version that was live there before, signed
//! like any decision.

use super::*;

/// What a person asks for: point `environment` back to version `target` (rule 9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollbackRequest {
    pub environment: Environment,
    pub target: VersionNumber,
    /// As written; a rollback needs one.
    pub reason: String,
    /// As for a decision: one of the policy's meanings for a rollback there, `None` the first.
    pub meaning: Option<String>,
}

/// Why the actor may not roll `environment` back to `target` now, with `live` the version
/// live there and `target_history` the target's decisions; `None` when they may (the UI
/// offers exactly these rollbacks).
pub fn rollback_refusal(
    policy: &Policy,
    live: Option<VersionNumber>,
    target: &ModelVersion,
    target_history: &[DecisionRecord],
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
    // Putting a version back makes it live again: its registrant may not do that alone any
    // more than approve it, unless the environment exempts them (N13).
    if target.attributed_to.includes(&actor.person) && !policy.self_approval_allowed(environment) {
        return Some(Refusal::OwnVersion {
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
    if state != StepState::Approved {
        return Some(Refusal::NotApprovedThere {
            environment: environment.clone(),
            version: target.version,
            state,
        });
    }
    // Putting back a version changed since it was approved there would make live what
    // nobody signed.
    broken_signatures(target, target_history)
        .contains(environment)
        .then(|| Refusal::RollbackTargetChanged {
            environment: environment.clone(),
            version: target.version,
        })
}

/// Rolls `request.environment` back from `live`, the version live there, to `target`
/// (rule 9). The effect belongs to the live version, whose step becomes `RolledBack`; its
/// deployment puts `target` back.
pub fn rollback(
    policy: &Policy,
    live: Option<&ModelVersion>,
    target: &ModelVersion,
    target_history: &[DecisionRecord],
    actor: &Actor,
    request: &RollbackRequest,
    stamp: Stamp,
) -> Result<DecisionEffect, Refusal> {
    let environment = &request.environment;
    if let Some(refusal) = rollback_refusal(
        policy,
        live.map(|l| l.version),
        target,
        target_history,
        actor,
        environment,
    ) {
        return Err(refusal);
    }
    let Some(withdrawn) = live else {
        return Err(Refusal::NothingLive {
            environment: environment.clone(),
        });
    };
    let reason = Reason::parse(&request.reason)?
        .ok_or(Refusal::ReasonRequired)?
        .into_string();
    let meaning = chosen_meaning(
        policy,
        environment,
        Verdict::Rollback,
        request.meaning.as_deref(),
    )?;
    // What is signed is the version put back, and the one it replaces.
    let mut signed = SignedContent::of(
        target,
        environment,
        Verdict::Rollback,
        &meaning,
        Some(&reason),
        &actor.person,
    );
    signed.replaces_version = Some(withdrawn.version.get());
    let envs = policy.environments();
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
        deployment: Some(Deployment::of(target, environment, &actor.person, &stamp)),
        record: DecisionRecord {
            id: stamp.id,
            group: withdrawn.group.clone(),
            version: withdrawn.version,
            environment: environment.clone(),
            verdict: Verdict::Rollback,
            reason: Some(reason),
            decided_by: actor.person.clone(),
            decided_at: stamp.at,
            resulting_state: StepState::RolledBack,
            rollback_to: Some(target.version),
            signature: Some(signed.signature()),
        },
        based_on_revision: withdrawn.revision,
        approval_status,
        steps,
        replaces: None,
        signed,
    })
}
