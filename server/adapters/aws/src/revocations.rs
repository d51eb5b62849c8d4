//! Session revocations in SSM: `{prefix}/_sessions/revoked/{hex of whose}`, one String
//! parameter per person (and one for everyone) holding when their sessions were revoked.
//! Overwritten by a later revocation, so the count stays at the number of people who ever
//! signed out; read by every replica with one `GetParametersByPath` per refresh.

use crate::AwsBackend;
use async_trait::async_trait;
use countersign_domain::ports::*;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Serialize, Deserialize)]
struct Stored {
    whose: String,
    #[serde(with = "time::serde::rfc3339")]
    issued_before: OffsetDateTime,
}

impl AwsBackend {
    fn revocations_path(&self) -> String {
        format!("{}/_sessions/revoked", self.settings.ssm_prefix)
    }
}

#[async_trait]
impl SessionRevocations for AwsBackend {
    async fn revoke(&self, revocation: &Revocation) -> Result<(), PortError> {
        let whose = revocation.whose.key();
        // SSM names allow few characters; an e-mail address is not among them.
        let name = format!("{}/{}", self.revocations_path(), hex::encode(&whose));
        let earlier: Option<Stored> = self.read_json(&name).await?;
        if earlier.is_some_and(|e| e.issued_before >= revocation.issued_before) {
            return Ok(());
        }
        let value = serde_json::to_string(&Stored {
            whose,
            issued_before: revocation.issued_before,
        })
        .expect("a revocation serializes");
        self.overwrite(&name, &value).await
    }

    async fn revocations(&self) -> Result<Vec<Revocation>, PortError> {
        self.parameters_under(&self.revocations_path(), false)
            .await?
            .into_iter()
            .map(|parameter| {
                let name = parameter.name.unwrap_or_default();
                let corrupt = || PortError::Corrupt(format!("session revocation {name}"));
                let stored: Stored = serde_json::from_str(parameter.value.as_deref().unwrap_or(""))
                    .map_err(|_| corrupt())?;
                Ok(Revocation {
                    whose: Revoked::from_key(&stored.whose).ok_or_else(corrupt)?,
                    issued_before: stored.issued_before,
                })
            })
            .collect()
    }
}
