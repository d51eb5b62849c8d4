//! Hearing about versions and telling people: the EventBridge intake over HTTP, the
//! reconciliation scan, exactly one request per version, and delivery over SMTP to a real
//! maildev server that goes down and comes back.

use crate::support::servers::Maildev;
use crate::support::TestApp;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use countersign_domain::ports::*;
use countersign_domain::*;
use countersign_local_store::LocalStore;
use countersign_server::notify::{ChatOrMail, Delivery, OutboxOnly, Smtp, Transport};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const KEY: &str = "test-events-key-0123456789";

/// The portal with approvers to mail for dev, and its store reached around the services:
/// versions registered there have had no notice, as if a SageMaker pipeline had registered
/// them.
struct Portal {
    app: TestApp,
    store: LocalStore,
}

impl std::ops::Deref for Portal {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Portal {
    async fn start(extra: &[(&str, &str)]) -> Self {
        let app = TestApp::builder()
            .setting("NOTIFY_DEV", "ml-leads@example.com")
            .settings(extra)
            .in_process()
            .await;
        let store = LocalStore::open(&app.config.database).unwrap();
        Self { app, store }
    }

    /// A version registered behind Countersign's back.
    async fn registered_elsewhere(&self, group: &str) -> ModelVersion {
        let registration = Registration::new(
            GroupName::parse(group).unwrap(),
            "registry.example/churn:1",
            "s3://models/churn/1.tar.gz",
            "",
            Metrics::from([("auc".into(), 0.9)]),
            Person {
                subject: "dana".into(),
                name: "Dana Scientist".into(),
                email: "dana@example.com".into(),
            },
        )
        .unwrap();
        let new = workflow::register(
            self.backing.services.policy(),
            registration,
            time::OffsetDateTime::now_utc(),
        );
        self.store.register(new).await.unwrap()
    }

    async fn post_event(&self, key: Option<&str>, body: Vec<u8>) -> (StatusCode, Value) {
        let mut request =
            Request::post("/api/v1/events/sagemaker").header("content-type", "application/json");
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn queued(&self) -> Vec<OutboxEntry> {
        self.backing
            .outbox
            .recent(PageRequest {
                offset: 0,
                limit: 100,
            })
            .await
            .unwrap()
            .items
    }
}

fn event(group: &str, version: u32) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "version": "0", "id": "5ef5e8a1", "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker", "account": "123456789012", "time": "2026-11-26T10:00:00Z",
        "region": "eu-west-1", "resources": [],
        "detail": {
            "ModelPackageGroupName": group, "ModelPackageVersion": version,
            "ModelApprovalStatus": "PendingManualApproval", "CreationTime": 1764151200000_i64
        }
    }))
    .unwrap()
}

#[tokio::test]
async fn an_event_queues_one_approval_request_however_often_it_arrives() {
    let portal = Portal::start(&[("EVENTS_API_KEY", KEY)]).await;
    let version = portal.registered_elsewhere("churn").await;
    assert!(portal.queued().await.is_empty());

    let (status, answer) = portal.post_event(Some(KEY), event("churn", 1)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(
        answer,
        json!({"status": "processed", "approval_requested": true})
    );
    for _ in 0..3 {
        let (status, _) = portal.post_event(Some(KEY), event("churn", 1)).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    portal.backing.services.reconcile().await.unwrap();

    let queued = portal.queued().await;
    assert_eq!(
        queued.len(),
        1,
        "one request, however many events and scans"
    );
    let message = &queued[0].message;
    assert_eq!(message.key, "approval-request/churn/1/dev");
    assert_eq!(message.to, ["ml-leads@example.com"]);
    assert!(message
        .text
        .contains("http://127.0.0.1:3000/models/churn/versions/1?environment=dev"));

    // Once decided, the version needs no request, and an event about it queues nothing.
    let alice = Actor {
        person: Person {
            subject: "alice".into(),
            name: "Alice Approver".into(),
            email: "alice@example.com".into(),
        },
        groups: ["approvers".to_owned()].into(),
    };
    let approve = DecisionRequest::new(Environment::parse("dev").unwrap(), Choice::Approve, "");
    portal
        .backing
        .services
        .decide(&alice, &version.group, version.version, &approve)
        .await
        .unwrap();
    let (_, answer) = portal.post_event(Some(KEY), event("churn", 1)).await;
    assert_eq!(answer["approval_requested"], false);
    let keys: Vec<String> = portal
        .queued()
        .await
        .into_iter()
        .map(|e| e.message.key)
        .collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(
        keys.iter().any(|k| k.starts_with("decision/")),
        "the registrant is told of the decision: {keys:?}"
    );
}

#[tokio::test]
async fn a_lost_event_is_made_good_by_the_reconciliation_scan() {
    let portal = Portal::start(&[]).await;
    portal.registered_elsewhere("fraud").await;
    portal.registered_elsewhere("fraud").await;
    let checked = portal.backing.services.reconcile().await.unwrap();
    assert_eq!(checked, 2);
    let mut keys: Vec<String> = portal
        .queued()
        .await
        .into_iter()
        .map(|e| e.message.key)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "approval-request/fraud/1/dev",
            "approval-request/fraud/2/dev"
        ]
    );
}

