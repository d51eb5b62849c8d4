//! The audit trail against someone who can write the SQLite file: what its triggers stop,
//! and what the verifier catches (naming the entry) when a raw connection drops them. The
//! checkpoints, published to their own file, are what the tampering cannot reach.

use countersign_audit::entry::entry_hash;
use countersign_audit::{Entry, Head, Notary};
use countersign_domain::audit::{AuditEvent, AuditRecord};
use countersign_domain::testing::{approver, person, registration};
use countersign_domain::workflow::{self, DecisionRequest};
use countersign_domain::*;
use countersign_local_store::{CheckpointFile, LocalStore};
use countersign_port_contract::{export, services_over, Subject};
use rusqlite::{params, Connection};
use std::sync::Arc;

struct Trail {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    services: Subject,
    group: GroupName,
}

fn policy() -> Policy {
    Policy::new(Environments::default(), "approvers")
}

/// Dana's version, approved for dev by Alice and rejected for test by Bob.
async fn decided() -> Trail {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("countersign.db");
    let store = LocalStore::open(&path).unwrap();
    let checkpoints = CheckpointFile::beside(&path);
    let services = services_over(Arc::new(store), Arc::new(checkpoints), policy());
    let version = services
        .register(registration("churn", person("dana")))
        .await
        .unwrap();
    let group = version.group.clone();
    let decide = |who: &'static str, env: &str, choice, reason: &'static str| {
        let request = DecisionRequest::new(Environment::parse(env).unwrap(), choice, reason);
        let services = &services;
        let group = group.clone();
        async move {
            services
                .decide(
                    &approver(who),
                    &group,
                    VersionNumber::new(1).unwrap(),
                    &request,
                )
                .await
                .unwrap();
        }
    };
    decide("alice", "dev", Choice::Approve, "metrics hold up").await;
    decide("bob", "test", Choice::Reject, "drifts on the new segment").await;
    Trail {
        _dir: dir,
        path,
        services,
        group,
    }
}

impl Trail {
    /// A connection of its own, with the triggers that guard the entries dropped.
    fn raw(&self) -> Connection {
        let raw = Connection::open(&self.path).unwrap();
        raw.execute_batch(
            "DROP TRIGGER audit_entries_are_never_changed; DROP TRIGGER audit_entries_are_never_removed;",
        )
        .unwrap();
        raw
    }

    fn seq_of(&self, raw: &Connection, key_like: &str) -> i64 {
        raw.query_row(
            "SELECT seq FROM audit_entries WHERE key LIKE ?1",
            [key_like],
            |r| r.get(0),
        )
        .unwrap()
    }

    async fn violation(&self) -> countersign_audit::Violation {
        let bundle = export(&self.services, &self.group).await;
        countersign_audit::verify(&bundle, Some(self.services.audit.notary.public_key()))
            .expect_err("the verifier must refuse the trail")
    }
}

/// An entry of churn's trail written straight into the table, as the portal would have.
fn insert(raw: &Connection, seq: u64, key: &str, text: &str) {
    raw.execute(
        "INSERT INTO audit_entries (group_name, seq, key, entry) VALUES ('churn', ?1, ?2, ?3)",
        params![seq as i64, key, text],
    )
    .unwrap();
}

#[tokio::test]
async fn the_trail_verifies_untouched_and_the_store_refuses_to_change_or_remove_an_entry() {
    let trail = decided().await;
    let bundle = export(&trail.services, &trail.group).await;
    let verified =
        countersign_audit::verify(&bundle, Some(trail.services.audit.notary.public_key())).unwrap();
    assert_eq!(verified.decisions_checked, 2);
    let raw = Connection::open(&trail.path).unwrap();
    let changed = raw.execute("UPDATE audit_entries SET entry = 'x' WHERE seq = 1", []);
    assert!(changed.unwrap_err().to_string().contains("append-only"));
    let removed = raw.execute("DELETE FROM audit_entries WHERE seq = 1", []);
    assert!(removed.unwrap_err().to_string().contains("append-only"));
}

#[tokio::test]
async fn a_reason_edited_in_place_is_caught_at_its_entry() {
    let trail = decided().await;
    let raw = trail.raw();
    let seq = trail.seq_of(&raw, "decision/%");
    let edited = raw
        .execute(
            "UPDATE audit_entries SET entry = replace(entry, 'metrics hold up', 'metrics held up') WHERE seq = ?1",
            [seq],
        )
        .unwrap();
    assert_eq!(edited, 1);
    let violation = trail.violation().await;
    assert_eq!(violation.entry, Some(seq as u64), "{violation}");
}

