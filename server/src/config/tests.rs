use super::*;

fn error(pairs: &[(&str, &str)]) -> String {
    Config::from_pairs(pairs.iter().copied())
        .unwrap_err()
        .to_string()
}

#[test]
fn notifications_and_the_event_intake_are_configured_per_environment() {
    let config = Config::from_pairs([
        ("NOTIFY_DEV", "ml-leads@example.com, alice@example.com"),
        ("SMTP_URL", "smtp://127.0.0.1:1025"),
        ("EVENTS_API_KEY", "0123456789abcdef0123"),
        ("SCAN_SECONDS", "0"),
    ])
    .unwrap();
    assert_eq!(
        config.mail.notify["dev"],
        ["ml-leads@example.com", "alice@example.com"]
    );
    assert_eq!(config.events.unwrap().header, "x-api-key");
    assert_eq!(config.scan_interval, None);
    let defaults = Config::from_pairs([]).unwrap();
    assert!(defaults.events.is_none(), "no key, no intake");
    assert!(defaults.mail.smtp_url.is_none());
    assert!(error(&[("NOTIFY_STAGING", "a@example.com")]).contains("not one of the environments"));
    assert!(error(&[("NOTIFY_DEV", "not an address")]).contains("COUNTERSIGN_NOTIFY_DEV"));
    assert!(error(&[("SMTP_URL", "mail.example.com")]).contains("COUNTERSIGN_SMTP_URL"));
    assert!(error(&[("EVENTS_API_KEY", "short")]).contains("COUNTERSIGN_EVENTS_API_KEY"));
}

#[test]
fn the_api_is_open_only_in_the_laptop_setup_and_tokens_are_validated() {
    let digest = "ab".repeat(32);
    assert!(
        Config::from_pairs([]).unwrap().api_access.open,
        "laptop defaults"
    );
    let sso = [
        ("OIDC_ISSUER", "https://login.example.com/tenant/v2.0"),
        ("OIDC_CLIENT_ID", "c"),
        ("OIDC_CLIENT_SECRET", "s"),
    ];
    let closed = Config::from_pairs(sso).unwrap().api_access;
    assert!(
        !closed.open && closed.tokens.is_empty() && closed.jwt.is_none(),
        "with SSO, no token opens the API"
    );
    let mut with_jwt = sso.to_vec();
    with_jwt.push(("API_JWT_AUDIENCE", "api://countersign"));
    let jwt = Config::from_pairs(with_jwt)
        .unwrap()
        .api_access
        .jwt
        .unwrap();
    assert_eq!(
        jwt.issuer, "https://login.example.com/tenant/v2.0",
        "the sign-in issuer by default"
    );
    assert!(
        error(&[("API_JWT_AUDIENCE", "api://countersign")]).contains("COUNTERSIGN_API_JWT_ISSUER")
    );
    assert!(
        error(&[("API_JWT_CLIENTS", "batch-pipeline")]).contains("COUNTERSIGN_API_JWT_AUDIENCE"),
        "a client list without access tokens is a mistake, not ignored"
    );

    let entry = format!("batch:report+resolve:{digest}");
    let tokens = Config::from_pairs([("API_TOKENS", entry.as_str())])
        .unwrap()
        .api_access;
    assert!(!tokens.open, "a configured token closes the laptop API");
    assert_eq!(tokens.tokens[0].name, "batch");
    assert_eq!(tokens.tokens[0].sha256, [0xab; 32]);
    assert_eq!(
        tokens.tokens[0].scopes,
        std::collections::BTreeSet::from([
            crate::http::api::auth::ApiScope::Report,
            crate::http::api::auth::ApiScope::Resolve
        ])
    );
    for bad in [
        "batch:report".to_owned(),
        format!("batch:deploy:{digest}"),
        format!("batch:report:{}", &digest[..62]),
        format!("batch:report:{}zz", &digest[..62]),
        format!(":report:{digest}"),
        format!("a:report:{digest},a:resolve:{digest}"),
    ] {
        assert!(
            error(&[("API_TOKENS", bad.as_str())]).contains("COUNTERSIGN_API_TOKENS"),
            "{bad}"
        );
    }
    assert!(
        error(&[("API_OPEN", "true"), ("API_TOKENS", entry.as_str())])
            .contains("COUNTERSIGN_API_OPEN")
    );
    let mut open_sso = sso.to_vec();
    open_sso.extend([("API_OPEN", "true"), ("LISTEN", "0.0.0.0:3000")]);
    assert!(error(&open_sso).contains("loopback"));
    assert!(error(&[("API_SCOPE_REPORT", "two words")]).contains("COUNTERSIGN_API_SCOPE_REPORT"));
}