fn approver(subject: &str, services: &countersign_domain::service::Services) -> Actor {
    Actor {
        person: Person {
            subject: subject.into(),
            name: format!("{subject} approver"),
            email: format!("{subject}@example.com"),
        },
        groups: services
            .policy()
            .environments()
            .iter()
            .flat_map(|env| services.policy().approver_groups(env))
            .map(str::to_owned)
            .collect(),
    }
}

fn run(version: &ModelVersion, environment: &str, run_id: &str, auc: f64) -> InferenceReport {
    // Fixed times: the same run id sent twice is the same run only with the same figures.
    let now = time::macros::datetime!(2026-11-26 12:00 UTC);
    ReportDraft {
        group: version.group.clone(),
        version: version.version,
        environment: Environment::parse(environment).unwrap(),
        run_id: RunId::parse(run_id).unwrap(),
        metrics: Metrics::from([("auc".into(), auc)]),
        started_at: now - time::Duration::minutes(20),
        finished_at: now,
        sample_count: 1000,
        artifacts_url: None,
        reported_by: "batch",
        reported_at: now,
    }
    .validate()
    .unwrap()
}

#[tokio::test]
async fn runs_ask_the_next_approvers_once_beside_the_version_live_there() {
    let portal = Portal::start(&[("NOTIFY_TEST", "qa@example.com")]).await;
    let services = &portal.backing.services;
    let approve = |version: &ModelVersion, env: &str| {
        let request = DecisionRequest::new(Environment::parse(env).unwrap(), Choice::Approve, "");
        let (group, number) = (version.group.clone(), version.version);
        async move {
            services
                .decide(&approver("alice", services), &group, number, &request)
                .await
                .unwrap();
        }
    };
    let group = GroupName::parse("churn").unwrap();
    let registration = |image: &str| {
        Registration::new(
            group.clone(),
            image,
            "s3://m",
            "",
            Metrics::new(),
            approver("dana", services).person,
        )
        .unwrap()
    };
    let live = services.register(registration("img:1")).await.unwrap();
    approve(&live, "dev").await;
    approve(&live, "test").await;
    services
        .submit_report(run(&live, "test", "t-1", 0.88))
        .await
        .unwrap();

    let candidate = services.register(registration("img:2")).await.unwrap();
    approve(&candidate, "dev").await;
    for run_id in ["d-1", "d-1", "d-2"] {
        let receipt = services
            .submit_report(run(&candidate, "dev", run_id, 0.93))
            .await
            .unwrap();
        assert_eq!(
            receipt
                .promotion_requested
                .map(|e| e.to_string())
                .as_deref(),
            Some("test")
        );
    }
    let requests: Vec<OutboxEntry> = portal
        .queued()
        .await
        .into_iter()
        .filter(|e| e.message.key.starts_with("promotion-request/"))
        .collect();
    let keys: Vec<&str> = requests.iter().map(|e| e.message.key.as_str()).collect();
    // The first version's test run asks for uat, whose approvers are not configured here;
    // the message is queued all the same and shows on the notifications page.
    assert_eq!(
        keys,
        [
            "promotion-request/churn/2/test",
            "promotion-request/churn/1/uat"
        ]
    );
    let to_test = &requests[0].message;
    assert_eq!(to_test.to, ["qa@example.com"]);
    let text = &to_test.text;
    assert!(text.contains("Version 1 is live in test."), "{text}");
    assert!(
        text.lines().any(|l| l == "auc     0.93       0.88"),
        "the candidate's dev run beside the live version's test run:\n{text}"
    );
}

