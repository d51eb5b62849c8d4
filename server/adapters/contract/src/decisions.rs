//! The committer's and the log's promises: a decision or rollback applies whole or not at
//! all, once, against the revision it was computed from, one guard per environment.

use super::*;

/// Alice's (or `who`'s) approval of the first environment, computed now, as the services
/// compute one: against the version, its log and the deployment live there.
pub(super) async fn effect_for(
    services: &Subject,
    version: &ModelVersion,
    history: &[DecisionRecord],
    who: &str,
) -> workflow::DecisionEffect {
    decision_for(services, version, history, who, Choice::Approve).await
}

pub(super) async fn decision_for(
    services: &Subject,
    version: &ModelVersion,
    history: &[DecisionRecord],
    who: &str,
    choice: Choice,
) -> workflow::DecisionEffect {
    let env = first_env(services);
    let request = DecisionRequest::new(env.clone(), choice, "looks good");
    let stamp = stamp_now(services);
    let live = services
        .ports
        .parameters
        .live(&version.group, &env)
        .await
        .unwrap();
    workflow::decide(
        services.policy(),
        version,
        history,
        &approver(who, services),
        &request,
        stamp,
    )
    .expect("the approval is allowed")
    .replacing(live.as_ref())
}

pub async fn a_decision_applies_whole(services: &Subject) {
    let group = unique_group("decision");
    let version = register(services, &group).await;
    let env = first_env(services);
    let effect = effect_for(services, &version, &[], "alice").await;
    commit(services, &effect).await.unwrap();

    let after = stored(services, &version).await;
    assert_eq!(after, workflow::apply(&version, &effect));
    let log = log_of(services, &version).await;
    assert_eq!(log, std::slice::from_ref(&effect.record));
    let live = services.ports.parameters.live(&group, &env).await.unwrap();
    assert_eq!(live, effect.deployment);
}

pub async fn a_stale_decision_is_a_conflict_and_changes_nothing(services: &Subject) {
    let group = unique_group("conflict");
    let version = register(services, &group).await;
    let env = first_env(services);
    let first = effect_for(services, &version, &[], "alice").await;
    // Computed against the same revision, as a concurrent request would be.
    let second = effect_for(services, &version, &[], "bob").await;
    commit(services, &first).await.unwrap();
    assert_eq!(commit(services, &second).await, Err(PortError::Conflict));
    let log = log_of(services, &version).await;
    assert_eq!(log.len(), 1, "the losing decision left no record");
    let live = live_in(services, &group, &env).await;
    assert_eq!(live.approved_by.subject, "alice");
    assert_eq!(
        decisions_in_trail(services, &group).await,
        [first.record.id.as_str()],
        "nor an audit entry: a decision and its entry are written together"
    );
}

/// The ids of the decisions in `group`'s audit trail, in order.
pub(super) async fn decisions_in_trail(services: &Subject, group: &GroupName) -> Vec<String> {
    services
        .ports
        .trail
        .entries(group, 0)
        .await
        .unwrap()
        .iter()
        .filter_map(|text| match Entry::parse(text).unwrap().event {
            EventJson::Decided { decision, .. } => Some(decision.id),
            _ => None,
        })
        .collect()
}

pub async fn committing_the_same_decision_twice_applies_it_once(services: &Subject) {
    let group = unique_group("retry");
    let version = register(services, &group).await;
    let effect = effect_for(services, &version, &[], "alice").await;
    let entry = entry_of(services, &effect);
    let first = services
        .ports
        .committer
        .commit(&effect, &entry)
        .await
        .unwrap();
    let again = services
        .ports
        .committer
        .commit(&effect, &entry)
        .await
        .unwrap();
    assert!(first.new && !again.new, "{first:?} then {again:?}");
    assert_eq!((again.seq, again.size), (first.seq, first.size));
    assert_eq!(
        decisions_in_trail(services, &group).await,
        [effect.record.id.as_str()]
    );
    let log = log_of(services, &version).await;
    assert_eq!(log.len(), 1);
    let after = stored(services, &version).await;
    assert_eq!(after.revision, version.revision + 1);
}

