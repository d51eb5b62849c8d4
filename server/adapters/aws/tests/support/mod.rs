//! A real moto server (PyPI `moto[server]`, installed into `.tools/venv` by
//! `scripts/tools.sh test`) on a free loopback port, one per test so every test starts from
//! an empty account, stopped when the test ends.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use countersign_aws::{AwsBackend, AwsSettings};
use countersign_domain::Environments;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

fn moto_server() -> PathBuf {
    if let Some(path) = std::env::var_os("COUNTERSIGN_MOTO_SERVER") {
        return path.into();
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let path = workspace.join(".tools/venv/bin/moto_server");
    assert!(
        path.exists(),
        "{} is missing: run `scripts/tools.sh test` to install moto",
        path.display()
    );
    path
}

impl Moto {
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new(moto_server())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let moto = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not listen on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// An SDK configuration for this server; `endpoint` may be overridden to point a client
    /// somewhere else (a closed port, to make a service unreachable).
    pub async fn sdk_config_at(&self, endpoint: &str) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(aws_sdk_ssm::config::Credentials::new(
                "testing", "testing", None, None, "moto",
            ))
            .retry_config(countersign_aws::retry_config())
            .load()
            .await
    }

    pub async fn sdk_config(&self) -> SdkConfig {
        self.sdk_config_at(&self.endpoint).await
    }

    pub async fn backend(&self) -> AwsBackend {
        AwsBackend::new(&self.sdk_config().await, settings())
    }
}

pub fn settings() -> AwsSettings {
    AwsSettings {
        ssm_prefix: "/countersign".into(),
        environments: Environments::default(),
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
