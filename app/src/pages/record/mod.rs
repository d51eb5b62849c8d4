//! The signed record of one version, for printing (21 CFR 11.50, EU GMP Annex 11 §8.2): what
//! was signed, and every signature on it with its printed name, time to the second, meaning,
//! role, whether it still binds the registry's record and how the audit trail holds it. A
//! plain page: no island, so it reads and prints the same without JavaScript.

#[cfg(feature = "ssr")]
mod view_model;

use crate::components::{about_the_version_addressed, loaded, DriftWarning};
use crate::wire::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

/// A version's signed record as printed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignedRecordView {
    pub group: String,
    pub version: u32,
    /// What the signatures apply to, name and value, as the registry holds it now.
    pub facts: Vec<(String, String)>,
    pub metrics: Vec<(String, String)>,
    pub signatures: Vec<SignatureLine>,
    /// Environments whose live value the decision log does not explain.
    pub drift: Vec<String>,
    pub printed_at: String,
    pub printed_by: String,
}

/// One decision on the version and its signature's manifestation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignatureLine {
    /// What was decided, e.g. "Approved prod", "Rolled back prod to version 2".
    pub action: String,
    pub printed_name: String,
    pub email: String,
    pub identifier: String,
    /// UTC to the second.
    pub signed_at: String,
    /// `None` for a decision from before signatures were recorded.
    pub meaning: Option<String>,
    pub role: Option<String>,
    pub reason: Option<String>,
    pub record_digest: Option<String>,
    /// How the signer had last authenticated at the provider, when recorded.
    pub authenticated: Option<String>,
    /// Whether the signature still applies to the registry's record, in words.
    pub binding: String,
    pub binds: bool,
    /// How the audit trail holds the decision, in words.
    pub trail: String,
    pub trail_agrees: bool,
}

#[component]
pub fn SignedRecordPage() -> impl IntoView {
    let record = about_the_version_addressed(signed_record);
    view! { {loaded(record, |record| view! { <SignedRecord record/> }.into_any())} }
}

#[component]
fn SignedRecord(record: SignedRecordView) -> impl IntoView {
    let title = format!("{} version {}: signed record", record.group, record.version);
    let back = crate::routes::version(&record.group, record.version);
    view! {
        <Title text=title.clone()/>
        <article class="signed-record">
            <p class="crumbs no-print">
                <a href=back>{format!("Back to version {}", record.version)}</a>
                " · Print this page with your browser (Ctrl+P or ⌘P)."
            </p>
            <h1>{title}</h1>
            <p class="muted">
                {format!("Printed {} by {}.", record.printed_at, record.printed_by)}
            </p>
            <DriftWarning drift=record.drift/>
            <section aria-labelledby="signed-heading">
                <h2 id="signed-heading">"What was signed"</h2>
                <dl>
                    {record
                        .facts
                        .into_iter()
                        .map(|(name, value)| view! { <dt>{name}</dt> <dd><code>{value}</code></dd> })
                        .collect_view()}
                    {record
                        .metrics
                        .into_iter()
                        .map(|(name, value)| view! { <dt>{format!("Metric: {name}")}</dt> <dd>{value}</dd> })
                        .collect_view()}
                </dl>
            </section>
            <section aria-labelledby="signatures-heading">
                <h2 id="signatures-heading">"Signatures"</h2>
                {if record.signatures.is_empty() {
                    view! { <p>"Nobody has decided this version yet."</p> }.into_any()
                } else {
                    view! {
                        <ol class="signatures">
                            {record
                                .signatures
                                .into_iter()
                                .map(|line| view! { <li><SignatureBlock line/></li> })
                                .collect_view()}
                        </ol>
                    }
                        .into_any()
                }}
            </section>
        </article>
    }
}

#[component]
fn SignatureBlock(line: SignatureLine) -> impl IntoView {
    let problem = |holds: bool| if holds { "" } else { "mismatch" };
    view! {
        <h3>{line.action}</h3>
        <dl class="signature">
            <dt>"Signed by"</dt>
            <dd>
                {line.printed_name} " " <span class="muted">{format!("<{}>", line.email)}</span>
                " " <span class="muted">{format!("(identifier {})", line.identifier)}</span>
            </dd>
            <dt>"Signed at"</dt>
            <dd>{line.signed_at}</dd>
            <dt>"Meaning"</dt>
            <dd>{line.meaning.unwrap_or_else(|| "— (decided before signatures were recorded)".into())}</dd>
            {line.role.map(|role| view! { <dt>"Role"</dt> <dd>{role}</dd> })}
            {line.reason.map(|reason| view! { <dt>"Reason"</dt> <dd>{reason}</dd> })}
            {line.record_digest.map(|digest| view! {
                <dt>"Record digest (SHA-256)"</dt> <dd><code class="digest">{digest}</code></dd>
            })}
            {line.authenticated.map(|how| view! { <dt>"Authenticated"</dt> <dd>{how}</dd> })}
            <dt>"Binds the record"</dt>
            <dd class=problem(line.binds)>{line.binding}</dd>
            <dt>"Audit trail"</dt>
            <dd class=problem(line.trail_agrees)>{line.trail}</dd>
        </dl>
    }
}

#[server(prefix = "/rpc", endpoint = "signed_record")]
pub async fn signed_record(group: String, version: u32) -> Result<SignedRecordView, AppError> {
    use crate::context::{group_name, serve, version_number};
    serve(|portal, actor| async move {
        let group = group_name(&group)?;
        let services = &portal.services;
        let (record, live) = futures::try_join!(
            services.version_record(&group, version_number(version)?),
            services.live_state(&group),
        )?;
        let attested = portal
            .audit
            .attest(&group, &record.decisions)
            .await
            .map_err(countersign_domain::service::ServiceError::from)?;
        let shown: Vec<_> = attested.iter().map(|d| d.record.clone()).collect();
        let signatures = services.signatures_now(&group, &shown).await?;
        Ok(view_model::signed_record(
            &record.version,
            &attested,
            &signatures,
            &live.drift,
            &actor,
            services.now(),
        ))
    })
    .await
}
