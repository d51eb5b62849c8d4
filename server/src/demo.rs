//! Demo data for `make run`, so a first look at the portal has something to review.

use crate::auth::session::demo_identities;
use countersign_domain::service::{ServiceError, Services, SigningRequest};
use countersign_domain::workflow::DecisionRequest;
use countersign_domain::*;
use futures::TryStreamExt;

fn registration(group: &str, n: u32, auc: f64, by: &Person) -> Registration {
    Registration::new(
        GroupName::parse(group).expect("demo group names are valid"),
        &format!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/{group}:{n}"),
        &format!("s3://ml-artifacts/{group}/v{n}/model.tar.gz"),
        "Gradient-boosted trees retrained on the latest quarter",
        Metrics::from([("auc".to_string(), auc), ("f1".to_string(), auc - 0.12)]),
        by.clone(),
    )
    .expect("demo registrations are valid")
    // The operator who asked for demo data names its registrants, as a bound pipeline does.
    .with_registrant_verified()
}

/// Registers a few versions with some decisions, unless the store already has models.
pub async fn seed_if_empty(services: &Services) -> Result<bool, ServiceError> {
    if !services.list_groups().await?.is_empty() {
        return Ok(false);
    }
    let people = demo_identities(services.policy());
    let (alice, bob, dana) = (&people[0].actor, &people[1].actor, &people[2].actor);
    let envs: Vec<Environment> = services.policy().environments().iter().cloned().collect();
    let decide = |who: &Actor,
                  group: GroupName,
                  version: VersionNumber,
                  env: &Environment,
                  verdict,
                  reason: &str| {
        let what = SigningRequest::Decide {
            version,
            request: DecisionRequest::new(env.clone(), verdict, reason),
        };
        let who = who.clone();
        // Demo people sign as if they had just chosen their identity again.
        async move { services.sign_as_just_confirmed(&who, &group, &what).await }
    };

    let v1 = services
        .register(registration("churn-prediction", 1, 0.88, &dana.person))
        .await?;
    decide(
        alice,
        v1.group.clone(),
        v1.version,
        &envs[0],
        Choice::Approve,
        "Offline metrics match the baseline",
    )
    .await?;
    if envs.len() > 1 {
        decide(
            bob,
            v1.group.clone(),
            v1.version,
            &envs[1],
            Choice::Approve,
            "Batch run on test data looks healthy",
        )
        .await?;
    }
    let v2 = services
        .register(registration("churn-prediction", 2, 0.84, &dana.person))
        .await?;
    decide(
        alice,
        v2.group.clone(),
        v2.version,
        &envs[0],
        Choice::Reject,
        "AUC is below version 1",
    )
    .await?;
    services
        .register(registration("churn-prediction", 3, 0.9, &dana.person))
        .await?;
    services
        .register(registration("fraud-detection", 1, 0.95, &dana.person))
        .await?;
    Ok(true)
}

/// How many registrations [`seed_versions`] has under way at once.
const SEEDED_AT_ONCE: usize = 4;

/// Registers `versions` versions in each of `groups` groups (for benchmarks), registered by
/// the demo identity `registrant` (`dana`, who approves nothing; or an approver, for whom her
/// own versions then do not wait). One group is named `prefix`; several `{prefix}-001`, ….
/// Registered a few at once, so the `n` in an image tag is the order asked for, not always
/// the version number the registry gave.
pub async fn seed_versions(
    services: &Services,
    prefix: &str,
    groups: u32,
    versions: u32,
    registrant: &str,
) -> Result<(), String> {
    let by = demo_identities(services.policy())
        .into_iter()
        .find(|identity| identity.actor.person.subject == registrant)
        .ok_or_else(|| format!("{registrant:?} is no demo identity; use alice, bob or dana"))?
        .actor
        .person;
    let names: Vec<String> = match groups {
        0 => return Err("--groups must be at least 1".into()),
        1 => vec![prefix.to_owned()],
        _ => (1..=groups).map(|n| format!("{prefix}-{n:03}")).collect(),
    };
    for name in &names {
        GroupName::parse(name).map_err(|e| e.to_string())?;
    }
    let by = &by;
    let registrations = names
        .iter()
        .flat_map(|name| (1..=versions).map(move |n| Ok(registration(name, n, 0.8, by))));
    // A few at once: one registration waits on the store most of its time.
    futures::stream::iter(registrations)
        .try_for_each_concurrent(SEEDED_AT_ONCE, |registration| async move {
            services.register(registration).await.map(|_| ())
        })
        .await
        .map_err(|e| e.to_string())
}
