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
