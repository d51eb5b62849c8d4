use super::*;

#[test]
fn registrant_addresses_are_checked_at_registration() {
    for good in ["dana@example.com", "Dana.Scientist+ml@corp.example.co.uk"] {
        assert!(is_email_address(good), "{good}");
    }
    for bad in [
        "not an address",
        "dana@",
        "@example.com",
        "dana@example",
        "a@b@example.com",
        "dana@example.com, eve@evil.example",
        "Dana <dana@example.com>",
        "dana@exa mple.com",
    ] {
        assert!(!is_email_address(bad), "{bad}");
    }
    let registrant = |email: &str| Person {
        subject: "dana".into(),
        name: "Dana".into(),
        email: email.into(),
    };
    let register = |email: &str| {
        Registration::new(
            GroupName::parse("churn").unwrap(),
            "img",
            "",
            "",
            Metrics::new(),
            registrant(email),
        )
    };
    assert!(register("").is_ok(), "an address is optional");
    assert!(register(" dana@example.com ").is_ok());
    assert_eq!(
        register("not an address").unwrap_err(),
        InvalidInput::Email {
            field: "registered_by.email",
            value: "not an address".into()
        }
    );
}

#[test]
fn custom_metadata_follows_sagemaker_rules_and_leaves_countersigns_keys_alone() {
    let environments = Environments::parse_list("dev,test,uat,prod").unwrap();
    let registration = Registration::new(
        GroupName::parse("churn").unwrap(),
        "img",
        "",
        "",
        Metrics::new(),
        Person {
            subject: "dana".into(),
            name: "Dana".into(),
            email: String::new(),
        },
    )
    .unwrap();
    let with = |entries: &[(&str, &str)]| {
        registration.clone().with_metadata(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            &environments,
        )
    };
    let kept = with(&[
        ("training-data", "s3://ml-data/churn/2026-q3/"),
        ("commit", "4f2c9e1"),
        ("ticket", ""),
    ])
    .unwrap();
    assert_eq!(kept.metadata["commit"], "4f2c9e1");
    assert_eq!(kept.metadata.len(), 3);
    for reserved in [
        "prod",
        "owner",
        "owner-subject",
        "countersign:decisions-applied",
        "metric:auc",
    ] {
        assert_eq!(
            with(&[(reserved, "x")]).unwrap_err(),
            InvalidInput::ReservedMetadataKey(reserved.into()),
            "{reserved}"
        );
    }
    for bad_key in ["", "a,b", "{json}", &"k".repeat(129)] {
        assert_eq!(
            with(&[(bad_key, "x")]).unwrap_err(),
            InvalidInput::MetadataKey(bad_key.into())
        );
    }
    for bad_value in ["\"quoted\"", "a,b", &"v".repeat(257)] {
        assert_eq!(
            with(&[("k", bad_value)]).unwrap_err(),
            InvalidInput::MetadataValue("k".into())
        );
    }
    let many: Vec<(String, String)> = (0..=MAX_CUSTOM_METADATA)
        .map(|n| (format!("k{n}"), "v".to_owned()))
        .collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert!(matches!(
        with(&many).unwrap_err(),
        InvalidInput::TooMany { .. }
    ));
    assert!(
        with(&many[1..]).is_ok(),
        "{MAX_CUSTOM_METADATA} are allowed"
    );
}

#[test]
fn group_names_follow_sagemaker_rules() {
    for good in ["churn", "churn-model-2", "A--b", &"a".repeat(63)] {
        assert!(GroupName::parse(good).is_ok(), "{good:?} refused");
    }
    for bad in [
        "",
        "-churn",
        "churn-",
        "churn_model",
        "churn model",
        "ü",
        &"a".repeat(64),
    ] {
        assert!(GroupName::parse(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn registrations_are_validated() {
    let group = GroupName::parse("churn").unwrap();
    let dana = Person {
        subject: "dana".into(),
        name: "Dana".into(),
        email: "dana@example.com".into(),
    };
    let register = |image: &str, metrics: Metrics, by: &Person| {
        Registration::new(
            group.clone(),
            image,
            "s3://b/m.tar.gz",
            "",
            metrics,
            by.clone(),
        )
    };
    assert!(register("img:1", Metrics::new(), &dana).is_ok());
    assert_eq!(
        register("  ", Metrics::new(), &dana),
        Err(InvalidInput::Missing("image_uri"))
    );
    assert!(matches!(
        register(&"i".repeat(256), Metrics::new(), &dana),
        Err(InvalidInput::TooLong {
            field: "image_uri",
            ..
        })
    ));
    let nan = Metrics::from([("auc".to_string(), f64::NAN)]);
    assert_eq!(
        register("img", nan, &dana),
        Err(InvalidInput::NonFiniteMetric("auc".into()))
    );
    let odd_name = Metrics::from([("a b".to_string(), 1.0)]);
    assert!(matches!(
        register("img", odd_name, &dana),
        Err(InvalidInput::MetricName(_))
    ));
    let nobody = Person {
        subject: " ".into(),
        ..dana.clone()
    };
    assert!(register("img", Metrics::new(), &nobody).is_err());
}

#[test]
fn versions_start_at_one() {
    assert!(VersionNumber::parse("0").is_err());
    assert!(VersionNumber::parse("-1").is_err());
    assert!(VersionNumber::parse("x").is_err());
    assert_eq!(VersionNumber::parse("12").unwrap().get(), 12);
}

#[test]
fn state_names_round_trip_and_match_sagemaker() {
    for state in StepState::ALL {
        assert_eq!(StepState::parse(state.as_str()), Some(state));
    }
    assert_eq!(
        StepState::PendingManualApproval.as_str(),
        "PendingManualApproval"
    );
    assert_eq!(StepState::parse("approved"), None);
    assert_eq!(
        ApprovalStatus::parse("Rejected"),
        Some(ApprovalStatus::Rejected)
    );
}

#[test]
fn a_missing_step_is_not_requested_and_awaiting_finds_the_next_decision() {
    let envs = Environments::default();
    let env = |n: &str| envs.find(n).unwrap().clone();
    let mut steps = Steps::default();
    assert_eq!(steps.state(&env("prod")), StepState::NotRequested);
    assert_eq!(steps.awaiting(&envs), None);
    steps.set(&env("dev"), StepState::PendingManualApproval);
    assert_eq!(steps.awaiting(&envs).map(Environment::as_str), Some("dev"));
    steps.set(&env("dev"), StepState::Approved);
    steps.set(&env("test"), StepState::PendingManualApproval);
    assert_eq!(steps.awaiting(&envs).map(Environment::as_str), Some("test"));
    steps.set(&env("test"), StepState::Rejected);
    assert_eq!(steps.awaiting(&envs), None);
}
