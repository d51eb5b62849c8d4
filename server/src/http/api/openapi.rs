//! The API's OpenAPI description, generated from the handlers' annotations (utoipa) and
//! served at `/api/v1/openapi.json`. `server/tests/openapi.rs` calls every operation it
//! lists and checks the answer against it.

use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Countersign API",
        description = "Register model versions, resolve the model approved for an environment, report inference runs, read the audit history. Bearer tokens carry a scope per operation: register, report or resolve."
    ),
    paths(
        super::register,
        super::resolve,
        super::submit_report,
        super::list_reports,
        super::group_history,
        super::audit_bundle,
        super::audit_public_key,
        super::events::sagemaker_event,
    ),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An OAuth access token (JWT) from the identity provider, or a static token; scopes: register, report, resolve",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "events_api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))),
        );
    }
}

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
