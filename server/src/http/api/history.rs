//! `GET /models/{group}/history`: what was live where, and every decision.

use super::*;

/// `GET /api/v1/models/{group}/history`: what was live in each environment and when, and
/// every decision; the same document as the portal's JSON export.
#[utoipa::path(
    get, path = "/models/{group}/history", tag = "audit",
    summary = "What was live where and when, and every decision with who, when and why",
    params(("group" = String, Path, description = "model package group")),
    responses(
        (status = 200, description = "the group's history", body = crate::http::export::HistoryJson),
        (status = 400, description = "invalid group name", body = ErrorBody),
        TokenRefusals,
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
    let history =
        crate::http::export::HistoryJson::read(&state.services, &state.audit, &group).await?;
    Ok(Json(history))
}
