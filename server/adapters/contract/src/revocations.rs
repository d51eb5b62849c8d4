//! Session revocations: the latest per person kept, and read back by every replica.

use super::*;

/// What every store of session revocations must do: keep the latest revocation per person
/// (an earlier one changes nothing), keep everyone's apart, and read back what was stored.
pub async fn run_session_revocations(store: &dyn SessionRevocations) {
    let at =
        |seconds: i64| time::OffsetDateTime::from_unix_timestamp(1_790_000_000 + seconds).unwrap();
    let dana = Revoked::Person("dana.scientist@example.com".into());
    let revoke = |whose: &Revoked, seconds| Revocation {
        whose: whose.clone(),
        issued_before: at(seconds),
    };
    assert_eq!(store.revocations().await.unwrap(), vec![], "none at first");
    store.revoke(&revoke(&dana, 10)).await.unwrap();
    store.revoke(&revoke(&dana, 20)).await.unwrap();
    store.revoke(&revoke(&dana, 15)).await.unwrap();
    store.revoke(&revoke(&Revoked::Everyone, 5)).await.unwrap();
    let mut found = store.revocations().await.unwrap();
    found.sort_by(|a, b| a.whose.cmp(&b.whose));
    assert_eq!(
        found,
        vec![revoke(&dana, 20), revoke(&Revoked::Everyone, 5)]
    );
}
