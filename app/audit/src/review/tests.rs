use super::*;
use countersign_domain::{Person, SigningAttempt};

fn at() -> OffsetDateTime {
    time::macros::datetime!(2026-12-07 09:00:00 UTC)
}

fn entry(seq: u64, event: EventJson) -> Entry {
    Entry {
        seq,
        group: "churn".into(),
        key: format!("k{seq}"),
        at: at(),
        actor: "alice".into(),
        event,
        previous: crate::entry::NO_PREVIOUS.into(),
    }
}

fn refused(reason: &str) -> EventJson {
    EventJson::SigningAttempted {
        attempt: SigningAttempt {
            id: "a".into(),
            group: "churn".into(),
            version: 1,
            environment: "prod".into(),
            verdict: "approve".into(),
            by: Person {
                subject: "dana".into(),
                name: "Dana Scientist".into(),
                email: "dana@example.com".into(),
            },
            at: at(),
            outcome: AttemptOutcome::Refused {
                reason: reason.into(),
            },
        },
    }
}

fn started(digest: &str) -> EventJson {
    EventJson::System {
        what: SystemEvent::Started {
            software_version: "0.2.0".into(),
            commit: "abc".into(),
            settings_digest: digest.into(),
            gxp_profile: true,
        },
    }
}

fn kinds(entries: &[Entry]) -> Vec<ExceptionKind> {
    let mut seen = None;
    entries
        .iter()
        .filter_map(|e| exception(e, &mut seen).map(|(kind, _)| kind))
        .collect()
}

// Proves: AT-10.
#[test]
fn the_exceptions_a_reviewer_must_see_are_told_apart_from_the_rest() {
    let policy = || EventJson::PolicyInForce {
        environments: Vec::new(),
        identity_provider: None,
    };
    let entries = [
        entry(0, policy()),
        entry(1, refused("you registered this version")),
        entry(
            2,
            refused("signed in again as someone else than alice, whose signature was waiting"),
        ),
        entry(3, policy()),
        entry(
            4,
            EventJson::DriftSeen {
                environment: "prod".into(),
                explanation: "prod: version 3 is live".into(),
                live_version: Some(3),
                logged_version: Some(2),
            },
        ),
        entry(5, started("one")),
        entry(6, started("one")),
        entry(7, started("two")),
        entry(
            8,
            EventJson::System {
                what: SystemEvent::SignInFailed {
                    reason: "the identity provider refused it".into(),
                },
            },
        ),
    ];
    assert_eq!(
        kinds(&entries),
        [
            ExceptionKind::RefusedAttempt,
            ExceptionKind::SomeoneElseSignedIn,
            ExceptionKind::RulesChanged,
            ExceptionKind::Drift,
            ExceptionKind::SettingsChanged,
            ExceptionKind::FailedSignIn,
        ],
        "the first rules and an unchanged start are no exceptions"
    );
}
