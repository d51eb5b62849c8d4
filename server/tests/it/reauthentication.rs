//! A signature whose signer is sent to sign in again, against a real provider: whatever
//! comes of it (someone else signs in, the signer never comes back, the provider answers
//! without asking anyone) is kept in the group's trail and shown on the version's timeline.

use crate::oidc::{
    answered_at_once_and_refused, chose_to_approve_dev, follow, location, sent_to_sign_in_again,
    start_quirky, Sso, PIPELINES_SIGN_IN_HERE,
};
use reqwest::{Client, StatusCode};
use serde_json::Value;

/// The signing attempts in churn's trail, oldest first: `(outcome kind, reason)`, and
/// whether any decision is there.
async fn attempts_in_the_trail(sso: &Sso, client: &Client) -> (Vec<(String, String)>, bool) {
    let bundle: Value = client
        .get(format!("{}/models/churn/export/audit.json", sso.portal))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries: Vec<Value> = bundle["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| serde_json::from_str(e.as_str().unwrap()).unwrap())
        .collect();
    let attempts = entries
        .iter()
        .filter(|e| e["event"]["type"] == "signing_attempted")
        .map(|e| {
            let outcome = &e["event"]["attempt"]["outcome"];
            (
                outcome["kind"].as_str().unwrap().to_owned(),
                outcome["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let decided = entries.iter().any(|e| e["event"]["type"] == "decided");
    (attempts, decided)
}

/// The timeline lines of churn's version 1 about signatures not made.
async fn attempts_on_the_timeline(sso: &Sso, client: &Client) -> Vec<String> {
    let page = client
        .get(format!("{}/models/churn/versions/1", sso.portal))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    page.split("<span class=\"attempt\">")
        .skip(1)
        .map(|line| line.split("</span>").next().unwrap_or_default().to_owned())
        .collect()
}

/// From `start` (the provider's URL a signer was sent to), `login` signs in instead of the
/// person whose session the browser holds: the provider ends that session first (its form
/// posted as its page's script would), asks `login` to consent if needed, and answers the
/// portal. The callback URL, not requested.
async fn someone_else_at_the_provider(
    sso: &Sso,
    client: &Client,
    start: String,
    login: &str,
) -> String {
    let (interaction, _) = follow(client, start, "never").await;
    let logged_in = client
        .post(&interaction)
        .form(&[("prompt", "login"), ("login", login), ("password", "x")])
        .send()
        .await
        .unwrap();
    let resumed = logged_in.url().join(&location(&logged_in)).unwrap();
    let page = client
        .get(resumed)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let field = |name: &str| {
        let after = page
            .split(&format!("name=\"{name}\" value=\""))
            .nth(1)
            .unwrap_or_else(|| panic!("no {name} in the provider's page: {page}"));
        after.split('"').next().unwrap().to_owned()
    };
    let action = page
        .split("action=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("the provider's page ends the old session: {page}"))
        .to_owned();
    let ended = client
        .post(&action)
        .form(&[("xsrf", field("xsrf")), ("logout", field("logout"))])
        .send()
        .await
        .unwrap();
    let callback = format!("{}/auth/callback", sso.portal);
    let mut next = ended.url().join(&location(&ended)).unwrap().to_string();
    loop {
        let (url, _) = follow(client, next, &callback).await;
        if url.starts_with(&callback) {
            return url;
        }
        // The provider asks the new person to consent.
        assert!(url.contains("/interaction/"), "at the provider: {url}");
        let answered = client
            .post(&url)
            .form(&[("prompt", "consent")])
            .send()
            .await
            .unwrap();
        next = answered
            .url()
            .join(&location(&answered))
            .unwrap()
            .to_string();
    }
}

// Proves: AT-02.
#[tokio::test]
async fn someone_else_signing_in_during_a_signature_is_kept_in_the_trail_and_on_the_timeline() {
    let sso = start_quirky("", PIPELINES_SIGN_IN_HERE).await;
    let (client, digest, why) = chose_to_approve_dev(&sso, "lena").await;
    assert!(why.is_some(), "Lena's sign-in is too old for dev");
    let provider = sent_to_sign_in_again(&sso, &client, &digest).await;
    // Alice signs in at the provider, in the browser Lena left open.
    let callback = someone_else_at_the_provider(&sso, &client, provider, "alice").await;
    let back = client.get(&callback).send().await.unwrap();
    let refused = client
        .get(format!("{}{}", sso.portal, location(&back)))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("nothing was signed"));

    let (attempts, decided) = attempts_in_the_trail(&sso, &client).await;
    assert!(!decided);
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0].0, "sent_to_sign_in_again");
    assert_eq!(attempts[1].0, "refused");
    assert!(
        attempts[1]
            .1
            .contains("signed in again as someone else than"),
        "{attempts:?}"
    );
    let timeline = attempts_on_the_timeline(&sso, &client).await;
    assert!(
        timeline
            .iter()
            .any(|l| l.contains("by Lena Longago") && l.contains("sent to sign in again")),
        "{timeline:?}"
    );
    assert!(
        timeline
            .iter()
            .any(|l| l.contains("refused: signed in again as someone else")),
        "{timeline:?}"
    );
}

// Proves: AT-02.
#[tokio::test]
async fn a_sign_in_again_never_finished_is_kept_in_the_trail_and_on_the_timeline() {
    let sso = start_quirky("", PIPELINES_SIGN_IN_HERE).await;
    let (client, digest, _) = chose_to_approve_dev(&sso, "lena").await;
    let provider = sent_to_sign_in_again(&sso, &client, &digest).await;
    assert!(provider.starts_with(&sso.issuer), "{provider}");
    // Lena closes the provider's page: she never comes back.

    let (attempts, decided) = attempts_in_the_trail(&sso, &client).await;
    assert!(!decided, "nothing signed");
    assert_eq!(
        attempts,
        [("sent_to_sign_in_again".to_owned(), String::new())]
    );
    let timeline = attempts_on_the_timeline(&sso, &client).await;
    assert_eq!(timeline.len(), 1, "{timeline:?}");
    assert!(
        timeline[0].contains("(approve dev) by Lena Longago")
            && timeline[0].contains("sent to sign in again"),
        "{timeline:?}"
    );
}

// Proves: AT-02.
#[tokio::test]
async fn a_provider_that_signs_in_nobody_again_leaves_a_refused_attempt_in_the_trail() {
    let sso = start_quirky("ignores-prompt", PIPELINES_SIGN_IN_HERE).await;
    let (client, digest, _) = chose_to_approve_dev(&sso, "lena").await;
    answered_at_once_and_refused(&sso, &client, &digest).await;

    let (attempts, decided) = attempts_in_the_trail(&sso, &client).await;
    assert!(!decided);
    let kinds: Vec<&str> = attempts.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(kinds, ["sent_to_sign_in_again", "refused"], "{attempts:?}");
    let timeline = attempts_on_the_timeline(&sso, &client).await;
    assert!(
        timeline.iter().any(|l| l.contains("refused:")),
        "{timeline:?}"
    );
}
