//! Sessions: signing in and out, restarts, other deployments' cookies, revocations, and what
//! strangers may read.

use super::*;

#[tokio::test]
async fn sign_in_never_redirects_off_site_and_sign_out_ends_the_session() {
    let app = TestApp::new(&[]).await;
    let reply = app
        .post_form(
            "/auth/dev/sign-in",
            "subject=alice&return_to=https%3A%2F%2Fevil.example%2F",
            None,
            "text/html",
        )
        .await;
    assert_eq!(reply.headers[header::LOCATION], "/");
    let reply = app
        .post_form(
            "/auth/dev/sign-in",
            "subject=alice&return_to=%2Fmodels%2Fchurn%2Fversions%2F1",
            None,
            "text/html",
        )
        .await;
    assert_eq!(reply.headers[header::LOCATION], "/models/churn/versions/1");
    let unknown = app
        .post_form("/auth/dev/sign-in", "subject=mallory", None, "text/html")
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let alice = app.sign_in("alice").await;
    let reply = app
        .post_form("/auth/sign-out", "", Some(&alice), "text/html")
        .await;
    let cleared = reply.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cleared.starts_with("countersign_session=;") || cleared.contains("Max-Age=0"),
        "{cleared}"
    );
}

#[tokio::test]
async fn sessions_survive_a_restart_on_the_same_store() {
    let first = TestApp::new(&[]).await;
    let cookie = first.sign_in("bob").await;
    let second = first.replica().await;
    drop(first.router);
    let reply = second
        .post_form("/rpc/current_user", "", Some(&cookie), "application/json")
        .await;
    assert!(reply.body.contains("Bob Reviewer"), "{}", reply.body);
}

#[tokio::test]
async fn a_session_from_another_deployment_sharing_the_key_is_refused() {
    let key = countersign_server::auth::session::Sessions::generate_key();
    let laptop = TestApp::new(&[("SESSION_KEY", &key)]).await;
    let production = TestApp::new(&[
        ("SESSION_KEY", &key),
        ("PUBLIC_URL", "http://localhost:8080"),
    ])
    .await;
    let minted = laptop.sign_in("alice").await;
    let here = laptop
        .post_form("/rpc/current_user", "", Some(&minted), "application/json")
        .await;
    assert!(here.body.contains("Alice Approver"), "{}", here.body);
    let there = production
        .post_form("/rpc/current_user", "", Some(&minted), "application/json")
        .await;
    assert!(!there.body.contains("Alice"), "{}", there.body);
}

/// A portal whose replicas read revocations on every request.
async fn reading_revocations_every_request() -> TestApp {
    TestApp::new(&[("REVOCATION_CHECK_SECONDS", "0")]).await
}

/// Who the portal says the holder of `cookie` is.
async fn whoami(app: &TestApp, cookie: &str) -> String {
    app.post_form("/rpc/current_user", "", Some(cookie), "application/json")
        .await
        .body
}

#[tokio::test]
async fn a_cookie_copied_before_sign_out_is_refused_on_every_replica() {
    let one = reading_revocations_every_request().await;
    let two = one.replica().await;
    let copied = one.sign_in("alice").await;
    assert!(whoami(&two, &copied).await.contains("Alice Approver"));
    one.post_form("/auth/sign-out", "", Some(&copied), "text/html")
        .await;
    for app in [&one, &two] {
        let me = whoami(app, &copied).await;
        assert!(!me.contains("Alice"), "{me}");
    }
    let again = one.sign_in("alice").await;
    assert!(
        whoami(&two, &again).await.contains("Alice Approver"),
        "signing in again works"
    );
    let bob = two.sign_in("bob").await;
    assert!(
        whoami(&one, &bob).await.contains("Bob Reviewer"),
        "others stay signed in"
    );
}

#[tokio::test]
async fn an_operator_revokes_a_person_or_everyone_and_the_next_request_is_refused() {
    let app = reading_revocations_every_request().await;
    let (alice, bob) = (app.sign_in("alice").await, app.sign_in("bob").await);
    // What `countersign sessions revoke --person alice` does, from another process.
    let operator = backend::open_backend(&app.config).await.unwrap();
    let revoke = |whose| countersign_domain::ports::Revocation {
        whose,
        issued_before: time::OffsetDateTime::now_utc(),
    };
    operator
        .revocations
        .revoke(&revoke(countersign_domain::ports::Revoked::Person(
            "alice".into(),
        )))
        .await
        .unwrap();
    let page = app.get("/models/churn", Some(&alice)).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    let page = app.get("/models", Some(&bob)).await;
    assert_eq!(page.status, StatusCode::OK);
    operator
        .revocations
        .revoke(&revoke(countersign_domain::ports::Revoked::Everyone))
        .await
        .unwrap();
    let page = app.get("/models", Some(&bob)).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
}

