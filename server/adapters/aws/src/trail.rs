//! The audit trail in the table, in each group's partition beside its log:
//!
//! | item | `sk` | attributes |
//! | --- | --- | --- |
//! | the head | `audit#head` | `head` (JSON: size, last hash, frontier), `size` |
//! | an entry | `audit#entry#{seq:012}` | `entry` (its canonical JSON) |
//! | a key | `audit#key#{key}` | `seq` |
//! | a checkpoint | `audit#checkpoint#{size:012}` | `note` (the signed checkpoint) |
//!
//! An append is one `TransactWriteItems`: the new entries and their keys, each only where no
//! item is, and the head, only if it is still the one read. Of two appends racing in a group
//! one wins; the other reads the new head and tries again. Checkpoints are kept in the
//! table and also outside it, so that a rewrite of the table's trail or a cut tail shows:
//! locked in S3 (`bucket.rs`) when a bucket is configured, else the newest as a version of
//! the SSM parameter `{prefix}/_audit/{group}`.

use crate::calls::port;
use crate::table::TrailWrites;
use crate::table::{group_key, key, n, number, s, text, Item};
use crate::AwsBackend;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use countersign_audit::{checkpoint, Head};
use countersign_domain::audit::{Appended, AuditRecord};
use countersign_domain::ports::*;
use countersign_domain::GroupName;
use std::sync::Arc;
use tokio::sync::Mutex;

const HEAD: &str = "audit#head";
const ENTRIES: &str = "audit#entry#";
const CHECKPOINTS: &str = "audit#checkpoint#";
/// How many times an append races other replicas' appends in its group before giving up;
/// between attempts it waits a random while, longer each time.
const APPEND_ATTEMPTS: u32 = 20;

/// A lock per group, so that one replica's appends to a trail take turns.
#[derive(Default)]
pub(crate) struct Locks(std::sync::Mutex<std::collections::HashMap<GroupName, Arc<Mutex<()>>>>);

impl Locks {
    fn of(&self, group: &GroupName) -> Arc<Mutex<()>> {
        let mut locks = self.0.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(group.clone()).or_default().clone()
    }
}

/// The key of `group`'s trail head.
pub(crate) fn head_key(group: &GroupName) -> Item {
    key(group_key(group), HEAD)
}

fn entry_sk(seq: u64) -> String {
    format!("{ENTRIES}{seq:012}")
}

fn key_sk(key: &str) -> String {
    format!("audit#key#{key}")
}

impl AwsBackend {
    async fn audit_head(&self, group: &GroupName) -> Result<Head, PortError> {
        match self.table.item(head_key(group)).await? {
            Some(item) => Head::parse(text(&item, "head")?)
                .map_err(|e| PortError::Corrupt(format!("the audit head of {group}: {e}"))),
            None => Ok(Head::default()),
        }
    }

