//! The notification outbox in the table, shared by every replica: one item per message,
//! `outbox#{key}` / `message`, holding the message and how its delivery goes. Each step that
//! must happen once is a conditional write on that item:
//!
//! - enqueuing writes the item only where none is, so a second enqueue of the key (another
//!   replica, a repeated event) adds nothing;
//! - leasing sets `lease_until` only while the message is due and nobody else's lease runs,
//!   so one worker sends it; a worker that stops mid-attempt leaves a lease that lapses, and
//!   the next worker takes the message then.
//!
//! Two sparse indexes (see `table.rs`) serve the reads: `pending` holds messages waiting to
//! be sent, by when they are due (a worker's idle poll is one Query), `changes` every message
//! by when its delivery last changed (the notifications page). Each message expires (TTL
//! `expires_at`) after the configured retention.

use crate::calls::port;
use crate::table::{
    from_millis, key, millis, n, number, s, text, Item, CHANGES_INDEX, PENDING_INDEX,
};
use crate::AwsBackend;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, Select};
use countersign_domain::ports::*;
use countersign_domain::{Page, PageRequest};
use time::OffsetDateTime;

/// The value of the indexes' partition keys: every message is in the one feed.
const FEED: &str = "outbox";

fn message_key(message_key: &str) -> Item {
    key(format!("outbox#{message_key}"), "message")
}

/// Where a message sorts in the `changes` index: by when, then by key.
fn changed(at: OffsetDateTime, message_key: &str) -> AttributeValue {
    s(format!("{:015}#{message_key}", millis(at)))
}

fn entry_from(item: &Item) -> Result<OutboxEntry, PortError> {
    let key = text(item, "key")?;
    let corrupt = |what: &str| PortError::Corrupt(format!("outbox message {key}: {what}"));
    let time = |name: &str| number(item, name).and_then(from_millis);
    let to: Vec<String> =
        serde_json::from_str(text(item, "to")?).map_err(|_| corrupt("unreadable recipients"))?;
    let state = text(item, "state")?;
    Ok(OutboxEntry {
        message: OutgoingMessage {
            key: key.to_owned(),
            to,
            subject: text(item, "subject")?.to_owned(),
            text: text(item, "text")?.to_owned(),
            html: text(item, "html")?.to_owned(),
        },
        state: DeliveryState::parse(state)
            .ok_or_else(|| corrupt(&format!("unknown state {state:?}")))?,
        attempts: number(item, "attempts")
            .and_then(|a| u32::try_from(a).ok())
            .ok_or_else(|| corrupt("no attempt count"))?,
        last_error: item.get("last_error").and_then(|v| v.as_s().ok()).cloned(),
        created_at: time("created_at").ok_or_else(|| corrupt("no creation time"))?,
        next_attempt_at: time("next_attempt_at"),
        sent_at: time("sent_at"),
    })
}

