//! The audit trail in the same SQLite file: each group's entries exactly as hashed, and its
//! head (size, last hash, tree frontier). Triggers refuse UPDATE and DELETE on the entries,
//! so the portal cannot change one, and neither can anything else that goes through SQLite
//! without first dropping them; what a raw writer does anyway, the published checkpoints
//! catch. Checkpoints are published to a file of their own ([`CheckpointFile`]).

use crate::{all_rows, unavailable, CachedStatements, LocalStore};
use async_trait::async_trait;
use countersign_audit::Head;
use countersign_domain::audit::{Appended, AuditRecord};
use countersign_domain::ports::*;
use countersign_domain::GroupName;
use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};
use std::io::{BufRead, Write};
use std::path::PathBuf;

#[async_trait]
impl AuditTrail for LocalStore {
    async fn append(&self, record: &AuditRecord) -> Result<Appended, PortError> {
        let record = record.clone();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let appended = append_in(&tx, &record)?;
            tx.commit().map_err(unavailable)?;
            Ok(appended)
        })
        .await
    }

    async fn entries(&self, group: &GroupName, from: u64) -> Result<Vec<String>, PortError> {
        let group = group.to_string();
        self.with(move |c| {
            all_rows(
                c,
                "SELECT entry FROM audit_entries WHERE group_name = ?1 AND seq >= ?2 ORDER BY seq",
                params![group, from as i64],
                |r| r.get(0),
            )
        })
        .await
    }

    async fn entries_keyed(
        &self,
        group: &GroupName,
        keys: &[String],
    ) -> Result<Vec<String>, PortError> {
        let group = group.to_string();
        let keys: std::collections::BTreeSet<String> = keys.iter().cloned().collect();
        self.with(move |c| {
            let mut by_key = c
                .prepare_cached(
                    "SELECT seq, entry FROM audit_entries WHERE group_name = ?1 AND key = ?2",
                )
                .map_err(unavailable)?;
            let mut found = Vec::new();
            for key in &keys {
                let entry = by_key
                    .query_row(params![group, key], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                    })
                    .optional()
                    .map_err(unavailable)?;
                found.extend(entry);
            }
            found.sort_by_key(|(seq, _)| *seq);
            Ok(found.into_iter().map(|(_, entry)| entry).collect())
        })
        .await
    }
}

/// Appends `record` inside `tx` (a decision's own transaction, say), unless its key is kept.
pub(crate) fn append_in(tx: &Transaction, record: &AuditRecord) -> Result<Appended, PortError> {
    let group = record.group.to_string();
    let head = match tx
        .query_row_cached(
            "SELECT head FROM audit_heads WHERE group_name = ?1",
            [&group],
            |r| r.get::<_, String>(0),
        )
        .optional()
        .map_err(unavailable)?
    {
        Some(text) => Head::parse(&text)
            .map_err(|e| PortError::Corrupt(format!("the audit head of {group}: {e}")))?,
        None => Head::default(),
    };
    let root = |head: &Head| {
        head.root()
            .map(|h| h.0)
            .map_err(|e| PortError::Corrupt(format!("the audit head of {group}: {e}")))
    };
    let kept: Option<i64> = tx
        .query_row_cached(
            "SELECT seq FROM audit_entries WHERE group_name = ?1 AND key = ?2",
            params![group, record.key],
            |r| r.get(0),
        )
        .optional()
        .map_err(unavailable)?;
    let (from_size, from_root) = (head.size, root(&head)?);
    if let Some(seq) = kept {
        return Ok(Appended {
            seq: seq as u64,
            size: from_size,
            root: from_root,
            new: false,
            from_size,
            from_root,
        });
    }
    let (entries, head) = head.append(record).map_err(PortError::Corrupt)?;
    for entry in &entries {
        tx.execute_cached(
            "INSERT INTO audit_entries (group_name, seq, key, entry) VALUES (?1, ?2, ?3, ?4)",
            params![group, entry.seq as i64, entry.key, entry.text],
        )
        .map_err(unavailable)?;
    }
    tx.execute_cached(
        "INSERT INTO audit_heads (group_name, head) VALUES (?1, ?2) \
         ON CONFLICT (group_name) DO UPDATE SET head = excluded.head",
        params![group, head.to_json()],
    )
    .map_err(unavailable)?;
    Ok(Appended {
        seq: head.size - 1,
        size: head.size,
        root: root(&head)?,
        new: true,
        from_size,
        from_root,
    })
}

