//! The audit trail over HTTP and on the command line: what a signed-in viewer downloads,
//! what the API serves pipelines, the public key anyone keeps apart, and what
//! `countersign audit verify` (offline, no configuration) says of a bundle, untouched and
//! changed.

use crate::support::TestApp;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::Value;

/// `countersign audit verify <bundle> --key <key>`, as an auditor runs it: exit code and output.
fn verify_offline(bundle: &Value, key: &str) -> (i32, String) {
    audit_verify(bundle, &["--key", key], None)
}

/// `countersign audit verify <bundle> <options…>` (a bundle or a certified copy), with `seen`
/// as the file `--seen` names.
pub(crate) fn audit_verify(
    bundle: &Value,
    options: &[&str],
    seen: Option<&Value>,
) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.json");
    std::fs::write(&path, bundle.to_string()).unwrap();
    let seen_path = dir.path().join("seen.json");
    let mut args = vec!["audit", "verify", path.to_str().unwrap()];
    args.extend(options);
    if let Some(seen) = seen {
        std::fs::write(&seen_path, seen.to_string()).unwrap();
        args.extend(["--seen", seen_path.to_str().unwrap()]);
    }
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_countersign"))
        .args(args)
        .env_clear()
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[tokio::test]
async fn a_viewer_downloads_the_trail_and_anyone_verifies_it_offline_with_the_published_key() {
    let app = TestApp::new(&[]).await;
    let alice = app.churn_approved_for_dev("metrics hold up").await;

    let history = app.get("/models/churn/history", Some(&alice)).await;
    assert!(
        history
            .body
            .contains("Audit trail verified up to entry 3 at "),
        "{}",
        history.body
    );
    assert!(history.body.contains("/models/churn/export/audit.json"));

    let anonymous = app.get("/models/churn/export/audit.json", None).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER, "sign in first");
    let download = app
        .get("/models/churn/export/audit.json", Some(&alice))
        .await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(
        download.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"churn-audit.json\""
    );
    let bundle = download.json();
    assert_eq!(bundle["entries"].as_array().unwrap().len(), 4);

    let key = app.get("/api/v1/audit/public-key", None).await.json()["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(key, bundle["public_key"]);
    let (code, said) = verify_offline(&bundle, &key);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("verified up to entry 3"), "{said}");
    assert!(
        said.contains("the workflow's rules hold for 1 decision"),
        "{said}"
    );

    // Alice's reason, changed in the downloaded bundle.
    let mut changed = bundle.clone();
    let entry = changed["entries"][3].as_str().unwrap().to_owned();
    assert!(entry.contains("metrics hold up"));
    changed["entries"][3] = Value::from(entry.replace("metrics hold up", "metrics held up"));
    let (code, said) = verify_offline(&changed, &key);
    assert_eq!(code, 1, "{said}");
    assert!(
        said.contains("FAILED: entry 3: changed after it was signed"),
        "{said}"
    );
    assert!(said.contains("verified up to entry 2"), "{said}");

    // A bundle re-signed by someone else fails against the key kept apart.
    let (code, said) = verify_offline(
        &bundle,
        "someone.example+01234567+AbejtfRnqey9LNYANu5kSRtf9LfDIkI14BKqhv2U5QLO",
    );
    assert_eq!(code, 1, "{said}");
}

#[tokio::test]
async fn the_history_page_checks_the_trail_again_once_anything_in_it_changed() {
    let app = TestApp::new(&[]).await;
    let alice = app.churn_approved_for_dev("metrics hold up").await;
    for _ in 0..2 {
        let history = app.get("/models/churn/history", Some(&alice)).await.body;
        assert!(
            history.contains("Audit trail verified up to entry 3 at "),
            "{history}"
        );
    }

    // Alice's reason rewritten in the store, past the triggers that forbid it.
    let raw = rusqlite::Connection::open(&app.config.database).unwrap();
    raw.execute_batch("DROP TRIGGER audit_entries_are_never_changed;")
        .unwrap();
    let rewritten = raw
        .execute(
            "UPDATE audit_entries SET entry = replace(entry, 'metrics hold up', 'metrics held up') \
             WHERE group_name = 'churn' AND seq = 3",
            [],
        )
        .unwrap();
    assert_eq!(rewritten, 1);
    let history = app.get("/models/churn/history", Some(&alice)).await.body;
    assert!(
        history.contains("The audit trail does not verify: entry 3"),
        "a verdict reached before the change is not reused: {history}"
    );
}

