//! The notification outbox in SSM, shared by every replica. SSM has no conditional update,
//! only create-if-absent (`Overwrite=false`), so each decision that must be taken once is a
//! parameter that only one caller can create:
//!
//! - `{prefix}/_outbox/messages/{key}`: the message. Creating it is enqueuing it; a second
//!   enqueue of the key (another replica, a repeated event) finds it and adds nothing.
//! - `{prefix}/_outbox/attempts/{key}/{round}-{n}`: the claim of attempt `n`. The worker that
//!   creates it sends; any other finds it taken. `round` counts "send again" requests.
//! - `{prefix}/_outbox/state/{key}`: how delivery went (overwritten; its history is SSM's).
//! - `{prefix}/_outbox/pending/{key}`: present while the message waits, so workers list the
//!   few waiting messages rather than every message ever sent.
//!
//! A worker that stops after claiming an attempt leaves the claim behind; once its lease has
//! passed, the next worker counts that attempt as failed and claims the next one.

use crate::calls::port;
use crate::AwsBackend;
use async_trait::async_trait;
use countersign_domain::ports::*;
use countersign_domain::{Page, PageRequest};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Serialize, Deserialize)]
struct StoredMessage {
    to: Vec<String>,
    subject: String,
    text: String,
    html: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

#[derive(Serialize, Deserialize, Clone)]
struct DeliveryRecord {
    state: String,
    round: u32,
    attempts: u32,
    last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    next_attempt_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    sent_at: Option<OffsetDateTime>,
}

#[derive(Serialize, Deserialize)]
struct Claim {
    #[serde(with = "time::serde::rfc3339")]
    lease_until: OffsetDateTime,
}

fn corrupt(name: &str, e: impl std::fmt::Display) -> PortError {
    PortError::Corrupt(format!("{name}: {e}"))
}

impl AwsBackend {
    fn outbox_name(&self, part: &str, key: &str) -> String {
        format!("{}/_outbox/{part}/{key}", self.settings.ssm_prefix)
    }

    async fn delete(&self, name: &str) -> Result<(), PortError> {
        match self
            .calls
            .call(
                "ssm:DeleteParameter",
                self.ssm.delete_parameter().name(name).send(),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(f)
                if f.service_error
                    .as_ref()
                    .is_some_and(|e| e.is_parameter_not_found()) =>
            {
                Ok(())
            }
            Err(f) => Err(port(f)),
        }
    }

    async fn record(&self, key: &str) -> Result<DeliveryRecord, PortError> {
        let name = self.outbox_name("state", key);
        self.read_json(&name)
            .await?
            .ok_or_else(|| corrupt(&name, "the message has no delivery state"))
    }

    async fn save(&self, key: &str, record: &DeliveryRecord) -> Result<(), PortError> {
        let value = serde_json::to_string(record).expect("records serialise");
        self.overwrite(&self.outbox_name("state", key), &value)
            .await?;
        let pending = self.outbox_name("pending", key);
        if record.state == DeliveryState::Pending.as_str() {
            self.overwrite(&pending, "pending").await
        } else {
            self.delete(&pending).await
        }
    }

    async fn stored_entry(
        &self,
        key: &str,
        record: DeliveryRecord,
    ) -> Result<OutboxEntry, PortError> {
        let name = self.outbox_name("messages", key);
        let message: StoredMessage = self
            .read_json(&name)
            .await?
            .ok_or_else(|| corrupt(&name, "missing"))?;
        Ok(OutboxEntry {
            message: OutgoingMessage {
                key: key.to_owned(),
                to: message.to,
                subject: message.subject,
                text: message.text,
                html: message.html,
            },
            state: DeliveryState::parse(&record.state)
                .ok_or_else(|| corrupt(key, format!("unknown state {:?}", record.state)))?,
            attempts: record.attempts,
            last_error: record.last_error,
            created_at: message.created_at,
            next_attempt_at: record.next_attempt_at,
            sent_at: record.sent_at,
        })
    }

    /// Message keys under one of the outbox's folders.
    async fn keys_under(&self, part: &str) -> Result<Vec<String>, PortError> {
        let folder = format!("{}/_outbox/{part}/", self.settings.ssm_prefix);
        Ok(self
            .parameters_under(folder.trim_end_matches('/'), true)
            .await?
            .into_iter()
            .filter_map(|p| p.name?.strip_prefix(&folder).map(str::to_owned))
            .collect())
    }
}

#[async_trait]
impl Outbox for AwsBackend {
    async fn enqueue(
        &self,
        message: &OutgoingMessage,
        now: OffsetDateTime,
    ) -> Result<bool, PortError> {
        let stored = StoredMessage {
            to: message.to.clone(),
            subject: message.subject.clone(),
            text: message.text.clone(),
            html: message.html.clone(),
            created_at: now,
        };
        let value = serde_json::to_string(&stored).expect("messages serialise");
        if !self
            .create(&self.outbox_name("messages", &message.key), &value)
            .await?
        {
            return Ok(false);
        }
        let record = DeliveryRecord {
            state: DeliveryState::Pending.as_str().into(),
            round: 0,
            attempts: 0,
            last_error: None,
            next_attempt_at: Some(now),
            sent_at: None,
        };
        self.save(&message.key, &record).await?;
        Ok(true)
    }

