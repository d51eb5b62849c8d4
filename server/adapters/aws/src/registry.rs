//! The SageMaker Model Registry as the workflow's `ModelRegistry`.
//!
//! Requests per read, whatever the number of rows:
//! - groups page: `ListModelPackageGroups` per 100 groups. SageMaker's group summary has no
//!   version count or latest version, and finding them takes a request per group, so the
//!   AWS backend leaves them out.
//! - versions page: `ListModelPackages` per 100 versions of the group (the total), then
//!   `Search` per 100 versions up to the end of the page (one, for the first pages), which
//!   returns whole model packages with their metadata. `Search` is eventually consistent on
//!   AWS: a list may lag a decision by a second or so; the review page does not.
//! - one version: `DescribeModelPackage` (strongly consistent) and the version's decision
//!   log; `DescribeModelPackageGroup` once per group per process, for the group's ARN.

use crate::calls::port;
use crate::log::LogEntry;
use crate::metadata::{self, Metadata};
use crate::AwsBackend;
use async_trait::async_trait;
use aws_sdk_sagemaker::types::{
    Filter, ModelApprovalStatus, Operator, ResourceType, SearchExpression, SearchSortOrder,
    UserContext,
};
use countersign_domain::ports::*;
use countersign_domain::*;
use time::OffsetDateTime;

mod registration;

/// The fields of a model package we use, from `DescribeModelPackage` or from `Search`
/// (two SDK types with the same fields).
pub(crate) struct Package {
    pub arn: String,
    pub group: Option<String>,
    pub version: Option<i32>,
    pub approval_status: Option<ModelApprovalStatus>,
    pub description: Option<String>,
    pub image_uri: Option<String>,
    pub model_data_url: Option<String>,
    pub image_digest: Option<String>,
    pub model_data_etag: Option<String>,
    pub created_at: Option<aws_sdk_sagemaker::primitives::DateTime>,
    pub created_by: Option<String>,
    pub metadata: Metadata,
}

macro_rules! package_from {
    ($source:expr) => {{
        let source = $source;
        let container = source
            .inference_specification
            .as_ref()
            .and_then(|spec| spec.containers.as_ref()?.first());
        Package {
            arn: source.model_package_arn.clone().unwrap_or_default(),
            group: source.model_package_group_name.clone(),
            version: source.model_package_version,
            approval_status: source.model_approval_status.clone(),
            description: source.model_package_description.clone(),
            image_uri: container.and_then(|c| c.image.clone()),
            model_data_url: container.and_then(|c| c.model_data_url.clone()),
            image_digest: container.and_then(|c| c.image_digest.clone()),
            model_data_etag: container.and_then(|c| c.model_data_e_tag.clone()),
            created_at: source.creation_time,
            created_by: source.created_by.as_ref().and_then(creator),
            metadata: source
                .customer_metadata_properties
                .clone()
                .unwrap_or_default(),
        }
    }};
}

/// Who SageMaker says created a version: a Studio user, or the IAM identity.
fn creator(user: &UserContext) -> Option<String> {
    user.user_profile_name
        .clone()
        .or_else(|| user.iam_identity.as_ref().and_then(|i| i.arn.clone()))
}