#[cfg(feature = "aws")]
fn aws_settings(config: Config) -> countersign_aws::AwsSettings {
    match config.backend {
        Backend::Aws(aws) => aws,
        Backend::Local => panic!("the local backend"),
    }
}

#[cfg(feature = "aws")]
#[test]
fn the_aws_backend_takes_an_ssm_prefix() {
    let config =
        Config::from_pairs([("BACKEND", "aws"), ("SSM_PREFIX", "/ml/countersign/")]).unwrap();
    assert!(
        !config.sign_in.dev_sign_in && !config.api_access.open,
        "no demo identity and no open API on AWS"
    );
    assert_eq!(aws_settings(config).ssm_prefix, "/ml/countersign");
    for bad in ["countersign", "/aws/x", "/a//b", "/a b"] {
        assert!(
            error(&[("BACKEND", "aws"), ("SSM_PREFIX", bad)]).contains("COUNTERSIGN_SSM_PREFIX"),
            "{bad}"
        );
    }
    assert!(error(&[("BACKEND", "cloud")]).contains("allowed: local, aws"));
}

#[cfg(feature = "aws")]
#[test]
fn the_aws_backend_takes_its_table_and_the_outbox_retention() {
    let aws = aws_settings(Config::from_pairs([("BACKEND", "aws")]).unwrap());
    assert_eq!(
        (aws.table.as_str(), aws.create_table, aws.outbox_retention),
        ("countersign", false, time::Duration::days(400)),
        "production defaults: the table exists, messages kept 400 days"
    );
    let aws = aws_settings(
        Config::from_pairs([
            ("BACKEND", "aws"),
            ("DYNAMODB_TABLE", "ml-countersign.prod"),
            ("DYNAMODB_CREATE_TABLE", "true"),
            ("OUTBOX_RETENTION_DAYS", "30"),
        ])
        .unwrap(),
    );
    assert_eq!(
        (aws.table.as_str(), aws.create_table, aws.outbox_retention),
        ("ml-countersign.prod", true, time::Duration::days(30))
    );
    for bad in ["ab", "has space", "slash/table"] {
        assert!(
            error(&[("BACKEND", "aws"), ("DYNAMODB_TABLE", bad)])
                .contains("COUNTERSIGN_DYNAMODB_TABLE"),
            "{bad}"
        );
    }
    assert!(error(&[("BACKEND", "aws"), ("OUTBOX_RETENTION_DAYS", "0")])
        .contains("COUNTERSIGN_OUTBOX_RETENTION_DAYS"));
}

#[cfg(not(feature = "aws"))]
#[test]
fn a_build_without_the_aws_backend_says_how_to_get_one() {
    let message = error(&[("BACKEND", "aws")]);
    assert!(
        message.contains("built without the AWS backend"),
        "{message}"
    );
    assert!(
        message.contains("COUNTERSIGN_BACKEND=aws make run"),
        "{message}"
    );
}

#[test]
fn defaults_serve_the_embedded_store_on_loopback() {
    let config = Config::from_pairs([]).unwrap();
    assert!(config.backend.is_local());
    assert_eq!(config.listen.to_string(), "127.0.0.1:3000");
    assert!(config.sign_in.dev_sign_in);
    let names: Vec<_> = config
        .policy
        .environments()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(names, ["dev", "test", "uat", "prod"]);
}

