//! The registry's promises: versions numbered per group and read back whole, listed in
//! pages, and found across groups (undecided, waiting, by registrant).

use super::*;

pub async fn registration_numbers_versions_per_group(services: &Subject) {
    let a = unique_group("numbering-a");
    let b = unique_group("numbering-b");
    let a1 = register(services, &a).await;
    let a2 = register(services, &a).await;
    let b1 = register(services, &b).await;
    assert_eq!(a1.version.get(), 1);
    assert_eq!(a2.version.get(), 2);
    assert_eq!(b1.version.get(), 1, "numbering is per group");
    assert_ne!(a1.arn, a2.arn);
    assert_ne!(a1.arn, b1.arn);
}

pub async fn a_registered_version_reads_back_whole(services: &Subject) {
    let group = unique_group("readback");
    let registered = register(services, &group).await;
    let found = services
        .ports
        .registry
        .find_version(&group, registered.version)
        .await
        .unwrap()
        .expect("registered version is found");
    assert_eq!(found, registered);
    assert_eq!(found.approval_status, ApprovalStatus::PendingManualApproval);
    assert_eq!(
        found.steps.state(&first_env(services)),
        StepState::PendingManualApproval
    );
    assert_eq!(found.metrics.get("auc"), Some(&0.91));
    assert_eq!(
        found.metadata.get("training-data").map(String::as_str),
        Some("s3://ml-data/churn/2026-q3/"),
        "the pipeline's own metadata is kept, and only it: {:?}",
        found.metadata
    );
    assert_eq!(found.metadata.len(), 2, "{:?}", found.metadata);
    assert_eq!(
        found.registered_through.as_deref(),
        Some("training-pipeline"),
        "the pipeline that registered it is kept beside the registrant it declared"
    );
    let missing = services
        .ports
        .registry
        .find_version(&group, VersionNumber::new(99).unwrap())
        .await
        .unwrap();
    assert_eq!(missing, None);
}

/// Every read of a version says whether its registrant was established (N3): the store keeps
/// what the registration said, and nothing a caller wrote later changes it.
pub async fn a_registrant_is_established_only_where_the_registration_verified_them(
    services: &Subject,
) {
    let group = unique_group("established");
    let verified = register(services, &group).await;
    let declared = services
        .register(Registration {
            registrant_verified: false,
            ..registration(&group, "registry.example/churn:2")
        })
        .await
        .unwrap();
    assert!(verified.attributed_to.is_verified());
    assert!(!declared.attributed_to.is_verified());
    assert!(declared.attributed_to.includes(&person("dana")));
    let registry = &services.ports.registry;
    for (registered, established) in [(&verified, true), (&declared, false)] {
        let found = registry
            .find_version(&group, registered.version)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.attributed_to.is_verified(), established, "found");
        let listed = registry
            .list_versions(
                &group,
                PageRequest {
                    offset: 0,
                    limit: 10,
                },
            )
            .await
            .unwrap()
            .items;
        let listed = listed.iter().find(|v| v.version == registered.version);
        assert_eq!(
            listed.map(|v| v.attributed_to.is_verified()),
            Some(established),
            "listed"
        );
        let undecided = every_undecided_version(services, 100).await;
        let undecided = undecided
            .iter()
            .find(|v| v.group == group && v.version == registered.version);
        assert_eq!(
            undecided.map(|v| v.attributed_to.is_verified()),
            Some(established),
            "undecided"
        );
    }
}

