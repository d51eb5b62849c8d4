//! What every integration test shares: the portal as the binary builds it (`TestApp`),
//! the answers it gives (`Reply`), and the real servers started beside it (`servers`).

pub mod servers;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use countersign_server::backend::Backing;
use countersign_server::config::Config;
use countersign_server::{application, auth, backend};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

/// The whole portal on a fresh embedded store, built as `countersign serve` builds it.
pub struct TestApp {
    pub router: Router,
    pub backing: Backing,
    pub config: Config,
    /// Where `http://` tests reach it, when it listens (`TestAppBuilder::listening`).
    pub url: String,
    /// Holds the store; removed with the app.
    _store_dir: tempfile::TempDir,
}

/// A loopback port bound for a portal, and the URL it will answer at.
pub struct Listener {
    inner: tokio::net::TcpListener,
    pub url: String,
}

impl Listener {
    pub async fn bind() -> Self {
        let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", inner.local_addr().unwrap());
        Self { inner, url }
    }
}

/// Settings for a `TestApp`, as `COUNTERSIGN_*` names without the prefix; a setting given
/// later replaces one given earlier.
#[derive(Default)]
pub struct TestAppBuilder {
    settings: Vec<(String, String)>,
    /// Test defaults left to the portal's own default.
    unset: Vec<String>,
}

/// What every `TestApp` sets unless told otherwise. Versions registered through the open API
/// name their registrant on the caller's word alone, which costs one approver more wherever
/// four-eyes holds (N3); tests about other rules decide with the approvers they name, and
/// the tests of that rule `unset` it.
const TEST_DEFAULTS: [(&str, &str); 1] = [("EXTRA_APPROVAL_WITHOUT_REGISTRANT", "")];

impl TestAppBuilder {
    pub fn setting(mut self, key: &str, value: &str) -> Self {
        self.settings.retain(|(k, _)| k != key);
        self.settings.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Leaves `key` to the portal's default rather than the tests' (`TEST_DEFAULTS`).
    pub fn unset(mut self, key: &str) -> Self {
        self.settings.retain(|(k, _)| k != key);
        self.unset.push(key.to_owned());
        self
    }

    pub fn settings(self, pairs: &[(&str, &str)]) -> Self {
        pairs
            .iter()
            .fold(self, |builder, (key, value)| builder.setting(key, value))
    }

    fn config(&self, dir: &tempfile::TempDir) -> Config {
        let database = dir.path().join("countersign.db");
        let mut pairs = vec![("DATABASE".to_owned(), database.display().to_string())];
        pairs.extend(
            TEST_DEFAULTS
                .iter()
                .filter(|(key, _)| !self.unset.iter().any(|k| k == key))
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned())),
        );
        pairs.retain(|(key, _)| !self.settings.iter().any(|(k, _)| k == key));
        pairs.extend(self.settings.iter().cloned());
        Config::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap()
    }

    /// The router, answering requests sent to it in-process; sessions from the development
    /// sign-in (no identity provider is asked).
    pub async fn in_process(self) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let config = self.config(&dir);
        let (router, backing) = in_process(&config).await;
        TestApp {
            router,
            backing,
            url: config.public_url.clone(),
            config,
            _store_dir: dir,
        }
    }

    /// Served on a free loopback port that is also its public URL (unless `PUBLIC_URL` is
    /// set), signing in through the configured identity provider, discovered first.
    pub async fn listening(self) -> TestApp {
        self.listening_on(Listener::bind().await).await
    }

    /// Like `listening`, on a port bound before, whose URL a provider was started with.
    pub async fn listening_on(self, listener: Listener) -> TestApp {
        let Listener {
            inner: listener,
            url,
        } = listener;
        let address = listener.local_addr().unwrap().to_string();
        let builder = TestAppBuilder {
            settings: [
                ("LISTEN".to_owned(), address),
                ("PUBLIC_URL".to_owned(), url.clone()),
            ]
            .into_iter()
            .chain(self.settings)
            .collect(),
            unset: self.unset,
        };
        let dir = tempfile::tempdir().unwrap();
        let config = builder.config(&dir);
        let backing = backend::open_backend(&config).await.unwrap();
        // Discovery retries while a provider started just now comes up.
        let sign_in = auth::sign_in(
            &config.sign_in,
            &config.public_url,
            &config.policy,
            &backing,
        )
        .await
        .expect("the identity provider is discovered");
        let router = application::router(
            &config,
            &backing,
            sign_in,
            application::leptos_options(&config),
        );
        let served = router.clone();
        tokio::spawn(async move {
            axum::serve(
                listener,
                served.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            .unwrap()
        });
        TestApp {
            router,
            backing,
            config,
            url,
            _store_dir: dir,
        }
    }
}

async fn in_process(config: &Config) -> (Router, Backing) {
    let backing = backend::open_backend(config).await.unwrap();
    let sessions = auth::sessions(
        &config.sign_in,
        &config.public_url,
        &config.policy,
        &backing,
    )
    .await
    .unwrap();
    let sign_in = auth::SignIn {
        sessions,
        oidc: None,
    };
    let router = application::router(
        config,
        &backing,
        sign_in,
        application::leptos_options(config),
    );
    (router, backing)
}

