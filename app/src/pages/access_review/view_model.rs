//! The access review page from the use case's answer, and its period read from the form.

use super::{AccessReviewView, EnvironmentAccessView, PersonSeen, SignerView};
use crate::format::display_time;
use countersign_domain::service::AccessReview;
use countersign_domain::Person;

pub fn access_review(review: &AccessReview, from: String, to: String) -> AccessReviewView {
    let period = match (review.from, review.to) {
        (None, None) => "at any time".to_owned(),
        (Some(f), None) => format!("from {} until now", display_time(f)),
        (None, Some(t)) => format!("until {}", display_time(t)),
        (Some(f), Some(t)) => format!("from {} until {}", display_time(f), display_time(t)),
    };
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
