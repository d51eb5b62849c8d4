use super::*;

fn notary() -> Notary {
    Notary::from_key(&Notary::generate_key("portal.example.com")).unwrap()
}

fn at() -> OffsetDateTime {
    time::macros::datetime!(2026-12-07 08:00:05 UTC)
}

fn copy(notary: &Notary) -> CertifiedCopy {
    CertifiedCopy::make(
        notary,
        "churn",
        "churn-decisions.csv",
        "text/csv; charset=utf-8",
        "decided_at,verdict\n2026-12-01T10:00:00Z,approve\n".into(),
        "alice-oid Alice Approver",
        at(),
    )
}

#[test]
fn a_certified_copy_verifies_with_the_portals_key_and_says_who_asked_for_it_and_when() {
    let notary = notary();
    let copy = copy(&notary);
    assert!(copy
        .note
        .starts_with("portal.example.com/certified/churn\nfile churn-decisions.csv\nsha256 "));
    let certification = copy.verify(notary.public_key()).unwrap();
    assert_eq!(
        certification,
        Certification {
            group: "churn".into(),
            file: "churn-decisions.csv".into(),
            at: at(),
            by: "alice-oid Alice Approver".into(),
        }
    );
}

// Proves: AT-08.
#[test]
fn a_certified_copy_changed_in_any_part_or_checked_with_another_key_is_refused() {
    let notary = notary();
    let mut changed = copy(&notary);
    changed.content = changed.content.replace("approve", "reject");
    assert!(matches!(
        changed.verify(notary.public_key()),
        Err(CertifiedError::ContentChanged { .. })
    ));
    let mut renamed = copy(&notary);
    renamed.file = "churn-deployments.csv".into();
    assert!(matches!(
        renamed.verify(notary.public_key()),
        Err(CertifiedError::DoesNotMatch { .. })
    ));
    let mut moved = copy(&notary);
    moved.group = "fraud".into();
    assert!(matches!(
        moved.verify(notary.public_key()),
        Err(CertifiedError::DoesNotMatch { .. })
    ));
    let mut forged = copy(&notary);
    forged.note = forged.note.replace("alice-oid", "mallory-oid");
    assert!(matches!(
        forged.verify(notary.public_key()),
        Err(CertifiedError::Note(CheckpointError::NotSignedByTheKey(_)))
    ));
    let other = Notary::from_key(&Notary::generate_key("portal.example.com")).unwrap();
    assert!(copy(&notary).verify(other.public_key()).is_err());
    let mut bundle = copy(&notary);
    bundle.format = crate::bundle::FORMAT.into();
    assert_eq!(
        bundle.verify(notary.public_key()),
        Err(CertifiedError::NotACertifiedCopy)
    );
}

// Proves: AT-08.
#[test]
fn a_name_with_a_newline_cannot_add_a_line_to_the_certification() {
    let notary = notary();
    let copy = CertifiedCopy::make(
        &notary,
        "churn",
        "churn-history.json",
        "application/json",
        "{}".into(),
        "eve\nsha256 0000",
        at(),
    );
    let certification = copy.verify(notary.public_key()).unwrap();
    assert_eq!(certification.by, "eve sha256 0000");
}
