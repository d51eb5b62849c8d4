//! The DynamoDB table that holds everything the portal writes on AWS but the live pointers:
//! the decision log with one guard per environment, inference reports, the notification
//! outbox and session revocations. SSM allows 10 000 standard parameters per account and
//! about 40 reads a second, shared with every other application there; tens of thousands of
//! decisions, messages and reports a year do not belong in it.
//!
//! One table, single-table design. Keys (both strings):
//!
//! | item | `pk` | `sk` | other attributes |
//! | --- | --- | --- | --- |
//! | a decision | `group#{group}` | `log#{version:010}#{seq:06}` | `decision_id`, `entry` (the signed log entry, JSON), `logged_at` |
//! | an environment's guard | `group#{group}` | `live#{environment}` | `decision_id`, `entry` (the signed log entry), `version` and `seq` (its place) of the portal's last deployment there |
//! | a report | `group#{group}` | `report#{version:010}#{environment}#{run id}` | `report` (JSON) |
//! | a message | `outbox#{key}` | `message` | see `outbox.rs`; expires (TTL `expires_at`) |
//! | a revocation | `sessions` | `revoked#{whose}` | `issued_before` (Unix ms) |
//! | a version registered by someone | `registrant#{identifier}` | `{registered at, Unix ms:013}#{group}#{version:010}` | `group`, `version`; one per identifier the registrant is known by (`identity.rs`) |
//! | a version with a step pending | `group#{group}` | `pending-step#{version:010}` | `group`, `version`; `pending` and `due` while a step is pending |
//!
//! Two sparse global secondary indexes: `pending` (`pending`, `due`) holds what waits, by
//! when: messages waiting to be sent (`pending` = `outbox`) and versions with a step waiting
//! for a decision (`pending` = `steps`, the inbox's one Query across groups); `changes`
//! (`feed`, `changed`) orders every message by when its delivery last changed.
//!
//! A version's log is one Query (`begins_with(sk, "log#{version:010}#")`), a group's log one
//! Query (`begins_with(sk, "log#")`), both consistent reads; nothing scans.
//!
//! **One guard per environment.** A decision that deploys is appended in one transaction
//! with its environment's guard: the log entry only if its place is free, the guard only if
//! it still names the deployment the decision replaces. Of two decisions racing for one
//! version, or for one environment, exactly one is written; the other changes nothing.

use crate::calls::{port, CallCounter, CallCounts};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, Put, ScalarAttributeType, TimeToLiveSpecification,
    TransactWriteItem, Update,
};
use countersign_domain::ports::PortError;
use countersign_domain::{GroupName, VersionNumber};
use std::collections::HashMap;
use std::sync::Arc;
use time::OffsetDateTime;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// The portal's table.
pub struct Table {
    pub(crate) client: aws_sdk_dynamodb::Client,
    pub(crate) name: String,
    pub(crate) calls: Arc<CallCounter>,
}

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
pub enum Appended {
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

pub(crate) fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

pub(crate) fn n(number: impl ToString) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

pub(crate) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

pub(crate) fn group_key(group: &GroupName) -> String {
    format!("group#{group}")
}

fn log_prefix(version: VersionNumber) -> String {
    format!("log#{:010}#", version.get())
}

fn log_key(group: &GroupName, version: VersionNumber, seq: u64) -> Item {
    key(group_key(group), format!("{}{seq:06}", log_prefix(version)))
}

fn guard_key(group: &GroupName, environment: &str) -> Item {
    key(group_key(group), format!("live#{environment}"))
}

/// A string attribute of an item, or `Corrupt` naming what is missing.
pub(crate) fn text<'a>(item: &'a Item, name: &str) -> Result<&'a str, PortError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| {
            PortError::Corrupt(format!(
                "item {:?} of the portal's DynamoDB table has no {name}",
                item.get("sk").and_then(|v| v.as_s().ok())
            ))
        })
}

