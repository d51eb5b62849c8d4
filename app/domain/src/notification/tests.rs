use super::*;

#[test]
fn requests_name_the_environment_they_ask_to_decide() {
    assert_eq!(
        requested_environment("approval-request/churn/7/dev"),
        Some("dev")
    );
    assert_eq!(
        requested_environment("promotion-request/churn/7/uat"),
        Some("uat")
    );
    assert_eq!(requested_environment("decision/0f1e"), None);
    assert_eq!(requested_environment("approval-request/"), None);
}

#[test]
fn an_escalation_is_about_its_environment_as_a_request_is() {
    assert_eq!(environment_of("escalation/churn/7/prod"), Some("prod"));
    assert_eq!(environment_of("reminder/churn/7/prod"), Some("prod"));
    assert_eq!(
        environment_of("approval-request/churn/7/dev/chat"),
        Some("dev")
    );
    assert_eq!(environment_of("decision/0f1e"), None);
    assert_eq!(environment_of("escalation/"), None);
}

#[test]
fn a_waiting_step_is_reminded_then_escalated_where_someone_is_named() {
    let policy = Policy::new(Environments::default(), "approvers");
    let version = registered(&policy);
    let (dev, prod) = (
        Environment::parse("dev").unwrap(),
        Environment::parse("prod").unwrap(),
    );
    let rules = FollowUps {
        remind_after: Some(time::Duration::hours(24)),
        escalate_after: Some(time::Duration::hours(72)),
        escalated_in: [prod.clone()].into(),
    };
    let since = OffsetDateTime::UNIX_EPOCH;
    let keys = |environment: &Environment, hours: i64| -> Vec<String> {
        follow_ups_due(
            &rules,
            &version,
            environment,
            since,
            since + time::Duration::hours(hours),
        )
        .iter()
        .map(Notice::key)
        .collect()
    };
    assert!(keys(&prod, 23).is_empty());
    assert_eq!(keys(&prod, 24), ["reminder/churn/7/prod"]);
    assert_eq!(
        keys(&prod, 80),
        ["reminder/churn/7/prod", "escalation/churn/7/prod"]
    );
    assert_eq!(
        keys(&dev, 80),
        ["reminder/churn/7/dev"],
        "nobody to escalate dev to"
    );
    let off = FollowUps {
        remind_after: None,
        escalate_after: None,
        ..rules.clone()
    };
    assert!(follow_ups_due(
        &off,
        &version,
        &prod,
        since,
        since + time::Duration::days(30)
    )
    .is_empty());
    assert_eq!(requested_environment("reminder/churn/7/prod"), Some("prod"));
    assert_eq!(
        requested_environment(&chat_key("approval-request/churn/7/dev")),
        Some("dev"),
        "a chat message is resent by the approvers it asks"
    );
}

#[test]
fn a_message_is_sent_again_at_most_once_a_minute_and_not_while_it_waits() {
    use crate::ports::{DeliveryState, OutboxEntry, OutgoingMessage};
    let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(1);
    let entry = |state, attempts, sent_ago: Option<i64>| OutboxEntry {
        message: OutgoingMessage {
            key: "approval-request/churn/7/dev".into(),
            to: vec![],
            subject: String::new(),
            text: String::new(),
            html: String::new(),
        },
        state,
        attempts,
        last_error: None,
        created_at: now - time::Duration::hours(1),
        next_attempt_at: None,
        sent_at: sent_ago.map(|s| now - time::Duration::seconds(s)),
    };
    assert!(entry(DeliveryState::Pending, 0, None)
        .resend_refusal(now)
        .is_some());
    assert!(
        entry(DeliveryState::Pending, 2, None)
            .resend_refusal(now)
            .is_none(),
        "retrying"
    );
    assert!(entry(DeliveryState::GaveUp, 8, None)
        .resend_refusal(now)
        .is_none());
    assert!(entry(DeliveryState::Sent, 1, Some(30))
        .resend_refusal(now)
        .is_some());
    assert!(entry(DeliveryState::Sent, 1, Some(61))
        .resend_refusal(now)
        .is_none());
}
use crate::testing::{decided_first, registered};
use crate::Environments;

fn decided(policy: &Policy, version: &ModelVersion, choice: Choice) -> ModelVersion {
    decided_first(policy, version, choice)
}

#[test]
fn a_new_version_needs_one_request_for_its_first_environment() {
    let policy = Policy::new(Environments::default(), "approvers");
    let version = registered(&policy);
    let notice = approval_request_due(&policy, &version).expect("a request is due");
    assert_eq!(notice.key(), "approval-request/churn/7/dev");
    assert_eq!(
        approval_request_due(&policy, &version).map(|n| n.key()),
        Some(notice.key()),
        "asking again names the same request"
    );
}

#[test]
fn a_decided_version_needs_no_request() {
    let policy = Policy::new(Environments::default(), "approvers");
    let version = registered(&policy);
    for verdict in [Choice::Approve, Choice::Reject] {
        let after = decided(&policy, &version, verdict);
        assert_eq!(approval_request_due(&policy, &after), None, "{verdict:?}");
    }
}

#[test]
fn a_first_environment_still_collecting_approvals_keeps_its_one_request() {
    let policy = Policy::new(Environments::default(), "approvers")
        .with_required_approvals("dev", 2)
        .unwrap();
    let version = registered(&policy);
    let partly = decided(&policy, &version, Choice::Approve);
    assert_eq!(
        approval_request_due(&policy, &partly).map(|n| n.key()),
        Some("approval-request/churn/7/dev".to_owned())
    );
}