#[test]
fn per_environment_settings_shape_the_policy() {
    let config = Config::from_pairs([
        ("ENVIRONMENTS", "dev,pre-prod,prod"),
        ("REQUIRED_APPROVALS_PROD", "2"),
        ("APPROVERS_PRE_PROD", "release-managers, sre"),
        ("SELF_APPROVAL", "dev"),
    ])
    .unwrap();
    let policy = &config.policy;
    let envs = policy.environments();
    let prod = envs.find("prod").unwrap();
    let pre_prod = envs.find("pre-prod").unwrap();
    assert_eq!(policy.required_approvals(prod), 2);
    assert_eq!(
        policy.approver_groups(pre_prod).collect::<Vec<_>>(),
        ["release-managers", "sre"]
    );
    assert!(policy.self_approval_allowed(envs.first()));
}

#[test]
fn how_fresh_a_signers_sign_in_must_be_is_configured_per_environment() {
    let config = Config::from_pairs([
        ("SIGNING_MAX_AGE_DEV", "900"),
        ("SIGNING_MAX_AGE_PROD", "60"),
        ("SIGNING_ACR_PROD", "c1"),
    ])
    .unwrap();
    let policy = &config.policy;
    let env = |name: &str| policy.environments().find(name).unwrap().clone();
    assert_eq!(
        policy.signing_max_age(&env("dev")),
        time::Duration::seconds(900)
    );
    assert_eq!(
        policy.signing_max_age(&env("prod")),
        time::Duration::seconds(60)
    );
    assert_eq!(
        policy.signing_max_age(&env("test")),
        time::Duration::seconds(300),
        "the default"
    );
    assert_eq!(policy.signing_context(&env("prod")), Some("c1"));
    let defaults = Config::from_pairs([("BACKEND", "local")]).unwrap().policy;
    assert_eq!(
        defaults.signing_max_age(defaults.environments().last()),
        time::Duration::ZERO
    );
    for (key, value, says) in [
        ("SIGNING_MAX_AGE_PROD", "-1", "whole number"),
        ("SIGNING_MAX_AGE_PROD", "soon", "number of seconds"),
        (
            "SIGNING_MAX_AGE_STAGING",
            "60",
            "not one of the configured environments",
        ),
        ("SIGNING_ACR_PROD", "multi factor", "one word"),
    ] {
        let message = Config::from_pairs([(key, value)]).unwrap_err().to_string();
        assert!(
            message.contains(&format!("COUNTERSIGN_{key}")) && message.contains(says),
            "{message}"
        );
    }
}

#[test]
fn signature_meanings_and_required_reasons_are_configured_per_environment() {
    use countersign_domain::Verdict;
    let config = Config::from_pairs([
            (
                "SIGNATURE_MEANINGS_PROD",
                "approve=Approved for release to prod; approve=Approved for a pilot, 5% of traffic; reject=Rejected for prod",
            ),
            ("REASON_REQUIRED", "uat, prod"),
        ])
        .unwrap();
    let policy = &config.policy;
    let env = |name: &str| policy.environments().find(name).unwrap().clone();
    assert_eq!(
        policy.meanings(&env("prod"), Verdict::Approve),
        [
            "Approved for release to prod",
            "Approved for a pilot, 5% of traffic"
        ]
    );
    assert_eq!(
        policy.meanings(&env("prod"), Verdict::Rollback),
        ["Rolled back prod"],
        "a verdict not named keeps its default"
    );
    assert_eq!(
        policy.meanings(&env("dev"), Verdict::Approve),
        ["Approved for release to dev"]
    );
    assert!(policy.reason_required(&env("uat")) && policy.reason_required(&env("prod")));
    assert!(!policy.reason_required(&env("dev")));
    let defaults = Config::from_pairs([("BACKEND", "local")]).unwrap().policy;
    assert!(defaults.reason_required(defaults.environments().last()));

    for (value, says) in [
        ("Approved", "verdict=meaning"),
        ("ship=Shipped", "approve, reject or rollback"),
        ("approve=", "non-blank"),
        (";", "empty"),
    ] {
        let message = error(&[("SIGNATURE_MEANINGS_PROD", value)]);
        assert!(
            message.contains("COUNTERSIGN_SIGNATURE_MEANINGS_PROD") && message.contains(says),
            "{value}: {message}"
        );
    }
    assert!(error(&[("REASON_REQUIRED", "staging")]).contains("COUNTERSIGN_REASON_REQUIRED"));
}

