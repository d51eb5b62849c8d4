//! Configuration, loaded once at start-up: defaults, then an optional TOML file
//! (`COUNTERSIGN_CONFIG`, default `countersign.toml` when it exists), then environment
//! variables named `COUNTERSIGN_*`. A wrong value stops start-up with a message naming the
//! setting and what it accepts.

use countersign_domain::notification::FollowUps;
use countersign_domain::{Environment, Environments, Policy};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::Value;
use figment::Figment;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::auth::oidc::OidcConfig;
use crate::http::api::auth::{ApiAccessConfig, JwtAccessConfig, ScopeClaims};
use crate::http::api::events::EventsConfig;
use crate::notify::MailConfig;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
struct RawConfig {
    config: Option<PathBuf>,
    backend: String,
    database: PathBuf,
    ssm_prefix: String,
    /// The DynamoDB table of the AWS backend.
    dynamodb_table: String,
    /// Whether start-up may create the table when it is missing (tests, laptops on moto).
    dynamodb_create_table: bool,
    /// Days a message stays in the AWS backend's outbox before DynamoDB removes it.
    outbox_retention_days: u32,
    /// An S3 bucket with Object Lock for the audit checkpoints (AWS backend).
    audit_bucket: Option<String>,
    /// Days each checkpoint in that bucket is locked in compliance mode.
    audit_retention_days: u32,
    listen: SocketAddr,
    public_url: String,
    /// More names the portal answers to besides the public URL's host.
    extra_hosts: String,
    environments: String,
    approver_group: String,
    self_approval: String,
    session_key: Option<String>,
    /// The note signing key audit checkpoints are signed with; generated and kept when absent.
    audit_signing_key: Option<String>,
    /// The KMS key the generated session key is encrypted under in SSM.
    session_kms_key_id: Option<String>,
    session_hours: u32,
    revocation_check_seconds: u64,
    session_idle_minutes: u32,
    groups_refresh_minutes: u32,
    request_timeout_seconds: u64,
    /// Per client and minute; 0 turns the limit off.
    rate_limit_sign_in_per_minute: u32,
    rate_limit_decisions_per_minute: u32,
    rate_limit_api_per_minute: u32,
    /// Proxies (addresses or CIDR networks) whose `X-Forwarded-For` names the client.
    trusted_proxies: String,
    /// Unset: on without an OIDC issuer, off with one.
    dev_sign_in: Option<bool>,
    oidc_issuer: Option<String>,
    oidc_client_id: Option<String>,
    oidc_client_secret: Option<String>,
    oidc_groups_claim: String,
    /// The ID token claim people are told apart by (four-eyes, distinct approvers).
    oidc_identity_claim: String,
    /// A TOML file mapping IAM and Studio identities to the people they act for.
    identity_map: Option<PathBuf>,
    /// Environments where a version without an established registrant needs one approval
    /// more; unset: the last environment.
    extra_approval_without_registrant: Option<String>,
    /// Environments where every decision needs a reason; unset: the last environment.
    reason_required: Option<String>,
    viewers: String,
    demo_data: bool,
    site_root: String,
    log: String,
    smtp_url: Option<String>,
    mail_from: String,
    mail_retry_seconds: u64,
    mail_attempts: u32,
    events_api_key: Option<String>,
    events_api_key_header: String,
    scan_seconds: u64,
    /// A waiting step's approvers are reminded after this long (0: never).
    remind_after_hours: f64,
    /// And its environment's `ESCALATE_TO_<ENV>` told after this long (0: never).
    escalate_after_hours: f64,
    resolve_cache_seconds: u64,
    signature_check_seconds: u64,
    /// Unset: open only in the laptop setup (development sign-in, no token configured).
    api_open: Option<bool>,
    /// Static tokens: `name:scope+scope:sha256-hex`, comma-separated.
    api_tokens: String,
    api_jwt_audience: Option<String>,
    /// Unset: the OIDC issuer.
    api_jwt_issuer: Option<String>,
    api_scope_register: String,
    api_scope_report: String,
    api_scope_resolve: String,
    /// `caller=person+person`, comma-separated.
    api_registrants: String,
    /// Per-environment settings whose names depend on the configured environments
    /// (`APPROVERS_<ENV>`, `REQUIRED_APPROVALS_<ENV>`), and anything misspelt.
    #[serde(flatten)]
    per_environment: BTreeMap<String, Value>,
}

