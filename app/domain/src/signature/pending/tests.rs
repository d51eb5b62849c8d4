use super::*;
use crate::model::Person;

fn alice() -> Actor {
    Actor {
        person: Person {
            subject: "alice".into(),
            name: "Alice Approver".into(),
            email: "alice@example.com".into(),
        },
        groups: Default::default(),
    }
}

fn asked(verdict: Verdict, version: u32, meaning: Option<&str>) -> SigningRequest {
    SigningRequest::new(
        Environment::parse("prod").unwrap(),
        verdict,
        VersionNumber::new(version).unwrap(),
        "reviewed the evidence",
        meaning.map(str::to_owned),
    )
}

#[test]
fn a_verdict_from_the_form_becomes_a_decision_or_a_rollback() {
    let approve = asked(Verdict::Approve, 3, Some("Approved for release"));
    let SigningRequest::Decide { version, request } = &approve else {
        panic!("{approve:?}")
    };
    assert_eq!((version.get(), request.choice), (3, Choice::Approve));
    assert_eq!(request.meaning.as_deref(), Some("Approved for release"));
    let back = asked(Verdict::Rollback, 2, Some(""));
    let SigningRequest::RollBack(rollback) = &back else {
        panic!("{back:?}")
    };
    assert_eq!(rollback.target.get(), 2);
    assert_eq!(rollback.meaning, None, "a blank meaning is the first one");
    assert_eq!(
        (
            back.verdict(),
            back.version().get(),
            back.environment().as_str()
        ),
        (Verdict::Rollback, 2, "prod")
    );
}

#[test]
fn a_pending_signature_is_kept_as_the_flat_document_the_cookie_has_always_held() {
    let mut pending = PendingSignature::new(
        &alice(),
        GroupName::parse("churn").unwrap(),
        asked(Verdict::Reject, 4, None),
    );
    pending.reviewed_digest = Some("ab".repeat(32));
    pending.reauthentication_asked_at = Some(time::macros::datetime!(2026-12-06 10:00 UTC));
    let kept: serde_json::Value = serde_json::to_value(&pending).unwrap();
    assert_eq!(
        kept,
        serde_json::json!({
            "subject": "alice", "group": "churn", "version": 4, "environment": "prod",
            "verdict": "reject", "reason": "reviewed the evidence", "meaning": null,
            "reviewed_digest": "ab".repeat(32),
            "reauthentication_asked_at": "2026-12-06T10:00:00Z",
        })
    );
    let read: PendingSignature = serde_json::from_value(kept).unwrap();
    assert_eq!(read, pending);
    assert!(read.belongs_to(&alice(), "churn", 4));
    assert!(!read.belongs_to(&alice(), "churn", 3));
    assert!(!read.belongs_to(&alice(), "fraud", 4));
}

#[test]
fn a_document_that_is_not_a_signature_is_not_read() {
    let document = |field: &str, value: serde_json::Value| {
        let mut json = serde_json::json!({
            "subject": "alice", "group": "churn", "version": 4, "environment": "prod",
            "verdict": "approve", "reason": "", "meaning": null, "reviewed_digest": null,
        });
        json[field] = value;
        serde_json::from_value::<PendingSignature>(json)
    };
    assert!(document("verdict", "approve".into()).is_ok());
    assert!(document("verdict", "publish".into()).is_err());
    assert!(document("group", "churn predictor".into()).is_err());
    assert!(document("version", 0.into()).is_err());
    assert!(document("environment", "Prod".into()).is_err());
}
