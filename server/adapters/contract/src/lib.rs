//! The port contract: behaviour every backend must show, written once and run against each
//! (the embedded store against itself; the AWS adapters against a moto server).
//!
//! Each check takes [`Services`] built on the backend under test and uses model group names
//! of its own, so the checks need no reset between them and can share one server.

use countersign_audit::desk::{notarise, AuditDesk, Period};
use countersign_audit::{Entry, EventJson, Notary};
use countersign_domain::audit::{Appended, AuditRecord};
use countersign_domain::ports::*;
use countersign_domain::service::{Ports, ServiceError, Services};
use countersign_domain::testing::person;
use countersign_domain::workflow::{self, DecisionRequest};
use countersign_domain::*;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The checks on [`Services`], in the order `run_all` runs them; `contract_tests!` makes
/// a test of each.
#[macro_export]
macro_rules! for_each_check {
    ($callback:ident ! ($($args:tt)*)) => {
        $crate::$callback! { ($($args)*)
            registration_numbers_versions_per_group
            a_registered_version_reads_back_whole
            versions_list_newest_first_in_pages
            groups_are_summarised
            a_decision_applies_whole
            a_stale_decision_is_a_conflict_and_changes_nothing
            committing_the_same_decision_twice_applies_it_once
            deployments_keep_their_history
            a_rejection_reads_back_whole
            a_signature_keeps_how_its_signer_authenticated
            signing_attempts_are_kept_once_each_in_order
            the_group_log_lists_every_decision
            undecided_versions_are_found_across_groups
            steps_waiting_for_decisions_are_found_across_groups
            versions_are_found_by_their_registrant
            reports_are_kept_once_per_run
            a_rollback_applies_whole
            one_guard_per_environment
            the_audit_trail_keeps_each_event_once_in_order_and_verifies
            appends_racing_in_one_group_take_a_place_each
        }
    };
}

