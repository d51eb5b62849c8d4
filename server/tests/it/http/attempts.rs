//! Every signing attempt is kept: a refusal when the decision is chosen, as one when it is
//! signed, is found in the group's trail and on the version's timeline.

use super::*;

/// The refused attempts in `group`'s trail, as `(actor, reason)`.
async fn refused_in_the_trail(app: &TestApp, cookie: &str, group: &str) -> Vec<(String, String)> {
    let bundle = app
        .get(&format!("/models/{group}/export/audit.json"), Some(cookie))
        .await
        .json();
    bundle["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| serde_json::from_str::<Value>(entry.as_str().unwrap()).unwrap())
        .filter(|entry| entry["event"]["type"] == "signing_attempted")
        .map(|entry| {
            let attempt = &entry["event"]["attempt"];
            assert_eq!(attempt["outcome"]["kind"], "refused", "{entry}");
            (
                entry["actor"].as_str().unwrap().to_owned(),
                attempt["outcome"]["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

// Proves: AT-02.
#[tokio::test]
async fn each_refusal_when_a_decision_is_chosen_is_kept_in_the_trail_and_on_the_timeline() {
    let app = TestApp::new(&[]).await;
    app.register("churn", "dana").await;
    app.register("own", "alice").await;
    let alice = app.sign_in("alice").await;
    let bob = app.sign_in("bob").await;
    let dana = app.sign_in("dana").await;

    // Not an approver.
    let reply = app.decide(&dana, "churn", "dev", "approve", "").await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    // Already decided.
    let reply = app.decide(&alice, "churn", "dev", "approve", "fine").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = app.decide(&bob, "churn", "dev", "reject", "too late").await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    // Their own version.
    let reply = app.decide(&alice, "own", "dev", "approve", "").await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);

    let refused = refused_in_the_trail(&app, &alice, "churn").await;
    assert_eq!(
        refused,
        [
            (
                "dana".to_owned(),
                "you are not in an approver group for dev".to_owned()
            ),
            (
                "bob".to_owned(),
                "dev is already Approved; a decided step is not decided again".to_owned()
            ),
        ]
    );
    let own = refused_in_the_trail(&app, &alice, "own").await;
    assert_eq!(own.len(), 1, "{own:?}");
    assert!(own[0].1.contains("someone else must approve"), "{own:?}");

    let page = app.get("/models/churn/versions/1", Some(&alice)).await;
    for (by, what) in [
        (
            "(approve dev) by Dana Scientist",
            "refused: you are not in an approver group for dev",
        ),
        ("(reject dev) by Bob Reviewer", "refused: dev is already"),
    ] {
        let line = page
            .body
            .split("<span class=\"attempt\">")
            .skip(1)
            .find(|line| line.contains(by));
        assert!(
            line.is_some_and(|line| line.contains(what)),
            "{by}: {what:?} on the timeline"
        );
    }
}

#[tokio::test]
async fn input_that_names_no_decision_is_refused_and_keeps_nothing() {
    let app = TestApp::new(&[]).await;
    app.register("churn", "dana").await;
    let alice = app.sign_in("alice").await;
    let reply = app.decide(&alice, "churn", "dev", "maybe", "").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    let reply = app.decide(&alice, "churn", "staging", "approve", "").await;
    assert_ne!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(refused_in_the_trail(&app, &alice, "churn").await.is_empty());
    // A group that does not exist: refused, and no trail is begun for it.
    let reply = app.decide(&alice, "nosuch", "dev", "approve", "").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    let nosuch = countersign_domain::GroupName::parse("nosuch").unwrap();
    let bundle = app
        .backing
        .audit
        .bundle(&nosuch, countersign_audit::desk::Period::default())
        .await
        .unwrap();
    assert!(bundle.entries.is_empty(), "{:?}", bundle.entries);
}