#[test]
fn wrong_values_name_the_setting_and_what_is_allowed() {
    assert!(error(&[("BACKEND", "s3")]).contains("COUNTERSIGN_BACKEND"));
    assert!(error(&[("BACKEND", "s3")]).contains("allowed: local"));
    assert!(error(&[("ENVIRONMENTS", "dev,Prod")]).contains("COUNTERSIGN_ENVIRONMENTS"));
    assert!(error(&[("REQUIRED_APPROVALS_PROD", "many")])
        .contains("COUNTERSIGN_REQUIRED_APPROVALS_PROD"));
    assert!(error(&[("APPROVERS_STAGING", "x")]).contains("dev,test,uat,prod"));
    assert!(error(&[("PUBLIC_URL", "example.com")]).contains("COUNTERSIGN_PUBLIC_URL"));
    assert!(error(&[("LISTEN", "nowhere")]).contains("listen"));
    assert!(error(&[("SELF_APROVAL", "dev")]).contains("COUNTERSIGN_SELF_APROVAL is not a setting"));
    assert!(error(&[("TRUSTED_PROXIES", "10.0.0.0/16, the-balancer")])
        .contains("COUNTERSIGN_TRUSTED_PROXIES has \"the-balancer\""));
}

#[test]
fn rate_limits_default_on_and_trusted_proxies_are_addresses_or_networks() {
    let defaults = Config::from_pairs([]).unwrap().rate_limits;
    assert_eq!(defaults.sign_in_per_minute.map(|n| n.get()), Some(60));
    assert_eq!(defaults.api_per_minute.map(|n| n.get()), Some(1200));
    assert_eq!(defaults.exports_per_minute.map(|n| n.get()), Some(30));
    assert!(defaults.trusted_proxies.is_empty());
    let set = Config::from_pairs([
        ("RATE_LIMIT_API_PER_MINUTE", "0"),
        ("TRUSTED_PROXIES", "10.0.0.0/16, 192.0.2.10"),
    ])
    .unwrap()
    .rate_limits;
    assert_eq!(set.api_per_minute, None, "0 turns it off");
    assert_eq!(
        set.trusted_proxies,
        [
            "10.0.0.0/16".parse().unwrap(),
            "192.0.2.10/32".parse().unwrap()
        ]
    );
}

#[test]
fn development_sign_in_only_runs_on_loopback_without_an_issuer() {
    let message = error(&[("LISTEN", "0.0.0.0:3000")]);
    assert!(
        message.contains("COUNTERSIGN_DEV_SIGN_IN") && message.contains("loopback"),
        "{message}"
    );
    let message = error(&[
        ("OIDC_ISSUER", "https://login.example.com"),
        ("OIDC_CLIENT_ID", "c"),
        ("OIDC_CLIENT_SECRET", "s"),
        ("DEV_SIGN_IN", "true"),
    ]);
    assert!(message.contains("COUNTERSIGN_OIDC_ISSUER"), "{message}");
    let message = error(&[("LISTEN", "0.0.0.0:3000"), ("DEV_SIGN_IN", "false")]);
    assert!(message.contains("nobody could sign in"), "{message}");
    let message = error(&[("PUBLIC_URL", "https://countersign.example.com")]);
    assert!(
        message.contains("COUNTERSIGN_DEV_SIGN_IN") && message.contains("PUBLIC_URL"),
        "{message}"
    );
    for laptop in [
        "http://localhost:3000",
        "http://[::1]:3000",
        "http://127.0.0.1:8080",
    ] {
        assert!(
            Config::from_pairs([("PUBLIC_URL", laptop)]).is_ok(),
            "{laptop}"
        );
    }
    let message = error(&[("BACKEND", "aws"), ("DEV_SIGN_IN", "true")]);
    assert!(
        message.contains("COUNTERSIGN_BACKEND"),
        "never with a real registry: {message}"
    );
    #[cfg(feature = "aws")]
    assert!(message.contains("COUNTERSIGN_DEV_SIGN_IN"), "{message}");
}

