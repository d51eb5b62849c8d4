//! The GxP profile with a real identity provider (oidc-provider): a portal configured as the
//! profile requires signs people in, and refuses one whose token carries no name.

use crate::oidc::{at_the_provider, browser, signed_in, start_quirky, whoami};
use crate::system_trail::system_events;
use countersign_domain::audit::SystemEvent;
use reqwest::StatusCode;

/// Settings the profile accepts, beside the provider's and the viewers.
pub(crate) const GXP: &[(&str, &str)] = &[
    ("GXP", "true"),
    ("OIDC_IDENTITY_CLAIM", "sub"),
    ("SIGNING_MAX_AGE_DEV", "0"),
    ("SIGNING_MAX_AGE_TEST", "0"),
    ("SIGNING_MAX_AGE_UAT", "0"),
    ("SIGNING_MAX_AGE_PROD", "0"),
    ("SESSION_IDLE_MINUTES", "15"),
    ("GROUPS_REFRESH_MINUTES", "5"),
    ("API_REGISTRANTS", "training-pipeline=dana"),
];

// Proves: AC-03.
#[tokio::test]
async fn under_the_gxp_profile_a_sign_in_whose_token_has_no_name_is_refused_and_kept() {
    let sso = start_quirky("", GXP).await;
    assert!(sso.app.config.gxp);
    signed_in(&sso, "alice").await;
    let client = browser();
    let start = format!("{}/auth/login?return_to=/", sso.portal);
    let callback = at_the_provider(&sso, &client, start, "nadia").await;
    let answer = client.get(&callback).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    assert!(answer
        .text()
        .await
        .unwrap()
        .contains("did not send your name"));

    let events: Vec<SystemEvent> = system_events(&sso.app.backing)
        .await
        .into_iter()
        .map(|(_, event)| event)
        .collect();
    assert!(
        matches!(&events[..], [SystemEvent::SignedIn { person, .. }, SystemEvent::SignInFailed { reason }]
            if person.name == "Alice Approver" && reason == "the ID token has no name claim"),
        "{events:?}"
    );
}

#[tokio::test]
async fn without_the_profile_a_token_without_a_name_signs_in_under_the_address() {
    let sso = start_quirky("", &[]).await;
    let client = signed_in(&sso, "nadia").await;
    let me = whoami(&sso, &client).await;
    assert!(me.contains("nadia@example.com"), "{me}");
}
