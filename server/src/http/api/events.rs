//! `POST /api/v1/events/sagemaker`: SageMaker's "Model Package State Change" events, as an
//! EventBridge API destination delivers them.
//!
//! The event only says which version to look at: the version is read again from the
//! registry, and its approval request queued if it needs one (the request's key makes a
//! repeated event harmless). EventBridge waits at most 5 seconds for an answer, so after 3
//! the handler answers `202` and lets the work finish in the background; if the process
//! dies meanwhile, the reconciliation scan finds the version later.

use super::error::{ApiError, ErrorCode};
use super::ApiState;
use crate::settings::{given, SettingError};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use countersign_domain::*;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::Duration;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// The EventBridge intake: the key API destinations send, and the header it comes in.
#[derive(Clone, Debug)]
pub struct EventsConfig {
    pub api_key: SecretString,
    pub header: String,
}

impl EventsConfig {
    /// From the key and header as written: `None` (the intake off) without a key.
    pub fn new(api_key: Option<&str>, header: &str) -> Result<Option<Self>, SettingError> {
        let Some(key) = given(api_key) else {
            return Ok(None);
        };
        if key.len() < 16 {
            return Err(SettingError::new(
                "events_api_key",
                "is shorter than 16 characters; use a long random value (openssl rand -hex 32)",
            ));
        }
        let header = header.trim().to_ascii_lowercase();
        if http::HeaderName::from_bytes(header.as_bytes()).is_err() {
            return Err(SettingError::new(
                "events_api_key_header",
                format!("is {header:?}, which is not a header name"),
            ));
        }
        Ok(Some(Self {
            api_key: SecretString::from(key.to_owned()),
            header,
        }))
    }
}

pub const SOURCE: &str = "aws.sagemaker";
pub const DETAIL_TYPE: &str = "SageMaker Model Package State Change";

/// What the handler uses from an event.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPackageEvent {
    pub group: GroupName,
    pub version: VersionNumber,
    pub approval_status: Option<String>,
    pub created_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EventError {
    #[error("the body is not an EventBridge event: {0}")]
    Malformed(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Invalid(String),
}

/// Reads an EventBridge envelope; any input gives a value or a reason, never a panic.
pub fn parse_event(body: &[u8]) -> Result<ModelPackageEvent, EventError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| EventError::Malformed(e.to_string()))?;
    let event = value
        .as_object()
        .ok_or_else(|| EventError::Malformed("expected a JSON object".into()))?;
    let text = |name: &str| event.get(name).and_then(Value::as_str);
    if text("source") != Some(SOURCE) {
        return Err(EventError::Unsupported(format!(
            "source is {:?}; only {SOURCE} events are accepted",
            event.get("source").unwrap_or(&Value::Null)
        )));
    }
    if text("detail-type") != Some(DETAIL_TYPE) {
        return Err(EventError::Unsupported(format!(
            "detail-type is {:?}; only {DETAIL_TYPE:?} is accepted",
            event.get("detail-type").unwrap_or(&Value::Null)
        )));
    }
    let detail = event
        .get("detail")
        .and_then(Value::as_object)
        .ok_or_else(|| EventError::Invalid("the event has no detail object".into()))?;
    let group = match detail.get("ModelPackageGroupName") {
        Some(Value::String(name)) => GroupName::parse(name)
            .map_err(|e| EventError::Invalid(format!("detail.ModelPackageGroupName: {e}")))?,
        _ => {
            return Err(EventError::Unsupported(
                "detail.ModelPackageGroupName is missing: only versioned model packages (in a group) are reviewed".into(),
            ))
        }
    };
    let version = detail
        .get("ModelPackageVersion")
        .and_then(|v| match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        })
        .and_then(|n| u32::try_from(n).ok())
        .and_then(|n| VersionNumber::new(n).ok())
        .ok_or_else(|| {
            EventError::Invalid("detail.ModelPackageVersion must be a whole number from 1".into())
        })?;
    let created_at = match detail.get("CreationTime") {
        None | Some(Value::Null) => None,
        Some(Value::Number(ms)) => Some(
            ms.as_i64()
                .and_then(|ms| {
                    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
                })
                .ok_or_else(|| EventError::Invalid("detail.CreationTime is out of range".into()))?,
        ),
        Some(Value::String(iso)) => Some(
            OffsetDateTime::parse(iso, &time::format_description::well_known::Rfc3339)
                .map_err(|e| EventError::Invalid(format!("detail.CreationTime {iso:?}: {e}")))?,
        ),
        Some(_) => {
            return Err(EventError::Invalid(
                "detail.CreationTime must be an ISO 8601 time or epoch milliseconds".into(),
            ))
        }
    };
    Ok(ModelPackageEvent {
        group,
        version,
        approval_status: detail
            .get("ModelApprovalStatus")
            .and_then(Value::as_str)
            .map(str::to_owned),
        created_at,
    })
}

