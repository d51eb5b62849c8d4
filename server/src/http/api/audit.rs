//! The audit trail for pipelines and auditors: a group's bundle, and the key to verify it.

use super::*;

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
    get, path = "/models/{group}/audit", tag = "audit",
    summary = "The group's tamper-evident audit trail: its entries, signed checkpoints and public key, to verify offline",
    params(("group" = String, Path, description = "model package group"), AuditPeriod),
    responses(
        (status = 200, description = "the bundle `countersign audit verify` checks", body = countersign_audit::Bundle),
        (status = 400, description = "invalid group name or period", body = ErrorBody),
        TokenRefusals,
        (status = 403, description = "the token lacks the resolve scope", body = ErrorBody),
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
    get, path = "/audit/public-key", tag = "audit",
    summary = "The key every audit checkpoint is signed with (public: no token)",
    responses((status = 200, description = "the verifier key", body = AuditPublicKey)),
)]
pub(crate) async fn audit_public_key(State(state): State<ApiState>) -> Json<AuditPublicKey> {
    Json(AuditPublicKey {
        public_key: state.audit.notary.public_key().to_owned(),
    })
}