#[tokio::test]
async fn the_api_serves_the_trail_to_pipelines_for_a_period_and_refuses_a_period_it_cannot_read() {
    use countersign_server::http::api::auth::hex_digest;
    let token = "cst_audit-reader-token-0123456789abcdef";
    let tokens = format!(
        "auditor:resolve:{}, ci:register:{}",
        hex_digest(token),
        hex_digest("cst_ci-token-0123456789abcdefghij")
    );
    let app = TestApp::new(&[("API_TOKENS", &tokens)]).await;
    let services = &app.backing.services;
    use countersign_domain::testing::{person, registration};
    services
        .register(registration("churn", person("dana")))
        .await
        .unwrap();
    let get = |uri: &str, token: Option<&str>| {
        let mut request = Request::get(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        app.send(request.body(Body::empty()).unwrap())
    };
    let all = get("/api/v1/models/churn/audit", Some(token)).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(all.json()["entries"].as_array().unwrap().len(), 3);
    assert_eq!(
        get("/api/v1/models/churn/audit", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let registering_only = get(
        "/api/v1/models/churn/audit",
        Some("cst_ci-token-0123456789abcdefghij"),
    )
    .await;
    assert_eq!(registering_only.status, StatusCode::FORBIDDEN);
    assert_eq!(registering_only.json()["code"], "insufficient_scope");
    let before = get("/api/v1/models/churn/audit?to=2020-01-01", Some(token)).await;
    assert_eq!(before.status, StatusCode::OK);
    assert_eq!(before.json()["entries"].as_array().unwrap().len(), 0);
    let bad = get("/api/v1/models/churn/audit?from=yesterday", Some(token)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.json()["message"]
        .as_str()
        .unwrap()
        .contains("\"yesterday\""));
}

// Proves: AT-04.
#[tokio::test]
async fn a_decision_rewritten_or_removed_in_the_log_is_shown_as_the_trail_holds_it_and_named() {
    let app = TestApp::new(&[]).await;
    let alice = app.churn_approved_for_dev("metrics hold up").await;
    let raw = rusqlite::Connection::open(&app.config.database).unwrap();
    let refused = raw.execute("UPDATE decisions SET reason = 'rubber-stamped'", []);
    assert!(
        refused.is_err_and(|e| e.to_string().contains("append-only")),
        "the log refuses an edit, as the trail's table does"
    );

    // Past the trigger, as anyone holding the file can.
    raw.execute_batch("DROP TRIGGER decisions_are_never_changed;")
        .unwrap();
    let rewritten = raw
        .execute(
            "UPDATE decisions SET reason = 'rubber-stamped' WHERE group_name = 'churn'",
            [],
        )
        .unwrap();
    assert_eq!(rewritten, 1);
    let history = app.get("/models/churn/history", Some(&alice)).await.body;
    assert!(
        history.contains("The decision log and the audit trail disagree about 1 decision;")
            && !history.contains("Audit trail verified"),
        "{history}"
    );
    assert!(
        history.contains("metrics hold up") && !history.contains("rubber-stamped"),
        "the decision is shown as the trail holds it: {history}"
    );
    assert!(history.contains("differs from the audit trail in its reason"));
    let page = app.get("/models/churn/versions/1", Some(&alice)).await.body;
    assert!(
        page.contains("The decision log disagrees with the audit trail")
            && page.contains("metrics hold up")
            && !page.contains("rubber-stamped"),
        "the version page reads the decision's own entry: {page}"
    );

    let export = app
        .get("/models/churn/export/history.json", Some(&alice))
        .await;
    let exported = export.json();
    assert_eq!(exported["audit_trail"]["holds"], false);
    let decision = &exported["decisions"][0];
    assert_eq!(decision["reason"], "metrics hold up");
    assert_eq!(
        decision["trail_mismatch"],
        serde_json::json!({"kind": "differs", "fields": ["reason"]})
    );
    let csv = app
        .get("/models/churn/export/history.csv", Some(&alice))
        .await
        .body;
    assert!(
        csv.contains(
            "\n# Audit trail when exported: DOES NOT HOLD (problems: 1; see history.json)\n"
        ),
        "{csv}"
    );
    let rows = crate::support::csv_rows(&csv);
    assert_eq!(rows[0]["reason"], "metrics hold up", "{csv}");
    assert_eq!(rows[0]["trail_mismatch"], "differs: reason", "{csv}");
    let served = app.get("/api/v1/models/churn/history", None).await;
    assert_eq!(served.status, StatusCode::OK, "{}", served.body);
    assert_eq!(
        served.json()["decisions"],
        exported["decisions"],
        "the API serves what the export holds"
    );

    raw.execute_batch(
        "DROP TRIGGER decisions_are_never_removed; DELETE FROM decisions WHERE group_name = 'churn';",
    )
    .unwrap();
    let history = app.get("/models/churn/history", Some(&alice)).await.body;
    assert!(
        history.contains("metrics hold up")
            && history.contains("the audit trail holds it, the decision log does not"),
        "a removed row is still shown, from the trail, and named: {history}"
    );
    let exported = app
        .get("/models/churn/export/history.json", Some(&alice))
        .await
        .json();
    assert_eq!(
        exported["decisions"][0]["trail_mismatch"]["kind"],
        "not_in_log"
    );
}

/// The inbox's approvals count is the trail's: an approval written into the log around the
/// portal neither counts nor hides, and the row names it.
#[tokio::test]
async fn the_inbox_counts_the_approvals_the_trail_holds_and_names_one_it_lacks() {
    let app = TestApp::new(&[("REQUIRED_APPROVALS_DEV", "3")]).await;
    app.register("churn", "dana").await;
    let raw = rusqlite::Connection::open(&app.config.database).unwrap();
    raw.execute(
        "INSERT INTO decisions (id, group_name, version, environment, verdict, reason, \
         decided_by_subject, decided_by_name, decided_by_email, decided_at, resulting_state) \
         VALUES ('forged-approval', 'churn', 1, 'dev', 'approve', 'fine by me', 'mallory', \
         'Mallory', 'mallory@example.com', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), \
         'PendingManualApproval')",
        [],
    )
    .unwrap();
    let alice = app.sign_in("alice").await;
    let signed = app
        .decide(&alice, "churn", "dev", "approve", "metrics hold up")
        .await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);

    let bob = app.sign_in("bob").await;
    let inbox = app.get("/inbox", Some(&bob)).await.body;
    assert!(
        inbox.contains("(1 of 3 approvals)") && !inbox.contains("2 of 3"),
        "alice's approval counts, the forged one does not: {inbox}"
    );
    assert!(
        inbox.contains("The decision log disagrees with the audit trail")
            && inbox.contains(
                "by mallory (forged-approval): the decision log holds it, the audit trail does not"
            ),
        "{inbox}"
    );
}

// Proves: AT-05.
#[tokio::test]
async fn the_verifier_trusts_only_a_key_kept_apart_and_catches_a_trail_rolled_back_behind_it() {
    let app = TestApp::new(&[]).await;
    let alice = app.churn_approved_for_dev("metrics hold up").await;
    let export = || app.get("/models/churn/export/audit.json", Some(&alice));
    let kept = export().await.json();
    let key = app.get("/api/v1/audit/public-key", None).await.json()["public_key"]
        .as_str()
        .unwrap()
        .to_owned();

    let (code, said) = audit_verify(&kept, &[], None);
    assert_eq!(code, 1, "{said}");
    assert!(
        said.contains("WARNING: verified with the key inside the file")
            && said.contains("NOT TRUSTED"),
        "{said}"
    );
    let (code, said) = audit_verify(&kept, &["--trust-bundle-key"], None);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("WARNING") && said.ends_with("OK\n"), "{said}");

    // The trail grows; the bundle kept earlier is extended by the new one.
    app.register("churn", "dana").await;
    let grown = export().await.json();
    let (code, said) = audit_verify(&grown, &["--key", &key], Some(&kept));
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("the bundle extends"), "{said}");

    // Rolled back to before alice's decision, the checkpoints since dropped with it: it
    // verifies alone, not against what the auditor kept.
    let mut rolled_back = grown.clone();
    let entries = rolled_back["entries"].as_array_mut().unwrap();
    entries.truncate(3);
    let checkpoints = rolled_back["checkpoints"].as_array_mut().unwrap();
    checkpoints.retain(|note| {
        let size = note.as_str().unwrap().lines().nth(1).unwrap();
        size.parse::<usize>().unwrap() <= 3
    });
    let (code, said) = verify_offline(&rolled_back, &key);
    assert_eq!(code, 0, "a rollback verifies on its own: {said}");
    let (code, said) = audit_verify(&rolled_back, &["--key", &key], Some(&kept));
    assert_eq!(code, 1, "{said}");
    assert!(
        said.contains("FAILED") && said.contains("not an extension of what you kept"),
        "{said}"
    );
}

