//! Sign-in through a real OpenID provider (npm oidc-provider, started here on loopback),
//! driven at the HTTP level: the whole code flow, and the answers a forged or replayed
//! callback gets.

use crate::support::servers::OidcProvider;
use crate::support::{Listener, TestApp};
use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode, Url};
use std::time::Duration;

/// A running portal wired to a running provider.
pub(crate) struct Sso {
    pub(crate) portal: String,
    pub(crate) issuer: String,
    pub(crate) app: TestApp,
    _provider: OidcProvider,
}

async fn start() -> Sso {
    start_with(&[]).await
}

/// Like [`start`], with more portal settings (replacing the defaults here).
async fn start_with(extra: &[(&str, &str)]) -> Sso {
    start_quirky("", extra).await
}

/// Like [`start_with`], with a provider that misbehaves as `quirk` says.
pub(crate) async fn start_quirky(quirk: &str, extra: &[(&str, &str)]) -> Sso {
    let listener = Listener::bind().await;
    let provider = OidcProvider::start_with_quirk(&listener.url, quirk);
    let app = TestApp::builder()
        .settings(&[
            ("OIDC_ISSUER", &provider.issuer),
            ("OIDC_CLIENT_ID", "countersign"),
            ("OIDC_CLIENT_SECRET", "countersign-test-secret"),
            ("APPROVERS_DEV", "approvers-dev-test"),
            ("VIEWERS", "ml-staff"),
            // The provider's training pipeline declares whichever registrant a test needs;
            // the tests of binding it to people set their own.
            ("API_REGISTRANTS", "training-pipeline=*"),
        ])
        .settings(extra)
        .listening_on(listener)
        .await;
    Sso {
        portal: app.url.clone(),
        issuer: provider.issuer.clone(),
        app,
        _provider: provider,
    }
}

/// A browser-like client that keeps cookies and lets the test follow each redirect.
pub(crate) fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