/// A time as the table keeps it: Unix milliseconds, a number attribute.
pub(crate) fn millis(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

pub(crate) fn from_millis(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// A number attribute of an item, if present and a number.
pub(crate) fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

fn stored_entry(item: &Item) -> Result<StoredEntry, PortError> {
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

/// The indexes: what waits (messages, steps), by when due; every message, by last change.
pub(crate) const PENDING_INDEX: &str = "pending";
pub(crate) const CHANGES_INDEX: &str = "changes";

/// The `pending` index's partition for versions with a step pending.
const STEPS_PENDING: &str = "steps";

fn registrant_partition(identifier: &str) -> String {
    format!("registrant#{identifier}")
}

/// `group` and `version`, the attributes index items name a version by.
fn version_named(item: &Item) -> Result<(GroupName, VersionNumber), PortError> {
    let group =
        GroupName::parse(text(item, "group")?).map_err(|e| PortError::Corrupt(e.to_string()))?;
    let version = number(item, "version")
        .and_then(|v| u32::try_from(v).ok())
        .and_then(|v| VersionNumber::new(v).ok())
        .ok_or_else(|| PortError::Corrupt(format!("an index item of {group} has no version")))?;
    Ok((group, version))
}

fn pending_step_key(group: &GroupName, version: VersionNumber) -> Item {
    key(
        group_key(group),
        format!("pending-step#{:010}", version.get()),
    )
}

impl Table {
    /// The table `name`, counting its own requests.
    pub fn new(config: &SdkConfig, name: impl Into<String>) -> Self {
        Self::counted(
            aws_sdk_dynamodb::Client::new(config),
            name.into(),
            Arc::default(),
        )
    }

    pub(crate) fn counted(
        client: aws_sdk_dynamodb::Client,
        name: String,
        calls: Arc<CallCounter>,
    ) -> Self {
        Self {
            client,
            name,
            calls,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many requests of each kind the table has had so far.
    pub fn calls(&self) -> CallCounts {
        self.calls.snapshot()
    }

    /// Checks the table exists; creates it when it does not and `create_if_missing` (tests,
    /// laptops against moto). In production the portal's role has no `dynamodb:CreateTable`:
    /// infrastructure as code creates the table (`deploy/countersign-table.yaml`).
    pub async fn prepare(&self, create_if_missing: bool) -> Result<(), PortError> {
        let described = self
            .calls
            .call(
                "dynamodb:DescribeTable",
                self.client.describe_table().table_name(&self.name).send(),
            )
            .await;
        match described {
            Ok(_) => return Ok(()),
            Err(f) if f.is(|e| e.is_resource_not_found_exception()) => {}
            Err(f) => return Err(port(f)),
        }
        if !create_if_missing {
            return Err(PortError::Unavailable(format!(
                "the DynamoDB table {} does not exist: create it with deploy/countersign-table.yaml (CloudFormation; see \"Running on AWS\" in the README), or set COUNTERSIGN_DYNAMODB_CREATE_TABLE=true where the portal may create it",
                self.name
            )));
        }
        let key = |name: &str, key_type: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
                .expect("name and type are set")
        };
        let attribute = |name: &str, kind: ScalarAttributeType| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(kind)
                .build()
                .expect("name and type are set")
        };
        let index = |name: &str, hash: &str, range: &str| {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(hash, KeyType::Hash))
                .key_schema(key(range, KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .expect("name, keys and projection are set")
        };
        let created = self
            .calls
            .call(
                "dynamodb:CreateTable",
                self.client
                    .create_table()
                    .table_name(&self.name)
                    .billing_mode(BillingMode::PayPerRequest)
                    .key_schema(key("pk", KeyType::Hash))
                    .key_schema(key("sk", KeyType::Range))
                    .attribute_definitions(attribute("pk", ScalarAttributeType::S))
                    .attribute_definitions(attribute("sk", ScalarAttributeType::S))
                    .attribute_definitions(attribute("pending", ScalarAttributeType::S))
                    .attribute_definitions(attribute("due", ScalarAttributeType::N))
                    .attribute_definitions(attribute("feed", ScalarAttributeType::S))
                    .attribute_definitions(attribute("changed", ScalarAttributeType::S))
                    .global_secondary_indexes(index(PENDING_INDEX, "pending", "due"))
                    .global_secondary_indexes(index(CHANGES_INDEX, "feed", "changed"))
                    .send(),
            )
            .await;
        match created {
            Ok(_) => {}
            // Another replica created it meanwhile.
            Err(f) if f.is(|e| e.is_resource_in_use_exception()) => return Ok(()),
            Err(f) => return Err(port(f)),
        }
        self.calls
            .call(
                "dynamodb:UpdateTimeToLive",
                self.client
                    .update_time_to_live()
                    .table_name(&self.name)
                    .time_to_live_specification(
                        TimeToLiveSpecification::builder()
                            .enabled(true)
                            .attribute_name("expires_at")
                            .build()
                            .expect("name and switch are set"),
                    )
                    .send(),
            )
            .await
            .map_err(port)?;
        Ok(())
    }

    /// Appends `new` to its version's log and, for a decision that deploys, moves its
    /// environment's guard, in one transaction: both or neither.
    pub async fn append(&self, new: &NewEntry<'_>) -> Result<Appended, PortError> {
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
            Ok(_) => Ok(Appended::Written),
            Err(f) if f.is(|e| e.is_transaction_canceled_exception()) => {
                // Which condition failed, read back rather than taken from the cancellation
                // reasons: the log's place first, since a retry finds its own entry there.
                if let Some(taken) = self.entry_at(new.group, new.version, new.seq).await? {
                    return Ok(Appended::Taken {
                        decision_id: taken.decision_id,
                    });
                }
                if let Some(trail) = &new.trail {
                    let head = self.item(crate::trail::head_key(&trail.group)).await?;
                    let size = head.as_ref().and_then(|h| number(h, "size")).unwrap_or(0);
                    if size as u64 != trail.read_size {
                        return Ok(Appended::TrailMoved);
                    }
                }
                match () {
                    () if new.deploys.is_some() => Ok(Appended::EnvironmentMoved),
                    () => Err(PortError::Unavailable(format!(
                        "DynamoDB cancelled the append of decision {} for another reason; try again",
                        new.decision_id
                    ))),
                }
            }
            Err(f) => Err(port(f)),
        }
    }

    async fn entry_at(
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

    /// Writes an item unless one with its key exists; true when this call wrote it.
    pub(crate) async fn put_new(&self, item: Item) -> Result<bool, PortError> {
        let written = self
            .calls
            .call(
                "dynamodb:PutItem",
                self.client
                    .put_item()
                    .table_name(&self.name)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(pk)")
                    .send(),
            )
            .await;
        match written {
            Ok(_) => Ok(true),
            Err(f) if f.is(|e| e.is_conditional_check_failed_exception()) => Ok(false),
            Err(f) => Err(port(f)),
        }
    }

    /// One item, read consistently.
    pub(crate) async fn item(&self, key: Item) -> Result<Option<Item>, PortError> {
        let found = self
            .calls
            .call(
                "dynamodb:GetItem",
                self.client
                    .get_item()
                    .table_name(&self.name)
                    .set_key(Some(key))
                    .consistent_read(true)
                    .send(),
            )
            .await
            .map_err(port)?;
        Ok(found.item)
    }

    /// Records whether a version has a step pending, from `since` (`None`: no longer). Kept
    /// as an attribute pair the sparse index reads, removed rather than the item deleted:
    /// the portal never deletes an item.
    pub(crate) async fn mark_pending_step(
        &self,
        group: &GroupName,
        version: VersionNumber,
        since: Option<OffsetDateTime>,
    ) -> Result<(), PortError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(pending_step_key(group, version)));
        let update = match since {
            Some(since) => update
                .update_expression(
                    "SET #pending = :steps, #due = :due, #group = :group, #version = :version",
                )
                .expression_attribute_names("#group", "group")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":steps", s(STEPS_PENDING))
                .expression_attribute_values(":due", n(millis(since)))
                .expression_attribute_values(":group", s(group.as_str()))
                .expression_attribute_values(":version", n(version.get())),
            // Nothing to write for a version never marked.
            None => update
                .update_expression("REMOVE #pending, #due")
                .condition_expression("attribute_exists(pk)"),
        };
        let updated = self
            .calls
            .call(
                "dynamodb:UpdateItem",
                update
                    .expression_attribute_names("#pending", "pending")
                    .expression_attribute_names("#due", "due")
                    .send(),
            )
            .await;
        match updated {
            Ok(_) => Ok(()),
            Err(f) if f.is(|e| e.is_conditional_check_failed_exception()) => Ok(()),
            Err(f) => Err(port(f)),
        }
    }

    /// Every version marked as having a step pending, in any group: one Query of the index
    /// (which lags the table a little; the inbox reads each version itself).
    pub(crate) async fn versions_with_a_pending_step(
        &self,
    ) -> Result<Vec<(GroupName, VersionNumber)>, PortError> {
        let query = self
            .client
            .query()
            .table_name(&self.name)
            .index_name(PENDING_INDEX)
            .key_condition_expression("#pending = :steps")
            .expression_attribute_names("#pending", "pending")
            .expression_attribute_values(":steps", s(STEPS_PENDING));
        self.every_page(query)
            .await?
            .iter()
            .map(version_named)
            .collect()
    }

    /// Files a newly registered version under each identifier its registrant is known by,
    /// for "your models".
    pub(crate) async fn file_registration(
        &self,
        identifiers: impl Iterator<Item = &str>,
        group: &GroupName,
        version: VersionNumber,
        registered_at: OffsetDateTime,
    ) -> Result<(), PortError> {
        for identifier in identifiers {
            let sort_key = format!(
                "{:013}#{group}#{:010}",
                millis(registered_at),
                version.get()
            );
            let mut item = key(registrant_partition(identifier), sort_key);
            item.insert("group".into(), s(group.as_str()));
            item.insert("version".into(), n(version.get()));
            self.put_new(item).await?;
        }
        Ok(())
    }

    /// The newest `limit` versions filed under `identifier`, newest first, each with its
    /// sort key: one Query.
    pub(crate) async fn registrations_of(
        &self,
        identifier: &str,
        limit: u32,
    ) -> Result<Vec<(String, (GroupName, VersionNumber))>, PortError> {
        let page = self
            .calls
            .call(
                "dynamodb:Query",
                self.client
                    .query()
                    .table_name(&self.name)
                    .key_condition_expression("pk = :pk")
                    .expression_attribute_values(":pk", s(registrant_partition(identifier)))
                    .scan_index_forward(false)
                    .limit(limit.max(1) as i32)
                    .send(),
            )
            .await
            .map_err(port)?;
        page.items()
            .iter()
            .map(|item| Ok((text(item, "sk")?.to_owned(), version_named(item)?)))
            .collect()
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

    /// Every item of partition `pk` whose sort key starts with `prefix`, in sort key order,
    /// read consistently: one Query per MB.
    pub(crate) async fn items_under(&self, pk: &str, prefix: &str) -> Result<Vec<Item>, PortError> {
        self.items_where(pk, "begins_with(sk, :first)", prefix, None)
            .await
    }

    /// As [`Table::items_under`], the items whose sort key lies from `first` to `last`.
    pub(crate) async fn items_between(
        &self,
        pk: &str,
        first: &str,
        last: &str,
    ) -> Result<Vec<Item>, PortError> {
        self.items_where(pk, "sk BETWEEN :first AND :last", first, Some(last))
            .await
    }

    async fn items_where(
        &self,
        pk: &str,
        sk_condition: &str,
        first: &str,
        last: Option<&str>,
    ) -> Result<Vec<Item>, PortError> {
        let mut values =
            HashMap::from([(":pk".to_owned(), s(pk)), (":first".to_owned(), s(first))]);
        if let Some(last) = last {
            values.insert(":last".to_owned(), s(last));
        }
        let query = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression(format!("pk = :pk AND {sk_condition}"))
            .set_expression_attribute_values(Some(values))
            .consistent_read(true);
        self.every_page(query).await
    }

    /// Every item `query` finds, page after page (a page holds at most 1 MB).
    async fn every_page(&self, query: QueryFluentBuilder) -> Result<Vec<Item>, PortError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .calls
                .call(
                    "dynamodb:Query",
                    query.clone().set_exclusive_start_key(start).send(),
                )
                .await
                .map_err(port)?;
            items.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }
}
