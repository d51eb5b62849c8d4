//! Requests per page and per decision, least privilege, missing permissions and throttling.

use super::*;

#[tokio::test]
async fn a_page_costs_the_same_few_requests_however_many_rows_it_shows() {
    let moto = Moto::start();
    let (backend, services) = with_backend(&moto).await;
    let group = GroupName::parse("wide").unwrap();
    for _ in 0..120 {
        services
            .register(registration("wide", person("dana")))
            .await
            .unwrap();
    }
    let requests_for = |before: &countersign_aws::CallCounts, action: &str| {
        backend.calls().get(action).copied().unwrap_or(0) - before.get(action).copied().unwrap_or(0)
    };

    let before = backend.calls();
    let page = backend
        .list_versions(
            &group,
            PageRequest {
                offset: 0,
                limit: 50,
            },
        )
        .await
        .unwrap();
    assert_eq!((page.total, page.items.len()), (120, 50));
    assert_eq!(page.items[0].version.get(), 120);
    assert_eq!(
        page.items[0].metrics.get("auc"),
        Some(&0.91),
        "rows carry their metadata"
    );
    assert_eq!(
        requests_for(&before, "sagemaker:ListModelPackages"),
        2,
        "120 versions, 100 per request"
    );
    assert_eq!(requests_for(&before, "sagemaker:Search"), 1);
    assert_eq!(
        requests_for(&before, "sagemaker:DescribeModelPackage"),
        0,
        "no request per row"
    );

    let before = backend.calls();
    let last = backend
        .list_versions(
            &group,
            PageRequest {
                offset: 100,
                limit: 50,
            },
        )
        .await
        .unwrap();
    let numbers: Vec<u32> = last.items.iter().map(|v| v.version.get()).collect();
    assert_eq!(numbers, (1..=20).rev().collect::<Vec<_>>());
    assert!(requests_for(&before, "sagemaker:Search") <= 2);

    let before = backend.calls();
    backend
        .find_version(&group, VersionNumber::new(7).unwrap())
        .await
        .unwrap()
        .unwrap();
    let total: u64 = backend
        .calls()
        .iter()
        .map(|(a, n)| n - before.get(a).copied().unwrap_or(0))
        .sum();
    assert_eq!(
        total,
        2,
        "one describe and one log read: {:?}",
        backend.calls()
    );
}

