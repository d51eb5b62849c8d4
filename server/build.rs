//! The commit the binary is built from, for the start-up entry of the portal's own trail
//! (`COUNTERSIGN_COMMIT` in the build's environment wins, for builds without the repository,
//! such as a container's).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=COUNTERSIGN_COMMIT");
    println!("cargo:rerun-if-changed=../.git/HEAD");
    println!("cargo:rerun-if-changed=../.git/refs/heads");
    let commit = std::env::var("COUNTERSIGN_COMMIT").ok().or_else(|| {
        let output = Command::new("git")
            .args(["rev-parse", "HEAD"])
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    });
    let commit = commit.unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=COUNTERSIGN_COMMIT={commit}");
}
