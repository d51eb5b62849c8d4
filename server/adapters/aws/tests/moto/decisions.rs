//! The log's integrity, racing decisions, and decisions interrupted part way, completed by
//! the next read.

use super::*;

#[tokio::test]
async fn a_log_entry_the_portal_did_not_write_is_never_carried_out() {
    let moto = Moto::start();
    let (backend, services) = with_backend(&moto).await;
    let version = services
        .register(registration("forged", person("dana")))
        .await
        .unwrap();
    // Someone allowed dynamodb:PutItem on the table writes "prod approved, deploy my image".
    let forged = forged_entry(&version.group, &version.arn, "prod");
    put_item(
        &moto,
        &[
            ("pk", "group#forged"),
            ("sk", "log#0000000001#000001"),
            ("decision_id", "forged-1"),
            ("entry", &forged.to_string()),
        ],
        &[],
    )
    .await;

    let read = backend.find_version(&version.group, version.version).await;
    assert!(
        matches!(&read, Err(PortError::Corrupt(m)) if m.contains("not written by this portal")),
        "{read:?}"
    );
    let live = backend.live(&version.group, &env("prod")).await.unwrap();
    assert_eq!(live, None, "nothing was deployed to prod");
    let described = aws_sdk_sagemaker::Client::new(&moto.sdk_config().await)
        .describe_model_package()
        .model_package_name(&version.arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.model_approval_status,
        Some(ModelApprovalStatus::PendingManualApproval),
        "the registry is untouched"
    );
}

#[tokio::test]
async fn a_guard_the_portal_did_not_write_is_never_published_or_replaced() {
    let moto = Moto::start();
    let (backend, services) = with_backend(&moto).await;
    let first = registered_and_approved_for_dev(&services, "guardforged").await;
    let live = live_decision(&backend, &first.group, "dev").await;
    // Someone allowed dynamodb:PutItem on the table rewrites dev's guard: "my image is live".
    let forged = forged_entry(&first.group, &first.arn, "dev");
    put_item(
        &moto,
        &[
            ("pk", "group#guardforged"),
            ("sk", "live#dev"),
            ("decision_id", "forged-1"),
            ("entry", &forged.to_string()),
        ],
        &[("version", 1), ("seq", 1)],
    )
    .await;

    let read = backend.deployed(&first.group, &env("dev")).await;
    assert!(
        matches!(&read, Err(PortError::Corrupt(m)) if m.contains("did not write")),
        "{read:?}"
    );
    let second = services
        .register(registration("guardforged", person("dana")))
        .await
        .unwrap();
    let refused = services
        .decide(
            &approver("alice"),
            &second.group,
            second.version,
            &approve("dev"),
        )
        .await;
    assert!(
        matches!(&refused, Err(ServiceError::Port(PortError::Corrupt(_)))),
        "{refused:?}"
    );
    assert_eq!(
        live_decision(&backend, &first.group, "dev").await,
        live,
        "nothing published from the forged guard"
    );
}

#[tokio::test]
async fn a_genuine_entry_copied_to_another_group_is_refused_there() {
    let moto = Moto::start();
    let (backend, services) = with_backend(&moto).await;
    let original = registered_and_approved_for_dev(&services, "original").await;
    let target = services
        .register(registration("target", person("dana")))
        .await
        .unwrap();
    // Someone with write access to the table copies the portal's own signed items: the
    // approval's log entry into the other group's log, and dev's guard into its guard.
    let dynamodb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let copy = |sk: &'static str| {
        let dynamodb = dynamodb.clone();
        async move {
            let key = |group: &str| {
                std::collections::HashMap::from([
                    (
                        "pk".to_owned(),
                        aws_sdk_dynamodb::types::AttributeValue::S(format!("group#{group}")),
                    ),
                    (
                        "sk".to_owned(),
                        aws_sdk_dynamodb::types::AttributeValue::S(sk.to_owned()),
                    ),
                ])
            };
            let mut item = dynamodb
                .get_item()
                .table_name("countersign")
                .set_key(Some(key("original")))
                .send()
                .await
                .unwrap()
                .item
                .expect("the portal wrote it");
            item.extend(key("target"));
            dynamodb
                .put_item()
                .table_name("countersign")
                .set_item(Some(item))
                .send()
                .await
                .unwrap();
        }
    };
    copy("log#0000000001#000001").await;
    copy("live#dev").await;

    let read = backend.find_version(&target.group, target.version).await;
    assert!(
        matches!(&read, Err(PortError::Corrupt(m)) if m.contains("not written by this portal")),
        "{read:?}"
    );
    let guarded = backend.deployed(&target.group, &env("dev")).await;
    assert!(
        matches!(&guarded, Err(PortError::Corrupt(m)) if m.contains("did not write")),
        "{guarded:?}"
    );
    assert_eq!(live_decision(&backend, &target.group, "dev").await, None);
    // Where the portal wrote them, they still read.
    assert_eq!(logged(&backend, &original).await, 1);
}

