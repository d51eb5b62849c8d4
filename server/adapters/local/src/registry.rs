//! The model registry: groups, versions and their step states.

use crate::rows::*;
use crate::LocalStore;
use async_trait::async_trait;
use countersign_domain::ports::*;
use countersign_domain::*;
use rusqlite::{params, OptionalExtension, TransactionBehavior};

#[async_trait]
impl ModelRegistry for LocalStore {
    async fn list_groups(&self) -> Result<Vec<GroupSummary>, PortError> {
        self.with(|c| {
            all_rows(
                c,
                "SELECT group_name, version_count, latest_version, latest_registered_at \
                     FROM model_groups ORDER BY group_name",
                [],
                |row| {
                    let latest: Option<String> = row.get(3)?;
                    Ok(GroupSummary {
                        group: group_name(row.get(0)?)?,
                        version_count: Some(row.get::<_, i64>(1)? as u64),
                        latest_version: row
                            .get::<_, Option<i64>>(2)?
                            .map(version_number)
                            .transpose()?,
                        latest_registered_at: latest.as_deref().map(parse_timestamp).transpose()?,
                    })
                },
            )
        })
        .await
    }

    async fn list_versions(
        &self,
        group: &GroupName,
        page: PageRequest,
    ) -> Result<Page<ModelVersion>, PortError> {
        let group = group.to_string();
        self.with(move |c| {
            let total: i64 = c
                .query_row_cached(
                    "SELECT COUNT(*) FROM model_versions WHERE group_name = ?1",
                    [&group],
                    |r| r.get(0),
                )
                .map_err(unavailable)?;
            let items = all_rows(
                c,
                &format!(
                    "SELECT {VERSION_COLUMNS} FROM model_versions WHERE group_name = ?1 \
                     ORDER BY version DESC LIMIT ?2 OFFSET ?3"
                ),
                params![group, page.limit, page.offset as i64],
                version_from_row,
            )?;
            Ok(Page {
                items,
                total: total as u64,
            })
        })
        .await
    }

    async fn find_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Option<ModelVersion>, PortError> {
        let group = group.to_string();
        self.with(move |c| {
            c.query_row_cached(
                &format!(
                    "SELECT {VERSION_COLUMNS} FROM model_versions \
                     WHERE group_name = ?1 AND version = ?2"
                ),
                params![group, version.get()],
                version_from_row,
            )
            .optional()
            .map_err(unavailable)
        })
        .await
    }

    async fn register(&self, new: NewVersion) -> Result<ModelVersion, PortError> {
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let r = &new.registration;
            let next: i64 = tx
                .query_row_cached(
                    "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE group_name = ?1",
                    [r.group.as_str()],
                    |row| row.get(0),
                )
                .map_err(unavailable)?;
            let version = version_number(next).map_err(unavailable)?;
            let arn = format!("local:model-package/{}/{}", r.group, version);
            let metrics = serde_json::to_string(&r.metrics)
                .map_err(|e| PortError::Corrupt(e.to_string()))?;
            let custom_metadata = serde_json::to_string(&r.metadata)
                .map_err(|e| PortError::Corrupt(e.to_string()))?;
            tx.execute_cached(
                &format!("INSERT INTO model_versions ({VERSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0, ?14, ?15, ?16, ?17, ?18)"),
                params![
                    r.group.as_str(),
                    next,
                    arn,
                    new.approval_status.as_str(),
                    steps_json(&new.steps),
                    r.image_uri,
                    r.model_data_url,
                    r.description,
                    metrics,
                    r.registered_by.subject,
                    r.registered_by.name,
                    r.registered_by.email,
                    timestamp(new.registered_at),
                    r.registered_through,
                    r.digests.image,
                    r.digests.model_data,
                    custom_metadata,
                    r.registrant_verified,
                ],
            )
            .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            Ok(new.into_version(version, arn))
        })
        .await
    }

    /// Keyset pages in (group, version) order; the cursor is the last version's
    /// `group/version`.
    async fn undecided_versions(
        &self,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<UndecidedPage, PortError> {
        let (group, version) = match cursor.as_deref() {
            None => (String::new(), 0),
            Some(cursor) => cursor
                .rsplit_once('/')
                .and_then(|(group, version)| Some((group.to_owned(), version.parse::<i64>().ok()?)))
                .ok_or_else(|| {
                    PortError::Rejected(format!("{cursor:?} is no page of undecided versions"))
                })?,
        };
        let versions = self
            .with(move |c| {
                all_rows(
                    c,
                    &format!(
                        "SELECT {VERSION_COLUMNS} FROM model_versions \
                         WHERE approval_status = 'PendingManualApproval' \
                         AND (group_name, version) > (?1, ?2) \
                         ORDER BY group_name, version LIMIT ?3"
                    ),
                    params![group, version, limit],
                    version_from_row,
                )
            })
            .await?;
        let next = match versions.last() {
            Some(last) if versions.len() == limit as usize => {
                Some(format!("{}/{}", last.group, last.version))
            }
            _ => None,
        };
        Ok(UndecidedPage { versions, next })
    }

    async fn versions_registered_by(
        &self,
        person: &Person,
        limit: u32,
    ) -> Result<Vec<(GroupName, VersionNumber)>, PortError> {
        // A person has at most two identifiers (subject, e-mail).
        let identifiers: Vec<String> = person.identifiers().into_iter().collect();
        self.with(move |c| {
            // One index-ordered read per identifier and column, merged: a person who
            // registered most versions costs `limit` rows, not all of theirs.
            let mut found = Vec::new();
            for column in ["registered_by_subject", "registered_by_email"] {
                for identifier in &identifiers {
                    found.extend(all_rows(
                        c,
                        &format!(
                            "SELECT registered_at, group_name, version FROM model_versions \
                             WHERE lower(trim({column})) = ?1 \
                             ORDER BY registered_at DESC LIMIT ?2"
                        ),
                        params![identifier, limit],
                        |row| {
                            Ok((
                                row.get::<_, String>(0)?,
                                group_name(row.get(1)?)?,
                                version_number(row.get(2)?)?,
                            ))
                        },
                    )?);
                }
            }
            found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(b.2.cmp(&a.2)));
            found.dedup_by(|a, b| a.1 == b.1 && a.2 == b.2);
            Ok(found
                .into_iter()
                .map(|(_, group, version)| (group, version))
                .take(limit as usize)
                .collect())
        })
        .await
    }

    async fn versions_with_a_pending_step(
        &self,
    ) -> Result<Vec<(GroupName, VersionNumber)>, PortError> {
        self.with(|c| {
            all_rows(
                c,
                "SELECT group_name, version FROM model_versions \
                 WHERE steps LIKE '%PendingManualApproval%' ORDER BY group_name, version",
                [],
                |row| Ok((group_name(row.get(0)?)?, version_number(row.get(1)?)?)),
            )
        })
        .await
    }

    async fn keep_waiting(&self, row: &WaitingRow) -> Result<(), PortError> {
        self.keep_waiting_row(row).await
    }

    async fn kept_waiting(
        &self,
        each: &mut (dyn FnMut(WaitingRow) + Send),
    ) -> Result<(), PortError> {
        self.kept_waiting_rows(each).await
    }
}
