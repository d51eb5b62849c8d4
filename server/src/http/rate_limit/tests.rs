use super::*;
use axum::body::Body;

fn limiter(trusted: &[&str]) -> RateLimiter {
    RateLimiter::new(&RateLimits {
        sign_in_per_minute: NonZeroU32::new(2),
        decisions_per_minute: NonZeroU32::new(2),
        api_per_minute: None,
        exports_per_minute: None,
        trusted_proxies: trusted.iter().map(|n| n.parse().unwrap()).collect(),
    })
}

fn from(peer: &str, forwarded_for: Option<&str>) -> Request {
    let mut request = Request::builder().uri("/auth/login");
    if let Some(hops) = forwarded_for {
        request = request.header("x-forwarded-for", hops);
    }
    let mut request = request.body(Body::empty()).unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    request
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn a_decision_is_a_post_to_a_server_function_that_writes() {
    for path in [
        "/rpc/prepare_signature",
        "/rpc/sign",
        "/rpc/resend_notification",
    ] {
        assert!(Kind::is_decision(&Method::POST, path), "{path}");
        assert!(!Kind::is_decision(&Method::GET, path), "{path}");
    }
    assert!(!Kind::is_decision(&Method::POST, "/rpc/version_detail"));
    assert!(!Kind::is_decision(&Method::POST, "/auth/dev/sign-in"));
    assert!(!Kind::is_decision(&Method::GET, "/models/churn"));
}

#[test]
fn a_client_is_the_peer_unless_the_peer_is_a_trusted_proxy() {
    let untrusting = limiter(&[]);
    assert_eq!(
        untrusting.client(&from("10.0.0.5:4000", Some("203.0.113.9"))),
        ip("10.0.0.5"),
        "an untrusted peer cannot name someone else"
    );
    let behind_a_balancer = limiter(&["10.0.0.0/24"]);
    assert_eq!(
        behind_a_balancer.client(&from("10.0.0.5:4000", Some("198.51.100.7, 203.0.113.9"))),
        ip("203.0.113.9"),
        "the nearest untrusted hop, not what the client wrote on the left"
    );
    assert_eq!(
        behind_a_balancer.client(&from("10.0.0.5:4000", Some("203.0.113.9, 10.0.0.7"))),
        ip("203.0.113.9"),
        "trusted hops are skipped"
    );
    assert_eq!(
        behind_a_balancer.client(&from("10.0.0.5:4000", None)),
        ip("10.0.0.5")
    );
    assert_eq!(
        untrusting.client(&from("[2001:db8:1:2:aaaa::1]:4000", None)),
        ip("2001:db8:1:2::"),
        "an IPv6 host is its /64"
    );
}

#[test]
fn over_the_limit_a_client_waits_and_others_do_not() {
    let limiter = limiter(&[]);
    let (one, other) = (ip("192.0.2.1"), ip("192.0.2.2"));
    assert_eq!(limiter.wait(Kind::SignIn, one), None);
    assert_eq!(limiter.wait(Kind::SignIn, one), None);
    let wait = limiter
        .wait(Kind::SignIn, one)
        .expect("the third in a minute waits");
    assert!((1..=30).contains(&wait), "one more every 30 s: {wait}");
    assert_eq!(limiter.wait(Kind::SignIn, other), None, "another client");
    assert_eq!(limiter.wait(Kind::Decision, one), None, "another kind");
    for _ in 0..10 {
        assert_eq!(limiter.wait(Kind::Api, one), None, "a kind turned off");
    }
}
