use super::*;
use time::macros::datetime;

fn version() -> ModelVersion {
    ModelVersion {
        group: GroupName::parse("churn").unwrap(),
        version: VersionNumber::new(7).unwrap(),
        arn: "arn".into(),
        approval_status: ApprovalStatus::PendingManualApproval,
        steps: Steps::default(),
        image_uri: "registry.example/churn:7".into(),
        model_data_url: "s3://models/churn/7.tar.gz".into(),
        digests: ArtifactDigests::default(),
        description: "<b>retrained</b> on Q3".into(),
        metrics: Metrics::from([("auc".into(), 0.91)]),
        metadata: Default::default(),
        registered_by: Person {
            subject: "dana".into(),
            name: "Dana Scientist".into(),
            email: "dana@example.com".into(),
        },
        attributed_to: Attribution::nobody(),
        registered_through: None,
        registered_at: datetime!(2026-11-26 09:30 UTC),
        drift: Vec::new(),
        revision: 0,
    }
}

#[test]
fn a_chat_message_goes_only_where_a_webhook_is_and_carries_no_link_but_the_portals() {
    let mut version = version();
    version.registered_by.name = "<!channel> see https://evil.example".into();
    let notice = Notice::ApprovalRequested {
        environment: Environment::parse("dev").unwrap(),
        version,
    };
    let none = chat_message(
        &notice,
        "https://countersign.example",
        &Recipients::default(),
    );
    assert_eq!(none, None, "no webhook for dev");
    let recipients = Recipients {
        chat: ["dev".to_owned()].into(),
        ..Recipients::default()
    };
    let chat = chat_message(&notice, "https://countersign.example", &recipients).unwrap();
    assert_eq!(chat.key, "approval-request/churn/7/dev/chat");
    assert_eq!(chat.to, ["chat:dev"]);
    assert!(chat.text.contains("&lt;!channel&gt;"), "{}", chat.text);
    assert!(!chat.text.contains("https://evil"), "{}", chat.text);
    assert!(chat
        .text
        .contains("https://countersign.example/models/churn/versions/7?environment=dev"));
}

#[test]
fn the_only_link_in_a_message_is_the_portals_own() {
    let mut planted = version();
    planted.description = "Urgent: re-authenticate at https://login.evil.example/approve".into();
    planted.image_uri = "www.evil.example/img:1".into();
    let notice = Notice::ApprovalRequested {
        version: planted,
        environment: Environment::parse("dev").unwrap(),
    };
    let message = render(
        &notice,
        "https://countersign.example",
        &Recipients::default(),
    );
    for body in [&message.text, &message.html] {
        assert!(!body.contains("https://login.evil.example"), "{body}");
        assert!(!body.contains("www.evil.example"), "{body}");
        assert!(
            body.replace('\u{200B}', "")
                .contains("https://login.evil.example/approve"),
            "still readable"
        );
    }
    assert_eq!(message.html.matches("href=").count(), 1, "{}", message.html);
    assert!(message
        .text
        .contains("https://countersign.example/models/churn/versions/7"));
}

#[test]
fn an_approval_request_names_the_version_and_links_to_its_review_page() {
    let notice = Notice::ApprovalRequested {
        version: version(),
        environment: Environment::parse("dev").unwrap(),
    };
    let notify = BTreeMap::from([("dev".to_owned(), vec!["leads@example.com".to_owned()])]);
    let message = render(
        &notice,
        "https://countersign.example",
        &Recipients::notifying(notify.clone()),
    );
    assert_eq!(message.key, "approval-request/churn/7/dev");
    assert_eq!(message.to, ["leads@example.com"]);
    assert_eq!(
        message.subject,
        "[Countersign] churn version 7 awaits approval for dev"
    );
    let link = "https://countersign.example/models/churn/versions/7?environment=dev";
    for body in [&message.text, &message.html] {
        let read = body.replace('\u{200B}', "");
        assert!(read.contains("Dana Scientist"), "{body}");
        assert!(read.contains("2026-11-26 09:30:00 UTC"), "{body}");
        assert!(read.contains("auc 0.91"), "{body}");
        assert!(read.contains("registry.example/churn:7"), "{body}");
        assert!(read.contains("s3://models/churn/7.tar.gz"), "{body}");
    }
    assert!(message.text.contains(link));
    assert!(message.html.contains(&format!("href=\"{link}\"")));
    assert!(
        message.html.contains("&lt;b&gt;retrained&lt;/b&gt;"),
        "HTML is escaped"
    );
}