#[tokio::test]
async fn of_two_simultaneous_decisions_exactly_one_wins() {
    let moto = Moto::start();
    let (backend, services) = with_backend(&moto).await;
    let version = services
        .register(registration("race", person("dana")))
        .await
        .unwrap();
    let effect = |who: &str| {
        workflow::decide(
            services.policy(),
            &version,
            &[],
            &approver(who),
            &approve("dev"),
            Stamp {
                id: format!("decision-by-{who}"),
                at: time::OffsetDateTime::now_utc(),
            },
        )
        .unwrap()
    };
    let (alice, bob) = (effect("alice"), effect("bob"));
    let (alice_entry, bob_entry) = (decided(&alice), decided(&bob));
    let (a, b) = tokio::join!(
        backend.commit(&alice, &alice_entry),
        backend.commit(&bob, &bob_entry)
    );
    let outcomes = [a.clone(), b.clone()];
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    assert!(outcomes.contains(&Err(PortError::Conflict)), "{outcomes:?}");
    let winner = if a.is_ok() { "alice" } else { "bob" };

    let log = backend
        .decisions_for_version(&version.group, version.version)
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].decided_by.subject, winner);
    let live = backend
        .live(&version.group, &env("dev"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.approved_by.subject, winner);
    let stored = backend
        .find_version(&version.group, version.version)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.revision, 1);
}

#[tokio::test]
async fn of_fifty_simultaneous_approvals_of_one_step_exactly_one_is_applied() {
    let moto = Moto::start();
    let (backend, services) = with_backend(&moto).await;
    let version = services
        .register(registration("fifty", person("dana")))
        .await
        .unwrap();
    let people = [approver("alice"), approver("bob")];
    let requests: Vec<DecisionRequest> = (0..50)
        .map(|i| DecisionRequest::new(env("dev"), Choice::Approve, &format!("attempt {i}")))
        .collect();
    let outcomes = futures::future::join_all(requests.iter().enumerate().map(|(i, request)| {
        services.decide(&people[i % 2], &version.group, version.version, request)
    }))
    .await;
    let applied: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert_eq!(applied.len(), 1);
    // The others raced it (a conflict) or started after it was applied (the step is
    // decided): either way told someone got there first, having changed nothing.
    let others: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert!(
        others.iter().all(|e| matches!(
            e,
            ServiceError::Port(PortError::Conflict) | ServiceError::Refused(_)
        )),
        "{others:?}"
    );
    let log = backend
        .decisions_for_version(&version.group, version.version)
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        log[0].id, applied[0].record.id,
        "the one applied is the one logged"
    );
    let live = backend
        .live(&version.group, &env("dev"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.decision_id, applied[0].record.id);
}

#[tokio::test]
async fn racing_rollbacks_and_approvals_serialise_per_environment() {
    let moto = Moto::start();
    let (_, services) = with_backend(&moto).await;
    countersign_port_contract::racing_rollbacks_and_approvals_keep_live_equal_to_the_log(
        &services, 20,
    )
    .await;
}

#[tokio::test]
async fn a_decision_interrupted_after_it_was_logged_is_completed_by_the_next_read() {
    let moto = Moto::start();
    let (backend, services) = with_backend(&moto).await;
    let version = services
        .register(registration("interrupted", person("dana")))
        .await
        .unwrap();
    let effect = alice_approves_dev(&services, &version, "decision-1");

    // DynamoDB and SSM answer, SageMaker cannot be reached (nothing listens on port 9): the
    // decision is logged, then the registry update fails.
    let healthy = moto.sdk_config().await;
    let unreachable =
        aws_sdk_sagemaker::config::Builder::from(&sdk_config_at("http://127.0.0.1:9").await)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
    // Another replica: it shares the log key through SSM.
    let broken = AwsBackend::from_clients(
        aws_sdk_sagemaker::Client::from_conf(unreachable),
        aws_sdk_ssm::Client::new(&healthy),
        aws_sdk_dynamodb::Client::new(&healthy),
        settings(),
    );
    let failed = broken.commit(&effect, &decided(&effect)).await;
    assert!(
        matches!(&failed, Err(PortError::Unavailable(m)) if m.contains("sagemaker:")),
        "{failed:?}"
    );
    let raw = aws_sdk_sagemaker::Client::new(&healthy)
        .describe_model_package()
        .model_package_name(&version.arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        raw.model_approval_status,
        Some(ModelApprovalStatus::PendingManualApproval),
        "the registry has not seen the decision yet"
    );

    let read = backend
        .find_version(&version.group, version.version)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        read,
        workflow::apply(&version, &effect),
        "the next read completed it"
    );
    let live = backend
        .live(&version.group, &env("dev"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.decision_id, "decision-1");

    // The caller's retry of the same decision finds it done and does not double it.
    backend.commit(&effect, &decided(&effect)).await.unwrap();
    let log = backend
        .decisions_for_version(&version.group, version.version)
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    let deployments = backend.history(&version.group).await.unwrap();
    assert_eq!(deployments.len(), 1);
}

