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
/// registry's record of who created it maps to. Empty when nobody is named (a version created
/// by an unmapped IAM role, without owner metadata).
///
/// Every identifier counts against self-approval, verified or not: more names only make the
/// four-eyes check stricter. But only a verified identifier *establishes* the registrant (N3):
/// one a caller bound to that person registered under (`COUNTERSIGN_API_REGISTRANTS`), or one
/// the registry's own record of the creator maps to. A name a pipeline or anyone allowed to
/// write the registry's metadata merely declared could be made up, so a version attributed
/// only to such names is treated as if nobody could be established.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Attribution {
    identifiers: BTreeSet<String>,
    verified: bool,
}

impl Attribution {
    /// Nobody established.
    pub fn nobody() -> Self {
        Self::default()
    }

    /// The person's identifiers, as declared: they count against self-approval but establish
    /// nobody.
    pub fn declared(person: &Person) -> Self {
        Self {
            identifiers: person.identifiers(),
            verified: false,
        }
    }

    /// Adds one more declared identifier (ignored when blank).
    pub fn and(mut self, identifier: &str) -> Self {
        self.identifiers.extend(normalised_identifier(identifier));
        self
    }

    /// Adds one more identifier that establishes the registrant (ignored when blank).
    pub fn and_verified(mut self, identifier: &str) -> Self {
        if let Some(identifier) = normalised_identifier(identifier) {
            self.identifiers.insert(identifier);
            self.verified = true;
        }
        self
    }

    /// The same names, established when `verified` (and something is named at all).
    pub fn and_verified_when(mut self, verified: bool) -> Self {
        self.verified |= verified && !self.identifiers.is_empty();
        self
    }

    /// Whether `person` is one of the people the version is attributed to.
    pub fn includes(&self, person: &Person) -> bool {
        !self.identifiers.is_disjoint(&person.identifiers())
    }

    /// Whether the registrant is established: someone named, by a verified identifier.
    pub fn is_verified(&self) -> bool {
        self.verified
    }

    /// Whether anyone at all is named, verified or not.
    pub fn names_anyone(&self) -> bool {
        !self.identifiers.is_empty()
    }

    pub fn identifiers(&self) -> impl Iterator<Item = &str> {
        self.identifiers.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests;