#[tokio::test]
async fn the_embedded_store_keeps_its_audit_key_in_a_file_apart_from_the_database() {
    let app = TestApp::new(&[]).await;
    let mut name = app.config.database.as_os_str().to_owned();
    name.push(".audit-key");
    let key = std::fs::read_to_string(&name).expect("the key file beside the database");
    let notary = countersign_audit::Notary::from_key(&key).unwrap();
    let published = app.get("/api/v1/audit/public-key", None).await.json();
    assert_eq!(published["public_key"], notary.public_key());
    let raw = rusqlite::Connection::open(&app.config.database).unwrap();
    let in_the_database: i64 = raw
        .query_row(
            "SELECT count(*) FROM settings WHERE key = 'audit_signing_key'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        in_the_database, 0,
        "whoever can write the database cannot read the key there"
    );
}

#[tokio::test]
async fn the_history_page_shows_decisions_a_page_at_a_time_newest_first() {
    let app = TestApp::new(&[]).await;
    let alice = app.sign_in("alice").await;
    for version in 1..=52u32 {
        app.register("churn", "dana").await;
        let form = format!(
            "group=churn&version={version}&environment=dev&verdict=reject&reason=not+{version}"
        );
        let signed = app.sign(&alice, "churn", version, &form).await;
        assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
    }
    let first = app.get("/models/churn/history", Some(&alice)).await.body;
    assert!(
        first.contains("Every decision, newest first (52)"),
        "{first}"
    );
    assert!(first.contains("not 52") && first.contains("not 3"));
    assert!(
        !first.contains("not 2<") && !first.contains("not 1<"),
        "older ones on the next page"
    );
    assert!(first.contains("Page 1 of 2") && first.contains("Audit trail verified up to entry"));
    let second = app
        .get("/models/churn/history?page=2", Some(&alice))
        .await
        .body;
    assert!(
        second.contains("not 2<") && second.contains("not 1<"),
        "{second}"
    );
    assert!(!second.contains("not 52"));
}

