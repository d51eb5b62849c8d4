//! The access review page from the use case's answer, and its period read from the form.

use super::{AccessReviewView, EnvironmentAccessView, PersonSeen, SignerView};
use crate::format::display_time;
use countersign_domain::service::AccessReview;
use countersign_domain::Person;

pub fn access_review(review: &AccessReview, from: String, to: String) -> AccessReviewView {
    let period = crate::format::period(review.from, review.to);
    let seen = |person: &Person, at| PersonSeen {
        name: person.name.clone(),
        email: person.email.clone(),
        identifier: person.subject.clone(),
        at: display_time(at),
    };
    AccessReviewView {
        from: from.trim().to_owned(),
        to: to.trim().to_owned(),
        period,
        environments: review
            .environments
            .iter()
            .map(|env| EnvironmentAccessView {
                environment: env.environment.to_string(),
                approver_groups: env.approver_groups.clone(),
                required_approvals: env.required_approvals,
                signers: env
                    .signers
                    .iter()
                    .map(|s| SignerView {
                        person: seen(&s.person, s.last_signed),
                        signatures: s.signatures,
                    })
                    .collect(),
            })
            .collect(),
        last_sign_ins: review
            .last_sign_ins
            .iter()
            .map(|(person, at)| seen(person, *at))
            .collect(),
    }
}