/// One conditional change to a message's item.
struct Change {
    set: Vec<(&'static str, AttributeValue)>,
    add: Vec<(&'static str, i64)>,
    remove: Vec<&'static str>,
    /// Over `#name` placeholders of the attributes above and `condition_names`, and `:name`
    /// placeholders of `condition_values`.
    condition: &'static str,
    condition_names: &'static [&'static str],
    condition_values: Vec<(&'static str, AttributeValue)>,
}

impl Change {
    fn new(condition: &'static str) -> Self {
        Self {
            set: Vec::new(),
            add: Vec::new(),
            remove: Vec::new(),
            condition,
            condition_names: &[],
            condition_values: Vec::new(),
        }
    }

    /// The attributes and values the condition names beyond those the change sets.
    fn condition_on(
        mut self,
        names: &'static [&'static str],
        values: impl IntoIterator<Item = (&'static str, AttributeValue)>,
    ) -> Self {
        self.condition_names = names;
        self.condition_values.extend(values);
        self
    }

    fn add(mut self, name: &'static str, amount: i64) -> Self {
        self.add.push((name, amount));
        self
    }

    fn set(mut self, name: &'static str, value: AttributeValue) -> Self {
        self.set.push((name, value));
        self
    }

    fn remove(mut self, name: &'static str) -> Self {
        self.remove.push(name);
        self
    }

    /// The message waits to be sent from `at` on (or, `None`, no longer waits).
    fn due(self, at: Option<OffsetDateTime>) -> Self {
        match at {
            Some(at) => self
                .set("next_attempt_at", n(millis(at)))
                .set("pending", s(FEED))
                .set("due", n(millis(at))),
            None => self
                .remove("next_attempt_at")
                .remove("pending")
                .remove("due"),
        }
    }
}

impl AwsBackend {
    /// Applies `change` to the message `message_key`; `None` when its condition did not hold.
    async fn change(
        &self,
        message_key: &str,
        change: Change,
    ) -> Result<Option<OutboxEntry>, PortError> {
        let now = OffsetDateTime::now_utc();
        let change = change.set("changed", changed(now, message_key));
        let mut expression = format!(
            "SET {}",
            change
                .set
                .iter()
                .map(|(name, _)| format!("#{name} = :{name}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !change.add.is_empty() {
            let adds: Vec<String> = change
                .add
                .iter()
                .map(|(name, _)| format!("#{name} :{name}"))
                .collect();
            expression.push_str(&format!(" ADD {}", adds.join(", ")));
        }
        if !change.remove.is_empty() {
            let removes: Vec<String> = change
                .remove
                .iter()
                .map(|name| format!("#{name}"))
                .collect();
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let table = &self.table;
        let mut request = table
            .client
            .update_item()
            .table_name(&table.name)
            .set_key(Some(self::message_key(message_key)))
            .update_expression(expression)
            .condition_expression(change.condition)
            .return_values(ReturnValue::AllNew);
        let names: std::collections::BTreeSet<&str> = change
            .set
            .iter()
            .map(|(name, _)| *name)
            .chain(change.add.iter().map(|(name, _)| *name))
            .chain(change.remove.iter().copied())
            .chain(change.condition_names.iter().copied())
            .collect();
        for name in names {
            request = request.expression_attribute_names(format!("#{name}"), name);
        }
        for (name, value) in change.set.into_iter().chain(change.condition_values) {
            request = request.expression_attribute_values(format!(":{name}"), value);
        }
        for (name, amount) in change.add {
            request = request.expression_attribute_values(format!(":{name}"), n(amount));
        }
        let updated = table
            .calls
            .call("dynamodb:UpdateItem", request.send())
            .await;
        match updated {
            Ok(output) => output.attributes.as_ref().map(entry_from).transpose(),
            Err(f) if f.is(|e| e.is_conditional_check_failed_exception()) => Ok(None),
            Err(f) => Err(port(f)),
        }
    }

    /// Records how an attempt ended, on a message that exists.
    async fn record(&self, message_key: &str, change: Change) -> Result<(), PortError> {
        match self.change(message_key, change).await? {
            Some(_) => Ok(()),
            None => Err(PortError::Corrupt(format!(
                "outbox message {message_key} is not in the table"
            ))),
        }
    }
}

const EXISTS: &str = "attribute_exists(pk)";

/// How a message's delivery stands.
pub(crate) struct Delivery {
    pub state: DeliveryState,
    pub round: u32,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<OffsetDateTime>,
    pub sent_at: Option<OffsetDateTime>,
}

impl AwsBackend {
    /// A message's item as first written: by `enqueue`, or by `migrate` with how its
    /// delivery went so far.
    pub(crate) fn message_item(
        &self,
        message: &OutgoingMessage,
        created_at: OffsetDateTime,
        delivery: &Delivery,
    ) -> Item {
        let mut item = message_key(&message.key);
        let to = serde_json::to_string(&message.to).expect("addresses serialise");
        let expires = created_at + self.settings.outbox_retention;
        let mut attributes = vec![
            ("key", s(&message.key)),
            ("to", s(to)),
            ("subject", s(&message.subject)),
            ("text", s(&message.text)),
            ("html", s(&message.html)),
            ("created_at", n(millis(created_at))),
            ("state", s(delivery.state.as_str())),
            ("round", n(delivery.round)),
            ("attempts", n(delivery.attempts)),
            ("feed", s(FEED)),
            ("changed", changed(OffsetDateTime::now_utc(), &message.key)),
            ("expires_at", n(expires.unix_timestamp())),
        ];
        if let Some(error) = &delivery.last_error {
            attributes.push(("last_error", s(error)));
        }
        if let Some(at) = delivery.sent_at {
            attributes.push(("sent_at", n(millis(at))));
        }
        if let Some(at) = delivery.next_attempt_at {
            attributes.push(("next_attempt_at", n(millis(at))));
            if delivery.state == DeliveryState::Pending {
                attributes.push(("pending", s(FEED)));
                attributes.push(("due", n(millis(at))));
            }
        }
        for (name, value) in attributes {
            item.insert(name.to_owned(), value);
        }
        item
    }
}

#[async_trait]
impl Outbox for AwsBackend {
    async fn enqueue(
        &self,
        message: &OutgoingMessage,
        now: OffsetDateTime,
    ) -> Result<bool, PortError> {
        let item = self.message_item(
            message,
            now,
            &Delivery {
                state: DeliveryState::Pending,
                round: 0,
                attempts: 0,
                last_error: None,
                next_attempt_at: Some(now),
                sent_at: None,
            },
        );
        self.table.put_new(item).await
    }

    async fn lease_due(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, PortError> {
        let table = &self.table;
        let mut leased = Vec::new();
        let mut start = None;
        loop {
            let page = table
                .calls
                .call(
                    "dynamodb:Query",
                    table
                        .client
                        .query()
                        .table_name(&table.name)
                        .index_name(PENDING_INDEX)
                        .key_condition_expression("#pending = :feed AND #due <= :now")
                        .expression_attribute_names("#pending", "pending")
                        .expression_attribute_names("#due", "due")
                        .expression_attribute_values(":feed", s(FEED))
                        .expression_attribute_values(":now", n(millis(now)))
                        .set_exclusive_start_key(start)
                        .send(),
                )
                .await
                .map_err(port)?;
            // The index lags the table a little: whether the message is still due, and free,
            // is decided by the conditional write on the message itself.
            for item in page.items() {
                if leased.len() >= limit as usize {
                    return Ok(leased);
                }
                // Another worker's lease still runs: no write that is bound to fail.
                if number(item, "lease_until").is_some_and(|until| until > millis(now)) {
                    continue;
                }
                let message = text(item, "key")?;
                let lease = Change::new(
                    "#state = :pending_state AND #due <= :now \
                     AND (attribute_not_exists(#lease_until) OR #lease_until <= :now)",
                )
                .condition_on(
                    &["state", "due", "lease_until"],
                    [
                        ("now", n(millis(now))),
                        ("pending_state", s(DeliveryState::Pending.as_str())),
                    ],
                )
                .set("lease_until", n(millis(lease_until)));
                if let Some(entry) = self.change(message, lease).await? {
                    leased.push(entry);
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() || leased.len() >= limit as usize {
                return Ok(leased);
            }
        }
    }

    async fn record_sent(&self, key: &str, at: OffsetDateTime) -> Result<(), PortError> {
        let change = Change::new(EXISTS)
            .set("state", s(DeliveryState::Sent.as_str()))
            .set("sent_at", n(millis(at)))
            .add("attempts", 1)
            .remove("last_error")
            .remove("lease_until")
            .due(None);
        self.record(key, change).await
    }

    async fn record_failure(
        &self,
        key: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), PortError> {
        let state = match retry_at {
            Some(_) => DeliveryState::Pending,
            None => DeliveryState::GaveUp,
        };
        let change = Change::new(EXISTS)
            .set("state", s(state.as_str()))
            .set("last_error", s(error))
            .add("attempts", 1)
            .remove("lease_until")
            .due(retry_at);
        self.record(key, change).await
    }

    /// Newest change first: one Query counts the messages, one more reads the page (more
    /// only past 1 MB).
    async fn recent(&self, page: PageRequest) -> Result<Page<OutboxEntry>, PortError> {
        let table = &self.table;
        let query = || {
            table
                .client
                .query()
                .table_name(&table.name)
                .index_name(CHANGES_INDEX)
                .key_condition_expression("#feed = :feed")
                .expression_attribute_names("#feed", "feed")
                .expression_attribute_values(":feed", s(FEED))
        };
        let mut total = 0u64;
        let mut start = None;
        loop {
            let counted = table
                .calls
                .call(
                    "dynamodb:Query",
                    query()
                        .select(Select::Count)
                        .set_exclusive_start_key(start)
                        .send(),
                )
                .await
                .map_err(port)?;
            total += counted.count as u64;
            start = counted.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        let wanted = page.offset.saturating_add(u64::from(page.limit));
        let mut items: Vec<Item> = Vec::new();
        let mut start = None;
        while (items.len() as u64) < wanted {
            let read = table
                .calls
                .call(
                    "dynamodb:Query",
                    query()
                        .scan_index_forward(false)
                        .limit(i32::try_from(wanted - items.len() as u64).unwrap_or(i32::MAX))
                        .set_exclusive_start_key(start)
                        .send(),
                )
                .await
                .map_err(port)?;
            items.extend(read.items.unwrap_or_default());
            start = read.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        let entries = items
            .iter()
            .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
            .take(page.limit as usize)
            .map(entry_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            items: entries,
            total,
        })
    }

    async fn entry(&self, key: &str) -> Result<Option<OutboxEntry>, PortError> {
        let item = self.table.item(message_key(key)).await?;
        item.as_ref().map(entry_from).transpose()
    }

    async fn resend(&self, key: &str, now: OffsetDateTime) -> Result<bool, PortError> {
        let change = Change::new(EXISTS)
            .set("state", s(DeliveryState::Pending.as_str()))
            .set("attempts", n(0))
            .add("round", 1)
            .remove("last_error")
            .remove("sent_at")
            .remove("lease_until")
            .due(Some(now));
        Ok(self.change(key, change).await?.is_some())
    }
}
