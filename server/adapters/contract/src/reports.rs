//! The report store's promises: each run kept once, read back per version.

use super::*;

/// Enough for every message a contract check queues.
pub(super) const FIRST_50: PageRequest = PageRequest {
    offset: 0,
    limit: 50,
};

pub(super) fn report(
    services: &Subject,
    version: &ModelVersion,
    env: &Environment,
    run: &str,
    auc: f64,
) -> InferenceReport {
    let started = services.now();
    ReportDraft {
        group: version.group.clone(),
        version: version.version,
        environment: env.clone(),
        run_id: RunId::parse(run).unwrap(),
        metrics: Metrics::from([("auc".to_string(), auc), ("latency_ms".to_string(), 12.5)]),
        started_at: started,
        finished_at: started + time::Duration::minutes(3),
        sample_count: 25_000,
        artifacts_url: Some("s3://runs/churn/output"),
        reported_by: "batch-pipeline",
        reported_at: services.now(),
    }
    .validate()
    .expect("valid report")
}

pub async fn reports_are_kept_once_per_run(services: &Subject) {
    let group = unique_group("reports");
    let version = register(services, &group).await;
    let env = first_env(services);
    let next = services
        .policy()
        .environments()
        .after(&env)
        .first()
        .cloned();
    let early = services
        .submit_report(report(services, &version, &env, "run-0", 0.9))
        .await;
    assert!(
        matches!(
            early,
            Err(ServiceError::ReportRefused(
                ReportRefusal::NotApprovedThere { .. }
            ))
        ),
        "a version not yet approved cannot have run: {early:?}"
    );
    let effect = effect_for(services, &version, &[], "alice").await;
    commit(services, &effect).await.unwrap();

    let first = report(services, &version, &env, "run-1", 0.9);
    let receipt = services.submit_report(first.clone()).await.unwrap();
    assert!(receipt.created);
    assert_eq!(receipt.report, first);
    assert_eq!(receipt.promotion_requested, next);

    let mut retry = first.clone();
    retry.reported_at += time::Duration::seconds(5);
    let again = services.submit_report(retry).await.unwrap();
    assert!(!again.created, "a retry stores nothing new");
    assert_eq!(
        again.report, first,
        "the retry answers with the stored report"
    );

    let reused = services
        .submit_report(report(services, &version, &env, "run-1", 0.5))
        .await;
    assert!(
        matches!(
            reused,
            Err(ServiceError::ReportRefused(
                ReportRefusal::RunIdTaken { .. }
            ))
        ),
        "other figures under a reported run id: {reused:?}"
    );

    let second = report(services, &version, &env, "run-2", 0.92);
    services.submit_report(second.clone()).await.unwrap();
    let other_group = unique_group("reports-other");
    register(services, &other_group).await;
    let stored = services
        .reports_for_version(&group, version.version)
        .await
        .unwrap();
    assert_eq!(
        stored,
        [first, second],
        "in the order they arrived, nothing else"
    );
    assert_eq!(
        services
            .reports_for_version(&other_group, version.version)
            .await
            .unwrap(),
        []
    );

    let unknown = report(services, &version, &env, "run-3", 0.9);
    let unknown = InferenceReport {
        version: VersionNumber::new(99).unwrap(),
        ..unknown
    };
    assert!(matches!(
        services.submit_report(unknown).await,
        Err(ServiceError::NotFound(_))
    ));
}
