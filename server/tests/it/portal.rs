//! The pages people open every day, server-rendered as a browser without JavaScript gets
//! them: the home page, the inbox, "your models", a group's live versions, the groups filter.

use crate::support::TestApp;
use axum::http::{header, StatusCode};
use serde_json::json;

/// Registers the next version of `group` by dana with these metrics.
async fn register_with(app: &TestApp, group: &str, metrics: serde_json::Value) {
    let reply = register_version(app, group, metrics, json!({})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
}

/// Posts the next version of `group` by dana with these metrics and custom metadata.
async fn register_version(
    app: &TestApp,
    group: &str,
    metrics: serde_json::Value,
    metadata: serde_json::Value,
) -> crate::support::Reply {
    app.post_json(
        &format!("/api/v1/models/{group}/versions"),
        &json!({
            "image_uri": "registry.example/churn:8",
            "model_data_url": "s3://models/churn/8.tar.gz",
            "metrics": metrics,
            "metadata": metadata,
            "registered_by": {"subject": "dana", "name": "Dana Scientist", "email": "dana@example.com"}
        }),
    )
    .await
}

/// Churn version 1, by dana, approved for dev by alice; alice's session.
async fn churn_live_in_dev(app: &TestApp) -> String {
    app.register("churn", "dana").await;
    let alice = app.sign_in("alice").await;
    let approved = app.decide(&alice, "churn", "dev", "approve", "fine").await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    alice
}

/// As [`churn_live_in_dev`], and fraud version 1 waiting for dev.
async fn churn_live_in_dev_and_fraud_waiting(app: &TestApp) -> String {
    let alice = churn_live_in_dev(app).await;
    app.register("fraud", "dana").await;
    alice
}

/// Where `body` first mentions `needle`; panics naming it when it does not.
fn position(body: &str, needle: &str) -> usize {
    body.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is not on the page"))
}

#[tokio::test]
async fn the_home_page_leads_approvers_to_their_inbox_and_others_to_their_models() {
    let app = TestApp::new(&[]).await;
    let alice = app.sign_in("alice").await;
    let dana = app.sign_in("dana").await;
    for (cookie, home) in [(&alice, "/inbox"), (&dana, "/mine")] {
        let page = app.get("/", Some(cookie)).await;
        assert!(page.status.is_redirection(), "{}", page.status);
        assert_eq!(page.headers[header::LOCATION], home);
    }
    let signed_out = app.get("/", None).await;
    assert_eq!(signed_out.status, StatusCode::UNAUTHORIZED);
    assert!(signed_out.body.contains("/sign-in?return_to=/"));
}

#[tokio::test]
async fn the_inbox_lists_what_waits_for_the_person_across_groups_the_longest_waiting_first() {
    let app = TestApp::new(&[]).await;
    app.register("churn", "dana").await;
    app.register("fraud", "dana").await;
    let alice = app.sign_in("alice").await;
    let bob = app.sign_in("bob").await;
    let approved = app
        .decide(&alice, "churn", "dev", "approve", "fine in dev")
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    // Version 2 of churn now waits in dev, where version 1 is live.
    register_with(&app, "churn", json!({"auc": 0.95, "log_loss": 0.31})).await;

    let inbox = app.get("/inbox", Some(&bob)).await;
    assert_eq!(inbox.status, StatusCode::OK);
    let body = &inbox.body;
    assert!(body.contains("3 steps wait for your decision"), "{body}");
    let fraud = position(
        body,
        r#"data-group="fraud" data-version="1" data-environment="dev""#,
    );
    let churn_test = position(
        body,
        r#"data-group="churn" data-version="1" data-environment="test""#,
    );
    let churn_dev = position(
        body,
        r#"data-group="churn" data-version="2" data-environment="dev""#,
    );
    assert!(
        fraud < churn_test && churn_test < churn_dev,
        "the longest waiting first"
    );
    assert!(
        body.contains("/models/churn/versions/1?environment=test"),
        "each row links to its review"
    );
    assert!(body.contains("Dana Scientist"), "the registrant is named");
    assert!(
        body.contains("vs version 1"),
        "compared with what is live in dev"
    );
    assert!(
        body.contains("auc 0.95 vs 0.91") && body.contains("(+0.04, better)"),
        "the metric both have, its difference and direction: {body}"
    );
    assert!(
        body.contains("Nothing is live here yet"),
        "nothing is live in test"
    );
    assert!(
        body.contains(r#"data-waiting="3""#) && body.contains(" steps waiting"),
        "the header counts them, in words for screen readers"
    );

    let alices = app.get("/inbox", Some(&alice)).await.body;
    assert!(
        alices.contains("3 steps wait for your decision"),
        "{alices}"
    );
    let dana = app.sign_in("dana").await;
    let danas = app.get("/inbox", Some(&dana)).await.body;
    assert!(danas.contains("You approve no environment"), "{danas}");
    let elsewhere = app.get("/models", Some(&bob)).await.body;
    assert!(
        elsewhere.contains(r#"data-waiting="3""#),
        "the count is in the header of every page"
    );
}

#[tokio::test]
async fn the_inbox_filters_by_group_name_as_the_groups_page_does() {
    let app = TestApp::new(&[]).await;
    app.register("churn", "dana").await;
    app.register("fraud", "dana").await;
    app.register("fraud-eu", "dana").await;
    let bob = app.sign_in("bob").await;

    let fraud = app.get("/inbox?q=+FRAUD+", Some(&bob)).await;
    assert_eq!(fraud.status, StatusCode::OK);
    let body = &fraud.body;
    assert!(
        body.contains(r#"2 steps in groups whose name contains "FRAUD" wait for your decision"#),
        "{body}"
    );
    assert!(body.contains(r#"data-group="fraud""#) && body.contains(r#"data-group="fraud-eu""#));
    assert!(!body.contains(r#"data-group="churn""#), "{body}");
    assert!(
        body.contains(r#"name="q" value="FRAUD""#),
        "the field keeps what was asked for"
    );
    assert!(
        body.contains(r#"data-waiting="3""#),
        "the header still counts everything waiting"
    );

    let nothing = app.get("/inbox?q=loans", Some(&bob)).await.body;
    assert!(
        nothing.contains(
            r#"No step waiting for your decision is in a group whose name contains "loans""#
        ),
        "{nothing}"
    );
    assert!(
        nothing.contains(r#"href="/inbox""#),
        "a way back to everything"
    );
}

#[tokio::test]
async fn the_inbox_lists_fifty_steps_a_page_keeping_its_filter() {
    let app = TestApp::new(&[]).await;
    for _ in 0..52 {
        app.register("churn", "dana").await;
    }
    app.register("fraud", "dana").await;
    let bob = app.sign_in("bob").await;
    let rows = |body: &str| body.matches(r#"data-group="churn""#).count();

    let first = app.get("/inbox?q=churn", Some(&bob)).await.body;
    assert!(
        first.contains(r#"52 steps in groups whose name contains "churn" wait"#),
        "the summary counts the whole inbox: {first}"
    );
    assert_eq!(rows(&first), 50, "fifty a page");
    assert!(first.contains(">Page 1 of 2<"), "{first}");
    assert!(
        first.contains(r#"href="/inbox?q=churn&amp;page=2""#),
        "the next page keeps the filter: {first}"
    );
    let second = app.get("/inbox?q=churn&page=2", Some(&bob)).await.body;
    assert_eq!(rows(&second), 2, "{second}");
    let beyond = app.get("/inbox?q=churn&page=9", Some(&bob)).await.body;
    assert!(
        beyond.contains("Page 9 is past the last, page 2")
            && beyond.contains(r#"href="/inbox?q=churn&amp;page=2""#),
        "a page past the last says so and leads back: {beyond}"
    );
    assert!(
        second.contains(r#"churn version 52"#) && !second.contains(r#"churn version 1<"#),
        "the newest last: {second}"
    );
    assert!(
        second.contains(r#"data-waiting="53""#),
        "the header counts everything waiting"
    );

    let decided = app.decide(&bob, "churn", "dev", "reject", "no").await;
    assert_eq!(decided.status, StatusCode::OK, "{}", decided.body);
    let after = app.get("/inbox?q=churn&page=2", Some(&bob)).await.body;
    assert!(
        after.contains(r#"data-waiting="52""#) && rows(&after) == 1,
        "this replica's own decision shows at once: {after}"
    );
}

#[tokio::test]
async fn a_step_already_approved_by_someone_leaves_their_inbox_and_stays_in_others() {
    let app = TestApp::builder()
        .setting("REQUIRED_APPROVALS_DEV", "2")
        .in_process()
        .await;
    app.register("churn", "dana").await;
    let alice = app.sign_in("alice").await;
    let bob = app.sign_in("bob").await;
    let first = app.decide(&alice, "churn", "dev", "approve", "fine").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let alices = app.get("/inbox", Some(&alice)).await.body;
    assert!(
        alices.contains("Nothing waits for your decision"),
        "{alices}"
    );
    let bobs = app.get("/inbox", Some(&bob)).await.body;
    assert!(bobs.contains("One step waits for your decision"), "{bobs}");
    assert!(bobs.contains("(1 of 2 approvals)"), "{bobs}");
}

#[tokio::test]
async fn your_models_shows_where_each_version_stands_and_its_latest_runs() {
    let app = TestApp::new(&[]).await;
    churn_live_in_dev_and_fraud_waiting(&app).await;
    let dana = app.sign_in("dana").await;

    let page = app.get("/mine", Some(&dana)).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    let fraud = position(body, r#"data-group="fraud" data-version="1""#);
    let churn = position(body, r#"data-group="churn" data-version="1""#);
    assert!(fraud < churn, "newest first");
    assert!(
        body.contains("approvers of test (approvers)"),
        "who churn waits for"
    );
    assert!(
        body.contains("approvers of dev (approvers)"),
        "who fraud waits for"
    );
    assert!(body.contains("No run reported"));

    let bob = app.sign_in("bob").await;
    let bobs = app.get("/mine", Some(&bob)).await.body;
    assert!(bobs.contains("No version registered by you yet"), "{bobs}");
}

#[tokio::test]
async fn a_group_page_says_what_is_live_where_and_the_groups_filter_by_name() {
    let app = TestApp::new(&[]).await;
    let alice = churn_live_in_dev_and_fraud_waiting(&app).await;

    let group = app.get("/models/churn", Some(&alice)).await.body;
    let live = &group[position(&group, "Live now")..];
    assert!(live.contains(r#"<li data-environment="dev"><strong>dev</strong>: <a href="/models/churn/versions/1">Version 1</a>"#), "{live}");
    assert!(live.contains(r#"<li data-environment="prod"><strong>prod</strong>: <span class="muted">Nothing live</span>"#), "{live}");

    let filtered = app.get("/models?q=FR", Some(&alice)).await.body;
    assert!(filtered.contains(r#"href="/models/fraud""#), "any case");
    assert!(!filtered.contains(r#"href="/models/churn""#));
    assert!(filtered.contains("1 of 2 groups"));
    let nothing = app.get("/models?q=zzz", Some(&alice)).await.body;
    assert!(
        nothing.contains(r#"No model group's name contains "zzz""#),
        "{nothing}"
    );
}

#[tokio::test]
async fn the_version_page_says_who_has_signed_who_is_needed_who_may_not_and_who_was_told() {
    let app = TestApp::builder()
        .setting("REQUIRED_APPROVALS_DEV", "2")
        .in_process()
        .await;
    app.register("churn", "dana").await;
    let alice = app.sign_in("alice").await;
    let first = app.decide(&alice, "churn", "dev", "approve", "fine").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);

    let page = app.get("/models/churn/versions/1", Some(&alice)).await.body;
    let waiting = &page[position(&page, "Waiting for approvers of dev (approvers)")..];
    assert!(
        waiting.contains(
            "Approved so far by Alice Approver; 1 more approval is needed (1 of 2 approvals)."
        ),
        "{waiting}"
    );
    assert!(waiting.contains("Dana Scientist registered this version and may not approve it."));
    assert!(
        waiting.contains("Nobody was notified: set COUNTERSIGN_NOTIFY_DEV"),
        "no address is configured for dev: {waiting}"
    );

    let told = TestApp::builder()
        .setting("NOTIFY_DEV", "ml-leads@example.com")
        .in_process()
        .await;
    told.register("churn", "dana").await;
    let page = told
        .get("/models/churn/versions/1", Some(&told.sign_in("bob").await))
        .await
        .body;
    assert!(!page.contains("Nobody was notified"), "{page}");
    // In-process, no delivery worker runs: the request waits in the outbox.
    assert!(
        page.contains("The request to the approvers of dev is waiting to be sent (1 address)."),
        "{page}"
    );
}

#[tokio::test]
async fn the_review_page_puts_the_candidate_beside_what_is_live_with_what_changed_and_charts() {
    let app = TestApp::new(&[]).await;
    let alice = churn_live_in_dev(&app).await;
    let refused = register_version(&app, "churn", json!({}), json!({"prod": "yes"})).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .body
            .contains(r#"metadata key \"prod\" is Countersign's own"#),
        "{}",
        refused.body
    );
    let registered = register_version(
        &app,
        "churn",
        json!({"auc": 0.95, "log_loss": 0.31}),
        json!({"commit": "4f2c9e1", "training-data": "s3://ml-data/churn/2026-q3/"}),
    )
    .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );
    assert!(
        registered
            .body
            .contains(r#""metadata":{"commit":"4f2c9e1","#),
        "{}",
        registered.body
    );

    let page = app.get("/models/churn/versions/2", Some(&alice)).await.body;
    assert!(
        page.contains("<dt>Metadata: commit</dt><dd>4f2c9e1</dd>"),
        "the version's own metadata among its facts"
    );
    let evidence = &page[position(&page, "Compared with what is live in dev")..];
    assert!(
        evidence.contains("Registered metrics: this version beside version 1"),
        "{evidence}"
    );
    assert!(
        evidence
            .contains("<td>0.95</td><td>0.91</td><td class=\"delta better\">+0.04 (better)</td>"),
        "{evidence}"
    );
    assert!(
        evidence.contains("log_loss"),
        "a metric only the candidate has is listed too"
    );
    assert!(
        evidence.contains("What changed from version 1: 4 of 7"),
        "image, model data and the metadata version 1 did not have: {evidence}"
    );
    assert!(
        evidence.contains(
            "Metadata: commit</th><td><code>not set</code></td><td><code>4f2c9e1</code></td><td>changed"
        ),
        "{evidence}"
    );
    assert!(
        evidence.contains(
            "<code>registry.example/churn:7</code></td><td><code>registry.example/churn:8</code>"
        ),
        "{evidence}"
    );
    assert!(
        evidence.contains(r#"<svg xmlns="http://www.w3.org/2000/svg""#)
            && evidence.contains("auc over versions 1 to 2: from 0.91 to 0.95"),
        "a chart per metric, drawn on the server and described in words"
    );

    let first = app.get("/models/churn/versions/1", Some(&alice)).await.body;
    assert!(
        first.contains("Compared with what is live in test")
            && first.contains("Nothing is live in test yet"),
        "version 1 waits for test, where nothing runs yet"
    );
}
