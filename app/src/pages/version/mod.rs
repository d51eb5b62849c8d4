mod evidence;
mod timeline;
mod track;
#[cfg(feature = "ssr")]
mod view_model;
pub mod wire;

use crate::components::{
    about_the_version_addressed, loaded, refused_without_script, DriftWarning, Refused, StatePill,
};
use crate::pages::signing::{Known, PrepareSignature};
use crate::wire::AppError;
use evidence::{EvidencePanel, MetricsTable, Report};
use leptos::prelude::*;
use leptos_meta::Title;
pub(crate) use timeline::DecisionLine;
use timeline::TimelineLine;
use track::{Step, WaitingPanel, NOT_RECORDED};
use wire::*;

/// The review page: a version's facts, its promotion track and the decision forms.
/// Deep links from e-mails land here.
#[component]
pub fn VersionPage() -> impl IntoView {
    // With JavaScript, each decision form shows its own refusal and keeps the reason typed.
    let refused = refused_without_script::<PrepareSignature>();
    let query = leptos_router::hooks::use_query_map();
    let detail = about_the_version_addressed(get_version);
    view! {
        {loaded(detail, move |detail| {
            let refused = refused.clone();
            let signed = query.read_untracked().get("signed");
            view! { <VersionReview detail refused signed/> }.into_any()
        })}
    }
}

#[component]
fn VersionReview(
    detail: VersionDetail,
    /// Why the decision the browser sent without JavaScript was not recorded.
    refused: Option<AppError>,
    /// The environment a signature was just recorded in, when the page follows one.
    signed: Option<String>,
) -> impl IntoView {
    let title = format!("{} version {}", detail.group, detail.version);
    let group_href = crate::routes::group(&detail.group);
    let group = detail.group.clone();
    let group_for_history = detail.group.clone();
    let version = detail.version;
    view! {
        <Title text=title.clone()/>
        <p class="crumbs">
            <a href=crate::routes::MODELS>"Model groups"</a>
            " / "
            <a href=group_href>{detail.group.clone()}</a>
            " / "
        </p>
        <h1>
            {title} " " <StatePill state=detail.status/>
        </h1>
        <DriftWarning drift=detail.drift.clone()/>
        {(!detail.disagreements.is_empty()).then(|| {
            let disagreements = detail.disagreements.clone();
            view! {
                <section class="warning drift" role="alert" aria-labelledby="disagreements-heading">
                    <h2 id="disagreements-heading">"The decision log disagrees with the audit trail"</h2>
                    <p>"Each decision is shown as the audit trail holds it."</p>
                    <ul>{disagreements.into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}</ul>
                </section>
            }
        })}
        {(!detail.broken_signatures.is_empty()).then(|| {
            let broken = detail.broken_signatures.clone();
            view! {
                <section class="warning drift" role="alert" aria-labelledby="broken-signatures-heading">
                    <h2 id="broken-signatures-heading">"Signature no longer matches"</h2>
                    <ul>{broken.into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}</ul>
                </section>
            }
        })}
        {signed.map(|environment| view! {
            <p class="notice ok" role="status">
                {format!("Your signature for {environment} is recorded.")}
            </p>
        })}
        {refused.map(|error| view! { <Refused prefix=NOT_RECORDED error/> })}
        {detail.waiting.map(|waiting| view! { <WaitingPanel waiting/> })}
        {detail.evidence.map(|evidence| view! { <EvidencePanel evidence/> })}
        <section class="panel" aria-labelledby="track-heading">
            <h2 id="track-heading">"Promotion track"</h2>
            <ol class="track" aria-label="Promotion track">
                {detail
                    .track
                    .into_iter()
                    .map(|step| {
                        view! { <Step step group=group.clone() version/> }
                    })
                    .collect_view()}
            </ol>
            {detail.why_no_decision.map(|why| view! { <p class="muted why">{why}</p> })}
        </section>
        <section class="panel facts" aria-labelledby="facts-heading">
            <h2 id="facts-heading">"This version"</h2>
            <dl>
                <dt>"Registered by"</dt>
                <dd>
                    {detail.registered_by} " " <span class="muted">{format!("<{}>", detail.registered_by_email)}</span>
                    {detail.registered_through.map(|caller| view! {
                        " " <span class="muted">{format!("through {caller}")}</span>
                    })}
                    {detail.registrant_unverified.map(|why| view! {
                        <p class="muted" data-testid="registrant-unverified">{why}</p>
                    })}
                </dd>
                <dt>"Registered"</dt>
                <dd>{detail.registered_at}</dd>
                <dt>"Description"</dt>
                <dd>{detail.description}</dd>
                <dt>"Image"</dt>
                <dd>
                    <code>{detail.image_uri}</code> <Known digest=detail.image_digest/>
                </dd>
                <dt>"Model data"</dt>
                <dd>
                    <code>{detail.model_data_url}</code> <Known digest=detail.model_data_etag/>
                </dd>
                <dt>"ARN"</dt>
                <dd>
                    <code>{detail.arn}</code>
                </dd>
                {detail
                    .metadata
                    .into_iter()
                    .map(|(key, value)| view! {
                        <dt>{format!("Metadata: {key}")}</dt>
                        <dd>{value}</dd>
                    })
                    .collect_view()}
            </dl>
            <h3>"Metrics"</h3>
            <MetricsTable metrics=detail.metrics/>
        </section>
        <section class="panel" aria-labelledby="reports-heading">
            <h2 id="reports-heading">"Inference runs"</h2>
            {if detail.reports.is_empty() {
                view! {
                    <p class="muted">
                        "No pipeline has reported a run of this version yet."
                    </p>
                }
                    .into_any()
            } else {
                view! {
                    <ol class="reports">
                        {detail
                            .reports
                            .into_iter()
                            .map(|report| view! { <li><Report report/></li> })
                            .collect_view()}
                    </ol>
                }
                    .into_any()
            }}
        </section>
        <section class="panel" aria-labelledby="timeline-heading">
            <h2 id="timeline-heading">"Timeline"</h2>
            <ol class="history timeline">
                {detail
                    .timeline
                    .into_iter()
                    .map(|entry| view! { <li><TimelineLine entry/></li> })
                    .collect_view()}
            </ol>
            <p>
                <a href=crate::routes::signed_record(&group_for_history, version)>
                    "The signed record, for printing"
                </a>
                " · "
                <a href=crate::routes::history(&group_for_history)>
                    "The whole group's history"
                </a>
            </p>
        </section>
    }
}

/// Versions the evidence's charts draw, the newest.
#[cfg(feature = "ssr")]
const RECENT_VERSIONS: u32 = 12;

#[server(prefix = "/rpc", endpoint = "version_detail")]
pub async fn get_version(group: String, version: u32) -> Result<VersionDetail, AppError> {
    use crate::context::{group_name, serve, version_number};
    serve(|portal, actor| async move {
        let desk = &portal.notifications;
        let group = group_name(&group)?;
        let mut review = portal
            .services
            .review(
                &group,
                version_number(version)?,
                RECENT_VERSIONS,
                &desk.notifications,
            )
            .await?;
        let attested = portal
            .audit
            .attest(&group, &review.record.decisions)
            .await
            .map_err(countersign_domain::service::ServiceError::from)?;
        review.record.decisions = attested.iter().map(|d| d.record.clone()).collect();
        let mut detail = view_model::review_detail(
            portal.services.policy(),
            &review,
            &actor,
            desk.outbox_only,
            portal.services.now(),
        );
        view_model::name_disagreements(&mut detail, &attested);
        Ok(detail)
    })
    .await
}
