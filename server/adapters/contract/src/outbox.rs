//! The outbox's promises: each message queued once, leased to one sender, retried and
//! given up visibly.

use super::*;

pub(super) fn message(key: &str) -> OutgoingMessage {
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
