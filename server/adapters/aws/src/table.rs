//! The DynamoDB table that is to hold the decision log in place of SSM (issue 14): SSM
//! allows 10 000 standard parameters per account and about 40 reads a second, shared with
//! every other application there; a log of tens of thousands of decisions a year does not
//! belong in it. Not yet wired into [`crate::AwsBackend`]: the log still lives in SSM.
//!
//! One table, single-table design. Keys (both strings):
//!
//! | item | `pk` | `sk` | other attributes |
//! | --- | --- | --- | --- |
//! | a decision | `group#{group}` | `log#{version:010}#{seq:06}` | `decision_id`, `entry` (the signed log entry, JSON), `logged_at` |
//! | an environment's guard | `group#{group}` | `live#{environment}` | `decision_id` (whose deployment is live), `deployments` (how many so far) |
//!
//! A version's log is one Query (`begins_with(sk, "log#{version:010}#")`), a group's log one
//! Query (`begins_with(sk, "log#")`), both consistent reads; nothing scans.
//!
//! **One guard per environment.** A decision that deploys is appended in one transaction
//! with its environment's guard: the log entry only if its place is free, the guard only if
//! it still names the deployment the decision replaces. Of two decisions racing for one
//! version, or for one environment, exactly one is written; the other changes nothing.
//! (DynamoDB serialises transactions; moto does not, so the tests on moto show the
//! conditions one after another, not under a race.)

use crate::calls::{port, CallCounter, CallCounts};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, Put,
    ScalarAttributeType, TransactWriteItem, Update,
};
use countersign_domain::ports::PortError;
use countersign_domain::{GroupName, VersionNumber};
use std::collections::HashMap;
use time::OffsetDateTime;

/// The decision log's table.
pub struct DecisionTable {
    client: aws_sdk_dynamodb::Client,
    name: String,
    calls: CallCounter,
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
    /// For a decision that deploys: where, and the decision whose deployment it replaces
    /// there (`None`: nothing was live).
    pub deploys: Option<Deploys<'a>>,
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
}

/// One stored decision with where it sits in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub version: VersionNumber,
    pub seq: u64,
    pub decision_id: String,
    pub entry: String,
}

fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

fn group_key(group: &GroupName) -> AttributeValue {
    s(format!("group#{group}"))
}

fn log_prefix(version: VersionNumber) -> String {
    format!("log#{:010}#", version.get())
}

fn log_key(group: &GroupName, version: VersionNumber, seq: u64) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), group_key(group)),
        (
            "sk".to_owned(),
            s(format!("{}{seq:06}", log_prefix(version))),
        ),
    ])
}

fn guard_key(group: &GroupName, environment: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), group_key(group)),
        ("sk".to_owned(), s(format!("live#{environment}"))),
    ])
}

fn text<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Result<&'a str, PortError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| PortError::Corrupt(format!("a decision log item has no {name}")))
}

fn stored_entry(item: &HashMap<String, AttributeValue>) -> Result<StoredEntry, PortError> {
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

impl DecisionTable {
    pub fn new(config: &SdkConfig, name: impl Into<String>) -> Self {
        Self {
            client: aws_sdk_dynamodb::Client::new(config),
            name: name.into(),
            calls: CallCounter::default(),
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
    /// infrastructure as code creates the table.
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
            Err(f)
                if f.service_error
                    .as_ref()
                    .is_some_and(|e| e.is_resource_not_found_exception()) => {}
            Err(f) => return Err(port(f)),
        }
        if !create_if_missing {
            return Err(PortError::Unavailable(format!(
                "the DynamoDB table {} does not exist: create it (see \"Running on AWS\" in the README for its CloudFormation), or set COUNTERSIGN_DYNAMODB_CREATE_TABLE=true where the portal may create it",
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
        let string = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("name and type are set")
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
                    .attribute_definitions(string("pk"))
                    .attribute_definitions(string("sk"))
                    .send(),
            )
            .await;
        match created {
            Ok(_) => Ok(()),
            // Another replica created it meanwhile.
            Err(f)
                if f.service_error
                    .as_ref()
                    .is_some_and(|e| e.is_resource_in_use_exception()) =>
            {
                Ok(())
            }
            Err(f) => Err(port(f)),
        }
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
                .update_expression("SET decision_id = :own ADD deployments :one")
                .expression_attribute_values(":own", s(new.decision_id))
                .expression_attribute_values(":one", AttributeValue::N("1".into()));
            update = match deploys.replaces {
                None => update.condition_expression("attribute_not_exists(pk)"),
                Some(replaced) => update
                    .condition_expression("decision_id = :replaced")
                    .expression_attribute_values(":replaced", s(replaced)),
            };
            let update = update.build().expect("table, key and expression are set");
            request = request.transact_items(TransactWriteItem::builder().update(update).build());
        }
        let written = self
            .calls
            .call("dynamodb:TransactWriteItems", request.send())
            .await;
        match written {
            Ok(_) => Ok(Appended::Written),
            Err(f)
                if f.service_error
                    .as_ref()
                    .is_some_and(|e| e.is_transaction_canceled_exception()) =>
            {
                // Which condition failed, read back rather than taken from the cancellation
                // reasons: the log's place first, since a retry finds its own entry there.
                match self.entry_at(new.group, new.version, new.seq).await? {
                    Some(taken) => Ok(Appended::Taken {
                        decision_id: taken.decision_id,
                    }),
                    None if new.deploys.is_some() => Ok(Appended::EnvironmentMoved),
                    None => Err(PortError::Unavailable(format!(
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

    /// The decision whose deployment is live in `environment`, by the guard.
    pub async fn guard(
        &self,
        group: &GroupName,
        environment: &str,
    ) -> Result<Option<String>, PortError> {
        let item = self.item(guard_key(group, environment)).await?;
        item.as_ref()
            .map(|item| text(item, "decision_id").map(str::to_owned))
            .transpose()
    }

    /// One item, read consistently.
    async fn item(
        &self,
        key: HashMap<String, AttributeValue>,
    ) -> Result<Option<HashMap<String, AttributeValue>>, PortError> {
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

    /// One version's log, in order: one Query (more only past 1 MB of entries).
    pub async fn version_log(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<StoredEntry>, PortError> {
        self.query_log(group, &log_prefix(version)).await
    }

    /// Every decision on the group's versions, by version and then place in its log.
    pub async fn group_log(&self, group: &GroupName) -> Result<Vec<StoredEntry>, PortError> {
        self.query_log(group, "log#").await
    }

    async fn query_log(
        &self,
        group: &GroupName,
        prefix: &str,
    ) -> Result<Vec<StoredEntry>, PortError> {
        let mut entries = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .calls
                .call(
                    "dynamodb:Query",
                    self.client
                        .query()
                        .table_name(&self.name)
                        .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                        .expression_attribute_values(":pk", group_key(group))
                        .expression_attribute_values(":prefix", s(prefix))
                        .consistent_read(true)
                        .set_exclusive_start_key(start)
                        .send(),
                )
                .await
                .map_err(port)?;
            for item in page.items() {
                entries.push(stored_entry(item)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(entries);
            }
        }
    }
}