impl Default for RawConfig {
    fn default() -> Self {
        Self {
            config: None,
            backend: "local".into(),
            database: "countersign.db".into(),
            ssm_prefix: "/countersign".into(),
            dynamodb_table: "countersign".into(),
            dynamodb_create_table: false,
            outbox_retention_days: 400,
            audit_bucket: None,
            audit_retention_days: 2555,
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            public_url: "http://127.0.0.1:3000".into(),
            extra_hosts: String::new(),
            environments: "dev,test,uat,prod".into(),
            approver_group: "approvers".into(),
            self_approval: String::new(),
            session_key: None,
            audit_signing_key: None,
            session_kms_key_id: None,
            session_hours: 8,
            revocation_check_seconds: 5,
            session_idle_minutes: 60,
            groups_refresh_minutes: 60,
            request_timeout_seconds: 30,
            rate_limit_sign_in_per_minute: 60,
            rate_limit_decisions_per_minute: 120,
            rate_limit_api_per_minute: 1200,
            trusted_proxies: String::new(),
            dev_sign_in: None,
            oidc_issuer: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_groups_claim: "groups".into(),
            oidc_identity_claim: "email".into(),
            identity_map: None,
            extra_approval_without_registrant: None,
            reason_required: None,
            viewers: String::new(),
            demo_data: false,
            site_root: "target/site".into(),
            log: "info,countersign=info".into(),
            smtp_url: None,
            mail_from: "Countersign <countersign@localhost>".into(),
            mail_retry_seconds: 30,
            mail_attempts: 8,
            events_api_key: None,
            events_api_key_header: "x-api-key".into(),
            scan_seconds: 300,
            remind_after_hours: 24.0,
            escalate_after_hours: 72.0,
            resolve_cache_seconds: 5,
            signature_check_seconds: 60,
            api_open: None,
            api_tokens: String::new(),
            api_jwt_audience: None,
            api_jwt_issuer: None,
            api_scope_register: "countersign.register".into(),
            api_scope_report: "countersign.report".into(),
            api_scope_resolve: "countersign.resolve".into(),
            api_registrants: String::new(),
            per_environment: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Backend {
    /// The embedded SQLite store at `database`.
    Local,
    /// SageMaker Model Registry and SSM Parameter Store, found through the standard AWS
    /// configuration chain. Only in binaries built with the `aws` feature: the laptop
    /// build leaves the AWS SDK out, which halves its first build.
    #[cfg(feature = "aws")]
    Aws(AwsConfig),
}

impl Backend {
    pub fn is_local(&self) -> bool {
        matches!(self, Backend::Local)
    }
}

/// The AWS backend's own settings.
#[cfg(feature = "aws")]
#[derive(Debug, Clone)]
pub struct AwsConfig {
    /// Countersign's parameters live under this SSM path.
    pub ssm_prefix: String,
    /// The KMS key a generated session key is kept under (a SecureString parameter).
    pub session_kms_key_id: Option<String>,
    /// Who the IAM and Studio identities creating versions in SageMaker are, as people.
    pub identity_map: countersign_aws::metadata::IdentityMap,
    /// The DynamoDB table for the decision log, reports, outbox and revocations.
    pub table: String,
    pub create_table: bool,
    pub outbox_retention: time::Duration,
    pub audit_bucket: Option<countersign_aws::AuditBucket>,
}

#[cfg(feature = "aws")]
impl AwsConfig {
    fn new(raw: &RawConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            ssm_prefix: countersign_aws::ssm_prefix(&raw.ssm_prefix)
                .map_err(|why| setting_error("ssm_prefix", why))?,
            session_kms_key_id: raw
                .session_kms_key_id
                .as_deref()
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_owned),
            identity_map: match &raw.identity_map {
                None => Default::default(),
                Some(path) => identity_map(path)?,
            },
            table: dynamodb_table(&raw.dynamodb_table)?,
            create_table: raw.dynamodb_create_table,
            outbox_retention: match raw.outbox_retention_days {
                0 => {
                    return Err(setting_error(
                        "outbox_retention_days",
                        "is 0; messages must be kept at least a day (the default is 400)",
                    ))
                }
                days => time::Duration::days(days.into()),
            },
            audit_bucket: audit_bucket(raw)?,
        })
    }
}

