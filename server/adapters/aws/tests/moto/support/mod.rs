//! A real moto server (PyPI `moto[server]`, installed into `.tools/venv` by
//! `scripts/tools.sh test`) on a free loopback port, one per test so every test starts from
//! an empty account, stopped when the test ends. It answers one request at a time
//! (`scripts/moto-serialised.py`), as DynamoDB serialises transactions.

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

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// The command that starts moto: `COUNTERSIGN_MOTO_SERVER` if set, else the venv's Python
/// running the serialising wrapper.
fn moto_command() -> Command {
    if let Some(path) = std::env::var_os("COUNTERSIGN_MOTO_SERVER") {
        return Command::new(path);
    }
    let python = venv_python();
    assert!(
        python.exists(),
        "{} is missing: run `scripts/tools.sh test` to install moto",
        python.display()
    );
    let mut command = Command::new(python);
    command.arg(workspace().join("scripts/moto-serialised.py"));
    command
}

fn venv_python() -> PathBuf {
    workspace().join(".tools/venv/bin/python")
}

impl Moto {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// A server that checks credentials and IAM policies after its first `free_requests`.
    pub fn start_enforcing_iam(free_requests: u32) -> Self {
        Self::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", &free_requests.to_string())])
    }

    fn start_with(env: &[(&str, &str)]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let child = moto_command()
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
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

    pub async fn sdk_config(&self) -> SdkConfig {
        sdk_config_at(&self.endpoint).await
    }

    /// Runs a set-up script from `tests/moto/support` against this server; its output's words.
    fn set_up(&self, script: &str, args: &[&str]) -> Vec<String> {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/moto/support")
            .join(script);
        let output = Command::new(venv_python())
            .arg(script)
            .arg(&self.endpoint)
            .args(args)
            .output()
            .expect("the set-up script runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .unwrap()
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    /// Deploys `deploy/countersign-table.yaml` as an operator would (with
    /// `start_enforcing_iam(8)`): the table's name, and the credentials of a portal user
    /// allowed on the table only what the stack's policy allows.
    pub fn table_from_iac(&self) -> (String, aws_sdk_ssm::config::Credentials) {
        let template = workspace().join("deploy/countersign-table.yaml");
        let words = self.set_up("deploy_table.py", &[template.to_str().unwrap()]);
        let [table, id, secret] = &words[..] else {
            panic!("table, key id and secret: {words:?}");
        };
        (
            table.clone(),
            aws_sdk_ssm::config::Credentials::new(id, secret, None, None, "moto-iam"),
        )
    }

    /// An S3 client of this server, addressing buckets by path as an emulator needs, and a
    /// bucket `name` created with Object Lock on (`locked`) or off.
    pub async fn bucket(&self, name: &str, locked: bool) -> aws_sdk_s3::Client {
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
                .force_path_style(true)
                .build(),
        );
        s3.create_bucket()
            .bucket(name)
            .object_lock_enabled_for_bucket(locked)
            .send()
            .await
            .unwrap();
        s3
    }

    /// The portal's table created as the README's AWS CLI steps create it: its name.
    pub fn table_from_cli(&self, name: &str) -> String {
        let words = self.set_up("table_from_cli.py", &[name]);
        words.into_iter().next().expect("the table's name")
    }

    /// Credentials of a new IAM user allowed everything but `denied` (with
    /// `start_enforcing_iam(3)`).
    pub fn user_denied(&self, denied: &[&str]) -> aws_sdk_ssm::config::Credentials {
        let words = self.set_up("iam_user.py", denied);
        let [id, secret] = &words[..] else {
            panic!("key id and secret: {words:?}");
        };
        aws_sdk_ssm::config::Credentials::new(id, secret, None, None, "moto-iam")
    }

    /// A backend started as the server starts one: its table and log key made first.
    pub async fn backend(&self) -> AwsBackend {
        let backend = AwsBackend::new(&self.sdk_config().await, settings());
        backend.prepare().await.expect("the table and the log key");
        backend
    }
}

/// The SDK configuration the tests use, for requests to `endpoint` (a moto server, a closed
/// port, a stand-in), with the production retry policy.
pub async fn sdk_config_at(endpoint: &str) -> SdkConfig {
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

pub fn settings() -> AwsSettings {
    AwsSettings {
        ssm_prefix: "/countersign".into(),
        environments: Environments::default(),
        identities: Default::default(),
        secrets_kms_key_id: None,
        table: "countersign".into(),
        create_table: true,
        outbox_retention: time::Duration::days(400),
        audit_bucket: None,
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP relay in front of moto on a loopback port of its own, which the test can cut: the
/// service reached through it stops answering between two steps of a decision, as a
/// network partition or a stopped endpoint would, while moto itself keeps its state.
pub struct Relay {
    pub endpoint: String,
    task: tokio::task::JoinHandle<()>,
    connections: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Relay {
    pub async fn to(moto: &Moto) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let target = moto.endpoint.trim_start_matches("http://").to_owned();
        let connections = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let held = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let relayed = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                held.lock().unwrap().push(relayed);
            }
        });
        Self {
            endpoint,
            task,
            connections,
        }
    }

    /// From now on nothing gets through: the port closes and open connections drop.
    pub async fn cut(&self) {
        self.task.abort();
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
        tokio::task::yield_now().await;
    }
}
