//! The AWS adapters against a real moto server: the shared port contract, and what only the
//! AWS backend promises (what SageMaker and SSM hold afterwards, foreign metadata, races,
//! interrupted decisions, the durable log, requests per page).

mod support;

use aws_sdk_sagemaker::types::{
    InferenceSpecification, ModelApprovalStatus, ModelPackageContainerDefinition,
};
use countersign_aws::AwsBackend;
use countersign_domain::ports::*;
use countersign_domain::service::{ServiceError, Services};
use countersign_domain::testing::{approver, person, registration};
use countersign_domain::workflow::{self, DecisionEffect, DecisionRequest};
use countersign_domain::*;
use countersign_port_contract::services_over;
use std::collections::BTreeSet;
use std::sync::Arc;
use support::{sdk_config_at, settings, Moto, Relay};

fn policy() -> Policy {
    Policy::new(Environments::default(), "approvers")
}

/// `effect`'s audit entry, as the services write it with the decision.
fn decided(effect: &DecisionEffect) -> countersign_domain::audit::AuditRecord {
    countersign_domain::audit::AuditRecord::decided(effect, None, Arc::new(policy()))
}

fn env(name: &str) -> Environment {
    Environment::parse(name).unwrap()
}

async fn with_backend(moto: &Moto) -> (Arc<AwsBackend>, countersign_port_contract::Subject) {
    let backend = Arc::new(moto.backend().await);
    let services = services_over(backend.clone(), backend.clone(), policy());
    (backend, services)
}

/// A version Dana registered and Alice approved for dev through the portal.
async fn registered_and_approved_for_dev(services: &Services, group: &str) -> ModelVersion {
    let version = services
        .register(registration(group, person("dana")))
        .await
        .unwrap();
    services
        .decide(
            &approver("alice"),
            &version.group,
            version.version,
            &approve("dev"),
        )
        .await
        .unwrap();
    version
}

/// Writes a String parameter as anyone allowed `ssm:PutParameter` could.
async fn put_string(moto: &Moto, name: &str, value: &str) {
    aws_sdk_ssm::Client::new(&moto.sdk_config().await)
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .unwrap();
}

/// Changes a version's custom metadata (and, when given, its approval status) in SageMaker,
/// as anyone allowed `sagemaker:UpdateModelPackage` could.
async fn update_outside_the_portal(
    moto: &Moto,
    arn: &str,
    status: Option<ModelApprovalStatus>,
    edit: impl FnOnce(&mut std::collections::HashMap<String, String>),
) {
    let sagemaker = aws_sdk_sagemaker::Client::new(&moto.sdk_config().await);
    let described = sagemaker
        .describe_model_package()
        .model_package_name(arn)
        .send()
        .await
        .unwrap();
    let mut metadata = described.customer_metadata_properties.unwrap();
    edit(&mut metadata);
    sagemaker
        .update_model_package()
        .model_package_arn(arn)
        .set_model_approval_status(status)
        .set_customer_metadata_properties(Some(metadata))
        .send()
        .await
        .unwrap();
}

/// A log entry approving `environment` and deploying an attacker's image, as someone with
/// write access to the table but not the log key would write it (its MAC is made up).
fn forged_entry(group: &GroupName, arn: &str, environment: &str) -> serde_json::Value {
    let alice = serde_json::json!({"subject": "alice", "name": "Alice Approver", "email": "alice@example.com"});
    serde_json::json!({
        "id": "forged-1", "environment": environment, "verdict": "approve", "reason": null,
        "decided_by": alice, "decided_at": "2026-11-29T10:00:00Z",
        "resulting_state": "Approved", "approval_status": "Approved",
        "steps": {"dev": "Approved", "test": "Approved", "uat": "Approved", "prod": "Approved"},
        "deployment": {
            "model_package_group": group.as_str(), "model_package_version": 1,
            "model_package_arn": arn, "environment": environment,
            "image_uri": "attacker.example/backdoor:1", "model_data_url": "s3://attacker/model",
            "approved_by": alice, "approved_at": "2026-11-29T10:00:00Z", "decision_id": "forged-1"
        },
        "mac": "00".repeat(32)
    })
}

/// Writes an item of string and number attributes into the portal's table, as anyone
/// allowed `dynamodb:PutItem` could.
async fn put_item(moto: &Moto, attributes: &[(&str, &str)], numbers: &[(&str, u64)]) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let item = attributes
        .iter()
        .map(|(name, value)| (name.to_string(), AttributeValue::S(value.to_string())))
        .chain(
            numbers
                .iter()
                .map(|(name, value)| (name.to_string(), AttributeValue::N(value.to_string()))),
        )
        .collect();
    aws_sdk_dynamodb::Client::new(&moto.sdk_config().await)
        .put_item()
        .table_name("countersign")
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

/// How many decisions the log holds for `version`.
async fn logged(backend: &AwsBackend, version: &ModelVersion) -> usize {
    backend
        .decisions_for_version(&version.group, version.version)
        .await
        .unwrap()
        .len()
}

/// The decision whose deployment is live in `environment`, as pipelines read it.
async fn live_decision(
    backend: &AwsBackend,
    group: &GroupName,
    environment: &str,
) -> Option<String> {
    backend
        .live(group, &env(environment))
        .await
        .unwrap()
        .map(|live| live.decision_id)
}

/// Alice's approval of `version` for dev, as decision `id`, computed and not yet committed.
fn alice_approves_dev(services: &Services, version: &ModelVersion, id: &str) -> DecisionEffect {
    workflow::decide(
        services.policy(),
        version,
        &[],
        &approver("alice"),
        &approve("dev"),
        Stamp {
            id: id.into(),
            at: time::OffsetDateTime::now_utc(),
        },
    )
    .unwrap()
}

fn approve(environment: &str) -> DecisionRequest {
    DecisionRequest::new(env(environment), Choice::Approve, "metrics hold up")
}

/// The port contract, a test per check, each against a moto server of its own.
mod contract {
    use super::*;

    async fn backend() -> (Moto, countersign_port_contract::Subject) {
        let moto = Moto::start();
        let (_, services) = with_backend(&moto).await;
        (moto, services)
    }

    countersign_port_contract::contract_tests!(backend);
}

