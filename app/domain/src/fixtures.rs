//! Versions and people the domain's unit tests share.

use crate::model::*;
use crate::policy::{Actor, Policy};
use crate::workflow::{self, DecisionRequest};
use std::collections::BTreeSet;
use time::OffsetDateTime;

pub fn person(subject: &str) -> Person {
    Person {
        subject: subject.into(),
        name: subject.into(),
        email: format!("{subject}@example.com"),
    }
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
    .unwrap();
    workflow::register(policy, registration, OffsetDateTime::UNIX_EPOCH)
        .into_version(VersionNumber::new(7).unwrap(), "arn".into())
}

/// The version once alice (an approver) has decided its first environment.
pub fn decided_first(policy: &Policy, version: &ModelVersion, verdict: Verdict) -> ModelVersion {
    let alice = Actor {
        person: person("alice"),
        groups: BTreeSet::from(["approvers".to_owned()]),
    };
    let request = DecisionRequest::new(policy.environments().first().clone(), verdict, "why");
    let effect = workflow::decide(
        policy,
        version,
        &[],
        &alice,
        &request,
        "d-1".into(),
        OffsetDateTime::UNIX_EPOCH,
    )
    .unwrap();
    workflow::apply(version, &effect)
}