    async fn lease_due(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, PortError> {
        let mut leased = Vec::new();
        for key in self.keys_under("pending").await? {
            if leased.len() >= limit as usize {
                break;
            }
            let mut record = self.record(&key).await?;
            if record.state != DeliveryState::Pending.as_str()
                || record.next_attempt_at.is_some_and(|at| at > now)
            {
                continue;
            }
            let claim_name = format!(
                "{}/{}-{}",
                self.outbox_name("attempts", &key),
                record.round,
                record.attempts + 1
            );
            let claim = serde_json::to_string(&Claim { lease_until }).expect("claims serialise");
            if self.create(&claim_name, &claim).await? {
                leased.push(self.stored_entry(&key, record).await?);
                continue;
            }
            // Taken: by a worker still within its lease, or by one that stopped mid-attempt.
            let taken: Option<Claim> = self.read_json(&claim_name).await?;
            if taken.is_some_and(|c| c.lease_until <= now) {
                record.attempts += 1;
                record.last_error = Some("a worker stopped during this attempt".into());
                record.next_attempt_at = Some(now);
                self.save(&key, &record).await?;
            }
        }
        Ok(leased)
    }

    async fn record_sent(&self, key: &str, at: OffsetDateTime) -> Result<(), PortError> {
        let mut record = self.record(key).await?;
        record.state = DeliveryState::Sent.as_str().into();
        record.attempts += 1;
        record.last_error = None;
        record.next_attempt_at = None;
        record.sent_at = Some(at);
        self.save(key, &record).await
    }

    async fn record_failure(
        &self,
        key: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), PortError> {
        let mut record = self.record(key).await?;
        record.state = match retry_at {
            Some(_) => DeliveryState::Pending,
            None => DeliveryState::GaveUp,
        }
        .as_str()
        .into();
        record.attempts += 1;
        record.last_error = Some(error.to_owned());
        record.next_attempt_at = retry_at;
        self.save(key, &record).await
    }

    /// The `limit` messages whose delivery changed last: one request per 10 messages ever
    /// queued lists every delivery state with its value, then one per message shown reads
    /// its text. Newest first.
    async fn recent(&self, page: PageRequest) -> Result<Page<OutboxEntry>, PortError> {
        let folder = format!("{}/_outbox/state/", self.settings.ssm_prefix);
        let mut states: Vec<_> = self
            .parameters_under(folder.trim_end_matches('/'), true)
            .await?
            .into_iter()
            .filter_map(|p| {
                let key = p.name.as_deref()?.strip_prefix(&folder)?.to_owned();
                Some((p.last_modified_date, key, p.value))
            })
            .collect();
        states.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let total = states.len() as u64;
        let shown = states
            .into_iter()
            .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
            .take(page.limit as usize);
        let mut entries = Vec::new();
        for (_, key, value) in shown {
            let name = self.outbox_name("state", &key);
            let record: DeliveryRecord = serde_json::from_str(value.as_deref().unwrap_or(""))
                .map_err(|e| corrupt(&name, e))?;
            entries.push(self.stored_entry(&key, record).await?);
        }
        Ok(Page {
            items: entries,
            total,
        })
    }

    async fn entry(&self, key: &str) -> Result<Option<OutboxEntry>, PortError> {
        let name = self.outbox_name("state", key);
        match self.read_json::<DeliveryRecord>(&name).await? {
            Some(record) => self.stored_entry(key, record).await.map(Some),
            None => Ok(None),
        }
    }

    async fn resend(&self, key: &str, now: OffsetDateTime) -> Result<bool, PortError> {
        let name = self.outbox_name("state", key);
        let Some(mut record) = self.read_json::<DeliveryRecord>(&name).await? else {
            return Ok(false);
        };
        record.state = DeliveryState::Pending.as_str().into();
        record.round += 1;
        record.attempts = 0;
        record.last_error = None;
        record.next_attempt_at = Some(now);
        record.sent_at = None;
        self.save(key, &record).await?;
        Ok(true)
    }
}
