//! The access review (EU GMP Annex 11 §12; 21 CFR 11.10(d), (g)), for the audit reviewers
//! (`COUNTERSIGN_AUDIT_REVIEWERS`): per environment who may sign (the approver groups) and
//! who did within a period, and each person's last sign-in; exported as CSV, plain or
//! certified. A plain page: its period is a form sent as a link, no script needed.

#[cfg(feature = "ssr")]
pub mod view_model;

use crate::components::loaded;
use crate::wire::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessReviewView {
    /// The period as asked, for the form and the export links (`YYYY-MM-DD`, or empty).
    pub from: String,
    pub to: String,
    /// The period in words, e.g. "from 2026-12-01 00:00:00 UTC until now".
    pub period: String,
    pub environments: Vec<EnvironmentAccessView>,
    pub last_sign_ins: Vec<PersonSeen>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentAccessView {
    pub environment: String,
    pub approver_groups: Vec<String>,
    pub required_approvals: u8,
    pub signers: Vec<SignerView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignerView {
    pub person: PersonSeen,
    pub signatures: u32,
}

/// A person and a moment: their last signature, or their last sign-in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PersonSeen {
    pub name: String,
    pub email: String,
    pub identifier: String,
    pub at: String,
}

#[component]
pub fn AccessReviewPage() -> impl IntoView {
    let review = Resource::new(crate::components::period_in_query(), |(from, to)| {
        access_review(from, to)
    });
    view! {
        <Title text="Access review"/>
        <h1>"Access review"</h1>
        {loaded(review, |review| view! { <AccessReview review/> }.into_any())}
    }
}

#[component]
fn AccessReview(review: AccessReviewView) -> impl IntoView {
    // Dates only (`YYYY-MM-DD`, checked by the server function): nothing to encode.
    let query = format!("from={}&to={}", review.from, review.to);
    let csv = format!("{}?{query}", crate::routes::ACCESS_REVIEW_CSV);
    let certified = format!("{csv}&certified=true");
    view! {
        <crate::components::PeriodForm
            action=crate::routes::ACCESS_REVIEW
            from=review.from.clone()
            to=review.to.clone()
        />
        <p>{format!("Signatures {}.", review.period)}</p>
        <p class="exports">
            "Export: " <a href=csv download>"access review (CSV)"</a> " · "
            <a href=certified download>"certified copy"</a>
        </p>
        {review
            .environments
            .into_iter()
            .map(|env| view! { <EnvironmentAccess env/> })
            .collect_view()}
        <section class="panel" aria-labelledby="sign-ins-heading">
            <h2 id="sign-ins-heading">"Each person's last sign-in"</h2>
            <PeopleTable people=review.last_sign_ins when="Last sign-in"/>
        </section>
    }
}

#[component]
fn EnvironmentAccess(env: EnvironmentAccessView) -> impl IntoView {
    let heading = format!("access-{}", env.environment);
    let labelled_by = heading.clone();
    let who = match env.approver_groups.as_slice() {
        [] => "Nobody may sign: no approver group is configured.".to_owned(),
        groups => format!(
            "May sign: members of {} ({} approval{} needed).",
            groups.join(", "),
            env.required_approvals,
            if env.required_approvals == 1 { "" } else { "s" }
        ),
    };
    let signed = env.signers.is_empty().then(|| {
        view! { <p class="muted">"Nobody signed in this environment within the period."</p> }
    });
    let rows = env
        .signers
        .into_iter()
        .map(|s| {
            view! {
                <tr>
                    <td>{s.person.name}</td>
                    <td>{s.person.email}</td>
                    <td><code>{s.person.identifier}</code></td>
                    <td>{s.signatures}</td>
                    <td>{s.person.at}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="panel" aria-labelledby=labelled_by>
            <h2 id=heading>{env.environment}</h2>
            <p>{who}</p>
            {signed}
            <table class="list">
                <caption>"Who signed"</caption>
                <thead><tr><th>"Name"</th><th>"E-mail"</th><th>"Identifier"</th><th>"Signatures"</th><th>"Last signed"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}

#[component]
fn PeopleTable(people: Vec<PersonSeen>, when: &'static str) -> impl IntoView {
    let rows = people
        .into_iter()
        .map(|p| {
            view! {
                <tr><td>{p.name}</td><td>{p.email}</td><td><code>{p.identifier}</code></td><td>{p.at}</td></tr>
            }
        })
        .collect_view();
    view! {
        <table class="list">
            <thead><tr><th>"Name"</th><th>"E-mail"</th><th>"Identifier"</th><th>{when}</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

#[server(prefix = "/rpc", endpoint = "access_review")]
pub async fn access_review(from: String, to: String) -> Result<AccessReviewView, AppError> {
    crate::context::serve(|portal, actor| async move {
        if !portal.services.policy().reviews_audit(&actor) {
            return Err(AppError::Forbidden(
                "Only audit reviewers (COUNTERSIGN_AUDIT_REVIEWERS) see the access review.".into(),
            ));
        }
        let period =
            countersign_audit::desk::Period::of_dates(&from, &to).map_err(AppError::Invalid)?;
        let sign_ins = portal
            .audit
            .sign_ins()
            .await
            .map_err(countersign_domain::service::ServiceError::from)?;
        let review = portal
            .services
            .access_review(period.from, period.to, sign_ins)
            .await?;
        Ok(view_model::access_review(&review, from, to))
    })
    .await
}
