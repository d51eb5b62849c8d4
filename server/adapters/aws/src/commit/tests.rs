use super::*;
use time::macros::datetime;

fn entry(reason: Option<String>) -> LogEntry {
    LogEntry {
        id: "d-1".into(),
        environment: "dev".into(),
        verdict: "reject".into(),
        reason,
        decided_by: Person {
            subject: "alice".into(),
            name: "Alice Approver".into(),
            email: "alice@example.com".into(),
        },
        decided_at: datetime!(2026-11-26 12:00 UTC),
        resulting_state: "Rejected".into(),
        approval_status: "Rejected".into(),
        steps: Default::default(),
        deployment: None,
        rollback_to: None,
        signature: None,
        mac: None,
    }
}

#[test]
fn an_entry_is_authentic_only_under_its_own_key_and_unchanged() {
    let here = Some("churn/1/1");
    let signed = entry(None).signed("the-log-key", here);
    assert!(signed.is_authentic("the-log-key", here));
    assert!(!signed.is_authentic("another-deployment's-key", here));
    assert!(!entry(None).is_authentic("the-log-key", here), "unsigned");
    for elsewhere in [
        Some("churn/2/1"),
        Some("churn/1/2"),
        Some("other/1/1"),
        None,
    ] {
        assert!(
            !signed.is_authentic("the-log-key", elsewhere),
            "copied to {elsewhere:?}"
        );
    }
    let altered = LogEntry {
        approval_status: "Approved".into(),
        ..signed.clone()
    };
    assert!(!altered.is_authentic("the-log-key", here));
    let read_back: LogEntry =
        serde_json::from_str(&serde_json::to_string(&signed).unwrap()).unwrap();
    assert!(
        read_back.is_authentic("the-log-key", here),
        "survives storage"
    );
}

#[test]
fn the_approval_description_names_the_person_and_their_reason_within_the_limit() {
    let text = approval_description(&entry(Some("drift on segment B".into())));
    assert_eq!(
        text,
        "Rejected for dev by Alice Approver <alice@example.com> in Countersign on \
             2026-11-26T12:00:00Z (decision d-1): drift on segment B"
    );
    let long = approval_description(&entry(Some("x".repeat(2000))));
    assert_eq!(long.chars().count(), MAX_APPROVAL_DESCRIPTION_CHARS);
    assert!(long.ends_with('…'));
    let signed = LogEntry {
        signature: Some(Signature {
            meaning: "Rejected for dev".into(),
            record_digest: "0f".repeat(32),
            replaces_version: None,
            authentication: None,
            identity_evidence: None,
            groups: Vec::new(),
        }),
        ..entry(Some("drift".into()))
    };
    assert_eq!(
            approval_description(&signed),
            format!(
                "Rejected for dev by Alice Approver <alice@example.com> in Countersign on \
                 2026-11-26T12:00:00Z (decision d-1), signed \"Rejected for dev\", record sha256:{}: drift",
                "0f".repeat(32)
            )
        );
    let rollback = LogEntry {
        verdict: "rollback".into(),
        rollback_to: Some(3),
        ..entry(Some("drift".into()))
    };
    assert!(
        approval_description(&rollback).starts_with("Rolled back to version 3 for dev by Alice")
    );
}
