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
//! | a sign-in's evidence | `sign-in#{id}` | `evidence` | `evidence` (JSON), `until` (Unix ms); expires (TTL `expires_at`) |
//! | a version registered by someone | `registrant#{identifier}` | `{registered at, Unix ms:013}#{group}#{version:010}` | `group`, `version`; one per identifier the registrant is known by (`identity.rs`) |
//! | a version with a step pending | `group#{group}` | `pending-step#{version:010}` | `group`, `version`; `pending` and `due` while a step is pending |
//! | a version's row of the waiting index | `group#{group}` | `waiting-step#{version:010}` | `group`, `version`, `revision`; `pending` (`waiting`), `due` (since when) and `step` (the domain's document) while a step waits |
//!
//! Two sparse global secondary indexes: `pending` (`pending`, `due`) holds what waits, by
//! when: messages waiting to be sent (`pending` = `outbox`) and versions with a step waiting
//! for a decision (`pending` = `steps`, what the scan repairs the waiting index from) and the
//! waiting index's rows with a step waiting (`pending` = `waiting`, the inbox's one Query
//! across groups); `changes` (`feed`, `changed`) orders every message by when its delivery
//! last changed.
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
    KeyType, KeysAndAttributes, Projection, ProjectionType, Put, ScalarAttributeType,
    TimeToLiveSpecification, TransactWriteItem, Update,
};
use countersign_domain::ports::PortError;
use countersign_domain::{GroupName, VersionNumber};
use std::collections::HashMap;
use std::sync::Arc;
use time::OffsetDateTime;

mod entries;
mod pending;
pub use entries::{Deploys, Guard, NewEntry, Placement, StoredEntry, TrailWrites};

pub(crate) type Item = HashMap<String, AttributeValue>;

/// The portal's table.
pub struct Table {
    pub(crate) client: aws_sdk_dynamodb::Client,
    pub(crate) name: String,
    pub(crate) calls: Arc<CallCounter>,
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

/// The indexes: what waits (messages, steps), by when due; every message, by last change.
pub(crate) const PENDING_INDEX: &str = "pending";
pub(crate) const CHANGES_INDEX: &str = "changes";

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

    /// The items with `keys` (distinct) that exist, in no particular order, read consistently: one
    /// `BatchGetItem` per 100 keys, and again for any the table left unprocessed.
    pub(crate) async fn items(&self, keys: Vec<Item>) -> Result<Vec<Item>, PortError> {
        /// BatchGetItem's limit per request.
        const KEYS_PER_BATCH: usize = 100;
        let mut found = Vec::with_capacity(keys.len());
        let mut waiting: Vec<Item> = keys;
        let mut unanswered = 0u32;
        while !waiting.is_empty() {
            let rest = waiting.split_off(waiting.len().min(KEYS_PER_BATCH));
            let batch = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::replace(&mut waiting, rest)))
                .consistent_read(true)
                .build()
                .expect("keys are set");
            let answer = self
                .calls
                .call(
                    "dynamodb:BatchGetItem",
                    self.client
                        .batch_get_item()
                        .request_items(&self.name, batch)
                        .send(),
                )
                .await
                .map_err(port)?;
            found.extend(
                answer
                    .responses
                    .and_then(|mut r| r.remove(&self.name))
                    .unwrap_or_default(),
            );
            let left = answer
                .unprocessed_keys
                .and_then(|mut left| left.remove(&self.name))
                .map(|left| left.keys)
                .unwrap_or_default();
            if !left.is_empty() {
                unanswered += 1;
                if unanswered > 8 {
                    return Err(PortError::Unavailable(
                        "DynamoDB left keys unprocessed eight times running".into(),
                    ));
                }
                tokio::time::sleep(std::time::Duration::from_millis(25 << unanswered)).await;
                waiting.extend(left);
            }
        }
        Ok(found)
    }

    /// Every item of partition `pk` whose sort key starts with `prefix`, in sort key order,
    /// read consistently: one Query per MB.
    pub(crate) async fn items_under(&self, pk: &str, prefix: &str) -> Result<Vec<Item>, PortError> {
        self.items_where(pk, "begins_with(sk, :first)", prefix, None)
            .await
    }

    /// The item of partition `pk` with the largest sort key starting with `prefix`, read
    /// consistently: one Query.
    pub(crate) async fn last_under(
        &self,
        pk: &str,
        prefix: &str,
    ) -> Result<Option<Item>, PortError> {
        let values = HashMap::from([(":pk".to_owned(), s(pk)), (":first".to_owned(), s(prefix))]);
        let found = self
            .calls
            .call(
                "dynamodb:Query",
                self.client
                    .query()
                    .table_name(&self.name)
                    .key_condition_expression("pk = :pk AND begins_with(sk, :first)")
                    .set_expression_attribute_values(Some(values))
                    .scan_index_forward(false)
                    .limit(1)
                    .consistent_read(true)
                    .send(),
            )
            .await
            .map_err(port)?;
        Ok(found.items.unwrap_or_default().into_iter().next())
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
        self.each_item(query, &mut |item| {
            items.push(item);
            Ok(())
        })
        .await?;
        Ok(items)
    }

    /// Gives `each` every item `query` finds as its page arrives: at most a page in memory.
    async fn each_item(
        &self,
        query: QueryFluentBuilder,
        each: &mut (dyn FnMut(Item) -> Result<(), PortError> + Send),
    ) -> Result<(), PortError> {
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
            for item in page.items.unwrap_or_default() {
                each(item)?;
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(());
            }
        }
    }
}
