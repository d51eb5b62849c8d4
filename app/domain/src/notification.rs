//! Who is told what: approvers, when a version starts waiting for its first environment, and
//! when a run in one environment asks them to promote it to theirs; the registrant, of every
//! decision on their version. Each notice has a key naming it once and
//! for all, so however often it is asked for (an event delivered twice, an event and the
//! reconciliation scan, two replicas at once) it is sent once.

use crate::environment::Environment;
use crate::model::*;
use crate::policy::Policy;
use crate::report::InferenceReport;
use time::OffsetDateTime;

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
    /// The version has waited for the approvers of `environment` since `since`, longer than
    /// the reminder interval: they are reminded, once.
    Reminder {
        version: ModelVersion,
        environment: Environment,
        since: OffsetDateTime,
    },
    /// It has waited longer than the escalation interval: whoever the environment escalates
    /// to is told, once.
    Escalation {
        version: ModelVersion,
        environment: Environment,
        since: OffsetDateTime,
    },
}

/// When a waiting step's approvers are reminded, and when it is escalated (and in which
/// environments: those with somebody to escalate to).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowUps {
    pub remind_after: Option<time::Duration>,
    pub escalate_after: Option<time::Duration>,
    pub escalated_in: std::collections::BTreeSet<Environment>,
}

/// The follow-ups a step waiting since `since` is due at `now`: each named by its key, so
/// asking again (every scan, on every replica) queues each once.
pub fn follow_ups_due(
    rules: &FollowUps,
    version: &ModelVersion,
    environment: &Environment,
    since: OffsetDateTime,
    now: OffsetDateTime,
) -> Vec<Notice> {
    let waited = now - since;
    let mut due = Vec::new();
    if rules.remind_after.is_some_and(|after| waited >= after) {
        due.push(Notice::Reminder {
            version: version.clone(),
            environment: environment.clone(),
            since,
        });
    }
    if rules.escalated_in.contains(environment)
        && rules.escalate_after.is_some_and(|after| waited >= after)
    {
        due.push(Notice::Escalation {
            version: version.clone(),
            environment: environment.clone(),
            since,
        });
    }
    due
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
            // A step waits once (it is decided once), so once per step.
            Notice::Reminder {
                version,
                environment,
                ..
            } => reminder_key(version, environment),
            Notice::Escalation {
                version,
                environment,
                ..
            } => escalation_key(version, environment),
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

/// The key of the reminder to the approvers of `environment` about `version`.
pub fn reminder_key(version: &ModelVersion, environment: &Environment) -> String {
    format!(
        "reminder/{}/{}/{environment}",
        version.group, version.version
    )
}

/// The key of the escalation of `version` waiting for `environment`.
pub fn escalation_key(version: &ModelVersion, environment: &Environment) -> String {
    format!(
        "escalation/{}/{}/{environment}",
        version.group, version.version
    )
}

/// The key of the chat message posted beside the message keyed `key`.
pub fn chat_key(key: &str) -> String {
    format!("{key}{CHAT_SUFFIX}")
}

const CHAT_SUFFIX: &str = "/chat";

/// The recipient a chat message names instead of an address: the environment whose incoming
/// webhook (`COUNTERSIGN_WEBHOOK_URL_<ENV>`) it goes to. The URL, a secret, is looked up when
/// the message is sent, so the outbox and the notifications page never hold it.
pub fn chat_recipient(environment: &str) -> String {
    format!("{CHAT_RECIPIENT}{environment}")
}

/// The environment whose chat a message is posted to; `None` for mail.
pub fn chat_environment(to: &[String]) -> Option<&str> {
    match to {
        [only] => only.strip_prefix(CHAT_RECIPIENT),
        _ => None,
    }
}

const CHAT_RECIPIENT: &str = "chat:";

/// The setting naming who is told when a version waits for `environment`.
pub fn recipients_setting(environment: &Environment) -> String {
    per_environment_setting("NOTIFY", environment.as_str())
}

/// The setting naming who hears of steps in `environment` waiting too long.
pub fn escalation_setting(environment: &Environment) -> String {
    per_environment_setting("ESCALATE_TO", environment.as_str())
}

/// The setting naming the incoming webhook of `environment`'s approvers' chat.
pub fn webhook_setting(environment: &str) -> String {
    per_environment_setting("WEBHOOK_URL", environment)
}

/// `COUNTERSIGN_{name}_{ENV}`, as the environment variable is spelt (`pre-prod`: `PRE_PROD`).
fn per_environment_setting(name: &str, environment: &str) -> String {
    format!(
        "COUNTERSIGN_{name}_{}",
        environment.to_uppercase().replace('-', "_")
    )
}

/// The environment whose approvers a message with this key asks to decide, for approval and
/// promotion requests (`approval-request/{group}/{version}/{env}`); `None` for others.
pub fn requested_environment(key: &str) -> Option<&str> {
    // A request's chat message asks the same people.
    let key = key.strip_suffix(CHAT_SUFFIX).unwrap_or(key);
    let rest = key
        .strip_prefix("approval-request/")
        .or_else(|| key.strip_prefix("promotion-request/"))
        .or_else(|| key.strip_prefix("reminder/"))?;
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
}
