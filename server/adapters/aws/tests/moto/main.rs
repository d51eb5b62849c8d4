//! The AWS adapters against a real moto server: the shared port contract, and what only the
//! AWS backend promises (what SageMaker and SSM hold afterwards, foreign metadata, races,
//! interrupted decisions, the durable log, requests per page).

mod support;

use aws_sdk_sagemaker::types::{
    InferenceSpecification, ModelApprovalStatus, ModelPackageContainerDefinition,
};
use countersign_aws::AwsBackend;
use countersign_domain::ports::*;
use countersign_domain::service::{ServiceError, Services};
use countersign_domain::testing::{approver, person, registration};
use countersign_domain::workflow::{self, DecisionEffect, DecisionRequest};
use countersign_domain::*;
use countersign_port_contract::services_over;
use std::collections::BTreeSet;
use std::sync::Arc;
use support::{sdk_config_at, settings, Moto, Relay};

mod audit;
mod decisions;
mod drift;
mod installation;
mod migrate;
mod outbox;
mod registry;
mod requests;
mod sessions;

fn policy() -> Policy {
    Policy::new(Environments::default(), "approvers")
}

/// `effect`'s audit entry, as the services write it with the decision.
fn decided(effect: &DecisionEffect) -> countersign_domain::audit::AuditRecord {
    countersign_domain::audit::AuditRecord::decided(effect, None, Arc::new(policy()))
}

fn env(name: &str) -> Environment {
    Environment::parse(name).unwrap()
}

async fn with_backend(moto: &Moto) -> (Arc<AwsBackend>, countersign_port_contract::Subject) {
    let backend = Arc::new(moto.backend().await);
    let services = services_over(backend.clone(), backend.clone(), policy());
    (backend, services)
}

/// A version Dana registered and Alice approved for dev through the portal.
async fn registered_and_approved_for_dev(services: &Services, group: &str) -> ModelVersion {
    let version = services
        .register(registration(group, person("dana")))
        .await
        .unwrap();
    services
        .decide(
            &approver("alice"),
            &version.group,
            version.version,
            &approve("dev"),
        )
        .await
        .unwrap();
    version
}

/// Writes a String parameter as anyone allowed `ssm:PutParameter` could.
async fn put_string(moto: &Moto, name: &str, value: &str) {
    aws_sdk_ssm::Client::new(&moto.sdk_config().await)
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .unwrap();
}

/// Changes a version's custom metadata (and, when given, its approval status) in SageMaker,
/// as anyone allowed `sagemaker:UpdateModelPackage` could.
async fn update_outside_the_portal(
    moto: &Moto,
    arn: &str,
    status: Option<ModelApprovalStatus>,
    edit: impl FnOnce(&mut std::collections::HashMap<String, String>),
) {
    let sagemaker = aws_sdk_sagemaker::Client::new(&moto.sdk_config().await);
    let described = sagemaker
        .describe_model_package()
        .model_package_name(arn)
        .send()
        .await
        .unwrap();
    let mut metadata = described.customer_metadata_properties.unwrap();
    edit(&mut metadata);
    sagemaker
        .update_model_package()
        .model_package_arn(arn)
        .set_model_approval_status(status)
        .set_customer_metadata_properties(Some(metadata))
        .send()
        .await
        .unwrap();
}

/// A log entry approving `environment` and deploying an attacker's image, as someone with
/// write access to the table but not the log key would write it (its MAC is made up).
fn forged_entry(group: &GroupName, arn: &str, environment: &str) -> serde_json::Value {
    let alice = serde_json::json!({"subject": "alice", "name": "Alice Approver", "email": "alice@example.com"});
    serde_json::json!({
        "id": "forged-1", "environment": environment, "verdict": "approve", "reason": null,
        "decided_by": alice, "decided_at": "2026-11-29T10:00:00Z",
        "resulting_state": "Approved", "approval_status": "Approved",
        "steps": {"dev": "Approved", "test": "Approved", "uat": "Approved", "prod": "Approved"},
        "deployment": {
            "model_package_group": group.as_str(), "model_package_version": 1,
            "model_package_arn": arn, "environment": environment,
            "image_uri": "attacker.example/backdoor:1", "model_data_url": "s3://attacker/model",
            "approved_by": alice, "approved_at": "2026-11-29T10:00:00Z", "decision_id": "forged-1"
        },
        "mac": "00".repeat(32)
    })
}

