//! The audit trail against a writer of the table, and checkpoints under S3 Object Lock.

use super::*;

/// The audit trail against someone allowed to write the portal's table (`PutItem`,
/// `DeleteItem`): the verifier names what they changed. Checkpoints they can also reach in
/// the table; the newest, published as a version of an SSM parameter, they cannot.
#[tokio::test]
async fn the_audit_trail_catches_what_a_writer_of_the_table_does() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let moto = Moto::start();
    let (_backend, services) = with_backend(&moto).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let item = |group: &GroupName, sk: String| {
        std::collections::HashMap::from([
            ("pk".to_owned(), AttributeValue::S(format!("group#{group}"))),
            ("sk".to_owned(), AttributeValue::S(sk)),
        ])
    };
    let verify = |bundle: countersign_audit::Bundle| {
        countersign_audit::verify(&bundle, Some(services.audit.notary.public_key()))
    };
    let decided = |name: &'static str| {
        let services = &services;
        async move {
            let version = registered_and_approved_for_dev(services, name).await;
            let bundle = countersign_port_contract::export(services, &version.group).await;
            (version.group, bundle)
        }
    };

    // Untouched, it verifies.
    let (group, bundle) = decided("intact").await;
    assert_eq!(verify(bundle).unwrap().decisions_checked, 1);
    let entries = services.ports.trail.entries(&group, 0).await.unwrap();
    assert_eq!(entries.len(), 4, "policy, registration, request, decision");

    // A reason edited in place: caught at its entry.
    let (group, _) = decided("edited").await;
    let entries = services.ports.trail.entries(&group, 0).await.unwrap();
    let mut edited = item(&group, "audit#entry#000000000003".into());
    edited.insert(
        "entry".into(),
        AttributeValue::S(entries[3].replacen("metrics hold up", "metrics held up", 1)),
    );
    edited.insert("key".into(), AttributeValue::S("x".into()));
    assert_ne!(entries[3], edited["entry"].as_s().unwrap().as_str());
    dynamodb
        .put_item()
        .table_name("countersign")
        .set_item(Some(edited))
        .send()
        .await
        .unwrap();
    let bundle = countersign_port_contract::export(&services, &group).await;
    assert_eq!(verify(bundle).unwrap_err().entry, Some(3));

    // The tail cut off, with the table's checkpoints of it: the one in SSM shows it.
    let (group, _) = decided("truncated").await;
    for sk in [
        "audit#entry#000000000003".to_owned(),
        "audit#checkpoint#000000000004".to_owned(),
    ] {
        dynamodb
            .delete_item()
            .table_name("countersign")
            .set_key(Some(item(&group, sk)))
            .send()
            .await
            .unwrap();
    }
    let bundle = countersign_port_contract::export(&services, &group).await;
    let violation = verify(bundle).unwrap_err();
    assert_eq!(violation.entry, Some(3));
    assert!(
        violation.message.contains("tail was cut off"),
        "{violation}"
    );

    // A checkpoint another key signed, put where the portal publishes them.
    let (group, bundle) = decided("forged").await;
    let other = countersign_audit::Notary::from_key(&countersign_audit::Notary::generate_key(
        "contract.example",
    ))
    .unwrap();
    let size = bundle.entries.len() as u64;
    let mut tree = countersign_audit::tree::Frontier::default();
    for entry in &bundle.entries {
        tree.push(countersign_audit::entry::entry_hash(entry));
    }
    let note = other.sign(
        group.as_str(),
        size,
        tree.root(),
        time::OffsetDateTime::now_utc(),
    );
    put_string(&moto, &format!("/countersign/_audit/{group}"), &note).await;
    let bundle = countersign_port_contract::export(&services, &group).await;
    let violation = verify(bundle).unwrap_err();
    assert!(
        violation.message.contains("not signed by the audit key"),
        "{violation}"
    );
}

/// With `COUNTERSIGN_AUDIT_BUCKET`, checkpoints go to S3 under Object Lock in compliance mode,
/// where a writer of the table cannot reach them: the newest shows a tail cut off the table.
/// A bucket without Object Lock stops start-up.
#[tokio::test]
async fn checkpoints_are_locked_in_s3_where_a_cut_tail_shows() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let s3 = moto.bucket("audit-locked", true).await;
    moto.bucket("audit-plain", false).await;
    let with_bucket = |name: &str| countersign_aws::AwsSettings {
        audit_bucket: Some(countersign_aws::AuditBucket {
            name: name.into(),
            retention: time::Duration::days(1),
        }),
        ..settings()
    };
    let plain = AwsBackend::new(&config, with_bucket("audit-plain"));
    let refused = plain.prepare().await;
    assert!(
        matches!(&refused, Err(PortError::Rejected(m)) if m.contains("has no Object Lock")),
        "{refused:?}"
    );

    let backend = Arc::new(AwsBackend::new(&config, with_bucket("audit-locked")));
    backend.prepare().await.unwrap();
    let services = services_over(backend.clone(), backend.clone(), policy());
    let version = registered_and_approved_for_dev(&services, "locked").await;
    let group = version.group.clone();
    let listed = s3
        .list_objects_v2()
        .bucket("audit-locked")
        .prefix("audit/locked/")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        keys,
        [
            "audit/locked/000000000002",
            "audit/locked/000000000003",
            "audit/locked/000000000004"
        ]
    );
    let head = s3
        .head_object()
        .bucket("audit-locked")
        .key("audit/locked/000000000004")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.object_lock_mode(),
        Some(&aws_sdk_s3::types::ObjectLockMode::Compliance)
    );
    let removed = s3
        .delete_object()
        .bucket("audit-locked")
        .key("audit/locked/000000000004")
        .set_version_id(head.version_id().map(str::to_owned))
        .send()
        .await;
    assert!(
        removed.is_err(),
        "a locked checkpoint cannot be deleted: {removed:?}"
    );
    let bundle = countersign_port_contract::export(&services, &group).await;
    countersign_audit::verify(&bundle, Some(services.audit.notary.public_key())).unwrap();

    // The decision's entry and the table's checkpoint of it removed.
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    for sk in ["audit#entry#000000000003", "audit#checkpoint#000000000004"] {
        dynamodb
            .delete_item()
            .table_name("countersign")
            .key("pk", AttributeValue::S(format!("group#{group}")))
            .key("sk", AttributeValue::S(sk.into()))
            .send()
            .await
            .unwrap();
    }
    let bundle = countersign_port_contract::export(&services, &group).await;
    let violation =
        countersign_audit::verify(&bundle, Some(services.audit.notary.public_key())).unwrap_err();
    assert_eq!(violation.entry, Some(3), "{violation}");
    assert!(
        violation.message.contains("tail was cut off"),
        "{violation}"
    );
}
