//! The audit-trail review (EU GMP Annex 11 §9), for the audit reviewers
//! (`COUNTERSIGN_AUDIT_REVIEWERS`): every trail within a period, each verified as it is read,
//! and the exceptions among its entries a reviewer must look at. A plain page: its period is
//! a form sent as a link, no script needed.

#[cfg(feature = "ssr")]
mod view_model;

use crate::components::loaded;
use crate::wire::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrailReviewView {
    pub from: String,
    pub to: String,
    /// The period in words.
    pub period: String,
    pub trails: Vec<TrailLine>,
    pub exceptions: Vec<ExceptionLine>,
}

/// One trail within the period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrailLine {
    pub group: String,
    pub entries: usize,
    /// "Verified up to entry N", or what fails.
    pub verified: String,
    pub holds: bool,
    pub exceptions: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExceptionLine {
    pub at: String,
    pub group: String,
    pub seq: u64,
    pub kind: String,
    pub actor: String,
    pub what: String,
}

#[component]
pub fn TrailReviewPage() -> impl IntoView {
    let review = Resource::new(crate::components::period_in_query(), |(from, to)| {
        trail_review(from, to)
    });
    view! {
        <Title text="Audit trail review"/>
        <h1>"Audit trail review"</h1>
        {loaded(review, |review| view! { <TrailReview review/> }.into_any())}
    }
}

#[component]
fn TrailReview(review: TrailReviewView) -> impl IntoView {
    let trails = review
        .trails
        .into_iter()
        .map(|t| {
            let class = if t.holds { "" } else { "mismatch" };
            view! {
                <tr>
                    <th scope="row">{t.group}</th>
                    <td>{t.entries}</td>
                    <td class=class>{t.verified}</td>
                    <td>{t.exceptions}</td>
                </tr>
            }
        })
        .collect_view();
    let exceptions = if review.exceptions.is_empty() {
        view! { <p>"No exceptions in this period."</p> }.into_any()
    } else {
        let rows = review
            .exceptions
            .into_iter()
            .map(|e| {
                view! {
                    <tr>
                        <td>{e.at}</td>
                        <td>{e.group}</td>
                        <td>{e.seq}</td>
                        <td>{e.kind}</td>
                        <td>{e.actor}</td>
                        <td>{e.what}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="list">
                <thead><tr><th>"When"</th><th>"Trail"</th><th>"Entry"</th><th>"Exception"</th><th>"Actor"</th><th>"What"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <crate::components::PeriodForm
            action=crate::routes::TRAIL_REVIEW
            from=review.from.clone()
            to=review.to.clone()
        />
        <p>{format!("Entries {}.", review.period)}</p>
        <section class="panel" aria-labelledby="trails-heading">
            <h2 id="trails-heading">"Trails"</h2>
            <table class="list">
                <thead><tr><th>"Trail"</th><th>"Entries"</th><th>"Verification"</th><th>"Exceptions"</th></tr></thead>
                <tbody>{trails}</tbody>
            </table>
        </section>
        <section class="panel" aria-labelledby="exceptions-heading">
            <h2 id="exceptions-heading">"Exceptions"</h2>
            <p class="muted">
                "Refused signing attempts, someone else signing in during a signature, signatures that no longer bind, drift, changed rules or settings, decisions without a signature, failed sign-ins and refused access."
            </p>
            {exceptions}
        </section>
    }
}

#[server(prefix = "/rpc", endpoint = "trail_review")]
pub async fn trail_review(from: String, to: String) -> Result<TrailReviewView, AppError> {
    crate::context::serve(|portal, actor| async move {
        if !portal.services.policy().reviews_audit(&actor) {
            return Err(AppError::Forbidden(
                "Only audit reviewers (COUNTERSIGN_AUDIT_REVIEWERS) review the audit trail.".into(),
            ));
        }
        let period =
            countersign_audit::desk::Period::of_dates(&from, &to).map_err(AppError::Invalid)?;
        let mut groups: Vec<countersign_domain::GroupName> = portal
            .services
            .list_groups()
            .await?
            .into_iter()
            .map(|summary| summary.group)
            .collect();
        groups.push(countersign_domain::GroupName::system_trail());
        let trails = portal
            .audit
            .review(groups, period)
            .await
            .map_err(countersign_domain::service::ServiceError::from)?;
        Ok(view_model::trail_review(&trails, period, from, to))
    })
    .await
}