fn time_of(t: aws_sdk_sagemaker::primitives::DateTime) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(t.as_nanos()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl AwsBackend {
    /// Whether the package's owner keys carry the portal's seal. The log key is read at
    /// start-up (`prepare`); a seal read without it is an error, not "unsealed": the portal
    /// would otherwise ask for one approver more than the trail says was needed.
    fn registrant_sealed(&self, package: &Package) -> Result<bool, PortError> {
        if !package.metadata.contains_key(metadata::REGISTRANT_VERIFIED) {
            return Ok(false);
        }
        let key = self.log_key.get().ok_or_else(|| {
            PortError::Unavailable("the decision log key has not been read yet".to_owned())
        })?;
        Ok(metadata::registrant_sealed(
            Some(&key.secret),
            &package.arn,
            &package.metadata,
        ))
    }

    pub(crate) fn to_version(
        &self,
        group: &GroupName,
        package: &Package,
        revision: u64,
    ) -> Result<ModelVersion, PortError> {
        let corrupt =
            |what: &str| PortError::Corrupt(format!("model package {}: {what}", package.arn));
        let version = package
            .version
            .and_then(|v| u32::try_from(v).ok())
            .and_then(|v| VersionNumber::new(v).ok())
            .ok_or_else(|| corrupt("no version number"))?;
        let approval_status = package
            .approval_status
            .as_ref()
            .and_then(|s| ApprovalStatus::parse(s.as_str()))
            .unwrap_or(ApprovalStatus::PendingManualApproval);
        Ok(ModelVersion {
            group: group.clone(),
            version,
            arn: package.arn.clone(),
            approval_status,
            steps: metadata::steps_from(&package.metadata, self.environments()),
            image_uri: package.image_uri.clone().unwrap_or_default(),
            model_data_url: package.model_data_url.clone().unwrap_or_default(),
            // As the registry says, unchecked: they are what a signature binds to.
            digests: ArtifactDigests {
                image: package.image_digest.clone(),
                model_data: package.model_data_etag.clone(),
            },
            description: package.description.clone().unwrap_or_default(),
            metrics: metadata::metrics(&package.metadata),
            metadata: metadata::custom(&package.metadata, self.environments()),
            registered_by: metadata::registrant(&package.metadata, package.created_by.clone()),
            attributed_to: metadata::attribution(
                &package.metadata,
                package.created_by.as_deref(),
                &self.settings.identities,
                self.registrant_sealed(package)?,
            ),
            registered_through: package.metadata.get(metadata::REGISTERED_THROUGH).cloned(),
            drift: Vec::new(),
            registered_at: package
                .created_at
                .map(time_of)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            revision,
        })
    }

    /// The group's ARN, or `None` when SageMaker has no such group.
    async fn group_arn(&self, group: &GroupName) -> Result<Option<String>, PortError> {
        if let Some(arn) = self.group_arns.lock().expect("group ARN cache").get(group) {
            return Ok(Some(arn.clone()));
        }
        let described = self
            .calls
            .call(
                "sagemaker:DescribeModelPackageGroup",
                self.sagemaker
                    .describe_model_package_group()
                    .model_package_group_name(group.as_str())
                    .send(),
            )
            .await;
        let arn = match described {
            Ok(found) => found.model_package_group_arn.unwrap_or_default(),
            Err(f) if f.is_not_found() => return Ok(None),
            Err(f) => return Err(port(f)),
        };
        self.group_arns
            .lock()
            .expect("group ARN cache")
            .insert(group.clone(), arn.clone());
        Ok(Some(arn))
    }

    /// A version's ARN: `arn:...:model-package/{group}/{version}`, beside the group's
    /// `arn:...:model-package-group/{group}`.
    async fn version_arn(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Option<String>, PortError> {
        Ok(self.group_arn(group).await?.map(|arn| {
            format!(
                "{}/{version}",
                arn.replacen(":model-package-group/", ":model-package/", 1)
            )
        }))
    }

    pub(crate) async fn describe(&self, arn: &str) -> Result<Option<Package>, PortError> {
        let described = self
            .calls
            .call(
                "sagemaker:DescribeModelPackage",
                self.sagemaker
                    .describe_model_package()
                    .model_package_name(arn)
                    .send(),
            )
            .await;
        match described {
            Ok(found) => Ok(Some(package_from!(&found))),
            Err(f) if f.is_not_found() => Ok(None),
            Err(f) => Err(port(f)),
        }
    }

    /// The version as SageMaker holds it, with every logged decision applied (completing
    /// one that was interrupted), and its log.
    pub(crate) async fn settled(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Option<(Package, Vec<LogEntry>)>, PortError> {
        let Some(arn) = self.version_arn(group, version).await? else {
            return Ok(None);
        };
        let Some(mut package) = self.describe(&arn).await? else {
            return Ok(None);
        };
        let log = self.version_log(group, version).await?;
        if log.is_empty() {
            return Ok(Some((package, Vec::new())));
        }
        let applied = metadata::decisions_applied(&package.metadata) as usize;
        for logged in log.iter().skip(applied) {
            tracing::info!(%group, %version, decision = %logged.entry.id, "completing a logged decision");
            self.apply(group, version, &mut package, &logged.entry, logged.seq)
                .await?;
        }
        Ok(Some((package, log.into_iter().map(|l| l.entry).collect())))
    }

    /// The version with its steps and approval status as its log says, whatever SageMaker's
    /// metadata says (anyone allowed `UpdateModelPackage` can write that), and each place
    /// the metadata says otherwise as drift.
    fn as_logged(&self, mut version: ModelVersion, log: &[LogEntry]) -> ModelVersion {
        let environments = self.environments();
        let logged_steps: metadata::Metadata = log
            .last()
            .map(|entry| entry.steps.clone().into_iter().collect())
            .unwrap_or_default();
        let logged_steps = metadata::steps_from(&logged_steps, environments);
        for (env, logged) in logged_steps.in_order(environments) {
            let found = version.steps.state(env);
            if found != logged {
                version.drift.push(format!(
                    "SageMaker's metadata says {env} is {}, but the decision log says {}.",
                    found.as_str(),
                    logged.as_str()
                ));
            }
        }
        version.steps = logged_steps;
        // Nothing decided yet: the version waits, whatever status someone gave it.
        let logged = log
            .last()
            .map_or(Some(ApprovalStatus::PendingManualApproval), |entry| {
                ApprovalStatus::parse(&entry.approval_status)
            });
        if let Some(logged) = logged.filter(|logged| *logged != version.approval_status) {
            version.drift.push(format!(
                "SageMaker's approval status is {}, but the decision log says {}.",
                version.approval_status.as_str(),
                logged.as_str()
            ));
            version.approval_status = logged;
        }
        version
    }

    /// Creates the group unless it exists.
    async fn ensure_group(&self, group: &GroupName) -> Result<(), PortError> {
        if self.group_arn(group).await?.is_some() {
            return Ok(());
        }
        let created = self
            .calls
            .call(
                "sagemaker:CreateModelPackageGroup",
                self.sagemaker
                    .create_model_package_group()
                    .model_package_group_name(group.as_str())
                    .model_package_group_description("Registered through Countersign")
                    .send(),
            )
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(failure) => {
                // Created meanwhile by another request: as good.
                if self.group_arn(group).await?.is_some() {
                    Ok(())
                } else {
                    Err(port(failure))
                }
            }
        }
    }

    async fn count_versions(&self, group: &GroupName) -> Result<u64, PortError> {
        let mut total = 0;
        let mut next_token = None;
        loop {
            let page = self
                .calls
                .call(
                    "sagemaker:ListModelPackages",
                    self.sagemaker
                        .list_model_packages()
                        .model_package_group_name(group.as_str())
                        .max_results(100)
                        .set_next_token(next_token)
                        .send(),
                )
                .await;
            let page = match page {
                Ok(page) => page,
                Err(f) if f.is_not_found() => return Ok(0),
                Err(f) => return Err(port(f)),
            };
            total += page.model_package_summary_list.unwrap_or_default().len() as u64;
            next_token = page.next_token;
            if next_token.is_none() {
                return Ok(total);
            }
        }
    }

    /// The first `wanted` versions of the group, newest first.
    async fn newest_packages(
        &self,
        group: &GroupName,
        wanted: usize,
    ) -> Result<Vec<Package>, PortError> {
        let mut packages = self
            .search_packages(equals("ModelPackageGroupName", group.as_str()), wanted)
            .await?;
        // moto ignores Search's sort order; AWS sorts. Sorting here keeps both right.
        packages.sort_by_key(|p| std::cmp::Reverse(p.version));
        Ok(packages)
    }

    /// Versioned model packages matching `filter`, newest first on AWS, at least `wanted` of
    /// them when there are that many: one request per 100.
    async fn search_packages(
        &self,
        filter: Filter,
        wanted: usize,
    ) -> Result<Vec<Package>, PortError> {
        let mut packages = Vec::new();
        let mut next_token = None;
        loop {
            let (page, next) = self.search_page(filter.clone(), 100, next_token).await?;
            packages.extend(page);
            next_token = next;
            if next_token.is_none() || packages.len() >= wanted {
                return Ok(packages);
            }
        }
    }

    /// One `Search` page of model packages matching `filter`, newest first, from
    /// `next_token`, with the token of the page after it.
    async fn search_page(
        &self,
        filter: Filter,
        max_results: u32,
        next_token: Option<String>,
    ) -> Result<(Vec<Package>, Option<String>), PortError> {
        let page = self
            .calls
            .call(
                "sagemaker:Search",
                self.sagemaker
                    .search()
                    .resource(ResourceType::ModelPackage)
                    .search_expression(SearchExpression::builder().filters(filter).build())
                    .sort_by("CreationTime")
                    .sort_order(SearchSortOrder::Descending)
                    .max_results(max_results as i32)
                    .set_next_token(next_token)
                    .send(),
            )
            .await
            .map_err(port)?;
        let packages = page
            .results
            .unwrap_or_default()
            .iter()
            .filter_map(|record| record.model_package.as_ref())
            .filter(|p| p.model_package_version.is_some())
            .map(|p| package_from!(p))
            .collect();
        Ok((packages, page.next_token))
    }
}

fn equals(name: &str, value: &str) -> Filter {
    Filter::builder()
        .name(name)
        .operator(Operator::Equals)
        .value(value)
        .build()
}

#[async_trait]
impl ModelRegistry for AwsBackend {
    async fn list_groups(&self) -> Result<Vec<GroupSummary>, PortError> {
        let mut groups = Vec::new();
        let mut next_token = None;
        loop {
            let page = self
                .calls
                .call(
                    "sagemaker:ListModelPackageGroups",
                    self.sagemaker
                        .list_model_package_groups()
                        .max_results(100)
                        .set_next_token(next_token)
                        .send(),
                )
                .await
                .map_err(port)?;
            for summary in page.model_package_group_summary_list.unwrap_or_default() {
                match GroupName::parse(&summary.model_package_group_name.unwrap_or_default()) {
                    Ok(group) => groups.push(GroupSummary {
                        group,
                        version_count: None,
                        latest_version: None,
                        latest_registered_at: None,
                    }),
                    Err(e) => tracing::warn!(error = %e, "skipping a model package group"),
                }
            }
            next_token = page.next_token;
            if next_token.is_none() {
                break;
            }
        }
        groups.sort_by(|a, b| a.group.cmp(&b.group));
        Ok(groups)
    }

    async fn list_versions(
        &self,
        group: &GroupName,
        page: PageRequest,
    ) -> Result<Page<ModelVersion>, PortError> {
        let total = self.count_versions(group).await?;
        let offset = usize::try_from(page.offset).unwrap_or(usize::MAX);
        if total == 0 || page.offset >= total {
            return Ok(Page {
                items: Vec::new(),
                total,
            });
        }
        let wanted = offset.saturating_add(page.limit as usize);
        let items = self
            .newest_packages(group, wanted)
            .await?
            .iter()
            .skip(offset)
            .take(page.limit as usize)
            .map(|package| {
                let revision = metadata::decisions_applied(&package.metadata);
                self.to_version(group, package, revision)
            })
            .collect::<Result<_, _>>()?;
        Ok(Page { items, total })
    }

    async fn find_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Option<ModelVersion>, PortError> {
        Ok(self
            .find_version_and_decisions(group, version)
            .await?
            .map(|(found, _)| found))
    }

    /// The log read to settle the version is the version's decisions: one Query for both.
    async fn find_version_and_decisions(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Option<(ModelVersion, Option<Vec<DecisionRecord>>)>, PortError> {
        let Some((package, log)) = self.settled(group, version).await? else {
            return Ok(None);
        };
        let found = self.to_version(group, &package, log.len() as u64)?;
        let decisions = log
            .iter()
            .map(|entry| entry.clone().record(group, version))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some((self.as_logged(found, &log), Some(decisions))))
    }

    async fn register(&self, new: NewVersion) -> Result<ModelVersion, PortError> {
        self.create_version(new).await
    }

    async fn versions_registered_by(
        &self,
        person: &Person,
        limit: u32,
    ) -> Result<Vec<(GroupName, VersionNumber)>, PortError> {
        let mut found = Vec::new();
        for identifier in person.identifiers() {
            found.extend(self.table.registrations_of(&identifier, limit).await?);
        }
        // Newest first across identifiers: the sort keys start with the registration time.
        found.sort_by(|a, b| b.0.cmp(&a.0));
        let mut versions: Vec<(GroupName, VersionNumber)> = Vec::new();
        for (_, version) in found {
            if !versions.contains(&version) {
                versions.push(version);
            }
        }
        versions.truncate(limit as usize);
        Ok(versions)
    }

    /// Undecided versions wait in the first environment; SageMaker's status says which.
    /// Later steps are pending only after a decision, which marks them in the table.
    async fn versions_with_a_pending_step(
        &self,
    ) -> Result<Vec<(GroupName, VersionNumber)>, PortError> {
        let undecided = equals(
            "ModelApprovalStatus",
            ModelApprovalStatus::PendingManualApproval.as_str(),
        );
        let mut found: Vec<(GroupName, VersionNumber)> = self
            .search_packages(undecided, usize::MAX)
            .await?
            .iter()
            .filter_map(|package| {
                let group = GroupName::parse(package.group.as_deref()?).ok()?;
                let version = VersionNumber::new(u32::try_from(package.version?).ok()?).ok()?;
                Some((group, version))
            })
            .collect();
        found.extend(self.table.versions_with_a_pending_step().await?);
        found.sort();
        found.dedup();
        Ok(found)
    }

    async fn keep_waiting(&self, row: &WaitingRow) -> Result<(), PortError> {
        self.table.keep_waiting(row).await
    }

    async fn kept_waiting(
        &self,
        each: &mut (dyn FnMut(WaitingRow) + Send),
    ) -> Result<(), PortError> {
        self.table.kept_waiting(each).await
    }

    /// One `Search` per page (at most 100 versions), across all groups, newest first; the
    /// cursor is SageMaker's `NextToken`.
    async fn undecided_versions(
        &self,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<UndecidedPage, PortError> {
        let undecided = equals(
            "ModelApprovalStatus",
            ModelApprovalStatus::PendingManualApproval.as_str(),
        );
        let (packages, next) = self
            .search_page(undecided, limit.clamp(1, 100), cursor)
            .await?;
        let mut versions = Vec::new();
        for package in packages {
            let Some(group) = package
                .group
                .as_deref()
                .and_then(|g| GroupName::parse(g).ok())
            else {
                continue;
            };
            let revision = metadata::decisions_applied(&package.metadata);
            versions.push(self.to_version(&group, &package, revision)?);
        }
        Ok(UndecidedPage { versions, next })
    }
}