#[test]
fn an_issuer_turns_the_development_sign_in_off_and_needs_client_credentials() {
    let sso = [
        ("LISTEN", "0.0.0.0:3000"),
        (
            "OIDC_ISSUER",
            "https://login.microsoftonline.com/tenant/v2.0/",
        ),
        ("OIDC_CLIENT_ID", "countersign"),
        ("OIDC_CLIENT_SECRET", "s3cret"),
        ("OIDC_GROUPS_CLAIM", "roles"),
        ("VIEWERS", "ml-staff"),
    ];
    let config = Config::from_pairs(sso).unwrap();
    assert!(!config.sign_in.dev_sign_in);
    let oidc = config.sign_in.oidc.as_ref().unwrap();
    assert_eq!(oidc.issuer, "https://login.microsoftonline.com/tenant/v2.0");
    assert_eq!(oidc.groups_claim, "roles");
    assert!(
        !format!("{config:?}").contains("s3cret"),
        "the secret is never printed"
    );
    let every_secret = Config::from_pairs([
        ("SESSION_KEY", "c2Vzc2lvbi1rZXktc2VjcmV0"),
        (
            "SMTP_URL",
            "smtp://mailer:smtp-password@mail.example.com:587",
        ),
        ("EVENTS_API_KEY", "events-api-key-secret-0123"),
    ])
    .unwrap();
    let printed = format!("{every_secret:?}");
    for secret in [
        "c2Vzc2lvbi1rZXktc2VjcmV0",
        "smtp-password",
        "events-api-key-secret",
    ] {
        assert!(!printed.contains(secret), "{secret} printed: {printed}");
    }
    let message = error(&sso[..3]);
    assert!(
        message.contains("COUNTERSIGN_OIDC_CLIENT_SECRET"),
        "{message}"
    );
    let message = error(&[
        ("OIDC_ISSUER", "http://login.example.com"),
        ("OIDC_CLIENT_ID", "c"),
        ("OIDC_CLIENT_SECRET", "s"),
    ]);
    assert!(message.contains("https://"), "{message}");
    for spoofed in [
        "http://localhost.evil.example",
        "http://127.0.0.1.evil.example/x",
    ] {
        let message = error(&[
            ("OIDC_ISSUER", spoofed),
            ("OIDC_CLIENT_ID", "c"),
            ("OIDC_CLIENT_SECRET", "s"),
        ]);
        assert!(
            message.contains("COUNTERSIGN_OIDC_ISSUER"),
            "{spoofed}: {message}"
        );
    }
    let message = error(&[
        ("API_JWT_AUDIENCE", "api://countersign"),
        ("API_JWT_ISSUER", "http://login.example.com"),
    ]);
    assert!(message.contains("COUNTERSIGN_API_JWT_ISSUER"), "{message}");
}

#[test]
fn people_are_identified_by_the_configured_claim() {
    let sso = [
        ("OIDC_ISSUER", "https://login.example.com"),
        ("OIDC_CLIENT_ID", "c"),
        ("OIDC_CLIENT_SECRET", "s"),
    ];
    let config = Config::from_pairs(sso).unwrap();
    assert_eq!(config.sign_in.oidc.unwrap().identity_claim, "email");
    let mut entra = sso.to_vec();
    entra.push(("OIDC_IDENTITY_CLAIM", " oid "));
    assert_eq!(
        Config::from_pairs(entra)
            .unwrap()
            .sign_in
            .oidc
            .unwrap()
            .identity_claim,
        "oid"
    );
    let mut blank = sso.to_vec();
    blank.push(("OIDC_IDENTITY_CLAIM", " "));
    assert!(error(&blank).contains("COUNTERSIGN_OIDC_IDENTITY_CLAIM"));
}

