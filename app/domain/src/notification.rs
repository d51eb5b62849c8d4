//! Who is told what: approvers, when a version starts waiting for its first environment, and
//! when a run in one environment asks them to promote it to theirs; the registrant, of every
//! decision on their version. Each notice has a key naming it once and
//! for all, so however often it is asked for (an event delivered twice, an event and the
//! reconciliation scan, two replicas at once) it is sent once.

use crate::environment::Environment;
use crate::model::*;
use crate::policy::Policy;
use crate::report::InferenceReport;

#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    /// The version waits for the approvers of `environment`.
    ApprovalRequested {
        version: ModelVersion,
        environment: Environment,
    },
    /// Someone decided a step of the version; its registrant is told.
    Decided {
        version: ModelVersion,
        record: Box<DecisionRecord>,
    },
    /// A run of the version in the environment before `target` reported its metrics; the
    /// approvers of `target` are asked to promote it, beside what is live there now.
    PromotionRequested {
        version: ModelVersion,
        target: Environment,
        report: Box<InferenceReport>,
        live: Option<Box<LiveComparison>>,
    },
}

/// The version live in an environment and its newest report, to compare a candidate with.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveComparison {
    pub deployment: Deployment,
    pub report: Option<InferenceReport>,
}

impl Notice {
    /// The notice's identity: one message per key, ever.
    pub fn key(&self) -> String {
        match self {
            Notice::ApprovalRequested {
                version,
                environment,
            } => format!(
                "approval-request/{}/{}/{environment}",
                version.group, version.version
            ),
            Notice::Decided { record, .. } => format!("decision/{}", record.id),
            // One per version and target, whatever the number of runs reported: the
            // approvers are asked once, and the page shows every report.
            Notice::PromotionRequested {
                version, target, ..
            } => promotion_request_key(version, target),
        }
    }
}

/// The key of the request to promote `version` to `target`.
pub fn promotion_request_key(version: &ModelVersion, target: &Environment) -> String {
    format!(
        "promotion-request/{}/{}/{target}",
        version.group, version.version
    )
}

/// The setting naming who is told when a version waits for `environment`.
pub fn recipients_setting(environment: &Environment) -> String {
    format!(
        "COUNTERSIGN_NOTIFY_{}",
        environment.as_str().to_uppercase().replace('-', "_")
    )
}

/// The environment whose approvers a message with this key asks to decide, for approval and
/// promotion requests (`approval-request/{group}/{version}/{env}`); `None` for others.
pub fn requested_environment(key: &str) -> Option<&str> {
    let rest = key
        .strip_prefix("approval-request/")
        .or_else(|| key.strip_prefix("promotion-request/"))?;
    rest.rsplit('/').next().filter(|_| rest.contains('/'))
}

/// The approval request a version needs now, if any: its first environment, while nobody has
/// decided the version. (Requests for later environments follow inference reports.)
pub fn approval_request_due(policy: &Policy, version: &ModelVersion) -> Option<Notice> {
    let first = policy.environments().first();
    let waiting = version.approval_status == ApprovalStatus::PendingManualApproval
        && version.steps.state(first) == StepState::PendingManualApproval;
    waiting.then(|| Notice::ApprovalRequested {
        version: version.clone(),
        environment: first.clone(),
    })
}

#[cfg(test)]
mod tests {
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
}