/// One `#[tokio::test]` per check, named after it, so a failure names the promise broken
/// and the others still run. `$backend` is an async function returning what must live as
/// long as the check (a moto server, say) and the services on the backend under test.
#[macro_export]
macro_rules! contract_tests {
    ($backend:path) => {
        $crate::for_each_check!(contract_tests_of!($backend));
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! contract_tests_of {
    (($backend:path) $($check:ident)*) => {
        $(
            #[tokio::test]
            async fn $check() {
                let (_keep, services) = $backend().await;
                $crate::$check(&services).await;
            }
        )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! run_all_of {
    (($services:expr) $($check:ident)*) => {
        $( $crate::$check($services).await; )*
    };
}

/// Runs every check on one backend, in turn; panics with the first broken promise.
pub async fn run_all(services: &Subject) {
    for_each_check!(run_all_of!(services));
}

/// A backend under test: the use cases over it, and its ports, which the checks also call
/// directly (a stale decision is committed by hand, say), and its audit desk (a key of its
/// own, the backend's checkpoint publisher).
pub struct Subject {
    pub services: Services,
    pub ports: Ports,
    pub audit: AuditDesk,
}

impl std::ops::Deref for Subject {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.services
    }
}

/// The backend whose one value implements every port, under test, its audit trail
/// notarised as the server does it, with checkpoints published to `publisher`.
pub fn services_over<B>(
    backend: Arc<B>,
    publisher: Arc<dyn CheckpointPublisher>,
    policy: Policy,
) -> Subject
where
    B: countersign_domain::service::Backend,
{
    let mut ports = Ports::of(backend);
    let notary = Arc::new(Notary::from_key(&Notary::generate_key("contract.example")).unwrap());
    let audit = notarise(&mut ports, notary, publisher, Arc::new(SystemClock));
    Subject {
        services: Services::new(ports.clone(), policy, Arc::new(RandomIds)),
        ports,
        audit,
    }
}

struct RandomIds;

impl IdGenerator for RandomIds {
    fn new_id(&self) -> String {
        new_id()
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Commits `effect` by hand with its audit entry, as the services would.
async fn commit(services: &Subject, effect: &DecisionEffect) -> Result<Appended, PortError> {
    let entry = entry_of(services, effect);
    services.ports.committer.commit(effect, &entry).await
}

/// `effect`'s audit entry, as the services would write it with the decision.
pub fn entry_of(services: &Subject, effect: &DecisionEffect) -> AuditRecord {
    AuditRecord::decided(effect, None, Arc::new(services.policy().clone()))
}

/// A new decision's id and time, as the services would stamp it.
fn stamp_now(services: &Subject) -> Stamp {
    Stamp {
        id: new_id(),
        at: services.now(),
    }
}

fn unique_group(prefix: &str) -> GroupName {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    GroupName::parse(&format!("{prefix}-{}", &suffix[..12])).expect("valid group name")
}

fn approver(subject: &str, services: &Subject) -> Actor {
    let env = services.policy().environments().first();
    Actor {
        person: person(subject),
        groups: services
            .policy()
            .approver_groups(env)
            .map(str::to_owned)
            .collect::<BTreeSet<_>>(),
    }
}

fn registration(group: &GroupName, image: &str) -> Registration {
    Registration::new(
        group.clone(),
        image,
        "s3://models/churn/model.tar.gz",
        "gradient boosted trees",
        Metrics::from([("auc".to_string(), 0.91), ("f1".to_string(), 0.77)]),
        person("dana"),
    )
    .expect("valid registration")
    .with_digests(
        ArtifactDigests::new(
            Some(&format!("sha256:{}", "5e1f".repeat(16))),
            Some("\"9b2cf535f27731c974343645a3985328\""),
        )
        .expect("valid digests"),
    )
    .with_metadata(
        CustomMetadata::from([
            (
                "training-data".to_owned(),
                "s3://ml-data/churn/2026-q3/".to_owned(),
            ),
            ("commit".to_owned(), "4f2c9e1".to_owned()),
        ]),
        // The keys are no environment's name, whatever the subject's environments.
        &Environments::default(),
    )
    .expect("valid metadata")
    .through("training-pipeline")
}

async fn register(services: &Subject, group: &GroupName) -> ModelVersion {
    services
        .register(registration(group, "registry.example/churn:1"))
        .await
        .expect("registration succeeds")
}

/// The version as the backend holds it now.
async fn stored(services: &Subject, version: &ModelVersion) -> ModelVersion {
    services
        .ports
        .registry
        .find_version(&version.group, version.version)
        .await
        .unwrap()
        .expect("the version is stored")
}

async fn log_of(services: &Subject, version: &ModelVersion) -> Vec<DecisionRecord> {
    services
        .ports
        .audit
        .decisions_for_version(&version.group, version.version)
        .await
        .unwrap()
}

/// What is live in `env`, which must be something.
async fn live_in(services: &Subject, group: &GroupName, env: &Environment) -> Deployment {
    services
        .ports
        .parameters
        .live(group, env)
        .await
        .unwrap()
        .expect("something is live")
}

/// The deployments to one environment, newest first.
async fn history_in(services: &Subject, group: &GroupName, env: &Environment) -> Vec<Deployment> {
    let all = services.ports.parameters.history(group).await.unwrap();
    all.into_iter().filter(|d| &d.environment == env).collect()
}

fn first_env(services: &Subject) -> Environment {
    services.policy().environments().first().clone()
}

pub async fn registration_numbers_versions_per_group(services: &Subject) {
    let a = unique_group("numbering-a");
    let b = unique_group("numbering-b");
    let a1 = register(services, &a).await;
    let a2 = register(services, &a).await;
    let b1 = register(services, &b).await;
    assert_eq!(a1.version.get(), 1);
    assert_eq!(a2.version.get(), 2);
    assert_eq!(b1.version.get(), 1, "numbering is per group");
    assert_ne!(a1.arn, a2.arn);
    assert_ne!(a1.arn, b1.arn);
}

pub async fn a_registered_version_reads_back_whole(services: &Subject) {
    let group = unique_group("readback");
    let registered = register(services, &group).await;
    let found = services
        .ports
        .registry
        .find_version(&group, registered.version)
        .await
        .unwrap()
        .expect("registered version is found");
    assert_eq!(found, registered);
    assert_eq!(found.approval_status, ApprovalStatus::PendingManualApproval);
    assert_eq!(
        found.steps.state(&first_env(services)),
        StepState::PendingManualApproval
    );
    assert_eq!(found.metrics.get("auc"), Some(&0.91));
    assert_eq!(
        found.metadata.get("training-data").map(String::as_str),
        Some("s3://ml-data/churn/2026-q3/"),
        "the pipeline's own metadata is kept, and only it: {:?}",
        found.metadata
    );
    assert_eq!(found.metadata.len(), 2, "{:?}", found.metadata);
    assert_eq!(
        found.registered_through.as_deref(),
        Some("training-pipeline"),
        "the pipeline that registered it is kept beside the registrant it declared"
    );
    let missing = services
        .ports
        .registry
        .find_version(&group, VersionNumber::new(99).unwrap())
        .await
        .unwrap();
    assert_eq!(missing, None);
}

pub async fn versions_list_newest_first_in_pages(services: &Subject) {
    let group = unique_group("paging");
    for _ in 0..5 {
        register(services, &group).await;
    }
    let page = services
        .ports
        .registry
        .list_versions(
            &group,
            PageRequest {
                offset: 1,
                limit: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.total, 5);
    let numbers: Vec<u32> = page.items.iter().map(|v| v.version.get()).collect();
    assert_eq!(numbers, [4, 3]);
    let unknown = services
        .ports
        .registry
        .list_versions(
            &unique_group("nothing"),
            PageRequest {
                offset: 0,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!((unknown.total, unknown.items.len()), (0, 0));
}

pub async fn groups_are_summarised(services: &Subject) {
    let group = unique_group("summary");
    register(services, &group).await;
    let latest = register(services, &group).await;
    let groups = services.ports.registry.list_groups().await.unwrap();
    let summary = groups
        .iter()
        .find(|g| g.group == group)
        .expect("group is listed");
    // A backend that cannot count without a request per group leaves the counts out;
    // one that gives them must give them right.
    if let Some(count) = summary.version_count {
        assert_eq!(count, 2);
        assert_eq!(summary.latest_version, Some(latest.version));
        assert_eq!(summary.latest_registered_at, Some(latest.registered_at));
    }
}

/// Alice's (or `who`'s) approval of the first environment, computed now, as the services
/// compute one: against the version, its log and the deployment live there.
async fn effect_for(
    services: &Subject,
    version: &ModelVersion,
    history: &[DecisionRecord],
    who: &str,
) -> workflow::DecisionEffect {
    decision_for(services, version, history, who, Choice::Approve).await
}

async fn decision_for(
    services: &Subject,
    version: &ModelVersion,
    history: &[DecisionRecord],
    who: &str,
    choice: Choice,
) -> workflow::DecisionEffect {
    let env = first_env(services);
    let request = DecisionRequest::new(env.clone(), choice, "looks good");
    let stamp = stamp_now(services);
    let live = services
        .ports
        .parameters
        .live(&version.group, &env)
        .await
        .unwrap();
    workflow::decide(
        services.policy(),
        version,
        history,
        &approver(who, services),
        &request,
        stamp,
    )
    .expect("the approval is allowed")
    .replacing(live.as_ref())
}

pub async fn a_decision_applies_whole(services: &Subject) {
    let group = unique_group("decision");
    let version = register(services, &group).await;
    let env = first_env(services);
    let effect = effect_for(services, &version, &[], "alice").await;
    commit(services, &effect).await.unwrap();

    let after = stored(services, &version).await;
    assert_eq!(after, workflow::apply(&version, &effect));
    let log = log_of(services, &version).await;
    assert_eq!(log, std::slice::from_ref(&effect.record));
    let live = services.ports.parameters.live(&group, &env).await.unwrap();
    assert_eq!(live, effect.deployment);
}

pub async fn a_stale_decision_is_a_conflict_and_changes_nothing(services: &Subject) {
    let group = unique_group("conflict");
    let version = register(services, &group).await;
    let env = first_env(services);
    let first = effect_for(services, &version, &[], "alice").await;
    // Computed against the same revision, as a concurrent request would be.
    let second = effect_for(services, &version, &[], "bob").await;
    commit(services, &first).await.unwrap();
    assert_eq!(commit(services, &second).await, Err(PortError::Conflict));
    let log = log_of(services, &version).await;
    assert_eq!(log.len(), 1, "the losing decision left no record");
    let live = live_in(services, &group, &env).await;
    assert_eq!(live.approved_by.subject, "alice");
    assert_eq!(
        decisions_in_trail(services, &group).await,
        [first.record.id.as_str()],
        "nor an audit entry: a decision and its entry are written together"
    );
}

/// The ids of the decisions in `group`'s audit trail, in order.
async fn decisions_in_trail(services: &Subject, group: &GroupName) -> Vec<String> {
    services
        .ports
        .trail
        .entries(group, 0)
        .await
        .unwrap()
        .iter()
        .filter_map(|text| match Entry::parse(text).unwrap().event {
            EventJson::Decided { decision, .. } => Some(decision.id),
            _ => None,
        })
        .collect()
}

pub async fn committing_the_same_decision_twice_applies_it_once(services: &Subject) {
    let group = unique_group("retry");
    let version = register(services, &group).await;
    let effect = effect_for(services, &version, &[], "alice").await;
    let entry = entry_of(services, &effect);
    let first = services
        .ports
        .committer
        .commit(&effect, &entry)
        .await
        .unwrap();
    let again = services
        .ports
        .committer
        .commit(&effect, &entry)
        .await
        .unwrap();
    assert!(first.new && !again.new, "{first:?} then {again:?}");
    assert_eq!((again.seq, again.size), (first.seq, first.size));
    assert_eq!(
        decisions_in_trail(services, &group).await,
        [effect.record.id.as_str()]
    );
    let log = log_of(services, &version).await;
    assert_eq!(log.len(), 1);
    let after = stored(services, &version).await;
    assert_eq!(after.revision, version.revision + 1);
}

pub async fn deployments_keep_their_history(services: &Subject) {
    let group = unique_group("history");
    let env = first_env(services);
    assert_eq!(
        services.ports.parameters.live(&group, &env).await.unwrap(),
        None
    );
    let v1 = register(services, &group).await;
    let v2 = register(services, &group).await;
    for version in [&v1, &v2] {
        let effect = effect_for(services, version, &[], "alice").await;
        commit(services, &effect).await.unwrap();
    }
    let history = history_in(services, &group, &env).await;
    let versions: Vec<u32> = history.iter().map(|d| d.version.get()).collect();
    assert_eq!(versions, [2, 1], "newest first");
    let live = live_in(services, &group, &env).await;
    assert_eq!(live.version, v2.version);
}

pub async fn a_rejection_reads_back_whole(services: &Subject) {
    let group = unique_group("rejection");
    let version = register(services, &group).await;
    let effect = decision_for(services, &version, &[], "alice", Choice::Reject).await;
    commit(services, &effect).await.unwrap();
    let after = stored(services, &version).await;
    assert_eq!(after, workflow::apply(&version, &effect));
    assert_eq!(after.approval_status, ApprovalStatus::Rejected);
    assert!(effect.deployment.is_none());
    let live = services
        .ports
        .parameters
        .live(&group, &first_env(services))
        .await;
    assert_eq!(live, Ok(None), "a rejection deploys nothing");
    assert_eq!(
        log_of(services, &version).await[0].reason.as_deref(),
        Some("looks good")
    );
}

pub async fn a_signature_keeps_how_its_signer_authenticated(services: &Subject) {
    use countersign_domain::service::SigningRequest;
    use countersign_domain::signature::{Authentication, Signing};
    let group = unique_group("signature");
    let version = register(services, &group).await;
    let what = SigningRequest::Decide {
        version: version.version,
        request: DecisionRequest::new(first_env(services), Choice::Approve, "looks good"),
    };
    let alice = approver("alice", services);
    let prepared = services.prepare(&alice, &group, &what).await.unwrap();
    // Whole seconds: the JSON the stores keep is RFC 3339 to the second at least.
    let signed_in = services.now().replace_nanosecond(0).unwrap() - time::Duration::seconds(30);
    let authentication = Authentication {
        at: Some(signed_in),
        acr: Some("c1".into()),
        amr: vec!["pwd".into(), "mfa".into()],
        acrs: vec!["c1".into()],
    };
    let stale = Signing {
        reviewed_digest: prepared.effect.signed.digest(),
        authentication: Authentication::at(signed_in - time::Duration::hours(1)),
        reauthentication_asked_at: None,
    };
    assert!(services.sign(&alice, &group, &what, &stale).await.is_err());
    assert!(
        log_of(services, &version).await.is_empty(),
        "a refused signature writes nothing"
    );

    let signing = Signing {
        authentication: authentication.clone(),
        ..stale
    };
    let effect = services
        .sign(&alice, &group, &what, &signing)
        .await
        .unwrap();
    let log = log_of(services, &version).await;
    let signature = log[0].signature.as_ref().expect("signed");
    assert_eq!(signature.record_digest, prepared.effect.signed.digest());
    assert_eq!(signature.authentication.as_ref(), Some(&authentication));
    assert_eq!(log[0], effect.record, "read back whole");
}

pub async fn signing_attempts_are_kept_once_each_in_order(services: &Subject) {
    let group = unique_group("attempts");
    let first = register(services, &group).await;
    let second = register(services, &group).await;
    let attempt = |version: &ModelVersion, seconds: i64, outcome: AttemptOutcome| SigningAttempt {
        id: new_id(),
        group: group.to_string(),
        version: version.version.get(),
        environment: first_env(services).to_string(),
        verdict: "approve".into(),
        by: person("alice"),
        at: services.now().replace_nanosecond(0).unwrap() + time::Duration::seconds(seconds),
        outcome,
    };
    let sent = attempt(&first, 0, AttemptOutcome::SentToSignInAgain);
    let refused = attempt(
        &first,
        1,
        AttemptOutcome::Refused {
            reason: "your identity provider did not sign you in again".into(),
        },
    );
    let elsewhere = attempt(&second, 2, AttemptOutcome::SentToSignInAgain);
    for kept in [&sent, &refused, &elsewhere, &sent] {
        services.ports.audit.record_attempt(kept).await.unwrap();
    }
    let read = |version: VersionNumber| services.ports.audit.attempts_for_version(&group, version);
    assert_eq!(
        read(first.version).await.unwrap(),
        [sent, refused],
        "once each, oldest first"
    );
    assert_eq!(read(second.version).await.unwrap(), [elsewhere]);
    assert_eq!(
        log_of(services, &first).await,
        [],
        "attempts are not decisions"
    );
}

pub async fn the_group_log_lists_every_decision(services: &Subject) {
    let group = unique_group("group-log");
    let mut expected = Vec::new();
    for who in ["alice", "bob"] {
        let version = register(services, &group).await;
        let effect = effect_for(services, &version, &[], who).await;
        commit(services, &effect).await.unwrap();
        expected.push(effect.record);
    }
    let log = services
        .ports
        .audit
        .decisions_for_group(&group)
        .await
        .unwrap();
    assert_eq!(log, expected, "oldest first, across versions");
    let elsewhere = services
        .ports
        .audit
        .decisions_for_group(&unique_group("no-log"))
        .await
        .unwrap();
    assert!(elsewhere.is_empty());
}

pub async fn undecided_versions_are_found_across_groups(services: &Subject) {
    let group = unique_group("undecided");
    let other = unique_group("undecided-other");
    let waiting = register(services, &group).await;
    let decided = register(services, &group).await;
    let elsewhere = register(services, &other).await;
    let effect = effect_for(services, &decided, &[], "alice").await;
    commit(services, &effect).await.unwrap();

    let undecided = services.ports.registry.undecided_versions().await.unwrap();
    let ours: Vec<(GroupName, u32)> = undecided
        .iter()
        .filter(|v| v.group == group || v.group == other)
        .map(|v| (v.group.clone(), v.version.get()))
        .collect();
    assert_eq!(ours.len(), 2, "{ours:?}");
    assert!(ours.contains(&(group.clone(), waiting.version.get())));
    assert!(ours.contains(&(other.clone(), elsewhere.version.get())));
}

/// Approves `environment` of `version` as `who`, through the use case.
async fn approve(services: &Subject, version: &ModelVersion, environment: &Environment, who: &str) {
    let request = DecisionRequest::new(environment.clone(), Choice::Approve, "looks good");
    services
        .decide(
            &approver(who, services),
            &version.group,
            version.version,
            &request,
        )
        .await
        .unwrap_or_else(|e| panic!("{who} approves {environment}: {e}"));
}

pub async fn steps_waiting_for_decisions_are_found_across_groups(services: &Subject) {
    let group = unique_group("waiting");
    let other = unique_group("waiting-other");
    let environments: Vec<Environment> = services.policy().environments().iter().cloned().collect();
    let new = register(services, &group).await;
    let promoted = register(services, &group).await;
    approve(services, &promoted, &environments[0], "alice").await;
    let rejected = register(services, &group).await;
    approve(services, &rejected, &environments[0], "alice").await;
    let reject = DecisionRequest::new(environments[1].clone(), Choice::Reject, "drifts");
    services
        .decide(
            &approver("alice", services),
            &group,
            rejected.version,
            &reject,
        )
        .await
        .unwrap();
    let everywhere = register(services, &group).await;
    for environment in &environments {
        approve(services, &everywhere, environment, "alice").await;
    }
    let elsewhere = register(services, &other).await;

    let pending = services
        .ports
        .registry
        .versions_with_a_pending_step()
        .await
        .unwrap();
    let ours: BTreeSet<(GroupName, u32)> = pending
        .iter()
        .filter(|(g, _)| *g == group || *g == other)
        .map(|(g, v)| (g.clone(), v.get()))
        .collect();
    let expected = BTreeSet::from([
        (group.clone(), new.version.get()),
        (group.clone(), promoted.version.get()),
        (other.clone(), elsewhere.version.get()),
    ]);
    assert_eq!(
        ours, expected,
        "a version waits while a step is pending, in any environment"
    );

    let waiting = services.waiting_steps().await.unwrap();
    let step_of = |version: &ModelVersion| {
        waiting
            .iter()
            .find(|s| s.version.group == version.group && s.version.version == version.version)
            .map(|s| s.waiting.environment.clone())
    };
    assert_eq!(step_of(&new), Some(environments[0].clone()));
    assert_eq!(step_of(&promoted), Some(environments[1].clone()));
    assert_eq!(step_of(&rejected), None);
    assert_eq!(step_of(&everywhere), None);
    let inbox = services.inbox(&approver("dana", services)).await.unwrap();
    assert!(
        !inbox
            .iter()
            .any(|s| s.version.group == group || s.version.group == other),
        "dana registered every one of them: none waits for her"
    );
    let bob = services.inbox(&approver("bob", services)).await.unwrap();
    let bobs: Vec<_> = bob.iter().filter(|s| s.version.group == group).collect();
    assert_eq!(bobs.len(), 2, "new and promoted wait for bob");
    assert!(
        bobs[0].waiting.since <= bobs[1].waiting.since,
        "the longest waiting first"
    );
}

pub async fn versions_are_found_by_their_registrant(services: &Subject) {
    let group = unique_group("mine");
    let other = unique_group("mine-other");
    let first = register(services, &group).await;
    let second = register(services, &other).await;
    let third = register(services, &group).await;
    let by_erin = Registration {
        registered_by: Person {
            subject: format!("erin-{}", new_id()),
            ..person("erin")
        },
        ..registration(&group, "registry.example/churn:2")
    };
    let erins = services.register(by_erin.clone()).await.unwrap();

    let ours = |found: Vec<countersign_domain::service::VersionRecord>| -> Vec<(GroupName, u32)> {
        found
            .into_iter()
            .filter(|r| r.version.group == group || r.version.group == other)
            .map(|r| (r.version.group, r.version.version.get()))
            .collect()
    };
    let danas = ours(services.registered_by(&person("dana"), 1000).await.unwrap());
    let key = |v: &ModelVersion| (v.group.clone(), v.version.get());
    assert_eq!(
        danas,
        [key(&third), key(&second), key(&first)],
        "newest first, across groups"
    );
    let known_by_mail_only = Person {
        subject: "0f1e2d3c-entra-oid".into(),
        name: "Dana".into(),
        email: "DANA@example.com".into(),
    };
    let by_mail = ours(
        services
            .registered_by(&known_by_mail_only, 1000)
            .await
            .unwrap(),
    );
    assert_eq!(
        by_mail, danas,
        "the same person known by another subject, by e-mail"
    );
    let newest = services.registered_by(&person("dana"), 1).await.unwrap();
    assert_eq!(newest.len(), 1);
    let erin = ours(
        services
            .registered_by(&by_erin.registered_by, 10)
            .await
            .unwrap(),
    );
    assert_eq!(erin, [key(&erins)]);
    let nobody = Person {
        subject: new_id(),
        name: "Nobody".into(),
        email: format!("{}@example.com", new_id()),
    };
    assert!(services
        .registered_by(&nobody, 10)
        .await
        .unwrap()
        .is_empty());
}

fn message(key: &str) -> OutgoingMessage {
    OutgoingMessage {
        key: key.to_owned(),
        to: vec!["approvers@example.com".into(), "lead@example.com".into()],
        subject: format!("subject of {key}"),
        text: "text".into(),
        html: "<p>html</p>".into(),
    }
}

/// The outbox contract: each key once, leases, retries, giving up and sending again.
pub async fn run_outbox(outbox: &dyn Outbox) {
    let t0 = time::OffsetDateTime::now_utc();
    let later = |seconds: i64| t0 + time::Duration::seconds(seconds);
    let key = format!("approval-request/{}", uuid::Uuid::new_v4());
    assert!(outbox.enqueue(&message(&key), t0).await.unwrap());
    assert!(
        !outbox.enqueue(&message(&key), later(1)).await.unwrap(),
        "the same key is queued once"
    );

    let queued = outbox
        .entry(&key)
        .await
        .unwrap()
        .expect("one entry per key");
    assert_eq!(queued.message, message(&key));
    assert_eq!((queued.state, queued.attempts), (DeliveryState::Pending, 0));
    assert!(outbox
        .entry("approval-request/never-queued")
        .await
        .unwrap()
        .is_none());

    let nobody = OutgoingMessage {
        to: vec![],
        ..message(&format!("approval-request/{}", uuid::Uuid::new_v4()))
    };
    outbox.enqueue(&nobody, t0).await.unwrap();
    let kept = outbox.entry(&nobody.key).await.unwrap().expect("queued");
    assert_eq!(
        kept.message.to,
        Vec::<String>::new(),
        "no recipient reads back as none"
    );

    let leased = outbox.lease_due(later(1), later(61), 10).await.unwrap();
    let mine: Vec<_> = leased.iter().filter(|e| e.message.key == key).collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].message, message(&key));
    assert_eq!(mine[0].state, DeliveryState::Pending);
    let again = outbox.lease_due(later(2), later(62), 10).await.unwrap();
    assert!(
        again.iter().all(|e| e.message.key != key),
        "a leased message is not handed to another worker"
    );

    outbox
        .record_failure(&key, "connection refused", Some(later(30)))
        .await
        .unwrap();
    let early = outbox.lease_due(later(10), later(70), 10).await.unwrap();
    assert!(
        early.iter().all(|e| e.message.key != key),
        "not before its retry time"
    );
    let retry = outbox.lease_due(later(31), later(91), 10).await.unwrap();
    let retried = retry
        .iter()
        .find(|e| e.message.key == key)
        .expect("due again");
    assert_eq!(retried.attempts, 1);
    assert_eq!(retried.last_error.as_deref(), Some("connection refused"));

    outbox
        .record_failure(&key, "still refused", None)
        .await
        .unwrap();
    let recent = outbox.recent(FIRST_50).await.unwrap().items;
    let given_up = recent.iter().find(|e| e.message.key == key).unwrap();
    assert_eq!(
        (given_up.state, given_up.attempts),
        (DeliveryState::GaveUp, 2)
    );
    assert!(outbox
        .lease_due(later(1000), later(1060), 10)
        .await
        .unwrap()
        .iter()
        .all(|e| e.message.key != key));

    assert!(outbox.resend(&key, later(100)).await.unwrap());
    assert!(!outbox.resend("no-such-key", later(100)).await.unwrap());
    let resent = outbox.lease_due(later(100), later(160), 10).await.unwrap();
    assert!(resent
        .iter()
        .any(|e| e.message.key == key && e.attempts == 0));
    outbox.record_sent(&key, later(101)).await.unwrap();
    let recent = outbox.recent(FIRST_50).await.unwrap().items;
    let sent = recent.iter().find(|e| e.message.key == key).unwrap();
    assert_eq!(sent.state, DeliveryState::Sent);
    assert!(sent.sent_at.is_some());
    assert!(outbox
        .lease_due(later(2000), later(2060), 10)
        .await
        .unwrap()
        .iter()
        .all(|e| e.message.key != key));

    // The status page reads a page at a time and knows how many there are.
    for n in 0..2 {
        let other = format!("{key}/{n}");
        assert!(outbox
            .enqueue(&message(&other), later(3000 + n))
            .await
            .unwrap());
    }
    let all = outbox.recent(FIRST_50).await.unwrap();
    assert!(
        all.total >= 3 && all.total == all.items.len() as u64,
        "{}",
        all.total
    );
    let mut pages = Vec::new();
    for offset in [0, 2] {
        let page = outbox
            .recent(PageRequest { offset, limit: 2 })
            .await
            .unwrap();
        assert_eq!(page.total, all.total);
        pages.push(
            page.items
                .into_iter()
                .map(|e| e.message.key)
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(pages[0].len(), 2);
    let keys: Vec<String> = all.items.iter().map(|e| e.message.key.clone()).collect();
    assert_eq!(
        pages.concat(),
        keys[..keys.len().min(4)],
        "pages follow one another"
    );
}

/// Enough for every message a contract check queues.
const FIRST_50: PageRequest = PageRequest {
    offset: 0,
    limit: 50,
};

fn report(
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

pub async fn a_rollback_applies_whole(services: &Subject) {
    let group = unique_group("rollback");
    let env = first_env(services);
    let v1 = register(services, &group).await;
    let v2 = register(services, &group).await;
    for version in [&v1, &v2] {
        let effect = effect_for(services, version, &[], "alice").await;
        commit(services, &effect).await.unwrap();
    }
    let effect = services
        .rollback(
            &approver("bob", services),
            &group,
            &workflow::RollbackRequest {
                environment: env.clone(),
                target: v1.version,
                reason: "drift".into(),
                meaning: None,
            },
        )
        .await
        .expect("the rollback is allowed");

    let live = live_in(services, &group, &env).await;
    assert_eq!(live.version, v1.version);
    assert_eq!(live.decision_id, effect.record.id);
    assert_eq!(live.approved_by.subject, "bob");
    let withdrawn = stored(services, &v2).await;
    assert_eq!(withdrawn.steps.state(&env), StepState::RolledBack);
    assert_eq!(
        withdrawn.approval_status,
        ApprovalStatus::Rejected,
        "the first environment"
    );
    let log = log_of(services, &v2).await;
    assert_eq!(log.last(), Some(&effect.record));
    assert_eq!(effect.record.rollback_to, Some(v1.version));
    let history = history_in(services, &group, &env).await;
    let versions: Vec<u32> = history.iter().map(|d| d.version.get()).collect();
    assert_eq!(versions, [1, 2, 1], "newest first, the rollback included");
    let stale = services
        .rollback(
            &approver("bob", services),
            &group,
            &workflow::RollbackRequest {
                environment: env.clone(),
                target: v1.version,
                reason: "again".into(),
                meaning: None,
            },
        )
        .await;
    assert!(
        matches!(
            stale,
            Err(ServiceError::Refused(Refusal::AlreadyLive { .. }))
        ),
        "{stale:?}"
    );
}

/// A decision that makes something live is computed against what is live there; once
/// another decision has deployed something else to that environment, applying it is a
/// conflict that changes nothing. Without this, a rollback would silently undo an approval
/// its author never saw, and a late approval would replace a rollback.
pub async fn one_guard_per_environment(services: &Subject) {
    let group = unique_group("guard");
    let env = first_env(services);
    let mut versions = Vec::new();
    for _ in 0..4 {
        versions.push(register(services, &group).await);
    }
    for version in &versions[..2] {
        let effect = effect_for(services, version, &[], "alice").await;
        commit(services, &effect).await.unwrap();
    }
    let v2_live = live_in(services, &group, &env).await;
    let v2 = stored(services, &versions[1]).await;
    let stale_rollback = workflow::rollback(
        services.policy(),
        Some(&v2),
        &stored(services, &versions[0]).await,
        &approver("bob", services),
        &workflow::RollbackRequest {
            environment: env.clone(),
            target: versions[0].version,
            reason: "v2 drifts".into(),
            meaning: None,
        },
        stamp_now(services),
    )
    .expect("the rollback is allowed")
    .replacing(Some(&v2_live));
    let v3_approval = effect_for(services, &versions[2], &[], "alice").await;
    commit(services, &v3_approval).await.unwrap();

    let refused = commit(services, &stale_rollback).await;
    assert!(matches!(refused, Err(PortError::Conflict)), "{refused:?}");
    assert_eq!(
        live_in(services, &group, &env).await.decision_id,
        v3_approval.record.id
    );
    assert_eq!(
        stored(services, &versions[1]).await,
        v2,
        "v2 was not withdrawn"
    );
    assert_eq!(
        log_of(services, &versions[1]).await.len(),
        1,
        "its approval only"
    );

    // The other way round: an approval computed before a rollback.
    let v4_approval = effect_for(services, &versions[3], &[], "alice").await;
    services
        .rollback(
            &approver("bob", services),
            &group,
            &workflow::RollbackRequest {
                environment: env.clone(),
                target: versions[1].version,
                reason: "v3 drifts".into(),
                meaning: None,
            },
        )
        .await
        .expect("the rollback is allowed");
    let refused = commit(services, &v4_approval).await;
    assert!(matches!(refused, Err(PortError::Conflict)), "{refused:?}");
    assert_eq!(
        live_in(services, &group, &env).await.version,
        versions[1].version
    );
    assert_eq!(
        stored(services, &versions[3]).await.steps.state(&env),
        StepState::PendingManualApproval
    );
    assert!(log_of(services, &versions[3]).await.is_empty());
    let deployed: Vec<u32> = history_in(services, &group, &env)
        .await
        .iter()
        .map(|d| d.version.get())
        .collect();
    assert_eq!(
        deployed,
        [2, 3, 2, 1],
        "newest first: nothing refused was deployed"
    );

    // Computed afresh, the same approval goes through.
    let current = stored(services, &versions[3]).await;
    let effect = effect_for(services, &current, &[], "alice").await;
    commit(services, &effect).await.unwrap();
    assert_eq!(
        live_in(services, &group, &env).await.version,
        versions[3].version
    );
}

/// Rollbacks and approvals racing into one environment, `rounds` times: each pair either
/// serialises (the later one computed against the earlier's deployment) or one of them is a
/// conflict that changed nothing, and what is live is always the log's newest deployment.
/// Not in [`for_each_check`], which runs each check once: each backend's tests run this
/// with the rounds it can afford.
pub async fn racing_rollbacks_and_approvals_keep_live_equal_to_the_log(
    services: &Subject,
    rounds: usize,
) {
    let group = unique_group("race");
    let env = first_env(services);
    // The versions approved in the environment and not withdrawn: rollback targets.
    let mut approved = Vec::new();
    let mut deployed = 0;
    for round in 0..rounds {
        while approved.len() < 2 {
            let version = register(services, &group).await;
            let effect = effect_for(services, &version, &[], "alice").await;
            commit(services, &effect).await.unwrap();
            approved.push(version.version);
            deployed += 1;
        }
        let candidate = register(services, &group).await;
        let live_version = live_in(services, &group, &env).await.version;
        let target = *approved.iter().rev().find(|v| **v != live_version).unwrap();
        let approve = DecisionRequest::new(env.clone(), Choice::Approve, "");
        let roll_back = workflow::RollbackRequest {
            environment: env.clone(),
            target,
            reason: format!("round {round}"),
            meaning: None,
        };
        let (alice, bob) = (approver("alice", services), approver("bob", services));
        let (approval, rollback) = futures::join!(
            services.decide(&alice, &group, candidate.version, &approve),
            services.rollback(&bob, &group, &roll_back),
        );
        let conflict = |outcome: &Result<workflow::DecisionEffect, ServiceError>| {
            matches!(outcome, Err(ServiceError::Port(PortError::Conflict)))
        };
        assert!(
            approval.is_ok() || conflict(&approval),
            "round {round}: {approval:?}"
        );
        assert!(
            rollback.is_ok() || conflict(&rollback),
            "round {round}: {rollback:?}"
        );
        if let (Ok(a), Ok(r)) = (&approval, &rollback) {
            assert!(
                a.replaces.as_ref() == Some(&r.record.id)
                    || r.replaces.as_ref() == Some(&a.record.id),
                "round {round}: both committed, so one must have seen the other"
            );
        }
        if approval.is_ok() {
            approved.push(candidate.version);
        } else {
            assert!(log_of(services, &candidate).await.is_empty());
        }
        if let Ok(r) = &rollback {
            approved.retain(|v| *v != r.record.version);
        }
        deployed += usize::from(approval.is_ok()) + usize::from(rollback.is_ok());
        let history = history_in(services, &group, &env).await;
        assert_eq!(
            history.len(),
            deployed,
            "round {round}: nothing refused deployed"
        );
        let live = live_in(services, &group, &env).await;
        assert_eq!(
            live.decision_id, history[0].decision_id,
            "round {round}: live is the log's newest deployment"
        );
    }
}

/// What every store of session revocations must do: keep the latest revocation per person
/// (an earlier one changes nothing), keep everyone's apart, and read back what was stored.
pub async fn run_session_revocations(store: &dyn SessionRevocations) {
    let at =
        |seconds: i64| time::OffsetDateTime::from_unix_timestamp(1_790_000_000 + seconds).unwrap();
    let dana = Revoked::Person("dana.scientist@example.com".into());
    let revoke = |whose: &Revoked, seconds| Revocation {
        whose: whose.clone(),
        issued_before: at(seconds),
    };
    assert_eq!(store.revocations().await.unwrap(), vec![], "none at first");
    store.revoke(&revoke(&dana, 10)).await.unwrap();
    store.revoke(&revoke(&dana, 20)).await.unwrap();
    store.revoke(&revoke(&dana, 15)).await.unwrap();
    store.revoke(&revoke(&Revoked::Everyone, 5)).await.unwrap();
    let mut found = store.revocations().await.unwrap();
    found.sort_by(|a, b| a.whose.cmp(&b.whose));
    assert_eq!(
        found,
        vec![revoke(&dana, 20), revoke(&Revoked::Everyone, 5)]
    );
}

/// `group`'s trail exported whole and verified with the subject's key.
pub async fn verified_trail(
    services: &Subject,
    group: &GroupName,
) -> (Vec<Entry>, countersign_audit::Verified) {
    let bundle = export(services, group).await;
    let verified = countersign_audit::verify(&bundle, Some(services.audit.notary.public_key()))
        .unwrap_or_else(|v| panic!("the trail of {group} verifies: {v}"));
    let entries = bundle
        .entries
        .iter()
        .map(|e| Entry::parse(e).unwrap())
        .collect();
    (entries, verified)
}

/// `group`'s trail as `countersign audit export` writes it.
pub async fn export(services: &Subject, group: &GroupName) -> countersign_audit::Bundle {
    services
        .audit
        .bundle(group, Period::default())
        .await
        .unwrap()
}

fn kind(entry: &Entry) -> &'static str {
    match entry.event {
        EventJson::PolicyInForce { .. } => "policy",
        EventJson::RegistrationSeen { .. } => "registration",
        EventJson::ApprovalRequested { .. } => "approval request",
        EventJson::Decided { .. } => "decision",
        EventJson::SigningAttempted { .. } => "attempt",
        EventJson::ReportReceived { .. } => "report",
        EventJson::PromotionRequested { .. } => "promotion request",
    }
}

pub async fn the_audit_trail_keeps_each_event_once_in_order_and_verifies(services: &Subject) {
    let group = unique_group("trail");
    let version = register(services, &group).await;
    assert!(
        services
            .version_changed(&group, version.version)
            .await
            .unwrap(),
        "asked again, as an event or the scan does"
    );
    let dev = first_env(services);
    services
        .decide(
            &approver("alice", services),
            &group,
            version.version,
            &DecisionRequest::new(dev.clone(), Choice::Approve, "fine"),
        )
        .await
        .unwrap();
    let what = countersign_domain::service::SigningRequest::Decide {
        version: version.version,
        request: DecisionRequest::new(dev, Choice::Approve, ""),
    };
    let refused = AttemptOutcome::Refused {
        reason: "already decided".into(),
    };
    services
        .record_attempt(&person("bob"), &group, &what, refused)
        .await
        .unwrap();

    let (entries, verified) = verified_trail(services, &group).await;
    let kinds: Vec<&str> = entries.iter().map(kind).collect();
    assert_eq!(
        kinds,
        [
            "policy",
            "registration",
            "approval request",
            "decision",
            "attempt"
        ],
        "each event once, in the order it happened"
    );
    assert_eq!(verified.decisions_checked, 1);
    assert_eq!(entries[3].actor, "alice");
    let keys: BTreeSet<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys.len(), entries.len());
    let tail = services.ports.trail.entries(&group, 3).await.unwrap();
    assert_eq!(tail.len(), 2, "read from an entry on");
    assert_eq!(Entry::parse(&tail[0]).unwrap(), entries[3]);
    assert!(services
        .ports
        .trail
        .entries(&unique_group("none"), 0)
        .await
        .unwrap()
        .is_empty());
}

pub async fn appends_racing_in_one_group_take_a_place_each(services: &Subject) {
    let group = unique_group("racing-trail");
    let version = register(services, &group).await;
    let what = countersign_domain::service::SigningRequest::Decide {
        version: version.version,
        request: DecisionRequest::new(first_env(services), Choice::Approve, ""),
    };
    let alice = person("alice");
    let racing = (0..8)
        .map(|_| services.record_attempt(&alice, &group, &what, AttemptOutcome::SentToSignInAgain));
    for appended in futures::future::join_all(racing).await {
        appended.unwrap();
    }
    let (entries, verified) = verified_trail(services, &group).await;
    assert_eq!(entries.len(), 3 + 8);
    assert_eq!(verified.entries, 11);
}
