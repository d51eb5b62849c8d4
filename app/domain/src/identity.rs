//! Telling people apart: when are a signer and a registrant the same person, and when are
//! two approvers two people.
//!
//! The two sides do not know a person by the same name. A signer is known by the identity
//! provider's token (the configured identity claim: e-mail, Entra `oid` or `upn`, or `sub`)
//! and an e-mail; a registrant by what a pipeline declared, by the owner metadata someone
//! wrote in SageMaker, or by the IAM or Studio identity SageMaker says created the version.
//! So a person is a set of identifiers, each trimmed and case-folded (e-mail addresses,
//! UPNs and GUIDs are case-insensitive; folding a case-sensitive `sub` can only make two
//! people look like one, which makes the checks stricter, never weaker), and two records are
//! the same person when their sets meet.

use crate::model::Person;
use std::collections::BTreeSet;

/// `text` as people are compared: trimmed and case-folded; `None` when blank.
pub fn normalised_identifier(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_lowercase())
}

impl Person {
    /// Every identifier this record knows the person by, normalised: the subject (the
    /// configured identity claim's value) and the e-mail address.
    pub fn identifiers(&self) -> BTreeSet<String> {
        [&self.subject, &self.email]
            .into_iter()
            .filter_map(|id| normalised_identifier(id))
            .collect()
    }

    /// Whether two records name the same person: they share an identifier.
    pub fn is_same_person_as(&self, other: &Person) -> bool {
        !self.identifiers().is_disjoint(&other.identifiers())
    }
}

/// Everyone a version can be attributed to, as normalised identifiers: the registrant a
/// pipeline declared, the owner named in the registry's metadata, and the people the
/// registry's record of who created it maps to. Empty when no person could be established
/// (a version created by an unmapped IAM role, without owner metadata).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attribution(BTreeSet<String>);

impl Attribution {
    /// Nobody established.
    pub fn nobody() -> Self {
        Self::default()
    }

    /// The person's identifiers.
    pub fn of(person: &Person) -> Self {
        Self(person.identifiers())
    }

    /// Adds one more identifier (ignored when blank).
    pub fn and(mut self, identifier: &str) -> Self {
        self.0.extend(normalised_identifier(identifier));
        self
    }

    /// Whether `person` is one of the people the version is attributed to.
    pub fn includes(&self, person: &Person) -> bool {
        !self.0.is_disjoint(&person.identifiers())
    }

    /// Whether anyone at all could be established.
    pub fn is_established(&self) -> bool {
        !self.0.is_empty()
    }

    pub fn identifiers(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests;
