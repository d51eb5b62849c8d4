use super::*;
use countersign_domain::testing::{approver, person, registration};
use countersign_domain::workflow;
use std::collections::HashSet;
use time::OffsetDateTime;

/// Every state the workflow can reach, by trying every decision from every state.
fn reachable_versions(policy: &Policy) -> Vec<ModelVersion> {
    let registration = registration("churn", person("dana"));
    let start = workflow::register(policy, registration, OffsetDateTime::UNIX_EPOCH)
        .into_version(VersionNumber::new(1).unwrap(), "arn".into());
    let approvers = ["a", "b", "c"].map(approver);
    let mut seen = HashSet::new();
    let mut frontier = vec![(start, Vec::<DecisionRecord>::new())];
    let mut all = Vec::new();
    while let Some((version, history)) = frontier.pop() {
        let key = format!(
            "{:?}{:?}{}",
            version.steps,
            version.approval_status,
            history.len()
        );
        if !seen.insert(key) {
            continue;
        }
        for env in policy.environments().iter() {
            for choice in [Choice::Approve, Choice::Reject] {
                for actor in &approvers {
                    let request = DecisionRequest::new(env.clone(), choice, "why");
                    let stamp = Stamp {
                        id: "id".into(),
                        at: OffsetDateTime::UNIX_EPOCH,
                    };
                    if let Ok(effect) =
                        workflow::decide(policy, &version, &history, actor, &request, stamp)
                    {
                        let mut next_history = history.clone();
                        next_history.push(effect.record.clone());
                        frontier.push((workflow::apply(&version, &effect), next_history));
                    }
                }
            }
        }
        // Every approved step may be rolled back (to some other version approved there).
        for env in policy.environments().iter() {
            if version.steps.state(env) != StepState::Approved {
                continue;
            }
            let mut target = version.clone();
            target.version = VersionNumber::new(99).unwrap();
            let request = workflow::RollbackRequest {
                environment: env.clone(),
                target: target.version,
                reason: "why".into(),
                meaning: None,
            };
            let stamp = Stamp {
                id: "r".into(),
                at: OffsetDateTime::UNIX_EPOCH,
            };
            let effect = workflow::rollback(
                policy,
                Some(&version),
                &target,
                &[],
                &approvers[0],
                &request,
                stamp,
            )
            .expect("an approved step can be rolled back");
            let mut next_history = history.clone();
            next_history.push(effect.record.clone());
            frontier.push((workflow::apply(&version, &effect), next_history));
        }
        all.push(version);
    }
    all
}

#[test]
fn every_reachable_step_state_survives_the_metadata_round_trip() {
    let envs = Environments::default();
    let policy = Policy::new(envs.clone(), "approvers")
        .with_required_approvals("prod", 2)
        .unwrap();
    let versions = reachable_versions(&policy);
    let fully_approved = versions
        .iter()
        .filter(|v| envs.iter().all(|e| v.steps.state(e) == StepState::Approved))
        .count();
    assert!(
        fully_approved > 0,
        "the search reached production through two approvals"
    );
    assert!(
        versions
            .iter()
            .any(|v| v.steps.state(envs.first()) == StepState::RolledBack),
        "and rollbacks"
    );
    for version in versions {
        let metadata: Metadata = step_entries(&version.steps, &envs).into_iter().collect();
        assert_eq!(metadata.len(), 4, "every environment key is written");
        assert!(metadata.values().all(|v| [
            "PendingManualApproval",
            "Approved",
            "Rejected",
            "RolledBack"
        ]
        .contains(&v.as_str())));
        assert_eq!(steps_from(&metadata, &envs), version.steps, "{metadata:?}");
    }
}

#[test]
fn foreign_versions_without_our_keys_wait_for_the_first_environment() {
    let envs = Environments::default();
    let steps = steps_from(&Metadata::from([("team".into(), "fraud".into())]), &envs);
    let states: Vec<StepState> = envs.iter().map(|e| steps.state(e)).collect();
    assert_eq!(
        states,
        [
            StepState::PendingManualApproval,
            StepState::NotRequested,
            StepState::NotRequested,
            StepState::NotRequested
        ]
    );
}

