//! Opening the backend the configuration names: the embedded store or the AWS adapters,
//! wrapped as the domain's services, with the outbox and the settings the server keeps.

#[cfg(feature = "aws")]
mod aws_settings;
#[cfg(feature = "aws")]
pub use aws_settings::AwsBackendSettings;

use crate::audit::{notarise, AuditDesk};
use crate::config::{Backend, Config};
use crate::notify::{MailNotices, Recipients};
use crate::startup::StartupError;
use countersign_audit::Notary;
#[cfg(feature = "aws")]
use countersign_aws::AwsBackend;
use countersign_domain::audit::{SystemEvent, PORTAL_ACTOR};
use countersign_domain::ports::{
    CheckpointPublisher, Clock, IdGenerator, Outbox, SessionRevocations, SignIns, SystemClock,
};
use countersign_domain::service::{Ports, Services};
use countersign_local_store::{CheckpointFile, LocalStore};
use secrecy::ExposeSecret;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Each sign-in's evidence from the identity provider, shared by every replica.
    pub sign_ins: Arc<dyn SignIns>,
    /// Exports and checks the audit trails.
    pub audit: AuditDesk,
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
    ) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
        self.settings.kept(name, generate).await
    }
}

impl SettingsKeeper {
    async fn kept(
        &self,
        name: &str,
        generate: impl FnOnce() -> String,
    ) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
        match self {
            SettingsKeeper::Local(store) => Ok(store.setting_or_insert(name, generate)?),
            #[cfg(feature = "aws")]
            SettingsKeeper::Aws(backend) => Ok(backend.shared_secret(name, generate).await?),
        }
    }
}

impl Backing {
    /// On AWS, the identity the portal's credentials are, kept with each command an
    /// operator runs; `None` on the embedded store.
    pub async fn aws_caller(&self) -> Option<String> {
        match &self.settings {
            SettingsKeeper::Local(_) => None,
            #[cfg(feature = "aws")]
            SettingsKeeper::Aws(backend) => Some(
                backend
                    .caller_arn()
                    .await
                    .unwrap_or_else(|e| format!("unknown ({e})")),
            ),
        }
    }

    /// The store's items of `countersign iq`.
    pub(crate) async fn installation_checks(
        &self,
        config: &Config,
    ) -> Vec<crate::installation::Check> {
        use crate::installation::Check;
        match &self.settings {
            SettingsKeeper::Local(_) => {
                let key = countersign_local_store::AuditKeyFile::beside(&config.database);
                vec![
                    Check::new(
                        "the records are kept in a store fit for GxP records",
                        false,
                        "the embedded SQLite store is for evaluation: use the AWS backend (COUNTERSIGN_BACKEND=aws)",
                    ),
                    owner_only(key.path()),
                ]
            }
            #[cfg(feature = "aws")]
            SettingsKeeper::Aws(backend) => backend
                .installation_checks()
                .await
                .into_iter()
                .map(|c| Check::new(c.item, c.passed, c.detail))
                .collect(),
        }
    }
}

/// Whether the audit key file is readable by its owner only.
fn owner_only(path: &std::path::Path) -> crate::installation::Check {
    use std::os::unix::fs::PermissionsExt;
    let item = "the audit signing key is kept apart, readable by its owner only";
    match std::fs::metadata(path) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            crate::installation::Check::new(
                item,
                mode & 0o077 == 0,
                format!("{} mode {mode:o}", path.display()),
            )
        }
        Err(e) => crate::installation::Check::new(item, false, format!("{}: {e}", path.display())),
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

/// What a backend provides before the server wraps it.
struct Opened {
    ports: Ports,
    outbox: Arc<dyn Outbox>,
    revocations: Arc<dyn SessionRevocations>,
    sign_ins: Arc<dyn SignIns>,
    settings: SettingsKeeper,
    /// Where audit checkpoints are published: a file beside the database, or the table and
    /// an SSM parameter.
    publisher: Arc<dyn CheckpointPublisher>,
}

