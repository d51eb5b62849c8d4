//! The signed record from what the use cases read.

use super::{SignatureLine, SignedRecordView};
use crate::format::{display_time, formatted_metrics};
use countersign_audit::desk::AttestedDecision;
use countersign_domain::history::Drift;
use countersign_domain::service::Binding;
use countersign_domain::{Actor, DecisionRecord, ModelVersion, Verdict};
use std::collections::BTreeMap;
use time::OffsetDateTime;

pub fn signed_record(
    version: &ModelVersion,
    attested: &[AttestedDecision],
    signatures: &BTreeMap<String, Binding>,
    drift: &[Drift],
    actor: &Actor,
    now: OffsetDateTime,
) -> SignedRecordView {
    let declared = |value: &Option<String>| value.clone().unwrap_or_else(|| "not known".into());
    SignedRecordView {
        group: version.group.to_string(),
        version: version.version.get(),
        facts: vec![
            ("Model package ARN".into(), version.arn.clone()),
            ("Image".into(), version.image_uri.clone()),
            ("Image digest".into(), declared(&version.digests.image)),
            ("Model data".into(), version.model_data_url.clone()),
            (
                "Model data ETag".into(),
                declared(&version.digests.model_data),
            ),
            (
                "Registered".into(),
                format!(
                    "{} by {}",
                    display_time(version.registered_at),
                    version.registered_by.name
                ),
            ),
        ],
        metrics: formatted_metrics(&version.metrics),
        signatures: attested
            .iter()
            .map(|d| signature_line(&d.record, signatures.get(&d.record.id), d))
            .collect(),
        drift: drift.iter().map(Drift::explain).collect(),
        printed_at: display_time(now),
        printed_by: format!("{} ({})", actor.person.name, actor.person.subject),
    }
}

fn signature_line(
    record: &DecisionRecord,
    binding: Option<&Binding>,
    attested: &AttestedDecision,
) -> SignatureLine {
    let environment = &record.environment;
    let action = match (record.verdict, record.rollback_to) {
        (Verdict::Approve, _) => format!("Approved {environment}"),
        (Verdict::Reject, _) => format!("Rejected {environment}"),
        (Verdict::Rollback, Some(to)) => format!("Rolled back {environment} to version {to}"),
        (Verdict::Rollback, None) => format!("Rolled back {environment}"),
    };
    let signed_version = record.signed_version();
    let (binding, binds) = match binding {
        None => ("Not signed: nothing binds it.".to_owned(), false),
        Some(Binding::Binds) => (
            format!("Yes: version {signed_version} in the registry is as it was signed."),
            true,
        ),
        Some(Binding::NoLongerBinds) => (
            format!("NO: the registry's record of version {signed_version} changed after it was signed."),
            false,
        ),
        Some(Binding::RecordGone) => (
            format!("NO: the registry no longer holds version {signed_version}."),
            false,
        ),
    };
    let trail_agrees = attested.standing.agrees();
    let trail = match attested.standing.disagreement() {
        None if attested.standing == countersign_audit::desk::Standing::BeforeTheTrail => {
            "Decided before the audit trail began: shown as the decision log holds it.".into()
        }
        None => "Recorded in the audit trail as shown.".into(),
        Some(how) => format!("Shown as the audit trail holds it; {how}."),
    };
    let signature = record.signature.as_ref();
    SignatureLine {
        action,
        printed_name: record.decided_by.name.clone(),
        email: record.decided_by.email.clone(),
        identifier: record.decided_by.subject.clone(),
        signed_at: display_time(record.decided_at),
        meaning: signature.map(|s| s.meaning.clone()),
        role: record
            .signer_role()
            .map(|role| match signature.map(|s| s.groups.as_slice()) {
                Some(groups) if !groups.is_empty() => {
                    format!("{role} (groups: {})", groups.join(", "))
                }
                _ => role,
            }),
        reason: record.reason.clone(),
        record_digest: signature.map(|s| s.record_digest.clone()),
        authenticated: signature
            .and_then(|s| s.authentication.as_ref())
            .and_then(|a| {
                let at = display_time(a.at?);
                Some(match a.amr.as_slice() {
                    [] => format!("at the identity provider {at}"),
                    methods => format!("at the identity provider {at} ({})", methods.join(", ")),
                })
            }),
        binding,
        binds,
        trail,
        trail_agrees,
    }
}
