use super::*;
use time::macros::datetime;

#[test]
fn a_deployment_round_trips_through_its_document() {
    let deployment = Deployment {
        group: GroupName::parse("churn").unwrap(),
        version: VersionNumber::new(3).unwrap(),
        arn: "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/3".into(),
        environment: Environment::parse("dev").unwrap(),
        image_uri: "registry.example/churn:3".into(),
        model_data_url: "s3://models/churn/3.tar.gz".into(),
        approved_by: Person {
            subject: "alice".into(),
            name: "Alice".into(),
            email: "alice@example.com".into(),
        },
        approved_at: datetime!(2026-11-26 12:00:00.5 UTC),
        decision_id: "d-1".into(),
    };
    let document = DeploymentDocument::from(&deployment);
    let json = serde_json::to_value(&document).unwrap();
    assert_eq!(json["approved_at"], "2026-11-26T12:00:00.5Z");
    assert_eq!(json["approved_by"]["email"], "alice@example.com");
    let back: DeploymentDocument = serde_json::from_value(json).unwrap();
    assert_eq!(Deployment::try_from(back), Ok(deployment));
}

#[test]
fn a_report_round_trips_through_its_document() {
    let report = ReportDraft {
        group: GroupName::parse("churn").unwrap(),
        version: VersionNumber::new(3).unwrap(),
        environment: Environment::parse("dev").unwrap(),
        run_id: RunId::parse("run-7").unwrap(),
        metrics: Metrics::from([("auc".into(), 0.1 + 0.2), ("rows_per_s".into(), 1e-300)]),
        started_at: datetime!(2026-11-26 12:00:00 UTC),
        finished_at: datetime!(2026-11-26 12:30:00.25 UTC),
        sample_count: 42,
        artifacts_url: Some("s3://runs/7"),
        reported_by: "batch-pipeline",
        reported_at: datetime!(2026-11-26 12:31:00 UTC),
    }
    .validate()
    .unwrap();
    let text = report.to_document_json();
    assert_eq!(
        InferenceReport::from_document_json(&text),
        Ok(report),
        "{text}"
    );
    let mut invalid: serde_json::Value = serde_json::from_str(&text).unwrap();
    invalid["run_id"] = "a/b".into();
    let invalid: ReportDocument = serde_json::from_value(invalid).unwrap();
    assert!(InferenceReport::try_from(invalid).is_err());
}

#[test]
fn a_document_naming_an_invalid_environment_is_refused() {
    let mut json = serde_json::json!({
        "model_package_group": "churn", "model_package_version": 1,
        "model_package_arn": "a", "environment": "Prod!", "image_uri": "i",
        "model_data_url": "m", "approved_at": "2026-11-26T12:00:00Z", "decision_id": "d",
        "approved_by": {"subject": "s", "name": "n", "email": "e"}
    });
    let document: DeploymentDocument = serde_json::from_value(json.clone()).unwrap();
    assert!(Deployment::try_from(document).is_err());
    json["model_package_version"] = 0.into();
    let document: DeploymentDocument = serde_json::from_value(json).unwrap();
    assert!(Deployment::try_from(document).is_err());
}