#[tokio::test]
async fn a_deleted_entry_and_two_swapped_entries_are_caught_where_they_are() {
    let trail = decided().await;
    let raw = trail.raw();
    raw.execute("DELETE FROM audit_entries WHERE seq = 2", [])
        .unwrap();
    assert_eq!(trail.violation().await.entry, Some(2));

    let trail = decided().await;
    let raw = trail.raw();
    let (a, b): (String, String) = raw
        .query_row(
            "SELECT (SELECT entry FROM audit_entries WHERE seq = 3), (SELECT entry FROM audit_entries WHERE seq = 4)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    raw.execute("UPDATE audit_entries SET entry = ?1 WHERE seq = 3", [&b])
        .unwrap();
    raw.execute("UPDATE audit_entries SET entry = ?1 WHERE seq = 4", [&a])
        .unwrap();
    assert_eq!(trail.violation().await.entry, Some(3));
}

#[tokio::test]
async fn a_truncated_tail_is_caught_against_the_published_checkpoints() {
    let trail = decided().await;
    let raw = trail.raw();
    let size: i64 = raw
        .query_row("SELECT count(*) FROM audit_entries", [], |r| r.get(0))
        .unwrap();
    raw.execute("DELETE FROM audit_entries WHERE seq >= ?1", [size - 2])
        .unwrap();
    let violation = trail.violation().await;
    assert_eq!(violation.entry, Some(size as u64 - 2));
    assert!(
        violation.message.contains("tail was cut off"),
        "{violation}"
    );
}

#[tokio::test]
async fn an_entry_appended_without_the_key_is_caught() {
    let trail = decided().await;
    let raw = trail.raw();
    // Whoever writes the file has the code, the head and every hash; not the key.
    let head: String = raw
        .query_row("SELECT head FROM audit_heads", [], |r| r.get(0))
        .unwrap();
    let head = Head::parse(&head).unwrap();
    let attempt = SigningAttempt {
        id: "forged".into(),
        group: "churn".into(),
        version: 1,
        environment: "dev".into(),
        verdict: "approve".into(),
        by: person("mallory"),
        at: time::OffsetDateTime::now_utc(),
        outcome: AttemptOutcome::SentToSignInAgain,
    };
    let record = AuditRecord {
        group: trail.group.clone(),
        key: "attempt/forged".into(),
        at: attempt.at,
        actor: "mallory".into(),
        event: AuditEvent::SigningAttempted(Box::new(attempt)),
        policy: Arc::new(policy()),
    };
    let (entries, next) = head.append(&record).unwrap();
    for entry in &entries {
        insert(&raw, entry.seq, &entry.key, &entry.text);
    }
    raw.execute("UPDATE audit_heads SET head = ?1", [next.to_json()])
        .unwrap();
    let violation = trail.violation().await;
    assert_eq!(violation.entry, Some(head.size), "{violation}");
    assert!(
        violation.message.contains("appended without the key"),
        "{violation}"
    );
}

#[tokio::test]
async fn a_whole_trail_rewritten_without_the_key_is_caught_at_the_first_change() {
    let trail = decided().await;
    let raw = trail.raw();
    let texts: Vec<String> = {
        let mut statement = raw
            .prepare("SELECT entry FROM audit_entries ORDER BY seq")
            .unwrap();
        let rows = statement.query_map([], |r| r.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    };
    // Bob's rejection taken out, and the chain made whole again after it.
    let mut entries: Vec<Entry> = texts.iter().map(|t| Entry::parse(t).unwrap()).collect();
    let rejected = entries.iter().position(|e| e.actor == "bob").unwrap();
    entries.remove(rejected);
    raw.execute("DELETE FROM audit_entries", []).unwrap();
    let mut previous = countersign_audit::entry::NO_PREVIOUS.to_owned();
    for (seq, mut entry) in entries.into_iter().enumerate() {
        entry.seq = seq as u64;
        entry.previous = previous;
        let text = entry.canonical();
        previous = hex::encode(entry_hash(&text).0);
        insert(&raw, seq as u64, &entry.key, &text);
    }
    let violation = trail.violation().await;
    assert_eq!(violation.entry, Some(rejected as u64), "{violation}");
}

#[tokio::test]
async fn a_checkpoint_signed_by_another_key_is_caught() {
    let trail = decided().await;
    let other = Notary::from_key(&Notary::generate_key("contract.example")).unwrap();
    let head = Head::parse(
        &Connection::open(&trail.path)
            .unwrap()
            .query_row("SELECT head FROM audit_heads", [], |r| {
                r.get::<_, String>(0)
            })
            .unwrap(),
    )
    .unwrap();
    let note = other.sign(
        "churn",
        head.size,
        head.root().unwrap(),
        time::OffsetDateTime::now_utc(),
    );
    use countersign_domain::ports::CheckpointPublisher;
    CheckpointFile::beside(&trail.path)
        .publish(&trail.group, &note)
        .await
        .unwrap();
    let violation = trail.violation().await;
    assert!(
        violation.message.contains("not signed by the audit key"),
        "{violation}"
    );
}

#[tokio::test]
async fn consistent_checkpoints_over_a_decision_that_breaks_four_eyes_are_caught() {
    let trail = decided().await;
    // A decision the portal's rules refuse, appended through the portal's own notarised
    // trail (as a portal with a bug, or one whose rules were bypassed, would): every
    // checkpoint is genuine, so only the rules can object.
    let lenient = policy().allowing_self_approval("dev").unwrap();
    let second = trail
        .services
        .register(registration("churn", person("dana")))
        .await
        .unwrap();
    let stamp = Stamp {
        id: "self-approval".into(),
        at: time::OffsetDateTime::now_utc(),
    };
    let request = DecisionRequest::new(Environment::parse("dev").unwrap(), Choice::Approve, "mine");
    let effect =
        workflow::decide(&lenient, &second, &[], &approver("dana"), &request, stamp).unwrap();
    let decided = AuditEvent::Decided {
        record: Box::new(effect.record.clone()),
        signed: Box::new(effect.signed),
        reauthentication_asked_at: None,
    };
    let record = AuditRecord {
        group: trail.group.clone(),
        key: AuditRecord::key_of(&decided),
        at: effect.record.decided_at,
        actor: "dana".into(),
        event: decided,
        policy: Arc::new(policy()),
    };
    trail.services.ports.trail.append(&record).await.unwrap();
    let violation = trail.violation().await;
    assert!(violation.message.contains("four-eyes"), "{violation}");
}

#[tokio::test]
async fn a_decision_whose_audit_entry_cannot_be_written_is_not_applied() {
    let trail = decided().await;
    let second = trail
        .services
        .register(registration("churn", person("dana")))
        .await
        .unwrap();
    // The trail's head made unreadable: no entry can be appended to it.
    let raw = Connection::open(&trail.path).unwrap();
    raw.execute("UPDATE audit_heads SET head = 'not a head'", [])
        .unwrap();
    let request = DecisionRequest::new(Environment::parse("dev").unwrap(), Choice::Approve, "ok");
    let refused = trail
        .services
        .decide(&approver("alice"), &trail.group, second.version, &request)
        .await;
    assert!(refused.is_err(), "{refused:?}");
    let now = trail
        .services
        .version_record(&trail.group, second.version)
        .await
        .unwrap();
    assert!(
        now.decisions.is_empty(),
        "the decision was not applied either"
    );
    assert_eq!(now.version.revision, second.revision);
}

// Proves: AT-05.
#[tokio::test]
async fn a_store_rolled_back_behind_the_portal_stops_appends_and_nothing_more_is_signed() {
    let trail = decided().await;
    let raw = trail.raw();
    let (size, head): (i64, String) = raw
        .query_row(
            "SELECT (SELECT count(*) FROM audit_entries), head FROM audit_heads WHERE group_name = 'churn'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let services = &trail.services;
    services
        .register(registration("churn", person("dana")))
        .await
        .unwrap();
    let published = || async {
        services
            .audit
            .publisher
            .published(&trail.group)
            .await
            .unwrap()
            .len()
    };
    let before = published().await;

    // Rolled back to before version 2, head and all, as someone holding the file can.
    raw.execute(
        "DELETE FROM audit_entries WHERE group_name = 'churn' AND seq >= ?1",
        [size],
    )
    .unwrap();
    raw.execute(
        "UPDATE audit_heads SET head = ?1 WHERE group_name = 'churn'",
        [&head],
    )
    .unwrap();
    let refused = services
        .register(registration("churn", person("dana")))
        .await
        .expect_err("the group's appends stop");
    assert!(
        refused
            .to_string()
            .contains("rolled back behind the portal"),
        "{refused}"
    );
    let request = DecisionRequest::new(Environment::parse("dev").unwrap(), Choice::Approve, "");
    let decided = services
        .decide(
            &approver("carol"),
            &trail.group,
            VersionNumber::new(2).unwrap(),
            &request,
        )
        .await;
    assert!(decided.is_err(), "no decision is applied either");
    assert_eq!(
        published().await,
        before,
        "nothing is signed over the rolled-back history"
    );

    // Started again, the portal finds the same at its first append.
    let store = LocalStore::open(&trail.path).unwrap();
    let checkpoints = CheckpointFile::beside(&trail.path);
    let notary = services.audit.notary.clone();
    let restarted = countersign_port_contract::services_notarised_by(
        Arc::new(store),
        Arc::new(checkpoints),
        policy(),
        notary,
    );
    assert!(restarted
        .register(registration("churn", person("dana")))
        .await
        .is_err());
    assert_eq!(published().await, before);
}

#[tokio::test]
async fn replicas_appending_in_turn_each_sign_their_checkpoints_without_an_alarm() {
    let trail = decided().await;
    let replica = || {
        countersign_port_contract::services_notarised_by(
            Arc::new(LocalStore::open(&trail.path).unwrap()),
            Arc::new(CheckpointFile::beside(&trail.path)),
            policy(),
            trail.services.audit.notary.clone(),
        )
    };
    let (a, b) = (replica(), replica());
    for services in [&a, &b, &a, &b, &trail.services] {
        services
            .register(registration("churn", person("dana")))
            .await
            .expect("no replica takes another's appends for a rollback");
    }
    let bundle = export(&trail.services, &trail.group).await;
    let verified =
        countersign_audit::verify(&bundle, Some(trail.services.audit.notary.public_key()))
            .expect("every entry is covered by a checkpoint the key signed");
    assert_eq!(
        verified.last.map(|(seq, _)| seq),
        Some(bundle.entries.len() as u64 - 1)
    );
}

/// A note as the file keeps it: the origin, the size, a root (not signed: the file keeps
/// what it is given).
fn note(group: &str, size: u64) -> String {
    format!("example/audit/{group}\n{size}\nAAAA\n\n— example AAAA\n")
}

#[tokio::test]
async fn the_checkpoint_file_finds_each_groups_newest_reading_only_what_was_appended_since() {
    use countersign_domain::ports::CheckpointPublisher;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("countersign.db.checkpoints");
    let file = CheckpointFile::at(path.clone());
    let (churn, fraud) = (
        GroupName::parse("churn").unwrap(),
        GroupName::parse("fraud").unwrap(),
    );
    assert_eq!(file.newest_published(&churn).await.unwrap(), None);
    for (group, size) in [(&churn, 3), (&fraud, 9), (&churn, 5), (&churn, 4)] {
        file.publish(group, &note(group.as_str(), size))
            .await
            .unwrap();
    }
    assert_eq!(
        file.newest_published(&churn).await.unwrap(),
        Some(note("churn", 5)),
        "the largest, not the last"
    );
    // A line cut short (a crash mid-write) is left for when it is whole, or skipped.
    use std::io::Write;
    let mut raw = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    raw.write_all(br#"{"group":"churn","note":"exam"#).unwrap();
    assert_eq!(
        file.newest_published(&churn).await.unwrap(),
        Some(note("churn", 5))
    );
    raw.write_all(b"\n").unwrap();
    file.publish(&churn, &note("churn", 7)).await.unwrap();
    assert_eq!(
        file.newest_published(&churn).await.unwrap(),
        Some(note("churn", 7))
    );
    assert_eq!(
        file.newest_published(&fraud).await.unwrap(),
        Some(note("fraud", 9))
    );
    // A reader that starts afresh reads the same from the whole file.
    let fresh = CheckpointFile::at(path);
    assert_eq!(
        fresh.newest_published(&churn).await.unwrap(),
        Some(note("churn", 7))
    );
    assert_eq!(
        file.published(&churn).await.unwrap().len(),
        4,
        "every one is still there to export"
    );
}