/// An answer, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
    }

    /// The portal in-process with these settings (and the development sign-in).
    pub async fn new(settings: &[(&str, &str)]) -> Self {
        Self::builder().settings(settings).in_process().await
    }

    /// Another replica of this portal, in-process: the same settings and store.
    pub async fn replica(&self) -> TestApp {
        let (router, backing) = in_process(&self.config).await;
        TestApp {
            router,
            backing,
            config: self.config.clone(),
            url: self.url.clone(),
            _store_dir: tempfile::tempdir().unwrap(),
        }
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let what = format!("{} {}", request.method(), request.uri());
        // A stalled response fails the test with its request named, rather than hanging CI.
        let response = tokio::time::timeout(
            std::time::Duration::from_secs(3),
            self.router.clone().oneshot(request),
        )
        .await
        .unwrap_or_else(|_| panic!("{what} got no answer"))
        .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, uri: &str, cookie: Option<&str>) -> Reply {
        let mut request = Request::get(uri).header(header::ACCEPT, "text/html");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    pub async fn post_json(&self, uri: &str, body: &Value) -> Reply {
        self.send(
            Request::post(uri)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    pub async fn post_form(
        &self,
        uri: &str,
        form: &str,
        cookie: Option<&str>,
        accept: &str,
    ) -> Reply {
        let mut request = Request::post(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, accept)
            .header(
                header::REFERER,
                "http://127.0.0.1:3000/models/churn/versions/1",
            );
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::from(form.to_owned())).unwrap())
            .await
    }

    /// Registers version 1 of `group` through the open API, by `subject`.
    pub async fn register(&self, group: &str, subject: &str) -> Value {
        let reply = self
            .post_json(
                &format!("/api/v1/models/{group}/versions"),
                &json!({
                    "image_uri": "registry.example/churn:7",
                    "model_data_url": "s3://models/churn/7.tar.gz",
                    "metrics": {"auc": 0.91},
                    "registered_by": {"subject": subject, "name": "Dana Scientist", "email": "dana@example.com"}
                }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.json()
    }

    /// Version 1 of churn registered by dana and approved for dev by alice with `reason`;
    /// alice's session.
    pub async fn churn_approved_for_dev(&self, reason: &str) -> String {
        self.register("churn", "dana").await;
        let alice = self.sign_in("alice").await;
        let signed = self.decide(&alice, "churn", "dev", "approve", reason).await;
        assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
        alice
    }

    /// Signs `subject` in through the development sign-in; the session cookie.
    pub async fn sign_in(&self, subject: &str) -> String {
        let reply = self
            .post_form(
                "/auth/dev/sign-in",
                &format!("subject={subject}&return_to=/"),
                None,
                "text/html",
            )
            .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER);
        let set_cookie = reply.headers[header::SET_COOKIE].to_str().unwrap();
        set_cookie.split(';').next().unwrap().to_owned()
    }

    /// A decision on version 1 of `group`, through the signing ceremony's server functions
    /// as the page calls them: choose, confirm what the review shows, sign. The reply is the
    /// first refusal, or the signature's.
    pub async fn decide(
        &self,
        cookie: &str,
        group: &str,
        env: &str,
        verdict: &str,
        reason: &str,
    ) -> Reply {
        let form = format!(
            "group={group}&version=1&environment={env}&verdict={verdict}&reason={}",
            reason.replace(' ', "+")
        );
        self.sign(cookie, group, 1, &form).await
    }

    /// Chooses a decision with `form` (as the version page posts it), then confirms what
    /// the review shows about `version` and signs it.
    pub async fn sign(&self, cookie: &str, group: &str, version: u32, form: &str) -> Reply {
        let chosen = self
            .post_form(
                "/rpc/prepare_signature",
                form,
                Some(cookie),
                "application/json",
            )
            .await;
        let Some(pending) = chosen.cookie("countersign_signing") else {
            return chosen;
        };
        let cookies = format!("{cookie}; {pending}");
        let review = self.review(&cookies, group, version).await;
        if review.status != StatusCode::OK {
            return review;
        }
        let digest = review.json()["record_digest"].as_str().unwrap().to_owned();
        self.post_form(
            "/rpc/sign",
            &format!("group={group}&version={version}&record_digest={digest}"),
            Some(&cookies),
            "application/json",
        )
        .await
    }

    /// The confirmation step's content for `version` of `group`.
    pub async fn review(&self, cookies: &str, group: &str, version: u32) -> Reply {
        self.post_form(
            "/rpc/review_pending",
            &format!("group={group}&version={version}"),
            Some(cookies),
            "application/json",
        )
        .await
    }
}

impl Reply {
    /// `name=value` of the cookie this reply sets, if it sets one by that name.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|c| c.to_str().ok())
            .map(|c| c.split(';').next().unwrap_or_default().to_owned())
            .find(|c| c.starts_with(&format!("{name}=")))
    }
}

/// The data rows of an export CSV, its `#` preamble skipped, by column name.
pub fn csv_rows(text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|row| {
            let row = row.unwrap();
            headers
                .iter()
                .map(str::to_owned)
                .zip(row.iter().map(str::to_owned))
                .collect()
        })
        .collect()
}
