//! Notifications by e-mail: the workflow's notices rendered into messages (`render`),
//! queued in the outbox (one per notice key, ever), and delivered by a background worker
//! (`delivery`) that retries with backoff and gives up visibly, over a `transport`.

pub mod delivery;
pub mod render;
pub mod transport;

pub use delivery::Delivery;
pub use render::{render, review_link, Recipients};
pub use transport::{ChatOrMail, OutboxOnly, Smtp, Transport};

use async_trait::async_trait;
use countersign_domain::ports::*;
use countersign_domain::Notice;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Notify;

/// Notifications by e-mail.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// `smtp://` or `smtps://` URL, perhaps with a password; `None` keeps messages in the
    /// local outbox only.
    pub smtp_url: Option<SecretString>,
    pub from: String,
    /// Addresses told when a version waits for each environment.
    pub notify: BTreeMap<String, Vec<String>>,
    /// Addresses told when a step in each environment waits too long.
    pub escalate_to: BTreeMap<String, Vec<String>>,
    /// Incoming webhooks (Slack, Microsoft Teams) of each environment's approvers' channel.
    pub webhooks: BTreeMap<String, SecretString>,
    /// The wait before the first retry; it doubles after each failed attempt.
    pub retry_after: std::time::Duration,
    pub attempts: u32,
}

impl MailConfig {
    /// From the settings as written; an error names the setting (without its prefix) and
    /// what it accepts.
    pub fn new(
        smtp_url: Option<&str>,
        from: &str,
        notify: BTreeMap<String, Vec<String>>,
        retry_after: std::time::Duration,
        attempts: u32,
    ) -> Result<Self, (&'static str, String)> {
        let smtp_url = smtp_url.map(str::trim).filter(|u| !u.is_empty());
        if let Some(url) = smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err((
                    "smtp_url",
                    "must start with smtp:// or smtps:// (e.g. smtp://user:password@mail.example.com:587?tls=required)".into(),
                ));
            }
        }
        if from.parse::<lettre::message::Mailbox>().is_err() {
            return Err((
                "mail_from",
                format!("is {from:?}; use an address, optionally with a name: Countersign <countersign@example.com>"),
            ));
        }
        if !(1..=20).contains(&attempts) {
            return Err(("mail_attempts", "must be from 1 to 20".into()));
        }
        Ok(Self {
            smtp_url: smtp_url.map(|url| SecretString::from(url.to_owned())),
            from: from.to_owned(),
            notify,
            escalate_to: BTreeMap::new(),
            webhooks: BTreeMap::new(),
            retry_after,
            attempts,
        })
    }
}

/// Renders notices into messages and queues them; the worker is woken at once.
pub struct MailNotices {
    pub outbox: Arc<dyn Outbox>,
    pub clock: Arc<dyn Clock>,
    pub public_url: String,
    pub recipients: render::Recipients,
    pub wake: Arc<Notify>,
}

#[async_trait]
impl NoticeSink for MailNotices {
    async fn notice(&self, notice: Notice) {
        let chat = render::chat_message(&notice, &self.public_url, &self.recipients);
        let message = render(&notice, &self.public_url, &self.recipients);
        for message in std::iter::once(message).chain(chat) {
            match self.outbox.enqueue(&message, self.clock.now()).await {
                Ok(true) => {
                    tracing::info!(key = %message.key, to = ?message.to, "notification queued");
                    self.wake.notify_one();
                }
                Ok(false) => {
                    tracing::debug!(key = %message.key, "notification already queued once")
                }
                Err(e) => {
                    tracing::error!(key = %message.key, error = %e, "cannot queue a notification")
                }
            }
        }
    }
}
