//! The whole HTTP surface of a server on a fresh store, driven request by request: the
//! pipeline API, the development sign-in, server functions and server-rendered pages.

use crate::support::{Reply, TestApp};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use countersign_server::backend;
use countersign_server::config::Config;
use serde_json::{json, Value};

#[tokio::test]
async fn registration_returns_the_version_with_its_number_and_states() {
    let app = TestApp::new(&[]).await;
    let first = app.register("churn", "dana").await;
    assert_eq!(first["model_package_version"], 1);
    assert_eq!(first["approval_status"], "PendingManualApproval");
    assert_eq!(first["environments"]["dev"], "PendingManualApproval");
    assert_eq!(first["environments"]["prod"], "NotRequested");
    assert_eq!(
        first["review_url"],
        "http://127.0.0.1:3000/models/churn/versions/1"
    );
    let second = app.register("churn", "dana").await;
    assert_eq!(second["model_package_version"], 2);
}

#[tokio::test]
async fn bad_input_gets_a_json_4xx_with_a_stable_code() {
    let app = TestApp::new(&[]).await;
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (
            Request::post("/api/v1/models/churn/versions")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{not json"))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            Request::post("/api/v1/models/churn/versions")
                .body(Body::from("{}"))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            Request::post("/api/v1/models/churn/versions")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    r#"{"image_uri":"x","registered_by":{"subject":"d"},"colour":"red"}"#,
                ))
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            Request::post("/api/v1/models/churn/versions")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    r#"{"image_uri":"","registered_by":{"subject":"d"}}"#,
                ))
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            Request::post("/api/v1/models/churn/versions")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(format!(
                    r#"{{"image_uri":"{}","registered_by":{{"subject":"d"}}}}"#,
                    "x".repeat(70_000)
                )))
                .unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "bad_request",
        ),
        (
            Request::post("/api/v1/models/churn_model/versions")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    r#"{"image_uri":"x","registered_by":{"subject":"d"}}"#,
                ))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_group",
        ),
        (
            Request::get("/api/v1/models/churn/environments/staging")
                .body(Body::empty())
                .unwrap(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Request::get("/api/v1/nothing/here")
                .body(Body::empty())
                .unwrap(),
            StatusCode::NOT_FOUND,
            "no_such_route",
        ),
        (
            Request::delete("/api/v1/models/churn/versions")
                .body(Body::empty())
                .unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
    ];
    for (request, status, code) in cases {
        let uri = request.uri().to_string();
        let reply = app.send(request).await;
        assert_eq!(reply.status, status, "{uri}: {}", reply.body);
        let body = reply.json();
        assert_eq!(body["code"], code, "{uri}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{uri}: {body}"
        );
    }
}

