//! Every AWS request passes through here: counted by action (so tests and benchmarks can
//! see how many requests a page costs) and, when it fails, turned into a `PortError` that
//! names the IAM action, so an operator knows which permission or limit is at fault.

use aws_sdk_ssm::config::http::HttpResponse;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use countersign_domain::ports::PortError;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

/// Requests made so far, by IAM action (`sagemaker:Search`, `ssm:PutParameter`, ...).
pub type CallCounts = BTreeMap<&'static str, u64>;

#[derive(Default)]
pub(crate) struct CallCounter(Mutex<CallCounts>);

impl CallCounter {
    pub fn snapshot(&self) -> CallCounts {
        self.0.lock().expect("call counter").clone()
    }

    fn count(&self, action: &'static str) {
        *self
            .0
            .lock()
            .expect("call counter")
            .entry(action)
            .or_default() += 1;
    }
}

impl CallCounter {
    /// Sends one request, counted. The SDK has already retried throttling and transient
    /// failures by the time an error comes back.
    pub(crate) async fn call<T, E>(
        &self,
        action: &'static str,
        request: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    ) -> Result<T, Failure<E>>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.count(action);
        let started = std::time::Instant::now();
        let answer = request.await;
        tracing::debug!(
            action,
            took_ms = started.elapsed().as_millis() as u64,
            ok = answer.is_ok(),
            "AWS request"
        );
        answer.map_err(|error| Failure::new(action, error))
    }
}

/// A failed request, kept whole so that callers can recognise the errors they expect
/// (a missing parameter, an existing one) before the rest become `PortError`s.
pub(crate) struct Failure<E> {
    action: &'static str,
    pub service_error: Option<E>,
    code: Option<String>,
    /// The HTTP status, when a response arrived.
    status: Option<u16>,
    message: String,
}

impl<E: ProvideErrorMetadata + std::error::Error + 'static> Failure<E> {
    fn new(action: &'static str, error: SdkError<E, HttpResponse>) -> Self {
        let code = error.code().map(str::to_owned);
        let status = error.raw_response().map(|r| r.status().as_u16());
        let message = error
            .message()
            .map(str::to_owned)
            .unwrap_or_else(|| describe(&error));
        Self {
            action,
            service_error: match error {
                SdkError::ServiceError(service) => Some(service.into_err()),
                _ => None,
            },
            code,
            status,
            message,
        }
    }

    /// Whether the service answered with the error `expected` recognises (a missing
    /// parameter, a failed condition), which the caller handles instead of failing.
    pub fn is(&self, expected: impl FnOnce(&E) -> bool) -> bool {
        self.service_error.as_ref().is_some_and(expected)
    }

    /// The service's error code, for errors the SDK models no variant of.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// A validation error whose message says the thing asked for does not exist, which is
    /// how SageMaker answers a describe of an unknown group or version.
    pub fn is_not_found(&self) -> bool {
        let message = self.message.to_ascii_lowercase();
        self.code.as_deref() == Some("ValidationException")
            && (message.contains("does not exist") || message.contains("not found"))
    }

    pub fn into_port_error(self) -> PortError {
        let action = self.action;
        let message = self.message;
        match self.code.as_deref() {
            Some(
                "AccessDeniedException"
                | "AccessDenied"
                | "UnauthorizedOperation"
                | "NotAuthorized",
            ) => {
                // AWS's own text names the account, role and session: the log keeps it, the
                // error (which API callers see) names only the permission.
                tracing::error!(%action, aws_message = %message, "AWS denied the portal's role");
                PortError::Denied(format!(
                    "AWS denied {action}: the portal's IAM role needs permission {}",
                    permission_for(action)
                ))
            }
            Some(
                "UnrecognizedClientException"
                | "InvalidClientTokenId"
                | "ExpiredTokenException"
                | "InvalidSignatureException"
                | "SignatureDoesNotMatch",
            ) => {
                tracing::error!(%action, aws_message = %message, "AWS refused the portal's credentials");
                PortError::Denied(format!(
                    "AWS refused the portal's credentials for {action}; see the portal's log"
                ))
            }
            Some("ValidationException" | "ValidationError") => {
                PortError::Rejected(format!("AWS refused {action}: {message}"))
            }
            Some("ThrottlingException" | "Throttling" | "TooManyUpdates") => {
                PortError::Unavailable(format!(
                    "AWS throttled {action} and retries did not get through: {message}"
                ))
            }
            Some(code) => PortError::Unavailable(format!("AWS {action} failed: {code}: {message}")),
            // A refusal whose body could not be read (moto answers JSON services' auth
            // failures in XML): the status still says what happened.
            None if self.status == Some(403) => PortError::Denied(format!(
                "AWS denied {action} (HTTP 403): the portal's IAM role needs permission {}",
                permission_for(action)
            )),
            None if self.status.is_some() => {
                PortError::Unavailable(format!("AWS {action} failed: {message}"))
            }
            None => PortError::Unavailable(format!("cannot reach AWS for {action}: {message}")),
        }
    }
}

/// The IAM permission a request needs: its action's, but for DynamoDB's transactions, which
/// IAM authorises as the writes they hold.
fn permission_for(action: &str) -> &str {
    match action {
        "dynamodb:TransactWriteItems" => "dynamodb:PutItem and dynamodb:UpdateItem",
        _ => action,
    }
}

/// An SDK error without a service message (no connection, a timeout): its source chain,
/// which is where the SDK puts the reason.
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Turns a failed request into a `PortError`; for `?` where no error is expected.
pub(crate) fn port<E: ProvideErrorMetadata + std::error::Error + 'static>(
    failure: Failure<E>,
) -> PortError {
    failure.into_port_error()
}

#[cfg(test)]
mod tests;
