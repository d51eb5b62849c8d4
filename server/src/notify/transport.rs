//! How a message leaves: over SMTP (lettre), or nowhere, the outbox being the only copy.

use crate::startup::StartupError;
use async_trait::async_trait;
use countersign_domain::ports::*;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// How a message leaves: over SMTP, or nowhere (the outbox is the only copy).
#[async_trait]
pub trait Transport: Send + Sync {
    async fn send(&self, message: &OutgoingMessage) -> Result<(), String>;
}

pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Smtp {
    pub fn new(url: &str, from: &str) -> Result<Self, StartupError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(StartupError::cannot("use COUNTERSIGN_SMTP_URL"))?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let from = from.parse().map_err(StartupError::cannot(
            "use COUNTERSIGN_MAIL_FROM as the sender",
        ))?;
        Ok(Self { transport, from })
    }
}

#[async_trait]
impl Transport for Smtp {
    async fn send(&self, message: &OutgoingMessage) -> Result<(), String> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(&message.subject);
        // An address no server could take (from before addresses were checked at intake)
        // must not keep the message from everyone else it is for.
        let mut deliverable = 0;
        for to in &message.to {
            match to.parse() {
                Ok(mailbox) => {
                    builder = builder.to(mailbox);
                    deliverable += 1;
                }
                Err(e) => {
                    tracing::warn!(key = %message.key, recipient = ?to, error = %e, "skipping a recipient that is not an e-mail address")
                }
            }
        }
        if deliverable == 0 {
            return Err(format!(
                "none of the recipients {:?} is an e-mail address",
                message.to
            ));
        }
        let email = builder
            .multipart(MultiPart::alternative_plain_html(
                message.text.clone(),
                message.html.clone(),
            ))
            .map_err(|e| e.to_string())?;
        self.transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// No SMTP server configured: the message stays in the local outbox, where the portal shows
/// it to approvers. The log says it was kept; its text (names, reasons) only at debug level,
/// since logs travel further than the portal's pages (L12).
pub struct OutboxOnly;

#[async_trait]
impl Transport for OutboxOnly {
    async fn send(&self, message: &OutgoingMessage) -> Result<(), String> {
        tracing::info!(
            to = ?message.to,
            subject = ?message.subject,
            "no SMTP server configured (COUNTERSIGN_SMTP_URL); the message stays in the outbox"
        );
        tracing::debug!(text = ?message.text, "the message kept in the outbox");
        Ok(())
    }
}

/// Messages for a chat go to that environment's incoming webhook (Slack and Microsoft Teams
/// both take `{"text": ...}`), the rest to `mail`.
pub struct ChatOrMail {
    mail: std::sync::Arc<dyn Transport>,
    webhooks: std::collections::BTreeMap<String, secrecy::SecretString>,
    client: reqwest::Client,
}

impl ChatOrMail {
    /// Chat messages to `webhooks` (by environment), the rest to `mail`. The webhook client
    /// follows no redirect: an endpoint that answers one cannot bounce a message (a 307
    /// posts it again) to a host of its choosing, inside the network say.
    pub fn new(
        mail: std::sync::Arc<dyn Transport>,
        webhooks: std::collections::BTreeMap<String, secrecy::SecretString>,
    ) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client without redirects builds");
        Self {
            mail,
            webhooks,
            client,
        }
    }
}

#[async_trait]
impl Transport for ChatOrMail {
    async fn send(&self, message: &OutgoingMessage) -> Result<(), String> {
        use secrecy::ExposeSecret;
        let Some(environment) = countersign_domain::notification::chat_environment(&message.to)
        else {
            return self.mail.send(message).await;
        };
        let url = self.webhooks.get(environment).ok_or_else(|| {
            format!(
                "no incoming webhook for {environment}: set {}",
                countersign_domain::notification::webhook_setting(environment)
            )
        })?;
        let response = self
            .client
            .post(url.expose_secret())
            .json(&serde_json::json!({ "text": message.text }))
            .timeout(Duration::from_secs(20))
            .send()
            .await
            // Without the URL: it carries the webhook's secret.
            .map_err(|e| {
                format!(
                    "the {environment} webhook did not answer: {}",
                    e.without_url()
                )
            })?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!(
                "the {environment} webhook answered {}",
                response.status()
            ))
        }
    }
}
