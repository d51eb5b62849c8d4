//! `POST /models/{group}/versions`: a training pipeline registers a version.

use super::*;

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
    post, path = "/models/{group}/versions", tag = "registration",
    summary = "Register a model version; it waits for the first environment's approvers",
    params(("group" = String, Path, description = "model package group")),
    request_body = RegisterBody,
    responses(
        (status = 201, description = "registered", body = VersionJson),
        (status = 400, description = "malformed JSON or group name", body = ErrorBody),
        TokenRefusals,
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
    let claim = state.auth.registrant_claim(&caller, &registrant);
    if claim == RegistrantClaim::Refused {
        return Err(ApiError::new(ErrorCode::RegistrantNotAllowed,
            format!(
                "{} may register versions only for the people COUNTERSIGN_API_REGISTRANTS binds it to (caller=person+person; none when it is not named there)",
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
    let registration = match claim {
        RegistrantClaim::Verified => registration.with_registrant_verified(),
        _ => registration,
    };
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
