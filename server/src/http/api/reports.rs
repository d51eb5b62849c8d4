//! `/models/{group}/versions/{version}/reports`: a pipeline reports a batch run, and
//! anyone with the token reads a version's runs.

use super::*;

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
    post, path = "/models/{group}/versions/{version}/reports", tag = "inference",
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
        TokenRefusals,
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
    get, path = "/models/{group}/versions/{version}/reports", tag = "inference",
    summary = "A version's inference reports, in the order they arrived",
    params(
        ("group" = String, Path, description = "model package group"),
        ("version" = u32, Path, description = "model package version"),
    ),
    responses(
        (status = 200, description = "the reports", body = ReportsJson),
        (status = 400, description = "invalid group or version", body = ErrorBody),
        TokenRefusals,
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
