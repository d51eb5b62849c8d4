//! Settings named after an environment (`COUNTERSIGN_<SETTING>_<ENV>`, `-` written `_`):
//! who approves it and how (`APPROVERS_`, `REQUIRED_APPROVALS_`, `SIGNATURE_MEANINGS_`,
//! `SIGNING_MAX_AGE_`, `SIGNING_ACR_`), and whom to tell (`NOTIFY_`, `ESCALATE_TO_`,
//! `WEBHOOK_URL_`). Anything else left over from the known settings is a misspelling.

use crate::notify::settings::{addresses, webhook_url};
use crate::settings::{comma_list, SettingError};
use countersign_domain::{Policy, Verdict};
use figment::value::Value;
use secrecy::SecretString;
use std::collections::BTreeMap;

/// The policy with every per-environment rule, and whom each environment's notices reach.
pub(super) struct PerEnvironment {
    pub policy: Policy,
    pub notify: BTreeMap<String, Vec<String>>,
    pub escalate_to: BTreeMap<String, Vec<String>>,
    pub webhooks: BTreeMap<String, SecretString>,
}

impl PerEnvironment {
    /// `settings`: what no named setting took, by lower-case key.
    pub(super) fn read(
        mut policy: Policy,
        settings: &BTreeMap<String, Value>,
    ) -> Result<Self, SettingError> {
        let mut notify = BTreeMap::new();
        let mut escalate_to = BTreeMap::new();
        let mut webhooks = BTreeMap::new();
        for (key, value) in settings {
            let text = value_text(value)
                .ok_or_else(|| SettingError::new(key, "must be a text or a whole number"))?;
            if let Some(env) = key.strip_prefix("approvers_") {
                policy = policy
                    .with_approver_groups(&written(env), comma_list(&text))
                    .map_err(|e| SettingError::new(key, e))?;
            } else if let Some(env) = key.strip_prefix("notify_") {
                let env = known_environment(&policy, key, env)?;
                notify.insert(env, addresses(key, &text)?);
            } else if let Some(env) = key.strip_prefix("escalate_to_") {
                let env = known_environment(&policy, key, env)?;
                escalate_to.insert(env, addresses(key, &text)?);
            } else if let Some(env) = key.strip_prefix("webhook_url_") {
                let env = known_environment(&policy, key, env)?;
                webhooks.insert(env, webhook_url(key, &text)?);
            } else if let Some(env) = key.strip_prefix("signature_meanings_") {
                for (verdict, meanings) in
                    signature_meanings(&text).map_err(|e| SettingError::new(key, e))?
                {
                    policy = policy
                        .with_meanings(&written(env), verdict, meanings)
                        .map_err(|e| SettingError::new(key, e))?;
                }
            } else if let Some(env) = key.strip_prefix("signing_max_age_") {
                let seconds: u32 = text.parse().map_err(|_| {
                    SettingError::new(key, format!("is {text:?}; use a number of seconds (0: a fresh sign-in for every signature)"))
                })?;
                policy = policy
                    .with_signing_max_age(&written(env), time::Duration::seconds(seconds.into()))
                    .map_err(|e| SettingError::new(key, e))?;
            } else if let Some(env) = key.strip_prefix("signing_acr_") {
                policy = policy
                    .with_signing_context(&written(env), &text)
                    .map_err(|e| SettingError::new(key, e))?;
            } else if let Some(env) = key.strip_prefix("required_approvals_") {
                let count: u8 = text.parse().map_err(|_| {
                    SettingError::new(key, format!("is {text:?}; use a number from 1 to 10"))
                })?;
                policy = policy
                    .with_required_approvals(&written(env), count)
                    .map_err(|e| SettingError::new(key, e))?;
            } else {
                return Err(SettingError::new(key, "is not a setting Countersign knows (see the configuration table in the README)"));
            }
        }
        Ok(Self {
            policy,
            notify,
            escalate_to,
            webhooks,
        })
    }
}

/// An environment's name as written in a setting's name (`user_acceptance` for
/// `user-acceptance`).
fn written(env: &str) -> String {
    env.replace('_', "-")
}

/// The environment a per-environment setting `key` names (`env` as written in the name).
fn known_environment(policy: &Policy, key: &str, env: &str) -> Result<String, SettingError> {
    let env = written(env);
    if policy.environments().find(&env).is_none() {
        return Err(SettingError::new(
            key,
            format!(
                "names {env:?}, which is not one of the environments ({})",
                policy.environments()
            ),
        ));
    }
    Ok(env)
}

/// `approve=Approved for release to prod; approve=Approved for a pilot in prod;
/// reject=Rejected for prod`: the meanings offered per verdict, in order. Verdicts not named
/// keep their default meaning.
fn signature_meanings(text: &str) -> Result<Vec<(Verdict, Vec<String>)>, String> {
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

fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(_, s) => Some(s.clone()),
        Value::Num(_, n) => n.to_u128().map(|n| n.to_string()),
        _ => None,
    }
}
