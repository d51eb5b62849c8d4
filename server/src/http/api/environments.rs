//! `GET /models/{group}/environments/{environment}`: an inference pipeline finds its model.

use super::*;

/// `GET /api/v1/models/{group}/environments/{environment}`: what an inference pipeline calls
/// to find its model.
#[utoipa::path(
    get, path = "/models/{group}/environments/{environment}", tag = "inference",
    summary = "The model live in an environment (the SSM parameter's JSON)",
    params(
        ("group" = String, Path, description = "model package group"),
        ("environment" = String, Path, description = "dev, test, uat, prod, ..."),
    ),
    responses(
        (status = 200, description = "the live model", body = DeploymentDocument),
        (status = 400, description = "invalid group name", body = ErrorBody),
        TokenRefusals,
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
