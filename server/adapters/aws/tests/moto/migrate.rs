//! Moving an older portal's SSM layout into the table.

use super::*;

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
    // Registered in SageMaker only: the portal before the table kept no trail either, nor
    // sealed registrants (which would make the log key before the old entries).
    let new = workflow::register(
        &policy(),
        Registration {
            registrant_verified: false,
            ..registration("legacy", person("dana"))
        },
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
