use crate::config::{Config, ConfigError};

/// A configuration the profile accepts: a provider identifying people by `oid`, a sign-in
/// at every signature, short sessions, named readers, a pipeline bound to its people.
fn accepted() -> Vec<(&'static str, String)> {
    let digest = "ab".repeat(32);
    vec![
        ("GXP", "true".into()),
        ("PUBLIC_URL", "https://countersign.example.com".into()),
        (
            "OIDC_ISSUER",
            "https://login.example.com/tenant/v2.0".into(),
        ),
        ("OIDC_CLIENT_ID", "countersign".into()),
        ("OIDC_CLIENT_SECRET", "secret".into()),
        ("OIDC_IDENTITY_CLAIM", "oid".into()),
        ("SIGNING_MAX_AGE_DEV", "0".into()),
        ("SIGNING_MAX_AGE_TEST", "0".into()),
        ("SIGNING_MAX_AGE_UAT", "0".into()),
        ("SIGNING_MAX_AGE_PROD", "0".into()),
        ("SESSION_IDLE_MINUTES", "15".into()),
        ("GROUPS_REFRESH_MINUTES", "5".into()),
        ("VIEWERS", "qa-readers".into()),
        (
            "API_TOKENS",
            format!("training:register+report+resolve:{digest}"),
        ),
        ("API_REGISTRANTS", "training=dana@example.com".into()),
    ]
}

fn load(pairs: &[(&str, String)]) -> Result<Config, ConfigError> {
    Config::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
}

/// `accepted()` with `key` set to `value` (added when absent).
fn with(key: &'static str, value: &str) -> Vec<(&'static str, String)> {
    let mut pairs: Vec<_> = accepted().into_iter().filter(|(k, _)| *k != key).collect();
    pairs.push((key, value.into()));
    pairs
}

/// The settings the profile named, as `COUNTERSIGN_<KEY>`.
fn refused(pairs: &[(&str, String)]) -> Vec<String> {
    match load(pairs) {
        Err(ConfigError::RefusedByGxpProfile(refusals)) => refusals
            .iter()
            .map(|e| {
                e.to_string()
                    .split(' ')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect(),
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => Vec::new(),
    }
}

#[test]
fn the_gxp_profile_starts_on_settings_that_close_every_gap_and_says_the_embedded_store_is_for_evaluation(
) {
    let config = load(&accepted()).expect("accepted");
    assert!(config.gxp);
    assert!(
        config
            .warnings()
            .iter()
            .any(|w| w.contains("embedded store")),
        "{:?}",
        config.warnings()
    );
    let off = Config::from_pairs([]).unwrap();
    assert!(!off.gxp && !off.warnings().iter().any(|w| w.contains("GxP")));
}

// Proves: AC-01.
#[test]
fn the_gxp_profile_refuses_the_laptop_defaults_naming_every_setting_at_once() {
    let error = load(&[("GXP", "true".into())]).unwrap_err().to_string();
    for setting in [
        "COUNTERSIGN_DEV_SIGN_IN",
        "COUNTERSIGN_SIGNING_MAX_AGE_DEV",
        "COUNTERSIGN_SESSION_IDLE_MINUTES",
        "COUNTERSIGN_GROUPS_REFRESH_MINUTES",
        "COUNTERSIGN_VIEWERS",
        "COUNTERSIGN_API_OPEN",
    ] {
        assert!(error.contains(setting), "{setting} not named in: {error}");
    }
    assert!(error.contains("COUNTERSIGN_GXP=true"), "{error}");
    assert_eq!(
        error.lines().count(),
        1 + refused(&[("GXP", "true".into())]).len()
    );
}

// Proves: AC-01.
#[test]
fn the_gxp_profile_refuses_each_weak_setting_alone() {
    let cases: [(&str, &str, &str); 9] = [
        (
            "OIDC_IDENTITY_CLAIM",
            "email",
            "COUNTERSIGN_OIDC_IDENTITY_CLAIM",
        ),
        (
            "OIDC_IDENTITY_CLAIM",
            "upn",
            "COUNTERSIGN_OIDC_IDENTITY_CLAIM",
        ),
        (
            "SIGNING_MAX_AGE_UAT",
            "1",
            "COUNTERSIGN_SIGNING_MAX_AGE_UAT",
        ),
        (
            "SESSION_IDLE_MINUTES",
            "16",
            "COUNTERSIGN_SESSION_IDLE_MINUTES",
        ),
        (
            "GROUPS_REFRESH_MINUTES",
            "6",
            "COUNTERSIGN_GROUPS_REFRESH_MINUTES",
        ),
        ("VIEWERS", "", "COUNTERSIGN_VIEWERS"),
        (
            "API_REGISTRANTS",
            "training=*",
            "COUNTERSIGN_API_REGISTRANTS",
        ),
        ("SELF_APPROVAL", "dev", "COUNTERSIGN_SELF_APPROVAL"),
        (
            "PUBLIC_URL",
            "http://countersign.example.com",
            "COUNTERSIGN_PUBLIC_URL",
        ),
    ];
    for (key, value, setting) in cases {
        assert_eq!(refused(&with(key, value)), [setting], "{key}={value}");
    }
    assert_eq!(
        refused(&with("DEMO_DATA", "true")),
        ["COUNTERSIGN_DEMO_DATA"]
    );
    assert!(refused(&with("OIDC_IDENTITY_CLAIM", "sub")).is_empty());
    assert!(
        refused(&with("PUBLIC_URL", "http://127.0.0.1:3000")).is_empty(),
        "plain http to this machine only"
    );
    assert!(
        refused(&with("GXP", "false")).is_empty(),
        "off, nothing is refused"
    );
}

// Proves: AC-01.
#[cfg(feature = "aws")]
#[test]
fn the_gxp_profile_on_aws_needs_a_write_once_audit_bucket() {
    assert_eq!(
        refused(&with("BACKEND", "aws")),
        ["COUNTERSIGN_AUDIT_BUCKET"]
    );
    let mut locked = with("BACKEND", "aws");
    locked.push(("AUDIT_BUCKET", "countersign-audit".into()));
    let config = load(&locked).expect("accepted with the bucket");
    assert!(config
        .warnings()
        .iter()
        .all(|w| !w.contains("embedded store")));
}

// Proves: AC-02.
#[cfg(feature = "aws")]
#[test]
fn demo_data_is_refused_on_aws_with_or_without_the_profile() {
    let error = Config::from_pairs([("BACKEND", "aws"), ("DEMO_DATA", "true")])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("COUNTERSIGN_DEMO_DATA")
            && error.contains("never written to a real registry"),
        "{error}"
    );
    assert!(
        Config::from_pairs([("DEMO_DATA", "true")])
            .unwrap()
            .demo_data
    );
}
