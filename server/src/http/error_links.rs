//! Only the portal's own refusals are shown from a link.
//!
//! Without JavaScript, a refused decision redirects back to the page with the error in the
//! query (`?__path=/rpc/prepare_signature&__err=<base64>`, Leptos's progressive enhancement), and the
//! page shows it. Anyone could write such a link with any text ("Your account is locked,
//! call ..."). So the redirect is signed here (`__sig`, an HMAC under a key derived from the
//! session key, which every replica shares), with the moment it stops being shown
//! (`__exp`, [`LINK_LIFETIME`] after the redirect, covered by the signature: a signed link
//! with text a viewer chose is not a lasting one, N11), and a page request whose error does
//! not carry a valid, unexpired signature loses the error before the page sees it.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::Response;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Arc;

const PARAMETERS: [&str; 4] = ["__path", "__err", "__exp", "__sig"];

/// How long a signed refusal link is shown: the browser follows the redirect at once.
const LINK_LIFETIME_SECONDS: i64 = 600;

fn now_seconds() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[derive(Clone)]
pub struct ErrorLinks {
    key: Arc<[u8]>,
}

impl ErrorLinks {
    pub fn new(key: &[u8]) -> Self {
        Self {
            key: Arc::from(key),
        }
    }

    fn mac(&self, path: &str, error: &str, expires: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(b"countersign error link\0");
        mac.update(path.as_bytes());
        mac.update(b"\0");
        mac.update(error.as_bytes());
        mac.update(b"\0");
        mac.update(expires.as_bytes());
        mac
    }

    fn signature(&self, path: &str, error: &str, expires: &str) -> String {
        hex::encode(self.mac(path, error, expires).finalize().into_bytes())
    }

    /// Whether the link was signed here and is still to be shown at `now` (unix seconds).
    fn verifies(&self, path: &str, error: &str, expires: &str, signature: &str, now: i64) -> bool {
        let current = expires.parse::<i64>().is_ok_and(|until| now <= until);
        current
            && hex::decode(signature)
                .is_ok_and(|tag| self.mac(path, error, expires).verify_slice(&tag).is_ok())
    }
}

fn pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub async fn sign_error_links(
    State(links): State<ErrorLinks>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(query) = request.uri().query().filter(|q| q.contains("__err=")) {
        let found = pairs(query);
        let genuine = match (
            value(&found, "__path"),
            value(&found, "__err"),
            value(&found, "__exp"),
            value(&found, "__sig"),
        ) {
            (Some(path), Some(error), Some(expires), Some(signature)) => {
                links.verifies(path, error, expires, signature, now_seconds())
            }
            _ => false,
        };
        if !genuine {
            let kept: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(
                    found
                        .iter()
                        .filter(|(k, _)| !PARAMETERS.contains(&k.as_str())),
                )
                .finish();
            let path = request.uri().path();
            let stripped = if kept.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{kept}")
            };
            if let Ok(uri) = stripped.parse::<Uri>() {
                *request.uri_mut() = uri;
            }
        }
    }
    let mut response = next.run(request).await;
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .filter(|l| l.contains("__err="))
        .map(str::to_owned);
    if let Some(location) = location {
        let query = location.split_once('?').map_or("", |(_, q)| q);
        let found = pairs(query);
        if let (Some(path), Some(error)) = (value(&found, "__path"), value(&found, "__err")) {
            let expires = (now_seconds() + LINK_LIFETIME_SECONDS).to_string();
            let signature = links.signature(path, error, &expires);
            let signed = format!("{location}&__exp={expires}&__sig={signature}");
            if let Ok(value) = HeaderValue::from_str(&signed) {
                response.headers_mut().insert(header::LOCATION, value);
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_link_is_shown_until_it_expires_and_not_after() {
        let links = ErrorLinks::new(b"key");
        let (path, error) = ("/rpc/prepare_signature", "eyJSZWZ1c2VkIjoiLi4uIn0=");
        let until = "1000";
        let signature = links.signature(path, error, until);
        assert!(links.verifies(path, error, until, &signature, 1000));
        assert!(
            !links.verifies(path, error, until, &signature, 1001),
            "expired"
        );
        assert!(
            !links.verifies(path, error, "999999", &signature, 1000),
            "the expiry is signed: it cannot be moved"
        );
        assert!(!links.verifies(path, "other", until, &signature, 1000));
    }
}
