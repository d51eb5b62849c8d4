//! Opening the backend the configuration names: the embedded store or the AWS adapters,
//! wrapped as the domain's services, with the outbox and the settings the server keeps.

use crate::config::{Backend, Config};
use crate::notify::MailNotices;
#[cfg(feature = "aws")]
use countersign_aws::{AwsBackend, AwsSettings};
use countersign_domain::ports::{IdGenerator, Outbox, SessionRevocations};
use countersign_domain::service::{Ports, Services};
use countersign_local_store::LocalStore;
use std::sync::Arc;
use tokio::sync::Notify;

/// The opened backend: the domain services, the outbox their notices go to, and where the
/// server keeps its own settings.
pub struct Backing {
    pub services: Services,
    pub outbox: Arc<dyn Outbox>,
    /// Wakes the delivery worker when a message is queued.
    pub wake: Arc<Notify>,
    /// Whose sign-ins no longer count, shared by every replica.
    pub revocations: Arc<dyn SessionRevocations>,
    settings: SettingsKeeper,
}

/// Where a generated setting (the session key) is kept so that it survives restarts and
/// every replica shares it: in the SQLite file, or as an SSM SecureString parameter.
enum SettingsKeeper {
    Local(LocalStore),
    #[cfg(feature = "aws")]
    Aws(Arc<AwsBackend>),
}

impl Backing {
    pub(crate) async fn kept_setting(
        &self,
        name: &str,
        generate: impl FnOnce() -> String,
    ) -> Result<String, String> {
        match &self.settings {
            SettingsKeeper::Local(store) => store
                .setting_or_insert(name, generate)
                .map_err(|e| e.to_string()),
            #[cfg(feature = "aws")]
            SettingsKeeper::Aws(backend) => backend
                .shared_secret(name, generate)
                .await
                .map_err(|e| e.to_string()),
        }
    }
}

#[cfg(feature = "aws")]
impl Backing {
    /// `countersign migrate --from-ssm`.
    pub async fn migrate_from_ssm(&self) -> Result<countersign_aws::Migration, String> {
        match &self.settings {
            SettingsKeeper::Aws(backend) => {
                backend.migrate_from_ssm().await.map_err(|e| e.to_string())
            }
            SettingsKeeper::Local(_) => Err(
                "migrate --from-ssm moves the AWS backend's SSM layout into its DynamoDB table: set COUNTERSIGN_BACKEND=aws".into(),
            ),
        }
    }
}

pub async fn open_backend(config: &Config) -> Result<Backing, String> {
    let policy = config.policy.clone();
    let (mut ports, outbox, revocations, settings): (
        Ports,
        Arc<dyn Outbox>,
        Arc<dyn SessionRevocations>,
        _,
    ) = match &config.backend {
        Backend::Local => {
            let store = LocalStore::open(&config.database).map_err(|e| {
                format!(
                    "{e} (COUNTERSIGN_DATABASE is {})",
                    config.database.display()
                )
            })?;
            (
                Ports::of(Arc::new(store.clone())),
                Arc::new(store.clone()),
                Arc::new(store.clone()),
                SettingsKeeper::Local(store),
            )
        }
        #[cfg(feature = "aws")]
        Backend::Aws(aws) => {
            let sdk = countersign_aws::load_sdk_config().await;
            if sdk.region().is_none() {
                return Err(
                    "COUNTERSIGN_BACKEND is aws but no AWS region is configured: set AWS_REGION \
                     (or a profile's region)"
                        .into(),
                );
            }
            let backend = Arc::new(AwsBackend::new(
                &sdk,
                AwsSettings {
                    ssm_prefix: aws.ssm_prefix.clone(),
                    environments: config.policy.environments().clone(),
                    identities: aws.identity_map.clone(),
                    secrets_kms_key_id: aws.session_kms_key_id.clone(),
                    table: aws.table.clone(),
                    create_table: aws.create_table,
                    outbox_retention: aws.outbox_retention,
                },
            ));
            backend
                .prepare()
                .await
                .map_err(|e| format!("cannot open the AWS backend: {e}"))?;
            (
                Ports::of(backend.clone()),
                backend.clone(),
                backend.clone(),
                SettingsKeeper::Aws(backend),
            )
        }
    };
    if let Some(ttl) = config.resolve_cache {
        let cache = Arc::new(crate::resolve_cache::ResolveCache::new(
            ports.parameters.clone(),
            ports.committer.clone(),
            ttl,
        ));
        ports.parameters = cache.clone();
        ports.committer = cache;
    }
    let services = Services::new(ports, policy, Arc::new(RandomIds));
    let wake = Arc::new(Notify::new());
    let clock = services.clock();
    let services = services.with_notices(Arc::new(MailNotices {
        outbox: outbox.clone(),
        clock,
        public_url: config.public_url.clone(),
        notify: config.mail.notify.clone(),
        wake: wake.clone(),
    }));
    Ok(Backing {
        services,
        outbox,
        wake,
        revocations,
        settings,
    })
}

pub(crate) struct RandomIds;

impl IdGenerator for RandomIds {
    fn new_id(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}
