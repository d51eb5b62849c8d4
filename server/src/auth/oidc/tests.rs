use super::*;
use serde_json::json;

#[test]
fn groups_come_as_a_list_or_a_single_name() {
    let list = json!({"groups": ["a", "b"]});
    assert_eq!(
        groups_from_claims(&list, "groups"),
        Ok(BTreeSet::from(["a".into(), "b".into()]))
    );
    let adfs = json!({"http://schemas.xmlsoap.org/claims/Group": "approvers"});
    assert_eq!(
        groups_from_claims(&adfs, "http://schemas.xmlsoap.org/claims/Group"),
        Ok(BTreeSet::from(["approvers".into()]))
    );
    assert_eq!(
        groups_from_claims(&json!({}), "groups"),
        Ok(BTreeSet::new())
    );
    assert_eq!(
        groups_from_claims(&json!({"groups": [1]}), "groups"),
        Err(GroupsError::Malformed)
    );
    assert_eq!(
        groups_from_claims(&json!({"groups": {"a": 1}}), "groups"),
        Err(GroupsError::Malformed)
    );
}

#[test]
fn entra_overage_is_never_no_groups() {
    let overage = json!({
        "_claim_names": {"groups": "src1"},
        "_claim_sources": {"src1": {"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}}
    });
    assert_eq!(
        groups_from_claims(&overage, "groups"),
        Err(GroupsError::Overage)
    );
}

#[test]
fn the_payload_of_a_compact_jwt_is_read() {
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"groups":["x"]}"#);
    let jwt = format!("e30.{payload}.c2ln");
    assert_eq!(verified_payload(&jwt), Some(json!({"groups": ["x"]})));
    assert_eq!(verified_payload("not-a-jwt"), None);
}