/// Writes an item of string and number attributes into the portal's table, as anyone
/// allowed `dynamodb:PutItem` could.
async fn put_item(moto: &Moto, attributes: &[(&str, &str)], numbers: &[(&str, u64)]) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let item = attributes
        .iter()
        .map(|(name, value)| (name.to_string(), AttributeValue::S(value.to_string())))
        .chain(
            numbers
                .iter()
                .map(|(name, value)| (name.to_string(), AttributeValue::N(value.to_string()))),
        )
        .collect();
    aws_sdk_dynamodb::Client::new(&moto.sdk_config().await)
        .put_item()
        .table_name("countersign")
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

/// How many decisions the log holds for `version`.
async fn logged(backend: &AwsBackend, version: &ModelVersion) -> usize {
    backend
        .decisions_for_version(&version.group, version.version)
        .await
        .unwrap()
        .len()
}

/// The decision whose deployment is live in `environment`, as pipelines read it.
async fn live_decision(
    backend: &AwsBackend,
    group: &GroupName,
    environment: &str,
) -> Option<String> {
    backend
        .live(group, &env(environment))
        .await
        .unwrap()
        .map(|live| live.decision_id)
}

/// Alice's approval of `version` for dev, as decision `id`, computed and not yet committed.
fn alice_approves_dev(services: &Services, version: &ModelVersion, id: &str) -> DecisionEffect {
    workflow::decide(
        services.policy(),
        version,
        &[],
        &approver("alice"),
        &approve("dev"),
        Stamp {
            id: id.into(),
            at: time::OffsetDateTime::now_utc(),
        },
    )
    .unwrap()
}

fn approve(environment: &str) -> DecisionRequest {
    DecisionRequest::new(env(environment), Choice::Approve, "metrics hold up")
}

/// The port contract, a test per check, each against a moto server of its own.
mod contract {
    use super::*;

    async fn backend() -> (Moto, countersign_port_contract::Subject) {
        let moto = Moto::start();
        let (_, services) = with_backend(&moto).await;
        (moto, services)
    }

    countersign_port_contract::contract_tests!(backend);
}

mod decision_table {
    use super::*;
    use countersign_aws::table::{Deploys, NewEntry, Placement, Table};

