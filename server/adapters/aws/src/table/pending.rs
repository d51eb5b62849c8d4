//! What the `pending` index finds across groups: versions with a step waiting, and the
//! versions each registrant registered.

use super::*;
use countersign_domain::ports::{KeptStep, WaitingRow};

/// The `pending` index's partition for versions with a step pending.
pub(super) const STEPS_PENDING: &str = "steps";

/// The `pending` index's partition for the waiting index's rows with a step waiting.
const STEPS_WAITING: &str = "waiting";

pub(super) fn registrant_partition(identifier: &str) -> String {
    format!("registrant#{identifier}")
}

/// `group` and `version`, the attributes index items name a version by.
pub(super) fn version_named(item: &Item) -> Result<(GroupName, VersionNumber), PortError> {
    let group =
        GroupName::parse(text(item, "group")?).map_err(|e| PortError::Corrupt(e.to_string()))?;
    let version = number(item, "version")
        .and_then(|v| u32::try_from(v).ok())
        .and_then(|v| VersionNumber::new(v).ok())
        .ok_or_else(|| PortError::Corrupt(format!("an index item of {group} has no version")))?;
    Ok((group, version))
}

pub(super) fn pending_step_key(group: &GroupName, version: VersionNumber) -> Item {
    key(
        group_key(group),
        format!("pending-step#{:010}", version.get()),
    )
}

impl Table {
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
        self.every_page(self.pending_partition(STEPS_PENDING))
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

    /// A Query of one partition of the `pending` index.
    fn pending_partition(&self, partition: &str) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.name)
            .index_name(PENDING_INDEX)
            .key_condition_expression("#pending = :partition")
            .expression_attribute_names("#pending", "pending")
            .expression_attribute_values(":partition", s(partition))
    }

    /// Keeps a version's row of the waiting index (its own item, beside the pending mark the
    /// commit writes): one conditional `UpdateItem`, which leaves a row kept for a later
    /// revision as it is.
    pub(crate) async fn keep_waiting(&self, row: &WaitingRow) -> Result<(), PortError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key(
                group_key(&row.group),
                format!("waiting-step#{:010}", row.version.get()),
            )))
            .condition_expression("attribute_not_exists(#revision) OR #revision <= :revision")
            .expression_attribute_names("#group", "group")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#revision", "revision")
            .expression_attribute_names("#pending", "pending")
            .expression_attribute_names("#due", "due")
            .expression_attribute_names("#step", "step")
            .expression_attribute_values(":group", s(row.group.as_str()))
            .expression_attribute_values(":version", n(row.version.get()))
            .expression_attribute_values(":revision", n(row.revision));
        let set = "SET #group = :group, #version = :version, #revision = :revision";
        let update = match &row.step {
            Some(kept) => update
                .update_expression(format!(
                    "{set}, #pending = :waiting, #due = :due, #step = :step"
                ))
                .expression_attribute_values(":waiting", s(STEPS_WAITING))
                .expression_attribute_values(":due", n(millis(kept.since)))
                .expression_attribute_values(":step", s(&kept.document)),
            None => update.update_expression(format!("{set} REMOVE #pending, #due, #step")),
        };
        match self.calls.call("dynamodb:UpdateItem", update.send()).await {
            Ok(_) => Ok(()),
            Err(f) if f.is(|e| e.is_conditional_check_failed_exception()) => Ok(()),
            Err(f) => Err(port(f)),
        }
    }

    /// Every row of the waiting index with a step waiting: a Query of the `pending` index,
    /// a page (a megabyte) at a time.
    pub(crate) async fn kept_waiting(
        &self,
        each: &mut (dyn FnMut(WaitingRow) + Send),
    ) -> Result<(), PortError> {
        self.each_item(self.pending_partition(STEPS_WAITING), &mut |item| {
            each(waiting_row(&item)?);
            Ok(())
        })
        .await
    }
}

fn waiting_row(item: &Item) -> Result<WaitingRow, PortError> {
    let (group, version) = version_named(item)?;
    let since = number(item, "due").and_then(from_millis).ok_or_else(|| {
        PortError::Corrupt(format!("the waiting row of {group} {version} has no due"))
    })?;
    Ok(WaitingRow {
        revision: number(item, "revision").unwrap_or(0) as u64,
        step: Some(KeptStep {
            since,
            document: text(item, "step")?.to_owned(),
        }),
        group,
        version,
    })
}