#[test]
fn registration_metadata_holds_the_registrant_metrics_and_every_environment() {
    let envs = Environments::default();
    let policy = Policy::new(envs.clone(), "approvers");
    let registration = Registration::new(
        GroupName::parse("churn").unwrap(),
        "img",
        "s3://m",
        "",
        Metrics::from([("auc".into(), 0.91), ("loss".into(), -1e-7)]),
        person("dana"),
    )
    .unwrap();
    let new = workflow::register(&policy, registration, OffsetDateTime::UNIX_EPOCH);
    let metadata = for_registration(&new, &envs).unwrap();
    assert_eq!(metadata["dev"], "PendingManualApproval");
    assert_eq!(metadata["prod"], "PendingManualApproval");
    assert_eq!(metadata[OWNER], "dana@example.com");
    assert_eq!(registrant(&metadata, None), person("dana"));
    assert_eq!(metrics(&metadata), new.registration.metrics);
    assert_eq!(steps_from(&metadata, &envs), new.steps);
}

#[test]
fn a_pipelines_own_metadata_is_written_and_read_apart_from_countersigns() {
    let envs = Environments::default();
    let policy = Policy::new(envs.clone(), "approvers");
    let own = CustomMetadata::from([("commit".to_owned(), "4f2c9e1".to_owned())]);
    let registration = Registration::new(
        GroupName::parse("churn").unwrap(),
        "img",
        "s3://m",
        "",
        Metrics::from([("auc".into(), 0.91)]),
        person("dana"),
    )
    .unwrap()
    .with_metadata(own.clone(), &envs)
    .unwrap()
    .through("training-pipeline");
    let new = workflow::register(&policy, registration, OffsetDateTime::UNIX_EPOCH);
    let mut written = for_registration(&new, &envs).unwrap();
    assert_eq!(written["commit"], "4f2c9e1");
    written.insert(DECISIONS_APPLIED.into(), "3".into());
    // Every key Countersign writes is one a pipeline may not use, so reading them apart
    // gives back exactly the pipeline's.
    for key in [
        DECISIONS_APPLIED,
        OWNER,
        OWNER_NAME,
        OWNER_SUBJECT,
        REGISTERED_THROUGH,
    ] {
        assert!(is_reserved_metadata_key(key, &envs), "{key}");
    }
    assert_eq!(custom(&written, &envs), own);
}

#[test]
fn metadata_sagemaker_would_refuse_is_refused_with_the_entry_named() {
    let envs = Environments::default();
    let policy = Policy::new(envs.clone(), "approvers");
    let mut quoted = person("dana");
    quoted.name = "Dana \"DJ\" O'Brien".into();
    let registration = Registration::new(
        GroupName::parse("churn").unwrap(),
        "img",
        "s3://m",
        "",
        Metrics::new(),
        quoted,
    )
    .unwrap();
    let new = workflow::register(&policy, registration, OffsetDateTime::UNIX_EPOCH);
    let error = for_registration(&new, &envs).unwrap_err();
    assert!(error.contains("registered_by.name"), "{error}");

    let too_many: Metadata = (0..51).map(|i| (format!("k{i}"), "v".into())).collect();
    assert!(check(&too_many).unwrap_err().contains("at most 50"));
    let long = Metadata::from([("k".into(), "v".repeat(257))]);
    assert!(check(&long).unwrap_err().contains("\"k\""));
    let json = Metadata::from([("k".into(), "{\"a\":1}".into())]);
    assert!(check(&json).is_err());
    let fine = Metadata::from([("team name".into(), "Fraud & Risk".into())]);
    assert!(check(&fine).is_err(), "& is not in SageMaker's pattern");
    let fine = Metadata::from([("team:name".into(), "Fraud Risk élan @ 2/3 = +1".into())]);
    assert_eq!(check(&fine), Ok(()));
}

#[test]
fn registrant_falls_back_to_the_creator_sagemaker_names() {
    let found = registrant(
        &Metadata::new(),
        Some("arn:aws:iam::1:role/pipeline".into()),
    );
    assert_eq!(found.subject, "arn:aws:iam::1:role/pipeline");
    assert_eq!(found.email, "");
    assert_eq!(
        metrics(&Metadata::from([("metric:auc".into(), "NaN".into())])),
        Metrics::new()
    );
    assert_eq!(decisions_applied(&Metadata::new()), 0);
}

