//! Where notifications go and how they are sent, read once at start-up.

use crate::settings::{comma_list, given, SettingError};
use secrecy::SecretString;
use std::collections::BTreeMap;

/// Notifications by e-mail and chat.
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

/// The mail settings as written (`COUNTERSIGN_SMTP_URL`, `COUNTERSIGN_MAIL_*`), with the
/// per-environment recipients and webhooks already read by [`addresses`] and
/// [`webhook_url`].
pub struct MailSettings<'a> {
    pub smtp_url: Option<&'a str>,
    pub from: &'a str,
    pub retry_seconds: u64,
    pub attempts: u32,
    pub notify: BTreeMap<String, Vec<String>>,
    pub escalate_to: BTreeMap<String, Vec<String>>,
    pub webhooks: BTreeMap<String, SecretString>,
}

impl MailSettings<'_> {
    pub fn read(self) -> Result<MailConfig, SettingError> {
        let smtp_url = given(self.smtp_url);
        if let Some(url) = smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(SettingError::new(
                    "smtp_url",
                    "must start with smtp:// or smtps:// (e.g. smtp://user:password@mail.example.com:587?tls=required)",
                ));
            }
        }
        let from = self.from;
        if from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(SettingError::new(
                "mail_from",
                format!("is {from:?}; use an address, optionally with a name: Countersign <countersign@example.com>"),
            ));
        }
        if !(1..=20).contains(&self.attempts) {
            return Err(SettingError::new("mail_attempts", "must be from 1 to 20"));
        }
        Ok(MailConfig {
            smtp_url: smtp_url.map(|url| SecretString::from(url.to_owned())),
            from: from.to_owned(),
            notify: self.notify,
            escalate_to: self.escalate_to,
            webhooks: self.webhooks,
            retry_after: std::time::Duration::from_secs(self.retry_seconds.max(1)),
            attempts: self.attempts,
        })
    }
}

/// E-mail addresses, comma-separated, from setting `key`.
pub fn addresses(key: &str, text: &str) -> Result<Vec<String>, SettingError> {
    let addresses = comma_list(text);
    for address in &addresses {
        if address.parse::<lettre::Address>().is_err() {
            return Err(SettingError::new(
                key,
                format!("has {address:?}, which is not an e-mail address"),
            ));
        }
    }
    Ok(addresses)
}

/// An incoming webhook's URL from setting `key`: https (plain http to this machine only,
/// a test receiver), kept secret: whoever has it may post to the channel.
pub fn webhook_url(key: &str, text: &str) -> Result<SecretString, SettingError> {
    let url = text.trim();
    let loopback = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"]
        .iter()
        .any(|prefix| url.starts_with(prefix));
    if !(url.starts_with("https://") || loopback) || url.contains(char::is_whitespace) {
        return Err(SettingError::new(
            key,
            "must be an https:// URL (an incoming webhook of Slack or Microsoft Teams)",
        ));
    }
    Ok(SecretString::from(url.to_owned()))
}
