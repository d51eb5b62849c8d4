//! The pipeline HTTP API under `/api/v1`: JSON in and out. Every error is JSON with a
//! stable `code` and a human `message` (`error`); bad input is a 4xx, never a 500.

pub mod auth;
pub mod error;
pub mod events;
pub mod openapi;

pub use error::{ApiError, ErrorBody, ErrorCode};

use auth::{ApiAuth, ApiScope};
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use countersign_domain::service::Services;
use countersign_domain::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;

/// Limits what a pipeline may send; a registration is a few hundred bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub struct ApiState {
    pub services: Services,
    pub public_url: String,
    /// The EventBridge intake's key; `None` turns the intake off.
    pub events: Option<events::EventsConfig>,
    pub auth: std::sync::Arc<ApiAuth>,
    pub signature_checks: std::sync::Arc<crate::signature_checks::SignatureChecks>,
    pub audit: countersign_audit::desk::AuditDesk,
}

/// The API's routes, to be nested under `/api/v1`.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/models/{group}/versions", post(register))
        .route("/models/{group}/environments/{environment}", get(resolve))
        .route(
            "/models/{group}/versions/{version}/reports",
            post(submit_report).get(list_reports),
        )
        .route("/models/{group}/history", get(group_history))
        .route("/models/{group}/audit", get(audit_bundle))
        .route("/audit/public-key", get(audit_public_key))
        .route("/events/sagemaker", post(events::sagemaker_event))
        .route("/openapi.json", get(openapi::document))
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn unknown_route() -> ApiError {
    ApiError::new(
        ErrorCode::NoSuchRoute,
        "there is no API route at this path; see the README's section for pipelines",
    )
}

async fn wrong_method() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this API route does not accept that method",
    )
}

fn group_name(text: &str) -> Result<GroupName, ApiError> {
    GroupName::parse(text).map_err(|e| ApiError::new(ErrorCode::InvalidGroup, e.to_string()))
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("UTC timestamps format")
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonBody {
    subject: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "image_uri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn:7",
    "model_data_url": "s3://ml-artifacts/churn/v7/model.tar.gz",
    "description": "retrained on Q3",
    "metrics": {"auc": 0.91, "f1": 0.78},
    "metadata": {"training-data": "s3://ml-data/churn/2026-q3/", "commit": "4f2c9e1"},
    "registered_by": {"subject": "dana", "name": "Dana Scientist", "email": "dana@example.com"}
}))]
pub struct RegisterBody {
    image_uri: String,
    #[serde(default)]
    model_data_url: String,
    /// The image's digest (`sha256:` and 64 hex digits), when the pipeline knows it: the
    /// signature then binds the image itself, not only its tag.
    #[serde(default)]
    image_digest: Option<String>,
    /// The model data object's ETag, when known.
    #[serde(default)]
    model_data_etag: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    metrics: BTreeMap<String, f64>,
    /// The pipeline's own facts about the version (a data set, a commit), kept as SageMaker
    /// custom metadata and compared with the live version's on the review page: at most 16,
    /// keys and values in SageMaker's characters (letters, digits, spaces, `_ . : / = + - @`),
    /// keys up to 128 characters, values up to 256, none of Countersign's own keys (an
    /// environment's name, `owner`, `owner-name`, `owner-subject`, `countersign:…`, `metric:…`).
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    registered_by: PersonBody,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, utoipa::ToSchema)]
pub struct PersonJson {
    pub subject: String,
    pub name: String,
    pub email: String,
}

impl From<&Person> for PersonJson {
    fn from(p: &Person) -> Self {
        Self {
            subject: p.subject.clone(),
            name: p.name.clone(),
            email: p.email.clone(),
        }
    }
}

