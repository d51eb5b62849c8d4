use super::*;
use crate::testing::{decided_first, registered};
use crate::Environments;
use time::Duration;

fn env(name: &str) -> Environment {
    Environment::parse(name).unwrap()
}

fn t(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + Duration::seconds(seconds)
}

fn report_with(
    environment: &str,
    metrics: Metrics,
    started: i64,
    finished: i64,
    artifacts: Option<&str>,
) -> Result<InferenceReport, InvalidInput> {
    ReportDraft {
        group: GroupName::parse("churn").unwrap(),
        version: VersionNumber::new(7).unwrap(),
        environment: env(environment),
        run_id: RunId::parse("run-1").unwrap(),
        metrics,
        started_at: t(started),
        finished_at: t(finished),
        sample_count: 1000,
        artifacts_url: artifacts,
        reported_by: "pipeline",
        reported_at: t(finished + 1),
    }
    .validate()
}

fn auc(value: f64) -> Metrics {
    Metrics::from([("auc".to_owned(), value)])
}

#[test]
fn run_ids_are_short_and_plain() {
    for good in ["r", "run-2026-11-26.1", "A_b", &"x".repeat(128)] {
        assert!(RunId::parse(good).is_ok(), "{good:?} refused");
    }
    for bad in ["", "a b", "a/b", "ü", &"x".repeat(129)] {
        assert_eq!(RunId::parse(bad), Err(InvalidInput::RunId(bad.to_owned())));
    }
}

#[test]
fn reports_are_validated() {
    assert!(report_with("dev", auc(0.9), 0, 10, Some("s3://bucket/run-1")).is_ok());
    assert!(
        report_with("dev", auc(0.9), 10, 10, None).is_ok(),
        "an instant run"
    );
    assert_eq!(
        report_with("dev", Metrics::new(), 0, 10, None),
        Err(InvalidInput::Missing("metrics"))
    );
    assert_eq!(
        report_with("dev", auc(f64::INFINITY), 0, 10, None),
        Err(InvalidInput::NonFiniteMetric("auc".into()))
    );
    assert_eq!(
        report_with("dev", Metrics::from([("a b".into(), 1.0)]), 0, 10, None),
        Err(InvalidInput::MetricName("a b".into()))
    );
    let many = (0..=MAX_REPORT_METRICS)
        .map(|i| (format!("m{i}"), 1.0))
        .collect();
    assert_eq!(
        report_with("dev", many, 0, 10, None),
        Err(InvalidInput::TooMany {
            field: "metrics",
            max: MAX_REPORT_METRICS
        })
    );
    assert_eq!(
        report_with("dev", auc(0.9), 10, 9, None),
        Err(InvalidInput::FinishedBeforeStart)
    );
    for bad in ["ftp://x/y", "s3://", "bucket/key", "https://a b"] {
        assert_eq!(
            report_with("dev", auc(0.9), 0, 10, Some(bad)),
            Err(InvalidInput::ArtifactsUrl(bad.into())),
            "{bad}"
        );
    }
    let long = format!("s3://{}", "k".repeat(MAX_ARTIFACTS_URL_CHARS));
    assert!(matches!(
        report_with("dev", auc(0.9), 0, 10, Some(&long)),
        Err(InvalidInput::TooLong {
            field: "artifacts_url",
            ..
        })
    ));
    let blank = report_with("dev", auc(0.9), 0, 10, Some("  ")).unwrap();
    assert_eq!(blank.artifacts_url, None, "a blank link is no link");
}

#[test]
fn a_retry_is_the_same_run_and_other_figures_are_not() {
    let first = report_with("dev", auc(0.9), 0, 10, None).unwrap();
    let mut retry = first.clone();
    retry.reported_at = t(99);
    assert!(
        first.same_run_as(&retry),
        "the arrival time does not matter"
    );
    let other = report_with("dev", auc(0.8), 0, 10, None).unwrap();
    assert!(!first.same_run_as(&other));
}

/// A version with `dev` approved (and so `test` pending), as the workflow leaves it.
fn approved_in_dev(policy: &Policy) -> ModelVersion {
    decided_first(policy, &registered(policy), Choice::Approve)
}

#[test]
fn only_an_approved_environment_reports_and_it_asks_for_the_next() {
    let policy = Policy::new(Environments::default(), "approvers");
    let version = approved_in_dev(&policy);
    let from_dev = report_with("dev", auc(0.9), 0, 10, None).unwrap();
    assert_eq!(check_report(&version, &from_dev), Ok(()));
    assert_eq!(
        promotion_target(&policy, &version, &from_dev),
        Some(&env("test"))
    );
    let from_test = report_with("test", auc(0.9), 0, 10, None).unwrap();
    assert_eq!(
        check_report(&version, &from_test),
        Err(ReportRefusal::NotApprovedThere {
            group: version.group.clone(),
            version: version.version,
            environment: env("test"),
            state: StepState::PendingManualApproval,
        })
    );
}

#[test]
fn no_promotion_is_asked_past_the_last_environment_or_for_a_decided_step() {
    let policy = Policy::new(Environments::default(), "approvers");
    let mut version = approved_in_dev(&policy);
    for name in ["test", "uat", "prod"] {
        version.steps.set(&env(name), StepState::Approved);
    }
    let from_prod = report_with("prod", auc(0.9), 0, 10, None).unwrap();
    assert_eq!(check_report(&version, &from_prod), Ok(()));
    assert_eq!(promotion_target(&policy, &version, &from_prod), None);
    let from_uat = report_with("uat", auc(0.9), 0, 10, None).unwrap();
    assert_eq!(
        promotion_target(&policy, &version, &from_uat),
        None,
        "prod is decided"
    );
    version.steps.set(&env("prod"), StepState::Rejected);
    assert_eq!(
        promotion_target(&policy, &version, &from_uat),
        None,
        "prod is decided"
    );
}

#[test]
fn the_comparison_prefers_the_target_environment_and_the_newest_run() {
    let old_test = report_with("test", auc(0.1), 0, 10, None).unwrap();
    let new_test = report_with("test", auc(0.2), 0, 20, None).unwrap();
    let dev = report_with("dev", auc(0.3), 0, 30, None).unwrap();
    let all = [old_test, new_test.clone(), dev.clone()];
    assert_eq!(
        newest_report(&all, &env("test"), &env("dev")),
        Some(&new_test)
    );
    assert_eq!(newest_report(&all, &env("uat"), &env("dev")), Some(&dev));
    assert_eq!(newest_report(&all, &env("uat"), &env("prod")), None);
}
