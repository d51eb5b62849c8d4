use super::*;
use countersign_domain::Environments;

#[test]
fn only_same_site_paths_are_return_targets() {
    for good in ["/", "/models/churn/versions/3?environment=dev"] {
        assert_eq!(safe_return_path(good), good);
    }
    for bad in [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "",
        "/x\r\nSet-Cookie: a=b",
        "/redirect?to=http://evil",
    ] {
        assert_eq!(safe_return_path(bad), "/", "{bad:?} accepted");
    }
}

fn policy() -> Policy {
    Policy::new(Environments::default(), "approvers")
}

fn deployment() -> Deployment {
    Deployment::new("http://127.0.0.1:3000", None)
}

fn sessions_with(key: &str, secure: bool, deployment: Deployment) -> Sessions {
    Sessions::new(
        key,
        1,
        secure,
        deployment,
        &policy(),
        demo_identities(&policy()),
    )
    .unwrap()
}

pub(super) fn sessions() -> Sessions {
    sessions_with(&Sessions::generate_key(), false, deployment())
}

fn cookie_header(jar: PrivateCookieJar) -> HeaderMap {
    let response = jar.into_response();
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    let pair = set_cookie.split(';').next().unwrap().to_owned();
    let mut headers = HeaderMap::new();
    headers.insert("cookie", pair.parse().unwrap());
    headers
}

#[test]
fn a_session_round_trips_and_another_key_cannot_read_it() {
    let sessions = sessions();
    let alice = alice();
    let headers = cookie_header(sessions.start(&HeaderMap::new(), &alice));
    assert_eq!(sessions.actor(&headers), Some(alice));
    assert_eq!(
        self::sessions().actor(&headers),
        None,
        "a different key reads nothing"
    );
}

#[test]
fn the_cookie_is_http_only_lax_and_holds_no_readable_claims() {
    let sessions = sessions();
    let alice = alice();
    let response = sessions.start(&HeaderMap::new(), &alice).into_response();
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(set_cookie.contains("HttpOnly"));
    assert!(set_cookie.contains("SameSite=Lax"));
    assert!(
        !set_cookie.contains("alice"),
        "claims are encrypted: {set_cookie}"
    );
}

#[test]
fn short_or_malformed_keys_are_refused() {
    for key in ["c2hvcnQ=", "not base64!"] {
        assert!(Sessions::new(key, 1, false, deployment(), &policy(), vec![]).is_err());
    }
}

fn alice() -> Actor {
    demo_identities(&policy()).remove(0).actor
}

#[test]
fn a_cookie_minted_by_another_deployment_with_the_same_key_is_nobody_here() {
    let key = Sessions::generate_key();
    let production = sessions_with(
        &key,
        false,
        Deployment::new(
            "https://countersign.example.com",
            Some("https://login.example.com"),
        ),
    );
    let laptop = sessions_with(&key, false, deployment());
    let staging = sessions_with(
        &key,
        false,
        Deployment::new(
            "https://staging.example.com",
            Some("https://login.example.com"),
        ),
    );
    for other in [laptop, staging] {
        let forged = cookie_header(other.start(&HeaderMap::new(), &alice()));
        assert_eq!(
            other.actor(&forged),
            Some(alice()),
            "valid where it was made"
        );
        assert_eq!(production.actor(&forged), None, "nobody in production");
    }
}

#[test]
fn a_session_keeps_only_the_groups_the_policy_looks_at() {
    let sessions = sessions();
    let mut crowded = alice();
    crowded
        .groups
        .extend((0..200).map(|i| format!("00000000-0000-0000-0000-{i:012}")));
    let jar = sessions.start(&HeaderMap::new(), &crowded);
    let response = jar.into_response();
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(set_cookie.len() < 1024, "{} bytes", set_cookie.len());
    let headers = cookie_header(sessions.start(&HeaderMap::new(), &crowded));
    assert_eq!(sessions.actor(&headers), Some(alice()));
}

#[test]
fn over_https_the_cookie_is_host_only_prefixed_and_secure() {
    let sessions = sessions_with(&Sessions::generate_key(), true, deployment());
    let response = sessions.start(&HeaderMap::new(), &alice()).into_response();
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        set_cookie.starts_with("__Host-countersign_session="),
        "{set_cookie}"
    );
    assert!(set_cookie.contains("Secure") && set_cookie.contains("Path=/"));
    assert!(!set_cookie.contains("Domain"));
    let headers = cookie_header(sessions.start(&HeaderMap::new(), &alice()));
    assert_eq!(sessions.actor(&headers), Some(alice()));
}