#[tokio::test]
async fn a_row_back_dated_to_before_the_trail_about_a_version_seen_since_is_named() {
    let app = TestApp::new(&[]).await;
    let alice = app.churn_approved_for_dev("metrics hold up").await;
    let raw = rusqlite::Connection::open(&app.config.database).unwrap();
    // A second approval of version 1, written around the portal and dated years before the
    // trail began, as if it came from before the trail existed.
    let columns = "group_name, version, environment, verdict, decided_by_subject, \
                   decided_by_name, decided_by_email, resulting_state, signature_meaning, \
                   record_digest, signature_replaces, signature_authentication";
    let inserted = raw
        .execute(
            &format!(
                "INSERT INTO decisions (id, reason, decided_at, {columns}) \
                 SELECT 'back-dated', 'always approved', '2001-01-01T00:00:00Z', {columns} \
                 FROM decisions WHERE group_name = 'churn'"
            ),
            [],
        )
        .unwrap();
    assert_eq!(inserted, 1);
    let history = app.get("/models/churn/history", Some(&alice)).await.body;
    assert!(
        history.contains("The decision log and the audit trail disagree about 1 decision;"),
        "version 1 was first seen after the trail began: {history}"
    );
    assert!(history.contains("always approved"));
    let page = app.get("/models/churn/versions/1", Some(&alice)).await.body;
    assert!(
        page.contains("The decision log disagrees with the audit trail"),
        "{page}"
    );
}

#[tokio::test]
async fn the_verifier_takes_checkpoints_kept_as_files_in_a_directory() {
    let app = TestApp::new(&[]).await;
    let alice = app.churn_approved_for_dev("metrics hold up").await;
    let export = || app.get("/models/churn/export/audit.json", Some(&alice));
    let kept = export().await.json();
    let key = app.get("/api/v1/audit/public-key", None).await.json()["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    // One note a file, as copying the audit bucket's `audit/churn/` prefix leaves them.
    let dir = tempfile::tempdir().unwrap();
    for (i, note) in kept["checkpoints"].as_array().unwrap().iter().enumerate() {
        std::fs::write(dir.path().join(format!("{i:012}")), note.as_str().unwrap()).unwrap();
    }
    let verify = |bundle: &Value| {
        let file = dir.path().with_extension("bundle.json");
        std::fs::write(&file, bundle.to_string()).unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_countersign"))
            .args([
                "audit",
                "verify",
                file.to_str().unwrap(),
                "--key",
                &key,
                "--seen",
            ])
            .arg(dir.path())
            .env_clear()
            .output()
            .unwrap();
        (
            output.status.code().unwrap(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    let (code, said) = verify(&kept);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("the bundle extends"), "{said}");
    let mut rolled_back = kept.clone();
    rolled_back["entries"].as_array_mut().unwrap().truncate(3);
    rolled_back["checkpoints"]
        .as_array_mut()
        .unwrap()
        .retain(|note| {
            note.as_str()
                .unwrap()
                .lines()
                .nth(1)
                .unwrap()
                .parse::<u32>()
                .unwrap()
                <= 3
        });
    let (code, said) = verify(&rolled_back);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("not an extension of what you kept"), "{said}");
}