pub async fn deployments_keep_their_history(services: &Subject) {
    let group = unique_group("history");
    let env = first_env(services);
    assert_eq!(
        services.ports.parameters.live(&group, &env).await.unwrap(),
        None
    );
    let v1 = register(services, &group).await;
    let v2 = register(services, &group).await;
    for version in [&v1, &v2] {
        let effect = effect_for(services, version, &[], "alice").await;
        commit(services, &effect).await.unwrap();
    }
    let history = history_in(services, &group, &env).await;
    let versions: Vec<u32> = history.iter().map(|d| d.version.get()).collect();
    assert_eq!(versions, [2, 1], "newest first");
    let live = live_in(services, &group, &env).await;
    assert_eq!(live.version, v2.version);
}

pub async fn a_rejection_reads_back_whole(services: &Subject) {
    let group = unique_group("rejection");
    let version = register(services, &group).await;
    let effect = decision_for(services, &version, &[], "alice", Choice::Reject).await;
    commit(services, &effect).await.unwrap();
    let after = stored(services, &version).await;
    assert_eq!(after, workflow::apply(&version, &effect));
    assert_eq!(after.approval_status, ApprovalStatus::Rejected);
    assert!(effect.deployment.is_none());
    let live = services
        .ports
        .parameters
        .live(&group, &first_env(services))
        .await;
    assert_eq!(live, Ok(None), "a rejection deploys nothing");
    assert_eq!(
        log_of(services, &version).await[0].reason.as_deref(),
        Some("looks good")
    );
}

pub async fn a_signature_keeps_how_its_signer_authenticated(services: &Subject) {
    use countersign_domain::service::SigningRequest;
    use countersign_domain::signature::{Authentication, Signing};
    let group = unique_group("signature");
    let version = register(services, &group).await;
    let what = SigningRequest::Decide {
        version: version.version,
        request: DecisionRequest::new(first_env(services), Choice::Approve, "looks good"),
    };
    let alice = approver("alice", services);
    let prepared = services.prepare(&alice, &group, &what).await.unwrap();
    // Whole seconds: the JSON the stores keep is RFC 3339 to the second at least.
    let signed_in = services.now().replace_nanosecond(0).unwrap() - time::Duration::seconds(30);
    let authentication = Authentication {
        at: Some(signed_in),
        acr: Some("c1".into()),
        amr: vec!["pwd".into(), "mfa".into()],
        acrs: vec!["c1".into()],
    };
    let stale = Signing {
        reviewed_digest: prepared.effect.signed.digest(),
        authentication: Authentication::at(signed_in - time::Duration::hours(1)),
        reauthentication_asked_at: None,
        evidence: None,
    };
    assert!(services.sign(&alice, &group, &what, &stale).await.is_err());
    assert!(
        log_of(services, &version).await.is_empty(),
        "a refused signature writes nothing"
    );

    let evidence = countersign_domain::signature::IdentityEvidence {
        id_token: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl".into(),
        key: serde_json::json!({"kty": "RSA", "kid": "k1", "n": "AQAB", "e": "AQAB"}),
        nonce_salt: Some("salt".into()),
    };
    let signing = Signing {
        authentication: authentication.clone(),
        evidence: Some(evidence.clone()),
        ..stale
    };
    let effect = services
        .sign(&alice, &group, &what, &signing)
        .await
        .unwrap();
    let log = log_of(services, &version).await;
    let signature = log[0].signature.as_ref().expect("signed");
    assert_eq!(signature.record_digest, prepared.effect.signed.digest());
    assert_eq!(signature.authentication.as_ref(), Some(&authentication));
    assert_eq!(signature.identity_evidence.as_ref(), Some(&evidence));
    assert!(
        !signature.groups.is_empty() && signature.groups.iter().all(|g| alice.groups.contains(g)),
        "the signer's approver groups kept: {:?}",
        signature.groups
    );
    assert_eq!(log[0], effect.record, "read back whole");
}

