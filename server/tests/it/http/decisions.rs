//! Decisions through the portal: what the API then resolves, refusals and why, rollbacks, and
//! racing approvals.

use super::*;

#[tokio::test]
async fn an_approval_through_the_portal_is_what_the_api_resolves() {
    let app = TestApp::new(&[]).await;
    app.register("churn", "dana").await;
    let alice = app.sign_in("alice").await;
    let reply = app
        .decide(&alice, "churn", "dev", "approve", "metrics fine")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["resulting_state"], "Approved");

    let resolved = app.get("/api/v1/models/churn/environments/dev", None).await;
    assert_eq!(resolved.status, StatusCode::OK, "{}", resolved.body);
    let body = resolved.json();
    assert_eq!(body["model_package_version"], 1);
    assert_eq!(body["environment"], "dev");
    assert_eq!(body["approved_by"]["subject"], "alice");
    assert_eq!(body["image_uri"], "registry.example/churn:7");
}

#[tokio::test]
async fn refused_decisions_say_why_and_change_nothing() {
    let app = TestApp::new(&[]).await;
    app.register("churn", "dana").await;
    let alice = app.sign_in("alice").await;
    let dana = app.sign_in("dana").await;

    let reply = app.decide(&alice, "churn", "dev", "reject", "").await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert!(
        reply.body.contains("a rejection needs a reason"),
        "{}",
        reply.body
    );

    let reply = app.decide(&dana, "churn", "dev", "approve", "").await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert!(
        reply.body.contains("not in an approver group"),
        "{}",
        reply.body
    );

    let forged = "countersign_session=forged";
    let reply = app.decide(forged, "churn", "dev", "approve", "").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    assert!(reply.body.contains("SignInRequired"), "{}", reply.body);

    let reply = app.decide(&alice, "churn", "dev", "maybe", "").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);

    let resolved = app.get("/api/v1/models/churn/environments/dev", None).await;
    assert_eq!(resolved.status, StatusCode::NOT_FOUND);
}