#[tokio::test]
async fn the_intake_refuses_wrong_keys_and_bad_bodies_with_reasons() {
    let portal = Portal::start(&[("EVENTS_API_KEY", KEY)]).await;
    let (status, answer) = portal
        .post_event(Some("wrong-key-0123456789"), event("churn", 1))
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    let (status, _) = portal.post_event(None, event("churn", 1)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, answer) = portal.post_event(Some(KEY), b"{not json".to_vec()).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_event"))
    );
    let mut training = serde_json::from_slice::<Value>(&event("churn", 1)).unwrap();
    training["detail-type"] = "SageMaker Training Job State Change".into();
    let (status, answer) = portal
        .post_event(Some(KEY), serde_json::to_vec(&training).unwrap())
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer["message"].as_str().unwrap().contains("Training Job"),
        "{answer}"
    );
    let (status, answer) = portal.post_event(Some(KEY), event("churn", 0)).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_event"))
    );
    let (status, answer) = portal.post_event(Some(KEY), event("nothing-here", 4)).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    assert!(portal.queued().await.is_empty());

    let off = Portal::start(&[]).await;
    let (status, answer) = off.post_event(Some(KEY), event("churn", 1)).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("events_off"))
    );
}

#[tokio::test]
async fn mail_goes_out_over_smtp_and_a_server_that_is_down_gets_it_once_it_is_back() {
    let portal = Portal::start(&[("EVENTS_API_KEY", KEY)]).await;
    let maildev = Maildev::start();
    let delivery = |smtp: u16| Delivery {
        outbox: portal.backing.outbox.clone(),
        transport: Arc::new(
            Smtp::new(
                &format!("smtp://127.0.0.1:{smtp}"),
                "Countersign <countersign@example.com>",
            )
            .unwrap(),
        ),
        clock: Arc::new(SystemClock),
        wake: portal.backing.wake.clone(),
        retry_after: Duration::from_secs(1),
        attempts: 5,
    };

    portal.registered_elsewhere("churn").await;
    portal.post_event(Some(KEY), event("churn", 1)).await;
    assert_eq!(delivery(maildev.smtp).deliver_due().await.unwrap(), 1);
    let emails = maildev.emails().await;
    assert_eq!(emails.len(), 1);
    let email = &emails[0];
    assert_eq!(
        email["subject"],
        "[Countersign] churn version 1 awaits approval for dev"
    );
    assert_eq!(email["to"][0]["address"], "ml-leads@example.com");
    assert!(email["html"]
        .as_str()
        .unwrap()
        .contains("href=\"http://127.0.0.1:3000/models/churn/versions/1?environment=dev\""));
    assert!(email["text"].as_str().unwrap().contains("auc 0.9"));

    // The SMTP server goes away: the attempt fails and is kept for a retry.
    let (smtp, web) = maildev.stop();
    portal.registered_elsewhere("churn").await;
    portal.post_event(Some(KEY), event("churn", 2)).await;
    assert_eq!(delivery(smtp).deliver_due().await.unwrap(), 0);
    let waiting = portal.queued().await;
    let second = waiting
        .iter()
        .find(|e| e.message.key.contains("/2/"))
        .unwrap();
    assert_eq!((second.state, second.attempts), (DeliveryState::Pending, 1));
    assert!(second.last_error.is_some());

    // Back again: after the backoff the message goes out, once.
    let maildev = Maildev::start_on(smtp, web);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(delivery(smtp).deliver_due().await.unwrap(), 1);
    assert_eq!(delivery(smtp).deliver_due().await.unwrap(), 0);
    let emails = maildev.emails().await;
    assert_eq!(
        emails.len(),
        1,
        "the restarted maildev got exactly the retried message"
    );
    assert_eq!(
        emails[0]["subject"],
        "[Countersign] churn version 2 awaits approval for dev"
    );
}

#[tokio::test]
async fn one_recipient_that_is_not_an_address_never_keeps_the_others_from_the_message() {
    let maildev = Maildev::start();
    let smtp = Smtp::new(
        &format!("smtp://127.0.0.1:{}", maildev.smtp),
        "Countersign <countersign@example.com>",
    )
    .unwrap();
    let message = OutgoingMessage {
        key: "decision/rollback-1".into(),
        to: vec!["not an address".into(), "prod-approvers@example.com".into()],
        subject: "prod was rolled back".into(),
        text: "why".into(),
        html: "<p>why</p>".into(),
    };
    smtp.send(&message).await.unwrap();
    let emails = maildev.emails().await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["to"][0]["address"], "prod-approvers@example.com");

    let nobody = OutgoingMessage {
        to: vec!["not an address".into()],
        ..message
    };
    assert!(smtp
        .send(&nobody)
        .await
        .unwrap_err()
        .contains("none of the recipients"));
}

