//! What the notifications page's server functions send the browser.

use serde::{Deserialize, Serialize};

/// How a message's delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryView {
    Pending,
    Sent,
    GaveUp,
}

impl DeliveryView {
    /// The outbox's own names, for `data-state` attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryView::Pending => "pending",
            DeliveryView::Sent => "sent",
            DeliveryView::GaveUp => "gave-up",
        }
    }
}

/// One message of the outbox, for the notifications page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotificationRow {
    pub key: String,
    pub to: String,
    /// Posted to a chat's incoming webhook, which needs no SMTP server.
    pub chat: bool,
    pub subject: String,
    pub state: DeliveryView,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created: String,
    pub sent: Option<String>,
    pub next_attempt: Option<String>,
    /// The plain-text body, shown when no SMTP server is configured (the outbox is then
    /// where messages are read).
    pub body: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotificationsView {
    pub rows: Vec<NotificationRow>,
    pub outbox_only: bool,
    pub page: u32,
    pub pages: u32,
    pub total: u64,
}
