//! Configuration, loaded once at start-up: defaults, then an optional TOML file
//! (`COUNTERSIGN_CONFIG`, default `countersign.toml` when it exists), then environment
//! variables named `COUNTERSIGN_*`. A wrong value stops start-up with a message naming the
//! setting and what it accepts.
//!
//! Each feature reads its own settings into typed ones beside its code (`auth`'s sessions
//! and identity provider, the API's access, mail and chat, the event intake, rate limits,
//! the AWS backend); this module gathers them and keeps only the rules that span features:
//! which backend, the policy and its per-environment settings, and when the development
//! sign-in may run. Only start-up (`main`, `application`, `backend`, `background`) reads it.

mod fingerprint;
mod gxp;
mod per_environment;
mod raw;

use crate::auth::oidc::{OidcConfig, OidcSettings};
use crate::auth::{SessionSettings, SignInConfig};
use crate::http::api::auth::{ApiAccessConfig, ApiSettings};
use crate::http::api::events::EventsConfig;
use crate::http::rate_limit::RateLimits;
use crate::notify::{MailConfig, MailSettings};
use crate::settings::{comma_list, hours, reached_on_this_machine, SettingError};
use countersign_domain::notification::FollowUps;
use countersign_domain::signature::IdentityProvider;
use countersign_domain::{Environment, Environments, Policy};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::Value;
use figment::Figment;
use per_environment::PerEnvironment;
use raw::RawConfig;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub enum Backend {
    /// The embedded SQLite store at `database`.
    Local,
    /// SageMaker Model Registry and SSM Parameter Store, found through the standard AWS
    /// configuration chain. Only in binaries built with the `aws` feature: the laptop
    /// build leaves the AWS SDK out, which halves its first build.
    #[cfg(feature = "aws")]
    Aws(countersign_aws::AwsSettings),
}

