//! The embedded store meets the port contract, in memory and in a file that is reopened.

use countersign_domain::ports::SessionRevocations;
use countersign_domain::{Environments, Policy};
use countersign_local_store::{CheckpointFile, LocalStore};
use countersign_port_contract::Subject;
use std::sync::Arc;

/// The store under test, its checkpoints published to a file in `dir`.
fn services_publishing_to(store: LocalStore, dir: &tempfile::TempDir) -> Subject {
    let policy = Policy::new(Environments::default(), "approvers");
    let checkpoints = CheckpointFile::at(dir.path().join("countersign.db.checkpoints"));
    countersign_port_contract::services_over(Arc::new(store), Arc::new(checkpoints), policy)
}

fn services(store: LocalStore) -> (tempfile::TempDir, Subject) {
    let dir = tempfile::tempdir().unwrap();
    let services = services_publishing_to(store, &dir);
    (dir, services)
}

/// The contract, a test per check, each on a fresh in-memory store.
mod in_memory {
    use super::*;

    async fn backend() -> (tempfile::TempDir, Subject) {
        services(LocalStore::open_in_memory().unwrap())
    }

    countersign_port_contract::contract_tests!(backend);
}

#[tokio::test]
async fn file_store_meets_the_contract_and_keeps_data_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("countersign.db");
    let store = LocalStore::open(&path).unwrap();
    countersign_port_contract::run_all(&services_publishing_to(store.clone(), &dir)).await;
    let before = countersign_domain::ports::ModelRegistry::list_groups(&store)
        .await
        .unwrap();
    drop(store);
    let reopened = LocalStore::open(&path).unwrap();
    let after = countersign_domain::ports::ModelRegistry::list_groups(&reopened)
        .await
        .unwrap();
    assert!(!after.is_empty());
    assert_eq!(before, after);
}

#[tokio::test]
async fn generated_settings_are_kept() {
    let store = LocalStore::open_in_memory().unwrap();
    let first = store
        .setting_or_insert("session_key", || "one".into())
        .unwrap();
    let second = store
        .setting_or_insert("session_key", || "two".into())
        .unwrap();
    assert_eq!((first.as_str(), second.as_str()), ("one", "one"));
}

#[cfg(unix)]
#[tokio::test]
async fn the_store_file_holding_the_session_key_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("countersign.db");
    let store = LocalStore::open(&path).unwrap();
    store
        .setting_or_insert("session_key", || "secret".into())
        .unwrap();
    for file in ["countersign.db", "countersign.db-wal", "countersign.db-shm"] {
        let mode = std::fs::metadata(dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{file} is {mode:o}");
    }
}

// Proves: AT-05.
#[test]
fn the_audit_signing_key_lives_outside_the_database_readable_by_its_owner_only() {
    use countersign_local_store::AuditKeyFile;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("countersign.db");
    let store = LocalStore::open(&path).unwrap();
    let file = AuditKeyFile::beside(&path);
    let key = file.kept(&store, || "PRIVATE+KEY+new".into()).unwrap();
    assert_eq!(key, "PRIVATE+KEY+new");
    assert_eq!(file.path(), dir.path().join("countersign.db.audit-key"));
    let mode = std::fs::metadata(file.path()).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the key file is {mode:o}");
    assert_eq!(
        store.setting("audit_signing_key").unwrap(),
        None,
        "not in the database"
    );
    assert_eq!(
        file.kept(&store, || unreachable!("kept, not made again"))
            .unwrap(),
        key
    );

    // A store from before: the key kept in the database moves out of it, unchanged.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("countersign.db");
    let store = LocalStore::open(&path).unwrap();
    store
        .setting_or_insert("audit_signing_key", || "PRIVATE+KEY+earlier".into())
        .unwrap();
    let file = AuditKeyFile::beside(&path);
    let moved = file
        .kept(&store, || unreachable!("the earlier key is kept"))
        .unwrap();
    assert_eq!(moved, "PRIVATE+KEY+earlier");
    assert_eq!(store.setting("audit_signing_key").unwrap(), None);
}

#[tokio::test]
async fn sign_ins_meet_their_contract() {
    countersign_port_contract::run_sign_ins(&LocalStore::open_in_memory().unwrap()).await;
}

#[tokio::test]
async fn session_revocations_meet_their_contract_and_outlive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("countersign.db");
    countersign_port_contract::run_session_revocations(&LocalStore::open(&path).unwrap()).await;
    let reopened = LocalStore::open(&path).unwrap();
    assert_eq!(reopened.revocations().await.unwrap().len(), 2);
}

#[tokio::test]
async fn the_outbox_meets_its_contract_and_keeps_pending_messages_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("countersign.db");
    let store = LocalStore::open(&path).unwrap();
    countersign_port_contract::run_outbox(&store).await;

    let pending = countersign_domain::ports::OutgoingMessage {
        key: "approval-request/churn/1/dev".into(),
        to: vec!["approvers@example.com".into()],
        subject: "s".into(),
        text: "t".into(),
        html: "h".into(),
    };
    let now = time::OffsetDateTime::now_utc();
    use countersign_domain::ports::Outbox;
    assert!(store.enqueue(&pending, now).await.unwrap());
    drop(store);
    let reopened = LocalStore::open(&path).unwrap();
    let due = reopened
        .lease_due(now, now + time::Duration::minutes(1), 10)
        .await
        .unwrap();
    assert!(
        due.iter().any(|e| e.message == pending),
        "a restart loses nothing"
    );
}

#[tokio::test]
async fn racing_rollbacks_and_approvals_serialise_per_environment() {
    let (_dir, services) = services(LocalStore::open_in_memory().unwrap());
    countersign_port_contract::racing_rollbacks_and_approvals_keep_live_equal_to_the_log(
        &services, 20,
    )
    .await;
}