#[tokio::test]
async fn a_step_waiting_too_long_is_reminded_then_escalated_once_each_across_replicas() {
    // Hours as short as a test can wait: the reminder after about a second, the escalation
    // after about two.
    let app = TestApp::new(&[
        ("NOTIFY_DEV", "ml-leads@example.com"),
        ("ESCALATE_TO_DEV", "head-of-ml@example.com"),
        ("REMIND_AFTER_HOURS", "0.0003"),
        ("ESCALATE_AFTER_HOURS", "0.0006"),
    ])
    .await;
    let replica = app.replica().await;
    app.register("churn", "dana").await;
    let rules = &app.config.follow_ups;
    assert_eq!(
        app.backing.services.follow_up(rules).await.unwrap(),
        0,
        "nothing is late yet"
    );

    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    for portal in [&app, &replica, &app] {
        portal.backing.services.follow_up(rules).await.unwrap();
    }
    let keys = |entries: &[countersign_domain::ports::OutboxEntry]| -> Vec<(String, Vec<String>)> {
        entries
            .iter()
            .filter(|e| !e.message.key.starts_with("decision/"))
            .map(|e| (e.message.key.clone(), e.message.to.clone()))
            .collect()
    };
    let outbox = latest_messages(&app).await;
    let mut sent = keys(&outbox);
    sent.sort();
    assert_eq!(
        sent,
        [
            (
                "approval-request/churn/1/dev".to_owned(),
                vec!["ml-leads@example.com".to_owned()]
            ),
            (
                "reminder/churn/1/dev".to_owned(),
                vec!["ml-leads@example.com".to_owned()]
            ),
        ],
        "one reminder, however often and wherever the follow-up runs"
    );

    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    replica.backing.services.follow_up(rules).await.unwrap();
    app.backing.services.follow_up(rules).await.unwrap();
    let outbox = latest_messages(&app).await;
    let escalations: Vec<_> = outbox
        .iter()
        .filter(|e| e.message.key.starts_with("escalation/"))
        .collect();
    assert_eq!(escalations.len(), 1);
    assert_eq!(escalations[0].message.to, ["head-of-ml@example.com"]);
    assert!(escalations[0]
        .message
        .subject
        .starts_with("[Countersign] Escalation: churn version 1"));
    assert!(escalations[0]
        .message
        .text
        .contains("COUNTERSIGN_ESCALATE_TO_DEV names you"));

    let bob = app.sign_in("bob").await;
    let page = app.get("/models/churn/versions/1", Some(&bob)).await.body;
    assert!(
        page.contains("The reminder to the approvers of dev"),
        "{page}"
    );
    assert!(
        page.contains("The escalation of this step (waiting too long for dev)"),
        "{page}"
    );

    let alice = app.sign_in("alice").await;
    app.decide(&alice, "churn", "dev", "approve", "fine").await;
    tokio::time::sleep(std::time::Duration::from_millis(2400)).await;
    app.backing.services.follow_up(rules).await.unwrap();
    let outbox = latest_messages(&app).await;
    assert!(
        outbox
            .iter()
            .any(|e| e.message.key == "reminder/churn/1/test"),
        "test waits now, and its approvers are reminded in turn"
    );
    assert!(
        !outbox
            .iter()
            .any(|e| e.message.key == "escalation/churn/1/test"),
        "nobody is named for test: it is never escalated"
    );
}

/// The portal's latest fifty messages.
async fn latest_messages(app: &TestApp) -> Vec<OutboxEntry> {
    let page = PageRequest {
        offset: 0,
        limit: 50,
    };
    app.backing.outbox.recent(page).await.unwrap().items
}

/// Delivery as the portal runs it without an SMTP server: chat messages to their webhooks.
fn chat_delivery(app: &TestApp) -> Delivery {
    Delivery {
        outbox: app.backing.outbox.clone(),
        transport: Arc::new(ChatOrMail::new(
            Arc::new(OutboxOnly),
            app.config.mail.webhooks.clone(),
        )),
        clock: Arc::new(SystemClock),
        wake: app.backing.wake.clone(),
        retry_after: Duration::from_secs(1),
        attempts: 5,
    }
}