// Proves: AC-04.
#[tokio::test]
async fn revocations_that_cannot_be_read_end_the_sessions_begun_before_the_last_good_read() {
    let app = reading_revocations_every_request().await;
    let alice = app.sign_in("alice").await;
    assert_eq!(
        app.get("/models", Some(&alice)).await.status,
        StatusCode::OK
    );

    // The store stops answering for revocations (a real fault: the table is gone).
    let raw = rusqlite::Connection::open(&app.config.database).unwrap();
    raw.execute_batch("DROP TABLE session_revocations;")
        .unwrap();
    let statuses = futures::future::join_all(
        (0..2).map(|_| async { app.get("/models", Some(&alice)).await.status }),
    );
    let tolerated = statuses.await;
    assert!(
        tolerated.iter().all(|s| *s == StatusCode::OK),
        "a failed read or two goes on with what is known: {tolerated:?}"
    );
    let mut refused = StatusCode::OK;
    for _ in 0..3 {
        refused = app.get("/models", Some(&alice)).await.status;
    }
    assert_eq!(
        refused,
        StatusCode::UNAUTHORIZED,
        "a revocation nobody can see must not leave a session working"
    );
    let again = app.sign_in("alice").await;
    assert_eq!(
        app.get("/models", Some(&again)).await.status,
        StatusCode::OK,
        "signing in again makes a session begun after the last good read"
    );
}

#[tokio::test]
async fn strangers_read_nothing_and_a_foreign_page_cannot_sign_anyone_in() {
    let app = TestApp::new(&[]).await;
    app.register("churn", "dana").await;
    for (name, form) in [
        ("list_groups", ""),
        ("home", ""),
        ("inbox", ""),
        ("my_versions", ""),
        ("list_versions", "group=churn&page=1"),
        ("version_detail", "group=churn&version=1"),
        ("group_history", "group=churn"),
        ("list_notifications", "page=1"),
        (
            "resend_notification",
            "key=approval-request%2Fchurn%2F1%2Fdev",
        ),
        (
            "prepare_signature",
            "group=churn&version=1&environment=dev&verdict=approve&reason=",
        ),
        ("review_pending", "group=churn&version=1"),
        ("sign", "group=churn&version=1&record_digest=00"),
    ] {
        let reply = app
            .post_form(&format!("/rpc/{name}"), form, None, "application/json")
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{name}: {}",
            reply.body
        );
    }
    let export = app.get("/models/churn/export/history.csv", None).await;
    assert_eq!(export.status, StatusCode::SEE_OTHER);
    assert!(export.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/sign-in"));

    // Login CSRF: another site posting the development sign-in form.
    let foreign = app
        .send(
            Request::post("/auth/dev/sign-in")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ORIGIN, "https://evil.example")
                .header("sec-fetch-site", "cross-site")
                .body(Body::from("subject=alice&return_to=/"))
                .unwrap(),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    assert!(foreign.headers.get(header::SET_COOKIE).is_none());
}

/// The pipeline API passes no cross-site check: a session is no credential there, so a
/// request from another site, carrying an approver's cookie, is a stranger's and is refused
/// as one, writing nothing.
#[tokio::test]
async fn an_approvers_session_opens_nothing_in_the_pipeline_api() {
    use countersign_server::http::api::auth::hex_digest;
    let token = "cst_training-token-for-tests-0123456789";
    let tokens = format!("training:register+resolve:{}", hex_digest(token));
    let app = TestApp::new(&[("API_TOKENS", &tokens)]).await;
    let cookie = app.sign_in("alice").await;
    let cross_site = |request: http::request::Builder| {
        request
            .header(header::COOKIE, &cookie)
            .header(header::ORIGIN, "https://evil.example")
            .header("sec-fetch-site", "cross-site")
    };
    let registration = json!({
        "image_uri": "registry.example/churn:7",
        "registered_by": {"subject": "alice"}
    });
    let register = app
        .send(
            cross_site(Request::post("/api/v1/models/churn/versions"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(registration.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(
        register.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        register.body
    );
    assert_eq!(register.json()["code"], "unauthenticated");
    let resolve = app
        .send(
            cross_site(Request::get("/api/v1/models/churn/environments/dev"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(resolve.status, StatusCode::UNAUTHORIZED, "{}", resolve.body);

    // Nothing was registered.
    let groups = app.backing.services.list_groups().await.unwrap();
    assert!(groups.is_empty(), "{groups:?}");
}
