//! The OpenAPI description is true: every operation it lists is called with its documented
//! example, answers with a documented status, and its JSON matches the documented schema;
//! without credentials each answers 401, as documented.

use crate::support::TestApp;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use countersign_server::http::api::auth::hex_digest;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const TOKEN: &str = "cst_openapi-test-token-0123456789abcdef";
const EVENTS_KEY: &str = "openapi-test-events-key-0123";

async fn call(router: &axum::Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Follows `$ref`s into the document's components.
fn resolve<'a>(schema: &'a Value, doc: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            resolve(&doc["components"]["schemas"][name], doc)
        }
        None => schema,
    }
}

/// Checks `value` against `schema`: types, required properties, nested objects and arrays.
fn conforms(value: &Value, schema: &Value, doc: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(schema, doc);
    if let Some(choices) = schema.get("oneOf").or_else(|| schema.get("anyOf")) {
        let choices = choices.as_array().unwrap();
        return if choices.iter().any(|c| conforms(value, c, doc, at).is_ok()) {
            Ok(())
        } else {
            Err(format!("{at}: {value} matches none of {choices:?}"))
        };
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let type_of = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let type_ok = types.is_empty()
        || types.contains(&type_of)
        || (type_of == "integer" && types.contains(&"number"));
    if !type_ok {
        return Err(format!(
            "{at}: {value} is {type_of}, documented as {types:?}"
        ));
    }
    if let Value::Object(fields) = value {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap();
            if !fields.contains_key(name) {
                return Err(format!("{at}: required {name:?} is missing from {value}"));
            }
        }
        for (name, field) in fields {
            match schema["properties"].get(name) {
                Some(property) => conforms(field, property, doc, &format!("{at}.{name}"))?,
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        return Err(format!("{at}: {name:?} is not documented"))
                    }
                    Some(extra @ Value::Object(_)) => {
                        conforms(field, extra, doc, &format!("{at}.{name}"))?
                    }
                    _ if schema.get("properties").is_some() => {
                        return Err(format!("{at}: {name:?} is not documented"))
                    }
                    _ => {}
                },
            }
        }
    }
    if let (Value::Array(items), Some(item)) = (value, schema.get("items")) {
        for (i, element) in items.iter().enumerate() {
            conforms(element, item, doc, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_documented_operation_answers_as_documented() {
    let tokens = format!("tester:register+report+resolve:{}", hex_digest(TOKEN));
    let app = TestApp::new(&[
        ("API_TOKENS", &tokens),
        ("API_REGISTRANTS", "tester=*"),
        ("EVENTS_API_KEY", EVENTS_KEY),
    ])
    .await;
    let (router, backing) = (&app.router, &app.backing);

    // A version approved for dev, so that resolving and reporting have something to act on.
    let services = &backing.services;
    let registration = countersign_domain::Registration::new(
        countersign_domain::GroupName::parse("churn").unwrap(),
        "img:1",
        "s3://m/1",
        "",
        Default::default(),
        countersign_domain::Person {
            subject: "dana".into(),
            name: "Dana".into(),
            email: "dana@example.com".into(),
        },
    )
    .unwrap();
    let version = services.register(registration).await.unwrap();
    let alice = countersign_domain::Actor {
        person: countersign_domain::Person {
            subject: "alice".into(),
            name: "Alice".into(),
            email: "alice@example.com".into(),
        },
        groups: ["approvers".to_owned()].into(),
    };
    let request = countersign_domain::DecisionRequest::new(
        countersign_domain::Environment::parse("dev").unwrap(),
        countersign_domain::Choice::Approve,
        "",
    );
    services
        .decide(&alice, &version.group, version.version, &request)
        .await
        .unwrap();

    let (status, doc) = call(
        router,
        Request::get("/api/v1/openapi.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let format = &doc["components"]["schemas"]["Bundle"]["properties"]["format"]["description"];
    assert!(
        format
            .as_str()
            .is_some_and(|text| text.contains("docs/audit-bundle.md")),
        "the bundle's format points to its specification: {format}"
    );
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations.push((method.to_uppercase(), path.clone(), operation.clone()));
        }
    }
    let listed: Vec<String> = operations
        .iter()
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    for expected in [
        "POST /api/v1/models/{group}/versions",
        "GET /api/v1/models/{group}/environments/{environment}",
        "POST /api/v1/models/{group}/versions/{version}/reports",
        "GET /api/v1/models/{group}/versions/{version}/reports",
        "GET /api/v1/models/{group}/history",
        "POST /api/v1/events/sagemaker",
        "GET /api/v1/models/{group}/audit",
        "GET /api/v1/audit/public-key",
    ] {
        assert!(
            listed.contains(&expected.to_owned()),
            "{expected} is not described: {listed:?}"
        );
    }
    assert_eq!(listed.len(), 8, "{listed:?}");

    for (method, path, operation) in operations {
        let uri = path
            .replace("{group}", "churn")
            .replace("{version}", "1")
            .replace("{environment}", "dev");
        let body = operation["requestBody"]["content"]["application/json"]["schema"]
            .as_object()
            .map(|schema| resolve(&Value::Object(schema.clone()), &doc)["example"].clone());
        let schemes: Vec<String> = operation["security"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s.as_object().unwrap().keys().cloned())
            .collect();
        let request = |credentials: bool| {
            let mut request = Request::builder().method(method.as_str()).uri(&uri);
            if credentials && schemes.contains(&"bearer".to_owned()) {
                request = request.header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
            }
            if credentials && schemes.contains(&"events_api_key".to_owned()) {
                request = request.header("x-api-key", EVENTS_KEY);
            }
            match &body {
                Some(example) => {
                    assert!(
                        !example.is_null(),
                        "{method} {path} documents no example body"
                    );
                    request
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Body::from(example.to_string()))
                        .unwrap()
                }
                None => request.body(Body::empty()).unwrap(),
            }
        };
        let what = format!("{method} {path}");
        let (status, answer) = call(router, request(true)).await;
        let documented = &operation["responses"][status.as_str()];
        assert!(
            documented.is_object(),
            "{what} answered {status}, which is not documented: {answer}"
        );
        assert!(
            status.is_success(),
            "{what}: its documented example failed with {status}: {answer}"
        );
        let schema = &documented["content"]["application/json"]["schema"];
        assert!(
            resolve(schema, &doc)["required"]
                .as_array()
                .is_some_and(|r| !r.is_empty()),
            "{what}: the {status} answer's schema names its required fields: {schema}"
        );
        conforms(&answer, schema, &doc, &what).unwrap();

        if schemes.is_empty() {
            assert_eq!(path, "/api/v1/audit/public-key", "the one public operation");
            continue;
        }
        let (status, answer) = call(router, request(false)).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{what} without credentials: {answer}"
        );
        let documented = &operation["responses"]["401"];
        assert!(documented.is_object(), "{what}: 401 is not documented");
        conforms(
            &answer,
            &documented["content"]["application/json"]["schema"],
            &doc,
            &what,
        )
        .unwrap();
    }
}

#[test]
fn the_checker_catches_what_the_description_does_not_allow() {
    let doc = json!({"components": {"schemas": {"Thing": {
        "type": "object", "required": ["name"],
        "properties": {"name": {"type": "string"}, "count": {"type": "integer"}}
    }}}});
    let schema = json!({"$ref": "#/components/schemas/Thing"});
    assert!(conforms(&json!({"name": "a", "count": 2}), &schema, &doc, "t").is_ok());
    assert!(
        conforms(&json!({"count": 2}), &schema, &doc, "t").is_err(),
        "missing required"
    );
    assert!(
        conforms(&json!({"name": 1}), &schema, &doc, "t").is_err(),
        "wrong type"
    );
    assert!(
        conforms(&json!({"name": "a", "extra": 1}), &schema, &doc, "t").is_err(),
        "undocumented"
    );
}