#[tokio::test]
async fn an_approval_for_dev_shows_in_sagemaker_and_ssm_as_documented() {
    let moto = Moto::start();
    let (_, services) = with_backend(&moto).await;
    let version = registered_and_approved_for_dev(&services, "churn").await;

    let config = moto.sdk_config().await;
    let described = aws_sdk_sagemaker::Client::new(&config)
        .describe_model_package()
        .model_package_name(&version.arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.model_approval_status,
        Some(ModelApprovalStatus::Approved)
    );
    let metadata = described.customer_metadata_properties.unwrap();
    assert_eq!(metadata["dev"], "Approved");
    for later in ["test", "uat", "prod"] {
        assert_eq!(metadata[later], "PendingManualApproval", "{later}");
    }
    let description = described.approval_description.unwrap();
    assert!(
        description.contains("alice name <alice@example.com>"),
        "{description}"
    );
    assert!(description.ends_with("metrics hold up"), "{description}");

    let parameter = aws_sdk_ssm::Client::new(&config)
        .get_parameter()
        .name("/countersign/churn/dev")
        .send()
        .await
        .unwrap()
        .parameter
        .unwrap();
    let document: serde_json::Value = serde_json::from_str(parameter.value().unwrap()).unwrap();
    assert_eq!(document["model_package_group"], "churn");
    assert_eq!(document["model_package_version"], 1);
    assert_eq!(document["model_package_arn"], version.arn.as_str());
    assert_eq!(document["environment"], "dev");
    assert_eq!(document["image_uri"], "registry.example/churn:7");
    assert_eq!(
        document["model_data_url"],
        "s3://models/churn/7/model.tar.gz"
    );
    assert_eq!(document["approved_by"]["email"], "alice@example.com");
    assert!(document["approved_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn ssm_holds_only_the_live_pointers_the_shared_secrets_and_the_audit_checkpoints() {
    let moto = Moto::start();
    let (backend, services) = with_backend(&moto).await;
    let version = registered_and_approved_for_dev(&services, "churn").await;
    services
        .decide(
            &approver("bob"),
            &version.group,
            version.version,
            &approve("test"),
        )
        .await
        .unwrap();
    let draft = ReportDraft {
        group: version.group.clone(),
        version: version.version,
        environment: env("dev"),
        run_id: RunId::parse("run-1").unwrap(),
        metrics: Metrics::from([("auc".to_string(), 0.9)]),
        started_at: time::OffsetDateTime::now_utc(),
        finished_at: time::OffsetDateTime::now_utc(),
        sample_count: 10,
        artifacts_url: None,
        reported_by: "batch",
        reported_at: time::OffsetDateTime::now_utc(),
    };
    services
        .submit_report(draft.validate().unwrap())
        .await
        .unwrap();
    let message = OutgoingMessage {
        key: "approval-request/churn/1/uat".into(),
        to: vec!["uat@example.com".into()],
        subject: "s".into(),
        text: "t".into(),
        html: "h".into(),
    };
    backend
        .enqueue(&message, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    backend
        .revoke(&Revocation {
            whose: Revoked::Everyone,
            issued_before: time::OffsetDateTime::now_utc(),
        })
        .await
        .unwrap();
    backend
        .shared_secret("session_key", || "secret".into())
        .await
        .unwrap();

    let ssm = aws_sdk_ssm::Client::new(&moto.sdk_config().await);
    let mut names = BTreeSet::new();
    let mut next_token = None;
    loop {
        let page = ssm
            .get_parameters_by_path()
            .path("/countersign")
            .recursive(true)
            .set_next_token(next_token)
            .send()
            .await
            .unwrap();
        names.extend(page.parameters().iter().filter_map(|p| p.name.clone()));
        next_token = page.next_token;
        if next_token.is_none() {
            break;
        }
    }
    assert_eq!(
        names,
        BTreeSet::from(
            [
                "/countersign/_audit/churn",
                "/countersign/_settings/log_key",
                "/countersign/_settings/session_key",
                "/countersign/churn/dev",
                "/countersign/churn/test",
            ]
            .map(String::from)
        )
    );
}

#[tokio::test]
async fn versions_registered_elsewhere_keep_their_metadata_and_gain_every_environment_key() {
    let moto = Moto::start();
    let (backend, services) = with_backend(&moto).await;
    let arn = create_elsewhere(
        &moto,
        "fraud",
        &[("team", "fraud"), ("owner", "dana@example.com")],
    )
    .await;

    let group = GroupName::parse("fraud").unwrap();
    let one = VersionNumber::new(1).unwrap();
    let found = backend.find_version(&group, one).await.unwrap().unwrap();
    assert_eq!(
        found.steps.state(&env("dev")),
        StepState::PendingManualApproval
    );
    assert_eq!(found.steps.state(&env("test")), StepState::NotRequested);
    assert_eq!(found.registered_by.email, "dana@example.com");

    services
        .decide(&approver("alice"), &group, one, &approve("dev"))
        .await
        .unwrap();
    let metadata = aws_sdk_sagemaker::Client::new(&moto.sdk_config().await)
        .describe_model_package()
        .model_package_name(arn)
        .send()
        .await
        .unwrap()
        .customer_metadata_properties
        .unwrap();
    assert_eq!(metadata["team"], "fraud", "foreign keys are kept");
    assert_eq!(metadata["dev"], "Approved");
    assert_eq!(metadata["prod"], "PendingManualApproval");
}

/// Creates a version in SageMaker directly, as a training pipeline or the console would,
/// with the given custom metadata; returns its ARN.
async fn create_elsewhere(moto: &Moto, group: &str, metadata: &[(&str, &str)]) -> String {
    let sagemaker = aws_sdk_sagemaker::Client::new(&moto.sdk_config().await);
    let _ = sagemaker
        .create_model_package_group()
        .model_package_group_name(group)
        .send()
        .await;
    let specification = InferenceSpecification::builder()
        .containers(
            ModelPackageContainerDefinition::builder()
                .image("img:1")
                .build(),
        )
        .supported_content_types("text/csv")
        .supported_response_mime_types("text/csv")
        .build();
    let mut request = sagemaker
        .create_model_package()
        .model_package_group_name(group)
        .model_approval_status(ModelApprovalStatus::PendingManualApproval)
        .inference_specification(specification);
    for (key, value) in metadata {
        request = request.customer_metadata_properties(*key, *value);
    }
    request.send().await.unwrap().model_package_arn.unwrap()
}

#[tokio::test]
async fn four_eyes_holds_for_versions_created_in_sagemaker() {
    let moto = Moto::start();
    let (_, services) = with_backend(&moto).await;
    let one = VersionNumber::new(1).unwrap();

    // Owner metadata written by whoever created the version, in their own spelling.
    create_elsewhere(&moto, "owned", &[("owner", "Dana.Scientist@Example.COM")]).await;
    let owned = GroupName::parse("owned").unwrap();
    let dana = Actor {
        person: Person {
            subject: "5f0c6a1e-oid".into(),
            name: "Dana Scientist".into(),
            email: "dana.scientist@example.com".into(),
        },
        groups: BTreeSet::from(["approvers".to_owned()]),
    };
    let refused = services.decide(&dana, &owned, one, &approve("dev")).await;
    assert!(
        matches!(
            refused,
            Err(ServiceError::Refused(Refusal::OwnVersion { .. }))
        ),
        "{refused:?}"
    );

    // Nobody established: prod needs one approver more than configured.
    create_elsewhere(&moto, "anonymous", &[]).await;
    let anonymous = GroupName::parse("anonymous").unwrap();
    for environment in ["dev", "test", "uat"] {
        services
            .decide(&approver("alice"), &anonymous, one, &approve(environment))
            .await
            .unwrap();
    }
    let first = services
        .decide(&approver("alice"), &anonymous, one, &approve("prod"))
        .await
        .unwrap();
    assert_eq!(
        first.steps.state(&env("prod")),
        StepState::PendingManualApproval
    );
    let second = services
        .decide(&approver("bob"), &anonymous, one, &approve("prod"))
        .await
        .unwrap();
    assert_eq!(second.steps.state(&env("prod")), StepState::Approved);
}

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

#[tokio::test]
async fn a_page_costs_the_same_few_requests_however_many_rows_it_shows() {
    let moto = Moto::start();
    let (backend, services) = with_backend(&moto).await;
    let group = GroupName::parse("wide").unwrap();
    for _ in 0..120 {
        services
            .register(registration("wide", person("dana")))
            .await
            .unwrap();
    }
    let requests_for = |before: &countersign_aws::CallCounts, action: &str| {
        backend.calls().get(action).copied().unwrap_or(0) - before.get(action).copied().unwrap_or(0)
    };

    let before = backend.calls();
    let page = backend
        .list_versions(
            &group,
            PageRequest {
                offset: 0,
                limit: 50,
            },
        )
        .await
        .unwrap();
    assert_eq!((page.total, page.items.len()), (120, 50));
    assert_eq!(page.items[0].version.get(), 120);
    assert_eq!(
        page.items[0].metrics.get("auc"),
        Some(&0.91),
        "rows carry their metadata"
    );
    assert_eq!(
        requests_for(&before, "sagemaker:ListModelPackages"),
        2,
        "120 versions, 100 per request"
    );
    assert_eq!(requests_for(&before, "sagemaker:Search"), 1);
    assert_eq!(
        requests_for(&before, "sagemaker:DescribeModelPackage"),
        0,
        "no request per row"
    );

    let before = backend.calls();
    let last = backend
        .list_versions(
            &group,
            PageRequest {
                offset: 100,
                limit: 50,
            },
        )
        .await
        .unwrap();
    let numbers: Vec<u32> = last.items.iter().map(|v| v.version.get()).collect();
    assert_eq!(numbers, (1..=20).rev().collect::<Vec<_>>());
    assert!(requests_for(&before, "sagemaker:Search") <= 2);

    let before = backend.calls();
    backend
        .find_version(&group, VersionNumber::new(7).unwrap())
        .await
        .unwrap()
        .unwrap();
    let total: u64 = backend
        .calls()
        .iter()
        .map(|(a, n)| n - before.get(a).copied().unwrap_or(0))
        .sum();
    assert_eq!(
        total,
        2,
        "one describe and one log read: {:?}",
        backend.calls()
    );
}

/// The requests each kind of AWS request `work` made, as "action n, action n".
async fn requests_of<T>(
    backend: &AwsBackend,
    work: impl std::future::Future<Output = T>,
) -> (T, countersign_aws::CallCounts) {
    let before = backend.calls();
    let out = work.await;
    let used = backend
        .calls()
        .into_iter()
        .map(|(action, n)| (action, n - before.get(action).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    (out, used)
}

fn figures(counts: &countersign_aws::CallCounts) -> String {
    let total: u64 = counts.values().sum();
    let each: Vec<String> = counts.iter().map(|(a, n)| format!("{a} {n}")).collect();
    format!("{total} ({})", each.join(", "))
}

/// The request budget of issue 14, asserted; `make bench` prints these lines.
#[tokio::test]
async fn requests_per_page_decision_poll_and_resolve_stay_within_budget() {
    let moto = Moto::start();
    let (backend, services) = with_backend(&moto).await;
    let version = registered_and_approved_for_dev(&services, "budget").await;
    let (group, number) = (version.group.clone(), version.version);

    let (record, log_read) = requests_of(&backend, services.version_record(&group, number)).await;
    assert_eq!(record.unwrap().decisions.len(), 1);
    assert_eq!(
        log_read,
        countersign_aws::CallCounts::from([
            ("dynamodb:Query", 1),
            ("sagemaker:DescribeModelPackage", 1)
        ]),
        "the version and its log: one describe, one Query"
    );
    let (_, page) = requests_of(&backend, async {
        services.version_record(&group, number).await.unwrap();
        services.reports_for_version(&group, number).await.unwrap();
        services.live_state(&group).await.unwrap();
    })
    .await;
    assert_eq!(
        page.get("dynamodb:Query"),
        Some(&3),
        "log, reports, history"
    );
    assert_eq!(page.get("dynamodb:Scan"), None);
    let (_, decision) = requests_of(
        &backend,
        services.decide(&approver("bob"), &group, number, &approve("test")),
    )
    .await;
    let (_, idle) = requests_of(
        &backend,
        backend.lease_due(
            time::OffsetDateTime::now_utc(),
            time::OffsetDateTime::now_utc() + time::Duration::minutes(1),
            10,
        ),
    )
    .await;
    assert_eq!(
        idle,
        countersign_aws::CallCounts::from([("dynamodb:Query", 1)])
    );
    let (_, resolve) = requests_of(&backend, backend.live(&group, &env("dev"))).await;
    assert_eq!(
        resolve,
        countersign_aws::CallCounts::from([("ssm:GetParameter", 1)])
    );
    println!(
        "requests per version page (uncached live values): {}",
        figures(&page)
    );
    println!("requests per approval (it deploys): {}", figures(&decision));
    println!("requests per idle outbox poll: {}", figures(&idle));
    println!(
        "requests per resolve on a cache miss: {}",
        figures(&resolve)
    );
}

#[tokio::test]
async fn metadata_sagemaker_cannot_hold_is_refused_before_anything_is_created() {
    let moto = Moto::start();
    let (backend, services) = with_backend(&moto).await;
    let mut quoted = person("dana");
    quoted.name = "Dana \"DJ\" Smith".into();
    let refused = services.register(registration("quoted", quoted)).await;
    assert!(
        matches!(&refused, Err(ServiceError::Port(PortError::Rejected(m))) if m.contains("registered_by.name")),
        "{refused:?}"
    );
    assert!(!backend.calls().contains_key("sagemaker:CreateModelPackage"));
}

#[tokio::test]
async fn a_missing_permission_is_reported_with_the_action_named() {
    let moto = Moto::start_enforcing_iam(3);
    let credentials = moto.user_denied(&["sagemaker:UpdateModelPackage"]);
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .endpoint_url(&moto.endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_provider(credentials))
        .build();
    let backend = Arc::new(AwsBackend::new(&config, settings()));
    backend.prepare().await.unwrap();
    let services = services_over(backend.clone(), backend.clone(), policy());
    let version = services
        .register(registration("guarded", person("dana")))
        .await
        .unwrap();

    let refused = services
        .decide(
            &approver("alice"),
            &version.group,
            version.version,
            &approve("dev"),
        )
        .await;
    let Err(ServiceError::Port(PortError::Denied(message))) = refused else {
        panic!("expected a denial, got {refused:?}");
    };
    assert!(
        message.contains("needs permission sagemaker:UpdateModelPackage"),
        "{message}"
    );
    // Logged but not applied: it shows as incomplete until the role may finish it.
    let log = backend
        .decisions_for_version(&version.group, version.version)
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
}

#[tokio::test]
async fn the_table_from_the_iac_template_serves_the_portal_with_least_privilege() {
    let moto = Moto::start_enforcing_iam(8);
    let (table, credentials) = moto.table_from_iac();
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .endpoint_url(&moto.endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_provider(credentials))
        .build();
    // As in production: the portal may not create its table, and does not need to.
    let backend = Arc::new(AwsBackend::new(
        &config,
        countersign_aws::AwsSettings {
            table: table.clone(),
            create_table: false,
            ..settings()
        },
    ));
    backend.prepare().await.unwrap();
    let services = services_over(backend.clone(), backend.clone(), policy());
    let version = registered_and_approved_for_dev(&services, "iac").await;
    let record = services
        .version_record(&version.group, version.version)
        .await
        .unwrap();
    assert_eq!(record.decisions.len(), 1);
    countersign_port_contract::run_outbox(backend.as_ref()).await;
    countersign_port_contract::run_session_revocations(backend.as_ref()).await;

    // What the policy leaves out is refused: the log cannot be deleted through the portal's
    // credentials.
    let deleted = aws_sdk_dynamodb::Client::new(&config)
        .delete_item()
        .table_name(&table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("group#iac".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("log#0000000001#000001".into()),
        )
        .send()
        .await;
    // Refused by IAM (403), not for any other reason such as a wrong table or key.
    let status = deleted
        .as_ref()
        .err()
        .and_then(|e| e.raw_response())
        .map(|response| response.status().as_u16());
    assert_eq!(status, Some(403), "{deleted:?}");
    assert_eq!(logged(&backend, &version).await, 1);
}

fn aws_credential_provider(
    credentials: aws_sdk_ssm::config::Credentials,
) -> aws_sdk_ssm::config::SharedCredentialsProvider {
    aws_sdk_ssm::config::SharedCredentialsProvider::new(credentials)
}

/// SSM throttling, which moto never does: the one fault here served by a stand-in. It
/// answers `ThrottlingException` to the first `throttled` requests, then a parameter.
async fn throttling_ssm(throttled: usize) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use axum::http::StatusCode;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            if counter.fetch_add(1, Ordering::SeqCst) < throttled {
                let body = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
                return (StatusCode::BAD_REQUEST, body.to_owned());
            }
            let document = r#"{\"model_package_group\":\"churn\",\"model_package_version\":1,\"model_package_arn\":\"a\",\"environment\":\"dev\",\"image_uri\":\"i\",\"model_data_url\":\"m\",\"approved_by\":{\"subject\":\"s\",\"name\":\"n\",\"email\":\"e\"},\"approved_at\":\"2026-11-26T12:00:00Z\",\"decision_id\":\"d\"}"#;
            let body = format!(
                r#"{{"Parameter":{{"Name":"/countersign/churn/dev","Type":"String","Value":"{document}","Version":1}}}}"#
            );
            (StatusCode::OK, body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, requests)
}

#[tokio::test]
async fn throttling_is_retried_with_backoff_then_reported() {
    use std::sync::atomic::Ordering;
    let group = GroupName::parse("churn").unwrap();

    let (url, requests) = throttling_ssm(2).await;
    let backend = AwsBackend::new(&sdk_config_at(&url).await, settings());
    let live = backend.live(&group, &env("dev")).await.unwrap().unwrap();
    assert_eq!(live.decision_id, "d");
    assert_eq!(
        requests.load(Ordering::SeqCst),
        3,
        "two throttled attempts, then through"
    );

    let (url, requests) = throttling_ssm(usize::MAX).await;
    let backend = AwsBackend::new(&sdk_config_at(&url).await, settings());
    let failed = backend.live(&group, &env("dev")).await;
    assert!(
        matches!(&failed, Err(PortError::Unavailable(m)) if m.contains("throttled ssm:GetParameter")),
        "{failed:?}"
    );
    assert_eq!(requests.load(Ordering::SeqCst), 5, "five attempts in all");
}

#[tokio::test]
async fn replicas_starting_together_share_one_session_key() {
    let moto = Moto::start();
    let (first, second) = (moto.backend().await, moto.backend().await);
    let (a, b) = tokio::join!(
        first.shared_secret("session_key", || "from-first".into()),
        second.shared_secret("session_key", || "from-second".into()),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a, b);
    assert!(["from-first", "from-second"].contains(&a.as_str()));
    let later = moto.backend().await;
    assert_eq!(
        later
            .shared_secret("session_key", || "late".into())
            .await
            .unwrap(),
        a
    );

    let stored = aws_sdk_ssm::Client::new(&moto.sdk_config().await)
        .get_parameter()
        .name("/countersign/_settings/session_key")
        .send()
        .await
        .unwrap()
        .parameter
        .unwrap();
    assert_eq!(
        stored.r#type,
        Some(aws_sdk_ssm::types::ParameterType::SecureString)
    );
}

#[tokio::test]
async fn session_revocations_in_the_table_meet_their_contract() {
    let moto = Moto::start();
    countersign_port_contract::run_session_revocations(&moto.backend().await).await;
}

#[tokio::test]
async fn the_session_key_is_kept_under_the_configured_kms_key() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let backend = AwsBackend::new(
        &config,
        countersign_aws::AwsSettings {
            secrets_kms_key_id: Some("alias/countersign-sessions".into()),
            ..settings()
        },
    );
    backend
        .shared_secret("session_key", || "secret".into())
        .await
        .unwrap();
    let described = aws_sdk_ssm::Client::new(&config)
        .describe_parameters()
        .parameter_filters(
            aws_sdk_ssm::types::ParameterStringFilter::builder()
                .key("Name")
                .values("/countersign/_settings/session_key")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let parameter = &described.parameters.unwrap()[0];
    assert_eq!(
        parameter.key_id.as_deref(),
        Some("alias/countersign-sessions")
    );
}

#[tokio::test]
async fn the_outbox_in_the_table_meets_its_contract_and_replicas_queue_a_message_once() {
    let moto = Moto::start();
    let backend = moto.backend().await;
    countersign_port_contract::run_outbox(&backend).await;

    let other_replica = moto.backend().await;
    let message = OutgoingMessage {
        key: "approval-request/churn/3/dev".into(),
        to: vec!["ml-leads@example.com".into()],
        subject: "churn version 3 awaits approval for dev".into(),
        text: "text".into(),
        html: "<p>html</p>".into(),
    };
    let now = time::OffsetDateTime::now_utc();
    let (a, b) = tokio::join!(
        backend.enqueue(&message, now),
        other_replica.enqueue(&message, now)
    );
    assert_eq!(
        [a.unwrap(), b.unwrap()]
            .iter()
            .filter(|added| **added)
            .count(),
        1
    );
    // How many times the two replicas, polling at once, lease the message.
    let (backend, other_replica, key) = (&backend, &other_replica, &message.key);
    let leased_by_both = |now, until| async move {
        let (a, b) = tokio::join!(
            backend.lease_due(now, until, 10),
            other_replica.lease_due(now, until, 10)
        );
        a.unwrap()
            .into_iter()
            .chain(b.unwrap())
            .filter(|e| &e.message.key == key)
            .count()
    };
    let lease = now + time::Duration::minutes(2);
    assert_eq!(leased_by_both(now, lease).await, 1, "one replica sends it");

    // The replica that took it stops: within its lease nobody else takes the message, after
    // it the message is offered again, to one replica.
    let within = lease - time::Duration::seconds(1);
    assert!(other_replica
        .lease_due(within, within + time::Duration::minutes(2), 10)
        .await
        .unwrap()
        .iter()
        .all(|e| e.message.key != message.key));
    let after_lease = lease + time::Duration::seconds(1);
    let later = after_lease + time::Duration::minutes(2);
    assert_eq!(
        leased_by_both(after_lease, later).await,
        1,
        "offered again, once"
    );
    backend.record_sent(&message.key, later).await.unwrap();
    assert_eq!(
        backend.entry(&message.key).await.unwrap().unwrap().state,
        DeliveryState::Sent
    );
}

#[tokio::test]
async fn the_notifications_page_reads_the_messages_it_shows_not_every_message_ever() {
    let moto = Moto::start();
    let backend = moto.backend().await;
    let now = time::OffsetDateTime::now_utc();
    for n in 0..40 {
        let message = OutgoingMessage {
            key: format!("approval-request/churn/{n}/dev"),
            to: vec!["ml-leads@example.com".into()],
            subject: format!("churn version {n}"),
            text: "text".into(),
            html: "<p>html</p>".into(),
        };
        backend.enqueue(&message, now).await.unwrap();
    }
    let before = backend.calls();
    let shown = backend
        .recent(PageRequest {
            offset: 5,
            limit: 5,
        })
        .await
        .unwrap();
    assert_eq!((shown.items.len(), shown.total), (5, 40));
    let used = |action: &str| {
        backend.calls().get(action).copied().unwrap_or(0) - before.get(action).copied().unwrap_or(0)
    };
    assert_eq!(
        used("dynamodb:Query"),
        2,
        "one Query counts the messages, one reads the page"
    );
    assert_eq!(used("dynamodb:GetItem"), 0, "no read per message");
    assert_eq!(used("dynamodb:Scan"), 0);
}

#[tokio::test]
async fn messages_expire_after_the_retention_and_log_entries_never() {
    let moto = Moto::start();
    let (_, services) = with_backend(&moto).await;
    registered_and_approved_for_dev(&services, "kept").await;
    let backend = AwsBackend::new(
        &moto.sdk_config().await,
        countersign_aws::AwsSettings {
            outbox_retention: time::Duration::days(30),
            ..settings()
        },
    );
    let now = time::OffsetDateTime::now_utc();
    let message = OutgoingMessage {
        key: "approval-request/kept/1/test".into(),
        to: vec!["ml-leads@example.com".into()],
        subject: "kept version 1".into(),
        text: "text".into(),
        html: "<p>html</p>".into(),
    };
    backend.enqueue(&message, now).await.unwrap();

    let dynamodb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let ttl = dynamodb
        .describe_time_to_live()
        .table_name("countersign")
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(ttl.attribute_name.as_deref(), Some("expires_at"));
    let items = dynamodb
        .scan()
        .table_name("countersign")
        .send()
        .await
        .unwrap()
        .items
        .unwrap();
    let expiry = |sk_prefix: &str| -> Vec<Option<i64>> {
        items
            .iter()
            .filter(|item| item["sk"].as_s().unwrap().starts_with(sk_prefix))
            .map(|item| {
                item.get("expires_at")
                    .map(|v| v.as_n().unwrap().parse().unwrap())
            })
            .collect()
    };
    let in_30_days = (now + time::Duration::days(30)).unix_timestamp();
    assert_eq!(expiry("message"), [Some(in_30_days)]);
    let logged = expiry("log#");
    assert_eq!(logged.len(), 1);
    assert!(
        logged.iter().all(Option::is_none),
        "log entries never expire"
    );
}

#[tokio::test]
async fn an_idle_outbox_poll_costs_one_query() {
    let moto = Moto::start();
    let backend = moto.backend().await;
    let now = time::OffsetDateTime::now_utc();
    let message = OutgoingMessage {
        key: "approval-request/churn/1/dev".into(),
        to: vec!["ml-leads@example.com".into()],
        subject: "churn version 1".into(),
        text: "text".into(),
        html: "<p>html</p>".into(),
    };
    backend.enqueue(&message, now).await.unwrap();
    backend
        .lease_due(now, now + time::Duration::minutes(1), 10)
        .await
        .unwrap();
    backend.record_sent(&message.key, now).await.unwrap();
    let before = backend.calls();
    let due = backend
        .lease_due(now, now + time::Duration::minutes(1), 10)
        .await
        .unwrap();
    assert!(due.is_empty());
    let after = backend.calls();
    let used: u64 = after
        .iter()
        .map(|(action, n)| n - before.get(action).copied().unwrap_or(0))
        .sum();
    assert_eq!(
        (
            used,
            after.get("dynamodb:Query").copied().unwrap_or(0)
                - before.get("dynamodb:Query").copied().unwrap_or(0)
        ),
        (1, 1),
        "{after:?}"
    );
}

#[tokio::test]
async fn a_live_value_written_outside_the_portal_never_blocks_the_next_decision() {
    let moto = Moto::start();
    let (backend, services) = with_backend(&moto).await;
    let first = services
        .register(registration("ordered", person("dana")))
        .await
        .unwrap();
    // A live parameter claiming a far-future approval by a decision the portal never took
    // (tampering, or a replica's clock ahead).
    let outside = |version: u32| {
        serde_json::json!({
            "model_package_group": "ordered", "model_package_version": version,
            "model_package_arn": "arn:elsewhere", "environment": "dev",
            "image_uri": "old/img:99", "model_data_url": "s3://old",
            "approved_by": {"subject": "x", "name": "X", "email": "x@example.com"},
            "approved_at": "2099-01-01T00:00:00Z", "decision_id": format!("outside-{version}")
        })
        .to_string()
    };
    put_string(&moto, "/countersign/ordered/dev", &outside(99)).await;
    services
        .decide(
            &approver("alice"),
            &first.group,
            first.version,
            &approve("dev"),
        )
        .await
        .unwrap();
    let live = backend
        .live(&first.group, &env("dev"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.version, first.version, "the approval went live");

    // Written outside again, after the portal's guard exists: drift, and the next decision
    // replaces the portal's own last deployment, not the stranger's.
    put_string(&moto, "/countersign/ordered/dev", &outside(98)).await;
    let second = services
        .register(registration("ordered", person("dana")))
        .await
        .unwrap();
    let effect = services
        .decide(
            &approver("alice"),
            &second.group,
            second.version,
            &approve("dev"),
        )
        .await
        .unwrap();
    assert_eq!(
        effect.replaces,
        backend.history(&first.group).await.unwrap()[1]
            .decision_id
            .clone()
            .into()
    );
    let live = backend
        .live(&first.group, &env("dev"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.version, second.version);
}

#[tokio::test]
async fn a_live_value_the_log_does_not_explain_is_reported_as_drift() {
    let moto = Moto::start();
    let (_, services) = with_backend(&moto).await;
    let version = registered_and_approved_for_dev(&services, "drifting").await;
    assert!(services
        .live_state(&version.group)
        .await
        .unwrap()
        .drift
        .is_empty());

    // Someone allowed ssm:PutParameter swaps the image under the portal's decision.
    let name = "/countersign/drifting/dev";
    let ssm = aws_sdk_ssm::Client::new(&moto.sdk_config().await);
    let live = ssm.get_parameter().name(name).send().await.unwrap();
    let mut document: serde_json::Value =
        serde_json::from_str(&live.parameter.unwrap().value.unwrap()).unwrap();
    document["image_uri"] = "attacker.example/backdoor:1".into();
    put_string(&moto, name, &document.to_string()).await;

    let state = services.live_state(&version.group).await.unwrap();
    let reported: Vec<String> = state.drift.iter().map(|d| d.explain()).collect();
    assert_eq!(reported.len(), 1, "{reported:?}");
    assert!(
        reported[0].starts_with("dev: the live value claims decision")
            && reported[0].contains("attacker.example/backdoor:1"),
        "{reported:?}"
    );
    let history = services.group_history(&version.group).await.unwrap();
    assert_eq!(history.drift, state.drift, "the history page says the same");

    ssm.delete_parameter().name(name).send().await.unwrap();
    let state = services.live_state(&version.group).await.unwrap();
    assert!(
        state.drift[0].explain().contains("nothing is live there"),
        "{:?}",
        state.drift
    );
}

#[tokio::test]
async fn a_metric_changed_in_sagemaker_after_signing_breaks_the_signature_and_stops_promotion() {
    let moto = Moto::start();
    let (_, services) = with_backend(&moto).await;
    let version = registered_and_approved_for_dev(&services, "rebadged").await;
    let record = services
        .version_record(&version.group, version.version)
        .await
        .unwrap();
    assert!(workflow::broken_signatures(&record.version, &record.decisions).is_empty());
    let live = services.resolve(&version.group, &env("dev")).await.unwrap();
    assert_eq!(services.still_signed(&live).await, Ok(true));

    // Someone allowed sagemaker:UpdateModelPackage improves the metric the approver saw.
    update_outside_the_portal(&moto, &version.arn, None, |metadata| {
        assert_eq!(metadata["metric:auc"], "0.91");
        metadata.insert("metric:auc".into(), "0.99".into());
    })
    .await;

    let record = services
        .version_record(&version.group, version.version)
        .await
        .unwrap();
    assert_eq!(
        workflow::broken_signatures(&record.version, &record.decisions),
        [env("dev")]
    );
    assert_eq!(
        services.still_signed(&live).await,
        Ok(false),
        "resolve answers signature_mismatch"
    );
    let refused = services
        .decide(
            &approver("bob"),
            &version.group,
            version.version,
            &approve("test"),
        )
        .await;
    assert!(
        matches!(
            &refused,
            Err(ServiceError::Refused(Refusal::SignatureMismatch { environment })) if *environment == env("dev")
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn sagemaker_metadata_written_outside_the_portal_decides_nothing_and_shows_as_drift() {
    let moto = Moto::start();
    let (_, services) = with_backend(&moto).await;
    let version = services
        .register(registration("skipping", person("dana")))
        .await
        .unwrap();
    // Someone allowed sagemaker:UpdateModelPackage marks dev approved to skip its approvers.
    update_outside_the_portal(
        &moto,
        &version.arn,
        Some(ModelApprovalStatus::Approved),
        |metadata| {
            metadata.insert("dev".into(), "Approved".into());
        },
    )
    .await;

    let read = services
        .find_version(&version.group, version.version)
        .await
        .unwrap();
    assert_eq!(
        read.steps.state(&env("dev")),
        StepState::PendingManualApproval
    );
    assert_eq!(read.steps.state(&env("test")), StepState::NotRequested);
    assert_eq!(read.approval_status, version.approval_status);
    assert!(
        read.drift
            .iter()
            .any(|d| d == "SageMaker's metadata says dev is Approved, but the decision log says PendingManualApproval."),
        "{:?}",
        read.drift
    );
    let skipped = services
        .decide(
            &approver("alice"),
            &version.group,
            version.version,
            &approve("test"),
        )
        .await;
    assert!(
        matches!(skipped, Err(ServiceError::Refused(_))),
        "{skipped:?}"
    );

    // A decision through the portal writes the log's state back.
    services
        .decide(
            &approver("alice"),
            &version.group,
            version.version,
            &approve("dev"),
        )
        .await
        .unwrap();
    let read = services
        .find_version(&version.group, version.version)
        .await
        .unwrap();
    assert_eq!(read.steps.state(&env("dev")), StepState::Approved);
    assert!(read.drift.is_empty(), "{:?}", read.drift);
}

/// Writes what a portal from before the table kept in SSM: decision log entries (unsigned,
/// as before entries were signed), a report, a message with its delivery state, a session
/// revocation, and the live parameter.
async fn the_old_ssm_layout(moto: &Moto, arn: &str) {
    let entry = |id: &str, state: &str, status: &str| {
        serde_json::json!({
            "id": id, "environment": "dev", "verdict": "approve", "reason": "fine",
            "decided_by": {"subject": "alice", "name": "Alice Approver", "email": "alice@example.com"},
            "decided_at": "2026-11-01T10:00:00Z", "resulting_state": state,
            "approval_status": status,
            "steps": {"dev": "Approved", "test": "PendingManualApproval", "uat": "NotRequested", "prod": "NotRequested"},
            "deployment": {
                "model_package_group": "legacy", "model_package_version": 1,
                "model_package_arn": arn, "environment": "dev",
                "image_uri": "registry.example/churn:7", "model_data_url": "s3://models/churn/7/model.tar.gz",
                "approved_by": {"subject": "alice", "name": "Alice Approver", "email": "alice@example.com"},
                "approved_at": "2026-11-01T10:00:00Z", "decision_id": id
            }
        })
        .to_string()
    };
    put_string(
        moto,
        "/countersign/legacy/_decisions/1/000001",
        &entry("legacy-1", "Approved", "Approved"),
    )
    .await;
    let live =
        serde_json::from_str::<serde_json::Value>(&entry("legacy-1", "Approved", "Approved"))
            .unwrap()["deployment"]
            .to_string();
    put_string(moto, "/countersign/legacy/dev", &live).await;
    let report = serde_json::json!({
        "model_package_group": "legacy", "model_package_version": 1, "environment": "dev",
        "run_id": "run-1", "metrics": {"auc": 0.9}, "started_at": "2026-11-02T10:00:00Z",
        "finished_at": "2026-11-02T10:05:00Z", "sample_count": 1000,
        "reported_by": "batch", "reported_at": "2026-11-02T10:06:00Z"
    });
    put_string(
        moto,
        "/countersign/legacy/_reports/1/dev/run-1",
        &report.to_string(),
    )
    .await;
    put_string(
        moto,
        "/countersign/_outbox/messages/approval-request/legacy/1/test",
        &serde_json::json!({
            "to": ["ml-leads@example.com"], "subject": "legacy version 1 awaits test",
            "text": "text", "html": "<p>html</p>", "created_at": "2026-11-02T10:07:00Z"
        })
        .to_string(),
    )
    .await;
    put_string(
        moto,
        "/countersign/_outbox/state/approval-request/legacy/1/test",
        &serde_json::json!({
            "state": "pending", "round": 0, "attempts": 1, "last_error": "refused",
            "next_attempt_at": "2026-11-02T10:08:00Z", "sent_at": null
        })
        .to_string(),
    )
    .await;
    put_string(
        moto,
        "/countersign/_sessions/revoked/646179",
        &serde_json::json!({"whose": "person:dana@example.com", "issued_before": "2026-11-03T10:00:00Z"})
            .to_string(),
    )
    .await;
}

#[tokio::test]
async fn migrate_moves_the_ssm_layout_into_the_table_once_and_checks_it_arrived() {
    let moto = Moto::start();
    let registry = Arc::new(countersign_aws::AwsBackend::new(
        &moto.sdk_config().await,
        support::settings(),
    ));
    // Registered in SageMaker only: the portal before the table kept no trail either.
    let new = workflow::register(
        &policy(),
        registration("legacy", person("dana")),
        time::OffsetDateTime::now_utc(),
    );
    let version = ModelRegistry::register(&*registry, new).await.unwrap();
    the_old_ssm_layout(&moto, &version.arn).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;

    // The upgraded portal starts (making its table and log key) and moves the old layout.
    let (backend, services) = with_backend(&moto).await;
    let figures = backend.migrate_from_ssm().await.unwrap();
    let moved = |found, written| countersign_aws::Moved {
        found,
        written,
        in_table: found,
    };
    assert_eq!(
        (
            figures.decisions,
            figures.reports,
            figures.messages,
            figures.revocations,
            figures.guards
        ),
        (
            moved(1, 1),
            moved(1, 1),
            moved(1, 1),
            moved(1, 1),
            moved(1, 1)
        ),
        "{figures}"
    );
    assert!(figures.complete() && figures.unexplained_live.is_empty());

    // What the old portal decided reads back, is completed, and guards dev.
    let read = services
        .find_version(&version.group, version.version)
        .await
        .unwrap();
    assert_eq!(read.steps.state(&env("dev")), StepState::Approved);
    let record = services
        .version_record(&version.group, version.version)
        .await
        .unwrap();
    assert_eq!(record.decisions[0].id, "legacy-1");
    assert_eq!(
        backend
            .deployed(&version.group, &env("dev"))
            .await
            .unwrap()
            .map(|d| d.decision_id),
        Some("legacy-1".to_owned())
    );
    let reports = backend
        .reports_for_version(&version.group, version.version)
        .await
        .unwrap();
    assert_eq!(reports[0].run_id.as_str(), "run-1");
    let message = backend
        .entry("approval-request/legacy/1/test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            message.state,
            message.attempts,
            message.last_error.as_deref()
        ),
        (DeliveryState::Pending, 1, Some("refused"))
    );
    assert_eq!(backend.revocations().await.unwrap().len(), 1);

    // Again: nothing written twice.
    let again = backend.migrate_from_ssm().await.unwrap();
    assert_eq!(again.decisions, moved(1, 0));
    assert_eq!(again.messages, moved(1, 0));
    assert_eq!(again.guards, moved(1, 0));
    assert_eq!(again.revocations, moved(1, 0));
    assert_eq!(again.reports, moved(1, 0));
    assert_eq!(logged(&backend, &version).await, 1);

    // A live parameter no logged decision explains (written outside the portal) is reported
    // and guards nothing.
    put_string(
        &moto,
        "/countersign/legacy/test",
        &serde_json::json!({
            "model_package_group": "legacy", "model_package_version": 1,
            "model_package_arn": version.arn, "environment": "test",
            "image_uri": "attacker.example/backdoor:1", "model_data_url": "s3://x",
            "approved_by": {"subject": "x", "name": "X", "email": "x@example.com"},
            "approved_at": "2026-11-01T10:00:00Z", "decision_id": "outside-1"
        })
        .to_string(),
    )
    .await;
    let outside = backend.migrate_from_ssm().await.unwrap();
    assert_eq!(outside.unexplained_live.len(), 1, "{outside}");
    assert!(outside.unexplained_live[0].contains("outside-1"));
    assert_eq!(outside.guards, moved(1, 0), "only dev is guarded");
    let test_guard = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await)
        .get_item()
        .table_name("countersign")
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("group#legacy".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("live#test".into()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(test_guard.item, None);

    // An unsigned entry written into SSM after the key existed is no portal's: refused.
    put_string(
        &moto,
        "/countersign/legacy/_decisions/1/000002",
        &serde_json::json!({"id": "forged-2"}).to_string(),
    )
    .await;
    let refused = backend.migrate_from_ssm().await;
    assert!(
        matches!(&refused, Err(PortError::Corrupt(_))),
        "{refused:?}"
    );
}

mod decision_table {
    use super::*;
    use countersign_aws::table::{Appended, Deploys, NewEntry, Table};

    fn entry<'a>(
        group: &'a GroupName,
        version: u32,
        seq: u64,
        decision_id: &'a str,
        deploys: Option<Deploys<'a>>,
    ) -> NewEntry<'a> {
        NewEntry {
            group,
            version: VersionNumber::new(version).unwrap(),
            seq,
            decision_id,
            entry: "{\"the\":\"signed entry\"}",
            logged_at: time::OffsetDateTime::now_utc(),
            deploys,
            trail: None,
        }
    }

    async fn appended(table: &Table, new: &NewEntry<'_>) -> Appended {
        table.append(new).await.unwrap()
    }

    /// The decision the dev guard names.
    async fn guard_of(table: &Table, group: &GroupName) -> Option<String> {
        table
            .guard(group, "dev")
            .await
            .unwrap()
            .map(|guard| guard.decision_id)
    }

    fn to_dev(replaces: Option<&str>) -> Option<Deploys<'_>> {
        Some(Deploys {
            environment: "dev",
            replaces,
        })
    }

    #[tokio::test]
    async fn a_missing_table_stops_start_up_unless_the_portal_may_create_it() {
        let moto = Moto::start();
        let table = Table::new(&moto.sdk_config().await, "countersign-log");
        let refused = table.prepare(false).await;
        assert!(
            matches!(&refused, Err(PortError::Unavailable(m)) if m.contains("countersign-log")
                && m.contains("deploy/countersign-table.yaml")
                && m.contains("COUNTERSIGN_DYNAMODB_CREATE_TABLE")),
            "{refused:?}"
        );
        table.prepare(true).await.unwrap();
        table.prepare(false).await.unwrap();
        table.prepare(true).await.unwrap();
    }

    #[tokio::test]
    async fn the_log_reads_back_in_order_per_version_and_per_group() {
        let moto = Moto::start();
        let table = Table::new(&moto.sdk_config().await, "log");
        table.prepare(true).await.unwrap();
        let churn = GroupName::parse("churn").unwrap();
        let other = GroupName::parse("churn-v2").unwrap();
        for (group, version, seq, id) in [
            (&churn, 2, 1, "c2-1"),
            (&churn, 1, 1, "c1-1"),
            (&churn, 10, 1, "c10-1"),
            (&churn, 1, 2, "c1-2"),
            (&other, 1, 1, "o1-1"),
        ] {
            let written = table.append(&entry(group, version, seq, id, None)).await;
            assert_eq!(written.unwrap(), Appended::Written);
        }
        let ids = |entries: Vec<countersign_aws::table::StoredEntry>| {
            entries
                .into_iter()
                .map(|e| e.decision_id)
                .collect::<Vec<_>>()
        };
        let one = VersionNumber::new(1).unwrap();
        assert_eq!(
            ids(table.version_log(&churn, one).await.unwrap()),
            ["c1-1", "c1-2"]
        );
        assert_eq!(
            ids(table.group_log(&churn).await.unwrap()),
            ["c1-1", "c1-2", "c2-1", "c10-1"],
            "version 10 after version 2; another group's entries apart"
        );
        let read = table.version_log(&churn, one).await.unwrap();
        assert_eq!((read[1].version, read[1].seq), (one, 2));
        assert_eq!(read[1].entry, "{\"the\":\"signed entry\"}");
        let calls = table.calls();
        assert_eq!(
            calls.get("dynamodb:Query"),
            Some(&3),
            "one Query per read: {calls:?}"
        );
        assert_eq!(calls.get("dynamodb:Scan"), None);
    }

    #[tokio::test]
    async fn a_place_in_the_log_and_an_environment_are_each_taken_once() {
        let moto = Moto::start();
        let table = Table::new(&moto.sdk_config().await, "log");
        table.prepare(true).await.unwrap();
        let group = GroupName::parse("guarded").unwrap();
        let one = VersionNumber::new(1).unwrap();

        assert_eq!(
            appended(&table, &entry(&group, 1, 1, "alice-1", to_dev(None))).await,
            Appended::Written
        );
        assert_eq!(guard_of(&table, &group).await.as_deref(), Some("alice-1"));
        assert_eq!(
            appended(&table, &entry(&group, 1, 1, "bob-1", to_dev(None))).await,
            Appended::Taken {
                decision_id: "alice-1".into()
            },
            "the same place in version 1's log"
        );
        assert_eq!(
            appended(&table, &entry(&group, 1, 1, "alice-1", to_dev(None))).await,
            Appended::Taken {
                decision_id: "alice-1".into()
            },
            "a retry finds its own entry"
        );

        // Version 2, computed when nothing was live in dev: refused whole.
        assert_eq!(
            appended(&table, &entry(&group, 2, 1, "late-2", to_dev(None))).await,
            Appended::EnvironmentMoved
        );
        let two = VersionNumber::new(2).unwrap();
        assert!(
            table.version_log(&group, two).await.unwrap().is_empty(),
            "nothing written"
        );
        assert_eq!(guard_of(&table, &group).await.as_deref(), Some("alice-1"));

        // Computed against version 1's deployment: written, and the guard moves on.
        assert_eq!(
            appended(
                &table,
                &entry(&group, 2, 1, "carol-2", to_dev(Some("alice-1")))
            )
            .await,
            Appended::Written
        );
        assert_eq!(guard_of(&table, &group).await.as_deref(), Some("carol-2"));
        // A rollback computed against version 1's deployment is now stale.
        assert_eq!(
            appended(
                &table,
                &entry(&group, 1, 2, "rollback-1", to_dev(Some("alice-1")))
            )
            .await,
            Appended::EnvironmentMoved
        );
        assert_eq!(table.version_log(&group, one).await.unwrap().len(), 1);
        // An environment no portal decision has guarded yet (live from before the table):
        // the first decision computed against what is live there takes the guard, and a
        // second one computed against the same live value is refused.
        let to_test = |replaces| {
            Some(Deploys {
                environment: "test",
                replaces,
            })
        };
        assert_eq!(
            appended(
                &table,
                &entry(&group, 3, 1, "first-in-test", to_test(Some("from-ssm")))
            )
            .await,
            Appended::Written
        );
        assert_eq!(
            appended(
                &table,
                &entry(&group, 4, 1, "second-in-test", to_test(Some("from-ssm")))
            )
            .await,
            Appended::EnvironmentMoved
        );
        // Decisions that deploy nothing take no guard.
        assert_eq!(
            appended(&table, &entry(&group, 1, 2, "reject-test", None)).await,
            Appended::Written
        );
    }

    // No racing test here: moto 5.2.5 checks the conditions of simultaneous transactions
    // before either writes (ten racers, two written, seen 2026-11-29), so only the
    // sequential cases above are a proof on moto; DynamoDB itself serialises transactions.
}

/// The audit trail against someone allowed to write the portal's table (`PutItem`,
/// `DeleteItem`): the verifier names what they changed. Checkpoints they can also reach in
/// the table; the newest, published as a version of an SSM parameter, they cannot.
#[tokio::test]
async fn the_audit_trail_catches_what_a_writer_of_the_table_does() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let moto = Moto::start();
    let (_backend, services) = with_backend(&moto).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let item = |group: &GroupName, sk: String| {
        std::collections::HashMap::from([
            ("pk".to_owned(), AttributeValue::S(format!("group#{group}"))),
            ("sk".to_owned(), AttributeValue::S(sk)),
        ])
    };
    let verify = |bundle: countersign_audit::Bundle| {
        countersign_audit::verify(&bundle, Some(services.audit.notary.public_key()))
    };
    let decided = |name: &'static str| {
        let services = &services;
        async move {
            let version = registered_and_approved_for_dev(services, name).await;
            let bundle = countersign_port_contract::export(services, &version.group).await;
            (version.group, bundle)
        }
    };

    // Untouched, it verifies.
    let (group, bundle) = decided("intact").await;
    assert_eq!(verify(bundle).unwrap().decisions_checked, 1);
    let entries = services.ports.trail.entries(&group, 0).await.unwrap();
    assert_eq!(entries.len(), 4, "policy, registration, request, decision");

    // A reason edited in place: caught at its entry.
    let (group, _) = decided("edited").await;
    let entries = services.ports.trail.entries(&group, 0).await.unwrap();
    let mut edited = item(&group, "audit#entry#000000000003".into());
    edited.insert(
        "entry".into(),
        AttributeValue::S(entries[3].replacen("metrics hold up", "metrics held up", 1)),
    );
    edited.insert("key".into(), AttributeValue::S("x".into()));
    assert_ne!(entries[3], edited["entry"].as_s().unwrap().as_str());
    dynamodb
        .put_item()
        .table_name("countersign")
        .set_item(Some(edited))
        .send()
        .await
        .unwrap();
    let bundle = countersign_port_contract::export(&services, &group).await;
    assert_eq!(verify(bundle).unwrap_err().entry, Some(3));

    // The tail cut off, with the table's checkpoints of it: the one in SSM shows it.
    let (group, _) = decided("truncated").await;
    for sk in [
        "audit#entry#000000000003".to_owned(),
        "audit#checkpoint#000000000004".to_owned(),
    ] {
        dynamodb
            .delete_item()
            .table_name("countersign")
            .set_key(Some(item(&group, sk)))
            .send()
            .await
            .unwrap();
    }
    let bundle = countersign_port_contract::export(&services, &group).await;
    let violation = verify(bundle).unwrap_err();
    assert_eq!(violation.entry, Some(3));
    assert!(
        violation.message.contains("tail was cut off"),
        "{violation}"
    );

    // A checkpoint another key signed, put where the portal publishes them.
    let (group, bundle) = decided("forged").await;
    let other = countersign_audit::Notary::from_key(&countersign_audit::Notary::generate_key(
        "contract.example",
    ))
    .unwrap();
    let size = bundle.entries.len() as u64;
    let mut tree = countersign_audit::tree::Frontier::default();
    for entry in &bundle.entries {
        tree.push(countersign_audit::entry::entry_hash(entry));
    }
    let note = other.sign(
        group.as_str(),
        size,
        tree.root(),
        time::OffsetDateTime::now_utc(),
    );
    put_string(&moto, &format!("/countersign/_audit/{group}"), &note).await;
    let bundle = countersign_port_contract::export(&services, &group).await;
    let violation = verify(bundle).unwrap_err();
    assert!(
        violation.message.contains("not signed by the audit key"),
        "{violation}"
    );
}

/// With `COUNTERSIGN_AUDIT_BUCKET`, checkpoints go to S3 under Object Lock in compliance mode,
/// where a writer of the table cannot reach them: the newest shows a tail cut off the table.
/// A bucket without Object Lock stops start-up.
#[tokio::test]
async fn checkpoints_are_locked_in_s3_where_a_cut_tail_shows() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket("audit-locked")
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    s3.create_bucket()
        .bucket("audit-plain")
        .send()
        .await
        .unwrap();
    let with_bucket = |name: &str| countersign_aws::AwsSettings {
        audit_bucket: Some(countersign_aws::AuditBucket {
            name: name.into(),
            retention: time::Duration::days(1),
        }),
        ..settings()
    };
    let plain = AwsBackend::new(&config, with_bucket("audit-plain"));
    let refused = plain.prepare().await;
    assert!(
        matches!(&refused, Err(PortError::Rejected(m)) if m.contains("has no Object Lock")),
        "{refused:?}"
    );

    let backend = Arc::new(AwsBackend::new(&config, with_bucket("audit-locked")));
    backend.prepare().await.unwrap();
    let services = services_over(backend.clone(), backend.clone(), policy());
    let version = registered_and_approved_for_dev(&services, "locked").await;
    let group = version.group.clone();
    let listed = s3
        .list_objects_v2()
        .bucket("audit-locked")
        .prefix("audit/locked/")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        keys,
        [
            "audit/locked/000000000002",
            "audit/locked/000000000003",
            "audit/locked/000000000004"
        ]
    );
    let head = s3
        .head_object()
        .bucket("audit-locked")
        .key("audit/locked/000000000004")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.object_lock_mode(),
        Some(&aws_sdk_s3::types::ObjectLockMode::Compliance)
    );
    let removed = s3
        .delete_object()
        .bucket("audit-locked")
        .key("audit/locked/000000000004")
        .set_version_id(head.version_id().map(str::to_owned))
        .send()
        .await;
    assert!(
        removed.is_err(),
        "a locked checkpoint cannot be deleted: {removed:?}"
    );
    let bundle = countersign_port_contract::export(&services, &group).await;
    countersign_audit::verify(&bundle, Some(services.audit.notary.public_key())).unwrap();

    // The decision's entry and the table's checkpoint of it removed.
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    for sk in ["audit#entry#000000000003", "audit#checkpoint#000000000004"] {
        dynamodb
            .delete_item()
            .table_name("countersign")
            .key("pk", AttributeValue::S(format!("group#{group}")))
            .key("sk", AttributeValue::S(sk.into()))
            .send()
            .await
            .unwrap();
    }
    let bundle = countersign_port_contract::export(&services, &group).await;
    let violation =
        countersign_audit::verify(&bundle, Some(services.audit.notary.public_key())).unwrap_err();
    assert_eq!(violation.entry, Some(3), "{violation}");
    assert!(
        violation.message.contains("tail was cut off"),
        "{violation}"
    );
}

#[tokio::test]
async fn a_registration_filed_under_someone_else_by_a_writer_of_the_table_is_not_theirs() {
    let moto = Moto::start();
    let (_, services) = with_backend(&moto).await;
    let danas = services
        .register(registration("churn", person("dana")))
        .await
        .unwrap();
    let erins = services
        .register(registration("fraud", person("erin")))
        .await
        .unwrap();
    // A row claiming erin's version was registered by dana, newer than anything.
    put_item(
        &moto,
        &[
            ("pk", "registrant#dana@example.com"),
            ("sk", "9999999999999#fraud#0000000001"),
            ("group", "fraud"),
        ],
        &[("version", u64::from(erins.version.get()))],
    )
    .await;
    let found: Vec<(String, u32)> = services
        .registered_by(&person("dana"), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.version.group.to_string(), r.version.version.get()))
        .collect();
    assert_eq!(
        found,
        [("churn".to_owned(), danas.version.get())],
        "the registry says whose a version is, not the index"
    );
}