pub(crate) fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("{} has no location", response.url()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// Follows redirects from `url` until one leads to `stop_prefix` (not requested) or a page.
pub(crate) async fn follow(
    client: &Client,
    mut url: String,
    stop_prefix: &str,
) -> (String, reqwest::Response) {
    loop {
        let response = client.get(&url).send().await.unwrap();
        if !response.status().is_redirection() {
            return (url, response);
        }
        let next = response
            .url()
            .join(&location(&response))
            .unwrap()
            .to_string();
        if next.starts_with(stop_prefix) {
            return (next, response);
        }
        url = next;
    }
}

/// Signs `login` in at the provider and returns the provider's callback URL to the portal,
/// without requesting it.
async fn callback_url(sso: &Sso, client: &Client, login: &str, return_to: &str) -> String {
    let start = format!("{}/auth/login?return_to={return_to}", sso.portal);
    at_the_provider(sso, client, start, login).await
}

/// From `start`, a URL that leads to the provider's login page: signs `login` in there (and
/// consents, if asked) and returns the provider's callback URL, without requesting it.
pub(crate) async fn at_the_provider(
    sso: &Sso,
    client: &Client,
    start: String,
    login: &str,
) -> String {
    let (interaction, page) = follow(client, start, "never").await;
    assert!(
        interaction.starts_with(&sso.issuer),
        "login page at the provider: {interaction}"
    );
    assert_eq!(page.status(), StatusCode::OK);
    let response = client
        .post(&interaction)
        .form(&[("prompt", "login"), ("login", login), ("password", "x")])
        .send()
        .await
        .unwrap();
    let next = response
        .url()
        .join(&location(&response))
        .unwrap()
        .to_string();
    let callback = format!("{}/auth/callback", sso.portal);
    let (consent, _) = follow(client, next, &callback).await;
    if consent.starts_with(&callback) {
        return consent;
    }
    let response = client
        .post(&consent)
        .form(&[("prompt", "consent")])
        .send()
        .await
        .unwrap();
    let next = response
        .url()
        .join(&location(&response))
        .unwrap()
        .to_string();
    let (url, _) = follow(client, next, &callback).await;
    assert!(url.starts_with(&callback), "{url}");
    url
}

/// Calls a server function as the page's script would.
pub(crate) async fn rpc(sso: &Sso, client: &Client, name: &str, form: &str) -> reqwest::Response {
    client
        .post(format!("{}/rpc/{name}", sso.portal))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .unwrap()
}

pub(crate) async fn whoami(sso: &Sso, client: &Client) -> String {
    rpc(sso, client, "current_user", "")
        .await
        .text()
        .await
        .unwrap()
}

/// A browser in which `login` has finished signing in.
pub(crate) async fn signed_in(sso: &Sso, login: &str) -> Client {
    let client = browser();
    let callback = callback_url(sso, &client, login, "/").await;
    let response = client.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{login} signs in");
    client
}

#[tokio::test]
async fn the_code_flow_signs_in_with_groups_and_returns_to_the_deep_link() {
    let sso = start().await;
    let client = browser();
    let callback = callback_url(&sso, &client, "alice", "/models/churn/versions/3").await;
    let url = Url::parse(&callback).unwrap();
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert!(query.iter().any(|(k, _)| k == "code"));

    let response = client.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/models/churn/versions/3");
    let me = whoami(&sso, &client).await;
    assert!(
        me.contains("Alice Approver") && me.contains("approver for dev"),
        "{me}"
    );
}

#[tokio::test]
async fn the_authorization_request_uses_pkce_state_and_nonce() {
    let sso = start().await;
    let response = browser()
        .get(format!("{}/auth/login", sso.portal))
        .send()
        .await
        .unwrap();
    let url = Url::parse(&location(&response)).unwrap();
    let params: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(
        params.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    assert!(params.contains_key("state") && params.contains_key("nonce"));
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains(&params["state"]),
        "the flow's secrets are encrypted"
    );
}

#[tokio::test]
async fn a_callback_with_another_state_is_refused() {
    let sso = start().await;
    let client = browser();
    let callback = callback_url(&sso, &client, "alice", "/").await;
    let mut url = Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "state" {
                (k, "forged".to_string())
            } else {
                (k, v)
            }
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("expired or did not start here"));
    assert!(
        !whoami(&sso, &client).await.contains("Alice"),
        "not signed in"
    );
}

