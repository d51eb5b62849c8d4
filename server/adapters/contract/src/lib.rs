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

mod audit;
mod counting;
mod decisions;
mod outbox;
mod registry;
mod reports;
mod reviews;
mod revocations;
mod sign_ins;
mod waiting;
pub use audit::*;
pub use counting::{counted, Calls};
pub use decisions::*;
pub use outbox::*;
pub use registry::*;
pub use reports::*;
pub use reviews::*;
pub use revocations::*;
pub use sign_ins::*;
pub use waiting::*;

/// The checks on [`Services`], in the order `run_all` runs them; `contract_tests!` makes
/// a test of each.
#[macro_export]
macro_rules! for_each_check {
    ($callback:ident ! ($($args:tt)*)) => {
        $crate::$callback! { ($($args)*)
            registration_numbers_versions_per_group
            a_registered_version_reads_back_whole
            a_registrant_is_established_only_where_the_registration_verified_them
            versions_list_newest_first_in_pages
            groups_are_summarised
            a_decision_applies_whole
            a_stale_decision_is_a_conflict_and_changes_nothing
            committing_the_same_decision_twice_applies_it_once
            deployments_keep_their_history
            a_rejection_reads_back_whole
            a_signature_keeps_how_its_signer_authenticated
            signing_attempts_are_kept_once_each_in_order
            identical_attempts_within_a_minute_are_kept_once
            the_group_log_lists_every_decision
            undecided_versions_are_found_across_groups
            steps_waiting_for_decisions_are_found_across_groups
            the_waiting_index_keeps_a_row_per_version_and_never_an_older_one
            a_fresh_replica_reads_what_waits_from_the_index_and_the_scan_repairs_it
            follow_ups_read_only_the_versions_waiting_long_enough
            versions_are_found_by_their_registrant
            reports_are_kept_once_per_run
            a_rollback_applies_whole
            one_guard_per_environment
            the_audit_trail_keeps_each_event_once_in_order_and_verifies
            the_portals_own_trail_keeps_what_happened_to_it_and_verifies
            an_event_met_again_is_appended_once_and_then_not_even_looked_up
            appends_racing_in_one_group_take_a_place_each
            the_log_tells_each_decision_as_the_trail_does
            page_reads_cost_the_same_calls_however_many_rows_they_show
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
    /// The backend's outbox, which the notifications a page shows are read from.
    pub outbox: Arc<dyn Outbox>,
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
    B: countersign_domain::service::Backend + Outbox,
{
    let notary = Arc::new(Notary::from_key(&Notary::generate_key("contract.example")).unwrap());
    services_notarised_by(backend, publisher, policy, notary)
}

/// As [`services_over`], checkpoints signed by `notary`: a portal started again over the
/// same store keeps its key.
pub fn services_notarised_by<B>(
    backend: Arc<B>,
    publisher: Arc<dyn CheckpointPublisher>,
    policy: Policy,
    notary: Arc<Notary>,
) -> Subject
where
    B: countersign_domain::service::Backend + Outbox,
{
    let outbox: Arc<dyn Outbox> = backend.clone();
    let mut ports = Ports::of(backend);
    let audit = notarise(&mut ports, notary, publisher, Arc::new(SystemClock));
    Subject {
        services: Services::new(ports.clone(), policy, Arc::new(RandomIds)),
        ports,
        audit,
        outbox,
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
    .with_registrant_verified()
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