#[cfg(feature = "aws")]
#[test]
fn aws_identities_are_mapped_to_people() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("identities.toml");
    std::fs::write(
            &map,
            "\"arn:aws:iam::111122223333:role/churn-training\" = [\"sam@example.com\", \"tia@example.com\"]\n\"dana-studio\" = \"dana@example.com\"\n",
        )
        .unwrap();
    let on_aws = |map: &std::path::Path| {
        Config::from_pairs([("BACKEND", "aws"), ("IDENTITY_MAP", map.to_str().unwrap())])
    };
    let aws = aws_settings(on_aws(&map).unwrap());
    let people: Vec<&str> = aws
        .identities
        .people_for("arn:aws:sts::111122223333:assumed-role/churn-training/run-1")
        .collect();
    assert_eq!(people, ["sam@example.com", "tia@example.com"]);
    assert_eq!(
        aws.identities.people_for("dana-studio").collect::<Vec<_>>(),
        ["dana@example.com"]
    );
    std::fs::write(&map, "dana-studio = 7\n").unwrap();
    assert!(
        error(&[("BACKEND", "aws"), ("IDENTITY_MAP", map.to_str().unwrap())])
            .contains("COUNTERSIGN_IDENTITY_MAP")
    );
    assert!(
        error(&[("BACKEND", "aws"), ("IDENTITY_MAP", "/no/such/file.toml")])
            .contains("COUNTERSIGN_IDENTITY_MAP")
    );
}

#[cfg(feature = "aws")]
#[test]
fn an_audit_bucket_is_a_bucket_name_locked_for_at_least_a_day() {
    let bucket = |pairs: &[(&str, &str)]| {
        let mut all = vec![("BACKEND", "aws")];
        all.extend_from_slice(pairs);
        aws_settings(Config::from_pairs(all).unwrap()).audit_bucket
    };
    assert!(bucket(&[]).is_none(), "none: checkpoints go to SSM");
    let locked = bucket(&[("AUDIT_BUCKET", "countersign-audit")]).unwrap();
    assert_eq!(locked.name, "countersign-audit");
    assert_eq!(locked.retention, time::Duration::days(2555));
    let shorter = bucket(&[("AUDIT_BUCKET", "b-1.x"), ("AUDIT_RETENTION_DAYS", "30")]);
    assert_eq!(shorter.unwrap().retention, time::Duration::days(30));
    for name in ["Audit", "ab", "-audit", "audit_trail"] {
        assert!(
            error(&[("BACKEND", "aws"), ("AUDIT_BUCKET", name)])
                .contains("COUNTERSIGN_AUDIT_BUCKET"),
            "{name}"
        );
    }
    assert!(error(&[
        ("BACKEND", "aws"),
        ("AUDIT_BUCKET", "audit"),
        ("AUDIT_RETENTION_DAYS", "0")
    ])
    .contains("COUNTERSIGN_AUDIT_RETENTION_DAYS"));
}

#[test]
fn environments_whose_requests_reach_nobody_are_named() {
    let config =
        Config::from_pairs([("NOTIFY_DEV", "ml-leads@example.com"), ("NOTIFY_UAT", "")]).unwrap();
    let without: Vec<String> = config
        .environments_without_recipients()
        .iter()
        .map(|env| env.to_string())
        .collect();
    assert_eq!(without, ["test", "uat", "prod"]);
}

