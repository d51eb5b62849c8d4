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
use crate::signature::{
    still_binds, Authentication, EvidenceProblem, SignedContent, Signing, PROVIDER_CLOCK_SKEW,
};
use time::OffsetDateTime;

mod rollback;
mod signing;
pub use rollback::{rollback, rollback_refusal, RollbackRequest};
pub use signing::{check_authentication, check_signing};

pub const MAX_REASON_CHARS: usize = 2000;

/// What a person asks for: approve or reject one environment of a version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionRequest {
    pub environment: Environment,
    pub choice: Choice,
    /// As written; [`Reason::parse`] decides what it is.
    pub reason: String,
    /// The signature's meaning, one of the policy's for this environment and choice;
    /// `None`: the first of them.
    pub meaning: Option<String>,
}

impl DecisionRequest {
    pub fn new(environment: Environment, choice: Choice, reason: &str) -> Self {
        Self {
            environment,
            choice,
            reason: reason.to_owned(),
            meaning: None,
        }
    }

    pub fn meaning(mut self, meaning: &str) -> Self {
        self.meaning = Some(meaning.to_owned());
        self
    }
}

/// Why a decision was taken, trimmed, not blank, at most [`MAX_REASON_CHARS`] characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    /// The reason a person wrote: `None` when blank, refused when too long.
    pub fn parse(text: &str) -> Result<Option<Reason>, Refusal> {
        let text = text.trim();
        if text.chars().count() > MAX_REASON_CHARS {
            return Err(Refusal::ReasonTooLong);
        }
        Ok((!text.is_empty()).then(|| Reason(text.to_owned())))
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Why a decision was not taken. Each message is written for the person who asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("that is not an environment of this portal")]
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
    #[error("every decision in {environment} needs a reason")]
    ReasonRequiredIn { environment: Environment },
    #[error("the approval of {environment} no longer matches this version as the registry holds it (its image, model data or metrics changed after it was signed), so it is not promoted further: register the changed model as a new version")]
    SignatureMismatch { environment: Environment },
    #[error("what you confirmed is no longer what would be signed (the version, what is live in {environment} or the decision changed since): review it again")]
    ReviewedRecordChanged { environment: Environment },
    #[error("signing in {environment} needs a sign-in within the last {max_age_seconds} seconds: sign in again to sign")]
    ReauthenticationRequired {
        environment: Environment,
        max_age_seconds: i64,
    },
    #[error("your identity provider did not say when you signed in (the auth_time claim), so the signature cannot show a fresh sign-in and was not recorded; an administrator must have the provider send auth_time (Entra ID: App registration, Token configuration, Add optional claim, ID token, auth_time)")]
    AuthenticationTimeMissing,
    #[error("your identity provider did not sign you in again (it says you last signed in at {auth_time}, before you were sent to it), so the signature was not recorded; it must honour prompt=login and max_age")]
    NotReauthenticated { auth_time: String },
    #[error("your identity provider says you signed in at {auth_time}, which is later than the signature itself, so the signature was not recorded; the provider's clock or its token is wrong")]
    AuthenticationInTheFuture { auth_time: String },
    #[error("signing in {environment} needs the authentication context {context} (for example multi-factor authentication), which your sign-in did not satisfy")]
    AuthenticationContextMissing {
        environment: Environment,
        context: String,
    },
    #[error("your sign-in carries none of your identity provider's own evidence (its ID token), which every signature here keeps: sign out and sign in again to sign")]
    NoProviderEvidence,
    #[error("{0}, so the signature was not recorded: sign out and sign in again to sign")]
    ProviderEvidence(crate::signature::EvidenceProblem),
    #[error("that is not a meaning a signature here may carry; choose one of: {offered}")]
    UnknownMeaning { meaning: String, offered: String },
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
    #[error("version {version} no longer matches what was approved for {environment} (its image, model data or metrics changed after it was signed), so it is not put back there: register the model again as a new version")]
    RollbackTargetChanged {
        environment: Environment,
        version: VersionNumber,
    },
    #[error("version {version} was never approved for {environment} (it is {state}); a rollback returns to a version approved there")]
    NotApprovedThere {
        environment: Environment,
        version: VersionNumber,
        state: StepState,
    },
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
    /// With a deployment: the decision whose deployment was live in the environment when
    /// this one was computed (`None`: nothing was). One guard per environment: if another
    /// decision has made something else live there by the time this one is applied, applying
    /// it is a conflict, so a rollback never silently undoes an approval its author never saw.
    pub replaces: Option<String>,
    /// What the signer signs; the record's signature holds its digest.
    pub signed: SignedContent,
}

impl DecisionEffect {
    /// This effect, guarded by the deployment live in its environment now.
    /// The signed content names the version it replaces, so the record's digest changes too.
    pub fn replacing(mut self, live: Option<&Deployment>) -> Self {
        self.replaces = live.map(|d| d.decision_id.clone());
        self.signed.replaces_version = live.map(|d| d.version.get());
        self.record.signature = Some(self.signed.signature());
        self
    }

    /// Whether applying this effect may replace `live`, the deployment live in its
    /// environment at the moment it is applied (adapters call this inside their
    /// transaction). Effects that deploy nothing never conflict here; the effect's own
    /// deployment already live is a retry of this very decision.
    pub fn may_replace(&self, live: Option<&str>) -> bool {
        let Some(deployment) = &self.deployment else {
            return true;
        };
        live == self.replaces.as_deref() || live == Some(deployment.decision_id.as_str())
    }
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
    version: &'a ModelVersion,
    history: &'a [DecisionRecord],
    environment: &'a Environment,
) -> impl Iterator<Item = &'a DecisionRecord> + 'a {
    // An approval whose signature no longer matches the registry entry is void.
    history.iter().filter(move |r| {
        &r.environment == environment
            && r.verdict == Verdict::Approve
            && r.resulting_state == StepState::PendingManualApproval
            && still_binds(r, version)
    })
}

