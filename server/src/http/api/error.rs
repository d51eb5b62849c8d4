//! The API's errors: every failure has a stable `code` a pipeline can branch on, the status
//! that goes with it, and a message for people. `ErrorCode` is the one list of codes; the
//! README's error table is checked against it.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use countersign_domain::ports::PortError;
use countersign_domain::report::ReportRefusal;
use countersign_domain::service::ServiceError;
use countersign_domain::InvalidInput;
use serde::Serialize;

macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:ident;)*) => {
        /// Every code the API answers with, and its status.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            pub fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$variant => StatusCode::$status,)*
                }
            }
        }
    };
}

error_codes! {
    MalformedJson = "malformed_json", BAD_REQUEST;
    UnsupportedMediaType = "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE;
    InvalidInput = "invalid_input", UNPROCESSABLE_ENTITY;
    BadRequest = "bad_request", BAD_REQUEST;
    BadPath = "bad_path", BAD_REQUEST;
    InvalidGroup = "invalid_group", BAD_REQUEST;
    InvalidVersion = "invalid_version", BAD_REQUEST;
    NotFound = "not_found", NOT_FOUND;
    Refused = "refused", CONFLICT;
    Conflict = "conflict", CONFLICT;
    NotApprovedThere = "not_approved_there", CONFLICT;
    RunIdTaken = "run_id_taken", CONFLICT;
    SignatureMismatch = "signature_mismatch", CONFLICT;
    Drift = "drift", CONFLICT;
    Unauthenticated = "unauthenticated", UNAUTHORIZED;
    InvalidToken = "invalid_token", UNAUTHORIZED;
    InsufficientScope = "insufficient_scope", FORBIDDEN;
    RegistrantNotAllowed = "registrant_not_allowed", FORBIDDEN;
    TokenKeysUnavailable = "token_keys_unavailable", SERVICE_UNAVAILABLE;
    Unauthorized = "unauthorized", UNAUTHORIZED;
    EventsOff = "events_off", NOT_FOUND;
    MalformedEvent = "malformed_event", BAD_REQUEST;
    UnsupportedEvent = "unsupported_event", UNPROCESSABLE_ENTITY;
    InvalidEvent = "invalid_event", UNPROCESSABLE_ENTITY;
    NoSuchRoute = "no_such_route", NOT_FOUND;
    MethodNotAllowed = "method_not_allowed", METHOD_NOT_ALLOWED;
    RateLimited = "rate_limited", TOO_MANY_REQUESTS;
    Unavailable = "unavailable", SERVICE_UNAVAILABLE;
    BackendDenied = "backend_denied", BAD_GATEWAY;
    Internal = "internal", INTERNAL_SERVER_ERROR;
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    /// The `WWW-Authenticate` challenge of a 401 or 403.
    challenge: Option<String>,
}

/// Every error: a stable code to branch on and a message for people.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody<'a> {
    pub(crate) code: &'a str,
    pub(crate) message: &'a str,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: code.status(),
            code,
            message: message.into(),
            challenge: None,
        }
    }

    pub(crate) fn with_challenge(self, challenge: String) -> Self {
        Self {
            challenge: Some(challenge),
            ..self
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.as_str(),
            message: &self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(challenge) = self.challenge.and_then(|c| c.parse().ok()) {
            response
                .headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::NotFound(m) => ApiError::new(ErrorCode::NotFound, m),
            ServiceError::Invalid(e) => e.into(),
            ServiceError::Refused(r) => ApiError::new(ErrorCode::Refused, r.to_string()),
            // The API sends no notifications; kept whole so a new use case cannot slip by.
            ServiceError::NotificationRefused(r) => {
                ApiError::new(ErrorCode::Refused, r.to_string())
            }
            ServiceError::ReportRefused(r) => {
                let code = match r {
                    ReportRefusal::NotApprovedThere { .. } => ErrorCode::NotApprovedThere,
                    ReportRefusal::RunIdTaken { .. } => ErrorCode::RunIdTaken,
                };
                ApiError::new(code, r.to_string())
            }
            ServiceError::Port(PortError::Conflict) => {
                ApiError::new(ErrorCode::Conflict, PortError::Conflict.to_string())
            }
            ServiceError::Port(PortError::Rejected(m)) => ApiError::new(ErrorCode::InvalidInput, m),
            // The drift alarm: a live value pipelines read that the portal did not write.
            ServiceError::Drift(drift) => {
                tracing::error!(
                    alarm = "drift",
                    environment = %drift.environment(),
                    drift = ?drift.explain(),
                    "ALARM: what is live is not what the portal signed and deployed; not served"
                );
                ApiError::new(
                    ErrorCode::Drift,
                    format!(
                        "{} Nothing is served until an operator restores it or a new version is signed for it.",
                        drift.explain()
                    ),
                )
            }
            // The pipeline's operator is usually the one who can fix the portal's role, so
            // the missing permission is named rather than hidden behind "unavailable".
            ServiceError::Port(PortError::Denied(m)) => {
                tracing::error!(error = %m, "the backend refused the portal's credentials");
                ApiError::new(ErrorCode::BackendDenied, m)
            }
            ServiceError::Port(e) => {
                tracing::error!(error = %e, "store failure in the pipeline API");
                ApiError::new(
                    ErrorCode::Unavailable,
                    "the store is unavailable; retry later",
                )
            }
        }
    }
}

impl From<InvalidInput> for ApiError {
    fn from(error: InvalidInput) -> Self {
        ApiError::new(ErrorCode::InvalidInput, error.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let code = match rejection {
            JsonRejection::MissingJsonContentType(_) => ErrorCode::UnsupportedMediaType,
            JsonRejection::JsonSyntaxError(_) => ErrorCode::MalformedJson,
            JsonRejection::JsonDataError(_) => ErrorCode::InvalidInput,
            _ => ErrorCode::BadRequest,
        };
        // A body over the limit keeps its 413 under the general code.
        ApiError {
            status: rejection.status(),
            ..ApiError::new(code, rejection.body_text())
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::new(ErrorCode::BadPath, rejection.body_text())
    }
}

/// What every operation behind a bearer token may answer besides its own: no valid token,
/// or what it needs to check one (or to answer) cannot be reached. Named in an operation's
/// `responses(...)`; it describes answers, it is never one.
pub(super) struct TokenRefusals;

impl utoipa::IntoResponses for TokenRefusals {
    fn responses() -> std::collections::BTreeMap<
        String,
        utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
    > {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let refusal = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
                .into()
        };
        [
            ("401", refusal("no or invalid token")),
            (
                "503",
                refusal("the store or the identity provider's keys cannot be reached; retry"),
            ),
        ]
        .into_iter()
        .map(|(status, response)| (status.to_owned(), response))
        .collect()
    }
}

#[cfg(test)]
mod tests;
