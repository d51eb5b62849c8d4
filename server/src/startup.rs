//! Why the server could not start: one error for every step of start-up after the
//! configuration (whose errors name the setting), saying what it was doing and why.

use std::error::Error;

type Cause = Box<dyn Error + Send + Sync>;

/// `cannot keep a session key in the store: <why>`.
#[derive(Debug, thiserror::Error)]
#[error("cannot {doing}: {cause}")]
pub struct StartupError {
    doing: String,
    cause: Cause,
}

impl StartupError {
    pub fn new(doing: impl Into<String>, cause: impl Into<Cause>) -> Self {
        Self {
            doing: doing.into(),
            cause: cause.into(),
        }
    }

    /// For `map_err`: `.map_err(StartupError::cannot("open the AWS backend"))`.
    pub fn cannot<E: Into<Cause>>(doing: impl Into<String>) -> impl FnOnce(E) -> Self {
        let doing = doing.into();
        move |cause| Self::new(doing, cause)
    }
}

/// Keeps the start in the portal's own trail: the software's version and commit, a digest
/// of the settings and whether the GxP profile is on. A portal that cannot write its trail
/// does not start (it could record no decision either).
pub async fn record_start(
    config: &crate::config::Config,
    services: &countersign_domain::service::Services,
) -> Result<(), StartupError> {
    use countersign_domain::audit::{SystemEvent, PORTAL_ACTOR};
    let started = SystemEvent::Started {
        software_version: env!("CARGO_PKG_VERSION").into(),
        commit: env!("COUNTERSIGN_COMMIT").into(),
        settings_digest: config.settings_digest.clone(),
        gxp_profile: config.gxp,
    };
    services
        .record_system_event(PORTAL_ACTOR, started)
        .await
        .map_err(StartupError::cannot(
            "keep the start in the portal's own trail",
        ))
}
