//! Every setting as written: the defaults, overridden by the TOML file, overridden by
//! `COUNTERSIGN_*` variables. Names here are the settings' names (`session_hours` is
//! `COUNTERSIGN_SESSION_HOURS`); nothing is checked yet.

use figment::value::Value;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub(super) struct RawConfig {
    pub(super) config: Option<PathBuf>,
    pub(super) backend: String,
    pub(super) database: PathBuf,
    pub(super) ssm_prefix: String,
    /// The DynamoDB table of the AWS backend.
    pub(super) dynamodb_table: String,
    /// Whether start-up may create the table when it is missing (tests, laptops on moto).
    pub(super) dynamodb_create_table: bool,
    /// Days a message stays in the AWS backend's outbox before DynamoDB removes it.
    pub(super) outbox_retention_days: u32,
    /// An S3 bucket with Object Lock for the audit checkpoints (AWS backend).
    pub(super) audit_bucket: Option<String>,
    /// Days each checkpoint in that bucket is locked in compliance mode.
    pub(super) audit_retention_days: u32,
    pub(super) listen: SocketAddr,
    pub(super) public_url: String,
    /// More names the portal answers to besides the public URL's host.
    pub(super) extra_hosts: String,
    pub(super) environments: String,
    pub(super) approver_group: String,
    pub(super) self_approval: String,
    pub(super) session_key: Option<String>,
    /// The note signing key audit checkpoints are signed with; generated and kept when absent.
    pub(super) audit_signing_key: Option<String>,
    /// The KMS key the generated session key is encrypted under in SSM.
    pub(super) session_kms_key_id: Option<String>,
    pub(super) session_hours: u32,
    pub(super) revocation_check_seconds: u64,
    pub(super) session_idle_minutes: u32,
    pub(super) groups_refresh_minutes: u32,
    pub(super) request_timeout_seconds: u64,
    /// Per client and minute; 0 turns the limit off.
    pub(super) rate_limit_sign_in_per_minute: u32,
    pub(super) rate_limit_decisions_per_minute: u32,
    pub(super) rate_limit_api_per_minute: u32,
    pub(super) rate_limit_exports_per_minute: u32,
    /// Proxies (addresses or CIDR networks) whose `X-Forwarded-For` names the client.
    pub(super) trusted_proxies: String,
    /// Unset: on without an OIDC issuer, off with one.
    pub(super) dev_sign_in: Option<bool>,
    pub(super) oidc_issuer: Option<String>,
    pub(super) oidc_client_id: Option<String>,
    pub(super) oidc_client_secret: Option<String>,
    pub(super) oidc_groups_claim: String,
    /// The ID token claim people are told apart by (four-eyes, distinct approvers).
    pub(super) oidc_identity_claim: String,
    /// A TOML file mapping IAM and Studio identities to the people they act for.
    pub(super) identity_map: Option<PathBuf>,
    /// Environments where a version without an established registrant needs one approval
    /// more; unset: the last environment.
    pub(super) extra_approval_without_registrant: Option<String>,
    /// Environments where every decision needs a reason; unset: the last environment.
    pub(super) reason_required: Option<String>,
    pub(super) viewers: String,
    /// Groups whose members review the audit trail and access (`COUNTERSIGN_AUDIT_REVIEWERS`).
    pub(super) audit_reviewers: String,
    pub(super) demo_data: bool,
    /// The GxP profile: refuse settings a QA unit would not accept (see `gxp`).
    pub(super) gxp: bool,
    pub(super) site_root: String,
    pub(super) log: String,
    pub(super) smtp_url: Option<String>,
    pub(super) mail_from: String,
    pub(super) mail_retry_seconds: u64,
    pub(super) mail_attempts: u32,
    pub(super) events_api_key: Option<String>,
    pub(super) events_api_key_header: String,
    pub(super) scan_seconds: u64,
    /// A waiting step's approvers are reminded after this long (0: never).
    pub(super) remind_after_hours: f64,
    /// And its environment's `ESCALATE_TO_<ENV>` told after this long (0: never).
    pub(super) escalate_after_hours: f64,
    pub(super) resolve_cache_seconds: u64,
    pub(super) signature_check_seconds: u64,
    /// Unset: open only in the laptop setup (development sign-in, no token configured).
    pub(super) api_open: Option<bool>,
    /// Static tokens: `name:scope+scope:sha256-hex`, comma-separated.
    pub(super) api_tokens: String,
    pub(super) api_jwt_audience: Option<String>,
    /// Unset: the OIDC issuer.
    pub(super) api_jwt_issuer: Option<String>,
    /// The clients (`client_id`/`azp`/`appid`) whose access tokens are taken, comma-separated;
    /// empty: any client the provider issues tokens for.
    pub(super) api_jwt_clients: String,
    pub(super) api_scope_register: String,
    pub(super) api_scope_report: String,
    pub(super) api_scope_resolve: String,
    /// `caller=person+person`, comma-separated.
    pub(super) api_registrants: String,
    /// Per-environment settings whose names depend on the configured environments
    /// (`APPROVERS_<ENV>`, `REQUIRED_APPROVALS_<ENV>`), and anything misspelt.
    #[serde(flatten)]
    pub(super) per_environment: BTreeMap<String, Value>,
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
            rate_limit_exports_per_minute: 30,
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
            audit_reviewers: String::new(),
            demo_data: false,
            gxp: false,
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
            api_jwt_clients: String::new(),
            api_scope_register: "countersign.register".into(),
            api_scope_report: "countersign.report".into(),
            api_scope_resolve: "countersign.resolve".into(),
            api_registrants: String::new(),
            per_environment: BTreeMap::new(),
        }
    }
}
