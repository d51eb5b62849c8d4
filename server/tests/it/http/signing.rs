//! The signing ceremony: meanings, the confirmation step, exactly what is signed, and signing
//! in again where the environment asks for it.

use super::*;

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

// Proves: SIG-05.
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
    let rows = crate::support::csv_rows(&csv.body);
    let cell = |name: &str| rows[0][name].clone();
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

// Proves: SIG-01.
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
        let reply = app
            .get("/auth/signing/complete?ceremony=0", Some(&cookie))
            .await;
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
    let to_chooser = sent.headers[header::LOCATION].to_str().unwrap().to_owned();
    let ceremony = to_chooser
        .strip_prefix("/sign-in?again=signing&return_to=/auth/signing/complete%3Fceremony%3D")
        .unwrap_or_else(|| {
            panic!("the development sign-in plays the identity provider: {to_chooser}")
        })
        .to_owned();
    let back = format!("/auth/signing/complete?ceremony={ceremony}");
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
    let chooser = app.get(&to_chooser, None).await;
    assert!(chooser.body.contains("Sign in again to sign"));

    // Someone else chooses an identity at the chooser: nothing is signed.
    let bob = app.sign_in("bob").await;
    let stranger = app
        .post_form(
            "/auth/signing/complete",
            &format!("ceremony={ceremony}"),
            None,
            "text/html",
        )
        .await;
    assert_eq!(
        stranger.status,
        StatusCode::NOT_FOUND,
        "nobody signed in signs nothing"
    );
    let posted_by_bob = app
        .post_form(
            "/auth/signing/complete",
            &format!("ceremony={ceremony}"),
            Some(&format!("{bob}; {waiting}")),
            "text/html",
        )
        .await;
    assert_eq!(
        posted_by_bob.status,
        StatusCode::FORBIDDEN,
        "someone else's session signs nothing"
    );
    let wrong = app.get(&back, Some(&format!("{bob}; {waiting}"))).await;
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
            &format!(
                "subject=alice&return_to=%2Fauth%2Fsigning%2Fcomplete%3Fceremony%3D{ceremony}"
            ),
            Some(&waiting),
            "text/html",
        )
        .await;
    assert_eq!(again.headers[header::LOCATION], back.as_str());
    let session = again.cookie("countersign_session").unwrap();
    let both = format!("{session}; {waiting}");
    // Back from signing in: shown, not signed; a navigation (a link, Back) signs nothing.
    let shown = app.get(&back, Some(&both)).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    assert!(
        shown.body.contains("Complete your signature")
            && shown
                .body
                .contains("Sign now: approve churn version 1 for dev")
            && shown.body.contains(&digest),
        "{}",
        shown.body
    );
    assert_eq!(
        app.get("/api/v1/models/churn/environments/dev", None)
            .await
            .status,
        StatusCode::NOT_FOUND,
        "nothing signed by coming back"
    );
    let another_ceremony = app
        .post_form(
            "/auth/signing/complete",
            "ceremony=0123",
            Some(&both),
            "text/html",
        )
        .await;
    assert_eq!(another_ceremony.status, StatusCode::NOT_FOUND);
    let done = app
        .post_form(
            "/auth/signing/complete",
            &format!("ceremony={ceremony}"),
            Some(&both),
            "text/html",
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
        .post_form(
            "/auth/signing/complete",
            &format!("ceremony={ceremony}"),
            Some(&both),
            "text/html",
        )
        .await;
    assert_ne!(
        replayed.status,
        StatusCode::SEE_OTHER,
        "a decision is signed once"
    );

    let signed_out = app
        .post_form("/auth/sign-out", "", Some(&both), "text/html")
        .await;
    let dropped = signed_out
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| c.contains("countersign_signing=") && c.contains("Max-Age=0"));
    assert!(dropped, "signing out drops a signature left waiting");
}

#[tokio::test]
async fn the_signer_is_told_what_their_signature_did() {
    let app = TestApp::new(&[("REQUIRED_APPROVALS_DEV", "2")]).await;
    app.register("churn", "dana").await;
    app.register("fraud", "dana").await;
    let (alice, bob) = (app.sign_in("alice").await, app.sign_in("bob").await);
    let told = |reply: Reply| {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let outcome = reply.json();
        (
            outcome["message"].as_str().unwrap().to_owned(),
            outcome["resulting_state"].as_str().unwrap().to_owned(),
            outcome["environment"].as_str().unwrap().to_owned(),
        )
    };
    let first = told(app.decide(&alice, "churn", "dev", "approve", "fine").await);
    assert_eq!(
        first.0,
        "Your approval of dev is recorded; it needs another approver."
    );
    assert_eq!(first.2, "dev");
    let second = told(app.decide(&bob, "churn", "dev", "approve", "fine").await);
    assert_eq!(
        (second.0.as_str(), second.1.as_str()),
        (
            "You approved version 1 for dev; it is now live there.",
            "Approved"
        )
    );
    let rejected = told(
        app.decide(&alice, "fraud", "dev", "reject", "leaks labels")
            .await,
    );
    assert_eq!(
        (rejected.0.as_str(), rejected.1.as_str()),
        ("You rejected version 1 for dev.", "Rejected")
    );
}
