//! Changes made outside the portal: shown as drift, deciding nothing, breaking signatures.

use super::*;

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

// Proves: AT-03.
#[tokio::test]
async fn a_live_value_the_log_does_not_explain_is_reported_as_drift_and_kept_in_the_trail() {
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
    let original = document.clone();
    assert_eq!(
        services
            .resolve(&version.group, &env("dev"))
            .await
            .unwrap()
            .version,
        version.version
    );
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
    let resolved = services.resolve(&version.group, &env("dev")).await;
    assert!(
        matches!(&resolved, Err(ServiceError::Drift(drift)) if drift.explain().contains("attacker.example")),
        "pipelines are never served the swapped image: {resolved:?}"
    );

    // The trail keeps what was seen once, however often pages and pipelines met it.
    let seen = drift_in_the_trail(&services, &version.group).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, "dev");
    assert!(
        seen[0].1.contains("attacker.example/backdoor:1"),
        "{seen:?}"
    );
    assert_eq!(
        seen[0].2,
        (Some(version.version.get()), Some(version.version.get()))
    );

    ssm.delete_parameter().name(name).send().await.unwrap();
    let state = services.live_state(&version.group).await.unwrap();
    assert!(
        state.drift[0].explain().contains("nothing is live there"),
        "{:?}",
        state.drift
    );
    let seen = drift_in_the_trail(&services, &version.group).await;
    assert_eq!(seen.len(), 2, "a new state seen is kept too: {seen:?}");
    assert!(seen[1].1.contains("nothing is live there"), "{seen:?}");
    assert_eq!(seen[1].2, (None, Some(version.version.get())));
    let resolved = services.resolve(&version.group, &env("dev")).await.unwrap();
    assert_eq!(
        resolved.image_uri,
        original["image_uri"].as_str().unwrap(),
        "a deleted parameter leaves what was signed served, as a decision on its way live does"
    );

    // Restored as the portal wrote it, it is served again.
    put_string(&moto, name, &serde_json::to_string(&original).unwrap()).await;
    let resolved = services.resolve(&version.group, &env("dev")).await.unwrap();
    assert_eq!(resolved.version, version.version);
}

// Proves: SIG-02.
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
    // Read twice, kept once in the group's trail: the digest signed and the digest now.
    services
        .version_record(&version.group, version.version)
        .await
        .unwrap();
    let unbound = kept_by_the_portal(&services, &version.group, |event| match event {
        countersign_audit::EventJson::SignatureNoLongerBinds {
            version,
            environment,
            signed_digest,
            digest_now,
            ..
        } => Some((version, environment, signed_digest, digest_now)),
        _ => None,
    })
    .await;
    let signed = record.decisions[0].signature.as_ref().unwrap();
    assert_eq!(unbound.len(), 1, "{unbound:?}");
    assert_eq!(unbound[0].0, version.version.get());
    assert_eq!(unbound[0].1, "dev");
    assert_eq!(unbound[0].2, signed.record_digest);
    assert_ne!(unbound[0].3, signed.record_digest);
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

/// The drift a group's trail keeps, oldest first: environment, explanation, and the live and
/// logged versions.
async fn drift_in_the_trail(
    services: &countersign_port_contract::Subject,
    group: &GroupName,
) -> Vec<(String, String, (Option<u32>, Option<u32>))> {
    kept_by_the_portal(services, group, |event| match event {
        countersign_audit::EventJson::DriftSeen {
            environment,
            explanation,
            live_version,
            logged_version,
        } => Some((environment, explanation, (live_version, logged_version))),
        _ => None,
    })
    .await
}

/// What `pick` takes from the entries of `group`'s trail, oldest first: each one the portal
/// itself appended (its actor), in a trail that verifies.
async fn kept_by_the_portal<T>(
    services: &countersign_port_contract::Subject,
    group: &GroupName,
    pick: impl Fn(countersign_audit::EventJson) -> Option<T>,
) -> Vec<T> {
    let (entries, _) = countersign_port_contract::verified_trail(services, group).await;
    entries
        .into_iter()
        .filter_map(|entry| {
            let actor = entry.actor;
            let picked = pick(entry.event)?;
            assert_eq!(actor, "countersign");
            Some(picked)
        })
        .collect()
}
