//! The reviews for the audit reviewers: the access review (`/reviews/access` and its CSV:
//! who may sign, who did within a period, each person's last sign-in) and the audit-trail
//! review (`/reviews/trail`: every trail verified, its exceptions listed); refused to everyone
//! else.

use crate::support::{csv_rows, TestApp};
use axum::http::StatusCode;

/// dana reviews (her group is the reviewers'); alice approved churn for dev; bob signed in.
async fn reviewed_portal() -> (TestApp, String, String) {
    let app = TestApp::new(&[("AUDIT_REVIEWERS", "data-scientists")]).await;
    let alice = app.churn_approved_for_dev("metrics hold up").await;
    app.sign_in("bob").await;
    let dana = app.sign_in("dana").await;
    (app, alice, dana)
}

// Proves: AC-09.
#[tokio::test]
async fn the_access_review_shows_who_may_sign_who_did_and_when_each_person_last_signed_in() {
    let (app, alice, dana) = reviewed_portal().await;
    let page = app.get("/reviews/access", Some(&dana)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for shown in [
        "Access review",
        "May sign: members of approvers (1 approval needed).",
        "Alice Approver",
        "Bob Reviewer",
        "Nobody signed in this environment within the period.",
        "Each person&#x27;s last sign-in",
    ] {
        let shown_either =
            page.body.contains(shown) || page.body.contains(&shown.replace("&#x27;", "'"));
        assert!(shown_either, "{shown}: {}", page.body);
    }

    assert!(
        page.body
            .contains(r#"<a href="/reviews/access">Access review</a>"#)
            && page.body.contains("audit reviewer"),
        "the header leads reviewers to it"
    );
    let models = app.get("/models", Some(&alice)).await;
    assert!(!models.body.contains(r#"<a href="/reviews/access">"#));

    let csv = app.get("/reviews/access.csv", Some(&dana)).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert!(
        csv.body.starts_with("# Countersign: access review"),
        "{}",
        csv.body
    );
    let rows = csv_rows(&csv.body);
    let signed: Vec<(&str, &str, &str)> = rows
        .iter()
        .filter(|r| r["row"] == "signed")
        .map(|r| {
            (
                r["environment"].as_str(),
                r["identifier"].as_str(),
                r["signatures"].as_str(),
            )
        })
        .collect();
    assert_eq!(signed, [("dev", "alice", "1")]);
    let nobody: Vec<&str> = rows
        .iter()
        .filter(|r| r["row"] == "nobody_signed")
        .map(|r| r["environment"].as_str())
        .collect();
    assert_eq!(nobody, ["test", "uat", "prod"]);
    let mut seen: Vec<&str> = rows
        .iter()
        .filter(|r| r["row"] == "last_sign_in")
        .map(|r| r["identifier"].as_str())
        .collect();
    seen.sort();
    assert_eq!(seen, ["alice", "bob", "dana"]);

    // A period after the signature: nobody signed anywhere in it.
    let later = app
        .get("/reviews/access.csv?from=2999-01-01&to=", Some(&dana))
        .await;
    assert!(
        csv_rows(&later.body).iter().all(|r| r["row"] != "signed"),
        "{}",
        later.body
    );
    let wrong = app
        .get("/reviews/access.csv?from=yesterday", Some(&dana))
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(
        wrong.body.contains("\"yesterday\" is not a date"),
        "{}",
        wrong.body
    );

    let certified = app
        .get("/reviews/access.csv?certified=true", Some(&dana))
        .await
        .json();
    let copy: countersign_audit::CertifiedCopy = serde_json::from_value(certified).unwrap();
    let certification = copy.verify(app.backing.audit.notary.public_key()).unwrap();
    assert_eq!(certification.file, "countersign-access-review.csv");
}

// Proves: AC-09, AT-10.
#[tokio::test]
async fn the_access_review_is_refused_to_strangers_and_to_everyone_but_the_reviewers() {
    let (app, alice, _) = reviewed_portal().await;
    let refused = app.get("/reviews/access", Some(&alice)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.body.contains("Bob Reviewer"));
    let csv = app.get("/reviews/access.csv", Some(&alice)).await;
    assert_eq!(csv.status, StatusCode::FORBIDDEN);
    let rpc = app
        .post_form(
            "/rpc/access_review",
            "from=&to=",
            Some(&alice),
            "application/json",
        )
        .await;
    assert_eq!(rpc.status, StatusCode::FORBIDDEN, "{}", rpc.body);

    let trail = app.get("/reviews/trail", Some(&alice)).await;
    assert_eq!(trail.status, StatusCode::FORBIDDEN);
    let rpc = app
        .post_form(
            "/rpc/trail_review",
            "from=&to=",
            Some(&alice),
            "application/json",
        )
        .await;
    assert_eq!(rpc.status, StatusCode::FORBIDDEN, "{}", rpc.body);
    let rpc = app
        .post_form("/rpc/trail_review", "from=&to=", None, "application/json")
        .await;
    assert_eq!(rpc.status, StatusCode::UNAUTHORIZED);

    let stranger = app.get("/reviews/access", None).await;
    assert_ne!(stranger.status, StatusCode::OK);
    assert!(!stranger.body.contains("Alice Approver"));
    let rpc = app
        .post_form("/rpc/access_review", "from=&to=", None, "application/json")
        .await;
    assert_eq!(rpc.status, StatusCode::UNAUTHORIZED);
    let csv = app.get("/reviews/access.csv", None).await;
    assert_eq!(csv.status, StatusCode::SEE_OTHER);
}

// Proves: AT-10.
#[tokio::test]
async fn the_trail_review_verifies_every_trail_and_lists_the_exceptions_in_it() {
    let (app, _, dana) = reviewed_portal().await;
    // dana is no approver: her choice is refused, and kept.
    let refused = app
        .decide(&dana, "churn", "dev", "approve", "looks fine")
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);

    let page = app.get("/reviews/trail", Some(&dana)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = page.body;
    for shown in [
        "Audit trail review",
        "Entries at any time.",
        "<th scope=\"row\">churn</th>",
        "<th scope=\"row\">_countersign</th>",
        "verified up to entry",
        "signing attempt refused",
        "Dana Scientist (dana) could not approve version 1 in dev",
        r#"<a href="/reviews/trail">Audit review</a>"#,
    ] {
        assert!(body.contains(shown), "{shown}: {body}");
    }
    assert!(!body.contains("DOES NOT VERIFY"), "{body}");

    let later = app
        .get("/reviews/trail?from=2999-01-01", Some(&dana))
        .await
        .body;
    assert!(later.contains("No exceptions in this period."), "{later}");
}