/// The audit bucket: an S3 bucket name (3 to 63 lower-case letters, digits, `.` and `-`),
/// and its retention, at least a day.
#[cfg(feature = "aws")]
fn audit_bucket(raw: &RawConfig) -> Result<Option<countersign_aws::AuditBucket>, ConfigError> {
    let Some(name) = raw
        .audit_bucket
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
    else {
        return Ok(None);
    };
    let valid = (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-".contains(c))
        && !name.starts_with(['.', '-'])
        && !name.ends_with(['.', '-']);
    if !valid {
        return Err(setting_error(
            "audit_bucket",
            format!(
                "is {name:?}; an S3 bucket name is 3 to 63 lower-case letters, digits, . and -"
            ),
        ));
    }
    if raw.audit_retention_days == 0 {
        return Err(setting_error(
            "audit_retention_days",
            "is 0; a checkpoint must be locked at least a day (the default is 2555, seven years)",
        ));
    }
    Ok(Some(countersign_aws::AuditBucket {
        name: name.to_owned(),
        retention: time::Duration::days(raw.audit_retention_days.into()),
    }))
}

/// A DynamoDB table name: 3 to 255 letters, digits, `_ - .`.
#[cfg(feature = "aws")]
fn dynamodb_table(name: &str) -> Result<String, ConfigError> {
    let name = name.trim();
    let valid = (3..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if !valid {
        return Err(setting_error(
            "dynamodb_table",
            format!("is {name:?}; a DynamoDB table name is 3 to 255 letters, digits, _ - ."),
        ));
    }
    Ok(name.to_owned())
}

fn rate_limits(raw: &RawConfig) -> Result<crate::http::rate_limit::RateLimits, ConfigError> {
    crate::http::rate_limit::RateLimits::new(
        [
            raw.rate_limit_sign_in_per_minute,
            raw.rate_limit_decisions_per_minute,
            raw.rate_limit_api_per_minute,
        ],
        &comma_list(&raw.trusted_proxies),
    )
    .map_err(|why| setting_error("trusted_proxies", why))
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
    /// Base64 of at least 64 bytes; generated and kept in the store when absent.
    pub session_key: Option<SecretString>,
    /// A note signing key (`PRIVATE+KEY+<name>+<id>+<key>`) for the audit trail's
    /// checkpoints; generated and kept in the store, apart from the session key, when absent.
    pub audit_signing_key: Option<SecretString>,
    pub session_hours: u32,
    /// How often each replica reads session revocations from the store.
    pub revocation_check: std::time::Duration,
    /// How long a request may take, body included, before it is answered 408.
    pub request_timeout: std::time::Duration,
    pub rate_limits: crate::http::rate_limit::RateLimits,
    /// A session without a request for this long ends.
    pub session_idle: time::Duration,
    /// With an identity provider: how old the groups in a session may be.
    pub groups_refresh: time::Duration,
    pub dev_sign_in: bool,
    pub oidc: Option<OidcConfig>,
    pub demo_data: bool,
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
#[error("configuration: {0}")]
pub struct ConfigError(String);

/// Addresses for environment `env` (as written in the setting's name) from setting `key`.
fn addresses_for(
    policy: &Policy,
    key: &str,
    env: &str,
    text: &str,
) -> Result<(String, Vec<String>), ConfigError> {
    let env = known_environment(policy, key, env)?;
    let addresses = comma_list(text);
    for address in &addresses {
        if address.parse::<lettre::Address>().is_err() {
            return Err(setting_error(
                key,
                format!("has {address:?}, which is not an e-mail address"),
            ));
        }
    }
    Ok((env, addresses))
}

/// The environment a per-environment setting `key` names (`env` as written in the name).
fn known_environment(policy: &Policy, key: &str, env: &str) -> Result<String, ConfigError> {
    let env = env.replace('_', "-");
    if policy.environments().find(&env).is_none() {
        return Err(setting_error(
            key,
            format!(
                "names {env:?}, which is not one of the environments ({})",
                policy.environments()
            ),
        ));
    }
    Ok(env)
}

const HOURS_IN_A_YEAR: f64 = 8760.0;

/// A number of hours as a duration; 0 turns what it times off.
fn hours(key: &str, hours: f64) -> Result<Option<time::Duration>, ConfigError> {
    // A year at most: beyond, nobody is reminded of anything (and far beyond, the figure
    // is no duration at all).
    if !(0.0..=HOURS_IN_A_YEAR).contains(&hours) {
        return Err(setting_error(
            key,
            "must be a number of hours from 0 (off) to 8760 (a year)",
        ));
    }
    Ok((hours > 0.0).then(|| time::Duration::seconds_f64(hours * 3600.0)))
}

fn setting_error(key: &str, message: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!("COUNTERSIGN_{} {message}", key.to_uppercase()))
}

/// `approve=Approved for release to prod; approve=Approved for a pilot in prod;
/// reject=Rejected for prod`: the meanings offered per verdict, in order. Verdicts not named
/// keep their default meaning.
fn signature_meanings(
    text: &str,
) -> Result<Vec<(countersign_domain::Verdict, Vec<String>)>, String> {
    use countersign_domain::Verdict;
    let mut by_verdict: BTreeMap<Verdict, Vec<String>> = BTreeMap::new();
    for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (verdict, meaning) = entry.split_once('=').ok_or_else(|| {
            format!("has {entry:?}; write verdict=meaning entries separated by ';', e.g. \"approve=Approved for release to prod; reject=Rejected for prod\"")
        })?;
        let verdict = Verdict::parse(verdict.trim()).ok_or_else(|| {
            format!(
                "names the verdict {:?}; use approve, reject or rollback",
                verdict.trim()
            )
        })?;
        by_verdict
            .entry(verdict)
            .or_default()
            .push(meaning.trim().to_owned());
    }
    if by_verdict.is_empty() {
        return Err("is empty; leave it unset for the default meanings".into());
    }
    Ok(by_verdict.into_iter().collect())
}

fn comma_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(_, s) => Some(s.clone()),
        Value::Num(_, n) => n.to_u128().map(|n| n.to_string()),
        _ => None,
    }
}