    fn entry<'a>(
        group: &'a GroupName,
        version: u32,
        seq: u64,
        decision_id: &'a str,
        deploys: Option<Deploys<'a>>,
    ) -> NewEntry<'a> {
        NewEntry {
            group,
            version: VersionNumber::new(version).unwrap(),
            seq,
            decision_id,
            entry: "{\"the\":\"signed entry\"}",
            logged_at: time::OffsetDateTime::now_utc(),
            deploys,
            trail: None,
        }
    }

    async fn appended(table: &Table, new: &NewEntry<'_>) -> Placement {
        table.put_entry(new).await.unwrap()
    }

    /// The decision the dev guard names.
    async fn guard_of(table: &Table, group: &GroupName) -> Option<String> {
        table
            .guard(group, "dev")
            .await
            .unwrap()
            .map(|guard| guard.decision_id)
    }

    fn to_dev(replaces: Option<&str>) -> Option<Deploys<'_>> {
        Some(Deploys {
            environment: "dev",
            replaces,
        })
    }

    #[tokio::test]
    async fn a_missing_table_stops_start_up_unless_the_portal_may_create_it() {
        let moto = Moto::start();
        let table = Table::new(&moto.sdk_config().await, "countersign-log");
        let refused = table.prepare(false).await;
        assert!(
            matches!(&refused, Err(PortError::Unavailable(m)) if m.contains("countersign-log")
                && m.contains("deploy/countersign-table.yaml")
                && m.contains("COUNTERSIGN_DYNAMODB_CREATE_TABLE")),
            "{refused:?}"
        );
        table.prepare(true).await.unwrap();
        table.prepare(false).await.unwrap();
        table.prepare(true).await.unwrap();
    }

    #[tokio::test]
    async fn the_log_reads_back_in_order_per_version_and_per_group() {
        let moto = Moto::start();
        let table = Table::new(&moto.sdk_config().await, "log");
        table.prepare(true).await.unwrap();
        let churn = GroupName::parse("churn").unwrap();
        let other = GroupName::parse("churn-v2").unwrap();
        for (group, version, seq, id) in [
            (&churn, 2, 1, "c2-1"),
            (&churn, 1, 1, "c1-1"),
            (&churn, 10, 1, "c10-1"),
            (&churn, 1, 2, "c1-2"),
            (&other, 1, 1, "o1-1"),
        ] {
            let written = table.put_entry(&entry(group, version, seq, id, None)).await;
            assert_eq!(written.unwrap(), Placement::Written);
        }
        let ids = |entries: Vec<countersign_aws::table::StoredEntry>| {
            entries
                .into_iter()
                .map(|e| e.decision_id)
                .collect::<Vec<_>>()
        };
        let one = VersionNumber::new(1).unwrap();
        assert_eq!(
            ids(table.version_log(&churn, one).await.unwrap()),
            ["c1-1", "c1-2"]
        );
        assert_eq!(
            ids(table.group_log(&churn).await.unwrap()),
            ["c1-1", "c1-2", "c2-1", "c10-1"],
            "version 10 after version 2; another group's entries apart"
        );
        let read = table.version_log(&churn, one).await.unwrap();
        assert_eq!((read[1].version, read[1].seq), (one, 2));
        assert_eq!(read[1].entry, "{\"the\":\"signed entry\"}");
        let calls = table.calls();
        assert_eq!(
            calls.get("dynamodb:Query"),
            Some(&3),
            "one Query per read: {calls:?}"
        );
        assert_eq!(calls.get("dynamodb:Scan"), None);
    }

    #[tokio::test]
    async fn a_place_in_the_log_and_an_environment_are_each_taken_once() {
        let moto = Moto::start();
        let table = Table::new(&moto.sdk_config().await, "log");
        table.prepare(true).await.unwrap();
        let group = GroupName::parse("guarded").unwrap();
        let one = VersionNumber::new(1).unwrap();

        assert_eq!(
            appended(&table, &entry(&group, 1, 1, "alice-1", to_dev(None))).await,
            Placement::Written
        );
        assert_eq!(guard_of(&table, &group).await.as_deref(), Some("alice-1"));
        assert_eq!(
            appended(&table, &entry(&group, 1, 1, "bob-1", to_dev(None))).await,
            Placement::Taken {
                decision_id: "alice-1".into()
            },
            "the same place in version 1's log"
        );
        assert_eq!(
            appended(&table, &entry(&group, 1, 1, "alice-1", to_dev(None))).await,
            Placement::Taken {
                decision_id: "alice-1".into()
            },
            "a retry finds its own entry"
        );

        // Version 2, computed when nothing was live in dev: refused whole.
        assert_eq!(
            appended(&table, &entry(&group, 2, 1, "late-2", to_dev(None))).await,
            Placement::EnvironmentMoved
        );
        let two = VersionNumber::new(2).unwrap();
        assert!(
            table.version_log(&group, two).await.unwrap().is_empty(),
            "nothing written"
        );
        assert_eq!(guard_of(&table, &group).await.as_deref(), Some("alice-1"));

        // Computed against version 1's deployment: written, and the guard moves on.
        assert_eq!(
            appended(
                &table,
                &entry(&group, 2, 1, "carol-2", to_dev(Some("alice-1")))
            )
            .await,
            Placement::Written
        );
        assert_eq!(guard_of(&table, &group).await.as_deref(), Some("carol-2"));
        // A rollback computed against version 1's deployment is now stale.
        assert_eq!(
            appended(
                &table,
                &entry(&group, 1, 2, "rollback-1", to_dev(Some("alice-1")))
            )
            .await,
            Placement::EnvironmentMoved
        );
        assert_eq!(table.version_log(&group, one).await.unwrap().len(), 1);
        // An environment no portal decision has guarded yet (live from before the table):
        // the first decision computed against what is live there takes the guard, and a
        // second one computed against the same live value is refused.
        let to_test = |replaces| {
            Some(Deploys {
                environment: "test",
                replaces,
            })
        };
        assert_eq!(
            appended(
                &table,
                &entry(&group, 3, 1, "first-in-test", to_test(Some("from-ssm")))
            )
            .await,
            Placement::Written
        );
        assert_eq!(
            appended(
                &table,
                &entry(&group, 4, 1, "second-in-test", to_test(Some("from-ssm")))
            )
            .await,
            Placement::EnvironmentMoved
        );
        // Decisions that deploy nothing take no guard.
        assert_eq!(
            appended(&table, &entry(&group, 1, 2, "reject-test", None)).await,
            Placement::Written
        );
    }

    // No racing test here: moto 5.2.5 checks the conditions of simultaneous transactions
    // before either writes (ten racers, two written, seen 2026-11-29), so only the
    // sequential cases above are a proof on moto; DynamoDB itself serialises transactions.
}
