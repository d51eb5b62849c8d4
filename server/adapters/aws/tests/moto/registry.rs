//! What SageMaker and SSM hold after the portal's work, and versions made elsewhere.

use super::*;

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

    // Owner metadata anyone could have written: one approver more.
    for who in ["alice", "bob"] {
        services
            .decide(&approver(who), &group, one, &approve("dev"))
            .await
            .unwrap();
    }
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

    // Named only by owner metadata, which anyone allowed to write it could make up: dana is
    // kept from approving, and one approver more is needed.
    let alice = services
        .decide(&approver("alice"), &owned, one, &approve("dev"))
        .await
        .unwrap();
    assert_eq!(
        alice.steps.state(&env("dev")),
        StepState::PendingManualApproval
    );

    // Nobody named at all: one approver more than configured in every environment.
    create_elsewhere(&moto, "anonymous", &[]).await;
    let anonymous = GroupName::parse("anonymous").unwrap();
    for environment in ["dev", "test", "uat"] {
        let first = services
            .decide(&approver("alice"), &anonymous, one, &approve(environment))
            .await
            .unwrap();
        assert_eq!(
            first.steps.state(&env(environment)),
            StepState::PendingManualApproval
        );
        services
            .decide(&approver("bob"), &anonymous, one, &approve(environment))
            .await
            .unwrap();
    }
    for (who, state) in [
        ("alice", StepState::PendingManualApproval),
        ("bob", StepState::Approved),
    ] {
        let decided = services
            .decide(&approver(who), &anonymous, one, &approve("prod"))
            .await
            .unwrap();
        assert_eq!(decided.steps.state(&env("prod")), state, "after {who}");
    }
}

#[tokio::test]
async fn only_the_portals_seal_establishes_an_owner_and_only_on_its_own_version() {
    let moto = Moto::start();
    let (backend, services) = with_backend(&moto).await;
    let group = GroupName::parse("sealed").unwrap();
    let bound = services
        .register(registration("sealed", person("dana")))
        .await
        .unwrap();
    assert!(bound.attributed_to.is_verified());
    let sagemaker = aws_sdk_sagemaker::Client::new(&moto.sdk_config().await);
    let metadata = sagemaker
        .describe_model_package()
        .model_package_name(&bound.arn)
        .send()
        .await
        .unwrap()
        .customer_metadata_properties
        .unwrap();
    let owner_keys: Vec<(&str, &str)> =
        ["owner", "owner-subject", "countersign:registrant-verified"]
            .into_iter()
            .map(|key| (key, metadata[key].as_str()))
            .collect();

    // The seal and owner keys copied onto a version someone created in SageMaker.
    create_elsewhere(&moto, "sealed", &owner_keys).await;
    let copied = backend
        .find_version(&group, VersionNumber::new(2).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(copied.attributed_to.includes(&person("dana")));
    assert!(
        !copied.attributed_to.is_verified(),
        "a seal is its own version's only"
    );

    // The owner rewritten under the seal.
    let mut rewritten = metadata.clone();
    rewritten.insert("owner".into(), "ghost@example.com".into());
    rewritten.insert("owner-subject".into(), "ghost".into());
    sagemaker
        .update_model_package()
        .model_package_arn(&bound.arn)
        .model_approval_status(ModelApprovalStatus::PendingManualApproval)
        .set_customer_metadata_properties(Some(rewritten))
        .send()
        .await
        .unwrap();
    let found = backend
        .find_version(&group, bound.version)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !found.attributed_to.is_verified(),
        "the seal no longer covers the owner"
    );
    let dana_alone = services
        .decide(&approver("alice"), &group, bound.version, &approve("dev"))
        .await
        .unwrap();
    assert_eq!(
        dana_alone.steps.state(&env("dev")),
        StepState::PendingManualApproval,
        "one approver more"
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