// Proves: AT-02.
pub async fn signing_attempts_are_kept_once_each_in_order(services: &Subject) {
    let group = unique_group("attempts");
    let first = register(services, &group).await;
    let second = register(services, &group).await;
    let attempt = |version: &ModelVersion, seconds: i64, outcome: AttemptOutcome| SigningAttempt {
        id: new_id(),
        group: group.to_string(),
        version: version.version.get(),
        environment: first_env(services).to_string(),
        verdict: "approve".into(),
        by: person("alice"),
        at: services.now().replace_nanosecond(0).unwrap() + time::Duration::seconds(seconds),
        outcome,
    };
    let sent = attempt(&first, 0, AttemptOutcome::SentToSignInAgain);
    let refused = attempt(
        &first,
        1,
        AttemptOutcome::Refused {
            reason: "your identity provider did not sign you in again".into(),
        },
    );
    let elsewhere = attempt(&second, 2, AttemptOutcome::SentToSignInAgain);
    for kept in [&sent, &refused, &elsewhere, &sent] {
        services.ports.audit.record_attempt(kept).await.unwrap();
    }
    let read = |version: VersionNumber| services.ports.audit.attempts_for_version(&group, version);
    assert_eq!(
        read(first.version).await.unwrap(),
        [sent, refused],
        "once each, oldest first"
    );
    assert_eq!(read(second.version).await.unwrap(), [elsewhere]);
    assert_eq!(
        log_of(services, &first).await,
        [],
        "attempts are not decisions"
    );
}

pub async fn the_group_log_lists_every_decision(services: &Subject) {
    let group = unique_group("group-log");
    let mut expected = Vec::new();
    for who in ["alice", "bob"] {
        let version = register(services, &group).await;
        let effect = effect_for(services, &version, &[], who).await;
        commit(services, &effect).await.unwrap();
        expected.push(effect.record);
    }
    let log = services
        .ports
        .audit
        .decisions_for_group(&group)
        .await
        .unwrap();
    assert_eq!(log, expected, "oldest first, across versions");
    let elsewhere = services
        .ports
        .audit
        .decisions_for_group(&unique_group("no-log"))
        .await
        .unwrap();
    assert!(elsewhere.is_empty());
}

pub async fn a_rollback_applies_whole(services: &Subject) {
    let group = unique_group("rollback");
    let env = first_env(services);
    let v1 = register(services, &group).await;
    let v2 = register(services, &group).await;
    for version in [&v1, &v2] {
        let effect = effect_for(services, version, &[], "alice").await;
        commit(services, &effect).await.unwrap();
    }
    let effect = services
        .rollback(
            &approver("bob", services),
            &group,
            &workflow::RollbackRequest {
                environment: env.clone(),
                target: v1.version,
                reason: "drift".into(),
                meaning: None,
            },
        )
        .await
        .expect("the rollback is allowed");

    let live = live_in(services, &group, &env).await;
    assert_eq!(live.version, v1.version);
    assert_eq!(live.decision_id, effect.record.id);
    assert_eq!(live.approved_by.subject, "bob");
    let withdrawn = stored(services, &v2).await;
    assert_eq!(withdrawn.steps.state(&env), StepState::RolledBack);
    assert_eq!(
        withdrawn.approval_status,
        ApprovalStatus::Rejected,
        "the first environment"
    );
    let log = log_of(services, &v2).await;
    assert_eq!(log.last(), Some(&effect.record));
    assert_eq!(effect.record.rollback_to, Some(v1.version));
    let history = history_in(services, &group, &env).await;
    let versions: Vec<u32> = history.iter().map(|d| d.version.get()).collect();
    assert_eq!(versions, [1, 2, 1], "newest first, the rollback included");
    let stale = services
        .rollback(
            &approver("bob", services),
            &group,
            &workflow::RollbackRequest {
                environment: env.clone(),
                target: v1.version,
                reason: "again".into(),
                meaning: None,
            },
        )
        .await;
    assert!(
        matches!(
            stale,
            Err(ServiceError::Refused(Refusal::AlreadyLive { .. }))
        ),
        "{stale:?}"
    );
}