#[test]
fn reminders_and_escalations_are_timed_in_hours_and_escalate_where_someone_is_named() {
    let config = Config::from_pairs([("ESCALATE_TO_PROD", "head-of-ml@example.com")]).unwrap();
    let rules = &config.follow_ups;
    assert_eq!(rules.remind_after, Some(time::Duration::hours(24)));
    assert_eq!(rules.escalate_after, Some(time::Duration::hours(72)));
    let escalated: Vec<&str> = rules.escalated_in.iter().map(|e| e.as_str()).collect();
    assert_eq!(escalated, ["prod"]);
    let off =
        Config::from_pairs([("REMIND_AFTER_HOURS", "0"), ("ESCALATE_AFTER_HOURS", "1.5")]).unwrap();
    assert_eq!(off.follow_ups.remind_after, None);
    assert_eq!(
        off.follow_ups.escalate_after,
        Some(time::Duration::minutes(90))
    );
    assert!(error(&[("REMIND_AFTER_HOURS", "-1")]).contains("COUNTERSIGN_REMIND_AFTER_HOURS"));
    let too_long = error(&[("ESCALATE_AFTER_HOURS", "9999999999999999")]);
    assert!(
        too_long.contains("8760"),
        "a figure no duration can hold is refused, not a crash at start-up: {too_long}"
    );
    assert!(error(&[("ESCALATE_TO_PROD", "the boss")]).contains("not an e-mail address"));
    assert!(
        error(&[("ESCALATE_TO_STAGING", "a@example.com")]).contains("not one of the environments")
    );
}

#[test]
fn a_chat_webhook_is_an_https_url_per_environment_kept_secret() {
    let hook = "https://hooks.slack.com/services/T0/B0/secret";
    let config = Config::from_pairs([("WEBHOOK_URL_PROD", hook)]).unwrap();
    let urls: Vec<&str> = config
        .mail
        .webhooks
        .values()
        .map(secrecy::ExposeSecret::expose_secret)
        .collect();
    assert_eq!(urls, [hook]);
    assert!(
        !format!("{config:?}").contains("secret"),
        "never in a debug print"
    );
    assert!(error(&[("WEBHOOK_URL_PROD", "http://hooks.example/x")]).contains("https://"));
    assert!(error(&[("WEBHOOK_URL_STAGING", hook)]).contains("not one of the environments"));
}

#[test]
fn an_audit_signing_key_must_be_a_note_key() {
    assert!(error(&[("AUDIT_SIGNING_KEY", "secret")]).contains("COUNTERSIGN_AUDIT_SIGNING_KEY"));
    let key = countersign_audit::Notary::generate_key("portal.example.com");
    let config = Config::from_pairs([("AUDIT_SIGNING_KEY", key.as_str())]).unwrap();
    assert!(config.audit_signing_key.is_some());
    assert_eq!(config.audit_key_name(), "127.0.0.1:3000");
}

#[test]
fn the_extra_approval_without_a_registrant_is_configured_per_environment() {
    let unknown = |config: &Config, env: &str| {
        let version = countersign_domain::ModelVersion {
            attributed_to: countersign_domain::Attribution::nobody(),
            ..demo_version()
        };
        let env = config.policy.environments().find(env).unwrap().clone();
        config.policy.approvals_needed(&env, &version)
    };
    let defaults = Config::from_pairs([]).unwrap();
    assert_eq!(
        (unknown(&defaults, "dev"), unknown(&defaults, "prod")),
        (2, 2),
        "by default, wherever four-eyes holds"
    );
    let own_dev = Config::from_pairs([("SELF_APPROVAL", "dev")]).unwrap();
    assert_eq!(
        (unknown(&own_dev, "dev"), unknown(&own_dev, "test")),
        (1, 2)
    );
    let both = Config::from_pairs([("EXTRA_APPROVAL_WITHOUT_REGISTRANT", "uat, prod")]).unwrap();
    assert_eq!(
        (
            unknown(&both, "test"),
            unknown(&both, "uat"),
            unknown(&both, "prod")
        ),
        (1, 2, 2)
    );
    let off = Config::from_pairs([("EXTRA_APPROVAL_WITHOUT_REGISTRANT", "")]).unwrap();
    assert_eq!(unknown(&off, "prod"), 1);
    assert!(error(&[("EXTRA_APPROVAL_WITHOUT_REGISTRANT", "staging")])
        .contains("COUNTERSIGN_EXTRA_APPROVAL_WITHOUT_REGISTRANT"));
}

