//! The outbox in the table: its contract, replicas, what the notifications page reads, expiry.

use super::*;

#[tokio::test]
async fn the_outbox_in_the_table_meets_its_contract_and_replicas_queue_a_message_once() {
    let moto = Moto::start();
    let backend = moto.backend().await;
    countersign_port_contract::run_outbox(&backend).await;

    let other_replica = moto.backend().await;
    let message = OutgoingMessage {
        key: "approval-request/churn/3/dev".into(),
        to: vec!["ml-leads@example.com".into()],
        subject: "churn version 3 awaits approval for dev".into(),
        text: "text".into(),
        html: "<p>html</p>".into(),
    };
    let now = time::OffsetDateTime::now_utc();
    let (a, b) = tokio::join!(
        backend.enqueue(&message, now),
        other_replica.enqueue(&message, now)
    );
    assert_eq!(
        [a.unwrap(), b.unwrap()]
            .iter()
            .filter(|added| **added)
            .count(),
        1
    );
    // How many times the two replicas, polling at once, lease the message.
    let (backend, other_replica, key) = (&backend, &other_replica, &message.key);
    let leased_by_both = |now, until| async move {
        let (a, b) = tokio::join!(
            backend.lease_due(now, until, 10),
            other_replica.lease_due(now, until, 10)
        );
        a.unwrap()
            .into_iter()
            .chain(b.unwrap())
            .filter(|e| &e.message.key == key)
            .count()
    };
    let lease = now + time::Duration::minutes(2);
    assert_eq!(leased_by_both(now, lease).await, 1, "one replica sends it");

    // The replica that took it stops: within its lease nobody else takes the message, after
    // it the message is offered again, to one replica.
    let within = lease - time::Duration::seconds(1);
    assert!(other_replica
        .lease_due(within, within + time::Duration::minutes(2), 10)
        .await
        .unwrap()
        .iter()
        .all(|e| e.message.key != message.key));
    let after_lease = lease + time::Duration::seconds(1);
    let later = after_lease + time::Duration::minutes(2);
    assert_eq!(
        leased_by_both(after_lease, later).await,
        1,
        "offered again, once"
    );
    backend.record_sent(&message.key, later).await.unwrap();
    assert_eq!(
        backend.entry(&message.key).await.unwrap().unwrap().state,
        DeliveryState::Sent
    );
}

#[tokio::test]
async fn the_notifications_page_reads_the_messages_it_shows_not_every_message_ever() {
    let moto = Moto::start();
    let backend = moto.backend().await;
    let now = time::OffsetDateTime::now_utc();
    for n in 0..40 {
        let message = OutgoingMessage {
            key: format!("approval-request/churn/{n}/dev"),
            to: vec!["ml-leads@example.com".into()],
            subject: format!("churn version {n}"),
            text: "text".into(),
            html: "<p>html</p>".into(),
        };
        backend.enqueue(&message, now).await.unwrap();
    }
    let before = backend.calls();
    let shown = backend
        .recent(PageRequest {
            offset: 5,
            limit: 5,
        })
        .await
        .unwrap();
    assert_eq!((shown.items.len(), shown.total), (5, 40));
    let used = |action: &str| {
        backend.calls().get(action).copied().unwrap_or(0) - before.get(action).copied().unwrap_or(0)
    };
    assert_eq!(
        used("dynamodb:Query"),
        2,
        "one Query counts the messages, one reads the page"
    );
    assert_eq!(used("dynamodb:GetItem"), 0, "no read per message");
    assert_eq!(used("dynamodb:Scan"), 0);
}

#[tokio::test]
async fn messages_expire_after_the_retention_and_log_entries_never() {
    let moto = Moto::start();
    let (_, services) = with_backend(&moto).await;
    registered_and_approved_for_dev(&services, "kept").await;
    let backend = AwsBackend::new(
        &moto.sdk_config().await,
        countersign_aws::AwsSettings {
            outbox_retention: time::Duration::days(30),
            ..settings()
        },
    );
    let now = time::OffsetDateTime::now_utc();
    let message = OutgoingMessage {
        key: "approval-request/kept/1/test".into(),
        to: vec!["ml-leads@example.com".into()],
        subject: "kept version 1".into(),
        text: "text".into(),
        html: "<p>html</p>".into(),
    };
    backend.enqueue(&message, now).await.unwrap();

    let dynamodb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let ttl = dynamodb
        .describe_time_to_live()
        .table_name("countersign")
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(ttl.attribute_name.as_deref(), Some("expires_at"));
    let items = dynamodb
        .scan()
        .table_name("countersign")
        .send()
        .await
        .unwrap()
        .items
        .unwrap();
    let expiry = |sk_prefix: &str| -> Vec<Option<i64>> {
        items
            .iter()
            .filter(|item| item["sk"].as_s().unwrap().starts_with(sk_prefix))
            .map(|item| {
                item.get("expires_at")
                    .map(|v| v.as_n().unwrap().parse().unwrap())
            })
            .collect()
    };
    let in_30_days = (now + time::Duration::days(30)).unix_timestamp();
    assert_eq!(expiry("message"), [Some(in_30_days)]);
    let logged = expiry("log#");
    assert_eq!(logged.len(), 1);
    assert!(
        logged.iter().all(Option::is_none),
        "log entries never expire"
    );
}

#[tokio::test]
async fn an_idle_outbox_poll_costs_one_query() {
    let moto = Moto::start();
    let backend = moto.backend().await;
    let now = time::OffsetDateTime::now_utc();
    let message = OutgoingMessage {
        key: "approval-request/churn/1/dev".into(),
        to: vec!["ml-leads@example.com".into()],
        subject: "churn version 1".into(),
        text: "text".into(),
        html: "<p>html</p>".into(),
    };
    backend.enqueue(&message, now).await.unwrap();
    backend
        .lease_due(now, now + time::Duration::minutes(1), 10)
        .await
        .unwrap();
    backend.record_sent(&message.key, now).await.unwrap();
    let before = backend.calls();
    let due = backend
        .lease_due(now, now + time::Duration::minutes(1), 10)
        .await
        .unwrap();
    assert!(due.is_empty());
    let after = backend.calls();
    let used: u64 = after
        .iter()
        .map(|(action, n)| n - before.get(action).copied().unwrap_or(0))
        .sum();
    assert_eq!(
        (
            used,
            after.get("dynamodb:Query").copied().unwrap_or(0)
                - before.get("dynamodb:Query").copied().unwrap_or(0)
        ),
        (1, 1),
        "{after:?}"
    );
}
