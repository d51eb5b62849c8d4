//! The deployment document: the JSON pipelines read to find the model live in an
//! environment. The same bytes are the SSM parameter's value and the resolve API's answer,
//! so this one definition is the contract for both.

use crate::environment::Environment;
use crate::model::{Deployment, GroupName, Person, VersionNumber};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct DeploymentDocument {
    pub model_package_group: String,
    pub model_package_version: u32,
    pub model_package_arn: String,
    pub environment: String,
    pub image_uri: String,
    pub model_data_url: String,
    pub approved_by: Person,
    #[serde(with = "time::serde::rfc3339")]
    pub approved_at: OffsetDateTime,
    pub decision_id: String,
}

impl From<&Deployment> for DeploymentDocument {
    fn from(d: &Deployment) -> Self {
        Self {
            model_package_group: d.group.to_string(),
            model_package_version: d.version.get(),
            model_package_arn: d.arn.clone(),
            environment: d.environment.to_string(),
            image_uri: d.image_uri.clone(),
            model_data_url: d.model_data_url.clone(),
            approved_by: d.approved_by.clone(),
            approved_at: d.approved_at,
            decision_id: d.decision_id.clone(),
        }
    }
}

impl TryFrom<DeploymentDocument> for Deployment {
    type Error = String;

    fn try_from(d: DeploymentDocument) -> Result<Self, Self::Error> {
        Ok(Deployment {
            group: GroupName::parse(&d.model_package_group).map_err(|e| e.to_string())?,
            version: VersionNumber::new(d.model_package_version).map_err(|e| e.to_string())?,
            arn: d.model_package_arn,
            environment: Environment::parse(&d.environment).map_err(|e| e.to_string())?,
            image_uri: d.image_uri,
            model_data_url: d.model_data_url,
            approved_by: d.approved_by,
            approved_at: d.approved_at,
            decision_id: d.decision_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_deployment_round_trips_through_its_document() {
        let deployment = Deployment {
            group: GroupName::parse("churn").unwrap(),
            version: VersionNumber::new(3).unwrap(),
            arn: "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/3".into(),
            environment: Environment::parse("dev").unwrap(),
            image_uri: "registry.example/churn:3".into(),
            model_data_url: "s3://models/churn/3.tar.gz".into(),
            approved_by: Person {
                subject: "alice".into(),
                name: "Alice".into(),
                email: "alice@example.com".into(),
            },
            approved_at: datetime!(2026-11-26 12:00:00.5 UTC),
            decision_id: "d-1".into(),
        };
        let document = DeploymentDocument::from(&deployment);
        let json = serde_json::to_value(&document).unwrap();
        assert_eq!(json["approved_at"], "2026-11-26T12:00:00.5Z");
        assert_eq!(json["approved_by"]["email"], "alice@example.com");
        let back: DeploymentDocument = serde_json::from_value(json).unwrap();
        assert_eq!(Deployment::try_from(back), Ok(deployment));
    }

    #[test]
    fn a_document_naming_an_invalid_environment_is_refused() {
        let mut json = serde_json::json!({
            "model_package_group": "churn", "model_package_version": 1,
            "model_package_arn": "a", "environment": "Prod!", "image_uri": "i",
            "model_data_url": "m", "approved_at": "2026-11-26T12:00:00Z", "decision_id": "d",
            "approved_by": {"subject": "s", "name": "n", "email": "e"}
        });
        let document: DeploymentDocument = serde_json::from_value(json.clone()).unwrap();
        assert!(Deployment::try_from(document).is_err());
        json["model_package_version"] = 0.into();
        let document: DeploymentDocument = serde_json::from_value(json).unwrap();
        assert!(Deployment::try_from(document).is_err());
    }
}