#[test]
fn a_decision_notice_goes_to_the_registrant_and_a_rollback_to_the_environments_approvers() {
    let record = DecisionRecord {
        id: "d-1".into(),
        group: GroupName::parse("churn").unwrap(),
        version: VersionNumber::new(7).unwrap(),
        environment: Environment::parse("dev").unwrap(),
        verdict: Verdict::Reject,
        reason: Some("label leak".into()),
        decided_by: Person {
            subject: "alice".into(),
            name: "Alice Approver".into(),
            email: "alice@example.com".into(),
        },
        decided_at: datetime!(2026-11-26 10:00 UTC),
        resulting_state: StepState::Rejected,
        rollback_to: None,
        signature: Some(Signature {
            meaning: "Rejected for dev".into(),
            record_digest: "ab".repeat(32),
            replaces_version: None,
            authentication: None,
            identity_evidence: None,
            groups: Vec::new(),
        }),
    };
    let message = render(
        &Notice::Decided {
            version: version(),
            record: Box::new(record.clone()),
        },
        "http://127.0.0.1:3000",
        &Recipients::default(),
    );
    assert_eq!(message.key, "decision/d-1");
    assert_eq!(message.to, ["dana@example.com"]);
    assert_eq!(
        message.subject,
        "[Countersign] churn version 7 rejected for dev by Alice Approver"
    );
    assert!(message.text.contains("Reason: label leak"));
    assert!(
            message.text.contains(&format!(
                "Signed by Alice Approver on 2026-11-26 10:00:00 UTC, meaning \"Rejected for dev\" (record digest {})",
                "ab".repeat(32)
            )),
            "{}",
            message.text
        );

    let notify = BTreeMap::from([("dev".to_owned(), vec!["oncall@example.com".to_owned()])]);
    let rollback = DecisionRecord {
        id: "d-2".into(),
        verdict: Verdict::Rollback,
        resulting_state: StepState::RolledBack,
        rollback_to: Some(VersionNumber::new(5).unwrap()),
        ..record
    };
    let message = render(
        &Notice::Decided {
            version: version(),
            record: Box::new(rollback),
        },
        "http://127.0.0.1:3000",
        &Recipients::notifying(notify.clone()),
    );
    assert_eq!(
        message.to,
        ["dana@example.com", "oncall@example.com"],
        "the environment's approvers too"
    );
    assert_eq!(
        message.subject,
        "[Countersign] churn version 7 rolled back for dev by Alice Approver"
    );
    assert!(
        message.text.contains("dev runs version 5 again."),
        "{}",
        message.text
    );
}

fn report(version: u32, environment: &str, metrics: &[(&str, f64)]) -> InferenceReport {
    ReportDraft {
        group: GroupName::parse("churn").unwrap(),
        version: VersionNumber::new(version).unwrap(),
        environment: Environment::parse(environment).unwrap(),
        run_id: RunId::parse("nightly-42").unwrap(),
        metrics: metrics.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
        started_at: datetime!(2026-11-26 11:00 UTC),
        finished_at: datetime!(2026-11-26 11:20 UTC),
        sample_count: 25_000,
        artifacts_url: Some("s3://runs/nightly-42"),
        reported_by: "batch",
        reported_at: datetime!(2026-11-26 11:21 UTC),
    }
    .validate()
    .unwrap()
}

#[test]
fn a_promotion_request_goes_to_the_next_approvers_with_both_versions_metrics() {
    let candidate = report(7, "dev", &[("auc", 0.93), ("latency_ms", 41.0)]);
    let live_report = report(5, "test", &[("auc", 0.9), ("drift", 0.02)]);
    let deployment = Deployment {
        group: GroupName::parse("churn").unwrap(),
        version: VersionNumber::new(5).unwrap(),
        arn: "arn5".into(),
        environment: Environment::parse("test").unwrap(),
        image_uri: "img:5".into(),
        model_data_url: "s3://m/5".into(),
        approved_by: version().registered_by,
        approved_at: datetime!(2026-11-01 08:00 UTC),
        decision_id: "d-5".into(),
    };
    let notice = Notice::PromotionRequested {
        version: version(),
        target: Environment::parse("test").unwrap(),
        report: Box::new(candidate),
        live: Some(Box::new(LiveComparison {
            deployment,
            report: Some(live_report),
        })),
    };
    let notify = BTreeMap::from([
        ("dev".to_owned(), vec!["dev-leads@example.com".to_owned()]),
        ("test".to_owned(), vec!["qa@example.com".to_owned()]),
    ]);
    let message = render(
        &notice,
        "https://countersign.example",
        &Recipients::notifying(notify.clone()),
    );
    assert_eq!(message.key, "promotion-request/churn/7/test");
    assert_eq!(
        message.to,
        ["qa@example.com"],
        "the approvers of the target"
    );
    assert_eq!(
        message.subject,
        "[Countersign] churn version 7 ran in dev: promote it to test?"
    );
    let lines: Vec<&str> = message.text.lines().collect();
    for expected in [
        "Metric      v7 in dev  v5 (live in test) in test",
        "auc         0.93       0.9",
        "drift       –          0.02",
        "latency_ms  41         –",
    ] {
        assert!(
            lines.contains(&expected),
            "{expected:?} in\n{}",
            message.text
        );
    }
    assert!(message.text.contains("run nightly-42, 25000 samples"));
    assert!(message
        .text
        .replace('\u{200B}', "")
        .contains("Run artifacts: s3://runs/nightly-42"));
    assert!(message
        .text
        .contains("https://countersign.example/models/churn/versions/7?environment=test"));
    assert!(message
            .html
            .contains("<tr><th align=\"left\">auc</th><td align=\"left\">0.93</td><td align=\"left\">0.9</td></tr>"));

    let Notice::PromotionRequested {
        version,
        target,
        report,
        ..
    } = notice
    else {
        unreachable!()
    };
    let first = render(
        &Notice::PromotionRequested {
            version,
            target,
            report,
            live: None,
        },
        "https://countersign.example",
        &Recipients::notifying(notify.clone()),
    );
    assert!(first.text.contains("Nothing is live in test yet."));
    assert!(
        first.text.lines().any(|l| l == "auc         0.93"),
        "{}",
        first.text
    );
}
