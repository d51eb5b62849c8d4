//! The signing ceremony's trip to the identity provider: when an environment needs a
//! fresher sign-in than the signer's, the confirmation step posts here; the pending
//! decision (with the record digest the signer confirmed and the moment they were sent)
//! waits in its encrypted cookie while they sign in again, and is signed on their return,
//! through the same use case as a signature without the trip. The provider's `auth_time`
//! must be after that moment: a provider that ignores `prompt=login` signs nothing. The
//! sign-in is asked with a nonce committing to the record digest confirmed (and a random
//! salt the pending signature keeps), so the provider's token names the record it was made
//! for.

use crate::auth::oidc::{Oidc, Reauthentication};
use crate::auth::plain_page;
use crate::auth::session::Sessions;
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use countersign_app::context::{note_signature, Authenticator, Portal};
use countersign_app::routes;
use countersign_domain::signature::{
    nonce_commitment, IdentityEvidence, PendingSignature, Signing,
};
use countersign_domain::AttemptOutcome;
use serde::Deserialize;
use std::sync::Arc;
use time::OffsetDateTime;

#[derive(Clone)]
pub struct SigningDesk {
    pub portal: Portal,
    pub sessions: Sessions,
    /// `None`: the development sign-in plays the provider.
    pub oidc: Option<Arc<Oidc>>,
}

#[derive(Deserialize)]
pub struct Confirmed {
    group: String,
    version: u32,
    record_digest: String,
}

/// `POST /auth/reauthenticate`: the signer confirmed `record_digest` and must sign in again.
pub async fn reauthenticate(
    State(desk): State<SigningDesk>,
    headers: HeaderMap,
    Form(confirmed): Form<Confirmed>,
) -> Response {
    let Some(actor) = desk.sessions.actor(&headers) else {
        return Redirect::to(&routes::sign_in(&routes::signing(
            &confirmed.group,
            confirmed.version,
        )))
        .into_response();
    };
    let Some(mut pending) = desk
        .sessions
        .pending_signature(&headers)
        .filter(|p| p.belongs_to(&actor, &confirmed.group, confirmed.version))
    else {
        return nothing_waiting();
    };
    let policy = desk.portal.services.policy();
    let environment = pending.request.environment().clone();
    let salt = uuid::Uuid::new_v4().simple().to_string();
    let nonce = nonce_commitment(&confirmed.record_digest, &salt);
    pending.reviewed_digest = Some(confirmed.record_digest);
    pending.reauthentication_asked_at = Some(OffsetDateTime::now_utc());
    pending.nonce_salt = Some(salt);
    tracing::info!(subject = %actor.person.subject, group = %pending.group, version = %pending.request.version(),
        environment = %environment, "sent to sign in again before signing");
    // Kept, so that an attempt abandoned at the provider shows in the trail.
    if let Err(response) = record(
        &desk,
        &actor.person,
        &pending,
        AttemptOutcome::SentToSignInAgain,
    )
    .await
    {
        return response;
    }
    let (kept, ceremony) = desk.sessions.keep_pending_for_sign_in(&pending);
    let mut response = match &desk.oidc {
        Some(oidc) => oidc.send_to_provider(
            &headers,
            &routes::auth::signing_complete(&ceremony),
            Some(&Reauthentication {
                max_age: policy.signing_max_age(&environment),
                context: policy.signing_context(&environment).map(str::to_owned),
                nonce,
            }),
        ),
        None => Redirect::to(&routes::auth::sign_in_again_to_sign(&ceremony)).into_response(),
    };
    response.headers_mut().append(header::SET_COOKIE, kept);
    response
}

/// The ceremony id the way back from signing in again carries.
#[derive(Deserialize)]
pub struct Ceremony {
    #[serde(default)]
    ceremony: String,
}

/// A pending signature back from the provider, checked: signed in, the ceremony's, with
/// a digest and the moment the signer was sent.
struct Returned {
    actor: countersign_domain::Actor,
    pending: PendingSignature,
    reviewed_digest: String,
    asked_at: OffsetDateTime,
}

/// What came back with `ceremony`; else the page to show. Someone else signing in at the
/// provider is refused here, recorded, and the pending signature dropped.
async fn returned(
    desk: &SigningDesk,
    headers: &HeaderMap,
    ceremony: &str,
) -> Result<Returned, Response> {
    let pending = desk.sessions.pending_after_sign_in(headers, ceremony);
    let (Some(actor), Some(pending)) = (desk.sessions.actor(headers), pending) else {
        return Err(nothing_waiting());
    };
    let (Some(reviewed_digest), Some(asked_at)) = (
        pending.reviewed_digest.clone(),
        pending.reauthentication_asked_at,
    ) else {
        return Err(nothing_waiting());
    };
    if actor.person.subject != pending.subject {
        tracing::warn!(signing = %pending.subject, signed_in = %actor.person.subject,
            "someone else signed in at the identity provider during a signature; nothing signed");
        let message = format!(
            "You signed in again as {} <{}>, not as the person whose signature was waiting, so nothing was signed.",
            actor.person.name, actor.person.email
        );
        let outcome = AttemptOutcome::Refused {
            reason: format!(
                "signed in again as someone else than {}, whose signature was waiting",
                pending.subject
            ),
        };
        record(desk, &actor.person, &pending, outcome).await?;
        let review = routes::version(pending.group.as_str(), pending.request.version().get());
        return Err(not_signed(
            desk.sessions.drop_pending_signature(),
            &review,
            &message,
        ));
    }
    Ok(Returned {
        actor,
        pending,
        reviewed_digest,
        asked_at,
    })
}