/// Whether an identity provider's issuer URL may be trusted for keys: https, or plain http
/// to this machine only (a test provider). The host is parsed, so `http://localhost.evil.tld`
/// is not loopback.
fn secure_issuer(issuer: &str) -> bool {
    url::Url::parse(issuer).is_ok_and(|url| match url.scheme() {
        "https" => true,
        "http" => on_this_machine(&url),
        _ => false,
    })
}

/// Whether a URL's host is this machine: `localhost` or a loopback address, parsed (so
/// `localhost.evil.tld` is not).
fn on_this_machine(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn identity_claim(claim: &str) -> Result<String, ConfigError> {
    let claim = claim.trim();
    if claim.is_empty() || claim.contains(char::is_whitespace) {
        return Err(setting_error(
            "oidc_identity_claim",
            format!("is {claim:?}; name one ID token claim: email, oid, upn or sub"),
        ));
    }
    Ok(claim.to_owned())
}

/// Reads the identity map: a TOML table whose keys are IAM or Studio identities and whose
/// values are one person's identifier or a list of them.
#[cfg(feature = "aws")]
fn identity_map(
    path: &std::path::Path,
) -> Result<countersign_aws::metadata::IdentityMap, ConfigError> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum People {
        One(String),
        Many(Vec<String>),
    }
    let wrong = |why: String| {
        setting_error(
            "identity_map",
            format!("names {}: {why}; write one line per identity, e.g. \"arn:aws:iam::111122223333:role/churn-training\" = [\"dana@example.com\"]", path.display()),
        )
    };
    let text = std::fs::read_to_string(path).map_err(|e| wrong(e.to_string()))?;
    let entries: BTreeMap<String, People> =
        toml::from_str(&text).map_err(|e| wrong(e.to_string()))?;
    Ok(countersign_aws::metadata::IdentityMap::new(
        entries.into_iter().map(|(identity, people)| {
            let people = match people {
                People::One(one) => vec![one],
                People::Many(many) => many,
            };
            (identity, people)
        }),
    ))
}