#[derive(Serialize, Deserialize, Debug, utoipa::ToSchema)]
pub struct VersionJson {
    pub model_package_group: String,
    pub model_package_version: u32,
    pub model_package_arn: String,
    pub approval_status: String,
    pub environments: BTreeMap<String, String>,
    pub image_uri: String,
    pub model_data_url: String,
    pub image_digest: Option<String>,
    pub model_data_etag: Option<String>,
    pub description: String,
    pub metrics: BTreeMap<String, f64>,
    pub metadata: BTreeMap<String, String>,
    pub registered_by: PersonJson,
    pub registered_at: String,
    pub review_url: String,
}

/// `POST /api/v1/models/{group}/versions`: what a training pipeline calls to register.
#[utoipa::path(
    post, path = "/api/v1/models/{group}/versions", tag = "registration",
    summary = "Register a model version; it waits for the first environment's approvers",
    params(("group" = String, Path, description = "model package group")),
    request_body = RegisterBody,
    responses(
        (status = 201, description = "registered", body = VersionJson),
        (status = 400, description = "malformed JSON or group name", body = ErrorBody),
        (status = 401, description = "no or invalid token", body = ErrorBody),
        (status = 503, description = "the store or the identity provider's keys cannot be reached; retry", body = ErrorBody),
        (status = 403, description = "the token lacks the register scope, or may not register for this registrant", body = ErrorBody),
        (status = 413, description = "body over 64 KiB", body = ErrorBody),
        (status = 415, description = "not application/json", body = ErrorBody),
        (status = 422, description = "a field is missing, unknown or invalid", body = ErrorBody),
    ),
    security(("bearer" = ["register"]))
)]
pub(crate) async fn register(
    State(state): State<ApiState>,
    headers: HeaderMap,
    group: Result<Path<String>, PathRejection>,
    body: Result<Json<RegisterBody>, JsonRejection>,
) -> Result<(StatusCode, Json<VersionJson>), ApiError> {
    let caller = state.auth.require(&headers, ApiScope::Register).await?;
    let Path(group) = group?;
    let group = group_name(&group)?;
    let Json(body) = body?;
    let registrant = Person {
        subject: body.registered_by.subject.trim().to_owned(),
        name: body.registered_by.name.trim().to_owned(),
        email: body.registered_by.email.trim().to_owned(),
    };
    if !state.auth.may_register_for(&caller, &registrant) {
        return Err(ApiError::new(ErrorCode::RegistrantNotAllowed,
            format!(
                "{} may register versions only for the people COUNTERSIGN_API_REGISTRANTS binds it to",
                caller.name
            ),
        ));
    }
    let registration = Registration::new(
        group,
        &body.image_uri,
        &body.model_data_url,
        &body.description,
        body.metrics,
        registrant,
    )?
    .with_digests(ArtifactDigests::new(
        body.image_digest.as_deref(),
        body.model_data_etag.as_deref(),
    )?)
    .with_metadata(body.metadata, state.services.policy().environments())?
    .through(&caller.name);
    let version = state.services.register(registration).await?;
    tracing::info!(group = %version.group, version = %version.version, caller = %caller.name, "version registered");
    Ok((
        StatusCode::CREATED,
        Json(version_json(&state.services, &state.public_url, &version)),
    ))
}

pub fn version_json(services: &Services, public_url: &str, version: &ModelVersion) -> VersionJson {
    VersionJson {
        model_package_group: version.group.to_string(),
        model_package_version: version.version.get(),
        model_package_arn: version.arn.clone(),
        approval_status: version.approval_status.as_str().into(),
        environments: version
            .steps
            .in_order(services.policy().environments())
            .map(|(env, s)| (env.to_string(), s.as_str().to_owned()))
            .collect(),
        image_uri: version.image_uri.clone(),
        model_data_url: version.model_data_url.clone(),
        image_digest: version.digests.image.clone(),
        model_data_etag: version.digests.model_data.clone(),
        description: version.description.clone(),
        metrics: version.metrics.clone(),
        metadata: version.metadata.clone(),
        registered_by: (&version.registered_by).into(),
        registered_at: rfc3339(version.registered_at),
        review_url: format!(
            "{public_url}{}",
            countersign_app::routes::version(version.group.as_str(), version.version)
        ),
    }
}