/// A backend whose SSM and DynamoDB requests go through relays the test can cut, with no
/// retries (a cut is not a throttle), prepared while everything answers.
async fn behind_relays(moto: &Moto) -> (AwsBackend, Relay, Relay) {
    let (ssm_relay, table_relay) = (Relay::to(moto).await, Relay::to(moto).await);
    let once = |endpoint: &str| {
        let endpoint = endpoint.to_owned();
        async move {
            let config = sdk_config_at(&endpoint).await;
            aws_sdk_ssm::config::Builder::from(&config)
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .build()
        }
    };
    let ssm = aws_sdk_ssm::Client::from_conf(once(&ssm_relay.endpoint).await);
    let table_config = sdk_config_at(&table_relay.endpoint).await;
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&table_config)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build(),
    );
    let backend = AwsBackend::from_clients(
        aws_sdk_sagemaker::Client::new(&moto.sdk_config().await),
        ssm,
        dynamodb,
        settings(),
    );
    backend.prepare().await.unwrap();
    (backend, ssm_relay, table_relay)
}

#[tokio::test]
async fn a_decision_whose_live_parameter_was_not_written_is_completed_by_the_next_read() {
    let moto = Moto::start();
    let (backend, services) = with_backend(&moto).await;
    registered_and_approved_for_dev(&services, "unpublished").await;
    let second = services
        .register(registration("unpublished", person("dana")))
        .await
        .unwrap();
    let live_before = backend
        .live(&second.group, &env("dev"))
        .await
        .unwrap()
        .unwrap();
    let effect = alice_approves_dev(&services, &second, "decision-2").replacing(Some(&live_before));

    // SSM stops answering after the log was written: the live parameter keeps version 1.
    let (replica, ssm_relay, _table_relay) = behind_relays(&moto).await;
    ssm_relay.cut().await;
    let failed = replica.commit(&effect, &decided(&effect)).await;
    assert!(
        matches!(&failed, Err(PortError::Unavailable(m)) if m.contains("ssm:")),
        "{failed:?}"
    );
    assert_eq!(
        live_decision(&backend, &second.group, "dev").await.unwrap(),
        live_before.decision_id,
        "not published yet"
    );
    assert_eq!(logged(&backend, &second).await, 1, "logged");

    // The next read, on a replica that can reach SSM, carries it out; a retry adds nothing.
    let read = backend
        .find_version(&second.group, second.version)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, workflow::apply(&second, &effect));
    assert_eq!(
        live_decision(&backend, &second.group, "dev").await.unwrap(),
        "decision-2"
    );
    backend.commit(&effect, &decided(&effect)).await.unwrap();
    assert_eq!(backend.history(&second.group).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_decision_the_table_never_received_changed_nothing() {
    let moto = Moto::start();
    let (backend, services) = with_backend(&moto).await;
    let version = services
        .register(registration("unlogged", person("dana")))
        .await
        .unwrap();
    let effect = alice_approves_dev(&services, &version, "decision-1");
    let (replica, _ssm_relay, table_relay) = behind_relays(&moto).await;
    table_relay.cut().await;
    let failed = replica.commit(&effect, &decided(&effect)).await;
    assert!(
        matches!(&failed, Err(PortError::Unavailable(m)) if m.contains("dynamodb:")),
        "{failed:?}"
    );
    assert_eq!(
        backend.live(&version.group, &env("dev")).await.unwrap(),
        None
    );
    let read = backend
        .find_version(&version.group, version.version)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, version, "the registry is untouched");
    // Once the table answers again, the same decision applies, once.
    backend.commit(&effect, &decided(&effect)).await.unwrap();
    assert_eq!(logged(&backend, &version).await, 1);
}

// Proves: AT-01.
#[tokio::test]
async fn every_one_of_150_decisions_on_a_group_is_kept() {
    let moto = Moto::start();
    let (backend, services) = with_backend(&moto).await;
    let group = GroupName::parse("busy").unwrap();
    let mut decided = Vec::new();
    for _ in 0..150 {
        let version = services
            .register(registration("busy", person("dana")))
            .await
            .unwrap();
        let effect = services
            .decide(&approver("alice"), &group, version.version, &approve("dev"))
            .await
            .unwrap();
        decided.push(effect.record.id);
    }
    let log = backend.decisions_for_group(&group).await.unwrap();
    let logged: Vec<String> = log.into_iter().map(|r| r.id).collect();
    assert_eq!(logged, decided, "all 150, oldest first");

    let history = backend.history(&group).await.unwrap();
    assert_eq!(history.len(), 150);
    assert_eq!(history[0].version.get(), 150, "newest first");

    // Why the log is not the live parameter's history: SSM keeps its last 100 versions.
    let ssm = aws_sdk_ssm::Client::new(&moto.sdk_config().await);
    let mut kept = 0;
    let mut next_token = None;
    loop {
        let page = ssm
            .get_parameter_history()
            .name("/countersign/busy/dev")
            .set_next_token(next_token)
            .send()
            .await
            .unwrap();
        kept += page.parameters().len();
        next_token = page.next_token;
        if next_token.is_none() {
            break;
        }
    }
    assert_eq!(kept, 100);
}
