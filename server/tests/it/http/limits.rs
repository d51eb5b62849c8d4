//! The layers in front of everything: cross-site posts, the Host header, slow and oversized
//! bodies, rate limits.

use super::*;

#[tokio::test]
async fn cross_site_posts_are_refused_and_same_site_ones_pass() {
    let app = TestApp::new(&[]).await;
    app.register("churn", "dana").await;
    let alice = app.sign_in("alice").await;
    let form = "group=churn&version=1&environment=dev&verdict=approve&reason=";
    let attempt = |extra: (&'static str, &'static str)| {
        Request::post("/rpc/prepare_signature")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .header(header::COOKIE, alice.clone())
            .header(extra.0, extra.1)
            .body(Body::from(form))
            .unwrap()
    };
    for foreign in [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "https://evil.example"),
        ("origin", "null"),
    ] {
        let reply = app.send(attempt(foreign)).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{foreign:?}: {}",
            reply.body
        );
    }
    let resolved = app.get("/api/v1/models/churn/environments/dev", None).await;
    assert_eq!(
        resolved.status,
        StatusCode::NOT_FOUND,
        "nothing was decided"
    );

    let reply = app.send(attempt(("origin", "http://127.0.0.1:3000"))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn only_requests_addressed_to_the_portal_are_answered() {
    let app = TestApp::new(&[]).await;
    app.register("churn", "dana").await;
    let rebound = app
        .send(addressed_to(
            "/api/v1/models/churn/history",
            "rebind.attacker.example:3000",
        ))
        .await;
    assert_eq!(rebound.status, StatusCode::MISDIRECTED_REQUEST);
    assert!(!rebound.body.contains("dana"), "{}", rebound.body);
    for host in ["127.0.0.1:3000", "localhost:3000"] {
        let reply = app
            .send(addressed_to("/api/v1/models/churn/history", host))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{host}");
    }
    let probe = app.send(addressed_to("/healthz", "10.0.3.7:3000")).await;
    assert_eq!(
        probe.status,
        StatusCode::OK,
        "load balancers probe by address"
    );

    // The laptop setup behind a same-host proxy: the development sign-in is refused.
    let proxied = app
        .send(
            Request::post("/auth/dev/sign-in")
                .header(header::HOST, "127.0.0.1:3000")
                .header("x-forwarded-for", "203.0.113.9")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("subject=alice&return_to=/"))
                .unwrap(),
        )
        .await;
    assert_eq!(proxied.status, StatusCode::FORBIDDEN);
    assert!(proxied.headers.get(header::SET_COOKIE).is_none());
    let mut remote = addressed_to("/api/v1/models/churn/history", "127.0.0.1:3000");
    remote
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [192, 0, 2, 10],
            51000,
        ))));
    assert_eq!(app.send(remote).await.status, StatusCode::FORBIDDEN);

    let production = TestApp::new(&with_sso(&[
        ("PUBLIC_URL", "https://countersign.example.com"),
        ("EXTRA_HOSTS", "countersign.internal:8443"),
    ]))
    .await;
    for (host, status) in [
        ("countersign.example.com", StatusCode::OK),
        ("countersign.internal:8443", StatusCode::OK),
        ("127.0.0.1:3000", StatusCode::MISDIRECTED_REQUEST),
    ] {
        let reply = production.send(addressed_to("/sign-in", host)).await;
        assert_eq!(reply.status, status, "{host}");
    }
}