fn signer(email: &str) -> Person {
    Person {
        subject: "some-oid".into(),
        name: "Signer".into(),
        email: email.into(),
    }
}

#[test]
fn a_version_is_attributed_to_its_owner_and_to_whom_its_creator_stands_for() {
    let identities = IdentityMap::new([
        (
            "arn:aws:iam::111122223333:role/churn-training".to_owned(),
            vec!["sam@example.com".to_owned(), "tia@example.com".to_owned()],
        ),
        (
            "dana-studio".to_owned(),
            vec!["Dana.Scientist@example.com".to_owned()],
        ),
    ]);
    let owner = Metadata::from([(OWNER.into(), "Ola@Example.com".into())]);
    let by_role = attribution(
        &owner,
        Some("arn:aws:sts::111122223333:assumed-role/churn-training/run-42"),
        &identities,
        false,
    );
    for who in ["ola@example.com", "sam@example.com", "tia@example.com"] {
        assert!(by_role.includes(&signer(who)), "{who}");
    }
    assert!(
        by_role.is_verified(),
        "the map vouches for whom the role acts"
    );
    assert!(!by_role.includes(&signer("dana.scientist@example.com")));
    let in_studio = attribution(&Metadata::new(), Some("dana-studio"), &identities, false);
    assert!(in_studio.includes(&signer("dana.scientist@example.com")));
    assert!(in_studio.is_verified());
    let unmapped = attribution(
        &Metadata::new(),
        Some("arn:aws:iam::111122223333:role/pipeline"),
        &identities,
        false,
    );
    assert!(
        !unmapped.names_anyone() && !unmapped.is_verified(),
        "an unmapped role is nobody we could ask to stand aside"
    );
}

#[test]
fn owner_metadata_names_people_but_only_the_portals_seal_or_sagemakers_record_establishes_them() {
    let ghost = Metadata::from([
        (OWNER_SUBJECT.into(), "ghost".into()),
        (OWNER.into(), "ghost@example.com".into()),
    ]);
    let declared = attribution(&ghost, None, &IdentityMap::default(), false);
    assert!(declared.includes(&signer("ghost@example.com")));
    assert!(!declared.is_verified(), "anyone may write owner metadata");
    assert!(attribution(&ghost, None, &IdentityMap::default(), true).is_verified());

    let sso = |role: &str| {
        attribution(
            &Metadata::new(),
            Some(&format!(
                "arn:aws:sts::111122223333:assumed-role/{role}/Dana.Scientist@example.com"
            )),
            &IdentityMap::default(),
            false,
        )
    };
    let identity_center = sso("AWSReservedSSO_DataScientist_0a1b");
    assert!(identity_center.includes(&signer("dana.scientist@example.com")));
    assert!(
        identity_center.is_verified(),
        "Identity Center names its sessions"
    );
    let self_named = sso("pipeline");
    assert!(
        self_named.includes(&signer("dana.scientist@example.com")),
        "a session's name still keeps that person from approving"
    );
    assert!(
        !self_named.is_verified(),
        "whoever assumes an ordinary role names its session as they like"
    );
}

#[test]
fn a_seal_holds_for_its_own_version_and_owner_keys_only() {
    let key = "log-key";
    let arn = "arn:aws:sagemaker:eu-west-1:111122223333:model-package/churn/3";
    let mut owned = Metadata::from([
        (OWNER_SUBJECT.into(), "dana".into()),
        (OWNER.into(), "dana@example.com".into()),
    ]);
    let seal = registrant_seal(key, arn, &owned);
    owned.insert(REGISTRANT_VERIFIED.into(), seal);
    assert!(registrant_sealed(Some(key), arn, &owned));
    assert!(!registrant_sealed(None, arn, &owned), "no key, no seal");
    assert!(!registrant_sealed(Some("another key"), arn, &owned));
    assert!(
        !registrant_sealed(Some(key), &arn.replace("churn/3", "churn/4"), &owned),
        "a seal copied to another version"
    );
    let mut ghost = owned.clone();
    ghost.insert(OWNER.into(), "ghost@example.com".into());
    assert!(
        !registrant_sealed(Some(key), arn, &ghost),
        "owner keys changed under the seal"
    );
    owned.insert(REGISTRANT_VERIFIED.into(), "not hex".into());
    assert!(!registrant_sealed(Some(key), arn, &owned));
}