impl Backend {
    pub fn is_local(&self) -> bool {
        matches!(self, Backend::Local)
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub backend: Backend,
    pub database: PathBuf,
    pub listen: SocketAddr,
    pub public_url: String,
    /// Host names (`host` or `host:port`) requests may be addressed to besides the public
    /// URL's; any other `Host` gets 421.
    pub extra_hosts: Vec<String>,
    pub policy: Policy,
    /// Sessions, and the development sign-in or the identity provider.
    pub sign_in: SignInConfig,
    /// A note signing key (`PRIVATE+KEY+<name>+<id>+<key>`) for the audit trail's
    /// checkpoints; generated and kept in the store, apart from the session key, when absent.
    pub audit_signing_key: Option<SecretString>,
    /// How long a request may take, body included, before it is answered 408.
    pub request_timeout: std::time::Duration,
    pub rate_limits: RateLimits,
    pub demo_data: bool,
    /// The GxP profile is on: start-up has refused every setting it does not accept, and
    /// commands that invent records (`seed`) refuse to run.
    pub gxp: bool,
    /// A digest of every setting but the secrets (see `fingerprint`), kept at each start.
    pub settings_digest: String,
    /// The directory holding the built site (`scripts/site.sh` writes it to target/site).
    pub site_root: String,
    pub log: String,
    pub mail: MailConfig,
    /// The EventBridge intake; `None` turns the route off.
    pub events: Option<EventsConfig>,
    /// How often the reconciliation scan runs (and follow-ups are sent); `None` when it is off.
    pub scan_interval: Option<std::time::Duration>,
    /// When waiting steps are reminded and escalated.
    pub follow_ups: FollowUps,
    /// How long a resolved model is served from memory; `None` reads the store every time.
    pub resolve_cache: Option<std::time::Duration>,
    /// How long resolve keeps a deployment's "still signed" verdict before reading the
    /// registry and the log again.
    pub signature_check: std::time::Duration,
    pub api_access: ApiAccessConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Setting(#[from] SettingError),
    /// The file or a variable could not be read as the setting's type.
    #[error("configuration: {0}")]
    Unreadable(String),
    #[error("configuration: the GxP profile (COUNTERSIGN_GXP=true) refuses to start on these settings:{}", list(.0))]
    RefusedByGxpProfile(Vec<SettingError>),
}

/// Each refusal on a line of its own.
fn list(refused: &[SettingError]) -> String {
    refused.iter().map(|e| format!("\n  - {e}")).collect()
}

impl Config {
    /// Loads from the process environment (and the file it names).
    pub fn load() -> Result<Self, ConfigError> {
        Self::from_figment(Figment::new().merge(Env::prefixed("COUNTERSIGN_")))
    }

    /// Loads from explicit variables, for tests.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ConfigError> {
        // Parsed as the environment provider parses variables ("false" is a boolean).
        let map: BTreeMap<String, Value> = pairs
            .into_iter()
            .map(|(k, v)| {
                let value = v.parse().unwrap_or_else(|_| Value::from(v.to_owned()));
                (k.to_lowercase(), value)
            })
            .collect();
        Self::from_figment(Figment::from(Serialized::defaults(map)))
    }

    fn from_figment(overrides: Figment) -> Result<Self, ConfigError> {
        let file: Option<PathBuf> = overrides.extract_inner("config").ok();
        let mut figment = Figment::from(Serialized::defaults(RawConfig::default()));
        match &file {
            Some(path) if !path.exists() => {
                return Err(SettingError::new(
                    "config",
                    format!("names {}, which does not exist", path.display()),
                )
                .into())
            }
            Some(path) => figment = figment.merge(Toml::file(path)),
            None => figment = figment.merge(Toml::file("countersign.toml")),
        }
        let raw: RawConfig = figment
            .merge(overrides)
            .extract()
            .map_err(|e| ConfigError::Unreadable(e.to_string()))?;
        let config = Self::validate(raw)?;
        if config.gxp {
            let refused = gxp::refusals(&config);
            if !refused.is_empty() {
                return Err(ConfigError::RefusedByGxpProfile(refused));
            }
        }
        Ok(config)
    }

    fn validate(raw: RawConfig) -> Result<Self, SettingError> {
        let settings_digest = fingerprint::settings_digest(&raw);
        let environments = Environments::parse_list(&raw.environments)
            .map_err(|e| SettingError::new("environments", format!("is not valid: {e}")))?;
        let backend = backend(&raw, &environments)?;
        if raw.demo_data && !backend.is_local() {
            return Err(SettingError::new(
                "demo_data",
                "is on, but COUNTERSIGN_BACKEND is not local: demo versions carry signatures nobody made, so they are never written to a real registry",
            ));
        }
        let PerEnvironment {
            policy,
            notify,
            escalate_to,
            webhooks,
        } = PerEnvironment::read(policy(&raw, environments)?, &raw.per_environment)?;
        let policy = cross_environment_rules(policy, &raw)?;
        if !(raw.public_url.starts_with("http://") || raw.public_url.starts_with("https://")) {
            return Err(SettingError::new(
                "public_url",
                format!("is {:?}; use an http:// or https:// URL", raw.public_url),
            ));
        }
        let session = SessionSettings {
            key: raw.session_key.as_deref(),
            hours: raw.session_hours,
            idle_minutes: raw.session_idle_minutes,
            groups_refresh_minutes: raw.groups_refresh_minutes,
            revocation_check_seconds: raw.revocation_check_seconds,
        }
        .read()?;
        let oidc = OidcSettings {
            issuer: raw.oidc_issuer.as_deref(),
            client_id: raw.oidc_client_id.as_deref(),
            client_secret: raw.oidc_client_secret.as_deref(),
            groups_claim: &raw.oidc_groups_claim,
            identity_claim: &raw.oidc_identity_claim,
            require_name: raw.gxp,
        }
        .read()?;
        // With a provider, every signature keeps its evidence, checked against it.
        let policy = match &oidc {
            Some(oidc) => policy.with_identity_provider(IdentityProvider {
                issuer: oidc.issuer.clone(),
                audience: oidc.client_id.clone(),
                identity_claim: oidc.identity_claim.clone(),
                groups_claim: oidc.groups_claim.clone(),
            }),
            None => policy,
        };
        let dev_sign_in = dev_sign_in(&raw, &backend, oidc.as_ref())?;
        let follow_ups = FollowUps {
            remind_after: hours("remind_after_hours", raw.remind_after_hours)?,
            escalate_after: hours("escalate_after_hours", raw.escalate_after_hours)?,
            escalated_in: escalate_to
                .iter()
                .filter(|(_, to)| !to.is_empty())
                .filter_map(|(env, _)| Environment::parse(env).ok())
                .collect(),
        };
        let mail = MailSettings {
            smtp_url: raw.smtp_url.as_deref(),
            from: &raw.mail_from,
            retry_seconds: raw.mail_retry_seconds,
            attempts: raw.mail_attempts,
            notify,
            escalate_to,
            webhooks,
        }
        .read()?;
        let events = EventsConfig::new(raw.events_api_key.as_deref(), &raw.events_api_key_header)?;
        let api_access = ApiSettings {
            open: raw.api_open,
            tokens: &raw.api_tokens,
            jwt_audience: raw.api_jwt_audience.as_deref(),
            jwt_issuer: raw.api_jwt_issuer.as_deref(),
            jwt_clients: &raw.api_jwt_clients,
            scope_register: &raw.api_scope_register,
            scope_report: &raw.api_scope_report,
            scope_resolve: &raw.api_scope_resolve,
            registrants: &raw.api_registrants,
        }
        .read(
            oidc.as_ref().map(|o| o.issuer.as_str()),
            dev_sign_in,
            raw.listen,
        )?;
        let rate_limits = RateLimits::new(
            [
                raw.rate_limit_sign_in_per_minute,
                raw.rate_limit_decisions_per_minute,
                raw.rate_limit_api_per_minute,
                raw.rate_limit_exports_per_minute,
            ],
            &comma_list(&raw.trusted_proxies),
        )?;
        let audit_signing_key = match &raw.audit_signing_key {
            Some(key) => {
                countersign_audit::Notary::from_key(key).map_err(|e| {
                    SettingError::new("audit_signing_key", format!("is not usable: {e}"))
                })?;
                Some(SecretString::from(key.trim().to_owned()))
            }
            None => None,
        };
        Ok(Self {
            backend,
            database: raw.database,
            listen: raw.listen,
            public_url: raw.public_url.trim_end_matches('/').to_owned(),
            extra_hosts: comma_list(&raw.extra_hosts),
            policy,
            sign_in: SignInConfig {
                session,
                dev_sign_in,
                oidc,
            },
            audit_signing_key,
            request_timeout: std::time::Duration::from_secs(raw.request_timeout_seconds.max(1)),
            rate_limits,
            demo_data: raw.demo_data,
            gxp: raw.gxp,
            settings_digest,
            site_root: raw.site_root,
            log: raw.log,
            mail,
            events,
            scan_interval: (raw.scan_seconds > 0)
                .then(|| std::time::Duration::from_secs(raw.scan_seconds)),
            follow_ups,
            resolve_cache: (raw.resolve_cache_seconds > 0)
                .then(|| std::time::Duration::from_secs(raw.resolve_cache_seconds)),
            signature_check: std::time::Duration::from_secs(raw.signature_check_seconds),
            api_access,
        })
    }

    /// The environments whose approval and promotion requests reach nobody: no
    /// `COUNTERSIGN_NOTIFY_<ENV>` addresses.
    pub fn environments_without_recipients(&self) -> Vec<Environment> {
        self.policy
            .environments()
            .iter()
            .filter(|env| {
                self.mail
                    .notify
                    .get(env.as_str())
                    .is_none_or(|to| to.is_empty())
            })
            .cloned()
            .collect()
    }

    /// What start-up warns about: settings that work but leave something open, a sentence
    /// each, naming the setting that closes it.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.gxp {
            warnings.extend(gxp::warnings(self));
        }
        if self.api_access.open {
            warnings.push(format!(
                "the pipeline API takes no token (laptop setup): anyone reaching {} can register, report and resolve",
                self.listen
            ));
        }
        if !self.sign_in.dev_sign_in && self.sign_in.oidc.is_none() {
            warnings.push("no sign-in is configured (COUNTERSIGN_OIDC_ISSUER): nobody can sign in here; the pipeline API and the event intake serve".into());
        }
        for environment in self.environments_without_recipients() {
            warnings.push(format!(
                "approval and promotion requests for {environment} reach nobody: set {}",
                countersign_domain::notification::recipients_setting(&environment)
            ));
        }
        if self.sign_in.dev_sign_in {
            warnings.push(format!(
                "development sign-in is on: anyone reaching {} can sign in as a demo identity",
                self.listen
            ));
        }
        let on_this_machine_only = reached_on_this_machine(&self.public_url);
        if self.rate_limits.trusted_proxies.is_empty() && !on_this_machine_only {
            // Not refused: a portal may well face its clients directly (N9).
            warnings.push(format!(
                "COUNTERSIGN_TRUSTED_PROXIES is empty and the portal is reached at {}: behind a load balancer or proxy every client counts as the proxy's address, so one client can use up everyone's sign-in and decision allowance; name the proxies' addresses",
                self.public_url
            ));
        }
        #[cfg(feature = "aws")]
        if let Backend::Aws(aws) = &self.backend {
            if aws.secrets_kms_key_id.is_none() {
                warnings.push("the session, log and audit signing keys are kept under the account's default aws/ssm KMS key, which any principal allowed ssm:GetParameter with decryption on {prefix}/_settings/* can use: whoever reads them can mint sessions, forge log entries and sign checkpoints. Set COUNTERSIGN_SESSION_KMS_KEY_ID to a customer managed key only the portal's role may decrypt with".into());
            }
        }
        warnings
    }

    pub fn secure_cookies(&self) -> bool {
        crate::settings::is_https(&self.public_url)
    }

    /// The name a generated audit key gets: the public URL's host (and port), which also
    /// starts every trail's origin.
    pub fn audit_key_name(&self) -> String {
        let host = self
            .public_url
            .split_once("://")
            .map_or(self.public_url.as_str(), |(_, rest)| rest);
        let host = host.split('/').next().unwrap_or_default();
        if host.is_empty() {
            "countersign".into()
        } else {
            host.into()
        }
    }
}

