//! Manifestations of signatures and certified copies (21 CFR 11.50, 11.10(b); EU GMP Annex
//! 11 §8): every export says, per signature, who signed, when to the second, what it meant,
//! in which role and whether it still binds its record; a printable signed record per
//! version; and exports the portal certifies, which `countersign audit verify` checks.

use crate::support::{csv_rows, TestApp};
use axum::http::StatusCode;
use serde_json::Value;

/// The image of churn version 1 re-pointed in the registry, outside the portal.
fn repoint_the_image(app: &TestApp) {
    let raw = rusqlite::Connection::open(&app.config.database).unwrap();
    let changed = raw
        .execute(
            "UPDATE model_versions SET image_uri = 'registry.example/churn:8' \
             WHERE group_name = 'churn' AND version = 1",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
}

// Proves: SIG-08.
#[tokio::test]
async fn a_signature_shows_its_role_and_whether_it_still_binds_in_every_export() {
    let app = TestApp::new(&[]).await;
    let alice = app.churn_approved_for_dev("=HYPERLINK(\"x\")").await;
    let json = |body: &str| serde_json::from_str::<Value>(body).unwrap();

    let history = app
        .get("/models/churn/export/history.json", Some(&alice))
        .await;
    let decision = &json(&history.body)["decisions"][0];
    assert_eq!(decision["signer_role"], "approver for dev");
    assert_eq!(decision["still_binds"], true);
    assert_eq!(decision["binding_problem"], Value::Null);
    assert_eq!(decision["decided_by"]["name"], "Alice Approver");

    repoint_the_image(&app);
    for history in [
        app.get("/models/churn/export/history.json", Some(&alice))
            .await
            .json(),
        app.get("/api/v1/models/churn/history", None).await.json(),
    ] {
        let decision = &history["decisions"][0];
        assert_eq!(decision["still_binds"], false, "{history}");
        assert!(
            decision["binding_problem"]
                .as_str()
                .unwrap()
                .contains("record of version 1 changed after it was signed"),
            "{history}"
        );
    }

    let csv = app
        .get("/models/churn/export/history.csv", Some(&alice))
        .await
        .body;
    let preamble: Vec<&str> = csv.lines().take_while(|l| l.starts_with('#')).collect();
    assert_eq!(preamble.len(), 3, "{csv}");
    assert!(
        preamble[0].starts_with("# Countersign: decisions of model group churn exported ")
            && preamble[1] == "# Audit trail when exported: holds"
            && preamble[2].contains("begin with an added ' so that no spreadsheet runs them"),
        "{csv}"
    );
    assert!(
        preamble.iter().all(|line| !line.contains(',')),
        "one cell each"
    );
    let rows = csv_rows(&csv);
    assert_eq!(rows.len(), 1, "{csv}");
    let row = &rows[0];
    assert_eq!(row["decided_by_name"], "Alice Approver");
    assert_eq!(row["meaning"], "Approved for release to dev");
    assert_eq!(row["signer_role"], "approver for dev");
    assert_eq!(row["still_binds"], "no");
    assert_eq!(row["reason"], "'=HYPERLINK(\"x\")", "the formula defused");
    assert!(
        row["decided_at"].len() >= "2026-12-07T08:00:00Z".len(),
        "{}",
        row["decided_at"]
    );

    let trail = app
        .backing
        .audit
        .bundle(
            &countersign_domain::GroupName::parse("churn").unwrap(),
            countersign_audit::desk::Period::default(),
        )
        .await
        .unwrap();
    let broken: Vec<&String> = trail
        .entries
        .iter()
        .filter(|entry| entry.contains("\"signature_no_longer_binds\""))
        .collect();
    assert_eq!(
        broken.len(),
        1,
        "an export that finds a broken signature keeps it in the trail, once: {:?}",
        trail.entries
    );
}

// Proves: AT-08.
#[tokio::test]
async fn a_certified_copy_verifies_offline_with_the_portals_key_and_a_changed_one_fails() {
    let app = TestApp::new(&[]).await;
    let alice = app.churn_approved_for_dev("=HYPERLINK(\"x\")").await;
    let key = app.get("/api/v1/audit/public-key", None).await.json()["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = app
        .get(
            "/models/churn/export/history.csv?certified=true",
            Some(&alice),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("churn-decisions.csv.certified.json"));
    let copy = reply.json();
    assert_eq!(copy["format"], "countersign-certified-copy/1");
    assert_eq!(csv_rows(copy["content"].as_str().unwrap()).len(), 1);

    let (code, said) = crate::audit::audit_verify(&copy, &["--key", &key], None);
    assert_eq!(code, 0, "{said}");
    assert!(
        said.starts_with("certified copy of churn-decisions.csv of model group churn, certified ")
            && said.contains(" for alice Alice Approver")
            && said.ends_with("OK\n"),
        "{said}"
    );
    let (code, said) = crate::audit::audit_verify(&copy, &[], None);
    assert_eq!(
        code, 1,
        "without a key kept apart it is not trusted: {said}"
    );

    let mut changed = copy.clone();
    changed["content"] = Value::from(
        copy["content"]
            .as_str()
            .unwrap()
            .replace("Alice Approver", "Mallory"),
    );
    let (code, said) = crate::audit::audit_verify(&changed, &["--key", &key], None);
    assert_eq!(code, 1, "{said}");
    assert!(
        said.contains(
            "FAILED: churn-decisions.csv is not a true certified copy: its content was changed"
        ),
        "{said}"
    );

    let exports = crate::system_trail::system_events(&app.backing).await;
    assert!(
        exports.iter().any(|(actor, event)| actor == "alice"
            && matches!(event, countersign_domain::audit::SystemEvent::Exported { file, .. }
                if file == "history.csv (certified copy)")),
        "{exports:?}"
    );
}

// Proves: SIG-08.
#[tokio::test]
async fn the_signed_record_prints_each_signature_with_its_manifestation_without_script() {
    let app = TestApp::new(&[]).await;
    let alice = app.churn_approved_for_dev("=HYPERLINK(\"x\")").await;
    let page = app
        .get("/models/churn/versions/1/record", Some(&alice))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let body = page.body;
    for shown in [
        "churn version 1: signed record",
        "Approved dev",
        "Alice Approver",
        "Approved for release to dev",
        "approver for dev",
        "Yes: version 1 in the registry is as it was signed.",
        "Recorded in the audit trail as shown.",
        "registry.example/churn:7",
    ] {
        assert!(body.contains(shown), "{shown}: {body}");
    }
    assert!(
        !body.contains("<leptos-island"),
        "no part of it needs JavaScript"
    );
    let decided_at = regex_lite_time(&body);
    assert!(decided_at, "times to the second, in UTC: {body}");

    repoint_the_image(&app);
    let body = app
        .get("/models/churn/versions/1/record", Some(&alice))
        .await
        .body;
    assert!(
        body.contains("NO: the registry&#x27;s record of version 1 changed after it was signed.")
            || body.contains("NO: the registry's record of version 1 changed after it was signed."),
        "{body}"
    );
}

/// Whether `body` shows a time as `YYYY-MM-DD HH:MM:SS UTC`.
fn regex_lite_time(body: &str) -> bool {
    body.match_indices(" UTC").any(|(at, _)| {
        at >= 19
            && body.is_char_boundary(at - 19)
            && body[at - 19..at].chars().enumerate().all(|(i, c)| match i {
                4 | 7 => c == '-',
                10 => c == ' ',
                13 | 16 => c == ':',
                _ => c.is_ascii_digit(),
            })
    })
}

// Proves: AC-07.
#[tokio::test]
async fn the_signed_record_and_certified_copies_are_refused_to_strangers_and_non_viewers() {
    let app = TestApp::new(&[("VIEWERS", "approvers")]).await;
    app.churn_approved_for_dev("=HYPERLINK(\"x\")").await;
    let stranger = app.get("/models/churn/versions/1/record", None).await;
    assert!(
        !stranger.body.contains("Alice Approver"),
        "{}",
        stranger.body
    );
    assert_ne!(stranger.status, StatusCode::OK);
    let rpc = app
        .post_form(
            "/rpc/signed_record",
            "group=churn&version=1",
            None,
            "application/json",
        )
        .await;
    assert_eq!(rpc.status, StatusCode::UNAUTHORIZED, "{}", rpc.body);

    let dana = app.sign_in("dana").await;
    let refused = app
        .get("/models/churn/versions/1/record", Some(&dana))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.body.contains("Alice Approver"));
    let rpc = app
        .post_form(
            "/rpc/signed_record",
            "group=churn&version=1",
            Some(&dana),
            "application/json",
        )
        .await;
    assert_eq!(rpc.status, StatusCode::FORBIDDEN, "{}", rpc.body);
    let copy = app
        .get(
            "/models/churn/export/history.csv?certified=true",
            Some(&dana),
        )
        .await;
    assert_eq!(copy.status, StatusCode::FORBIDDEN);
    let stranger_copy = app
        .get("/models/churn/export/history.csv?certified=true", None)
        .await;
    assert_eq!(stranger_copy.status, StatusCode::SEE_OTHER);
}
