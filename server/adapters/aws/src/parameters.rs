//! SSM Parameter Store: the model live in each environment, and the secrets every replica
//! shares. Nothing else: the log, reports, outbox and revocations are in the table.
//!
//! - `{prefix}/{group}/{environment}`: the deployment document pipelines resolve,
//!   overwritten by each deployment. SSM keeps only its last 100 versions; the history is
//!   the decision log's.
//! - `{prefix}/_settings/{name}`: the session key and the log key, SecureStrings.
//!
//! Parameters use the Intelligent-Tiering tier: standard (free, 4 KB) until the account's
//! 10,000 standard parameters are used up or a value is larger, advanced (8 KB) after that.

use crate::calls::port;
use crate::log::{deployment, LogEntry, LogKey};
use crate::AwsBackend;
use async_trait::async_trait;
use aws_sdk_ssm::types::{Parameter, ParameterTier, ParameterType};
use countersign_domain::ports::*;
use countersign_domain::*;
use serde::Deserialize;

impl AwsBackend {
    pub(crate) fn live_name(&self, group: &GroupName, environment: &str) -> String {
        format!("{}/{group}/{environment}", self.settings.ssm_prefix)
    }

    /// A parameter's JSON value, or `None` when it does not exist.
    pub(crate) async fn read_json<T: for<'de> Deserialize<'de>>(
        &self,
        name: &str,
    ) -> Result<Option<T>, PortError> {
        match self.read_parameter(name, false).await? {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| PortError::Corrupt(format!("{name}: {e}"))),
        }
    }

    /// One parameter with when SSM last wrote it, or `None` when it does not exist.
    async fn get_parameter(
        &self,
        name: &str,
        decrypt: bool,
    ) -> Result<Option<Parameter>, PortError> {
        let found = self
            .calls
            .call(
                "ssm:GetParameter",
                self.ssm
                    .get_parameter()
                    .name(name)
                    .with_decryption(decrypt)
                    .send(),
            )
            .await;
        match found {
            Ok(found) => Ok(found.parameter),
            Err(f) if f.is(|e| e.is_parameter_not_found()) => Ok(None),
            Err(f) => Err(port(f)),
        }
    }

    /// The value of one parameter, or `None` when it does not exist.
    pub(crate) async fn read_parameter(
        &self,
        name: &str,
        decrypt: bool,
    ) -> Result<Option<String>, PortError> {
        Ok(self
            .get_parameter(name, decrypt)
            .await?
            .and_then(|p| p.value))
    }

    pub(crate) async fn parameters_under(
        &self,
        path: &str,
        recursive: bool,
    ) -> Result<Vec<Parameter>, PortError> {
        let mut found = Vec::new();
        let mut next_token = None;
        loop {
            let page = self
                .calls
                .call(
                    "ssm:GetParametersByPath",
                    self.ssm
                        .get_parameters_by_path()
                        .path(path)
                        .recursive(recursive)
                        .max_results(10)
                        .set_next_token(next_token)
                        .send(),
                )
                .await
                .map_err(port)?;
            found.extend(page.parameters.unwrap_or_default());
            next_token = page.next_token;
            if next_token.is_none() {
                return Ok(found);
            }
        }
    }

    /// Every value SSM still keeps of one parameter (its last 100 versions), oldest first;
    /// none when it does not exist.
    pub(crate) async fn parameter_history(&self, name: &str) -> Result<Vec<String>, PortError> {
        let mut values = Vec::new();
        let mut next = None;
        loop {
            let page = self
                .calls
                .call(
                    "ssm:GetParameterHistory",
                    self.ssm
                        .get_parameter_history()
                        .name(name)
                        .set_next_token(next)
                        .send(),
                )
                .await;
            let page = match page {
                Ok(page) => page,
                Err(f) if f.is(|e| e.is_parameter_not_found()) => return Ok(values),
                Err(f) => return Err(port(f)),
            };
            values.extend(
                page.parameters
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|p| p.value),
            );
            next = page.next_token;
            if next.is_none() {
                return Ok(values);
            }
        }
    }

    pub(crate) async fn overwrite(&self, name: &str, value: &str) -> Result<(), PortError> {
        self.put(name, value, true).await.map_err(port)
    }

    async fn put(
        &self,
        name: &str,
        value: &str,
        overwrite: bool,
    ) -> Result<(), crate::calls::Failure<aws_sdk_ssm::operation::put_parameter::PutParameterError>>
    {
        self.calls
            .call(
                "ssm:PutParameter",
                self.ssm
                    .put_parameter()
                    .name(name)
                    .value(value)
                    .r#type(ParameterType::String)
                    .tier(ParameterTier::IntelligentTiering)
                    .overwrite(overwrite)
                    .send(),
            )
            .await
            .map(|_| ())
    }

    /// Makes the environment's live parameter what its guard says the portal last deployed
    /// there, for an entry that deploys. An old, interrupted decision completed late never
    /// undoes a newer one: the guard orders deployments, so no clock does. Writing SSM is
    /// not atomic with reading the guard, so the guard is read again after the write, and
    /// the write repeated while a racing decision moved it: whoever writes last has seen
    /// the newest guard.
    pub(crate) async fn publish_live(
        &self,
        group: &GroupName,
        entry: &LogEntry,
    ) -> Result<(), PortError> {
        let Some(document) = &entry.deployment else {
            return Ok(());
        };
        let environment = &document.environment;
        let mut newest = self.guarded_entry(group, environment).await?;
        loop {
            let Some(document) = newest
                .as_ref()
                .map_or(Some(document), |guarded| guarded.deployment.as_ref())
            else {
                return Ok(());
            };
            let name = self.live_name(group, environment);
            match self.read_json::<DeploymentDocument>(&name).await {
                Ok(Some(live)) if live.decision_id == document.decision_id => {}
                // Unreadable (written outside the portal): replaced like any other value.
                Ok(_) | Err(PortError::Corrupt(_)) => {
                    let value = serde_json::to_string(document).expect("documents serialise");
                    self.overwrite(&name, &value).await?;
                }
                Err(e) => return Err(e),
            }
            let again = self.guarded_entry(group, environment).await?;
            if again.as_ref().map(|e| &e.id) == newest.as_ref().map(|e| &e.id) {
                return Ok(());
            }
            newest = again;
        }
    }
}

