//! `countersign iq` on AWS: a deployment as the README requires it passes every item, and a
//! table, bucket or key set up otherwise fails the items it misses, each named.

use super::*;
use countersign_aws::installation::InstallationCheck;

fn failed(checks: &[InstallationCheck]) -> Vec<&str> {
    checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.item.as_str())
        .collect()
}

// Proves: AC-08.
#[tokio::test]
async fn a_deployment_as_the_readme_requires_passes_every_installation_check() {
    let moto = Moto::start();
    // As the README's AWS CLI steps create it: moto's CloudFormation leaves out the
    // template's encryption, TTL and point-in-time recovery.
    let table = moto.table_from_cli("countersign-from-cli");
    let config = moto.sdk_config().await;
    moto.bucket("audit-locked", true).await;
    let backend = Arc::new(AwsBackend::new(
        &config,
        countersign_aws::AwsSettings {
            table,
            create_table: false,
            secrets_kms_key_id: Some("alias/countersign".into()),
            audit_bucket: Some(countersign_aws::AuditBucket {
                name: "audit-locked".into(),
                retention: time::Duration::days(1),
            }),
            ..settings()
        },
    ));
    backend.prepare().await.unwrap();
    let services = services_over(backend.clone(), backend.clone(), policy());
    registered_and_approved_for_dev(&services, "iq").await;

    let checks = backend.installation_checks().await;
    assert_eq!(failed(&checks), Vec::<&str>::new(), "{checks:#?}");
    assert!(checks.len() >= 11, "{checks:#?}");
    let locked = checks
        .iter()
        .find(|c| c.item.contains("locked in compliance mode"))
        .unwrap();
    assert!(locked.detail.starts_with("audit/iq/"), "{locked:?}");
}

// Proves: AC-08.
#[tokio::test]
async fn a_deployment_set_up_otherwise_fails_each_item_it_misses() {
    // The table as the portal creates it for a laptop against moto: TTL on, nothing else.
    let moto = Moto::start();
    let backend = moto.backend().await;
    let checks = backend.installation_checks().await;
    assert_eq!(
        failed(&checks),
        [
            "the table has point-in-time recovery on",
            "the table has deletion protection on",
            "the table is encrypted with a KMS key",
            "audit checkpoints are kept in an S3 bucket under Object Lock",
            "the shared secrets are encrypted under a customer managed KMS key",
        ],
        "{checks:#?}"
    );
    let gone = AwsBackend::new(
        &moto.sdk_config().await,
        countersign_aws::AwsSettings {
            table: "no-such-table".into(),
            ..settings()
        },
    );
    let checks = gone.installation_checks().await;
    assert!(
        !checks[0].passed && checks[0].detail.contains("ResourceNotFoundException"),
        "{checks:#?}"
    );
}

// Proves: AT-07.
#[tokio::test]
async fn the_portals_aws_identity_is_named_and_only_a_first_start_creates_the_log_key() {
    let moto = Moto::start();
    let first = moto.backend().await;
    assert!(first.created_the_log_key(), "a first start creates it");
    let arn = first.caller_arn().await.unwrap();
    assert!(arn.starts_with("arn:aws:"), "{arn}");
    let second = moto.backend().await;
    assert!(
        !second.created_the_log_key(),
        "a later start, or another replica, reads the one there"
    );
}
