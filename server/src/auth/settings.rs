//! How people sign in and how long a session lasts, read once at start-up.

use super::oidc::OidcConfig;
use crate::settings::SettingError;
use secrecy::SecretString;

/// Sign-in as configured: sessions, and either the development sign-in or an identity
/// provider (which of them is a rule over several features: `config` decides it).
#[derive(Debug, Clone)]
pub struct SignInConfig {
    pub session: SessionConfig,
    /// Anyone may choose a demo identity: the laptop setup only.
    pub dev_sign_in: bool,
    pub oidc: Option<OidcConfig>,
}

#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Base64 of at least 64 bytes; generated and kept in the store when absent.
    pub key: Option<SecretString>,
    /// How long a sign-in lasts.
    pub hours: u32,
    /// How often each replica reads session revocations from the store.
    pub revocation_check: std::time::Duration,
    /// A session without a request for this long ends.
    pub idle: time::Duration,
    /// With an identity provider: how old the groups in a session may be.
    pub groups_refresh: time::Duration,
}

/// The session settings as written (`COUNTERSIGN_SESSION_*` and the like).
pub struct SessionSettings<'a> {
    pub key: Option<&'a str>,
    pub hours: u32,
    pub idle_minutes: u32,
    pub groups_refresh_minutes: u32,
    pub revocation_check_seconds: u64,
}

impl SessionSettings<'_> {
    pub fn read(self) -> Result<SessionConfig, SettingError> {
        let minutes = |key: &str, minutes: u32| {
            if (5..=1440).contains(&minutes) {
                Ok(time::Duration::minutes(i64::from(minutes)))
            } else {
                Err(SettingError::new(key, "must be from 5 to 1440"))
            }
        };
        if !(1..=24).contains(&self.hours) {
            return Err(SettingError::new(
                "session_hours",
                "must be from 1 to 24: a sign-in lasts a working day at most",
            ));
        }
        Ok(SessionConfig {
            key: self.key.map(|key| SecretString::from(key.to_owned())),
            hours: self.hours,
            revocation_check: std::time::Duration::from_secs(self.revocation_check_seconds),
            idle: minutes("session_idle_minutes", self.idle_minutes)?,
            groups_refresh: minutes("groups_refresh_minutes", self.groups_refresh_minutes)?,
        })
    }
}