#[tokio::test]
async fn resolving_an_environment_with_no_approved_version_is_a_clear_404() {
    let app = TestApp::new(&[]).await;
    app.register("churn", "dana").await;
    let reply = app.get("/api/v1/models/churn/environments/dev", None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        reply.json()["message"],
        "no version of churn is approved for dev"
    );
}

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
async fn pages_render_on_the_server_with_the_right_status() {
    let app = TestApp::new(&[]).await;
    app.register("churn", "dana").await;
    let alice = app.sign_in("alice").await;

    let page = app.get("/models/churn/versions/1", Some(&alice)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Promotion track"));
    assert!(
        page.body.contains("Approve dev"),
        "alice is offered the dev decision"
    );

    let signed_out = app.get("/models/churn/versions/1", None).await;
    assert_eq!(signed_out.status, StatusCode::UNAUTHORIZED);
    assert!(
        signed_out
            .body
            .contains("/sign-in?return_to=/models/churn/versions/1"),
        "the sign-in link returns to the deep link"
    );

    let missing = app.get("/models/churn/versions/9", Some(&alice)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("has no version 9"));

    let nowhere = app.get("/no/such/page", Some(&alice)).await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    assert!(nowhere.body.contains("There is no page at this address."));
}

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

fn report_body(environment: &str, run_id: &str, auc: Value) -> Value {
    json!({
        "environment": environment,
        "run_id": run_id,
        "metrics": {"auc": auc, "rows_per_second": 5400},
        "started_at": "2026-11-26T10:00:00Z",
        "finished_at": "2026-11-26T10:20:00.5Z",
        "sample_count": 25000,
        "artifacts_url": "s3://runs/churn/nightly"
    })
}

#[tokio::test]
async fn inference_reports_are_validated_stored_once_per_run_and_listed() {
    let app = TestApp::new(&[]).await;
    app.register("churn", "dana").await;
    let reports = "/api/v1/models/churn/versions/1/reports";
    let early = app
        .post_json(reports, &report_body("dev", "nightly-1", json!(0.9)))
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    assert_eq!(early.json()["code"], "not_approved_there");

    let alice = app.sign_in("alice").await;
    let approved = app.decide(&alice, "churn", "dev", "approve", "ok").await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);

    let first = app
        .post_json(reports, &report_body("dev", "nightly-1", json!(0.9)))
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let receipt = first.json();
    assert_eq!(receipt["promotion_requested"], "test");
    assert_eq!(receipt["report"]["run_id"], "nightly-1");
    assert_eq!(receipt["report"]["metrics"]["auc"], 0.9);
    assert_eq!(receipt["report"]["finished_at"], "2026-11-26T10:20:00.5Z");

    let retry = app
        .post_json(reports, &report_body("dev", "nightly-1", json!(0.9)))
        .await;
    assert_eq!(retry.status, StatusCode::OK, "a retry: {}", retry.body);
    assert_eq!(retry.json()["report"], receipt["report"]);

    let mut finished_early = report_body("dev", "nightly-2", json!(0.9));
    finished_early["finished_at"] = json!("2026-11-26T09:00:00Z");
    let mut bad_link = report_body("dev", "nightly-2", json!(0.9));
    bad_link["artifacts_url"] = json!("file:///tmp/x");
    let mut no_samples = report_body("dev", "nightly-2", json!(0.9));
    no_samples.as_object_mut().unwrap().remove("sample_count");
    let mut bad_time = report_body("dev", "nightly-2", json!(0.9));
    bad_time["started_at"] = json!("yesterday");
    let oversized = report_body("dev", &"r".repeat(70_000), json!(0.9));
    let cases: Vec<(&str, Value, StatusCode, &str)> = vec![
        (
            reports,
            report_body("dev", "nightly-1", json!(0.5)),
            StatusCode::CONFLICT,
            "run_id_taken",
        ),
        (
            reports,
            report_body("test", "t-1", json!(0.9)),
            StatusCode::CONFLICT,
            "not_approved_there",
        ),
        (
            reports,
            report_body("staging", "s-1", json!(0.9)),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/api/v1/models/churn/versions/9/reports",
            report_body("dev", "n", json!(0.9)),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/api/v1/models/churn/versions/x/reports",
            report_body("dev", "n", json!(0.9)),
            StatusCode::BAD_REQUEST,
            "invalid_version",
        ),
        (
            reports,
            report_body("dev", "a/b", json!(0.9)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            reports,
            report_body("dev", "nightly-2", json!("NaN")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            reports,
            finished_early,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            reports,
            bad_link,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            reports,
            no_samples,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            reports,
            bad_time,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            reports,
            oversized,
            StatusCode::PAYLOAD_TOO_LARGE,
            "bad_request",
        ),
    ];
    for (uri, body, status, code) in cases {
        let reply = app.post_json(uri, &body).await;
        assert_eq!(
            reply.status, status,
            "{uri} {}: {}",
            body["run_id"], reply.body
        );
        assert_eq!(reply.json()["code"], code, "{}", reply.body);
    }
    // A number JSON cannot hold as a finite double is refused, never stored as infinity.
    let huge = app
        .send(
            Request::post(reports)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    report_body("dev", "nightly-2", json!(0.9))
                        .to_string()
                        .replace("0.9", "1e999"),
                ))
                .unwrap(),
        )
        .await;
    assert!(
        huge.status.is_client_error(),
        "{}: {}",
        huge.status,
        huge.body
    );

    let second = app
        .post_json(reports, &report_body("dev", "nightly-2", json!(0.92)))
        .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    let listed = app.get(reports, None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let runs: Vec<Value> = listed.json()["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].clone())
        .collect();
    assert_eq!(runs, [json!("nightly-1"), json!("nightly-2")]);
    let unknown = app
        .get("/api/v1/models/churn/versions/9/reports", None)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let page = app.get("/models/churn/versions/1", Some(&alice)).await;
    assert_eq!(page.status, StatusCode::OK);
    let newest = page
        .body
        .find("Run nightly-2 in dev")
        .expect("the newest run is shown");
    let oldest = page
        .body
        .find("Run nightly-1 in dev")
        .expect("the first run is shown");
    assert!(newest < oldest, "newest first");
    assert!(page.body.contains("25000 samples"));
    assert!(page.body.contains("s3://runs/churn/nightly"));
}

#[tokio::test]
async fn static_api_tokens_open_only_their_own_scopes_and_name_the_caller() {
    use countersign_server::http::api::auth::hex_digest;
    let training = "cst_training-token-for-tests-0123456789";
    let batch = "cst_batch-token-for-tests-0123456789abc";
    let tokens = format!(
        "training:register:{}, batch:report+resolve:{}",
        hex_digest(training),
        hex_digest(batch)
    );
    let app = TestApp::new(&[("API_TOKENS", &tokens)]).await;
    let call = |uri: &str, token: Option<&str>, body: Option<Value>| {
        let mut request = match &body {
            Some(_) => Request::post(uri).header(header::CONTENT_TYPE, "application/json"),
            None => Request::get(uri),
        };
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        request
            .body(Body::from(body.map(|b| b.to_string()).unwrap_or_default()))
            .unwrap()
    };
    let registration = json!({
        "image_uri": "registry.example/churn:7",
        "registered_by": {"subject": "dana"}
    });
    let versions = "/api/v1/models/churn/versions";
    let unauthenticated = app
        .send(call(versions, None, Some(registration.clone())))
        .await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unauthenticated.json()["code"], "unauthenticated");
    assert!(unauthenticated
        .headers
        .contains_key(header::WWW_AUTHENTICATE));
    let wrong = app
        .send(call(
            versions,
            Some("cst_guess"),
            Some(registration.clone()),
        ))
        .await;
    assert_eq!(
        (wrong.status, wrong.json()["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!("invalid_token"))
    );
    let other_scope = app
        .send(call(versions, Some(batch), Some(registration.clone())))
        .await;
    assert_eq!(
        other_scope.status,
        StatusCode::FORBIDDEN,
        "{}",
        other_scope.body
    );
    assert_eq!(other_scope.json()["code"], "insufficient_scope");
    let registered = app
        .send(call(versions, Some(training), Some(registration)))
        .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );

    let alice = app.sign_in("alice").await;
    app.decide(&alice, "churn", "dev", "approve", "ok").await;
    let reports = "/api/v1/models/churn/versions/1/reports";
    let by_training = app
        .send(call(
            reports,
            Some(training),
            Some(report_body("dev", "r-1", json!(0.9))),
        ))
        .await;
    assert_eq!(by_training.status, StatusCode::FORBIDDEN);
    let reported = app
        .send(call(
            reports,
            Some(batch),
            Some(report_body("dev", "r-1", json!(0.9))),
        ))
        .await;
    assert_eq!(reported.status, StatusCode::CREATED, "{}", reported.body);
    assert_eq!(
        reported.json()["report"]["reported_by"],
        "batch",
        "the token's name"
    );
    let resolved = app
        .send(call(
            "/api/v1/models/churn/environments/dev",
            Some(batch),
            None,
        ))
        .await;
    assert_eq!(resolved.status, StatusCode::OK, "{}", resolved.body);
    let not_open = app.get("/api/v1/models/churn/environments/dev", None).await;
    assert_eq!(
        not_open.status,
        StatusCode::UNAUTHORIZED,
        "configured tokens close the API"
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
async fn every_answer_carries_the_security_headers_and_pages_a_script_nonce() {
    let app = TestApp::new(&[]).await;
    app.register("churn", "dana").await;
    let alice = app.sign_in("alice").await;
    let page = app.get("/models/churn/versions/1", Some(&alice)).await;
    let api = app.get("/api/v1/models/churn/environments/dev", None).await;
    for reply in [&page, &api] {
        let header = |name: &str| {
            reply
                .headers
                .get(name)
                .unwrap_or_else(|| panic!("no {name}"))
                .to_str()
                .unwrap()
                .to_owned()
        };
        let policy = header("content-security-policy");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(policy.contains("'wasm-unsafe-eval'"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert_eq!(header("x-frame-options"), "DENY");
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("referrer-policy"), "same-origin");
        assert_eq!(header("cache-control"), "no-store");
        assert!(
            reply.headers.get("strict-transport-security").is_none(),
            "no HSTS over http"
        );
    }
    // The inline hydration script carries the nonce this answer's policy names, and the
    // next answer has another.
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap();
    assert!(
        page.body.contains(&format!("nonce=\"{nonce}\"")),
        "the page's scripts carry {nonce}"
    );
    let again = app.get("/models/churn/versions/1", Some(&alice)).await;
    assert!(!again.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains(nonce));

    let https = TestApp::new(&with_sso(&[(
        "PUBLIC_URL",
        "https://countersign.example.com",
    )]))
    .await;
    let reply = https.get("/healthz", None).await;
    assert_eq!(
        reply.headers["strict-transport-security"],
        "max-age=31536000"
    );
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

#[tokio::test]
async fn history_exports_never_hand_a_spreadsheet_a_formula() {
    let app = TestApp::new(&[]).await;
    app.register("churn", "dana").await;
    let alice = app.sign_in("alice").await;
    let reason = r#"=HYPERLINK("http://evil.example/?x","details")"#;
    let form = format!(
        "group=churn&version=1&environment=dev&verdict=reject&reason={}",
        url::form_urlencoded::byte_serialize(reason.as_bytes()).collect::<String>()
    );
    let rejected = app.sign(&alice, "churn", 1, &form).await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
    let csv = app
        .get("/models/churn/export/history.csv", Some(&alice))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let mut rows = csv::Reader::from_reader(csv.body.as_bytes());
    let row = rows.records().next().unwrap().unwrap();
    let cell = row.iter().find(|c| c.contains("HYPERLINK")).unwrap();
    assert_eq!(cell, format!("'{reason}"));
}

/// A portal offering two meanings for an approval in dev, version 1 of churn registered by
/// Dana, and Alice's session.
async fn two_approval_meanings_in_dev() -> (TestApp, String) {
    let app = TestApp::new(&[(
        "SIGNATURE_MEANINGS_DEV",
        "approve=Approved for release to dev; approve=Approved for a shadow run in dev",
    )])
    .await;
    app.register("churn", "dana").await;
    let alice = app.sign_in("alice").await;
    (app, alice)
}

#[tokio::test]
async fn a_signature_shows_its_meaning_time_and_record_digest_in_the_history_and_its_exports() {
    let (app, alice) = two_approval_meanings_in_dev().await;
    let unknown = app
        .sign(
            &alice,
            "churn",
            1,
            "group=churn&version=1&environment=dev&verdict=approve&reason=&meaning=Shipped",
        )
        .await;
    assert_eq!(unknown.status, StatusCode::CONFLICT, "{}", unknown.body);
    assert!(
        unknown.body.contains("Approved for a shadow run in dev"),
        "the refusal lists what is offered: {}",
        unknown.body
    );
    let approved = app
        .sign(
            &alice,
            "churn",
            1,
            "group=churn&version=1&environment=dev&verdict=approve&reason=fine&meaning=Approved+for+a+shadow+run+in+dev",
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);

    let history = app.get("/api/v1/models/churn/history", None).await.json();
    let decision = &history["decisions"][0];
    assert_eq!(decision["meaning"], "Approved for a shadow run in dev");
    assert_eq!(decision["signed_at"], decision["decided_at"]);
    let (auth_time, signed_at) = (
        decision["auth_time"]
            .as_str()
            .expect("the sign-in's time is recorded"),
        decision["signed_at"].as_str().unwrap(),
    );
    assert!(auth_time <= signed_at, "{auth_time} then {signed_at}");
    let digest = decision["record_digest"].as_str().unwrap();
    assert!(
        digest.len() == 64 && digest.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')),
        "{digest}"
    );

    let csv = app
        .get("/models/churn/export/history.csv", Some(&alice))
        .await;
    let mut rows = csv::Reader::from_reader(csv.body.as_bytes());
    let headers = rows.headers().unwrap().clone();
    let row = rows.records().next().unwrap().unwrap();
    let cell = |name: &str| row[headers.iter().position(|h| h == name).unwrap()].to_owned();
    assert_eq!(cell("meaning"), "Approved for a shadow run in dev");
    assert_eq!(cell("record_digest"), digest);
    assert_eq!(cell("auth_time"), auth_time);

    let page = app.get("/models/churn/versions/1", Some(&alice)).await;
    assert!(
        page.body.contains("Approved for a shadow run in dev"),
        "the version page"
    );
    assert!(page
        .body
        .contains(&format!("data-record-digest=\"{digest}\"")));
}

#[tokio::test]
async fn the_decision_form_says_what_a_signature_means_and_offers_the_configured_meanings() {
    let (app, alice) = two_approval_meanings_in_dev().await;
    let page = app.get("/models/churn/versions/1", Some(&alice)).await;
    assert!(
        page.body.contains("Meaning of your signature"),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("<option value=\"Approved for a shadow run in dev\">"));
    assert!(page.body.contains("<optgroup label=\"If you reject\">"));
    // The form's default, an empty meaning, signs with the verdict's first meaning.
    let approved = app
        .sign(
            &alice,
            "churn",
            1,
            "group=churn&version=1&environment=dev&verdict=approve&reason=&meaning=",
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    let history = app.get("/api/v1/models/churn/history", None).await.json();
    assert_eq!(
        history["decisions"][0]["meaning"],
        "Approved for release to dev"
    );

    // One meaning per verdict: the form says it outright.
    let plain = TestApp::new(&[]).await;
    plain.register("churn", "dana").await;
    let bob = plain.sign_in("bob").await;
    let page = plain.get("/models/churn/versions/1", Some(&bob)).await;
    assert!(
        page.body.contains(
            "Your signature means \u{201c}Approved for release to dev\u{201d} if you approve, \u{201c}Rejected for dev\u{201d} if you reject."
        ),
        "{}",
        page.body
    );
}

/// `settings` for a portal whose people sign in at an identity provider (never contacted
/// here: the router is built without discovery), so the development sign-in is off.
fn with_sso<'a>(settings: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![
        ("OIDC_ISSUER", "https://login.example.com"),
        ("OIDC_CLIENT_ID", "countersign"),
        ("OIDC_CLIENT_SECRET", "secret"),
    ];
    all.extend_from_slice(settings);
    all
}

/// A request as a browser sends it, to `host`.
fn addressed_to(uri: &str, host: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::HOST, host)
        .body(Body::empty())
        .unwrap()
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

#[tokio::test]
async fn a_registrant_address_that_is_not_one_is_refused_at_intake() {
    let app = TestApp::new(&[]).await;
    let reply = app
        .post_json(
            "/api/v1/models/churn/versions",
            &json!({
                "image_uri": "registry.example/churn:7",
                "registered_by": {"subject": "dana", "email": "dana@example.com, eve@evil.example"}
            }),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert_eq!(reply.json()["code"], "invalid_input");
    assert!(reply.json()["message"]
        .as_str()
        .unwrap()
        .contains("registered_by.email"));
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
    let register = app
        .post_json(
            "/api/v1/models/churn/versions",
            &json!({"image_uri": "x", "description": "a".repeat(65 * 1024), "registered_by": {"subject": "d"}}),
        )
        .await;
    assert_eq!(register.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_token_bound_to_people_registers_only_in_their_names() {
    use countersign_server::http::api::auth::hex_digest;
    let training = "cst_training-token-for-tests-0123456789";
    let shared = "cst_shared-token-for-tests-0123456789abc";
    let tokens = format!(
        "training:register:{}, shared:register:{}",
        hex_digest(training),
        hex_digest(shared)
    );
    let app = TestApp::new(&[
        ("API_TOKENS", &tokens),
        (
            "API_REGISTRANTS",
            "training=dana@example.com+sam@example.com",
        ),
    ])
    .await;
    let register = |token: &str, registrant: Value| {
        Request::post("/api/v1/models/churn/versions")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::from(
                json!({"image_uri": "registry.example/churn:7", "registered_by": registrant})
                    .to_string(),
            ))
            .unwrap()
    };
    let someone_else = app
        .send(register(training, json!({"subject": "eve@example.com"})))
        .await;
    assert_eq!(someone_else.status, StatusCode::FORBIDDEN);
    assert_eq!(someone_else.json()["code"], "registrant_not_allowed");
    let by_address = app
        .send(register(
            training,
            json!({"subject": "pipeline-7", "email": "Dana@Example.com"}),
        ))
        .await;
    assert_eq!(
        by_address.status,
        StatusCode::CREATED,
        "{}",
        by_address.body
    );
    let unbound = app
        .send(register(shared, json!({"subject": "eve@example.com"})))
        .await;
    assert_eq!(
        unbound.status,
        StatusCode::CREATED,
        "a token not bound names anyone"
    );
    assert!(Config::from_pairs([("API_REGISTRANTS", "training")]).is_err());
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
async fn the_site_is_served_precompressed_where_the_build_left_a_gzipped_copy() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("outside.txt"), "not for the web").unwrap();
    let site = dir.path().join("site");
    let pkg = site.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("countersign_bg.wasm"), b"\0asm the raw module").unwrap();
    std::fs::write(pkg.join("countersign_bg.wasm.gz"), b"the gzipped module").unwrap();
    std::fs::write(
        pkg.join("countersign.css"),
        "body { margin: 0 }".repeat(200),
    )
    .unwrap();
    let app = TestApp::new(&[("SITE_ROOT", site.to_str().unwrap())]).await;
    let fetch = |path: &'static str, gzip: bool| {
        let mut request = Request::get(path);
        if gzip {
            request = request.header(header::ACCEPT_ENCODING, "gzip");
        }
        app.send(request.body(Body::empty()).unwrap())
    };

    let gzipped = fetch("/pkg/countersign_bg.wasm", true).await;
    assert_eq!(gzipped.status, StatusCode::OK);
    assert_eq!(gzipped.headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(gzipped.headers[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(
        gzipped.body, "the gzipped module",
        "the build's copy, not compressed again"
    );
    assert!(
        !gzipped.headers.contains_key(header::CACHE_CONTROL),
        "the same for everyone, so not no-store"
    );

    let plain = fetch("/pkg/countersign_bg.wasm", false).await;
    assert!(!plain.headers.contains_key(header::CONTENT_ENCODING));
    assert_eq!(plain.body, "\0asm the raw module");

    // A site built without gzipped copies (cargo leptos) is still compressed on the fly.
    let css = fetch("/pkg/countersign.css", true).await;
    assert_eq!(css.headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(
        fetch("/pkg/missing.js", true).await.status,
        StatusCode::NOT_FOUND
    );
    for escape in ["/pkg/../../outside.txt", "/pkg/%2e%2e/%2e%2e/outside.txt"] {
        let reply = fetch(escape, false).await;
        assert!(
            !reply.body.contains("not for the web"),
            "{escape} reached a file outside the site"
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

/// Alice's session and her chosen approval of dev for version 1 of churn (registered by
/// Dana): the cookies that carry both, and the confirmation step's content.
async fn alice_chose_to_approve_dev(app: &TestApp) -> (String, Value) {
    app.register("churn", "dana").await;
    let alice = app.sign_in("alice").await;
    let chosen = app
        .post_form(
            "/rpc/prepare_signature",
            "group=churn&version=1&environment=dev&verdict=approve&reason=metrics+hold+up",
            Some(&alice),
            "application/json",
        )
        .await;
    assert_eq!(chosen.status, StatusCode::OK, "{}", chosen.body);
    let pending = chosen
        .cookie("countersign_signing")
        .expect("kept for the confirmation step");
    let cookies = format!("{alice}; {pending}");
    let review = app.review(&cookies, "churn", 1).await;
    assert_eq!(review.status, StatusCode::OK, "{}", review.body);
    (cookies, review.json())
}

fn sign_form(digest: &str) -> String {
    format!("group=churn&version=1&record_digest={digest}")
}

/// The confirmation step's sign button for version 1 of churn, pressed with `cookies`.
async fn post_sign(app: &TestApp, digest: &str, cookies: &str, accept: &str) -> Reply {
    app.post_form("/rpc/sign", &sign_form(digest), Some(cookies), accept)
        .await
}

#[tokio::test]
async fn the_confirmation_step_shows_exactly_what_is_signed_and_only_that_is_signed() {
    let app = TestApp::new(&[]).await;
    let (cookies, review) = alice_chose_to_approve_dev(&app).await;
    assert_eq!(review["meaning"], "Approved for release to dev");
    assert_eq!(review["reason"], "metrics hold up");
    assert_eq!(review["signer_name"], "Alice Approver");
    assert_eq!(review["image_uri"], "registry.example/churn:7");
    assert_eq!(
        review["sign_in_again"],
        Value::Null,
        "signed in a moment ago"
    );
    let signed_json = review["signed_json"].as_str().unwrap();
    let digest = review["record_digest"].as_str().unwrap();
    assert_eq!(
        digest,
        countersign_server::http::api::auth::hex_digest(signed_json),
        "the digest is recomputable from what the page shows"
    );
    // Without JavaScript: the page itself shows the record, its digest and the sign form.
    let page = app
        .get("/models/churn/versions/1/sign", Some(&cookies))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    for shown in [
        digest,
        "Approved for release to dev",
        "metrics hold up",
        "Alice Approver",
        "s3://models/churn/7.tar.gz",
        "Sign: approve dev",
    ] {
        assert!(page.body.contains(shown), "{shown} on the page");
    }

    let another = "0".repeat(64);
    let tampered = post_sign(&app, &another, &cookies, "application/json").await;
    assert_eq!(tampered.status, StatusCode::CONFLICT, "{}", tampered.body);
    assert!(
        tampered.body.contains("no longer what would be signed"),
        "{}",
        tampered.body
    );
    let bob = app.sign_in("bob").await;
    let pending = cookies.split("; ").nth(1).unwrap();
    let someone_elses = post_sign(
        &app,
        digest,
        &format!("{bob}; {pending}"),
        "application/json",
    )
    .await;
    assert_eq!(
        someone_elses.status,
        StatusCode::NOT_FOUND,
        "{}",
        someone_elses.body
    );
    let alice_only = cookies.split("; ").next().unwrap();
    let nothing_chosen = post_sign(&app, digest, alice_only, "application/json").await;
    assert_eq!(
        nothing_chosen.status,
        StatusCode::NOT_FOUND,
        "{}",
        nothing_chosen.body
    );
    let resolved = app.get("/api/v1/models/churn/environments/dev", None).await;
    assert_eq!(resolved.status, StatusCode::NOT_FOUND, "nothing signed yet");

    // Without JavaScript the signature is a form post that lands on the version page.
    let signed = post_sign(&app, digest, &cookies, "text/html").await;
    assert_eq!(signed.status, StatusCode::FOUND, "{}", signed.body);
    assert_eq!(
        signed.headers[header::LOCATION],
        "/models/churn/versions/1?signed=dev"
    );
    assert!(
        signed
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("countersign_signing=;")),
        "the pending signature is forgotten"
    );
    let page = app
        .get("/models/churn/versions/1?signed=dev", Some(alice_only))
        .await;
    assert!(page.body.contains("Your signature for dev is recorded."));
    let history = app.get("/api/v1/models/churn/history", None).await.json();
    assert_eq!(
        history["decisions"][0]["record_digest"], digest,
        "the digest confirmed is the digest kept"
    );
}

#[tokio::test]
async fn where_a_fresh_sign_in_is_needed_the_signer_signs_in_again_and_then_it_is_signed() {
    let app = TestApp::new(&[("SIGNING_MAX_AGE_DEV", "0")]).await;
    let (cookies, review) = alice_chose_to_approve_dev(&app).await;
    let why = review["sign_in_again"]
        .as_str()
        .expect("dev needs a fresh sign-in every time");
    assert!(why.contains("within the last 0 seconds"), "{why}");
    let digest = review["record_digest"].as_str().unwrap().to_owned();
    let page = app
        .get("/models/churn/versions/1/sign", Some(&cookies))
        .await;
    assert!(
        page.body.contains("action=\"/auth/reauthenticate\""),
        "a plain form leaves for the provider"
    );
    let direct = post_sign(&app, &digest, &cookies, "application/json").await;
    assert_eq!(direct.status, StatusCode::CONFLICT, "{}", direct.body);

    // Strangers, and a pending signature nobody here sealed, lead nowhere.
    let alice = cookies.split("; ").next().unwrap();
    let pending = cookies.split("; ").nth(1).unwrap();
    let signed_out = app
        .post_form(
            "/auth/reauthenticate",
            &sign_form(&digest),
            None,
            "text/html",
        )
        .await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    assert!(signed_out.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/sign-in?"));
    let forged = format!(
        "{alice}; countersign_signing=AAAA{}",
        &pending["countersign_signing=".len() + 4..]
    );
    for (what, cookie) in [
        ("no pending signature", alice.to_owned()),
        ("a forged one", forged),
    ] {
        let reply = app
            .post_form(
                "/auth/reauthenticate",
                &sign_form(&digest),
                Some(&cookie),
                "text/html",
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{what}: {}",
            reply.body
        );
        let reply = app.get("/auth/signing/complete", Some(&cookie)).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{what}: {}",
            reply.body
        );
    }
    assert_eq!(
        app.get("/auth/signing/complete", Some(&cookies))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "a signature nobody was sent to sign in again for is not completed here"
    );

    let sent = app
        .post_form(
            "/auth/reauthenticate",
            &sign_form(&digest),
            Some(&cookies),
            "text/html",
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    assert_eq!(
        sent.headers[header::LOCATION],
        "/sign-in?again=signing&return_to=/auth/signing/complete",
        "the development sign-in plays the identity provider"
    );
    let waiting = sent
        .cookie("countersign_signing")
        .expect("the confirmed decision waits");
    assert!(
        !sent.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .contains(&digest),
        "not in the URL"
    );
    let chooser = app
        .get(
            "/sign-in?again=signing&return_to=/auth/signing/complete",
            None,
        )
        .await;
    assert!(chooser.body.contains("Sign in again to sign"));

    // Someone else chooses an identity at the chooser: nothing is signed.
    let bob = app.sign_in("bob").await;
    let wrong = app
        .get("/auth/signing/complete", Some(&format!("{bob}; {waiting}")))
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(
        wrong
            .body
            .contains("not as the person whose signature was waiting"),
        "{}",
        wrong.body
    );
    assert_eq!(
        app.get("/api/v1/models/churn/environments/dev", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let again = app
        .post_form(
            "/auth/dev/sign-in",
            "subject=alice&return_to=/auth/signing/complete",
            Some(&waiting),
            "text/html",
        )
        .await;
    assert_eq!(again.headers[header::LOCATION], "/auth/signing/complete");
    let session = again.cookie("countersign_session").unwrap();
    let done = app
        .get(
            "/auth/signing/complete",
            Some(&format!("{session}; {waiting}")),
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.headers[header::LOCATION],
        "/models/churn/versions/1?signed=dev"
    );
    let live = app.get("/api/v1/models/churn/environments/dev", None).await;
    assert_eq!(live.status, StatusCode::OK, "signed on the way back");
    let history = app.get("/api/v1/models/churn/history", None).await.json();
    let decision = &history["decisions"][0];
    assert_eq!(decision["record_digest"], digest.as_str());
    assert!(decision["auth_time"].as_str().unwrap() <= decision["signed_at"].as_str().unwrap());

    let replayed = app
        .get(
            "/auth/signing/complete",
            Some(&format!("{session}; {waiting}")),
        )
        .await;
    assert_ne!(
        replayed.status,
        StatusCode::SEE_OTHER,
        "a decision is signed once"
    );
}

#[tokio::test]
async fn a_registration_may_name_its_artifacts_digests_which_the_signature_then_binds() {
    let app = TestApp::new(&[]).await;
    let body = |digest: &str| {
        json!({
            "image_uri": "registry.example/churn:7",
            "image_digest": digest,
            "model_data_etag": "\"9b2cf535f27731c974343645a3985328\"",
            "registered_by": {"subject": "dana"}
        })
    };
    let versions = "/api/v1/models/churn/versions";
    let refused = app.post_json(versions, &body("latest")).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(refused.body.contains("image_digest"), "{}", refused.body);
    let digest = format!("sha256:{}", "ab".repeat(32));
    let registered = app.post_json(versions, &body(&digest)).await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );
    assert_eq!(registered.json()["image_digest"], digest.as_str());

    let alice = app.sign_in("alice").await;
    let chosen = app
        .post_form(
            "/rpc/prepare_signature",
            "group=churn&version=1&environment=dev&verdict=approve&reason=",
            Some(&alice),
            "application/json",
        )
        .await;
    let cookies = format!("{alice}; {}", chosen.cookie("countersign_signing").unwrap());
    let review = app.review(&cookies, "churn", 1).await.json();
    assert_eq!(review["image_digest"], digest.as_str());
    let signed_json = review["signed_json"].as_str().unwrap();
    assert!(
        signed_json.contains(&format!(r#""image_digest":"{digest}""#)),
        "{signed_json}"
    );
    assert!(signed_json.contains("model_data_etag"), "{signed_json}");
    let page = app.get("/models/churn/versions/1", Some(&alice)).await;
    assert!(page.body.contains(&digest), "the version page shows it");
}