/// The store: the embedded one, or AWS in binaries built with it.
fn backend(raw: &RawConfig, environments: &Environments) -> Result<Backend, SettingError> {
    match raw.backend.as_str() {
        "local" => Ok(Backend::Local),
        #[cfg(feature = "aws")]
        "aws" => Ok(Backend::Aws(
            crate::backend::AwsBackendSettings {
                ssm_prefix: &raw.ssm_prefix,
                session_kms_key_id: raw.session_kms_key_id.as_deref(),
                identity_map: raw.identity_map.as_deref(),
                dynamodb_table: &raw.dynamodb_table,
                dynamodb_create_table: raw.dynamodb_create_table,
                outbox_retention_days: raw.outbox_retention_days,
                audit_bucket: raw.audit_bucket.as_deref(),
                audit_retention_days: raw.audit_retention_days,
            }
            .read(environments.clone())?,
        )),
        #[cfg(not(feature = "aws"))]
        "aws" => {
            let _ = environments;
            Err(SettingError::new(
                "backend",
                "is \"aws\", but this binary was built without the AWS backend (the `aws` feature): build it with `COUNTERSIGN_BACKEND=aws make run`, `make build-release`, or `cargo build --features aws`",
            ))
        }
        other => Err(SettingError::new(
            "backend",
            format!("is {other:?}; allowed: local, aws"),
        )),
    }
}

