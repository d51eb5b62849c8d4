//! The decision log in the table: each version's entries, appended with their environment's
//! guard in one transaction, and read back by version or group.

use super::*;

/// A decision to append at place `seq` of its version's log.
pub struct NewEntry<'a> {
    pub group: &'a GroupName,
    pub version: VersionNumber,
    pub seq: u64,
    pub decision_id: &'a str,
    /// The signed log entry, as JSON.
    pub entry: &'a str,
    pub logged_at: OffsetDateTime,
    /// For a decision that deploys: where, what, and the decision whose deployment it
    /// replaces there (`None`: nothing was live).
    pub deploys: Option<Deploys<'a>>,
    /// The decision's audit trail entry, written in the same transaction.
    pub trail: Option<TrailWrites>,
}

/// The writes that append to a group's audit trail, valid while its head is `read_size`.
pub struct TrailWrites {
    pub group: GroupName,
    pub read_size: u64,
    pub writes: Vec<TransactWriteItem>,
}

pub struct Deploys<'a> {
    pub environment: &'a str,
    pub replaces: Option<&'a str>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Placement {
    Written,
    /// That place in the log was taken: by this same decision when it is a retry.
    Taken {
        decision_id: String,
    },
    /// Another decision deployed to the environment first; nothing was written.
    EnvironmentMoved,
    /// Another append to the group's audit trail came first; nothing was written, and the
    /// decision may be tried again on the new head.
    TrailMoved,
}

/// One stored decision with where it sits in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub version: VersionNumber,
    pub seq: u64,
    pub decision_id: String,
    pub entry: String,
}

/// What an environment's guard holds: the portal's last deployment there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    pub decision_id: String,
    /// Where the decision's entry sits in the log, which its MAC covers.
    pub version: VersionNumber,
    pub seq: u64,
    /// The decision's signed log entry, JSON: what is published comes from an entry the
    /// portal signed, never from an attribute anyone with write access could change.
    pub entry: String,
}

pub(super) fn log_prefix(version: VersionNumber) -> String {
    format!("log#{:010}#", version.get())
}

pub(super) fn log_key(group: &GroupName, version: VersionNumber, seq: u64) -> Item {
    key(group_key(group), format!("{}{seq:06}", log_prefix(version)))
}

pub(super) fn guard_key(group: &GroupName, environment: &str) -> Item {
    key(group_key(group), format!("live#{environment}"))
}

pub(super) fn stored_entry(item: &Item) -> Result<StoredEntry, PortError> {
    let sort_key = text(item, "sk")?;
    let corrupt = || {
        PortError::Corrupt(format!(
            "decision log item {sort_key:?} is not log#{{version}}#{{seq}}"
        ))
    };
    let mut parts = sort_key
        .strip_prefix("log#")
        .ok_or_else(corrupt)?
        .split('#');
    let version = parts
        .next()
        .and_then(|v| v.parse::<u32>().ok())
        .and_then(|v| VersionNumber::new(v).ok())
        .ok_or_else(corrupt)?;
    let seq = parts
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(corrupt)?;
    Ok(StoredEntry {
        version,
        seq,
        decision_id: text(item, "decision_id")?.to_owned(),
        entry: text(item, "entry")?.to_owned(),
    })
}

