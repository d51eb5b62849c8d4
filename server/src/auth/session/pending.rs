//! The pending signature's cookie: the signature chosen and not yet made, sealed, with when
//! it was kept (the server refuses it once it has waited [`PENDING_SIGNATURE_LIFETIME`],
//! whatever the browser keeps) and, once the signer is sent to sign in again, the random
//! ceremony id that only the way back from that sign-in carries: a later, unrelated sign-in
//! or a link cannot complete it.

use super::*;

/// How long a chosen decision waits for its signature, a trip to the identity provider
/// included.
pub(super) const PENDING_SIGNATURE_LIFETIME: Duration = Duration::minutes(15);

#[derive(Serialize, Deserialize)]
struct KeptPending {
    pending: PendingSignature,
    kept_at_ms: i64,
    /// Set when the signer was sent to sign in again for it.
    ceremony: Option<String>,
}

impl Sessions {
    pub(super) fn keep_pending(
        &self,
        pending: &PendingSignature,
        ceremony: Option<String>,
    ) -> HeaderValue {
        let kept = KeptPending {
            pending: pending.clone(),
            kept_at_ms: unix_millis(OffsetDateTime::now_utc()),
            ceremony,
        };
        let value = serde_json::to_string(&kept).expect("a pending signature serialises");
        let jar = self.cookie_jar(&HeaderMap::new()).add(self.sealed_cookie(
            PENDING_SIGNATURE_COOKIE,
            value,
            PENDING_SIGNATURE_LIFETIME,
        ));
        jar.into_response().headers()[axum::http::header::SET_COOKIE].clone()
    }

    /// The pending signature and its ceremony id, unless it waited too long or names an
    /// environment the policy no longer has.
    pub(super) fn kept_pending(
        &self,
        headers: &HeaderMap,
    ) -> Option<(PendingSignature, Option<String>)> {
        let kept: KeptPending =
            serde_json::from_str(&self.open(headers, PENDING_SIGNATURE_COOKIE)?).ok()?;
        let waited = unix_millis(OffsetDateTime::now_utc()) - kept.kept_at_ms;
        let environment = kept.pending.request.environment().as_str();
        (waited <= millis_of(PENDING_SIGNATURE_LIFETIME)
            && self.environments.find(environment).is_some())
        .then_some((kept.pending, kept.ceremony))
    }

    /// Keeps `pending` for a trip to the identity provider: the cookie, and the ceremony id
    /// the way back must carry.
    pub fn keep_pending_for_sign_in(&self, pending: &PendingSignature) -> (HeaderValue, String) {
        let ceremony = uuid::Uuid::new_v4().simple().to_string();
        (self.keep_pending(pending, Some(ceremony.clone())), ceremony)
    }

    /// The pending signature the way back from signing in again completes: only when it
    /// names the ceremony id it was sent with.
    pub fn pending_after_sign_in(
        &self,
        headers: &HeaderMap,
        ceremony: &str,
    ) -> Option<PendingSignature> {
        let (pending, kept) = self.kept_pending(headers)?;
        (kept.as_deref() == Some(ceremony) && !ceremony.is_empty()).then_some(pending)
    }

    pub(super) fn forget_pending(&self) -> HeaderValue {
        let mut removal =
            self.sealed_cookie(PENDING_SIGNATURE_COOKIE, String::new(), Duration::ZERO);
        removal.make_removal();
        HeaderValue::from_str(&removal.to_string()).expect("a cookie is a header value")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use countersign_domain::signature::SigningRequest;
    use countersign_domain::{Environment, GroupName, Verdict, VersionNumber};

    fn pending() -> PendingSignature {
        let request = SigningRequest::new(
            Environment::parse("dev").unwrap(),
            Verdict::Approve,
            VersionNumber::new(1).unwrap(),
            "",
            None,
        );
        let alice = countersign_domain::testing::approver("alice");
        PendingSignature::new(&alice, GroupName::parse("churn").unwrap(), request)
    }

    /// The request headers a browser sends back with the cookie `set_cookie` set.
    fn sent_back(set_cookie: &HeaderValue) -> HeaderMap {
        let pair = set_cookie.to_str().unwrap().split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("cookie", pair.parse().unwrap());
        headers
    }

    // Proves: SIG-06.
    #[test]
    fn a_pending_signature_expires_on_the_server_whatever_the_browser_keeps() {
        let sessions = super::super::tests::sessions();
        let fresh = sent_back(&sessions.keep_pending(&pending(), None));
        assert!(sessions.pending_signature(&fresh).is_some());
        // The same sealed content, kept longer ago than the lifetime (a cookie replayed).
        let kept = KeptPending {
            pending: pending(),
            kept_at_ms: unix_millis(
                OffsetDateTime::now_utc() - PENDING_SIGNATURE_LIFETIME - Duration::seconds(1),
            ),
            ceremony: None,
        };
        let old = sessions
            .cookie_jar(&HeaderMap::new())
            .add(sessions.sealed_cookie(
                PENDING_SIGNATURE_COOKIE,
                serde_json::to_string(&kept).unwrap(),
                Duration::days(1),
            ));
        let set_cookie = old.into_response().headers()[axum::http::header::SET_COOKIE].clone();
        assert_eq!(sessions.pending_signature(&sent_back(&set_cookie)), None);
    }

    // Proves: SIG-06.
    #[test]
    fn only_the_way_back_from_its_own_sign_in_completes_a_pending_signature() {
        let sessions = super::super::tests::sessions();
        let (set_cookie, ceremony) = sessions.keep_pending_for_sign_in(&pending());
        let headers = sent_back(&set_cookie);
        assert!(sessions
            .pending_after_sign_in(&headers, &ceremony)
            .is_some());
        assert_eq!(sessions.pending_after_sign_in(&headers, "another"), None);
        assert_eq!(sessions.pending_after_sign_in(&headers, ""), None);
        let chosen_only = sent_back(&sessions.keep_pending(&pending(), None));
        assert_eq!(
            sessions.pending_after_sign_in(&chosen_only, ""),
            None,
            "nobody was sent to sign in again for it"
        );
    }
}