#[async_trait]
impl ParameterStore for AwsBackend {
    async fn live(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<Option<Deployment>, PortError> {
        let name = self.live_name(group, environment.as_str());
        match self.read_json::<DeploymentDocument>(&name).await? {
            Some(document) => deployment(document).map(Some),
            None => Ok(None),
        }
    }

    /// The guard's deployment: what the portal last deployed there. A live parameter
    /// written outside the portal is drift, not what the next decision replaces. Without a
    /// guard (nothing deployed since the table took over), the live parameter.
    async fn deployed(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<Option<Deployment>, PortError> {
        match self.guarded_entry(group, environment.as_str()).await? {
            Some(entry) => entry.deployment.map(deployment).transpose(),
            None => self.live(group, environment).await,
        }
    }

    /// From the decision log rather than the parameter's own history, which SSM cuts at
    /// 100 versions.
    async fn history(&self, group: &GroupName) -> Result<Vec<Deployment>, PortError> {
        self.logged_deployments(group).await
    }
}

impl AwsBackend {
    /// A secret every replica shares (the session key), kept as a SecureString parameter
    /// `{prefix}/_settings/{name}`, encrypted under the configured KMS key (else the
    /// account's `aws/ssm` key, which anyone allowed `ssm:GetParameter` can decrypt). The
    /// first replica to start creates it; creating is create-only, so replicas starting
    /// together still agree on one value.
    pub async fn shared_secret(
        &self,
        name: &str,
        generate: impl FnOnce() -> String,
    ) -> Result<String, PortError> {
        let (parameter, _) = self.shared_secret_parameter(name, generate).await?;
        Ok(parameter.value.unwrap_or_default())
    }

    /// The shared secret's parameter, with when SSM created it, and whether this call
    /// created it.
    async fn shared_secret_parameter(
        &self,
        name: &str,
        generate: impl FnOnce() -> String,
    ) -> Result<(Parameter, bool), PortError> {
        let parameter = format!("{}/_settings/{name}", self.settings.ssm_prefix);
        if let Some(found) = self.get_parameter(&parameter, true).await? {
            return Ok((found, false));
        }
        let created = self
            .calls
            .call(
                "ssm:PutParameter",
                self.ssm
                    .put_parameter()
                    .name(&parameter)
                    .value(generate())
                    .r#type(ParameterType::SecureString)
                    .set_key_id(self.settings.secrets_kms_key_id.clone())
                    .overwrite(false)
                    .send(),
            )
            .await;
        let ours = match created {
            Ok(_) => true,
            Err(f) if f.is(|e| e.is_parameter_already_exists()) => false,
            Err(f) => return Err(port(f)),
        };
        let found = self.get_parameter(&parameter, true).await?.ok_or_else(|| {
            PortError::Unavailable(format!("{parameter} was created but cannot be read back"))
        })?;
        Ok((found, ours))
    }

    /// What start-up does before anything is read: checks the table (creating it where the
    /// settings allow), and reads the log key, creating it on a first start. An unsigned
    /// entry of an SSM log from before entries were signed counts only when SSM wrote it
    /// before the key existed, so the key must exist before an attacker could write one.
    pub async fn prepare(&self) -> Result<(), PortError> {
        self.table.prepare(self.settings.create_table).await?;
        self.check_audit_bucket().await?;
        self.log_key().await.map(|_| ())
    }

    /// The key log entries are authenticated with: kept like the session key (a SecureString
    /// every replica shares, under the configured KMS key) but apart from it, so that a
    /// session key that leaked cannot forge the log, nor the log key sessions.
    pub(crate) async fn log_key(&self) -> Result<&LogKey, PortError> {
        self.log_key
            .get_or_try_init(|| async {
                let (parameter, created) = self
                    .shared_secret_parameter("log_key", || {
                        let random = || uuid::Uuid::new_v4().simple().to_string();
                        format!("{}{}", random(), random())
                    })
                    .await?;
                self.log_key_created
                    .store(created, std::sync::atomic::Ordering::Relaxed);
                Ok(LogKey {
                    secret: parameter.value.unwrap_or_default(),
                    created: parameter.last_modified_date,
                })
            })
            .await
    }
}