// Proves: WF-03.
#[tokio::test]
async fn the_registrant_cannot_approve_their_own_version() {
    let app = TestApp::new(&[]).await;
    app.register("churn", "alice").await;
    let alice = app.sign_in("alice").await;
    let reply = app.decide(&alice, "churn", "dev", "approve", "").await;
    assert!(
        reply.body.contains("someone else must approve"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn without_javascript_a_refusal_redirects_back_with_the_error_encoded() {
    let app = TestApp::new(&[]).await;
    app.register("churn", "dana").await;
    let alice = app.sign_in("alice").await;
    let reply = app
        .post_form(
            "/rpc/prepare_signature",
            "group=churn&version=1&environment=dev&verdict=reject&reason=",
            Some(&alice),
            "text/html",
        )
        .await;
    assert_eq!(reply.status, StatusCode::FOUND);
    let location = reply.headers[header::LOCATION].to_str().unwrap();
    assert!(
        location.starts_with("http://127.0.0.1:3000/models/churn/versions/1?"),
        "{location}"
    );
    assert!(location.contains("__err="), "{location}");

    // The page the browser comes back to shows the message.
    let path = location.trim_start_matches("http://127.0.0.1:3000");
    let page = app.get(path, Some(&alice)).await;
    assert!(
        page.body.contains("a rejection needs a reason"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn an_approver_rolls_an_environment_back_to_an_earlier_version() {
    let app = TestApp::new(&[]).await;
    app.register("churn", "dana").await;
    app.register("churn", "dana").await;
    let alice = app.sign_in("alice").await;
    for version in [1, 2] {
        let form = format!("group=churn&version={version}&environment=dev&verdict=approve&reason=");
        let reply = app.sign(&alice, "churn", version, &form).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let live = app.get("/api/v1/models/churn/environments/dev", None).await;
    assert_eq!(live.json()["model_package_version"], 2);

    let page = app.get("/models/churn/versions/1", Some(&alice)).await;
    assert!(
        page.body.contains("Roll dev back to version 1"),
        "offered on the older version"
    );
    let page = app.get("/models/churn/versions/2", Some(&alice)).await;
    assert!(!page.body.contains("Roll dev back"), "not on the live one");

    let roll_back = |version: u32, reason: &str| {
        format!("group=churn&version={version}&environment=dev&verdict=rollback&reason={reason}")
    };
    let no_reason = app.sign(&alice, "churn", 1, &roll_back(1, "")).await;
    assert_eq!(no_reason.status, StatusCode::CONFLICT, "{}", no_reason.body);
    assert!(no_reason.body.contains("needs a reason"));
    let done = app
        .sign(&alice, "churn", 1, &roll_back(1, "latency+regression"))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        done.body.contains("dev is back on version 1"),
        "{}",
        done.body
    );

    let live = app.get("/api/v1/models/churn/environments/dev", None).await;
    let live = live.json();
    assert_eq!(live["model_package_version"], 1, "resolved at once: {live}");
    assert_eq!(live["approved_by"]["subject"], "alice");
    let withdrawn = app.get("/models/churn/versions/2", Some(&alice)).await;
    assert!(
        withdrawn.body.contains("Rolled back dev to version 1 by"),
        "the log shows it"
    );
    assert!(withdrawn.body.contains("latency regression"));
    assert!(withdrawn.body.contains("data-state=\"RolledBack\""));
    let again = app.sign(&alice, "churn", 1, &roll_back(1, "again")).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("already live"), "{}", again.body);
}

#[tokio::test]
async fn a_refusal_shown_from_a_link_is_only_one_the_portal_wrote() {
    use base64::Engine;
    let app = TestApp::new(&[]).await;
    app.register("churn", "dana").await;
    let alice = app.sign_in("alice").await;
    // Leptos's own encoding of an error, as a no-JavaScript redirect carries it.
    let planted = base64::engine::general_purpose::URL_SAFE
        .encode(r#"{"Refused":"Your account is locked. Call +1-555-0100 now."}"#);
    for signature in ["", "&__sig=00ff"] {
        let page = app
            .get(
                &format!("/models/churn/versions/1?__path=/rpc/prepare_signature&__err={planted}{signature}"),
                Some(&alice),
            )
            .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("account is locked"), "{}", page.body);
    }
}

#[tokio::test]
async fn a_refusal_never_repeats_the_text_that_was_sent() {
    let app = TestApp::new(&[]).await;
    app.register("churn", "dana").await;
    let alice = app.sign_in("alice").await;
    let planted = "Your+account+is+locked.+Call++1-555-0100+now.";
    for form in [
        format!("group=churn&version=1&environment=dev&verdict={planted}&reason=x"),
        format!("group=churn&version=1&environment={planted}&verdict=approve&reason=x"),
        format!("group=churn&version=1&environment=dev&verdict=approve&reason=x&meaning={planted}"),
        format!("group={planted}&version=1&environment=dev&verdict=approve&reason=x"),
    ] {
        let refused = app
            .post_form("/rpc/prepare_signature", &form, Some(&alice), "text/html")
            .await;
        // Without JavaScript the refusal travels in the redirect, encoded.
        let location = refused
            .headers
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let encoded = location
            .split(['?', '&'])
            .find_map(|pair| pair.strip_prefix("__err="))
            .unwrap_or_default();
        let decoded = {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE
                .decode(encoded.replace("%3D", "="))
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default()
        };
        assert!(
            !decoded.is_empty() || refused.status.is_client_error(),
            "{form}: refused: {} {location} {}",
            refused.status,
            refused.body
        );
        let said = format!("{decoded} {}", refused.body);
        assert!(
            !said.contains("account") && !said.contains("555"),
            "{form}: {said}"
        );
    }
}

#[tokio::test]
async fn of_fifty_simultaneous_approvals_of_one_step_exactly_one_is_applied() {
    let app = TestApp::new(&[]).await;
    app.register("churn", "dana").await;
    let sessions = [app.sign_in("alice").await, app.sign_in("bob").await];
    let reasons: Vec<String> = (0..50).map(|i| format!("attempt {i}")).collect();
    let attempts = reasons
        .iter()
        .enumerate()
        .map(|(i, reason)| app.decide(&sessions[i % 2], "churn", "dev", "approve", reason));
    let replies = futures::future::join_all(attempts).await;

    let applied: Vec<usize> = (0..replies.len())
        .filter(|i| replies[*i].status == StatusCode::OK)
        .collect();
    let statuses: Vec<_> = replies.iter().map(|r| r.status).collect();
    assert_eq!(applied.len(), 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT),
        "the others are told someone got there first: {statuses:?}"
    );
    let history = app.get("/api/v1/models/churn/history", None).await.json();
    let decisions = history["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 1, "{history}");
    assert_eq!(
        decisions[0]["reason"], reasons[applied[0]],
        "the one applied is the one logged"
    );
    let resolved = app.get("/api/v1/models/churn/environments/dev", None).await;
    assert_eq!(resolved.json()["decision_id"], decisions[0]["decision_id"]);
}
