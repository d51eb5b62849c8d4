use super::*;

fn actor(groups: &[&str]) -> Actor {
    Actor {
        person: Person {
            subject: "s".into(),
            name: "n".into(),
            email: "e@example.com".into(),
        },
        groups: groups.iter().map(|g| g.to_string()).collect(),
    }
}

#[test]
fn approvers_are_members_of_the_environment_group() {
    let policy = Policy::new(Environments::default(), "approvers")
        .with_approver_groups("prod", ["prod-approvers".to_string()])
        .unwrap();
    let envs = policy.environments().clone();
    let dev = envs.find("dev").unwrap();
    let prod = envs.find("prod").unwrap();
    assert!(policy.is_approver(&actor(&["approvers"]), dev));
    assert!(!policy.is_approver(&actor(&["approvers"]), prod));
    assert!(policy.is_approver(&actor(&["x", "prod-approvers"]), prod));
    assert!(!policy.is_approver(&actor(&[]), dev));
}

#[test]
fn viewers_are_restricted_only_when_configured() {
    let open = Policy::new(Environments::default(), "approvers");
    assert!(open.may_view(&actor(&["sales"])));
    let closed = open.with_viewer_groups(["ml-staff".to_string()]);
    assert!(!closed.may_view(&actor(&["sales"])));
    assert!(closed.may_view(&actor(&["ml-staff"])));
    assert!(
        closed.may_view(&actor(&["approvers"])),
        "approvers always see the portal"
    );
}

#[test]
fn required_approvals_default_to_one_and_are_bounded() {
    let policy = Policy::new(Environments::default(), "a")
        .with_required_approvals("prod", 2)
        .unwrap();
    let envs = policy.environments().clone();
    assert_eq!(policy.required_approvals(envs.find("prod").unwrap()), 2);
    assert_eq!(policy.required_approvals(envs.find("uat").unwrap()), 1);
    assert!(policy.clone().with_required_approvals("prod", 0).is_err());
    assert!(policy.with_required_approvals("prod", 11).is_err());
}

#[test]
fn settings_naming_unknown_environments_are_refused() {
    let err = Policy::new(Environments::default(), "a")
        .allowing_self_approval("staging")
        .unwrap_err();
    assert!(err.to_string().contains("dev,test,uat,prod"), "{err}");
}
