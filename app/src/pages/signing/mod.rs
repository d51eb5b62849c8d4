//! The signing ceremony's confirmation step (21 CFR 11.50, WCAG 3.3.4): after choosing a
//! verdict on the version page, the signer sees exactly what their signature will apply to,
//! its record digest, and signs, or goes back. Where the environment needs a fresh sign-in,
//! signing sends them to the identity provider first; the pending decision waits in an
//! encrypted cookie and is signed on their return (`server/src/auth/signing.rs`).

pub mod wire;

use crate::components::{
    about_the_version_addressed, loaded, refused_in_browser, refused_without_script, Refused,
};
use crate::wire::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use wire::*;

#[component]
pub fn SigningPage() -> impl IntoView {
    let refused = refused_without_script::<Sign>();
    let review = about_the_version_addressed(review_pending);
    view! {
        <Title text="Confirm your signature"/>
        {loaded(review, move |review| {
            let refused = refused.clone();
            view! { <Confirmation review refused/> }.into_any()
        })}
    }
}

const NOT_SIGNED: &str = "Not signed: ";

/// The form that signs, its fields the server-rendered children. In the browser a refused
/// signature is shown without leaving the page; a recorded one leads back to the version.
#[island]
fn SignForm(children: Children) -> impl IntoView {
    let sign = ServerAction::<Sign>::new();
    view! {
        <ActionForm action=sign attr:class="sign">
            {children()}
            {refused_in_browser(*sign, NOT_SIGNED)}
        </ActionForm>
    }
}

#[component]
fn Confirmation(review: SigningReview, refused: Option<AppError>) -> impl IntoView {
    let back = crate::routes::version(&review.group, review.version);
    let what = format!(
        "{} {} version {} for {}",
        review.action, review.group, review.version, review.environment
    );
    let button = format!(
        "Sign: {} {}",
        review.action.to_lowercase(),
        review.environment
    );
    let (group, version, digest, back_link) = (
        review.group.clone(),
        review.version,
        review.record_digest.clone(),
        back.clone(),
    );
    let action = match review.sign_in_again.clone() {
        None => view! {
            <SignForm>
                <input type="hidden" name="group" value=group/>
                <input type="hidden" name="version" value=version/>
                <input type="hidden" name="record_digest" value=digest/>
                <div class="actions">
                    <button type="submit" class="approve">{button}</button>
                    <a class="button" href=back_link>"Go back without signing"</a>
                </div>
            </SignForm>
        }
        .into_any(),
        // A plain form: the browser must leave for the identity provider.
        Some(why) => view! {
            <form method="post" action=crate::routes::auth::REAUTHENTICATE class="sign">
                <p>{why}</p>
                <input type="hidden" name="group" value=group/>
                <input type="hidden" name="version" value=version/>
                <input type="hidden" name="record_digest" value=digest/>
                <div class="actions">
                    <button type="submit" class="approve">{format!("Sign in again and {}", button.to_lowercase())}</button>
                    <a class="button" href=back_link>"Go back without signing"</a>
                </div>
            </form>
        }
        .into_any(),
    };
    view! {
        <p class="crumbs">
            <a href=crate::routes::MODELS>"Model groups"</a>
            " / "
            <a href=crate::routes::group(&review.group)>{review.group.clone()}</a>
            " / "
            <a href=back>{format!("version {}", review.version)}</a>
            " / "
        </p>
        <h1>"Confirm your signature"</h1>
        {refused.map(|error| view! { <Refused prefix=NOT_SIGNED error/> })}
        <section class="panel signing" aria-labelledby="signed-heading">
            <h2 id="signed-heading">{what}</h2>
            <p>"Your electronic signature will apply to exactly this record:"</p>
            <dl class="signed-record">
                <dt>"Meaning"</dt>
                <dd class="meaning">{review.meaning}</dd>
                <dt>"Reason"</dt>
                <dd>{review.reason.unwrap_or_else(|| "(none given)".into())}</dd>
                <dt>"Signed by"</dt>
                <dd>
                    {review.signer_name} " "
                    <span class="muted">{format!("<{}> ({})", review.signer_email, review.signer_identifier)}</span>
                </dd>
                <dt>"Model group"</dt>
                <dd>{review.group.clone()}</dd>
                <dt>"Version"</dt>
                <dd>{review.version}</dd>
                <dt>"Environment"</dt>
                <dd>{review.environment.clone()}</dd>
                <dt>"Replaces there"</dt>
                <dd>
                    {review
                        .replaces_version
                        .map(|v| format!("version {v}"))
                        .unwrap_or_else(|| "nothing (no version is live there)".into())}
                </dd>
                <dt>"Model package ARN"</dt>
                <dd><code>{review.model_package_arn}</code></dd>
                <dt>"Image"</dt>
                <dd><code>{review.image_uri}</code> <Known digest=review.image_digest/></dd>
                <dt>"Model data"</dt>
                <dd><code>{review.model_data_url}</code> <Known digest=review.model_data_etag/></dd>
                <dt>"Metrics"</dt>
                <dd>
                    <table class="metrics">
                        <tbody>
                            {review
                                .metrics
                                .into_iter()
                                .map(|(name, value)| view! { <tr><th scope="row">{name}</th><td>{value}</td></tr> })
                                .collect_view()}
                        </tbody>
                    </table>
                </dd>
                <dt>"Record digest (SHA-256)"</dt>
                <dd><code class="digest" data-record-digest=review.record_digest.clone()>{review.record_digest.clone()}</code></dd>
            </dl>
            <details>
                <summary>"The signed record as canonical JSON (RFC 8785)"</summary>
                <pre class="signed-json">{review.signed_json}</pre>
            </details>
            {action}
        </section>
    }
}

