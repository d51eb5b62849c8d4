//! Registering a version in SageMaker: the model package with Countersign's metadata, the
//! seal over a registrant the portal established, and the registrant's index in the table.

use super::Package;
use crate::calls::port;
use crate::metadata;
use crate::AwsBackend;
use aws_sdk_sagemaker::types::{
    InferenceSpecification, ModelApprovalStatus, ModelPackageContainerDefinition,
};
use countersign_domain::ports::PortError;
use countersign_domain::*;

impl AwsBackend {
    /// Creates the version in SageMaker, seals a registrant the portal established, and files
    /// it under its registrant.
    pub(crate) async fn create_version(&self, new: NewVersion) -> Result<ModelVersion, PortError> {
        let group = new.registration.group.clone();
        let metadata =
            metadata::for_registration(&new, self.environments()).map_err(PortError::Rejected)?;
        self.ensure_group(&group).await?;
        let r = &new.registration;
        let mut container = ModelPackageContainerDefinition::builder().image(&r.image_uri);
        if !r.model_data_url.is_empty() {
            container = container.model_data_url(&r.model_data_url);
        }
        if let Some(digest) = &r.digests.image {
            container = container.image_digest(digest);
        }
        if let Some(etag) = &r.digests.model_data {
            container = container.model_data_e_tag(etag);
        }
        let specification = InferenceSpecification::builder()
            .containers(container.build())
            .supported_content_types("application/json")
            .supported_response_mime_types("application/json")
            .build();
        let mut create = self
            .sagemaker
            .create_model_package()
            .model_package_group_name(group.as_str())
            .model_approval_status(ModelApprovalStatus::PendingManualApproval)
            // The SDK resends this same request when an attempt times out; with one token
            // for all attempts SageMaker creates the version once, not once per attempt.
            .client_token(uuid::Uuid::new_v4().to_string())
            .inference_specification(specification)
            .set_customer_metadata_properties(Some(metadata));
        if !r.description.is_empty() {
            create = create.model_package_description(&r.description);
        }
        let created = self
            .calls
            .call("sagemaker:CreateModelPackage", create.send())
            .await
            .map_err(port)?;
        let arn = created.model_package_arn.unwrap_or_default();
        let mut package = self.describe(&arn).await?.ok_or_else(|| {
            PortError::Unavailable(format!(
                "SageMaker created {arn} but does not describe it yet"
            ))
        })?;
        if r.registrant_verified {
            // Unsealed, the registrant is only declared: one approver more, never fewer.
            if let Err(e) = self.seal_registrant(&mut package).await {
                tracing::warn!(%arn, error = %e, "the verified registrant was not sealed: the version needs one approver more");
            }
        }
        let version = self.to_version(&group, &package, 0)?;
        // The version exists whatever happens here: failing the registration would make the
        // pipeline register it again. Missing from "your models" is the lesser harm.
        let filed = self
            .table
            .file_registration(
                r.registered_by.identifiers().iter().map(String::as_str),
                &group,
                version.version,
                version.registered_at,
            )
            .await;
        if let Err(e) = filed {
            tracing::warn!(%group, version = %version.version, error = %e, "a registration was not filed under its registrant");
        }
        Ok(version)
    }

    /// Seals the owner keys of a version whose registrant the portal verified, so that every
    /// later read knows them established (`metadata::registrant_seal`).
    async fn seal_registrant(&self, package: &mut Package) -> Result<(), PortError> {
        let key = &self.log_key().await?.secret;
        let mut sealed = package.metadata.clone();
        let seal = metadata::registrant_seal(key, &package.arn, &sealed);
        sealed.insert(metadata::REGISTRANT_VERIFIED.to_owned(), seal);
        self.update_package(
            package,
            ModelApprovalStatus::PendingManualApproval,
            None,
            sealed,
        )
        .await
    }
}