/// The environments whose approval of this version (the one that approved the step) no
/// longer matches what the registry holds (the image, model data or metrics changed after it
/// was signed), in order.
pub fn broken_signatures(version: &ModelVersion, history: &[DecisionRecord]) -> Vec<Environment> {
    let mut broken: Vec<Environment> = Vec::new();
    for record in history {
        if record.verdict == Verdict::Approve
            && record.resulting_state == StepState::Approved
            && record.version == version.version
            && !still_binds(record, version)
            && !broken.contains(&record.environment)
        {
            broken.push(record.environment.clone());
        }
    }
    broken
}

/// A step that waits for decisions: the version's next environment, since when it has
/// waited, and how far its approvals have come.
#[derive(Clone, Debug, PartialEq)]
pub struct Waiting {
    pub environment: Environment,
    /// When the step was requested: the version's registration for the first environment,
    /// else the approval that completed the environment before it.
    pub since: OffsetDateTime,
    /// Who has approved it in this round (a step needing several approvals stays pending
    /// until it has them), one entry per person.
    pub approvals: Vec<Person>,
    /// How many distinct approvals it needs in all.
    pub needed: u8,
}

impl Waiting {
    /// How many more approvals the step needs.
    pub fn still_needed(&self) -> u8 {
        self.needed.saturating_sub(self.approvals.len() as u8)
    }
}

/// The step of this version waiting for decisions, if any (rule 3: the first pending step
/// whose predecessors are all approved).
pub fn waiting(
    policy: &Policy,
    version: &ModelVersion,
    history: &[DecisionRecord],
) -> Option<Waiting> {
    let envs = policy.environments();
    let environment = version.steps.awaiting(envs)?;
    let since = envs
        .previous(environment)
        .and_then(|previous| {
            history
                .iter()
                .filter(|r| {
                    r.version == version.version
                        && &r.environment == previous
                        && r.verdict == Verdict::Approve
                        && r.resulting_state == StepState::Approved
                })
                .map(|r| r.decided_at)
                .max()
        })
        .unwrap_or(version.registered_at);
    let mut approvals: Vec<Person> = Vec::new();
    for record in pending_approvals(version, history, environment) {
        if !approvals
            .iter()
            .any(|p| record.decided_by.is_same_person_as(p))
        {
            approvals.push(record.decided_by.clone());
        }
    }
    Some(Waiting {
        environment: environment.clone(),
        since,
        approvals,
        needed: policy.approvals_needed(environment, version),
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
    if let Some(signed) = broken_signatures(version, history).into_iter().next() {
        return Err(Refusal::SignatureMismatch {
            environment: signed,
        });
    }
    if pending_approvals(version, history, env)
        .any(|r| r.decided_by.is_same_person_as(&actor.person))
    {
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
    stamp: Stamp,
) -> Result<DecisionEffect, Refusal> {
    let env = &request.environment;
    let envs = policy.environments();
    if envs.position(env).is_none() {
        return Err(Refusal::UnknownEnvironment {
            environment: env.to_string(),
        });
    }
    check_may_decide(policy, version, actor, env)?;
    let reason = Reason::parse(&request.reason)?;
    if reason.is_none() && request.choice == Choice::Approve && policy.reason_required(env) {
        return Err(Refusal::ReasonRequiredIn {
            environment: env.clone(),
        });
    }
    let verdict = Verdict::from(request.choice);
    let meaning = chosen_meaning(policy, env, verdict, request.meaning.as_deref())?;

    let mut steps = version.steps.clone();
    let mut approval_status = version.approval_status;
    let mut deployment = None;
    let is_first = env == envs.first();

    let resulting_state = match request.choice {
        Choice::Reject => {
            if reason.is_none() {
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
        Choice::Approve => {
            check_may_approve(policy, version, history, actor, env)?;
            let approvals = pending_approvals(version, history, env).count() + 1;
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
                deployment = Some(Deployment::of(version, env, &actor.person, &stamp));
                StepState::Approved
            }
        }
    };

    let reason = reason.map(Reason::into_string);
    let signed = SignedContent::of(
        version,
        env,
        verdict,
        &meaning,
        reason.as_deref(),
        &actor.person,
    );
    Ok(DecisionEffect {
        record: DecisionRecord {
            id: stamp.id,
            group: version.group.clone(),
            version: version.version,
            environment: env.clone(),
            verdict,
            reason,
            decided_by: actor.person.clone(),
            decided_at: stamp.at,
            resulting_state,
            rollback_to: None,
            signature: Some(signed.signature()),
        },
        based_on_revision: version.revision,
        approval_status,
        steps,
        deployment,
        replaces: None,
        signed,
    })
}

/// The meaning the signer chose, if the policy offers it for this environment and verdict;
/// the first offered when they chose none.
fn chosen_meaning(
    policy: &Policy,
    environment: &Environment,
    verdict: Verdict,
    chosen: Option<&str>,
) -> Result<String, Refusal> {
    let offered = policy.meanings(environment, verdict);
    match chosen.map(str::trim) {
        None | Some("") => Ok(offered[0].clone()),
        Some(chosen) => offered
            .iter()
            .find(|m| m.as_str() == chosen)
            .cloned()
            .ok_or_else(|| Refusal::UnknownMeaning {
                meaning: chosen.to_owned(),
                offered: offered.join("; "),
            }),
    }
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
mod tests;
