use super::*;
use proptest::prelude::*;
use serde_json::json;

fn event(detail: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "version": "0", "id": "e1", "detail-type": DETAIL_TYPE, "source": "aws.sagemaker",
        "account": "123456789012", "time": "2026-11-26T10:00:00Z", "region": "eu-west-1",
        "resources": [], "detail": detail
    }))
    .unwrap()
}

#[test]
fn a_registration_event_names_the_version() {
    let parsed = parse_event(&event(json!({
        "ModelPackageGroupName": "churn", "ModelPackageVersion": 7,
        "ModelPackageArn": "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/7",
        "ModelApprovalStatus": "PendingManualApproval", "CreationTime": 1764151200000_i64
    })))
    .unwrap();
    assert_eq!(parsed.group.as_str(), "churn");
    assert_eq!(parsed.version.get(), 7);
    assert_eq!(parsed.created_at.unwrap().unix_timestamp(), 1_764_151_200);
    let iso = parse_event(&event(json!({
        "ModelPackageGroupName": "churn", "ModelPackageVersion": 7,
        "CreationTime": "2025-11-26T10:00:00.123Z"
    })))
    .unwrap();
    assert_eq!(iso.created_at.unwrap().year(), 2025);
}

#[test]
fn other_events_and_bad_fields_are_refused_with_the_reason() {
    assert!(matches!(parse_event(b"{"), Err(EventError::Malformed(_))));
    assert!(matches!(parse_event(b"[]"), Err(EventError::Malformed(_))));
    let mut other = serde_json::from_slice::<Value>(&event(json!({}))).unwrap();
    other["detail-type"] = "SageMaker Training Job State Change".into();
    let refused = parse_event(&serde_json::to_vec(&other).unwrap()).unwrap_err();
    assert!(refused.to_string().contains("Training Job"), "{refused}");
    other["source"] = "aws.s3".into();
    assert!(parse_event(&serde_json::to_vec(&other).unwrap())
        .unwrap_err()
        .to_string()
        .contains("aws.s3"));
    let unversioned = parse_event(&event(json!({"ModelPackageName": "x"}))).unwrap_err();
    assert!(matches!(unversioned, EventError::Unsupported(_)));
    for bad in [
        json!({"ModelPackageGroupName": "churn", "ModelPackageVersion": 0}),
        json!({"ModelPackageGroupName": "churn", "ModelPackageVersion": -3}),
        json!({"ModelPackageGroupName": "churn", "ModelPackageVersion": "seven"}),
        json!({"ModelPackageGroupName": "bad name", "ModelPackageVersion": 1}),
        json!({"ModelPackageGroupName": "churn", "ModelPackageVersion": 1, "CreationTime": "yesterday"}),
        json!({"ModelPackageGroupName": "churn", "ModelPackageVersion": 1, "CreationTime": true}),
    ] {
        assert!(
            matches!(
                parse_event(&event(bad.clone())),
                Err(EventError::Invalid(_))
            ),
            "{bad}"
        );
    }
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        prop_oneof![
            Just("aws.sagemaker"),
            Just(DETAIL_TYPE),
            Just("churn"),
            Just("2026-11-26T10:00:00Z")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        let keys = prop_oneof![
            Just("source".to_owned()),
            Just("detail-type".to_owned()),
            Just("detail".to_owned()),
            Just("ModelPackageGroupName".to_owned()),
            Just("ModelPackageVersion".to_owned()),
            Just("CreationTime".to_owned()),
            ".{0,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(keys, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn no_bytes_make_the_parser_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_event(&bytes);
    }

    #[test]
    fn no_json_makes_the_parser_panic(mut value in arbitrary_json(), detail in arbitrary_json()) {
        if let Value::Object(map) = &mut value {
            map.insert("source".into(), "aws.sagemaker".into());
            map.insert("detail-type".into(), DETAIL_TYPE.into());
            map.insert("detail".into(), detail);
        }
        let _ = parse_event(&serde_json::to_vec(&value).unwrap());
    }
}