/// The requests each kind of AWS request `work` made, as "action n, action n".
async fn requests_of<T>(
    backend: &AwsBackend,
    work: impl std::future::Future<Output = T>,
) -> (T, countersign_aws::CallCounts) {
    let before = backend.calls();
    let out = work.await;
    let used = backend
        .calls()
        .into_iter()
        .map(|(action, n)| (action, n - before.get(action).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    (out, used)
}

fn figures(counts: &countersign_aws::CallCounts) -> String {
    let total: u64 = counts.values().sum();
    let each: Vec<String> = counts.iter().map(|(a, n)| format!("{a} {n}")).collect();
    format!("{total} ({})", each.join(", "))
}

/// The request budget of issue 14, asserted; `make bench` prints these lines.
#[tokio::test]
async fn requests_per_page_decision_poll_and_resolve_stay_within_budget() {
    let moto = Moto::start();
    let (backend, services) = with_backend(&moto).await;
    let version = registered_and_approved_for_dev(&services, "budget").await;
    let (group, number) = (version.group.clone(), version.version);

    let (record, log_read) = requests_of(&backend, services.version_record(&group, number)).await;
    assert_eq!(record.unwrap().decisions.len(), 1);
    assert_eq!(
        log_read,
        countersign_aws::CallCounts::from([
            ("dynamodb:Query", 1),
            ("sagemaker:DescribeModelPackage", 1)
        ]),
        "the version and its log: one describe, one Query"
    );
    let (_, page) = requests_of(&backend, async {
        use countersign_domain::ports::AuditTrail;
        let record = services.version_record(&group, number).await.unwrap();
        services.reports_for_version(&group, number).await.unwrap();
        services.live_state(&group).await.unwrap();
        // What the page shows of each decision is its trail entry, read by key.
        let keys: Vec<String> = std::iter::once("policy/0".to_owned())
            .chain(
                record
                    .decisions
                    .iter()
                    .map(|d| format!("decision/{}", d.id)),
            )
            .collect();
        let entries = backend.entries_keyed(&group, &keys).await.unwrap();
        assert_eq!(entries.len(), keys.len());
    })
    .await;
    assert_eq!(
        page.get("dynamodb:Query"),
        Some(&3),
        "log, reports, history"
    );
    assert_eq!(
        page.get("dynamodb:BatchGetItem"),
        Some(&2),
        "the decisions' trail entries: their keys, then the entries"
    );
    assert_eq!(page.get("dynamodb:Scan"), None);
    let (_, decision) = requests_of(
        &backend,
        services.decide(&approver("bob"), &group, number, &approve("test")),
    )
    .await;
    let (_, idle) = requests_of(
        &backend,
        backend.lease_due(
            time::OffsetDateTime::now_utc(),
            time::OffsetDateTime::now_utc() + time::Duration::minutes(1),
            10,
        ),
    )
    .await;
    assert_eq!(
        idle,
        countersign_aws::CallCounts::from([("dynamodb:Query", 1)])
    );
    let (_, resolve) = requests_of(&backend, services.resolve(&group, &env("dev"))).await;
    assert_eq!(
        resolve,
        countersign_aws::CallCounts::from([("ssm:GetParameter", 1), ("dynamodb:GetItem", 1)]),
        "the live value and the guard it must equal"
    );
    println!(
        "requests per version page (uncached live values): {}",
        figures(&page)
    );
    println!("requests per approval (it deploys): {}", figures(&decision));
    println!("requests per idle outbox poll: {}", figures(&idle));
    println!(
        "requests per resolve on a cache miss: {}",
        figures(&resolve)
    );
}

#[tokio::test]
async fn a_missing_permission_is_reported_with_the_action_named() {
    let moto = Moto::start_enforcing_iam(3);
    let credentials = moto.user_denied(&["sagemaker:UpdateModelPackage"]);
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .endpoint_url(&moto.endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_provider(credentials))
        .build();
    let backend = Arc::new(AwsBackend::new(&config, settings()));
    backend.prepare().await.unwrap();
    let services = services_over(backend.clone(), backend.clone(), policy());
    let version = services
        .register(registration("guarded", person("dana")))
        .await
        .unwrap();

    let refused = services
        .decide(
            &approver("alice"),
            &version.group,
            version.version,
            &approve("dev"),
        )
        .await;
    let Err(ServiceError::Port(PortError::Denied(message))) = refused else {
        panic!("expected a denial, got {refused:?}");
    };
    assert!(
        message.contains("needs permission sagemaker:UpdateModelPackage"),
        "{message}"
    );
    // Logged but not applied: it shows as incomplete until the role may finish it.
    let log = backend
        .decisions_for_version(&version.group, version.version)
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
}

#[tokio::test]
async fn the_table_from_the_iac_template_serves_the_portal_with_least_privilege() {
    let moto = Moto::start_enforcing_iam(8);
    let (table, credentials) = moto.table_from_iac();
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .endpoint_url(&moto.endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_provider(credentials))
        .build();
    // As in production: the portal may not create its table, and does not need to.
    let backend = Arc::new(AwsBackend::new(
        &config,
        countersign_aws::AwsSettings {
            table: table.clone(),
            create_table: false,
            ..settings()
        },
    ));
    backend.prepare().await.unwrap();
    let services = services_over(backend.clone(), backend.clone(), policy());
    let version = registered_and_approved_for_dev(&services, "iac").await;
    let record = services
        .version_record(&version.group, version.version)
        .await
        .unwrap();
    assert_eq!(record.decisions.len(), 1);
    countersign_port_contract::run_outbox(backend.as_ref()).await;
    countersign_port_contract::run_session_revocations(backend.as_ref()).await;

    // What the policy leaves out is refused: the log cannot be deleted through the portal's
    // credentials.
    let deleted = aws_sdk_dynamodb::Client::new(&config)
        .delete_item()
        .table_name(&table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("group#iac".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("log#0000000001#000001".into()),
        )
        .send()
        .await;
    // Refused by IAM (403), not for any other reason such as a wrong table or key.
    let status = deleted
        .as_ref()
        .err()
        .and_then(|e| e.raw_response())
        .map(|response| response.status().as_u16());
    assert_eq!(status, Some(403), "{deleted:?}");
    assert_eq!(logged(&backend, &version).await, 1);
}

fn aws_credential_provider(
    credentials: aws_sdk_ssm::config::Credentials,
) -> aws_sdk_ssm::config::SharedCredentialsProvider {
    aws_sdk_ssm::config::SharedCredentialsProvider::new(credentials)
}

/// SSM throttling, which moto never does: the one fault here served by a stand-in. It
/// answers `ThrottlingException` to the first `throttled` requests, then a parameter.
async fn throttling_ssm(throttled: usize) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use axum::http::StatusCode;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            if counter.fetch_add(1, Ordering::SeqCst) < throttled {
                let body = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
                return (StatusCode::BAD_REQUEST, body.to_owned());
            }
            let document = r#"{\"model_package_group\":\"churn\",\"model_package_version\":1,\"model_package_arn\":\"a\",\"environment\":\"dev\",\"image_uri\":\"i\",\"model_data_url\":\"m\",\"approved_by\":{\"subject\":\"s\",\"name\":\"n\",\"email\":\"e\"},\"approved_at\":\"2026-11-26T12:00:00Z\",\"decision_id\":\"d\"}"#;
            let body = format!(
                r#"{{"Parameter":{{"Name":"/countersign/churn/dev","Type":"String","Value":"{document}","Version":1}}}}"#
            );
            (StatusCode::OK, body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, requests)
}

#[tokio::test]
async fn throttling_is_retried_with_backoff_then_reported() {
    use std::sync::atomic::Ordering;
    let group = GroupName::parse("churn").unwrap();

    let (url, requests) = throttling_ssm(2).await;
    let backend = AwsBackend::new(&sdk_config_at(&url).await, settings());
    let live = backend.live(&group, &env("dev")).await.unwrap().unwrap();
    assert_eq!(live.decision_id, "d");
    assert_eq!(
        requests.load(Ordering::SeqCst),
        3,
        "two throttled attempts, then through"
    );

    let (url, requests) = throttling_ssm(usize::MAX).await;
    let backend = AwsBackend::new(&sdk_config_at(&url).await, settings());
    let failed = backend.live(&group, &env("dev")).await;
    assert!(
        matches!(&failed, Err(PortError::Unavailable(m)) if m.contains("throttled ssm:GetParameter")),
        "{failed:?}"
    );
    assert_eq!(requests.load(Ordering::SeqCst), 5, "five attempts in all");
}