#[tokio::test]
async fn a_replayed_callback_is_refused() {
    let sso = start().await;
    let client = browser();
    let callback = callback_url(&sso, &client, "bob", "/").await;
    assert_eq!(
        client.get(&callback).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    let replay = client.get(&callback).send().await.unwrap();
    assert_eq!(
        replay.status(),
        StatusCode::BAD_REQUEST,
        "the login cookie is single-use"
    );

    // Nor does the answer work in a browser that did not start the sign-in.
    let stranger = browser();
    let stolen = stranger.get(&callback).send().await.unwrap();
    assert_eq!(stolen.status(), StatusCode::BAD_REQUEST);
    assert!(!whoami(&sso, &stranger).await.contains("Bob"));
}

#[tokio::test]
async fn a_refusal_by_the_provider_is_shown_not_thrown() {
    let sso = start().await;
    let client = browser();
    client
        .get(format!("{}/auth/login", sso.portal))
        .send()
        .await
        .unwrap();
    let response = client
        .get(format!(
            "{}/auth/callback?error=access_denied&error_description=Your+account+is+locked.+Call+%2B1-555-0100",
            sso.portal
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let page = response.text().await.unwrap();
    assert!(page.contains("access was denied"), "{page}");
    assert!(
        !page.contains("account is locked") && !page.contains("555"),
        "text from the address is never shown: {page}"
    );
}

#[tokio::test]
async fn an_outsider_is_signed_in_but_may_not_see_the_portal() {
    let sso = start().await;
    let client = signed_in(&sso, "oscar").await;
    for name in ["list_groups", "home", "inbox", "my_versions"] {
        let refused = rpc(&sso, &client, name, "").await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{name}");
        assert!(refused
            .text()
            .await
            .unwrap()
            .contains("not as a member of a group allowed"));
    }
    // Nor download a group's audit trail.
    let trail = client
        .get(format!("{}/models/churn/export/audit.json", sso.portal))
        .send()
        .await
        .unwrap();
    assert_eq!(trail.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_groups_overage_is_explained_not_taken_for_no_groups() {
    let sso = start().await;
    let client = browser();
    let callback = callback_url(&sso, &client, "olga", "/").await;
    let response = client.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("more groups than the identity provider puts in a sign-in token"),
        "{page}"
    );
    assert!(
        !whoami(&sso, &client).await.contains("Olga"),
        "not signed in"
    );
}

#[tokio::test]
async fn a_signed_in_person_without_the_group_cannot_approve_by_crafting_the_post() {
    let sso = start_with(&[("API_JWT_AUDIENCE", "api://countersign")]).await;
    let client = browser();
    let training = client_token(&sso, "training-pipeline", "countersign.register", None).await;
    let register = client
        .post(format!("{}/api/v1/models/churn/versions", sso.portal))
        .bearer_auth(training)
        .header("content-type", "application/json")
        .body(r#"{"image_uri": "img", "registered_by": {"subject": "bob"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(register.status(), StatusCode::CREATED);
    let dana = signed_in(&sso, "dana").await;
    let decide = rpc(
        &sso,
        &dana,
        "prepare_signature",
        "group=churn&version=1&environment=dev&verdict=approve&reason=",
    )
    .await;
    assert_eq!(decide.status(), StatusCode::CONFLICT);
    assert!(decide
        .text()
        .await
        .unwrap()
        .contains("not in an approver group for dev"));
}

/// Registers a version of `group` through the API with a training pipeline's token,
/// declaring `registrant` (JSON) as who registered it.
async fn register_declaring(sso: &Sso, group: &str, registrant: &str) {
    let training = client_token(sso, "training-pipeline", "countersign.register", None).await;
    let register = browser()
        .post(format!("{}/api/v1/models/{group}/versions", sso.portal))
        .bearer_auth(training)
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"image_uri": "img", "registered_by": {registrant}}}"#
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(register.status(), StatusCode::CREATED);
}

async fn approve_dev(sso: &Sso, client: &Client, group: &str) -> reqwest::Response {
    rpc(
        sso,
        client,
        "prepare_signature",
        &format!("group={group}&version=1&environment=dev&verdict=approve&reason="),
    )
    .await
}

// Proves: SIG-07.
#[tokio::test]
async fn the_registrant_cannot_approve_whatever_the_pipeline_called_them() {
    // Dana is an approver here; her provider subject is "dana", her e-mail
    // dana.scientist@example.com, and pipelines declare her as they please.
    let sso = start_with(&[
        ("API_JWT_AUDIENCE", "api://countersign"),
        ("APPROVERS_DEV", "data-scientists"),
    ])
    .await;
    register_declaring(
        &sso,
        "by-email",
        r#"{"subject": "Dana.Scientist@Example.COM"}"#,
    )
    .await;
    register_declaring(
        &sso,
        "by-address",
        r#"{"subject": "pipeline-7", "email": " dana.scientist@EXAMPLE.com"}"#,
    )
    .await;
    register_declaring(&sso, "by-someone-else", r#"{"subject": "sam@example.com"}"#).await;
    let dana = signed_in(&sso, "dana").await;
    for group in ["by-email", "by-address"] {
        let refused = approve_dev(&sso, &dana, group).await;
        assert_eq!(refused.status(), StatusCode::CONFLICT, "{group}");
        assert!(
            refused
                .text()
                .await
                .unwrap()
                .contains("you registered this version"),
            "{group}"
        );
    }
    assert_eq!(
        approve_dev(&sso, &dana, "by-someone-else").await.status(),
        StatusCode::OK
    );
}

// Proves: SIG-07.
#[tokio::test]
async fn entra_object_ids_identify_people_when_configured() {
    let sso = start_with(&[
        ("API_JWT_AUDIENCE", "api://countersign"),
        ("APPROVERS_DEV", "data-scientists"),
        ("OIDC_IDENTITY_CLAIM", "oid"),
    ])
    .await;
    register_declaring(
        &sso,
        "by-oid",
        r#"{"subject": "5F0C6A1E-93D2-4B8E-A7C1-2D4E6F8A0B1C", "name": "Dana"}"#,
    )
    .await;
    let dana = signed_in(&sso, "dana").await;
    let refused = approve_dev(&sso, &dana, "by-oid").await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("you registered this version"));

    // Someone without the claim is told why they cannot sign in, not signed in as nobody.
    let client = browser();
    let callback = callback_url(&sso, &client, "alice", "/").await;
    let response = client.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("did not send the claim") && page.contains("COUNTERSIGN_OIDC_IDENTITY_CLAIM"),
        "{page}"
    );
    assert!(!whoami(&sso, &client).await.contains("Alice"));
}

#[tokio::test]
async fn an_off_site_return_path_is_replaced_by_home() {
    let sso = start().await;
    let client = browser();
    let callback = callback_url(&sso, &client, "alice", "https%3A%2F%2Fevil.example%2F").await;
    let response = client.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
}

#[tokio::test]
async fn entra_style_app_roles_can_stand_in_for_groups() {
    let sso = start_with(&[
        ("OIDC_GROUPS_CLAIM", "roles"),
        ("APPROVERS_DEV", "approver-dev"),
        ("VIEWERS", "viewer"),
    ])
    .await;
    let erin = signed_in(&sso, "erin").await;
    let me = whoami(&sso, &erin).await;
    assert!(
        me.contains("Erin Roles") && me.contains("approver for dev"),
        "{me}"
    );
    // Groups are not roles: with the roles claim configured, a groups-only user has none.
    let alice = signed_in(&sso, "alice").await;
    let listing = rpc(&sso, &alice, "list_groups", "").await;
    assert_eq!(listing.status(), StatusCode::FORBIDDEN);
}

/// An access token from the provider by the client credentials grant.
pub(crate) async fn client_token(
    sso: &Sso,
    client: &str,
    scope: &str,
    resource: Option<&str>,
) -> String {
    let mut form = vec![("grant_type", "client_credentials"), ("scope", scope)];
    if let Some(resource) = resource {
        form.push(("resource", resource));
    }
    let response = browser()
        .post(format!("{}/token", sso.issuer))
        .basic_auth(client, Some(format!("{client}-secret")))
        .form(&form)
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token for {client}: {body}"))
        .to_owned()
}

/// Status, error code and `WWW-Authenticate` of an API call with `token`.
async fn api_call(
    sso: &Sso,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> (StatusCode, serde_json::Value, Option<String>) {
    let mut request = browser().request(method, format!("{}/api/v1{path}", sso.portal));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body, challenge)
}

fn registration() -> serde_json::Value {
    serde_json::json!({
        "image_uri": "registry.example/churn:1",
        "registered_by": {"subject": "dana", "name": "Dana", "email": "dana@example.com"}
    })
}

#[tokio::test]
async fn pipelines_call_the_api_with_client_credentials_tokens_for_their_scopes_only() {
    let sso = start_with(&[("API_JWT_AUDIENCE", "api://countersign")]).await;
    let post = reqwest::Method::POST;
    let get = reqwest::Method::GET;
    let training = client_token(&sso, "training-pipeline", "countersign.register", None).await;
    let batch = client_token(
        &sso,
        "batch-pipeline",
        "countersign.report countersign.resolve",
        None,
    )
    .await;

    let (status, body, challenge) = api_call(
        &sso,
        post.clone(),
        "/models/churn/versions",
        None,
        Some(registration()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "unauthenticated");
    assert_eq!(challenge.as_deref(), Some("Bearer realm=\"countersign\""));

    let (status, body, _) = api_call(
        &sso,
        post.clone(),
        "/models/churn/versions",
        Some(&training),
        Some(registration()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, body, challenge) = api_call(
        &sso,
        post.clone(),
        "/models/churn/versions",
        Some(&batch),
        Some(registration()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "insufficient_scope");
    assert!(
        challenge
            .as_deref()
            .is_some_and(|c| c.contains("scope=\"countersign.register\"")),
        "{challenge:?}"
    );
    let (status, body, _) = api_call(
        &sso,
        get.clone(),
        "/models/churn/versions/1/reports",
        Some(&batch),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the batch pipeline resolves and reads: {body}"
    );

    // Entra ID puts application roles in `roles`.
    let entra = client_token(&sso, "entra-style-app", "api.default", None).await;
    let (status, body, _) = api_call(
        &sso,
        get.clone(),
        "/models/churn/versions/1/reports",
        Some(&entra),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "a role grants like a scope: {body}");

    // Tokens the portal must not take: for another API, asking for no scope of ours,
    // tampered with, or not a token at all.
    let elsewhere = client_token(
        &sso,
        "batch-pipeline",
        "countersign.resolve",
        Some("https://other.example"),
    )
    .await;
    let no_scope = client_token(&sso, "batch-pipeline", "countersign.register", None).await;
    let tampered = {
        // Same header and signature, more scopes claimed.
        let parts: Vec<&str> = batch.split('.').collect();
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: serde_json::Value =
            serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
        claims["scope"] = "countersign.register countersign.report countersign.resolve".into();
        format!(
            "{}.{}.{}",
            parts[0],
            engine.encode(claims.to_string()),
            parts[2]
        )
    };
    for (token, status, code) in [
        (
            elsewhere.as_str(),
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        ),
        (
            no_scope.as_str(),
            StatusCode::FORBIDDEN,
            "insufficient_scope",
        ),
        (tampered.as_str(), StatusCode::UNAUTHORIZED, "invalid_token"),
        ("not-a-token", StatusCode::UNAUTHORIZED, "invalid_token"),
    ] {
        let (got, body, _) = api_call(
            &sso,
            get.clone(),
            "/models/churn/versions/1/reports",
            Some(token),
            None,
        )
        .await;
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
    }
}

// Proves: AC-05.
/// N12: where the provider issues tokens for the API to more clients than the pipelines (the
/// portal's own client, a person's app), only the clients named are taken.
#[tokio::test]
async fn only_the_clients_named_may_call_the_api() {
    let sso = start_with(&[
        ("API_JWT_AUDIENCE", "api://countersign"),
        ("API_JWT_CLIENTS", "batch-pipeline, entra-style-app"),
    ])
    .await;
    let reports = "/models/churn/versions/1/reports";
    let named = client_token(&sso, "batch-pipeline", "countersign.resolve", None).await;
    let (status, body, _) = api_call(&sso, reqwest::Method::GET, reports, Some(&named), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "past the token check, to a version nobody registered: {body}"
    );

    let unnamed = client_token(&sso, "training-pipeline", "countersign.register", None).await;
    let (status, body, challenge) = api_call(
        &sso,
        reqwest::Method::POST,
        "/models/churn/versions",
        Some(&unnamed),
        Some(registration()),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("COUNTERSIGN_API_JWT_CLIENTS")),
        "{body}"
    );
    assert!(challenge.is_some_and(|c| c.contains("invalid_token")));
}

#[tokio::test]
async fn a_request_is_sent_again_only_by_its_approvers_and_not_while_it_waits() {
    let sso = start_with(&[
        ("API_JWT_AUDIENCE", "api://countersign"),
        ("APPROVERS_PROD", "approvers-prod"),
    ])
    .await;
    register_declaring(&sso, "resend", r#"{"subject": "dana@example.com"}"#).await;
    let form = "key=approval-request%2Fresend%2F1%2Fdev";
    let priya = signed_in(&sso, "priya").await;
    let refused = rpc(&sso, &priya, "resend_notification", form).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("Only approvers of dev"));
    let alice = signed_in(&sso, "alice").await;
    let waiting = rpc(&sso, &alice, "resend_notification", form).await;
    assert_eq!(waiting.status(), StatusCode::CONFLICT);
    assert!(waiting
        .text()
        .await
        .unwrap()
        .contains("already waiting to be sent"));
}

/// Pipelines call the API with the provider's access tokens.
pub(crate) const PIPELINES_SIGN_IN_HERE: &[(&str, &str)] =
    &[("API_JWT_AUDIENCE", "api://countersign")];

/// A portal and provider (see [`PIPELINES_SIGN_IN_HERE`]) where version 1 of churn, registered for Dana, waits for dev, and
/// `login` has signed in and chosen to approve it: the browser, and the record digest the
/// confirmation step showed, with its reason to sign in again.
pub(crate) async fn chose_to_approve_dev(
    sso: &Sso,
    login: &str,
) -> (Client, String, Option<String>) {
    let training = client_token(sso, "training-pipeline", "countersign.register", None).await;
    let register = browser()
        .post(format!("{}/api/v1/models/churn/versions", sso.portal))
        .bearer_auth(training)
        .json(&serde_json::json!({"image_uri": "img", "registered_by": {"subject": "dana"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(register.status(), StatusCode::CREATED);
    let client = signed_in(sso, login).await;
    let chosen = rpc(
        sso,
        &client,
        "prepare_signature",
        "group=churn&version=1&environment=dev&verdict=approve&reason=metrics+hold+up",
    )
    .await;
    assert_eq!(chosen.status(), StatusCode::OK);
    let review: serde_json::Value = rpc(sso, &client, "review_pending", "group=churn&version=1")
        .await
        .json()
        .await
        .unwrap();
    let digest = review["record_digest"].as_str().unwrap().to_owned();
    let why = review["sign_in_again"].as_str().map(str::to_owned);
    (client, digest, why)
}

/// Posts the confirmation step's "sign in again and sign" form; the provider's URL.
pub(crate) async fn sent_to_sign_in_again(sso: &Sso, client: &Client, digest: &str) -> String {
    let sent = client
        .post(format!("{}/auth/reauthenticate", sso.portal))
        .form(&[
            ("group", "churn"),
            ("version", "1"),
            ("record_digest", digest),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    location(&sent)
}

/// Back from signing in again (`back`: where the callback sent the browser): the page that
/// shows what waits, then its form posted; the answer to the post.
pub(crate) async fn signed_on_the_way_back(
    sso: &Sso,
    client: &Client,
    back: &str,
) -> reqwest::Response {
    let ceremony = back
        .strip_prefix("/auth/signing/complete?ceremony=")
        .unwrap_or_else(|| panic!("back to the completion: {back}"));
    let shown = client
        .get(format!("{}{back}", sso.portal))
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), StatusCode::OK);
    assert!(shown
        .text()
        .await
        .unwrap()
        .contains("Complete your signature"));
    client
        .post(format!("{}/auth/signing/complete", sso.portal))
        .form(&[("ceremony", ceremony)])
        .send()
        .await
        .unwrap()
}

/// Sends the signer to sign in again at a provider that answers without asking anyone
/// (one of its quirks), follows its answer back, and returns the refusal page.
pub(crate) async fn answered_at_once_and_refused(
    sso: &Sso,
    client: &Client,
    digest: &str,
) -> String {
    let provider = sent_to_sign_in_again(sso, client, digest).await;
    let callback = format!("{}/auth/callback", sso.portal);
    let (answer, _) = follow(client, provider, &callback).await;
    assert!(answer.starts_with(&callback), "no login page: {answer}");
    let back = client.get(&answer).send().await.unwrap();
    let refused = signed_on_the_way_back(sso, client, &location(&back)).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    refused.text().await.unwrap()
}

/// The signed history as the export gives it to a viewer.
pub(crate) async fn signed_history(sso: &Sso, client: &Client) -> serde_json::Value {
    client
        .get(format!("{}/models/churn/export/history.json", sso.portal))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

// Proves: SIG-03.
#[tokio::test]
async fn a_stale_sign_in_is_sent_to_sign_in_again_and_then_signs() {
    let sso = start_quirky("", PIPELINES_SIGN_IN_HERE).await;
    // Lena's session at the provider began two hours ago; dev needs one within 300 s.
    let (client, digest, why) = chose_to_approve_dev(&sso, "lena").await;
    assert!(why.unwrap().contains("within the last 300 seconds"));
    let refused = rpc(
        &sso,
        &client,
        "sign",
        &format!("group=churn&version=1&record_digest={digest}"),
    )
    .await;
    assert_eq!(
        refused.status(),
        StatusCode::CONFLICT,
        "not without signing in again"
    );

    let asked_at = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    let provider = sent_to_sign_in_again(&sso, &client, &digest).await;
    let params: std::collections::HashMap<_, _> = Url::parse(&provider)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(params["prompt"], "login");
    assert_eq!(params["max_age"], "300");
    assert!(
        !provider.contains(&digest),
        "the decision waits in the portal, not in the URL"
    );

    let callback = at_the_provider(&sso, &client, provider, "lena").await;
    let back = client.get(&callback).send().await.unwrap();
    let signed = signed_on_the_way_back(&sso, &client, &location(&back)).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signed), "/models/churn/versions/1?signed=dev");

    let history = signed_history(&sso, &client).await;
    let decision = &history["decisions"][0];
    assert_eq!(decision["record_digest"], digest.as_str());
    assert_eq!(decision["decided_by"]["name"], "Lena Longago");
    let auth_time = time::OffsetDateTime::parse(
        decision["auth_time"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(
        auth_time >= asked_at,
        "the sign-in made for this signature: {auth_time} >= {asked_at}"
    );
}

// Proves: SIG-03.
#[tokio::test]
async fn a_provider_that_ignores_prompt_login_signs_nothing() {
    let sso = start_quirky("ignores-prompt", PIPELINES_SIGN_IN_HERE).await;
    let (client, digest, why) = chose_to_approve_dev(&sso, "lena").await;
    assert!(why.is_some());
    // No login page: the provider answers at once from its two-hour-old session.
    let page = answered_at_once_and_refused(&sso, &client, &digest).await;
    assert!(page.contains("did not sign you in again"), "{page}");
    assert!(page.contains("prompt=login"), "{page}");
    assert_eq!(
        signed_history(&sso, &client).await["decisions"],
        serde_json::json!([])
    );
}

// Proves: SIG-03.
#[tokio::test]
async fn a_provider_that_never_says_when_someone_signed_in_signs_nothing() {
    let sso = start_quirky("no-auth-time", PIPELINES_SIGN_IN_HERE).await;
    let (client, digest, why) = chose_to_approve_dev(&sso, "alice").await;
    assert!(why.is_some(), "no auth_time: sign in again, asking for it");
    let page = answered_at_once_and_refused(&sso, &client, &digest).await;
    assert!(page.contains("auth_time"), "{page}");
    assert!(
        page.contains("Add optional claim"),
        "tells an operator what to do: {page}"
    );
    assert_eq!(
        signed_history(&sso, &client).await["decisions"],
        serde_json::json!([])
    );
}
