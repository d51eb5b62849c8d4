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

impl FollowUps {
    fn reminder_due(&self, waited: time::Duration) -> bool {
        self.remind_after.is_some_and(|after| waited >= after)
    }

    fn escalation_due(&self, environment: &Environment, waited: time::Duration) -> bool {
        self.escalated_in.contains(environment)
            && self.escalate_after.is_some_and(|after| waited >= after)
    }

    /// Whether a step waiting `waited` in `environment` is due any follow-up (before its
    /// version is read to write one).
    pub fn any_due(&self, environment: &Environment, waited: time::Duration) -> bool {
        self.reminder_due(waited) || self.escalation_due(environment, waited)
    }
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
    if rules.reminder_due(waited) {
        due.push(Notice::Reminder {
            version: version.clone(),
            environment: environment.clone(),
            since,
        });
    }
    if rules.escalation_due(environment, waited) {
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

/// The environment a message with this key is about, for the requests and reminders that
/// ask its approvers and the escalations about it (`escalation/{group}/{version}/{env}`):
/// only that environment's approvers may have it sent again.
pub fn environment_of(key: &str) -> Option<&str> {
    requested_environment(key).or_else(|| {
        let rest = key.strip_prefix("escalation/")?;
        rest.rsplit('/').next().filter(|_| rest.contains('/'))
    })
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
mod tests;