pub async fn versions_list_newest_first_in_pages(services: &Subject) {
    let group = unique_group("paging");
    for _ in 0..5 {
        register(services, &group).await;
    }
    let page = services
        .ports
        .registry
        .list_versions(
            &group,
            PageRequest {
                offset: 1,
                limit: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.total, 5);
    let numbers: Vec<u32> = page.items.iter().map(|v| v.version.get()).collect();
    assert_eq!(numbers, [4, 3]);
    let unknown = services
        .ports
        .registry
        .list_versions(
            &unique_group("nothing"),
            PageRequest {
                offset: 0,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!((unknown.total, unknown.items.len()), (0, 0));
}

pub async fn groups_are_summarised(services: &Subject) {
    let group = unique_group("summary");
    register(services, &group).await;
    let latest = register(services, &group).await;
    let groups = services.ports.registry.list_groups().await.unwrap();
    let summary = groups
        .iter()
        .find(|g| g.group == group)
        .expect("group is listed");
    // A backend that cannot count without a request per group leaves the counts out;
    // one that gives them must give them right.
    if let Some(count) = summary.version_count {
        assert_eq!(count, 2);
        assert_eq!(summary.latest_version, Some(latest.version));
        assert_eq!(summary.latest_registered_at, Some(latest.registered_at));
    }
}

pub async fn undecided_versions_are_found_across_groups(services: &Subject) {
    let group = unique_group("undecided");
    let other = unique_group("undecided-other");
    let waiting = register(services, &group).await;
    let decided = register(services, &group).await;
    let elsewhere = register(services, &other).await;
    let effect = effect_for(services, &decided, &[], "alice").await;
    commit(services, &effect).await.unwrap();

    // Pages of two: the scan reads a few at a time, and the pages chain to the end.
    let undecided = every_undecided_version(services, 2).await;
    let ours: Vec<(GroupName, u32)> = undecided
        .iter()
        .filter(|v| v.group == group || v.group == other)
        .map(|v| (v.group.clone(), v.version.get()))
        .collect();
    assert_eq!(ours.len(), 2, "{ours:?}");
    assert!(ours.contains(&(group.clone(), waiting.version.get())));
    assert!(ours.contains(&(other.clone(), elsewhere.version.get())));
    let mut keys: Vec<_> = undecided.iter().map(|v| (&v.group, v.version)).collect();
    let read = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), read, "no version is on two pages");
}

/// Every undecided version, read `limit` at a time as the scan reads them. A backend may
/// give fewer a page (moto's `Search` gives all at once), never more.
async fn every_undecided_version(services: &Subject, limit: u32) -> Vec<ModelVersion> {
    let mut cursor = None;
    let mut versions = Vec::new();
    loop {
        let page = services
            .ports
            .registry
            .undecided_versions(cursor, limit)
            .await
            .unwrap();
        if page.next.is_some() {
            assert!(
                page.versions.len() <= limit as usize,
                "a page holds at most its limit"
            );
        }
        versions.extend(page.versions);
        cursor = page.next;
        if cursor.is_none() {
            return versions;
        }
    }
}

/// Approves `environment` of `version` as `who`, through the use case.
pub(super) async fn approve(
    services: &Subject,
    version: &ModelVersion,
    environment: &Environment,
    who: &str,
) {
    let request = DecisionRequest::new(environment.clone(), Choice::Approve, "looks good");
    services
        .decide(
            &approver(who, services),
            &version.group,
            version.version,
            &request,
        )
        .await
        .unwrap_or_else(|e| panic!("{who} approves {environment}: {e}"));
}

pub async fn steps_waiting_for_decisions_are_found_across_groups(services: &Subject) {
    let group = unique_group("waiting");
    let other = unique_group("waiting-other");
    let environments: Vec<Environment> = services.policy().environments().iter().cloned().collect();
    let new = register(services, &group).await;
    let promoted = register(services, &group).await;
    approve(services, &promoted, &environments[0], "alice").await;
    let rejected = register(services, &group).await;
    approve(services, &rejected, &environments[0], "alice").await;
    let reject = DecisionRequest::new(environments[1].clone(), Choice::Reject, "drifts");
    services
        .decide(
            &approver("alice", services),
            &group,
            rejected.version,
            &reject,
        )
        .await
        .unwrap();
    let everywhere = register(services, &group).await;
    for environment in &environments {
        approve(services, &everywhere, environment, "alice").await;
    }
    let elsewhere = register(services, &other).await;

    let pending = services
        .ports
        .registry
        .versions_with_a_pending_step()
        .await
        .unwrap();
    let ours: BTreeSet<(GroupName, u32)> = pending
        .iter()
        .filter(|(g, _)| *g == group || *g == other)
        .map(|(g, v)| (g.clone(), v.get()))
        .collect();
    let expected = BTreeSet::from([
        (group.clone(), new.version.get()),
        (group.clone(), promoted.version.get()),
        (other.clone(), elsewhere.version.get()),
    ]);
    assert_eq!(
        ours, expected,
        "a version waits while a step is pending, in any environment"
    );

    let waiting = services.waiting_steps().await.unwrap();
    let step_of = |version: &ModelVersion| {
        waiting
            .steps()
            .find(|s| s.group == version.group && s.version == version.version)
            .map(|s| s.waiting.environment.clone())
    };
    assert_eq!(step_of(&new), Some(environments[0].clone()));
    assert_eq!(step_of(&promoted), Some(environments[1].clone()));
    assert_eq!(step_of(&rejected), None);
    assert_eq!(step_of(&everywhere), None);
    let inbox = services.inbox(&approver("dana", services)).await.unwrap();
    assert!(
        !inbox.iter().any(|s| s.group == group || s.group == other),
        "dana registered every one of them: none waits for her"
    );
    let bob = services.inbox(&approver("bob", services)).await.unwrap();
    let bobs: Vec<_> = bob.iter().filter(|s| s.group == group).collect();
    assert_eq!(bobs.len(), 2, "new and promoted wait for bob");
    assert!(
        bobs[0].waiting.since <= bobs[1].waiting.since,
        "the longest waiting first"
    );
}

pub async fn versions_are_found_by_their_registrant(services: &Subject) {
    let group = unique_group("mine");
    let other = unique_group("mine-other");
    let first = register(services, &group).await;
    let second = register(services, &other).await;
    let third = register(services, &group).await;
    let by_erin = Registration {
        registered_by: Person {
            subject: format!("erin-{}", new_id()),
            ..person("erin")
        },
        ..registration(&group, "registry.example/churn:2")
    };
    let erins = services.register(by_erin.clone()).await.unwrap();

    let ours = |found: Vec<countersign_domain::service::VersionRecord>| -> Vec<(GroupName, u32)> {
        found
            .into_iter()
            .filter(|r| r.version.group == group || r.version.group == other)
            .map(|r| (r.version.group, r.version.version.get()))
            .collect()
    };
    let danas = ours(services.registered_by(&person("dana"), 1000).await.unwrap());
    let key = |v: &ModelVersion| (v.group.clone(), v.version.get());
    assert_eq!(
        danas,
        [key(&third), key(&second), key(&first)],
        "newest first, across groups"
    );
    let known_by_mail_only = Person {
        subject: "0f1e2d3c-entra-oid".into(),
        name: "Dana".into(),
        email: "DANA@example.com".into(),
    };
    let by_mail = ours(
        services
            .registered_by(&known_by_mail_only, 1000)
            .await
            .unwrap(),
    );
    assert_eq!(
        by_mail, danas,
        "the same person known by another subject, by e-mail"
    );
    let newest = services.registered_by(&person("dana"), 1).await.unwrap();
    assert_eq!(newest.len(), 1);
    let erin = ours(
        services
            .registered_by(&by_erin.registered_by, 10)
            .await
            .unwrap(),
    );
    assert_eq!(erin, [key(&erins)]);
    let nobody = Person {
        subject: new_id(),
        name: "Nobody".into(),
        email: format!("{}@example.com", new_id()),
    };
    assert!(services
        .registered_by(&nobody, 10)
        .await
        .unwrap()
        .is_empty());
}