    fn put_item(&self, item: Item, condition: &str) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(self.table.name())
            .set_item(Some(item))
            .condition_expression(condition)
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }

    /// Where `key` was appended in `group`'s trail, if it was.
    async fn kept(&self, group: &GroupName, key_: &str) -> Result<Option<u64>, PortError> {
        let Some(kept) = self.table.item(key(group_key(group), key_sk(key_))).await? else {
            return Ok(None);
        };
        let seq = number(&kept, "seq")
            .ok_or_else(|| PortError::Corrupt(format!("the audit key {key_} has no place")))?;
        Ok(Some(seq as u64))
    }

    /// `record`'s place in its group's trail when it is there already; otherwise the writes
    /// that append it to the trail as it is now (valid while its head stays as read), and
    /// where it will land.
    pub(crate) async fn trail_writes(
        &self,
        record: &AuditRecord,
    ) -> Result<Result<Appended, (TrailWrites, Appended)>, PortError> {
        let pk = group_key(&record.group);
        let head = self.audit_head(&record.group).await?;
        let root = |head: &Head| {
            head.root()
                .map(|h| h.0)
                .map_err(|e| PortError::Corrupt(format!("the audit head of {}: {e}", record.group)))
        };
        let (from_size, from_root) = (head.size, root(&head)?);
        if let Some(seq) = self.kept(&record.group, &record.key).await? {
            return Ok(Ok(Appended {
                seq,
                size: from_size,
                root: from_root,
                new: false,
                from_size,
                from_root,
            }));
        }
        let (entries, next) = head.append(record).map_err(PortError::Corrupt)?;
        let mut writes = Vec::with_capacity(2 * entries.len() + 1);
        for entry in &entries {
            let mut item = key(&pk, entry_sk(entry.seq));
            item.insert("entry".into(), s(&entry.text));
            writes.push(self.put_item(item, "attribute_not_exists(pk)"));
            let mut kept = key(&pk, key_sk(&entry.key));
            kept.insert("seq".into(), n(entry.seq));
            writes.push(self.put_item(kept, "attribute_not_exists(pk)"));
        }
        let mut item = head_key(&record.group);
        item.insert("head".into(), s(next.to_json()));
        item.insert("size".into(), n(next.size));
        writes.push(if head.size == 0 {
            self.put_item(item, "attribute_not_exists(pk)")
        } else {
            let put = Put::builder()
                .table_name(self.table.name())
                .set_item(Some(item))
                .condition_expression("#size = :read")
                .expression_attribute_names("#size", "size")
                .expression_attribute_values(":read", n(head.size))
                .build()
                .expect("table and item are set");
            TransactWriteItem::builder().put(put).build()
        });
        let appended = Appended {
            seq: next.size - 1,
            size: next.size,
            root: root(&next)?,
            new: true,
            from_size,
            from_root,
        };
        let writes = TrailWrites {
            group: record.group.clone(),
            read_size: head.size,
            writes,
        };
        Ok(Err((writes, appended)))
    }

    /// Tries one append from the head read now: `Ok(None)` when another append won.
    async fn try_append(&self, record: &AuditRecord) -> Result<Option<Appended>, PortError> {
        let (writes, appended) = match self.trail_writes(record).await? {
            Ok(kept) => return Ok(Some(kept)),
            Err(to_write) => to_write,
        };
        let mut request = self.table.client.transact_write_items();
        for write in writes.writes {
            request = request.transact_items(write);
        }
        match self
            .table
            .calls
            .call("dynamodb:TransactWriteItems", request.send())
            .await
        {
            Ok(_) => Ok(Some(appended)),
            Err(f) if f.is(|e| e.is_transaction_canceled_exception()) => Ok(None),
            Err(f) => Err(port(f)),
        }
    }

    /// Runs `attempt` until it is not beaten by another replica's append to `group`'s trail,
    /// this replica's appends to it taking turns.
    pub(crate) async fn appending<T, F, Fut>(
        &self,
        group: &GroupName,
        attempt: F,
    ) -> Result<T, PortError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, PortError>>,
    {
        let lock = self.audit_locks.of(group);
        let _turn = lock.lock().await;
        for round in 1..=APPEND_ATTEMPTS {
            if let Some(done) = attempt().await? {
                return Ok(done);
            }
            let jitter = (uuid::Uuid::new_v4().as_u128() % 20) as u64;
            let wait = std::time::Duration::from_millis((5 + jitter) * u64::from(round));
            tokio::time::sleep(wait).await;
        }
        Err(PortError::Unavailable(format!(
            "the audit trail of {group} is too busy: {APPEND_ATTEMPTS} appends raced this one; try again"
        )))
    }

    fn audit_parameter(&self, group: &GroupName) -> String {
        format!("{}/_audit/{group}", self.settings.ssm_prefix)
    }
}

#[async_trait::async_trait]
impl AuditTrail for AwsBackend {
    async fn append(&self, record: &AuditRecord) -> Result<Appended, PortError> {
        self.appending(&record.group, || self.try_append(record))
            .await
    }

