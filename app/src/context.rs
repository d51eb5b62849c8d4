//! What every server function needs, on the server only: who is asking
//! ([`Authenticator`], [`actor`]), the services ([`Portal`]), the answer's status
//! ([`with_status`]), and [`serve`], which strings them together.

use crate::wire::*;
use countersign_domain::ports::PortError;
use countersign_domain::service::{self, NotificationRefusal, ServiceError, Services};
use countersign_domain::signature::{Authentication, IdentityEvidence, PendingSignature};
use countersign_domain::*;
use leptos::prelude::*;
use std::future::Future;
use std::sync::Arc;

/// Who is asking. The server supplies the implementation (the session cookie, made by
/// OpenID Connect or the development sign-in); pages and server functions only see
/// [`Actor`]s.
pub trait Authenticator: Send + Sync {
    fn actor(&self, headers: &http::HeaderMap) -> Option<Actor>;
    /// How the signed-in person last authenticated, as their sign-in said.
    fn authentication(&self, headers: &http::HeaderMap) -> Option<Authentication>;
    /// The identity provider's evidence of the sign-in the session rests on: none with the
    /// development sign-in, nor for a session the portal did not start from a provider's
    /// answer.
    fn identity_evidence<'a>(
        &'a self,
        headers: &'a http::HeaderMap,
    ) -> futures::future::BoxFuture<'a, Option<IdentityEvidence>>;
    fn sign_in_method(&self) -> SignInMethod;
    /// A `Set-Cookie` value keeping `pending` for the signing ceremony, encrypted and
    /// short-lived (it never travels in a URL).
    fn keep_pending_signature(&self, pending: &PendingSignature) -> http::HeaderValue;
    /// The pending signature this browser keeps, if any and still valid.
    fn pending_signature(&self, headers: &http::HeaderMap) -> Option<PendingSignature>;
    /// A `Set-Cookie` value that forgets the pending signature.
    fn drop_pending_signature(&self) -> http::HeaderValue;
}

/// Everything server functions need, provided as Leptos context by the server.
#[derive(Clone)]
pub struct Portal {
    pub services: Services,
    pub authenticator: Arc<dyn Authenticator>,
    pub notifications: NotificationDesk,
    /// Exports and checks the groups' audit trails.
    pub audit: countersign_audit::desk::AuditDesk,
}

/// The outbox as the notifications page sees it.
#[derive(Clone)]
pub struct NotificationDesk {
    pub notifications: countersign_domain::service::Notifications,
    /// Tells the delivery worker a message is due.
    pub wake: Arc<dyn Fn() + Send + Sync>,
    /// No SMTP server: messages are read here.
    pub outbox_only: bool,
}

pub fn portal() -> Result<Portal, AppError> {
    use_context::<Portal>().ok_or_else(|| {
        tracing::error!("server function called without the Portal context");
        AppError::Unavailable
    })
}

/// The headers of the request being served.
pub async fn request_headers() -> Result<http::HeaderMap, AppError> {
    leptos_axum::extract()
        .await
        .map_err(|e| AppError::Transport(e.to_string()))
}

pub async fn optional_actor(portal: &Portal) -> Result<Option<Actor>, AppError> {
    Ok(portal.authenticator.actor(&request_headers().await?))
}

/// The signed-in person, if they may see the portal at all.
pub async fn actor(portal: &Portal) -> Result<Actor, AppError> {
    let actor = optional_actor(portal)
        .await?
        .ok_or(AppError::SignInRequired)?;
    if !portal.services.policy().may_view(&actor) {
        refused_access(portal, &actor).await;
        return Err(AppError::Forbidden(format!(
            "You are signed in as {} <{}>, but not as a member of a group allowed to use Countersign. Ask your administrator for access.",
            actor.person.name, actor.person.email
        )));
    }
    Ok(actor)
}

/// Keeps, once a minute per person and address, that `actor` was refused the portal.
async fn refused_access(portal: &Portal, actor: &Actor) {
    let what = leptos_axum::extract::<http::Uri>()
        .await
        .map(|uri| uri.path().to_owned())
        .unwrap_or_default();
    if let Err(error) = portal
        .services
        .note_access_refused(&actor.person, &what)
        .await
    {
        tracing::error!(%error, "a refusal was not kept in the portal's own trail");
    }
}

/// Logs a signature made, wherever the ceremony ended (the confirmation step, or the way
/// back from signing in again).
pub fn note_signature(signed: &service::Signed) {
    let record = &signed.record;
    tracing::info!(
        group = %record.group, version = %record.version, environment = %record.environment,
        verdict = record.verdict.as_str(), subject = %record.decided_by.subject,
        digest = ?record.signature.as_ref().map(|s| &s.record_digest),
        "signed"
    );
}

pub fn group_name(name: &str) -> Result<GroupName, AppError> {
    GroupName::parse(name).map_err(|e| AppError::NotFound(e.to_string()))
}

pub fn version_number(number: u32) -> Result<VersionNumber, AppError> {
    VersionNumber::new(number).map_err(|e| AppError::NotFound(e.to_string()))
}

impl From<ServiceError> for AppError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::NotFound(message) => AppError::NotFound(message),
            ServiceError::Invalid(e) => AppError::Invalid(e.to_string()),
            ServiceError::Refused(refusal) => AppError::Refused(refusal.to_string()),
            ServiceError::ReportRefused(refusal) => AppError::Refused(refusal.to_string()),
            ServiceError::NotificationRefused(refusal @ NotificationRefusal::NotNow(_)) => {
                AppError::Conflict(refusal.to_string())
            }
            ServiceError::NotificationRefused(refusal) => AppError::Forbidden(refusal.to_string()),
            ServiceError::Port(PortError::Conflict) => {
                AppError::Conflict(PortError::Conflict.to_string())
            }
            ServiceError::Port(PortError::Rejected(message)) => AppError::Invalid(message),
            ServiceError::Drift(drift) => AppError::Conflict(drift.explain()),
            ServiceError::Port(e) => {
                tracing::error!(error = %e, "store failure");
                AppError::Unavailable
            }
        }
    }
}

/// Gives a server function's error its own status (a refusal is a 409, not Leptos's
/// default 500), except for a plain form post, which must stay a redirect back.
pub fn with_status<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(error) = &result {
        let form_post = use_context::<http::request::Parts>().is_some_and(|parts| {
            parts
                .headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
        });
        if !form_post {
            set_page_status(error);
        }
    }
    result
}

/// Sets the status of the response being built: the page rendered on the server, or
/// the server function's reply.
pub fn set_page_status(error: &AppError) {
    if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
        options.set_status(
            http::StatusCode::from_u16(error.status())
                .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
}

/// A server function's body for a signed-in person who may see the portal: finds the
/// portal and the person, runs `body`, and gives its error its own status.
pub async fn serve<T, F, Fut>(body: F) -> Result<T, AppError>
where
    F: FnOnce(Portal, Actor) -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    let answer = async {
        let portal = portal()?;
        let actor = actor(&portal).await?;
        body(portal, actor).await
    }
    .await;
    with_status(answer)
}
