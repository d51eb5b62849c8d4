use super::*;

#[test]
fn the_own_origin_is_scheme_host_and_port() {
    assert_eq!(
        &*OwnOrigin::from_public_url("http://127.0.0.1:3000/").0,
        "http://127.0.0.1:3000"
    );
    assert_eq!(
        &*OwnOrigin::from_public_url("https://cs.example.com/x").0,
        "https://cs.example.com"
    );
}