fn api_access(
    raw: &RawConfig,
    oidc: Option<&OidcConfig>,
    dev_sign_in: bool,
) -> Result<ApiAccessConfig, ConfigError> {
    let tokens = crate::http::api::auth::static_tokens(&raw.api_tokens)
        .map_err(|why| setting_error("api_tokens", why))?;
    let jwt = match raw.api_jwt_audience.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(audience) => {
            let issuer = raw
                .api_jwt_issuer
                .as_deref()
                .map(str::trim)
                .filter(|i| !i.is_empty())
                .map(str::to_owned)
                .or_else(|| oidc.map(|o| o.issuer.clone()))
                .ok_or_else(|| {
                    setting_error(
                        "api_jwt_audience",
                        "is set, but neither COUNTERSIGN_API_JWT_ISSUER nor COUNTERSIGN_OIDC_ISSUER names the provider issuing the tokens",
                    )
                })?;
            if !secure_issuer(&issuer) {
                return Err(setting_error(
                    "api_jwt_issuer",
                    format!("is {issuer:?}; use the provider's https:// issuer URL (plain http only to this machine)"),
                ));
            }
            Some(JwtAccessConfig {
                issuer: issuer.trim_end_matches('/').to_owned(),
                audience: audience.to_owned(),
            })
        }
    };
    let no_tokens = tokens.is_empty() && jwt.is_none();
    let open = raw.api_open.unwrap_or(dev_sign_in && no_tokens);
    if open && !no_tokens {
        return Err(setting_error(
            "api_open",
            "is on, but API tokens are configured: turn one of them off",
        ));
    }
    if open && !raw.listen.ip().is_loopback() {
        return Err(setting_error(
            "api_open",
            format!("is on, but COUNTERSIGN_LISTEN is {}: an API without tokens only runs on a loopback address. Configure COUNTERSIGN_API_TOKENS or COUNTERSIGN_API_JWT_AUDIENCE.", raw.listen),
        ));
    }
    let claim = |key: &str, value: &str| {
        let value = value.trim();
        if value.is_empty() || value.contains(char::is_whitespace) {
            Err(setting_error(
                key,
                "must be one scope or role name, without spaces",
            ))
        } else {
            Ok(value.to_owned())
        }
    };
    let mut registrants = BTreeMap::new();
    for entry in comma_list(&raw.api_registrants) {
        let wrong = || {
            setting_error(
                "api_registrants",
                format!("has {entry:?}; each entry is caller=person+person, e.g. training-pipeline=dana@example.com+sam@example.com"),
            )
        };
        let (caller, people) = entry.split_once('=').ok_or_else(wrong)?;
        let people: std::collections::BTreeSet<String> = people
            .split('+')
            .filter_map(countersign_domain::identity::normalised_identifier)
            .collect();
        if caller.trim().is_empty() || people.is_empty() {
            return Err(wrong());
        }
        registrants.insert(caller.trim().to_owned(), people);
    }
    Ok(ApiAccessConfig {
        registrants,
        open,
        tokens,
        jwt,
        scope_claims: ScopeClaims {
            register: claim("api_scope_register", &raw.api_scope_register)?,
            report: claim("api_scope_report", &raw.api_scope_report)?,
            resolve: claim("api_scope_resolve", &raw.api_scope_resolve)?,
        },
    })
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
                return Err(setting_error(
                    "config",
                    format!("names {}, which does not exist", path.display()),
                ))
            }
            Some(path) => figment = figment.merge(Toml::file(path)),
            None => figment = figment.merge(Toml::file("countersign.toml")),
        }
        let raw: RawConfig = figment
            .merge(overrides)
            .extract()
            .map_err(|e| ConfigError(e.to_string()))?;
        Self::validate(raw)
    }

    fn validate(raw: RawConfig) -> Result<Self, ConfigError> {
        let backend = match raw.backend.as_str() {
            "local" => Backend::Local,
            #[cfg(feature = "aws")]
            "aws" => Backend::Aws(AwsConfig::new(&raw)?),
            #[cfg(not(feature = "aws"))]
            "aws" => {
                return Err(setting_error(
                    "backend",
                    "is \"aws\", but this binary was built without the AWS backend (the `aws` feature): build it with `COUNTERSIGN_BACKEND=aws make run`, `make build-release`, or `cargo build --features aws`",
                ))
            }
            other => {
                return Err(setting_error(
                    "backend",
                    format!("is {other:?}; allowed: local, aws"),
                ))
            }
        };
        let environments = Environments::parse_list(&raw.environments)
            .map_err(|e| setting_error("environments", format!("is not valid: {e}")))?;
        let mut policy = Policy::new(environments.clone(), raw.approver_group.trim());
        for name in comma_list(&raw.self_approval) {
            policy = policy
                .allowing_self_approval(&name)
                .map_err(|e| setting_error("self_approval", e))?;
        }
        let mut notify = BTreeMap::new();
        let mut escalate_to = BTreeMap::new();
        let mut webhooks = BTreeMap::new();
        for (key, value) in &raw.per_environment {
            let text = value_text(value)
                .ok_or_else(|| setting_error(key, "must be a text or a whole number"))?;
            if let Some(env) = key.strip_prefix("approvers_") {
                let env = env.replace('_', "-");
                policy = policy
                    .with_approver_groups(&env, comma_list(&text))
                    .map_err(|e| setting_error(key, e))?;
            } else if let Some(env) = key.strip_prefix("notify_") {
                let (env, addresses) = addresses_for(&policy, key, env, &text)?;
                notify.insert(env, addresses);
            } else if let Some(env) = key.strip_prefix("escalate_to_") {
                let (env, addresses) = addresses_for(&policy, key, env, &text)?;
                escalate_to.insert(env, addresses);
            } else if let Some(env) = key.strip_prefix("webhook_url_") {
                let env = known_environment(&policy, key, env)?;
                let url = text.trim();
                let loopback = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"]
                    .iter()
                    .any(|prefix| url.starts_with(prefix));
                if !(url.starts_with("https://") || loopback) || url.contains(char::is_whitespace) {
                    return Err(setting_error(
                        key,
                        "must be an https:// URL (an incoming webhook of Slack or Microsoft Teams)",
                    ));
                }
                webhooks.insert(env, SecretString::from(url.to_owned()));
            } else if let Some(env) = key.strip_prefix("signature_meanings_") {
                let env = env.replace('_', "-");
                for (verdict, meanings) in
                    signature_meanings(&text).map_err(|e| setting_error(key, e))?
                {
                    policy = policy
                        .with_meanings(&env, verdict, meanings)
                        .map_err(|e| setting_error(key, e))?;
                }
            } else if let Some(env) = key.strip_prefix("signing_max_age_") {
                let env = env.replace('_', "-");
                let seconds: u32 = text.parse().map_err(|_| {
                    setting_error(key, format!("is {text:?}; use a number of seconds (0: a fresh sign-in for every signature)"))
                })?;
                policy = policy
                    .with_signing_max_age(&env, time::Duration::seconds(i64::from(seconds)))
                    .map_err(|e| setting_error(key, e))?;
            } else if let Some(env) = key.strip_prefix("signing_acr_") {
                let env = env.replace('_', "-");
                policy = policy
                    .with_signing_context(&env, &text)
                    .map_err(|e| setting_error(key, e))?;
            } else if let Some(env) = key.strip_prefix("required_approvals_") {
                let env = env.replace('_', "-");
                let count: u8 = text.parse().map_err(|_| {
                    setting_error(key, format!("is {text:?}; use a number from 1 to 10"))
                })?;
                policy = policy
                    .with_required_approvals(&env, count)
                    .map_err(|e| setting_error(key, e))?;
            } else {
                return Err(setting_error(key, "is not a setting Countersign knows (see the configuration table in the README)"));
            }
        }
        if !(raw.public_url.starts_with("http://") || raw.public_url.starts_with("https://")) {
            return Err(setting_error(
                "public_url",
                format!("is {:?}; use an http:// or https:// URL", raw.public_url),
            ));
        }
        if !(5..=1440).contains(&raw.session_idle_minutes) {
            return Err(setting_error(
                "session_idle_minutes",
                "must be from 5 to 1440",
            ));
        }
        if !(5..=1440).contains(&raw.groups_refresh_minutes) {
            return Err(setting_error(
                "groups_refresh_minutes",
                "must be from 5 to 1440",
            ));
        }
        if !(1..=24).contains(&raw.session_hours) {
            return Err(setting_error(
                "session_hours",
                "must be from 1 to 24: a sign-in lasts a working day at most",
            ));
        }
        if let Some(list) = &raw.extra_approval_without_registrant {
            policy = policy
                .with_extra_approval_without_registrant(comma_list(list))
                .map_err(|e| setting_error("extra_approval_without_registrant", e))?;
        }
        if let Some(list) = &raw.reason_required {
            policy = policy
                .with_reason_required(comma_list(list))
                .map_err(|e| setting_error("reason_required", e))?;
        }
        let viewers = comma_list(&raw.viewers);
        if !viewers.is_empty() {
            policy = policy.with_viewer_groups(viewers);
        }
        let oidc = match raw.oidc_issuer.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(issuer) => {
                if !secure_issuer(issuer) {
                    return Err(setting_error(
                        "oidc_issuer",
                        format!("is {issuer:?}; use the provider's https:// issuer URL"),
                    ));
                }
                let required = |key: &str, value: &Option<String>| {
                    value
                        .as_deref()
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            setting_error(key, "is required when COUNTERSIGN_OIDC_ISSUER is set")
                        })
                };
                Some(OidcConfig {
                    issuer: issuer.trim_end_matches('/').to_owned(),
                    client_id: required("oidc_client_id", &raw.oidc_client_id)?,
                    client_secret: SecretString::from(required(
                        "oidc_client_secret",
                        &raw.oidc_client_secret,
                    )?),
                    groups_claim: raw.oidc_groups_claim.trim().to_owned(),
                    identity_claim: identity_claim(&raw.oidc_identity_claim)?,
                })
            }
        };
        // Off by default on AWS: demo identities must never sign the real registry.
        let dev_sign_in = raw
            .dev_sign_in
            .unwrap_or(oidc.is_none() && backend.is_local());
        if dev_sign_in {
            if !backend.is_local() {
                return Err(setting_error(
                    "dev_sign_in",
                    "is on, but COUNTERSIGN_BACKEND is not local: the development sign-in lets anyone choose any identity, so it never writes to a real registry. Configure SSO (COUNTERSIGN_OIDC_ISSUER) for the AWS backend.",
                ));
            }
            if !raw.listen.ip().is_loopback() {
                return Err(setting_error(
                    "dev_sign_in",
                    format!(
                        "is on, but COUNTERSIGN_LISTEN is {}: the development sign-in lets anyone choose any identity, so it only runs on a loopback address. Listen on 127.0.0.1, or configure SSO (COUNTERSIGN_OIDC_ISSUER).",
                        raw.listen
                    ),
                ));
            }
            if !url::Url::parse(&raw.public_url).is_ok_and(|url| on_this_machine(&url)) {
                return Err(setting_error(
                    "dev_sign_in",
                    format!(
                        "is on, but COUNTERSIGN_PUBLIC_URL is {}: the development sign-in is for a portal reached on this machine only. Configure SSO (COUNTERSIGN_OIDC_ISSUER) for a portal others reach.",
                        raw.public_url
                    ),
                ));
            }
            if oidc.is_some() {
                return Err(setting_error(
                    "dev_sign_in",
                    "is on, but COUNTERSIGN_OIDC_ISSUER is set: with a real identity provider the development sign-in is off.",
                ));
            }
        } else if oidc.is_none() && backend.is_local() {
            return Err(setting_error(
                "dev_sign_in",
                "is off and no COUNTERSIGN_OIDC_ISSUER is set: nobody could sign in",
            ));
        }
        let mail = MailConfig::new(
            raw.smtp_url.as_deref(),
            &raw.mail_from,
            notify,
            std::time::Duration::from_secs(raw.mail_retry_seconds.max(1)),
            raw.mail_attempts,
        )
        .map_err(|(setting, why)| setting_error(setting, why))?;
        let events = EventsConfig::new(raw.events_api_key.as_deref(), &raw.events_api_key_header)
            .map_err(|(setting, why)| setting_error(setting, why))?;
        let scan_interval =
            (raw.scan_seconds > 0).then(|| std::time::Duration::from_secs(raw.scan_seconds));
        let follow_ups = FollowUps {
            remind_after: hours("remind_after_hours", raw.remind_after_hours)?,
            escalate_after: hours("escalate_after_hours", raw.escalate_after_hours)?,
            escalated_in: escalate_to
                .iter()
                .filter(|(_, to)| !to.is_empty())
                .filter_map(|(env, _)| Environment::parse(env).ok())
                .collect(),
        };
        let mut mail = mail;
        mail.escalate_to = escalate_to;
        mail.webhooks = webhooks;
        let api_access = api_access(&raw, oidc.as_ref(), dev_sign_in)?;
        let rate_limits = rate_limits(&raw)?;
        let audit_signing_key = match &raw.audit_signing_key {
            Some(key) => {
                countersign_audit::Notary::from_key(key).map_err(|e| {
                    setting_error("audit_signing_key", format!("is not usable: {e}"))
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
            session_key: raw.session_key.map(SecretString::from),
            audit_signing_key,
            session_hours: raw.session_hours,
            revocation_check: std::time::Duration::from_secs(raw.revocation_check_seconds),
            request_timeout: std::time::Duration::from_secs(raw.request_timeout_seconds.max(1)),
            rate_limits,
            session_idle: time::Duration::minutes(i64::from(raw.session_idle_minutes)),
            groups_refresh: time::Duration::minutes(i64::from(raw.groups_refresh_minutes)),
            dev_sign_in,
            oidc,
            demo_data: raw.demo_data,
            site_root: raw.site_root,
            log: raw.log,
            mail,
            events,
            scan_interval,
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

    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
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

#[cfg(test)]
mod tests;