/// An artifact's digest, or that the registry does not know it.
#[component]
pub(crate) fn Known(digest: Option<String>) -> impl IntoView {
    match digest {
        Some(digest) => {
            view! { <span class="digest">" digest " <code>{digest}</code></span> }.into_any()
        }
        None => {
            view! { <span class="muted">" (no digest known to the registry)"</span> }.into_any()
        }
    }
}

/// Keeps the person's chosen verdict for the confirmation step and sends them to it;
/// refused at once (with the reason, on the version page) if the decision could not be
/// signed at all.
#[server(prefix = "/rpc", endpoint = "prepare_signature")]
pub async fn prepare_signature(
    group: String,
    version: u32,
    environment: String,
    /// `approve`, `reject` or `rollback`.
    verdict: String,
    reason: String,
    /// The signature's meaning, one of those configured; absent or empty: the first.
    meaning: Option<String>,
) -> Result<(), AppError> {
    use crate::context::{group_name, serve, version_number};
    use countersign_domain::signature::{PendingSignature, SigningRequest};
    use countersign_domain::Verdict;
    serve(|portal, actor| async move {
        let group = group_name(&group)?;
        let verdict = Verdict::parse(&verdict).ok_or_else(|| {
            // Never the text sent: a refusal is shown on the portal's pages (N11).
            AppError::Invalid("that is not a decision; choose approve or reject".into())
        })?;
        let request = SigningRequest::new(
            portal.services.environment(&environment)?,
            verdict,
            version_number(version)?,
            &reason,
            meaning,
        );
        portal.services.choose(&actor, &group, &request).await?;
        let pending = PendingSignature::new(&actor, group, request);
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.append_header(
                http::header::SET_COOKIE,
                portal.authenticator.keep_pending_signature(&pending),
            );
        }
        leptos_axum::redirect(&crate::routes::signing(pending.group.as_str(), version));
        Ok(())
    })
    .await
}

/// The confirmation step's content: the pending signature, computed again now.
#[server(prefix = "/rpc", endpoint = "review_pending")]
pub async fn review_pending(group: String, version: u32) -> Result<SigningReview, AppError> {
    use crate::context::serve;
    use countersign_domain::workflow::check_authentication;
    serve(|portal, actor| async move {
        let (headers, pending) = waiting_for(&portal, &actor, &group, version).await?;
        let services = &portal.services;
        let prepared = services
            .prepare(&actor, &pending.group, &pending.request)
            .await?;
        let authentication = portal
            .authenticator
            .authentication(&headers)
            .unwrap_or_default();
        let sign_in_again = check_authentication(
            services.policy(),
            pending.request.environment(),
            &authentication,
            None,
            services.now(),
        )
        .err()
        .map(|refusal| {
            format!("Before you sign: {refusal}. You will be sent to your identity provider; what you confirm here is signed when you come back.")
        });
        Ok(review_of(
            pending.request.verdict(),
            &prepared.effect.signed,
            sign_in_again,
        ))
    })
    .await
}

