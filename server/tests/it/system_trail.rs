//! The portal's own trail (`_countersign`): each start, sign-in, sign-out and failed sign-in,
//! kept as a group's trail is and verified offline the same way.

use crate::oidc::{browser, signed_in, start_quirky};
use crate::support::TestApp;
use countersign_audit::desk::Period;
use countersign_audit::{Entry, EventJson};
use countersign_domain::audit::SystemEvent;
use countersign_domain::GroupName;
use countersign_server::backend::Backing;

/// What the portal's own trail holds after the keys it generated, verified against the
/// portal's key.
pub(crate) async fn system_events(backing: &Backing) -> Vec<(String, SystemEvent)> {
    every_system_event(backing)
        .await
        .into_iter()
        .filter(|(_, event)| !matches!(event, SystemEvent::KeyGenerated { .. }))
        .collect()
}

/// Everything the portal's own trail holds, verified against the portal's key.
async fn every_system_event(backing: &Backing) -> Vec<(String, SystemEvent)> {
    let bundle = backing
        .audit
        .bundle(&GroupName::system_trail(), Period::default())
        .await
        .unwrap();
    countersign_audit::verify(&bundle, Some(backing.audit.notary.public_key()))
        .unwrap_or_else(|e| panic!("the portal's own trail verifies: {e}"));
    bundle
        .entries
        .iter()
        .map(|text| Entry::parse(text).unwrap())
        .filter_map(|entry| match entry.event {
            EventJson::System { what } => Some((entry.actor, what)),
            _ => None,
        })
        .collect()
}

// Proves: AT-07.
#[tokio::test]
async fn starts_sign_ins_and_sign_outs_are_kept_in_the_portals_own_trail_and_it_verifies() {
    let app = TestApp::new(&[]).await;
    countersign_server::startup::record_start(&app.config, &app.backing.services)
        .await
        .unwrap();
    let alice = app.sign_in("alice").await;
    let signed_out = app
        .post_form("/auth/sign-out", "", Some(&alice), "text/html")
        .await;
    assert!(signed_out.status.is_redirection(), "{}", signed_out.body);
    app.sign_in("dana").await;

    let events = system_events(&app.backing).await;
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|(actor, event)| (actor.as_str(), event.kind()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("countersign", "started"),
            ("alice", "signed_in"),
            ("alice", "signed_out"),
            ("dana", "signed_in")
        ]
    );
    let SystemEvent::Started {
        software_version,
        commit,
        settings_digest,
        gxp_profile,
    } = &events[0].1
    else {
        unreachable!()
    };
    assert_eq!(software_version, env!("CARGO_PKG_VERSION"));
    assert!(
        commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()),
        "the commit built from: {commit}"
    );
    assert_eq!(settings_digest, &app.config.settings_digest);
    assert!(!gxp_profile);
    assert!(
        matches!(&events[1].1, SystemEvent::SignedIn { person, through } if person.name == "Alice Approver" && through == "the development sign-in")
    );
    assert!(
        GroupName::parse("_countersign").is_err(),
        "no model group's page reaches it"
    );
    let page = app
        .get(
            "/models/_countersign/history",
            Some(&app.sign_in("alice").await),
        )
        .await;
    assert_ne!(page.status, axum::http::StatusCode::OK);
}

// Proves: AT-07.
#[tokio::test]
async fn sign_ins_at_the_provider_are_kept_and_so_are_those_it_refused_begun_here() {
    let sso = start_quirky("", &[]).await;
    signed_in(&sso, "alice").await;
    // Refused by the provider, in a browser that began signing in here.
    let client = browser();
    client
        .get(format!("{}/auth/login", sso.portal))
        .send()
        .await
        .unwrap();
    client
        .get(format!(
            "{}/auth/callback?error=access_denied&error_description=call+me",
            sso.portal
        ))
        .send()
        .await
        .unwrap();
    // Sent with a made-up error by a browser that never began signing in here: not kept.
    browser()
        .get(format!("{}/auth/callback?error=Free+text", sso.portal))
        .send()
        .await
        .unwrap();

    let events = system_events(&sso.app.backing).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(
        matches!(&events[0].1, SystemEvent::SignedIn { through, .. } if through == "the identity provider"),
        "{events:?}"
    );
    assert_eq!(
        events[1],
        (
            "anonymous".to_owned(),
            SystemEvent::SignInFailed {
                reason: "the identity provider refused it (access_denied)".into()
            }
        )
    );
}