/// `GET /auth/signing/complete?ceremony=…`: back from signing in again. Shows what waits
/// to be signed and asks for the signature itself as a form post: a navigation signs
/// nothing.
pub async fn back_from_sign_in(
    State(desk): State<SigningDesk>,
    headers: HeaderMap,
    Query(ceremony): Query<Ceremony>,
) -> Response {
    match returned(&desk, &headers, &ceremony.ceremony).await {
        Ok(back) => complete_page(&back, &ceremony.ceremony),
        Err(page) => page,
    }
}

/// `POST /auth/signing/complete` (form: the ceremony id): signs what was confirmed.
pub async fn complete(
    State(desk): State<SigningDesk>,
    headers: HeaderMap,
    Form(ceremony): Form<Ceremony>,
) -> Response {
    let Returned {
        actor,
        pending,
        reviewed_digest,
        asked_at,
    } = match returned(&desk, &headers, &ceremony.ceremony).await {
        Ok(back) => back,
        Err(page) => return page,
    };
    let forget = desk.sessions.drop_pending_signature();
    let review = routes::version(pending.group.as_str(), pending.request.version().get());
    let evidence = desk
        .sessions
        .identity_evidence(&headers)
        .await
        .map(|evidence| IdentityEvidence {
            nonce_salt: pending.nonce_salt.clone(),
            ..evidence
        });
    let signing = Signing {
        reviewed_digest,
        authentication: desk.sessions.authentication(&headers).unwrap_or_default(),
        reauthentication_asked_at: Some(asked_at),
        evidence,
    };
    match desk
        .portal
        .services
        .sign_pending(&actor, &pending, &signing)
        .await
    {
        Ok(signed) => {
            note_signature(&signed);
            let mut response = Redirect::to(&routes::signed(
                pending.group.as_str(),
                pending.request.version().get(),
                signed.record.environment.as_str(),
            ))
            .into_response();
            response.headers_mut().append(header::SET_COOKIE, forget);
            response
        }
        Err(error) => {
            tracing::warn!(subject = %actor.person.subject, group = %pending.group, version = %pending.request.version(),
                environment = %pending.request.environment(), %error, "signature refused after signing in again");
            not_signed(
                forget,
                &review,
                &countersign_app::wire::AppError::from(error).to_string(),
            )
        }
    }
}

/// Keeps a signing attempt in the audit log; the page to show if it could not be kept.
async fn record(
    desk: &SigningDesk,
    by: &countersign_domain::Person,
    pending: &PendingSignature,
    outcome: AttemptOutcome,
) -> Result<(), Response> {
    desk.portal
        .services
        .record_attempt(by, &pending.group, &pending.request, outcome)
        .await
        .map_err(|error| {
            plain_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Not signed",
                &countersign_app::wire::AppError::from(error).to_string(),
                (
                    &routes::version(pending.group.as_str(), pending.request.version().get()),
                    "Back to the version",
                ),
            )
        })
}

fn not_signed(forget: axum::http::HeaderValue, review: &str, message: &str) -> Response {
    let mut response = plain_page(
        StatusCode::FORBIDDEN,
        "Not signed",
        message,
        (review, "Back to the version"),
    );
    response.headers_mut().append(header::SET_COOKIE, forget);
    response
}

/// The page back from signing in again: what waits to be signed, and the form that signs it.
fn complete_page(back: &Returned, ceremony: &str) -> Response {
    use crate::auth::escape;
    let pending = &back.pending;
    let (group, version) = (pending.group.as_str(), pending.request.version().get());
    let verdict = match pending.request.verdict() {
        countersign_domain::Verdict::Approve => "approve",
        countersign_domain::Verdict::Reject => "reject",
        countersign_domain::Verdict::Rollback => "roll back to",
    };
    let what = format!(
        "{verdict} {group} version {version} for {}",
        pending.request.environment()
    );
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Complete your signature · Countersign</title>\
         <link rel=\"stylesheet\" href=\"/pkg/countersign.css\"></head><body><main>\
         <section class=\"panel\" aria-labelledby=\"complete-heading\"><h1 id=\"complete-heading\">Complete your signature</h1>\
         <p>You signed in again as {name} &lt;{email}&gt;. Nothing is signed until you sign here.</p>\
         <p>Your signature will {what}, on the record you confirmed (SHA-256 <code>{digest}</code>).</p>\
         <form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"ceremony\" value=\"{ceremony}\">\
         <button type=\"submit\">Sign now: {what}</button></form>\
         <p><a href=\"{review}\">Back to the version without signing</a></p></section></main></body></html>",
        name = escape(&back.actor.person.name),
        email = escape(&back.actor.person.email),
        what = escape(&what),
        digest = escape(&back.reviewed_digest),
        action = routes::auth::SIGNING_COMPLETE,
        ceremony = escape(ceremony),
        review = escape(&routes::version(group, version)),
    );
    (StatusCode::OK, axum::response::Html(page)).into_response()
}

fn nothing_waiting() -> Response {
    plain_page(
        StatusCode::NOT_FOUND,
        "Nothing to sign",
        "Nothing is waiting for your signature in this browser (or it waited too long). Choose the decision again on the version page.",
        (countersign_app::routes::MODELS, "Model groups"),
    )
}
