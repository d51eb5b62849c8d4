use super::*;
use time::Duration;

fn at(minutes: i64) -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + Duration::minutes(minutes)
}

fn deployment(version: u32, minutes: i64) -> Deployment {
    Deployment {
        group: GroupName::parse("churn").unwrap(),
        version: VersionNumber::new(version).unwrap(),
        arn: format!("arn/{version}"),
        environment: Environment::parse("prod").unwrap(),
        image_uri: String::new(),
        model_data_url: String::new(),
        approved_by: Person {
            subject: "p".into(),
            name: "P".into(),
            email: "p@example.com".into(),
        },
        approved_at: at(minutes),
        decision_id: format!("d{minutes}"),
    }
}

#[test]
fn each_deployment_is_live_until_the_next_one() {
    // Newest first: 1 deployed at 0, 2 at 10, rolled back to 1 at 20.
    let environments = Environments::default();
    let periods = live_periods(
        &environments,
        &[deployment(1, 20), deployment(2, 10), deployment(1, 0)],
    );
    let summary: Vec<(u32, OffsetDateTime, Option<OffsetDateTime>)> = periods
        .iter()
        .map(|p| (p.version.get(), p.from, p.until))
        .collect();
    assert_eq!(
        summary,
        [
            (1, at(20), None),
            (2, at(10), Some(at(20))),
            (1, at(0), Some(at(10)))
        ]
    );
    assert!(live_periods(&environments, &[]).is_empty());
}

fn prod() -> Environment {
    Environment::parse("prod").unwrap()
}

fn live(deployment: Option<Deployment>) -> BTreeMap<Environment, Deployment> {
    deployment.map(|d| (prod(), d)).into_iter().collect()
}

#[test]
fn the_live_value_the_log_last_deployed_is_no_drift() {
    let environments = Environments::default();
    let log = [deployment(2, 10), deployment(1, 0)];
    assert!(drift(&environments, &live(Some(deployment(2, 10))), &log).is_empty());
    assert!(drift(&environments, &live(None), &[]).is_empty());
}

#[test]
fn a_live_value_the_log_does_not_explain_is_drift_and_says_how() {
    let environments = Environments::default();
    let log = [deployment(2, 10), deployment(1, 0)];
    let explain = |live_now: Option<Deployment>, log: &[Deployment]| {
        let found = drift(&environments, &live(live_now), log);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].environment(), &prod());
        found[0].explain()
    };

    let written_outside = Deployment {
        decision_id: "made-up".into(),
        ..deployment(3, 30)
    };
    assert_eq!(
            explain(Some(written_outside), &[]),
            "prod: version 3 (decision made-up) is live, but no decision in the log deployed anything to prod."
        );
    assert_eq!(
            explain(None, &log),
            "prod: the log deployed version 2 (decision d10), but nothing is live there: the live value was deleted outside the portal."
        );
    assert_eq!(
            explain(Some(deployment(1, 0)), &log),
            "prod: version 1 (decision d0) is live, but the newest deployment in the log is version 2 (decision d10)."
        );
    let image_swapped = Deployment {
        image_uri: "attacker.example/backdoor:1".into(),
        ..deployment(2, 10)
    };
    assert_eq!(
            explain(Some(image_swapped), &log),
            "prod: the live value claims decision d10 but differs from what it deployed (image \"attacker.example/backdoor:1\", logged \"\")."
        );
}

#[test]
fn drift_names_the_decision_whose_deployment_was_changed_outside_and_only_that_one() {
    let environments = Environments::default();
    let log = [deployment(2, 10), deployment(1, 0)];
    let found = |live_now: Option<Deployment>| drift(&environments, &live(live_now), &log);
    let replaced = found(Some(deployment(1, 0)));
    assert_eq!(replaced[0].logged_decision(), Some("d10"));
    let deleted = found(None);
    assert_eq!(deleted[0].logged_decision(), Some("d10"));
    let unlogged = drift(
        &environments,
        &live(Some(Deployment {
            decision_id: "made-up".into(),
            ..deployment(3, 30)
        })),
        &[],
    );
    assert_eq!(
        unlogged[0].logged_decision(),
        None,
        "no decision deployed what the outside wrote"
    );
}