/// `GET /api/v1/models/{group}/environments/{environment}`: what an inference pipeline calls
/// to find its model.
#[utoipa::path(
    get, path = "/api/v1/models/{group}/environments/{environment}", tag = "inference",
    summary = "The model live in an environment (the SSM parameter's JSON)",
    params(
        ("group" = String, Path, description = "model package group"),
        ("environment" = String, Path, description = "dev, test, uat, prod, ..."),
    ),
    responses(
        (status = 200, description = "the live model", body = DeploymentDocument),
        (status = 400, description = "invalid group name", body = ErrorBody),
        (status = 401, description = "no or invalid token", body = ErrorBody),
        (status = 503, description = "the store or the identity provider's keys cannot be reached; retry", body = ErrorBody),
        (status = 403, description = "the token lacks the resolve scope", body = ErrorBody),
        (status = 404, description = "no such environment, or nothing approved there", body = ErrorBody),
        (status = 409, description = "signature_mismatch: the version live there changed in the registry after it was signed; it is not resolved until a version is signed there again", body = ErrorBody),
    ),
    security(("bearer" = ["resolve"]))
)]
pub(crate) async fn resolve(
    State(state): State<ApiState>,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<DeploymentDocument>, ApiError> {
    state.auth.require(&headers, ApiScope::Resolve).await?;
    let Path((group, environment)) = path?;
    let group = group_name(&group)?;
    let environment = state.services.environment(&environment)?;
    let deployment = state.services.resolve(&group, &environment).await?;
    if !state
        .signature_checks
        .still_signed(&state.services, &deployment)
        .await?
    {
        tracing::error!(group = %group, environment = %environment, version = %deployment.version,
            "the version live here changed in the registry after it was signed; not resolved");
        return Err(ApiError::new(
            ErrorCode::SignatureMismatch,
            format!(
                "version {} of {group} changed in the registry (image, model data or metrics) after it was signed for {environment}, so it is not resolved: sign a version for {environment} again",
                deployment.version
            ),
        ));
    }
    Ok(Json((&deployment).into()))
}

fn version_number(text: &str) -> Result<VersionNumber, ApiError> {
    VersionNumber::parse(text).map_err(|e| ApiError::new(ErrorCode::InvalidVersion, e.to_string()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "environment": "dev",
    "run_id": "nightly-2026-11-26",
    "metrics": {"auc": 0.93, "p95_latency_ms": 41},
    "started_at": "2026-11-26T02:00:00Z",
    "finished_at": "2026-11-26T02:20:00Z",
    "sample_count": 250000,
    "artifacts_url": "s3://ml-runs/churn/nightly-2026-11-26/"
}))]
pub struct ReportBody {
    environment: String,
    run_id: String,
    metrics: BTreeMap<String, f64>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    started_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    finished_at: time::OffsetDateTime,
    sample_count: u64,
    #[serde(default)]
    artifacts_url: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, utoipa::ToSchema)]
pub struct ReportReceiptJson {
    pub report: ReportDocument,
    /// The environment whose approvers this report asked to promote the version, if any.
    pub promotion_requested: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, utoipa::ToSchema)]
pub struct ReportsJson {
    pub reports: Vec<ReportDocument>,
}

