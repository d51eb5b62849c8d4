//! The real servers tests talk to, started on free loopback ports and stopped when dropped:
//! oidc-provider and maildev (npm packages installed in `end2end/` by `scripts/tools.sh`).

use serde_json::Value;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn end2end_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../end2end")
}

/// The test identity provider (`end2end/oidc/provider.mjs`): its users, groups and clients.
pub struct OidcProvider {
    child: Child,
    pub issuer: String,
}

impl OidcProvider {
    /// A provider whose client redirects to `portal` (the portal's public URL), misbehaving
    /// as `quirk` says (empty: not at all; `ignores-prompt`, `no-auth-time`: see the
    /// provider's comment).
    pub fn start_with_quirk(portal: &str, quirk: &str) -> Self {
        let port = free_port();
        let child = Command::new("node")
            .arg("oidc/provider.mjs")
            .current_dir(end2end_dir())
            .env("OIDC_PORT", port.to_string())
            .env("COUNTERSIGN_URL", portal)
            .env("OIDC_QUIRK", quirk)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs the test provider (run `make tools` first)");
        Self {
            child,
            issuer: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A maildev server: SMTP in, its REST API to read what was sent.
pub struct Maildev {
    child: Child,
    pub smtp: u16,
    pub web: u16,
}

impl Maildev {
    pub fn start() -> Self {
        Self::start_on(free_port(), free_port())
    }

    pub fn start_on(smtp: u16, web: u16) -> Self {
        let bin = end2end_dir().join("node_modules/.bin/maildev");
        assert!(
            bin.exists(),
            "{} is missing: run `scripts/tools.sh test`",
            bin.display()
        );
        let child = Command::new(bin)
            .args(["--ip", "127.0.0.1", "--web-ip", "127.0.0.1", "--silent"])
            .args(["--smtp", &smtp.to_string(), "--web", &web.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("maildev starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", web)).is_err()
            || std::net::TcpStream::connect(("127.0.0.1", smtp)).is_err()
        {
            assert!(Instant::now() < deadline, "maildev did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { child, smtp, web }
    }

    pub async fn emails(&self) -> Vec<Value> {
        let body = reqwest::get(format!("http://127.0.0.1:{}/api/email", self.web))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        serde_json::from_str(&body).unwrap()
    }

    /// Stops the server; its ports, to start another on.
    pub fn stop(mut self) -> (u16, u16) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        (self.smtp, self.web)
    }
}

impl Drop for Maildev {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
