//! The notification outbox as people see it, and sending a message again.

use super::*;

/// The reminder and the escalation queued about a waiting step, where there are any.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FollowUpsQueued {
    pub reminder: Option<OutboxEntry>,
    pub escalation: Option<OutboxEntry>,
}

/// Why a person may not see or resend a notification. Written for them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationRefusal {
    #[error("Only approvers see the notifications page.")]
    NotAnApprover,
    #[error("Only approvers of {environment} may send this message again.")]
    NotTheirRequest { environment: String },
    #[error("Not sent again: {0}.")]
    NotNow(String),
}

/// The notification outbox as people see it: the latest messages, and sending one again.
/// Approvers of any environment look after it.
#[derive(Clone)]
pub struct Notifications {
    outbox: Arc<dyn Outbox>,
    policy: Arc<Policy>,
    clock: Arc<dyn Clock>,
}

impl Notifications {
    /// The outbox `services` queue their notices in.
    pub fn new(outbox: Arc<dyn Outbox>, services: &Services) -> Self {
        Self {
            outbox,
            policy: services.policy.clone(),
            clock: services.clock.clone(),
        }
    }

    fn check_keeper(&self, actor: &Actor) -> Result<(), NotificationRefusal> {
        if self.policy.approves_anything(actor) {
            Ok(())
        } else {
            Err(NotificationRefusal::NotAnApprover)
        }
    }

    /// The message that asked the approvers of `environment` to decide the version, if one
    /// was queued: the approval request, else the promotion request a run's report made.
    pub async fn request_for(
        &self,
        version: &ModelVersion,
        environment: &Environment,
    ) -> Result<Option<OutboxEntry>, ServiceError> {
        let approval = Notice::ApprovalRequested {
            version: version.clone(),
            environment: environment.clone(),
        };
        if let Some(entry) = self.outbox.entry(&approval.key()).await? {
            return Ok(Some(entry));
        }
        let promotion = notification::promotion_request_key(version, environment);
        Ok(self.outbox.entry(&promotion).await?)
    }

    /// The reminder and the escalation queued about the version waiting for `environment`.
    pub async fn follow_ups_for(
        &self,
        version: &ModelVersion,
        environment: &Environment,
    ) -> Result<FollowUpsQueued, ServiceError> {
        let reminder = notification::reminder_key(version, environment);
        let escalation = notification::escalation_key(version, environment);
        let (reminder, escalation) =
            futures::try_join!(self.outbox.entry(&reminder), self.outbox.entry(&escalation))?;
        Ok(FollowUpsQueued {
            reminder,
            escalation,
        })
    }

    /// One page of messages, the latest first, and how many there are.
    pub async fn recent(
        &self,
        actor: &Actor,
        page: PageRequest,
    ) -> Result<Page<OutboxEntry>, ServiceError> {
        self.check_keeper(actor)?;
        Ok(self.outbox.recent(page).await?)
    }

    /// Puts the message with `key` back in line. A request for a decision goes again only
    /// at the request of those it asks; no message while it waits, nor within a minute of
    /// going out.
    pub async fn resend(&self, actor: &Actor, key: &str) -> Result<(), ServiceError> {
        self.check_keeper(actor)?;
        let not_found = || ServiceError::NotFound(format!("no message {key:?} in the outbox"));
        let entry = self.outbox.entry(key).await?.ok_or_else(not_found)?;
        if let Some(env) = notification::environment_of(key) {
            let theirs = self
                .policy
                .environments()
                .find(env)
                .is_some_and(|env| self.policy.is_approver(actor, env));
            if !theirs {
                return Err(NotificationRefusal::NotTheirRequest {
                    environment: env.to_owned(),
                }
                .into());
            }
        }
        let now = self.clock.now();
        if let Some(why) = entry.resend_refusal(now) {
            return Err(NotificationRefusal::NotNow(why).into());
        }
        if !self.outbox.resend(key, now).await? {
            return Err(not_found());
        }
        Ok(())
    }
}