/// `POST /api/v1/models/{group}/versions/{version}/reports`: what an inference pipeline
/// calls after a batch run. 201 for a new run, 200 for a run reported before.
#[utoipa::path(
    post, path = "/api/v1/models/{group}/versions/{version}/reports", tag = "inference",
    summary = "Report a batch inference run; asks the next environment's approvers to promote",
    params(
        ("group" = String, Path, description = "model package group"),
        ("version" = u32, Path, description = "model package version"),
    ),
    request_body = ReportBody,
    responses(
        (status = 201, description = "stored", body = ReportReceiptJson),
        (status = 200, description = "this run was reported before with the same figures", body = ReportReceiptJson),
        (status = 400, description = "malformed JSON, group or version", body = ErrorBody),
        (status = 401, description = "no or invalid token", body = ErrorBody),
        (status = 503, description = "the store or the identity provider's keys cannot be reached; retry", body = ErrorBody),
        (status = 403, description = "the token lacks the report scope", body = ErrorBody),
        (status = 404, description = "no such version or environment", body = ErrorBody),
        (status = 409, description = "not_approved_there, or run_id_taken", body = ErrorBody),
        (status = 413, description = "body over 64 KiB", body = ErrorBody),
        (status = 422, description = "a field is missing, unknown or invalid", body = ErrorBody),
    ),
    security(("bearer" = ["report"]))
)]
pub(crate) async fn submit_report(
    State(state): State<ApiState>,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Json<ReportBody>, JsonRejection>,
) -> Result<(StatusCode, Json<ReportReceiptJson>), ApiError> {
    let caller = state.auth.require(&headers, ApiScope::Report).await?;
    let Path((group, version)) = path?;
    let group = group_name(&group)?;
    let version = version_number(&version)?;
    let Json(body) = body?;
    let services = &state.services;
    let report = ReportDraft {
        group,
        version,
        environment: services.environment(&body.environment)?,
        run_id: RunId::parse(&body.run_id)?,
        metrics: body.metrics,
        started_at: body.started_at,
        finished_at: body.finished_at,
        sample_count: body.sample_count,
        artifacts_url: body.artifacts_url.as_deref(),
        reported_by: &caller.name,
        reported_at: services.now(),
    }
    .validate()?;
    let receipt = services.submit_report(report).await?;
    tracing::info!(
        group = %receipt.report.group,
        version = %receipt.report.version,
        environment = %receipt.report.environment,
        run = %receipt.report.run_id,
        created = receipt.created,
        "inference report"
    );
    let status = if receipt.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(ReportReceiptJson {
            report: (&receipt.report).into(),
            promotion_requested: receipt.promotion_requested.map(|e| e.to_string()),
        }),
    ))
}