/// A decision that makes something live is computed against what is live there; once
/// another decision has deployed something else to that environment, applying it is a
/// conflict that changes nothing. Without this, a rollback would silently undo an approval
/// its author never saw, and a late approval would replace a rollback.
pub async fn one_guard_per_environment(services: &Subject) {
    let group = unique_group("guard");
    let env = first_env(services);
    let mut versions = Vec::new();
    for _ in 0..4 {
        versions.push(register(services, &group).await);
    }
    for version in &versions[..2] {
        let effect = effect_for(services, version, &[], "alice").await;
        commit(services, &effect).await.unwrap();
    }
    let v2_live = live_in(services, &group, &env).await;
    let v2 = stored(services, &versions[1]).await;
    let stale_rollback = workflow::rollback(
        services.policy(),
        Some(&v2),
        &stored(services, &versions[0]).await,
        &[],
        &approver("bob", services),
        &workflow::RollbackRequest {
            environment: env.clone(),
            target: versions[0].version,
            reason: "v2 drifts".into(),
            meaning: None,
        },
        stamp_now(services),
    )
    .expect("the rollback is allowed")
    .replacing(Some(&v2_live));
    let v3_approval = effect_for(services, &versions[2], &[], "alice").await;
    commit(services, &v3_approval).await.unwrap();

    let refused = commit(services, &stale_rollback).await;
    assert!(matches!(refused, Err(PortError::Conflict)), "{refused:?}");
    assert_eq!(
        live_in(services, &group, &env).await.decision_id,
        v3_approval.record.id
    );
    assert_eq!(
        stored(services, &versions[1]).await,
        v2,
        "v2 was not withdrawn"
    );
    assert_eq!(
        log_of(services, &versions[1]).await.len(),
        1,
        "its approval only"
    );

    // The other way round: an approval computed before a rollback.
    let v4_approval = effect_for(services, &versions[3], &[], "alice").await;
    services
        .rollback(
            &approver("bob", services),
            &group,
            &workflow::RollbackRequest {
                environment: env.clone(),
                target: versions[1].version,
                reason: "v3 drifts".into(),
                meaning: None,
            },
        )
        .await
        .expect("the rollback is allowed");
    let refused = commit(services, &v4_approval).await;
    assert!(matches!(refused, Err(PortError::Conflict)), "{refused:?}");
    assert_eq!(
        live_in(services, &group, &env).await.version,
        versions[1].version
    );
    assert_eq!(
        stored(services, &versions[3]).await.steps.state(&env),
        StepState::PendingManualApproval
    );
    assert!(log_of(services, &versions[3]).await.is_empty());
    let deployed: Vec<u32> = history_in(services, &group, &env)
        .await
        .iter()
        .map(|d| d.version.get())
        .collect();
    assert_eq!(
        deployed,
        [2, 3, 2, 1],
        "newest first: nothing refused was deployed"
    );

    // Computed afresh, the same approval goes through.
    let current = stored(services, &versions[3]).await;
    let effect = effect_for(services, &current, &[], "alice").await;
    commit(services, &effect).await.unwrap();
    assert_eq!(
        live_in(services, &group, &env).await.version,
        versions[3].version
    );
}

