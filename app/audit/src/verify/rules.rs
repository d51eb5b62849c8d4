//! Step 4 of the verifier: the workflow's rules replayed over the entries, in order, each
//! decision checked under the rules in force when it was signed.

use super::evidence::{check_evidence, Evidence};
use super::{Trusted, Verified};
use crate::entry::{Entry, EnvironmentRules, EventJson};
use countersign_domain::{
    Attribution, Environment, Environments, Person, Policy, StepState, Steps, Verdict,
};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// The workflow's state as the entries so far tell it, to check each decision against.
#[derive(Clone)]
pub(super) struct Rules {
    policy: Option<Policy>,
    versions: BTreeMap<u32, Track>,
    /// See [`Trusted::accept_without_evidence_before`].
    accept_without_evidence_before: Option<u64>,
    /// See [`Trusted::provider_keys`].
    provider_keys: Option<Vec<serde_json::Value>>,
}

/// One version: whom it is attributed to, each environment's state, and the approvals a
/// pending step has so far.
#[derive(Clone)]
struct Track {
    attributed_to: Attribution,
    steps: Steps,
    approvals: BTreeMap<Environment, Vec<Person>>,
}

impl Rules {
    pub(super) fn new(trusted: &Trusted) -> Self {
        Self {
            policy: None,
            versions: BTreeMap::new(),
            accept_without_evidence_before: trusted.accept_without_evidence_before,
            provider_keys: trusted.provider_keys.map(<[_]>::to_vec),
        }
    }