/// The policy before its per-environment settings: the environments, the default approver
/// group and where people may approve what they registered.
fn policy(raw: &RawConfig, environments: Environments) -> Result<Policy, SettingError> {
    let mut policy = Policy::new(environments, raw.approver_group.trim());
    for name in comma_list(&raw.self_approval) {
        policy = policy
            .allowing_self_approval(&name)
            .map_err(|e| SettingError::new("self_approval", e))?;
    }
    Ok(policy)
}

/// The policy's settings that name several environments, and who may look.
fn cross_environment_rules(mut policy: Policy, raw: &RawConfig) -> Result<Policy, SettingError> {
    if let Some(list) = &raw.extra_approval_without_registrant {
        policy = policy
            .with_extra_approval_without_registrant(comma_list(list))
            .map_err(|e| SettingError::new("extra_approval_without_registrant", e))?;
    }
    if let Some(list) = &raw.reason_required {
        policy = policy
            .with_reason_required(comma_list(list))
            .map_err(|e| SettingError::new("reason_required", e))?;
    }
    let viewers = comma_list(&raw.viewers);
    if !viewers.is_empty() {
        policy = policy.with_viewer_groups(viewers);
    }
    Ok(policy.with_audit_reviewer_groups(comma_list(&raw.audit_reviewers)))
}

/// Whether anyone may choose a demo identity: by default only without an identity provider
/// on the embedded store, and never where it could sign a real registry or be reached from
/// another machine.
fn dev_sign_in(
    raw: &RawConfig,
    backend: &Backend,
    oidc: Option<&OidcConfig>,
) -> Result<bool, SettingError> {
    // Off by default on AWS: demo identities must never sign the real registry.
    let dev_sign_in = raw
        .dev_sign_in
        .unwrap_or(oidc.is_none() && backend.is_local());
    let refused = |why: String| Err(SettingError::new("dev_sign_in", why));
    if !dev_sign_in {
        if oidc.is_none() && backend.is_local() {
            return refused(
                "is off and no COUNTERSIGN_OIDC_ISSUER is set: nobody could sign in".into(),
            );
        }
        return Ok(false);
    }
    if !backend.is_local() {
        return refused("is on, but COUNTERSIGN_BACKEND is not local: the development sign-in lets anyone choose any identity, so it never writes to a real registry. Configure SSO (COUNTERSIGN_OIDC_ISSUER) for the AWS backend.".into());
    }
    if !raw.listen.ip().is_loopback() {
        return refused(format!(
            "is on, but COUNTERSIGN_LISTEN is {}: the development sign-in lets anyone choose any identity, so it only runs on a loopback address. Listen on 127.0.0.1, or configure SSO (COUNTERSIGN_OIDC_ISSUER).",
            raw.listen
        ));
    }
    if !reached_on_this_machine(&raw.public_url) {
        return refused(format!(
            "is on, but COUNTERSIGN_PUBLIC_URL is {}: the development sign-in is for a portal reached on this machine only. Configure SSO (COUNTERSIGN_OIDC_ISSUER) for a portal others reach.",
            raw.public_url
        ));
    }
    if oidc.is_some() {
        return refused("is on, but COUNTERSIGN_OIDC_ISSUER is set: with a real identity provider the development sign-in is off.".into());
    }
    Ok(true)
}

#[cfg(test)]
mod tests;
