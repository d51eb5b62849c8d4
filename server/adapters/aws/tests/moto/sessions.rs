//! The session key shared by replicas and revocations in the table.

use super::*;

#[tokio::test]
async fn replicas_starting_together_share_one_session_key() {
    let moto = Moto::start();
    let (first, second) = (moto.backend().await, moto.backend().await);
    let (a, b) = tokio::join!(
        first.shared_secret("session_key", || "from-first".into()),
        second.shared_secret("session_key", || "from-second".into()),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a, b);
    assert!(["from-first", "from-second"].contains(&a.as_str()));
    let later = moto.backend().await;
    assert_eq!(
        later
            .shared_secret("session_key", || "late".into())
            .await
            .unwrap(),
        a
    );

    let stored = aws_sdk_ssm::Client::new(&moto.sdk_config().await)
        .get_parameter()
        .name("/countersign/_settings/session_key")
        .send()
        .await
        .unwrap()
        .parameter
        .unwrap();
    assert_eq!(
        stored.r#type,
        Some(aws_sdk_ssm::types::ParameterType::SecureString)
    );
}

#[tokio::test]
async fn sign_ins_in_the_table_meet_their_contract() {
    let moto = Moto::start();
    countersign_port_contract::run_sign_ins(&moto.backend().await).await;
}

#[tokio::test]
async fn session_revocations_in_the_table_meet_their_contract() {
    let moto = Moto::start();
    countersign_port_contract::run_session_revocations(&moto.backend().await).await;
}

#[tokio::test]
async fn the_session_key_is_kept_under_the_configured_kms_key() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let backend = AwsBackend::new(
        &config,
        countersign_aws::AwsSettings {
            secrets_kms_key_id: Some("alias/countersign-sessions".into()),
            ..settings()
        },
    );
    backend
        .shared_secret("session_key", || "secret".into())
        .await
        .unwrap();
    let described = aws_sdk_ssm::Client::new(&config)
        .describe_parameters()
        .parameter_filters(
            aws_sdk_ssm::types::ParameterStringFilter::builder()
                .key("Name")
                .values("/countersign/_settings/session_key")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let parameter = &described.parameters.unwrap()[0];
    assert_eq!(
        parameter.key_id.as_deref(),
        Some("alias/countersign-sessions")
    );
}

#[tokio::test]
async fn a_revocation_item_the_portal_cannot_read_is_skipped_not_fatal_to_the_others() {
    use countersign_domain::ports::{Revocation, Revoked, SessionRevocations};
    let moto = Moto::start();
    let backend = moto.backend().await;
    backend
        .revoke(&Revocation {
            whose: Revoked::Person("alice".into()),
            issued_before: time::OffsetDateTime::now_utc(),
        })
        .await
        .unwrap();
    put_item(
        &moto,
        &[
            ("pk", "sessions"),
            ("sk", "revoked#garbage"),
            ("whose", "not a key"),
        ],
        &[],
    )
    .await;
    let read = backend
        .revocations()
        .await
        .expect("one bad item fails no read");
    let whose: Vec<&Revoked> = read.iter().map(|r| &r.whose).collect();
    assert_eq!(whose, [&Revoked::Person("alice".into())]);
}