/// `GET /api/v1/models/{group}/versions/{version}/reports`: every report of a version, in
/// the order they arrived.
#[utoipa::path(
    get, path = "/api/v1/models/{group}/versions/{version}/reports", tag = "inference",
    summary = "A version's inference reports, in the order they arrived",
    params(
        ("group" = String, Path, description = "model package group"),
        ("version" = u32, Path, description = "model package version"),
    ),
    responses(
        (status = 200, description = "the reports", body = ReportsJson),
        (status = 400, description = "invalid group or version", body = ErrorBody),
        (status = 401, description = "no or invalid token", body = ErrorBody),
        (status = 503, description = "the store or the identity provider's keys cannot be reached; retry", body = ErrorBody),
        (status = 403, description = "the token lacks the resolve scope", body = ErrorBody),
        (status = 404, description = "no such version", body = ErrorBody),
    ),
    security(("bearer" = ["resolve"]))
)]
pub(crate) async fn list_reports(
    State(state): State<ApiState>,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<ReportsJson>, ApiError> {
    state.auth.require(&headers, ApiScope::Resolve).await?;
    let Path((group, version)) = path?;
    let group = group_name(&group)?;
    let version = version_number(&version)?;
    let services = &state.services;
    services.find_version(&group, version).await?;
    let reports = services.reports_for_version(&group, version).await?;
    Ok(Json(ReportsJson {
        reports: reports.iter().map(ReportDocument::from).collect(),
    }))
}

/// `GET /api/v1/models/{group}/history`: what was live in each environment and when, and
/// every decision; the same document as the portal's JSON export.
#[utoipa::path(
    get, path = "/api/v1/models/{group}/history", tag = "audit",
    summary = "What was live where and when, and every decision with who, when and why",
    params(("group" = String, Path, description = "model package group")),
    responses(
        (status = 200, description = "the group's history", body = crate::http::export::HistoryJson),
        (status = 400, description = "invalid group name", body = ErrorBody),
        (status = 401, description = "no or invalid token", body = ErrorBody),
        (status = 503, description = "the store or the identity provider's keys cannot be reached; retry", body = ErrorBody),
        (status = 403, description = "the token lacks the resolve scope", body = ErrorBody),
    ),
    security(("bearer" = ["resolve"]))
)]
pub(crate) async fn group_history(
    State(state): State<ApiState>,
    headers: HeaderMap,
    group: Result<Path<String>, PathRejection>,
) -> Result<Json<crate::http::export::HistoryJson>, ApiError> {
    state.auth.require(&headers, ApiScope::Resolve).await?;
    let Path(group) = group?;
    let group = group_name(&group)?;
    let history = state.services.group_history(&group).await?;
    Ok(Json(crate::http::export::HistoryJson::new(
        &history,
        state.services.now(),
    )))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditPeriod {
    /// Entries from this moment on: a date (2026-07-01) or an RFC 3339 time.
    from: Option<String>,
    /// Entries until this moment: a date (through its end) or an RFC 3339 time.
    to: Option<String>,
}

/// `GET /api/v1/models/{group}/audit`: the group's audit trail as a bundle
/// (`countersign audit verify` checks it offline).
#[utoipa::path(
    get, path = "/api/v1/models/{group}/audit", tag = "audit",
    summary = "The group's tamper-evident audit trail: its entries, signed checkpoints and public key, to verify offline",
    params(("group" = String, Path, description = "model package group"), AuditPeriod),
    responses(
        (status = 200, description = "the bundle `countersign audit verify` checks", body = countersign_audit::Bundle),
        (status = 400, description = "invalid group name or period", body = ErrorBody),
        (status = 401, description = "no or invalid token", body = ErrorBody),
        (status = 403, description = "the token lacks the resolve scope", body = ErrorBody),
        (status = 503, description = "the store or the identity provider's keys cannot be reached; retry", body = ErrorBody),
    ),
    security(("bearer" = ["resolve"]))
)]
pub(crate) async fn audit_bundle(
    State(state): State<ApiState>,
    headers: HeaderMap,
    group: Result<Path<String>, PathRejection>,
    period: Result<axum::extract::Query<AuditPeriod>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<countersign_audit::Bundle>, ApiError> {
    state.auth.require(&headers, ApiScope::Resolve).await?;
    let Path(group) = group?;
    let group = group_name(&group)?;
    let axum::extract::Query(period) =
        period.map_err(|e| ApiError::new(ErrorCode::BadRequest, e.body_text()))?;
    let period =
        countersign_audit::desk::Period::parse(period.from.as_deref(), period.to.as_deref())
            .map_err(|e| ApiError::new(ErrorCode::BadRequest, e))?;
    let bundle = (state.audit.bundle(&group, period).await)
        .map_err(countersign_domain::service::ServiceError::from)?;
    Ok(Json(bundle))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditPublicKey {
    /// The C2SP signed-note verifier key (`<name>+<id>+<base64 Ed25519 key>`) every
    /// checkpoint of every group's audit trail is signed with.
    public_key: String,
}

/// `GET /api/v1/audit/public-key`: public, so that anyone can keep it apart from the
/// bundles they are later given.
#[utoipa::path(
    get, path = "/api/v1/audit/public-key", tag = "audit",
    summary = "The key every audit checkpoint is signed with (public: no token)",
    responses((status = 200, description = "the verifier key", body = AuditPublicKey)),
)]
pub(crate) async fn audit_public_key(State(state): State<ApiState>) -> Json<AuditPublicKey> {
    Json(AuditPublicKey {
        public_key: state.audit.notary.public_key().to_owned(),
    })
}