// Proves: AT-07.
#[tokio::test]
async fn a_refusal_of_the_portal_is_kept_once_a_minute_and_each_export_every_time() {
    let app = TestApp::new(&[("VIEWERS", "approvers")]).await;
    app.register("churn", "dana").await;
    let dana = app.sign_in("dana").await;
    for _ in 0..3 {
        let refused = app.get("/models", Some(&dana)).await;
        assert_eq!(refused.status, axum::http::StatusCode::FORBIDDEN);
    }
    let refused = app
        .get("/models/churn/export/history.csv", Some(&dana))
        .await;
    assert_eq!(refused.status, axum::http::StatusCode::FORBIDDEN);
    let alice = app.sign_in("alice").await;
    for file in ["audit.json", "history.csv"] {
        let download = app
            .get(&format!("/models/churn/export/{file}"), Some(&alice))
            .await;
        assert_eq!(download.status, axum::http::StatusCode::OK, "{file}");
    }

    let events = system_events(&app.backing).await;
    let refusals: Vec<&str> = events
        .iter()
        .filter_map(|(actor, event)| match event {
            SystemEvent::AccessRefused { what, .. } if actor == "dana" => Some(what.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        refusals,
        ["/models", "/models/churn/export/history.csv"],
        "each address once a minute: {events:?}"
    );
    let exports: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|(actor, event)| match event {
            SystemEvent::Exported { group, file, .. } if group == "churn" => {
                Some((actor.as_str(), file.as_str()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(exports, [("alice", "audit.json"), ("alice", "history.csv")]);
}

// Proves: AT-07.
#[test]
fn commands_that_change_or_take_records_are_kept_with_the_operator_who_ran_them() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("portal.db");
    let countersign = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_countersign"))
            .args(args)
            .env_clear()
            .env("COUNTERSIGN_DATABASE", &database)
            .env("COUNTERSIGN_LOG", "warn")
            .env("USER", "ops-anna")
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    countersign(&["sessions", "revoke", "--person", "alice@example.com"]);
    countersign(&["audit", "public-key"]);
    let bundle: serde_json::Value = serde_json::from_str(&countersign(&[
        "audit",
        "export",
        "--group",
        "_countersign",
    ]))
    .unwrap();
    let commands: Vec<(String, String)> = bundle["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|text| Entry::parse(text.as_str().unwrap()).unwrap())
        .filter_map(|entry| match entry.event {
            EventJson::System {
                what:
                    SystemEvent::CommandRun {
                        command, operator, ..
                    },
            } => {
                assert_eq!(entry.actor, operator);
                Some((operator, command))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        commands,
        [
            (
                "ops-anna".to_owned(),
                "countersign sessions revoke --person alice@example.com".to_owned()
            ),
            (
                "ops-anna".to_owned(),
                "countersign audit export --group _countersign".to_owned()
            ),
        ],
        "reading the public key takes no record away and is not kept"
    );
}

// Proves: AT-07.
#[tokio::test]
async fn keys_the_portal_generates_are_kept_once_with_the_audit_keys_public_half() {
    let app = TestApp::new(&[]).await;
    let replica = app.replica().await;
    let generated: Vec<(String, Option<String>)> = every_system_event(&replica.backing)
        .await
        .into_iter()
        .filter_map(|(actor, event)| match event {
            SystemEvent::KeyGenerated { key, public_key } => {
                assert_eq!(actor, "countersign");
                Some((key, public_key))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        generated,
        [
            (
                "audit signing key".to_owned(),
                Some(app.backing.audit.notary.public_key().to_owned())
            ),
            ("session key".to_owned(), None),
        ],
        "generated once, by the first portal on the store; the replica found them kept"
    );
}