/// A chat's incoming webhook on loopback: keeps what is posted to it, answers `status`.
async fn webhook_receiver(
    status: StatusCode,
) -> (String, Arc<std::sync::Mutex<Vec<serde_json::Value>>>) {
    let received = Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = received.clone();
    let router = axum::Router::new().route(
        "/hooks/T0/B0/secret-token",
        axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push(body);
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/hooks/T0/B0/secret-token",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, received)
}

#[tokio::test]
async fn a_request_is_posted_to_the_environments_chat_beside_the_mail_and_the_url_is_never_shown() {
    let (url, received) = webhook_receiver(StatusCode::OK).await;
    let app = TestApp::new(&[
        ("NOTIFY_DEV", "ml-leads@example.com"),
        ("WEBHOOK_URL_DEV", url.as_str()),
    ])
    .await;
    app.register("churn", "dana").await;
    let delivery = chat_delivery(&app);
    assert_eq!(
        delivery.deliver_due().await.unwrap(),
        2,
        "the mail and the chat message"
    );
    let posted = received.lock().unwrap().clone();
    assert_eq!(posted.len(), 1, "{posted:?}");
    let text = posted[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("churn version 1 awaits approval for dev"),
        "{text}"
    );
    assert!(text.contains("http://127.0.0.1:3000/models/churn/versions/1?environment=dev"));
    assert!(text.contains("the link decides nothing"));

    let messages = latest_messages(&app).await;
    let chat = messages
        .iter()
        .find(|m| m.message.key == "approval-request/churn/1/dev/chat")
        .expect("the chat message is in the outbox");
    assert_eq!(chat.message.to, ["chat:dev"]);
    assert_eq!(chat.state, DeliveryState::Sent);
    let alice = app.sign_in("alice").await;
    let page = app.get("/notifications", Some(&alice)).await.body;
    let row = |key: &str| {
        let start = page
            .find(&format!(r#"data-key="{key}""#))
            .unwrap_or_else(|| panic!("{key} is listed"));
        page[start..].split("</tr>").next().unwrap().to_owned()
    };
    let chat_row = row("approval-request/churn/1/dev/chat");
    assert!(
        chat_row.contains("chat:dev")
            && chat_row.contains("Sent ")
            && !chat_row.contains("Kept here"),
        "a chat message needs no SMTP server: it was posted {chat_row}"
    );
    assert!(
        row("approval-request/churn/1/dev").contains("Kept here, not sent (no SMTP server)"),
        "the mail beside it was only kept"
    );
    assert!(
        !page.contains("secret-token"),
        "the webhook's URL is a secret"
    );

    let (down, _) = webhook_receiver(StatusCode::INTERNAL_SERVER_ERROR).await;
    let failing = TestApp::new(&[("WEBHOOK_URL_DEV", down.as_str())]).await;
    failing.register("churn", "dana").await;
    let delivery = chat_delivery(&failing);
    delivery.deliver_due().await.unwrap();
    let chat = latest_messages(&failing)
        .await
        .into_iter()
        .find(|m| m.message.key == "approval-request/churn/1/dev/chat")
        .unwrap();
    assert_eq!(chat.state, DeliveryState::Pending, "tried again later");
    assert_eq!(
        chat.last_error.as_deref(),
        Some("the dev webhook answered 500 Internal Server Error")
    );
}

#[tokio::test]
async fn a_webhook_answering_with_a_redirect_is_not_followed() {
    // Where a look-alike or compromised endpoint would send the message: a host inside.
    let (inside, reached) = webhook_receiver(StatusCode::OK).await;
    let redirecting = axum::Router::new().route(
        "/hooks/T0/B0/secret-token",
        axum::routing::post(move || {
            let inside = inside.clone();
            async move {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(axum::http::header::LOCATION, inside)],
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/hooks/T0/B0/secret-token",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, redirecting).await });

    let app = TestApp::new(&[("WEBHOOK_URL_DEV", url.as_str())]).await;
    app.register("churn", "dana").await;
    chat_delivery(&app).deliver_due().await.unwrap();
    assert!(
        reached.lock().unwrap().is_empty(),
        "the message was posted again where the redirect pointed"
    );
    let chat = latest_messages(&app)
        .await
        .into_iter()
        .find(|m| m.message.key == "approval-request/churn/1/dev/chat")
        .unwrap();
    assert_eq!(
        chat.last_error.as_deref(),
        Some("the dev webhook answered 307 Temporary Redirect")
    );
}