pub async fn open_backend(config: &Config) -> Result<Backing, StartupError> {
    let policy = config.policy.clone();
    let Opened {
        mut ports,
        outbox,
        revocations,
        sign_ins,
        settings,
        publisher,
    } = match &config.backend {
        Backend::Local => {
            let store =
                LocalStore::open(&config.database).map_err(StartupError::cannot(format!(
                    "open the embedded store {} (COUNTERSIGN_DATABASE)",
                    config.database.display()
                )))?;
            Opened {
                ports: Ports::of(Arc::new(store.clone())),
                outbox: Arc::new(store.clone()),
                revocations: Arc::new(store.clone()),
                sign_ins: Arc::new(store.clone()),
                settings: SettingsKeeper::Local(store),
                publisher: Arc::new(CheckpointFile::beside(&config.database)),
            }
        }
        #[cfg(feature = "aws")]
        Backend::Aws(aws) => {
            let sdk = countersign_aws::load_sdk_config().await;
            if sdk.region().is_none() {
                return Err(StartupError::new(
                    "use the AWS backend (COUNTERSIGN_BACKEND is aws)",
                    "no AWS region is configured: set AWS_REGION (or a profile's region)",
                ));
            }
            let backend = Arc::new(AwsBackend::new(&sdk, aws.clone()));
            backend
                .prepare()
                .await
                .map_err(StartupError::cannot("open the AWS backend"))?;
            Opened {
                ports: Ports::of(backend.clone()),
                outbox: backend.clone(),
                revocations: backend.clone(),
                sign_ins: backend.clone(),
                settings: SettingsKeeper::Aws(backend.clone()),
                publisher: backend,
            }
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
    let generated = AtomicBool::new(false);
    let notary = Arc::new(audit_notary(config, &settings, &generated).await?);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let audit = notarise(&mut ports, notary, publisher, clock);
    let services = Services::new(ports, policy, Arc::new(RandomIds));
    let wake = Arc::new(Notify::new());
    let clock = services.clock();
    let services = services.with_notices(Arc::new(MailNotices {
        outbox: outbox.clone(),
        clock,
        public_url: config.public_url.clone(),
        recipients: Recipients {
            notify: config.mail.notify.clone(),
            escalate_to: config.mail.escalate_to.clone(),
            chat: config.mail.webhooks.keys().cloned().collect(),
        },
        wake: wake.clone(),
    }));
    if generated.into_inner() {
        let public_key = audit.notary.public_key().to_owned();
        record_key_generated(&services, "audit signing key", Some(public_key)).await?;
    }
    #[cfg(feature = "aws")]
    if let SettingsKeeper::Aws(backend) = &settings {
        if backend.created_the_log_key() {
            record_key_generated(&services, "decision log key", None).await?;
        }
    }
    Ok(Backing {
        services,
        outbox,
        wake,
        revocations,
        sign_ins,
        audit,
        settings,
    })
}

/// Keeps in the portal's own trail that it generated `key`; a key nobody could account for
/// later is not used (start-up stops).
pub(crate) async fn record_key_generated(
    services: &Services,
    key: &str,
    public_key: Option<String>,
) -> Result<(), StartupError> {
    let event = SystemEvent::KeyGenerated {
        key: key.to_owned(),
        public_key,
    };
    services
        .record_system_event(PORTAL_ACTOR, event)
        .await
        .map_err(StartupError::cannot(format!(
            "keep in the portal's own trail that a {key} was generated"
        )))
}

/// The key checkpoints are signed with: configured, or generated once and kept apart from
/// the trail it protects: in a file of its own beside the embedded database, or as a second
/// SecureString parameter on AWS.
async fn audit_notary(
    config: &Config,
    settings: &SettingsKeeper,
    generated: &AtomicBool,
) -> Result<Notary, StartupError> {
    let key = match &config.audit_signing_key {
        Some(key) => key.expose_secret().to_owned(),
        None => {
            let name = config.audit_key_name();
            let generate = || {
                generated.store(true, Ordering::Relaxed);
                Notary::generate_key(&name)
            };
            match settings {
                SettingsKeeper::Local(store) => {
                    let file = countersign_local_store::AuditKeyFile::beside(&config.database);
                    file.kept(store, generate)
                        .map_err(StartupError::cannot(format!(
                            "keep an audit signing key in {}",
                            file.path().display()
                        )))?
                }
                #[cfg(feature = "aws")]
                SettingsKeeper::Aws(_) => {
                    settings.kept("audit_signing_key", generate).await.map_err(
                        StartupError::cannot("keep an audit signing key in the store"),
                    )?
                }
            }
        }
    };
    Notary::from_key(&key).map_err(StartupError::cannot(
        "use the audit signing key kept in the store",
    ))
}

pub(crate) struct RandomIds;

impl IdGenerator for RandomIds {
    fn new_id(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}
