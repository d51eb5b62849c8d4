//! The outbox in the same SQLite file: one row per message key, so a message asked for twice
//! is stored once, and pending messages outlive restarts.

use crate::{all_rows, unavailable, CachedStatements, LocalStore};
use async_trait::async_trait;
use countersign_domain::ports::*;
use countersign_domain::{Page, PageRequest};
use rusqlite::{params, Row};
use time::OffsetDateTime;

const COLUMNS: &str = "key, recipients, subject, text_body, html_body, state, attempts, \
     last_error, created_ms, next_attempt_ms, sent_ms";

pub(crate) fn millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn from_millis(ms: i64) -> rusqlite::Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Integer, Box::new(e))
    })
}

fn entry_from_row(row: &Row) -> rusqlite::Result<OutboxEntry> {
    let recipients: String = row.get(1)?;
    let state: String = row.get(5)?;
    let optional_time = |index: usize| -> rusqlite::Result<Option<OffsetDateTime>> {
        row.get::<_, Option<i64>>(index)?
            .map(from_millis)
            .transpose()
    };
    Ok(OutboxEntry {
        message: OutgoingMessage {
            key: row.get(0)?,
            to: recipients
                .lines()
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect(),
            subject: row.get(2)?,
            text: row.get(3)?,
            html: row.get(4)?,
        },
        state: DeliveryState::parse(&state).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                5,
                rusqlite::types::Type::Text,
                format!("unknown delivery state {state:?}").into(),
            )
        })?,
        attempts: row.get(6)?,
        last_error: row.get(7)?,
        created_at: from_millis(row.get(8)?)?,
        next_attempt_at: optional_time(9)?,
        sent_at: optional_time(10)?,
    })
}

#[async_trait]
impl Outbox for LocalStore {
    async fn enqueue(
        &self,
        message: &OutgoingMessage,
        now: OffsetDateTime,
    ) -> Result<bool, PortError> {
        let message = message.clone();
        self.with(move |c| {
            let added = c
                .execute_cached(
                    "INSERT OR IGNORE INTO outbox (key, recipients, subject, text_body, html_body, \
                     state, attempts, created_ms, next_attempt_ms) \
                     VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?6)",
                    params![
                        message.key,
                        message.to.join("\n"),
                        message.subject,
                        message.text,
                        message.html,
                        millis(now),
                    ],
                )
                .map_err(unavailable)?;
            Ok(added == 1)
        })
        .await
    }

    async fn lease_due(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, PortError> {
        self.with(move |c| {
            let tx = c.transaction().map_err(unavailable)?;
            let due = all_rows(
                &tx,
                &format!(
                    "SELECT {COLUMNS} FROM outbox WHERE state = 'pending' \
                     AND next_attempt_ms <= ?1 AND COALESCE(lease_until_ms, 0) <= ?1 \
                     ORDER BY next_attempt_ms LIMIT ?2"
                ),
                params![millis(now), limit],
                entry_from_row,
            )?;
            for entry in &due {
                tx.execute_cached(
                    "UPDATE outbox SET lease_until_ms = ?1 WHERE key = ?2",
                    params![millis(lease_until), entry.message.key],
                )
                .map_err(unavailable)?;
            }
            tx.commit().map_err(unavailable)?;
            Ok(due)
        })
        .await
    }

    async fn record_sent(&self, key: &str, at: OffsetDateTime) -> Result<(), PortError> {
        let key = key.to_owned();
        self.with(move |c| {
            c.execute_cached(
                "UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_ms = ?1, \
                 next_attempt_ms = NULL, lease_until_ms = NULL, last_error = NULL WHERE key = ?2",
                params![millis(at), key],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn record_failure(
        &self,
        key: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), PortError> {
        let (key, error) = (key.to_owned(), error.to_owned());
        self.with(move |c| {
            let state = if retry_at.is_some() {
                "pending"
            } else {
                "gave-up"
            };
            c.execute_cached(
                "UPDATE outbox SET state = ?1, attempts = attempts + 1, last_error = ?2, \
                 next_attempt_ms = ?3, lease_until_ms = NULL WHERE key = ?4",
                params![state, error, retry_at.map(millis), key],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn recent(&self, page: PageRequest) -> Result<Page<OutboxEntry>, PortError> {
        let offset = i64::try_from(page.offset).unwrap_or(i64::MAX);
        self.with(move |c| {
            let items = all_rows(
                c,
                &format!(
                    "SELECT {COLUMNS} FROM outbox ORDER BY created_ms DESC, key LIMIT ?1 OFFSET ?2"
                ),
                params![page.limit, offset],
                entry_from_row,
            )?;
            let total: i64 = c
                .query_row_cached("SELECT messages FROM outbox_size", [], |row| row.get(0))
                .map_err(unavailable)?;
            Ok(Page {
                items,
                total: total as u64,
            })
        })
        .await
    }

    async fn entry(&self, key: &str) -> Result<Option<OutboxEntry>, PortError> {
        let key = key.to_owned();
        let found = self
            .with(move |c| {
                all_rows(
                    c,
                    &format!("SELECT {COLUMNS} FROM outbox WHERE key = ?1"),
                    [key],
                    entry_from_row,
                )
            })
            .await?;
        Ok(found.into_iter().next())
    }

    async fn resend(&self, key: &str, now: OffsetDateTime) -> Result<bool, PortError> {
        let key = key.to_owned();
        self.with(move |c| {
            let changed = c
                .execute_cached(
                    "UPDATE outbox SET state = 'pending', attempts = 0, last_error = NULL, \
                     next_attempt_ms = ?1, lease_until_ms = NULL, sent_ms = NULL WHERE key = ?2",
                    params![millis(now), key],
                )
                .map_err(unavailable)?;
            Ok(changed == 1)
        })
        .await
    }
}
