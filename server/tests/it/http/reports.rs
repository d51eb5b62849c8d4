//! Inference reports: validated, stored once per run, listed, and the promotion they ask for.

use super::*;

#[tokio::test]
async fn inference_reports_are_validated_stored_once_per_run_and_listed() {
    let app = TestApp::new(&[]).await;
    app.register("churn", "dana").await;
    let reports = "/api/v1/models/churn/versions/1/reports";
    let early = app
        .post_json(reports, &report_body("dev", "nightly-1", json!(0.9)))
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    assert_eq!(early.json()["code"], "not_approved_there");

    let alice = app.sign_in("alice").await;
    let approved = app.decide(&alice, "churn", "dev", "approve", "ok").await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);

    let first = app
        .post_json(reports, &report_body("dev", "nightly-1", json!(0.9)))
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let receipt = first.json();
    assert_eq!(receipt["promotion_requested"], "test");
    assert_eq!(receipt["report"]["run_id"], "nightly-1");
    assert_eq!(receipt["report"]["metrics"]["auc"], 0.9);
    assert_eq!(receipt["report"]["finished_at"], "2026-11-26T10:20:00.5Z");

    let retry = app
        .post_json(reports, &report_body("dev", "nightly-1", json!(0.9)))
        .await;
    assert_eq!(retry.status, StatusCode::OK, "a retry: {}", retry.body);
    assert_eq!(retry.json()["report"], receipt["report"]);

    let mut finished_early = report_body("dev", "nightly-2", json!(0.9));
    finished_early["finished_at"] = json!("2026-11-26T09:00:00Z");
    let mut bad_link = report_body("dev", "nightly-2", json!(0.9));
    bad_link["artifacts_url"] = json!("file:///tmp/x");
    let mut no_samples = report_body("dev", "nightly-2", json!(0.9));
    no_samples.as_object_mut().unwrap().remove("sample_count");
    let mut bad_time = report_body("dev", "nightly-2", json!(0.9));
    bad_time["started_at"] = json!("yesterday");
    let oversized = report_body("dev", &"r".repeat(70_000), json!(0.9));
    let cases: Vec<(&str, Value, StatusCode, &str)> = vec![
        (
            reports,
            report_body("dev", "nightly-1", json!(0.5)),
            StatusCode::CONFLICT,
            "run_id_taken",
        ),
        (
            reports,
            report_body("test", "t-1", json!(0.9)),
            StatusCode::CONFLICT,
            "not_approved_there",
        ),
        (
            reports,
            report_body("staging", "s-1", json!(0.9)),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/api/v1/models/churn/versions/9/reports",
            report_body("dev", "n", json!(0.9)),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/api/v1/models/churn/versions/x/reports",
            report_body("dev", "n", json!(0.9)),
            StatusCode::BAD_REQUEST,
            "invalid_version",
        ),
        (
            reports,
            report_body("dev", "a/b", json!(0.9)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            reports,
            report_body("dev", "nightly-2", json!("NaN")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            reports,
            finished_early,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            reports,
            bad_link,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            reports,
            no_samples,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            reports,
            bad_time,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            reports,
            oversized,
            StatusCode::PAYLOAD_TOO_LARGE,
            "bad_request",
        ),
    ];
    for (uri, body, status, code) in cases {
        let reply = app.post_json(uri, &body).await;
        assert_eq!(
            reply.status, status,
            "{uri} {}: {}",
            body["run_id"], reply.body
        );
        assert_eq!(reply.json()["code"], code, "{}", reply.body);
    }
    // A number JSON cannot hold as a finite double is refused, never stored as infinity.
    let huge = app
        .send(
            Request::post(reports)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    report_body("dev", "nightly-2", json!(0.9))
                        .to_string()
                        .replace("0.9", "1e999"),
                ))
                .unwrap(),
        )
        .await;
    assert!(
        huge.status.is_client_error(),
        "{}: {}",
        huge.status,
        huge.body
    );

    let second = app
        .post_json(reports, &report_body("dev", "nightly-2", json!(0.92)))
        .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    let listed = app.get(reports, None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let runs: Vec<Value> = listed.json()["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].clone())
        .collect();
    assert_eq!(runs, [json!("nightly-1"), json!("nightly-2")]);
    let unknown = app
        .get("/api/v1/models/churn/versions/9/reports", None)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let page = app.get("/models/churn/versions/1", Some(&alice)).await;
    assert_eq!(page.status, StatusCode::OK);
    let newest = page
        .body
        .find("Run nightly-2 in dev")
        .expect("the newest run is shown");
    let oldest = page
        .body
        .find("Run nightly-1 in dev")
        .expect("the first run is shown");
    assert!(newest < oldest, "newest first");
    assert!(page.body.contains("25000 samples"));
    assert!(page.body.contains("s3://runs/churn/nightly"));
}