/// Checkpoints published to an append-only file beside the database (`<database>.checkpoints`):
/// one JSON line per checkpoint, `{"group": ..., "note": ...}`. Opened for appending only;
/// never rewritten.
#[derive(Clone, Debug)]
pub struct CheckpointFile {
    path: PathBuf,
    /// Each group's newest checkpoint as far as the file has been read: the next reader
    /// reads only what was appended since.
    newest: std::sync::Arc<std::sync::Mutex<NewestRead>>,
}

/// How far the checkpoint file has been read, and the largest checkpoint of each group in it.
#[derive(Debug, Default)]
struct NewestRead {
    read_to: u64,
    by_group: std::collections::HashMap<String, (u64, String)>,
}

impl NewestRead {
    /// Takes in the complete lines of `bytes`, read from `read_to` on.
    fn take(&mut self, bytes: &[u8]) {
        let Some(end) = bytes.iter().rposition(|b| *b == b'\n') else {
            return;
        };
        for line in bytes[..end].split(|b| *b == b'\n') {
            // A line cut short by a crash mid-write is skipped, not fatal.
            let Ok(published) = serde_json::from_slice::<Published>(line) else {
                continue;
            };
            let Some(size) = published.note.lines().nth(1).and_then(|l| l.parse().ok()) else {
                continue;
            };
            let newest = self.by_group.get(&published.group).map(|(s, _)| *s);
            if newest.is_none_or(|newest| size > newest) {
                self.by_group
                    .insert(published.group, (size, published.note));
            }
        }
        self.read_to += end as u64 + 1;
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Published {
    group: String,
    note: String,
}

impl CheckpointFile {
    pub fn at(path: PathBuf) -> Self {
        Self {
            path,
            newest: Default::default(),
        }
    }

    /// The file beside the database at `database`.
    pub fn beside(database: &std::path::Path) -> Self {
        let mut name = database.as_os_str().to_owned();
        name.push(".checkpoints");
        Self::at(PathBuf::from(name))
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

fn io(what: &str, e: std::io::Error) -> PortError {
    PortError::Unavailable(format!("{what}: {e}"))
}

#[async_trait]
impl CheckpointPublisher for CheckpointFile {
    async fn publish(&self, group: &GroupName, note: &str) -> Result<(), PortError> {
        let mut line = serde_json::to_string(&Published {
            group: group.to_string(),
            note: note.to_owned(),
        })
        .expect("a checkpoint line serialises");
        line.push('\n');
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let what = format!("cannot publish a checkpoint to {}", path.display());
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| io(&what, e))?;
            // One write of the whole line: appends from several writers never interleave.
            file.write_all(line.as_bytes()).map_err(|e| io(&what, e))?;
            file.sync_data().map_err(|e| io(&what, e))
        })
        .await
        .map_err(|e| PortError::Unavailable(format!("checkpoint task failed: {e}")))?
    }

    async fn published(&self, group: &GroupName) -> Result<Vec<String>, PortError> {
        let (path, group) = (self.path.clone(), group.to_string());
        tokio::task::spawn_blocking(move || {
            let what = format!("cannot read the checkpoints in {}", path.display());
            let file = match std::fs::File::open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(io(&what, e)),
            };
            let mut notes = Vec::new();
            for line in std::io::BufReader::new(file).lines() {
                let line = line.map_err(|e| io(&what, e))?;
                // A line cut short by a crash mid-write is skipped, not fatal.
                if let Ok(published) = serde_json::from_str::<Published>(&line) {
                    if published.group == group {
                        notes.push(published.note);
                    }
                }
            }
            Ok(notes)
        })
        .await
        .map_err(|e| PortError::Unavailable(format!("checkpoint task failed: {e}")))?
    }

    async fn newest_published(&self, group: &GroupName) -> Result<Option<String>, PortError> {
        let (path, group, newest) = (self.path.clone(), group.to_string(), self.newest.clone());
        tokio::task::spawn_blocking(move || {
            use std::io::{Read, Seek};
            let what = format!("cannot read the checkpoints in {}", path.display());
            let mut read = newest.lock().unwrap_or_else(|p| p.into_inner());
            let mut file = match std::fs::File::open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    *read = NewestRead::default();
                    return Ok(None);
                }
                Err(e) => return Err(io(&what, e)),
            };
            let length = file.metadata().map_err(|e| io(&what, e))?.len();
            if length < read.read_to {
                // The file is shorter than what was read of it: read it again whole.
                *read = NewestRead::default();
            }
            file.seek(std::io::SeekFrom::Start(read.read_to))
                .map_err(|e| io(&what, e))?;
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).map_err(|e| io(&what, e))?;
            read.take(&bytes);
            Ok(read.by_group.get(&group).map(|(_, note)| note.clone()))
        })
        .await
        .map_err(|e| PortError::Unavailable(format!("checkpoint task failed: {e}")))?
    }
}
