//! The pipeline API: registration, bad input and its codes, resolving, tokens and whom they
//! may register for.

use super::*;

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
async fn static_api_tokens_open_only_their_own_scopes_and_name_the_caller() {
    use countersign_server::http::api::auth::hex_digest;
    let training = "cst_training-token-for-tests-0123456789";
    let batch = "cst_batch-token-for-tests-0123456789abc";
    let tokens = format!(
        "training:register:{}, batch:report+resolve:{}",
        hex_digest(training),
        hex_digest(batch)
    );
    let app = TestApp::new(&[("API_TOKENS", &tokens), ("API_REGISTRANTS", "training=*")]).await;
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

/// A registration of churn naming `registrant`, sent with `token`.
fn registration_by(token: &str, registrant: Value) -> Request<Body> {
    Request::post("/api/v1/models/churn/versions")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(
            json!({"image_uri": "registry.example/churn:7", "registered_by": registrant})
                .to_string(),
        ))
        .unwrap()
}

// Proves: AC-05.
#[tokio::test]
async fn a_token_bound_to_people_registers_only_in_their_names() {
    use countersign_server::http::api::auth::hex_digest;
    let training = "cst_training-token-for-tests-0123456789";
    let shared = "cst_shared-token-for-tests-0123456789abc";
    let trusted = "cst_trusted-token-for-tests-0123456789ab";
    let tokens = format!(
        "training:register:{}, shared:register:{}, trusted:register:{}",
        hex_digest(training),
        hex_digest(shared),
        hex_digest(trusted)
    );
    let app = TestApp::new(&[
        ("API_TOKENS", &tokens),
        (
            "API_REGISTRANTS",
            "training=dana@example.com+sam@example.com, trusted=*",
        ),
    ])
    .await;
    let someone_else = app
        .send(registration_by(
            training,
            json!({"subject": "eve@example.com"}),
        ))
        .await;
    assert_eq!(someone_else.status, StatusCode::FORBIDDEN);
    assert_eq!(someone_else.json()["code"], "registrant_not_allowed");
    let by_address = app
        .send(registration_by(
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
    // N3: binding is on by default; a token nobody bound cannot make up a registrant.
    let unbound = app
        .send(registration_by(
            shared,
            json!({"subject": "eve@example.com"}),
        ))
        .await;
    assert_eq!(
        (unbound.status, unbound.json()["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("registrant_not_allowed")),
        "a token not named in COUNTERSIGN_API_REGISTRANTS registers for nobody: {}",
        unbound.body
    );
    let anyone = app
        .send(registration_by(
            trusted,
            json!({"subject": "eve@example.com"}),
        ))
        .await;
    assert_eq!(
        anyone.status,
        StatusCode::CREATED,
        "a token let name anyone (caller=*) does: {}",
        anyone.body
    );
    assert!(Config::from_pairs([("API_REGISTRANTS", "training")]).is_err());
}

// Proves: WF-05.
/// N3, the review's exploit: bob, an approver, registers his own model through a shared
/// token that may name anyone, calls its registrant "ghost", and approves it alone.
#[tokio::test]
async fn a_registrant_nobody_verified_costs_one_more_approver_wherever_four_eyes_holds() {
    use countersign_server::http::api::auth::hex_digest;
    let team = "cst_team-token-for-tests-0123456789abcdef";
    let danas = "cst_danas-token-for-tests-0123456789abcde";
    let tokens = format!(
        "team:register:{}, dana-ci:register:{}",
        hex_digest(team),
        hex_digest(danas)
    );
    let app = TestApp::builder()
        .settings(&[
            ("API_TOKENS", &tokens),
            ("API_REGISTRANTS", "team=*, dana-ci=dana@example.com"),
        ])
        .unset("EXTRA_APPROVAL_WITHOUT_REGISTRANT")
        .in_process()
        .await;
    let ghost = json!({"subject": "ghost", "email": "ghost@example.com"});
    // Whether a registrant is established is the portal's finding, never the caller's word.
    let claimed = app
        .send(
            Request::post("/api/v1/models/churn/versions")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {team}"))
                .body(Body::from(
                    json!({"image_uri": "registry.example/churn:7", "registered_by": ghost,
                           "registrant_verified": true})
                    .to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert!(claimed.status.is_client_error(), "{}", claimed.body);
    let made_up = app.send(registration_by(team, ghost)).await;
    assert_eq!(made_up.status, StatusCode::CREATED, "{}", made_up.body);
    let bound = app
        .send(registration_by(
            danas,
            json!({"subject": "dana", "email": "dana@example.com"}),
        ))
        .await;
    assert_eq!(bound.status, StatusCode::CREATED, "{}", bound.body);

    let (alice, bob) = (app.sign_in("alice").await, app.sign_in("bob").await);
    let approve_dev = |version: u32| {
        format!("group=churn&version={version}&environment=dev&verdict=approve&reason=")
    };
    let state = |reply: &Reply| reply.json()["resulting_state"].clone();
    let bobs_own = app.sign(&bob, "churn", 1, &approve_dev(1)).await;
    assert_eq!(bobs_own.status, StatusCode::OK, "{}", bobs_own.body);
    assert_eq!(
        state(&bobs_own),
        "PendingManualApproval",
        "a registrant named on the pipeline's word alone establishes nobody"
    );
    let page = app.get("/models/churn/versions/1", Some(&alice)).await;
    assert!(
        page.body
            .contains("The registrant is declared, not verified")
            && page
                .body
                .contains("One more approver is needed in dev, test, uat, prod."),
        "the version page says why: {}",
        page.body
    );
    let second = app.sign(&alice, "churn", 1, &approve_dev(1)).await;
    assert_eq!(state(&second), "Approved", "{}", second.body);

    let established = app.sign(&alice, "churn", 2, &approve_dev(2)).await;
    assert_eq!(
        state(&established),
        "Approved",
        "a caller bound to its registrant establishes them: {}",
        established.body
    );
    let page = app.get("/models/churn/versions/2", Some(&alice)).await;
    assert!(
        !page.body.contains("registrant-unverified"),
        "{}",
        page.body
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
