//! The delivery worker: leases what is due from the outbox, sends it, and records how it
//! went.

use super::transport::Transport;
use super::MailConfig;
use countersign_domain::ports::*;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The background worker: sends what is due, retries failures with exponential backoff,
/// gives up after the configured attempts (the message stays visible and can be resent).
pub struct Delivery {
    pub outbox: Arc<dyn Outbox>,
    pub transport: Arc<dyn Transport>,
    pub clock: Arc<dyn Clock>,
    pub wake: Arc<Notify>,
    pub retry_after: Duration,
    pub attempts: u32,
}

/// How long a worker holds a message it is sending before another may take it.
const LEASE: Duration = Duration::from_secs(120);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

impl Delivery {
    pub fn new(
        mail: &MailConfig,
        outbox: Arc<dyn Outbox>,
        transport: Arc<dyn Transport>,
        clock: Arc<dyn Clock>,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            outbox,
            transport,
            clock,
            wake,
            retry_after: mail.retry_after,
            attempts: mail.attempts,
        }
    }

    /// The wait after `failed` attempts: the base, doubled each time, capped at an hour.
    pub fn backoff(&self, failed: u32) -> Duration {
        let factor = 2u32.saturating_pow(failed.saturating_sub(1).min(16));
        self.retry_after.saturating_mul(factor).min(MAX_BACKOFF)
    }

    /// Sends every message due now; returns how many were sent.
    pub async fn deliver_due(&self) -> Result<usize, PortError> {
        let now = self.clock.now();
        let due = self.outbox.lease_due(now, now + LEASE, 20).await?;
        let mut sent = 0;
        for entry in due {
            let key = &entry.message.key;
            let outcome = if entry.message.to.is_empty() {
                Err("no recipients: set the environment's COUNTERSIGN_NOTIFY_<ENV> addresses, then send it again".to_owned())
            } else {
                self.transport.send(&entry.message).await
            };
            match outcome {
                Ok(()) => {
                    self.outbox.record_sent(key, self.clock.now()).await?;
                    tracing::info!(%key, to = ?entry.message.to, "notification sent");
                    sent += 1;
                }
                Err(error) => {
                    let failed = entry.attempts + 1;
                    let retry_at = (failed < self.attempts && !entry.message.to.is_empty())
                        .then(|| self.clock.now() + self.backoff(failed));
                    match retry_at {
                        Some(at) => {
                            tracing::warn!(%key, %error, attempt = failed, retry_at = %at, "notification not sent; will retry")
                        }
                        None => {
                            tracing::error!(%key, %error, attempts = failed, "notification not sent; gave up (resend it from the Notifications page, /notifications)")
                        }
                    }
                    self.outbox.record_failure(key, &error, retry_at).await?;
                }
            }
        }
        Ok(sent)
    }

    /// Runs until the process ends: after each round, waits to be woken by a new message,
    /// or a few seconds for retries coming due.
    pub async fn run(self) {
        loop {
            if let Err(e) = self.deliver_due().await {
                tracing::error!(error = %e, "cannot read the outbox");
            }
            tokio::select! {
                _ = self.wake.notified() => {},
                _ = tokio::time::sleep(Duration::from_secs(2)) => {},
            }
        }
    }
}

#[cfg(test)]
mod tests;
