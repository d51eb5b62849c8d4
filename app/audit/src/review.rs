//! The audit-trail review (EU GMP Annex 11 §9): across every trail, the entries of a period
//! and among them the exceptions a reviewer must look at: refused signing attempts, someone
//! else signing in during a signature, signatures that no longer bind, drift, changed rules
//! or settings, decisions without a signature, failed sign-ins and refused access. Each
//! trail is verified as it is read.

use crate::entry::{Entry, EventJson};
use crate::Bundle;
use countersign_domain::audit::SystemEvent;
use countersign_domain::AttemptOutcome;
use time::OffsetDateTime;

/// What kind of exception an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExceptionKind {
    RefusedAttempt,
    SomeoneElseSignedIn,
    SignatureNoLongerBinds,
    Drift,
    RulesChanged,
    SettingsChanged,
    UnsignedDecision,
    FailedSignIn,
    AccessRefused,
}

impl ExceptionKind {
    pub fn describe(self) -> &'static str {
        match self {
            Self::RefusedAttempt => "signing attempt refused",
            Self::SomeoneElseSignedIn => "someone else signed in during a signature",
            Self::SignatureNoLongerBinds => "signature no longer binds its record",
            Self::Drift => "live value changed outside the portal",
            Self::RulesChanged => "rules in force changed",
            Self::SettingsChanged => "settings changed at a start",
            Self::UnsignedDecision => "decision without a signature",
            Self::FailedSignIn => "failed sign-in",
            Self::AccessRefused => "access refused",
        }
    }
}

/// One entry a reviewer must look at.
#[derive(Clone, Debug, PartialEq)]
pub struct TrailException {
    pub group: String,
    pub seq: u64,
    pub at: OffsetDateTime,
    pub actor: String,
    pub kind: ExceptionKind,
    /// What happened, in a sentence.
    pub what: String,
}

/// One trail within the period.
#[derive(Clone, Debug, PartialEq)]
pub struct TrailInPeriod {
    pub group: String,
    pub entries: usize,
    /// How far the trail verifies (entries up to this size), or what fails.
    pub verified: Result<u64, String>,
    pub exceptions: Vec<TrailException>,
}

/// `bundle`'s entries of the period, verified with `public_key`, and its exceptions.
pub fn review(bundle: &Bundle, public_key: &str) -> TrailInPeriod {
    let verified = crate::verify(bundle, Some(public_key))
        .map(|v| v.first_seq + v.entries)
        .map_err(|violation| violation.to_string());
    let entries: Vec<Entry> = bundle
        .entries
        .iter()
        .filter_map(|text| Entry::parse(text).ok())
        .collect();
    let mut settings_seen: Option<String> = None;
    let exceptions = entries
        .iter()
        .filter_map(|entry| {
            let (kind, what) = exception(entry, &mut settings_seen)?;
            Some(TrailException {
                group: bundle.group.clone(),
                seq: entry.seq,
                at: entry.at,
                actor: entry.actor.clone(),
                kind,
                what,
            })
        })
        .collect();
    TrailInPeriod {
        group: bundle.group.clone(),
        entries: entries.len(),
        verified,
        exceptions,
    }
}

/// Whether `entry` is an exception, and what it says; `settings_seen` carries the settings
/// digest of the last start read.
fn exception(entry: &Entry, settings_seen: &mut Option<String>) -> Option<(ExceptionKind, String)> {
    use ExceptionKind::*;
    Some(match &entry.event {
        EventJson::PolicyInForce { .. } if entry.seq > 0 => (
            RulesChanged,
            "The rules in force changed from this entry on.".to_owned(),
        ),
        EventJson::SigningAttempted { attempt } => match &attempt.outcome {
            AttemptOutcome::Refused { reason } => {
                let kind = if reason.contains("someone else") {
                    SomeoneElseSignedIn
                } else {
                    RefusedAttempt
                };
                let what = format!(
                    "{} ({}) could not {} version {} in {}: {reason}",
                    attempt.by.name,
                    attempt.by.subject,
                    attempt.verdict,
                    attempt.version,
                    attempt.environment
                );
                (kind, what)
            }
            AttemptOutcome::SentToSignInAgain => return None,
        },
        EventJson::Decided { decision, .. } if decision.signature.is_none() => (
            UnsignedDecision,
            format!(
                "{} {} version {} in {} without a signature.",
                decision.decided_by.name, decision.verdict, decision.version, decision.environment
            ),
        ),
        EventJson::DriftSeen { explanation, .. } => (Drift, explanation.clone()),
        EventJson::SignatureNoLongerBinds {
            version,
            environment,
            signed_digest,
            digest_now,
            ..
        } => (
            SignatureNoLongerBinds,
            format!(
                "The signature for {environment} on version {version} signed {signed_digest}; the record is now {digest_now}."
            ),
        ),
        EventJson::System { what } => match what {
            SystemEvent::Started {
                settings_digest, ..
            } => {
                let before = settings_seen.replace(settings_digest.clone());
                match before {
                    Some(before) if before != *settings_digest => (
                        SettingsChanged,
                        format!("The portal started with other settings ({before} before, {settings_digest} now)."),
                    ),
                    _ => return None,
                }
            }
            SystemEvent::SignInFailed { reason } => (FailedSignIn, reason.clone()),
            SystemEvent::AccessRefused { person, what } => (
                AccessRefused,
                format!("{} ({}) was refused {what}", person.name, person.subject),
            ),
            _ => return None,
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