/// Signs the pending decision, if the record digest is the one the person was shown.
#[server(prefix = "/rpc", endpoint = "sign")]
pub async fn sign(
    group: String,
    version: u32,
    record_digest: String,
) -> Result<crate::pages::version::wire::DecisionOutcome, AppError> {
    use crate::context::{note_signature, serve};
    use countersign_domain::signature::Signing;
    serve(|portal, actor| async move {
        let (headers, pending) = waiting_for(&portal, &actor, &group, version).await?;
        let signing = Signing {
            reviewed_digest: record_digest,
            authentication: portal
                .authenticator
                .authentication(&headers)
                .unwrap_or_default(),
            reauthentication_asked_at: None,
            evidence: portal.authenticator.identity_evidence(&headers).await,
        };
        let signed = portal
            .services
            .sign_pending(&actor, &pending, &signing)
            .await?;
        note_signature(&signed);
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.append_header(
                http::header::SET_COOKIE,
                portal.authenticator.drop_pending_signature(),
            );
        }
        leptos_axum::redirect(&crate::routes::signed(
            &group,
            version,
            signed.record.environment.as_str(),
        ));
        Ok(decision_outcome(&signed))
    })
    .await
}

/// The request's headers and the signature `actor` has waiting about `group`'s `version`.
#[cfg(feature = "ssr")]
async fn waiting_for(
    portal: &crate::context::Portal,
    actor: &countersign_domain::Actor,
    group: &str,
    version: u32,
) -> Result<
    (
        http::HeaderMap,
        countersign_domain::signature::PendingSignature,
    ),
    AppError,
> {
    let headers = crate::context::request_headers().await?;
    let pending = portal
        .authenticator
        .pending_signature(&headers)
        .filter(|p| p.belongs_to(actor, group, version))
        .ok_or_else(|| {
            AppError::NotFound(
                "Nothing is waiting for your signature here (or it waited too long): choose a decision on the version page."
                    .into(),
            )
        })?;
    Ok((headers, pending))
}

#[cfg(feature = "ssr")]
fn review_of(
    verdict: countersign_domain::Verdict,
    signed: &countersign_domain::signature::SignedContent,
    sign_in_again: Option<String>,
) -> SigningReview {
    use countersign_domain::Verdict;
    let action = match verdict {
        Verdict::Approve => "Approve",
        Verdict::Reject => "Reject",
        Verdict::Rollback => "Roll back to",
    };
    SigningReview {
        group: signed.model_package_group.clone(),
        version: signed.model_package_version,
        environment: signed.environment.clone(),
        action: action.into(),
        model_package_arn: signed.model_package_arn.clone(),
        image_uri: signed.image_uri.clone(),
        model_data_url: signed.model_data_url.clone(),
        image_digest: signed.image_digest.clone(),
        model_data_etag: signed.model_data_etag.clone(),
        metrics: crate::format::formatted_metrics(&signed.metrics),
        replaces_version: signed.replaces_version,
        meaning: signed.meaning.clone(),
        reason: signed.reason.clone(),
        signer_name: signed.signer.name.clone(),
        signer_email: signed.signer.email.clone(),
        signer_identifier: signed.signer.identifier.clone(),
        record_digest: signed.digest(),
        signed_json: signed.canonical_json(),
        sign_in_again,
    }
}

/// What a signature did, in words for its signer.
#[cfg(feature = "ssr")]
fn decision_outcome(
    signed: &countersign_domain::service::Signed,
) -> crate::pages::version::wire::DecisionOutcome {
    use countersign_domain::service::SignedOutcome;
    let record = &signed.record;
    let (version, environment) = (record.version, &record.environment);
    let message = match &signed.outcome {
        SignedOutcome::Rejected => format!("You rejected version {version} for {environment}."),
        SignedOutcome::Approved => {
            format!("You approved version {version} for {environment}; it is now live there.")
        }
        SignedOutcome::ApprovalRecorded => {
            format!("Your approval of {environment} is recorded; it needs another approver.")
        }
        SignedOutcome::RolledBack { to } => format!(
            "{environment} is back on version {to}; version {version} is rolled back there."
        ),
    };
    // The page that asked is the decided version's (for a rollback, the target's, whose
    // step there is approved; the record's `RolledBack` is the withdrawn version's).
    let resulting_state = match signed.outcome {
        SignedOutcome::RolledBack { .. } => crate::wire::StateView::Approved,
        _ => record.resulting_state.into(),
    };
    crate::pages::version::wire::DecisionOutcome {
        environment: environment.to_string(),
        resulting_state,
        message,
    }
}
