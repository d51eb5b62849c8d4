//! People, registrations and versions that tests share: the domain's own, the port
//! contract's and the adapters' (behind the `testing` feature, never in a release build).

use crate::model::*;
use crate::policy::{Actor, Policy};
use crate::workflow::{self, DecisionRequest};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// Someone known by `subject`, named "{subject} name", at `{subject}@example.com`.
pub fn person(subject: &str) -> Person {
    Person {
        subject: subject.into(),
        name: format!("{subject} name"),
        email: format!("{subject}@example.com"),
    }
}

/// `subject` signed in as a member of the default approver group, `approvers`.
pub fn approver(subject: &str) -> Actor {
    Actor {
        person: person(subject),
        groups: BTreeSet::from(["approvers".to_owned()]),
    }
}

/// A registration of `group` by `registrant`, with an image, model data and one metric, sent
/// by a pipeline bound to the registrant.
pub fn registration(group: &str, registrant: Person) -> Registration {
    Registration::new(
        GroupName::parse(group).unwrap(),
        "registry.example/churn:7",
        "s3://models/churn/7/model.tar.gz",
        "gradient boosted trees",
        Metrics::from([("auc".to_string(), 0.91)]),
        registrant,
    )
    .unwrap()
    .with_registrant_verified()
}

/// Version 7 of `churn`, registered by dana, as the workflow leaves a new version.
pub fn registered(policy: &Policy) -> ModelVersion {
    let registration = Registration::new(
        GroupName::parse("churn").unwrap(),
        "img",
        "s3://m",
        "",
        Metrics::new(),
        person("dana"),
    )
    .unwrap()
    .with_registrant_verified();
    workflow::register(policy, registration, OffsetDateTime::UNIX_EPOCH)
        .into_version(VersionNumber::new(7).unwrap(), "arn".into())
}

/// The version once alice (an approver) has decided its first environment.
pub fn decided_first(policy: &Policy, version: &ModelVersion, choice: Choice) -> ModelVersion {
    let alice = approver("alice");
    let request = DecisionRequest::new(policy.environments().first().clone(), choice, "why");
    let stamp = Stamp {
        id: "d-1".into(),
        at: OffsetDateTime::UNIX_EPOCH,
    };
    let effect = workflow::decide(policy, version, &[], &alice, &request, stamp).unwrap();
    workflow::apply(version, &effect)
}