#[tokio::test]
async fn a_request_whose_body_never_arrives_is_answered_408() {
    let app = TestApp::new(&[("REQUEST_TIMEOUT_SECONDS", "1")]).await;
    let stalled = futures::stream::pending::<Result<bytes::Bytes, std::io::Error>>();
    let reply = app
        .send(
            Request::post("/api/v1/models/churn/versions")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from_stream(stalled))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(
        reply.headers["x-content-type-options"], "nosniff",
        "the timeout's answer carries the security headers too"
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_anyone_is_asked_who_they_are() {
    // Guards the server-function body limit that recent leptos versions enforce: an older
    // one would buffer this before authentication.
    let app = TestApp::new(&[]).await;
    let three_mib = format!(
        "group=churn&version=1&environment=dev&verdict=approve&reason={}",
        "a".repeat(3 * 1024 * 1024)
    );
    let decide = app
        .send(
            Request::post("/rpc/prepare_signature")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::CONTENT_LENGTH, three_mib.len())
                .body(Body::from(three_mib))
                .unwrap(),
        )
        .await;
    assert_eq!(decide.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        decide.headers.contains_key(header::CONTENT_SECURITY_POLICY),
        "a refused body's answer carries the security headers too"
    );
    let register = app
        .post_json(
            "/api/v1/models/churn/versions",
            &json!({"image_uri": "x", "description": "a".repeat(65 * 1024), "registered_by": {"subject": "d"}}),
        )
        .await;
    assert_eq!(register.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn exports_that_read_a_whole_history_are_limited_per_client() {
    let app = TestApp::new(&[("RATE_LIMIT_EXPORTS_PER_MINUTE", "2")]).await;
    app.register("churn", "dana").await;
    let alice = app.sign_in("alice").await;
    for file in ["audit.json", "history.csv"] {
        let export = app
            .get(&format!("/models/churn/export/{file}"), Some(&alice))
            .await;
        assert_eq!(export.status, StatusCode::OK, "{}", export.body);
    }
    let limited = app
        .get("/models/churn/export/history.json", Some(&alice))
        .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(
        app.get("/models/churn/history", Some(&alice)).await.status,
        StatusCode::OK,
        "the history page itself is not an export"
    );
}

#[tokio::test]
async fn a_client_over_its_limit_waits_as_told_and_reaches_no_handler() {
    let app = TestApp::new(&[
        ("RATE_LIMIT_API_PER_MINUTE", "3"),
        ("RATE_LIMIT_SIGN_IN_PER_MINUTE", "2"),
    ])
    .await;
    let resolve = || app.get("/api/v1/models/churn/environments/prod", None);
    for _ in 0..3 {
        assert_eq!(resolve().await.status, StatusCode::NOT_FOUND);
    }
    let limited = resolve().await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.json()["code"], "rate_limited");
    let wait: u64 = limited.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&wait), "one more every 20 s: {wait}");

    app.sign_in("alice").await;
    app.sign_in("bob").await;
    let third = app
        .post_form(
            "/auth/dev/sign-in",
            "subject=carol&return_to=/",
            None,
            "text/html",
        )
        .await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(third.headers.contains_key(header::RETRY_AFTER));
    assert!(
        !third.headers.contains_key(header::SET_COOKIE),
        "nobody was signed in"
    );
    assert_eq!(
        app.get("/", None).await.status,
        StatusCode::UNAUTHORIZED,
        "pages are not counted: the sign-in page, not 429"
    );
}

#[tokio::test]
async fn every_sign_in_route_and_every_writing_server_function_is_counted_and_signing_out_is_not() {
    let app = TestApp::new(&[
        ("RATE_LIMIT_SIGN_IN_PER_MINUTE", "1"),
        ("RATE_LIMIT_DECISIONS_PER_MINUTE", "1"),
    ])
    .await;
    let status = |reply: Reply| reply.status;
    // One sign-in allowance for the whole /auth area: the first route takes it.
    assert_ne!(
        status(app.get("/auth/signing/complete", None).await),
        StatusCode::TOO_MANY_REQUESTS
    );
    for (method, path) in [
        ("POST", "/auth/reauthenticate"),
        ("POST", "/auth/dev/sign-in"),
        ("GET", "/auth/signing/complete"),
    ] {
        let reply = match method {
            "POST" => app.post_form(path, "", None, "text/html").await,
            _ => app.get(path, None).await,
        };
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{path}");
    }
    for _ in 0..3 {
        assert_ne!(
            status(app.post_form("/auth/sign-out", "", None, "text/html").await),
            StatusCode::TOO_MANY_REQUESTS,
            "signing out is never held back"
        );
    }
    let decisions = [
        "/rpc/prepare_signature",
        "/rpc/sign",
        "/rpc/resend_notification",
    ];
    assert_ne!(
        status(app.post_form(decisions[0], "", None, "text/html").await),
        StatusCode::TOO_MANY_REQUESTS
    );
    for path in decisions {
        assert_eq!(
            status(app.post_form(path, "", None, "text/html").await),
            StatusCode::TOO_MANY_REQUESTS,
            "{path}"
        );
    }
    assert_ne!(
        status(app.get("/models", None).await),
        StatusCode::TOO_MANY_REQUESTS,
        "pages are not counted"
    );
}