/// Compares digests, so neither the key's bytes nor its length shape the timing.
fn key_matches(headers: &HeaderMap, events: &EventsConfig) -> bool {
    let Some(given) = headers.get(events.header.as_str()) else {
        return false;
    };
    let digest = |bytes: &[u8]| Sha256::digest(bytes);
    digest(given.as_bytes())
        .ct_eq(&digest(events.api_key.expose_secret().as_bytes()))
        .into()
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EventAnswer {
    /// `processed`, or `accepted` when the work goes on after answering.
    status: &'static str,
    /// Whether the version waits for approval (its request is queued, once).
    #[serde(skip_serializing_if = "Option::is_none")]
    approval_requested: Option<bool>,
}

const ANSWER_WITHIN: Duration = Duration::from_secs(3);

/// An EventBridge event, as its API destination posts it.
#[derive(utoipa::ToSchema)]
#[schema(example = json!({
    "version": "0", "id": "5ef5e8a1-0000-4000-8000-000000000000",
    "detail-type": "SageMaker Model Package State Change", "source": "aws.sagemaker",
    "account": "123456789012", "time": "2026-11-26T10:00:00Z", "region": "eu-west-1",
    "resources": [],
    "detail": {"ModelPackageGroupName": "churn", "ModelPackageVersion": 1,
               "ModelApprovalStatus": "PendingManualApproval"}
}))]
#[allow(dead_code)] // Only its schema is used: the body is parsed by `parse_event`.
pub(crate) struct SageMakerEvent {
    #[schema(rename = "detail-type")]
    detail_type: String,
    source: String,
    detail: serde_json::Value,
}

#[utoipa::path(
    post, path = "/events/sagemaker", tag = "events",
    summary = "EventBridge's SageMaker Model Package State Change events",
    request_body = SageMakerEvent,
    responses(
        (status = 202, description = "taken in", body = EventAnswer),
        (status = 400, description = "not JSON", body = crate::http::api::ErrorBody),
        (status = 401, description = "missing or wrong API key", body = crate::http::api::ErrorBody),
        (status = 404, description = "the intake is off (no key configured)", body = crate::http::api::ErrorBody),
        (status = 422, description = "another kind of event, or a bad field", body = crate::http::api::ErrorBody),
    ),
    security(("events_api_key" = []))
)]
pub async fn sagemaker_event(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<EventAnswer>), ApiError> {
    let Some(events) = &state.events else {
        return Err(ApiError::new(
            ErrorCode::EventsOff,
            "the event intake is off: set COUNTERSIGN_EVENTS_API_KEY to turn it on",
        ));
    };
    if !key_matches(&headers, events) {
        return Err(ApiError::new(
            ErrorCode::Unauthorized,
            format!("missing or wrong API key in the {} header", events.header),
        ));
    }
    let event = parse_event(&body).map_err(|e| match e {
        EventError::Malformed(m) => ApiError::new(ErrorCode::MalformedEvent, m),
        EventError::Unsupported(m) => ApiError::new(ErrorCode::UnsupportedEvent, m),
        EventError::Invalid(m) => ApiError::new(ErrorCode::InvalidEvent, m),
    })?;
    tracing::info!(group = %event.group, version = %event.version, status = ?event.approval_status, "SageMaker event");
    let services = state.services.clone();
    let work =
        tokio::spawn(async move { services.version_changed(&event.group, event.version).await });
    match tokio::time::timeout(ANSWER_WITHIN, work).await {
        Ok(Ok(Ok(requested))) => Ok((
            StatusCode::ACCEPTED,
            Json(EventAnswer {
                status: "processed",
                approval_requested: Some(requested),
            }),
        )),
        Ok(Ok(Err(e))) => Err(e.into()),
        Ok(Err(panicked)) => {
            tracing::error!(error = %panicked, "event handling failed");
            Err(ApiError::new(
                ErrorCode::Internal,
                "the event could not be handled; EventBridge will retry it",
            ))
        }
        Err(_) => Ok((
            StatusCode::ACCEPTED,
            Json(EventAnswer {
                status: "accepted",
                approval_requested: None,
            }),
        )),
    }
}

#[cfg(test)]
mod tests;