    pub(super) fn check(&mut self, entry: &Entry, verified: &mut Verified) -> Result<(), String> {
        match &entry.event {
            EventJson::PolicyInForce {
                environments,
                identity_provider,
            } => {
                let policy = policy_of(environments)?;
                let named_one = self
                    .policy
                    .as_ref()
                    .is_some_and(|p| p.identity_provider().is_some());
                if named_one && identity_provider.is_none() {
                    verified.provider_dropped_at.push(entry.seq);
                }
                self.policy = Some(match identity_provider {
                    Some(provider) => policy.with_identity_provider(provider.clone()),
                    None => policy,
                });
            }
            // The first time the portal saw the version is the one that counts.
            EventJson::RegistrationSeen {
                version,
                attributed_to,
                registrant_verified,
                steps,
                ..
            } if !self.versions.contains_key(version) => {
                // Before the portal told verified from declared, anyone named counted.
                let verified = registrant_verified.unwrap_or(!attributed_to.is_empty());
                let track = Track {
                    attributed_to: attributed_to
                        .iter()
                        .fold(Attribution::nobody(), |a, id| a.and(id))
                        .and_verified_when(verified),
                    steps: steps_of(steps)?,
                    approvals: BTreeMap::new(),
                };
                self.versions.insert(*version, track);
            }
            EventJson::Decided {
                decision,
                reauthentication_asked_at,
                ..
            } => {
                let (Some(policy), Some(track)) =
                    (&self.policy, self.versions.get_mut(&decision.version))
                else {
                    verified.decisions_unchecked += 1;
                    return Ok(());
                };
                check_decision(policy, track, decision, *reauthentication_asked_at)?;
                verified.decisions_checked += 1;
                let accepted_without = self
                    .accept_without_evidence_before
                    .is_some_and(|before| entry.seq < before);
                match check_evidence(
                    policy,
                    decision,
                    *reauthentication_asked_at,
                    self.provider_keys.as_deref(),
                ) {
                    Ok(Evidence::Shown) => verified.decisions_with_provider_evidence += 1,
                    Ok(Evidence::NotRequired) => {}
                    Err(_) if accepted_without && no_evidence(decision) => {
                        verified.decisions_accepted_without_evidence += 1
                    }
                    Err(problem) => return Err(problem),
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Whether `decision` carries no evidence at all (what `--accept-unsigned-before` excuses:
/// evidence that is there and wrong is never excused).
fn no_evidence(decision: &crate::entry::DecisionJson) -> bool {
    decision
        .signature
        .as_ref()
        .is_none_or(|s| s.identity_evidence.is_none())
}

/// The policy an entry recorded, as the workflow holds it.
fn policy_of(environments: &[EnvironmentRules]) -> Result<Policy, String> {
    let names = environments
        .iter()
        .map(|r| Environment::parse(&r.environment).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let bad = |e: countersign_domain::policy::PolicyError| e.to_string();
    let named = |pick: fn(&EnvironmentRules) -> bool| {
        environments
            .iter()
            .filter(move |r| pick(r))
            .map(|r| r.environment.clone())
    };
    let mut policy = Policy::new(Environments::new(names).map_err(|e| e.to_string())?, "-")
        .with_reason_required(named(|r| r.reason_required))
        .and_then(|p| {
            p.with_extra_approval_without_registrant(named(|r| r.extra_approval_without_registrant))
        })
        .map_err(bad)?;
    for rules in environments {
        let env = rules.environment.as_str();
        policy = policy
            .with_approver_groups(env, rules.approver_groups.iter().cloned())
            .and_then(|p| p.with_required_approvals(env, rules.required_approvals))
            .and_then(|p| {
                p.with_signing_max_age(env, time::Duration::seconds(rules.signing_max_age_seconds))
            })
            .map_err(bad)?;
        if rules.self_approval_allowed {
            policy = policy.allowing_self_approval(env).map_err(bad)?;
        }
        if let Some(context) = &rules.signing_context {
            policy = policy.with_signing_context(env, context).map_err(bad)?;
        }
    }
    Ok(policy)
}

/// A version's steps as an entry wrote them.
fn steps_of(steps: &BTreeMap<String, String>) -> Result<Steps, String> {
    steps
        .iter()
        .map(|(env, state)| {
            let env = Environment::parse(env).map_err(|e| e.to_string())?;
            let state = StepState::parse(state).ok_or(format!("{state:?} is not a step state"))?;
            Ok((env, state))
        })
        .collect()
}

/// The signature's record digest is the digest of what the entry says was signed, and
/// that content is this decision's.
pub(super) fn check_signed(
    decision: &crate::entry::DecisionJson,
    signed: &serde_json::Value,
) -> Result<(), String> {
    let Some(signature) = &decision.signature else {
        return Ok(());
    };
    let canonical = serde_json_canonicalizer::to_string(signed).map_err(|e| e.to_string())?;
    if hex::encode(Sha256::digest(canonical.as_bytes())) != signature.record_digest {
        return Err(
            "the signature's record digest is not the digest of what it says was signed".into(),
        );
    }
    let says = |field: &str| signed.get(field).cloned().unwrap_or_default();
    let same = says("environment") == decision.environment.as_str()
        && says("verdict") == decision.verdict.as_str()
        && says("meaning") == signature.meaning.as_str()
        && says("reason") == serde_json::json!(decision.reason)
        && signed.pointer("/signer/identifier")
            == Some(&serde_json::json!(decision.decided_by.subject));
    if !same {
        return Err("what was signed is not this decision (environment, verdict, meaning, reason or signer differ)".into());
    }
    Ok(())
}

fn check_decision(
    policy: &Policy,
    track: &mut Track,
    decision: &crate::entry::DecisionJson,
    asked_at: Option<OffsetDateTime>,
) -> Result<(), String> {
    let env = Environment::parse(&decision.environment).map_err(|e| e.to_string())?;
    let envs = policy.environments();
    if envs.position(&env).is_none() {
        return Err(format!("{env} is not an environment of the rules in force"));
    }
    let verdict = Verdict::parse(&decision.verdict)
        .ok_or(format!("{:?} is not a verdict", decision.verdict))?;
    let resulting = StepState::parse(&decision.resulting_state).ok_or(format!(
        "{:?} is not a step state",
        decision.resulting_state
    ))?;
    // A rollback withdraws what was approved; every other decision takes the next step.
    if verdict != Verdict::Rollback {
        if let Some(earlier) = envs
            .iter()
            .take_while(|e| **e != env)
            .find(|e| track.steps.state(e) != StepState::Approved)
        {
            return Err(format!(
                "{env} was decided before {earlier} was approved (environments in order)"
            ));
        }
        let before = track.steps.state(&env);
        if before.is_decided() {
            return Err(format!("{env} was decided again after it was {before}"));
        }
    }
    let reason = decision
        .reason
        .as_deref()
        .is_some_and(|r| !r.trim().is_empty());
    if !reason && (verdict != Verdict::Approve || policy.reason_required(&env)) {
        return Err(format!("a {} in {env} without a reason", verdict.as_str()));
    }
    if let Some(authentication) = decision
        .signature
        .as_ref()
        .and_then(|s| s.authentication.as_ref())
    {
        countersign_domain::workflow::check_authentication(
            policy,
            &env,
            authentication,
            asked_at,
            decision.decided_at,
        )
        .map_err(|refusal| format!("signed without a fresh enough sign-in: {refusal}"))?;
    }
    if verdict == Verdict::Approve {
        let signer = &decision.decided_by;
        if track.attributed_to.includes(signer) && !policy.self_approval_allowed(&env) {
            return Err(format!(
                "{} approved {env} of a version attributed to them (four-eyes)",
                signer.subject
            ));
        }
        let approvals = track.approvals.entry(env.clone()).or_default();
        if approvals.iter().any(|p| p.is_same_person_as(signer)) {
            return Err(format!(
                "{} approved {env} twice: approvals must come from distinct people",
                signer.subject
            ));
        }
        approvals.push(signer.clone());
        let required = usize::from(policy.required_approvals(&env));
        let extra = policy.extra_approval_without_registrant(&env);
        let needed = required + usize::from(extra && !track.attributed_to.is_verified());
        // The portal may ask for the extra approval where the trail holds the registrant
        // established: stricter, never looser. A registration recorded before the portal
        // told verified from declared, or an attribution whose seal was removed since, reads
        // as declared to the portal.
        let at_most = required + usize::from(extra);
        let approved = resulting == StepState::Approved;
        if (approved && approvals.len() < needed) || (!approved && approvals.len() >= at_most) {
            return Err(format!(
                "{env} is {resulting} after {} of the {needed} approvals it needs",
                approvals.len()
            ));
        }
    }
    track.steps.set(&env, resulting);
    if resulting != StepState::PendingManualApproval {
        track.approvals.remove(&env);
    }
    if verdict != Verdict::Approve {
        for later in envs.after(&env) {
            track.steps.set(later, StepState::NotRequested);
            track.approvals.remove(later);
        }
    }
    Ok(())
}
