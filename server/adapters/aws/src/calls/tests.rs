use super::*;

#[test]
fn a_denial_names_the_permission_but_not_the_account_or_role() {
    let denied = Failure::<aws_sdk_ssm::Error> {
        action: "ssm:PutParameter",
        service_error: None,
        code: Some("AccessDeniedException".into()),
        status: Some(400),
        message: "User: arn:aws:sts::123456789012:assumed-role/countersign/i-0abc is not \
                      authorized to perform: ssm:PutParameter"
            .into(),
    };
    let PortError::Denied(message) = denied.into_port_error() else {
        panic!("a denial");
    };
    assert!(
        message.contains("needs permission ssm:PutParameter"),
        "{message}"
    );
    assert!(
        !message.contains("123456789012") && !message.contains("assumed-role"),
        "{message}"
    );
}
