//! The API's OpenAPI description, generated from the handlers' annotations (utoipa) and
//! served at `/api/v1/openapi.json`. `server/tests/it/openapi.rs` calls every operation it
//! lists and checks the answer against it.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Countersign API",
        description = "Register model versions, resolve the model approved for an environment, report inference runs, read the audit history. Bearer tokens carry a scope per operation: register, report or resolve."
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

/// The document served at `GET /api/v1/openapi.json`: the API's description and security
/// schemes, with `operations` (as the router declared them) under [`super::BASE`].
pub fn document(operations: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    ApiDoc::openapi().nest(super::BASE, operations)
}
