use super::*;

#[test]
fn default_path_is_dev_test_uat_prod() {
    let envs = Environments::default();
    let names: Vec<_> = envs.iter().map(Environment::as_str).collect();
    assert_eq!(names, ["dev", "test", "uat", "prod"]);
    assert_eq!(envs.first().as_str(), "dev");
}

#[test]
fn names_must_be_metadata_and_parameter_safe() {
    for bad in ["", "Dev", "1st", "pro d", "prod/x", "a{b}", &"x".repeat(33)] {
        assert!(Environment::parse(bad).is_err(), "{bad:?} accepted");
    }
    for good in ["dev", "pre-prod", "eu2", &"x".repeat(32)] {
        assert!(Environment::parse(good).is_ok(), "{good:?} refused");
    }
}

#[test]
fn list_must_be_non_empty_and_distinct() {
    assert_eq!(
        Environments::parse_list(" , "),
        Err(EnvironmentError::Empty)
    );
    assert_eq!(
        Environments::parse_list("dev,prod,dev"),
        Err(EnvironmentError::Duplicate("dev".into()))
    );
    assert!(Environments::parse_list("dev, staging ,prod").is_ok());
}

#[test]
fn previous_and_after_follow_the_configured_order() {
    let envs = Environments::parse_list("dev,staging,prod").unwrap();
    let staging = envs.find("staging").unwrap().clone();
    assert_eq!(
        envs.previous(&staging).map(Environment::as_str),
        Some("dev")
    );
    assert_eq!(envs.previous(envs.first()), None);
    let after: Vec<_> = envs
        .after(&staging)
        .iter()
        .map(Environment::as_str)
        .collect();
    assert_eq!(after, ["prod"]);
}