fn demo_version() -> countersign_domain::ModelVersion {
    use countersign_domain::*;
    let policy = Policy::new(Environments::default(), "approvers");
    let person = Person {
        subject: "dana".into(),
        name: "Dana".into(),
        email: String::new(),
    };
    let registration = Registration::new(
        GroupName::parse("churn").unwrap(),
        "img",
        "",
        "",
        Metrics::new(),
        person,
    )
    .unwrap();
    workflow::register(&policy, registration, time::OffsetDateTime::UNIX_EPOCH)
        .into_version(VersionNumber::new(1).unwrap(), "arn".into())
}

#[test]
fn start_up_warns_of_what_is_left_open_on_a_laptop() {
    let laptop = Config::from_pairs([]).unwrap().warnings();
    assert!(
        laptop.iter().any(|w| w.contains("takes no token"))
            && laptop
                .iter()
                .any(|w| w.contains("development sign-in is on"))
            && laptop.iter().any(|w| w.contains("COUNTERSIGN_NOTIFY_DEV")),
        "{laptop:?}"
    );
}

// Proves: AC-06.
#[cfg(feature = "aws")]
#[test]
fn start_up_warns_of_keys_under_the_accounts_default_kms_key() {
    let default_key = Config::from_pairs([("BACKEND", "aws")]).unwrap().warnings();
    assert!(
        default_key
            .iter()
            .any(|w| w.contains("aws/ssm") && w.contains("COUNTERSIGN_SESSION_KMS_KEY_ID")),
        "{default_key:?}"
    );
    let own_key = Config::from_pairs([
        ("BACKEND", "aws"),
        ("SESSION_KMS_KEY_ID", "alias/countersign"),
    ])
    .unwrap()
    .warnings();
    assert!(
        !own_key.iter().any(|w| w.contains("aws/ssm")),
        "{own_key:?}"
    );
}

#[test]
fn start_up_warns_when_a_portal_reached_from_elsewhere_names_no_proxies() {
    let proxies_warning = |w: &String| w.contains("COUNTERSIGN_TRUSTED_PROXIES is empty");
    let laptop = Config::from_pairs([]).unwrap().warnings();
    assert!(!laptop.iter().any(proxies_warning), "{laptop:?}");
    let served = [
        ("PUBLIC_URL", "https://countersign.example.com"),
        ("OIDC_ISSUER", "https://login.example.com"),
        ("OIDC_CLIENT_ID", "countersign"),
        ("OIDC_CLIENT_SECRET", "secret"),
    ];
    let warned = Config::from_pairs(served).unwrap().warnings();
    assert!(warned.iter().any(proxies_warning), "{warned:?}");
    let named = Config::from_pairs(
        served
            .into_iter()
            .chain([("TRUSTED_PROXIES", "10.0.0.0/16")]),
    )
    .unwrap()
    .warnings();
    assert!(!named.iter().any(proxies_warning), "{named:?}");
}

// Proves: AT-07.
#[test]
fn the_settings_digest_changes_with_a_setting_and_counts_a_secret_only_as_set() {
    let digest = |pairs: &[(&str, &str)]| {
        Config::from_pairs(pairs.iter().copied())
            .unwrap()
            .settings_digest
    };
    let base = digest(&[("VIEWERS", "qa")]);
    assert_eq!(base.len(), 64);
    assert_eq!(
        base,
        digest(&[("VIEWERS", "qa")]),
        "the same settings, the same digest"
    );
    assert_ne!(base, digest(&[("VIEWERS", "qa,ml")]));
    assert_ne!(
        base,
        digest(&[("VIEWERS", "qa"), ("SESSION_IDLE_MINUTES", "15")])
    );
    let mail = |password: &str| {
        digest(&[
            ("VIEWERS", "qa"),
            (
                "SMTP_URL",
                &format!("smtp://portal:{password}@mail.example.com:587"),
            ),
        ])
    };
    assert_eq!(
        mail("first-password"),
        mail("second-password"),
        "a secret's value is never in it"
    );
    assert_ne!(mail("first-password"), base, "whether it is set is");
}