impl Table {
    /// Appends `new` to its version's log and, for a decision that deploys, moves its
    /// environment's guard, in one transaction: both or neither.
    pub async fn put_entry(&self, new: &NewEntry<'_>) -> Result<Placement, PortError> {
        let mut item = log_key(new.group, new.version, new.seq);
        item.insert("decision_id".into(), s(new.decision_id));
        item.insert("entry".into(), s(new.entry));
        item.insert(
            "logged_at".into(),
            s(new
                .logged_at
                .format(&time::format_description::well_known::Rfc3339)
                .expect("a time formats")),
        );
        let put = Put::builder()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("table and item are set");
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build());
        if let Some(deploys) = &new.deploys {
            let mut update = Update::builder()
                .table_name(&self.name)
                .set_key(Some(guard_key(new.group, deploys.environment)))
                .update_expression(
                    "SET decision_id = :own, entry = :entry, version = :version, seq = :seq",
                )
                .expression_attribute_values(":own", s(new.decision_id))
                .expression_attribute_values(":entry", s(new.entry))
                .expression_attribute_values(":version", n(new.version.get()))
                .expression_attribute_values(":seq", n(new.seq));
            // No guard yet: nothing the portal deployed there since the table took over
            // (what `migrate` found live is guarded), so the decision replaces whatever is
            // live. Once written, a guard is never removed.
            update = match deploys.replaces {
                None => update.condition_expression("attribute_not_exists(pk)"),
                Some(replaced) => update
                    .condition_expression("attribute_not_exists(pk) OR decision_id = :replaced")
                    .expression_attribute_values(":replaced", s(replaced)),
            };
            let update = update.build().expect("table, key and expression are set");
            request = request.transact_items(TransactWriteItem::builder().update(update).build());
        }
        for write in new.trail.iter().flat_map(|t| t.writes.iter().cloned()) {
            request = request.transact_items(write);
        }
        let written = self
            .calls
            .call("dynamodb:TransactWriteItems", request.send())
            .await;
        match written {
            Ok(_) => Ok(Placement::Written),
            Err(f) if f.is(|e| e.is_transaction_canceled_exception()) => {
                // Which condition failed, read back rather than taken from the cancellation
                // reasons: the log's place first, since a retry finds its own entry there.
                if let Some(taken) = self.entry_at(new.group, new.version, new.seq).await? {
                    return Ok(Placement::Taken {
                        decision_id: taken.decision_id,
                    });
                }
                if let Some(trail) = &new.trail {
                    let head = self.item(crate::trail::head_key(&trail.group)).await?;
                    let size = head.as_ref().and_then(|h| number(h, "size")).unwrap_or(0);
                    if size as u64 != trail.read_size {
                        return Ok(Placement::TrailMoved);
                    }
                }
                match () {
                    () if new.deploys.is_some() => Ok(Placement::EnvironmentMoved),
                    () => Err(PortError::Unavailable(format!(
                        "DynamoDB cancelled the append of decision {} for another reason; try again",
                        new.decision_id
                    ))),
                }
            }
            Err(f) => Err(port(f)),
        }
    }

    pub(super) async fn entry_at(
        &self,
        group: &GroupName,
        version: VersionNumber,
        seq: u64,
    ) -> Result<Option<StoredEntry>, PortError> {
        let item = self.item(log_key(group, version, seq)).await?;
        item.as_ref().map(stored_entry).transpose()
    }

    /// The portal's last deployment in `environment`, by its guard.
    pub async fn guard(
        &self,
        group: &GroupName,
        environment: &str,
    ) -> Result<Option<Guard>, PortError> {
        let item = self.item(guard_key(group, environment)).await?;
        item.as_ref()
            .map(|item| {
                let place = |name: &str| {
                    number(item, name).ok_or_else(|| {
                        PortError::Corrupt(format!(
                            "the guard of {group} {environment} has no {name}"
                        ))
                    })
                };
                Ok(Guard {
                    decision_id: text(item, "decision_id")?.to_owned(),
                    version: u32::try_from(place("version")?)
                        .ok()
                        .and_then(|v| VersionNumber::new(v).ok())
                        .ok_or_else(|| {
                            PortError::Corrupt(format!(
                                "the guard of {group} {environment} names no version"
                            ))
                        })?,
                    seq: place("seq")? as u64,
                    entry: text(item, "entry")?.to_owned(),
                })
            })
            .transpose()
    }

    /// Guards an environment where `migrate` found a logged deployment live and no guard
    /// yet; true when this call wrote it.
    pub(crate) async fn guard_if_unguarded(
        &self,
        group: &GroupName,
        environment: &str,
        logged: &StoredEntry,
    ) -> Result<bool, PortError> {
        let mut item = guard_key(group, environment);
        item.insert("decision_id".into(), s(&logged.decision_id));
        item.insert("entry".into(), s(&logged.entry));
        item.insert("version".into(), n(logged.version.get()));
        item.insert("seq".into(), n(logged.seq));
        self.put_new(item).await
    }

    /// One version's log, in order: one Query (more only past 1 MB of entries).
    pub async fn version_log(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<StoredEntry>, PortError> {
        self.items_under(&group_key(group), &log_prefix(version))
            .await?
            .iter()
            .map(stored_entry)
            .collect()
    }

    /// Every decision on the group's versions, by version and then place in its log.
    pub async fn group_log(&self, group: &GroupName) -> Result<Vec<StoredEntry>, PortError> {
        self.items_under(&group_key(group), "log#")
            .await?
            .iter()
            .map(stored_entry)
            .collect()
    }
}