/// Rollbacks and approvals racing into one environment, `rounds` times: each pair either
/// serialises (the later one computed against the earlier's deployment) or one of them is a
/// conflict that changed nothing, and what is live is always the log's newest deployment.
/// Not in [`for_each_check`], which runs each check once: each backend's tests run this
/// with the rounds it can afford.
pub async fn racing_rollbacks_and_approvals_keep_live_equal_to_the_log(
    services: &Subject,
    rounds: usize,
) {
    let group = unique_group("race");
    let env = first_env(services);
    // The versions approved in the environment and not withdrawn: rollback targets.
    let mut approved = Vec::new();
    let mut deployed = 0;
    for round in 0..rounds {
        while approved.len() < 2 {
            let version = register(services, &group).await;
            let effect = effect_for(services, &version, &[], "alice").await;
            commit(services, &effect).await.unwrap();
            approved.push(version.version);
            deployed += 1;
        }
        let candidate = register(services, &group).await;
        let live_version = live_in(services, &group, &env).await.version;
        let target = *approved.iter().rev().find(|v| **v != live_version).unwrap();
        let approve = DecisionRequest::new(env.clone(), Choice::Approve, "");
        let roll_back = workflow::RollbackRequest {
            environment: env.clone(),
            target,
            reason: format!("round {round}"),
            meaning: None,
        };
        let (alice, bob) = (approver("alice", services), approver("bob", services));
        let (approval, rollback) = futures::join!(
            services.decide(&alice, &group, candidate.version, &approve),
            services.rollback(&bob, &group, &roll_back),
        );
        let conflict = |outcome: &Result<workflow::DecisionEffect, ServiceError>| {
            matches!(outcome, Err(ServiceError::Port(PortError::Conflict)))
        };
        assert!(
            approval.is_ok() || conflict(&approval),
            "round {round}: {approval:?}"
        );
        assert!(
            rollback.is_ok() || conflict(&rollback),
            "round {round}: {rollback:?}"
        );
        if let (Ok(a), Ok(r)) = (&approval, &rollback) {
            assert!(
                a.replaces.as_ref() == Some(&r.record.id)
                    || r.replaces.as_ref() == Some(&a.record.id),
                "round {round}: both committed, so one must have seen the other"
            );
        }
        if approval.is_ok() {
            approved.push(candidate.version);
        } else {
            assert!(log_of(services, &candidate).await.is_empty());
        }
        if let Ok(r) = &rollback {
            approved.retain(|v| *v != r.record.version);
        }
        deployed += usize::from(approval.is_ok()) + usize::from(rollback.is_ok());
        let history = history_in(services, &group, &env).await;
        assert_eq!(
            history.len(),
            deployed,
            "round {round}: nothing refused deployed"
        );
        let live = live_in(services, &group, &env).await;
        assert_eq!(
            live.decision_id, history[0].decision_id,
            "round {round}: live is the log's newest deployment"
        );
    }
}

/// A refused signature replayed in a loop is kept once a minute, in the log and in the
/// trail, not once a request (N10); a different outcome is its own attempt.
pub async fn identical_attempts_within_a_minute_are_kept_once(services: &Subject) {
    use countersign_domain::service::SigningRequest;
    let group = unique_group("flood");
    let version = register(services, &group).await;
    let what = SigningRequest::Decide {
        version: version.version,
        request: DecisionRequest::new(first_env(services), Choice::Approve, ""),
    };
    let refused = || AttemptOutcome::Refused {
        reason: "the record changed since you reviewed it".into(),
    };
    for _ in 0..5 {
        services
            .record_attempt(&person("alice"), &group, &what, refused())
            .await
            .unwrap();
    }
    services
        .record_attempt(
            &person("alice"),
            &group,
            &what,
            AttemptOutcome::SentToSignInAgain,
        )
        .await
        .unwrap();
    let kept = services
        .attempts_for_version(&group, version.version)
        .await
        .unwrap();
    let refusals = kept.iter().filter(|a| a.outcome == refused()).count();
    assert!(
        (1..=2).contains(&refusals),
        "five identical refusals kept once (twice if a minute turned meanwhile): {kept:?}"
    );
    assert_eq!(
        kept.len(),
        refusals + 1,
        "the trip to sign in again is its own"
    );
    let (entries, _) = verified_trail(services, &group).await;
    let in_trail = entries
        .iter()
        .filter(|e| super::audit::kind(e) == "attempt")
        .count();
    assert_eq!(in_trail, kept.len(), "the trail keeps what the log keeps");
}
