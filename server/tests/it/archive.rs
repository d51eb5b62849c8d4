//! `countersign audit archive`: every trail written for keeping with what reads and checks
//! it without the portal, each file's digest in a manifest signed with the audit key.

use sha2::{Digest, Sha256};

/// `countersign ARGS` on the store at `database`: exit code and output.
fn countersign(database: &std::path::Path, args: &[&str]) -> (i32, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_countersign"))
        .args(args)
        .env_clear()
        .env("COUNTERSIGN_DATABASE", database)
        .env("COUNTERSIGN_LOG", "warn")
        .env("USER", "qa-ines")
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

// Proves: AT-09.
#[test]
fn an_archive_holds_every_trail_and_what_checks_it_without_the_portal() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("portal.db");
    let (code, said) = countersign(
        &database,
        &[
            "register",
            "--group",
            "churn",
            "--image-uri",
            "registry.example/churn:1",
            "--model-data-url",
            "s3://models/churn/1.tar.gz",
            "--registered-by",
            "dana",
            "--name",
            "Dana Scientist",
            "--email",
            "dana@example.com",
        ],
    );
    assert_eq!(code, 0, "{said}");
    let out = dir.path().join("archive");
    let (code, said) = countersign(
        &database,
        &["audit", "archive", "--out", out.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{said}");
    assert!(
        said.contains("churn: ") && said.contains("_countersign: "),
        "{said}"
    );

    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "README.txt",
            "SHA256SUMS",
            "SHA256SUMS.note",
            "_countersign.audit.json",
            "audit-bundle.md",
            "churn.audit.json",
            "public-key.txt",
            "verify_bundle.py",
        ]
    );
    let sums = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    for line in sums.lines() {
        let (digest, name) = line.split_once("  ").unwrap();
        let bytes = std::fs::read(out.join(name)).unwrap();
        assert_eq!(hex::encode(Sha256::digest(&bytes)), digest, "{name}");
    }
    assert_eq!(sums.lines().count(), 6, "{sums}");
    let key = std::fs::read_to_string(out.join("public-key.txt")).unwrap();
    let key = key.trim();
    let manifest = std::fs::read_to_string(out.join("SHA256SUMS.note")).unwrap();
    let text = countersign_audit::checkpoint::Opener::new(key)
        .unwrap()
        .open_text(&manifest)
        .unwrap();
    assert!(text.ends_with(&sums), "the manifest signs the sums: {text}");

    for trail in ["churn.audit.json", "_countersign.audit.json"] {
        let path = out.join(trail);
        let (code, said) = countersign(
            &database,
            &["audit", "verify", path.to_str().unwrap(), "--key", key],
        );
        assert_eq!(code, 0, "{trail}: {said}");
    }
    // The verifier the archive carries, as a reader in years would run it.
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/../.tools/venv/bin/python");
    let second = std::process::Command::new(python)
        .current_dir(&out)
        .args(["verify_bundle.py", "churn.audit.json", key])
        .output()
        .unwrap();
    assert!(second.status.success(), "{second:?}");

    let (code, said) = countersign(
        &database,
        &["audit", "archive", "--out", out.to_str().unwrap()],
    );
    assert_eq!(code, 1, "never written over another archive: {said}");
    assert!(said.contains("is not empty"), "{said}");
}
