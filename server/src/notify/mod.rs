//! Notifications by e-mail: the workflow's notices rendered into messages (`render`),
//! queued in the outbox (one per notice key, ever), and delivered by a background worker
//! (`delivery`) that retries with backoff and gives up visibly, over a `transport`.

pub mod delivery;
pub mod render;
pub mod settings;
pub mod transport;

pub use delivery::Delivery;
pub use render::{render, review_link, Recipients};
pub use settings::{MailConfig, MailSettings};
pub use transport::{ChatOrMail, OutboxOnly, Smtp, Transport};

use async_trait::async_trait;
use countersign_domain::ports::*;
use countersign_domain::Notice;
use std::sync::Arc;
use tokio::sync::Notify;

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
