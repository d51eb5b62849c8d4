use super::*;

fn at() -> OffsetDateTime {
    time::macros::datetime!(2026-11-30 06:00 UTC)
}

#[test]
fn a_checkpoint_is_a_signed_note_anyone_with_the_public_key_can_open() {
    let notary = Notary::from_key(&Notary::generate_key("portal.example.com")).unwrap();
    let root = tlog_tiles::record_hash(b"x");
    let note = notary.sign("churn", 1, root, at());
    assert!(
        note.starts_with("portal.example.com/audit/churn\n1\n"),
        "{note}"
    );
    assert!(note.contains("\ntime 2026-11-30T06:00:00Z\n\n— portal.example.com "));
    let opened = Opener::new(notary.public_key())
        .unwrap()
        .open(&note)
        .unwrap();
    assert_eq!(
        opened,
        Checkpoint {
            origin: "portal.example.com/audit/churn".into(),
            size: 1,
            root,
            at: Some(at()),
        }
    );
    let other = Notary::from_key(&Notary::generate_key("portal.example.com")).unwrap();
    assert!(matches!(
        Opener::new(other.public_key()).unwrap().open(&note),
        Err(CheckpointError::NotSignedByTheKey(_))
    ));
    let altered = note.replacen("\n1\n", "\n2\n", 1);
    assert!(Opener::new(notary.public_key())
        .unwrap()
        .open(&altered)
        .is_err());
}

#[test]
fn a_key_that_is_not_a_note_key_is_refused() {
    assert_eq!(Notary::from_key("secret").err(), Some(KeyError::Malformed));
    let key = Notary::generate_key("countersign");
    let public = Notary::from_key(&key).unwrap().public_key().to_owned();
    assert!(check_public_key(&public).is_ok());
    assert!(public.starts_with("countersign+"));
    assert!(!public.contains("PRIVATE"));
    assert_eq!(
        check_public_key("countersign+zz"),
        Err(KeyError::MalformedPublic)
    );
}
