//! The waiting index: a row per version, what waits on it as the portal last wrote it.

use crate::rows::*;
use crate::LocalStore;
use countersign_domain::ports::*;
use rusqlite::params;
use time::OffsetDateTime;

impl LocalStore {
    pub(crate) async fn keep_waiting_row(&self, row: &WaitingRow) -> Result<(), PortError> {
        let group = row.group.to_string();
        let version = i64::from(row.version.get());
        let revision = i64::try_from(row.revision).map_err(|_| {
            PortError::Rejected(format!("revision {} is out of range", row.revision))
        })?;
        let since_ms = row
            .step
            .as_ref()
            .map(|kept| (kept.since.unix_timestamp_nanos() / 1_000_000) as i64);
        let document = row.step.as_ref().map(|kept| kept.document.clone());
        self.with(move |c| {
            c.execute_cached(
                "INSERT INTO waiting_steps (group_name, version, revision, since_ms, step) \
                 VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (group_name, version) DO UPDATE SET \
                    revision = excluded.revision, since_ms = excluded.since_ms, \
                    step = excluded.step \
                 WHERE excluded.revision >= waiting_steps.revision",
                params![group, version, revision, since_ms, document],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    /// A page at a time, by group and version, each page read under the lock alone.
    pub(crate) async fn kept_waiting_rows(
        &self,
        each: &mut (dyn FnMut(WaitingRow) + Send),
    ) -> Result<(), PortError> {
        let mut after: (String, i64) = (String::new(), 0);
        loop {
            let from = after.clone();
            let page = self
                .with(move |c| {
                    all_rows(
                        c,
                        "SELECT group_name, version, revision, since_ms, step FROM waiting_steps \
                         WHERE step IS NOT NULL AND (group_name, version) > (?1, ?2) \
                         ORDER BY group_name, version LIMIT ?3",
                        params![from.0, from.1, WAITING_PAGE],
                        waiting_row,
                    )
                })
                .await?;
            let full = page.len() == WAITING_PAGE as usize;
            if let Some(last) = page.last() {
                after = (last.group.to_string(), i64::from(last.version.get()));
            }
            page.into_iter().for_each(&mut *each);
            if !full {
                return Ok(());
            }
        }
    }
}

/// How many rows of the waiting index are read at a time.
const WAITING_PAGE: u32 = 1000;

fn waiting_row(row: &rusqlite::Row) -> rusqlite::Result<WaitingRow> {
    let since_ms: i64 = row.get(3)?;
    let since = OffsetDateTime::from_unix_timestamp_nanos(i128::from(since_ms) * 1_000_000)
        .map_err(|_| corrupt("waiting since", &since_ms.to_string()))?;
    Ok(WaitingRow {
        group: group_name(row.get(0)?)?,
        version: version_number(row.get(1)?)?,
        revision: row.get::<_, i64>(2)? as u64,
        step: Some(KeptStep {
            since,
            document: row.get(4)?,
        }),
    })
}