    async fn entries(&self, group: &GroupName, from: u64) -> Result<Vec<String>, PortError> {
        // Sequence numbers are digits: `~` sorts after every one of them.
        let last = format!("{ENTRIES}~");
        self.table
            .items_between(&group_key(group), &entry_sk(from), &last)
            .await?
            .iter()
            .map(|item| text(item, "entry").map(str::to_owned))
            .collect()
    }

    async fn entries_keyed(
        &self,
        group: &GroupName,
        keys: &[String],
    ) -> Result<Vec<String>, PortError> {
        let pk = group_key(group);
        // BatchGetItem refuses a request naming one key twice.
        let distinct: std::collections::BTreeSet<&String> = keys.iter().collect();
        let keyed = self
            .table
            .items(
                distinct
                    .into_iter()
                    .map(|k| key(pk.clone(), key_sk(k)))
                    .collect(),
            )
            .await?;
        let seqs: Vec<u64> = keyed
            .iter()
            .map(|item| {
                number(item, "seq")
                    .and_then(|seq| u64::try_from(seq).ok())
                    .ok_or_else(|| {
                        PortError::Corrupt(format!("an audit key of {group} names no entry"))
                    })
            })
            .collect::<Result<_, _>>()?;
        let entries = self
            .table
            .items(
                seqs.iter()
                    .map(|&seq| key(pk.clone(), entry_sk(seq)))
                    .collect(),
            )
            .await?;
        // A batch answers in any order; sort keys are zero-padded sequence numbers.
        let mut entries: Vec<(&str, String)> = entries
            .iter()
            .map(|item| Ok((text(item, "sk")?, text(item, "entry")?.to_owned())))
            .collect::<Result<_, PortError>>()?;
        entries.sort_unstable();
        Ok(entries.into_iter().map(|(_, entry)| entry).collect())
    }
}

fn checkpoint_size(note: &str) -> Result<u64, PortError> {
    checkpoint::size_of(note)
        .ok_or_else(|| PortError::Rejected("not a checkpoint: its second line is no size".into()))
}

#[async_trait::async_trait]
impl CheckpointPublisher for AwsBackend {
    async fn publish(&self, group: &GroupName, note: &str) -> Result<(), PortError> {
        let size = checkpoint_size(note)?;
        let mut item = key(group_key(group), format!("{CHECKPOINTS}{size:012}"));
        item.insert("note".into(), s(note));
        self.table.put_new(item).await?;
        if self.lock_checkpoint(group, size, note).await? {
            return Ok(());
        }
        self.overwrite(&self.audit_parameter(group), note).await
    }

    async fn published(&self, group: &GroupName) -> Result<Vec<String>, PortError> {
        let mut notes: Vec<String> = self
            .table
            .items_under(&group_key(group), CHECKPOINTS)
            .await?
            .iter()
            .map(|item| text(item, "note").map(str::to_owned))
            .collect::<Result<_, _>>()?;
        let known = notes.iter().filter_map(|n| checkpoint::size_of(n)).max();
        let apart = match self.locked_beyond(group, known.unwrap_or(0)).await? {
            Some(locked) => locked,
            None => self.parameter_history(&self.audit_parameter(group)).await?,
        };
        for note in apart {
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
        Ok(notes)
    }

    async fn newest_published(&self, group: &GroupName) -> Result<Option<String>, PortError> {
        let in_table = match self
            .table
            .last_under(&group_key(group), CHECKPOINTS)
            .await?
        {
            Some(item) => Some(text(&item, "note")?.to_owned()),
            None => None,
        };
        let known = in_table.as_deref().and_then(checkpoint::size_of);
        // Published apart: the locked objects beyond the table's newest, or the parameter.
        let apart = match self.locked_beyond(group, known.unwrap_or(0)).await? {
            Some(locked) => locked,
            None => self
                .read_parameter(&self.audit_parameter(group), false)
                .await?
                .into_iter()
                .collect(),
        };
        Ok(countersign_domain::ports::largest(
            in_table.into_iter().chain(apart),
        ))
    }
}