/// A cookie for alice whose session began `began` minutes ago and who was last seen
/// `seen` minutes ago.
fn aged_cookie(sessions: &Sessions, began: i64, seen: i64) -> HeaderMap {
    let now = OffsetDateTime::now_utc();
    let claims = SessionClaims {
        sub: "alice".into(),
        name: "Alice Approver".into(),
        email: "alice@example.com".into(),
        groups: BTreeSet::from(["approvers".to_owned()]),
        aud: sessions.deployment.0.clone(),
        iat_ms: unix_millis(now - Duration::minutes(began)),
        seen_ms: unix_millis(now - Duration::minutes(seen)),
        exp: (now + Duration::hours(1)).unix_timestamp(),
        authentication: Authentication::at(now - Duration::minutes(began)),
        sign_in: None,
    };
    cookie_header(
        sessions
            .cookie_jar(&HeaderMap::new())
            .add(sessions.claims_cookie(&claims)),
    )
}

fn sso_sessions() -> Sessions {
    sessions().with_freshness(Duration::minutes(60), Some(Duration::minutes(60)))
}

#[test]
fn an_idle_session_ends_and_stale_groups_decide_nothing() {
    let sessions = sso_sessions();
    assert!(sessions.actor(&aged_cookie(&sessions, 30, 1)).is_some());
    assert!(
        sessions.actor(&aged_cookie(&sessions, 70, 61)).is_none(),
        "idle for over an hour"
    );
    assert!(
        sessions.actor(&aged_cookie(&sessions, 70, 1)).is_none(),
        "groups read over an hour ago"
    );
    let development = self::sessions().with_freshness(Duration::minutes(60), None);
    assert!(
        development
            .actor(&aged_cookie(&development, 70, 1))
            .is_some(),
        "the development sign-in's groups come from configuration"
    );
}

async fn through_freshness(sessions: &Sessions, cookie: HeaderMap, accept: &str) -> Response {
    use tower::ServiceExt;
    let app = axum::Router::new()
        .route("/models/churn", axum::routing::get(|| async { "page" }))
        .layer(axum::middleware::from_fn_with_state(
            sessions.clone(),
            keep_sessions_fresh,
        ));
    let mut request = axum::http::Request::get("/models/churn?page=2")
        .header(axum::http::header::ACCEPT, accept)
        .body(axum::body::Body::empty())
        .unwrap();
    request.headers_mut().extend(cookie);
    app.oneshot(request).await.unwrap()
}

#[tokio::test]
async fn a_page_load_with_stale_groups_goes_through_the_provider_and_activity_renews_the_session() {
    let sessions = sso_sessions();
    let stale = through_freshness(&sessions, aged_cookie(&sessions, 70, 1), "text/html").await;
    assert_eq!(stale.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        stale.headers()["location"],
        "/auth/login?return_to=%2Fmodels%2Fchurn%3Fpage%3D2"
    );

    let fresh = through_freshness(&sessions, aged_cookie(&sessions, 30, 1), "text/html").await;
    assert_eq!(fresh.status(), StatusCode::OK);
    assert!(
        fresh.headers().get("set-cookie").is_none(),
        "seen a minute ago"
    );
    let renewed = through_freshness(&sessions, aged_cookie(&sessions, 30, 20), "text/html").await;
    assert_eq!(renewed.status(), StatusCode::OK);
    let set_cookie = renewed.headers()["set-cookie"].to_str().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(
        "cookie",
        set_cookie.split(';').next().unwrap().parse().unwrap(),
    );
    let claims = sessions
        .claims(&headers)
        .expect("the renewed cookie is a session");
    let now = unix_millis(OffsetDateTime::now_utc());
    assert!(now - claims.seen_ms < 60_000, "seen now");
}

#[test]
fn a_pending_signature_is_read_back_only_for_an_environment_the_policy_knows() {
    use countersign_domain::signature::{PendingSignature, SigningRequest};
    use countersign_domain::{Environment, GroupName, Verdict, VersionNumber};
    let key = Sessions::generate_key();
    let staging = Policy::new(
        Environments::parse_list("dev,staging").unwrap(),
        "approvers",
    );
    let before = Sessions::new(&key, 1, false, deployment(), &staging, vec![]).unwrap();
    let now = sessions_with(&key, false, deployment());
    let pending_in = |environment: &str| {
        let request = SigningRequest::new(
            Environment::parse(environment).unwrap(),
            Verdict::Approve,
            VersionNumber::new(1).unwrap(),
            "",
            None,
        );
        let set_cookie = before.keep_pending_signature(&PendingSignature::new(
            &alice(),
            GroupName::parse("churn").unwrap(),
            request,
        ));
        let pair = set_cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let mut headers = HeaderMap::new();
        headers.insert("cookie", pair.parse().unwrap());
        headers
    };
    let dev = now
        .pending_signature(&pending_in("dev"))
        .expect("dev is known");
    assert_eq!(dev.request.environment().as_str(), "dev");
    assert_eq!(
        now.pending_signature(&pending_in("staging")),
        None,
        "staging is not an environment here any more"
    );
}
