//! `countersign iq` on the embedded store, as an operator runs it: each item PASS or FAIL,
//! exit 1 on a FAIL, the run kept in the portal's own trail with its operator; and the
//! identity provider's claims read from a real provider (oidc-provider). The AWS items are
//! tested against moto (`countersign-aws`, `tests/moto/installation.rs`).

use crate::support::servers::OidcProvider;

/// `countersign iq` with `settings` (besides a fresh database): exit code and output.
fn iq(database: &std::path::Path, settings: &[(&str, &str)]) -> (i32, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_countersign"))
        .arg("iq")
        .env_clear()
        .env("COUNTERSIGN_DATABASE", database)
        .env("COUNTERSIGN_LOG", "warn")
        .env("USER", "qa-ines")
        .envs(settings.iter().copied())
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

// Proves: AC-08.
#[test]
fn the_installation_check_names_each_item_an_evaluation_install_misses() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("portal.db");
    let (code, said) = iq(&database, &[]);
    assert_eq!(code, 1, "{said}");
    for line in [
        "FAIL  the GxP profile is on: off: set COUNTERSIGN_GXP=true",
        "FAIL  the records are kept in a store fit for GxP records: the embedded SQLite store is for evaluation",
        "PASS  the audit signing key is kept apart, readable by its owner only:",
        "FAIL  the identity provider gives the claims signatures need: no identity provider",
        "installation qualification: 1 of 4 items passed",
    ] {
        assert!(said.contains(line), "{line}\n{said}");
    }

    let key = format!("{}.audit-key", database.display());
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let (_, said) = iq(&database, &[]);
    assert!(
        said.contains("FAIL  the audit signing key is kept apart, readable by its owner only:")
            && said.contains("mode 644"),
        "{said}"
    );
}

// Proves: AC-08.
#[test]
fn the_installation_check_reads_the_providers_claims_and_is_kept_with_its_operator() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("portal.db");
    let provider = OidcProvider::start_with_quirk("http://127.0.0.1:3000", "");
    let address = provider.issuer.trim_start_matches("http://").to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(&address).is_err() {
        assert!(std::time::Instant::now() < deadline, "the provider listens");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (_, said) = iq(
        &database,
        &[
            ("COUNTERSIGN_OIDC_ISSUER", provider.issuer.as_str()),
            ("COUNTERSIGN_OIDC_CLIENT_ID", "countersign"),
            ("COUNTERSIGN_OIDC_CLIENT_SECRET", "countersign-test-secret"),
            ("COUNTERSIGN_OIDC_IDENTITY_CLAIM", "oid"),
        ],
    );
    let line = said
        .lines()
        .find(|l| l.contains("the identity provider gives the claims signatures need"))
        .unwrap_or_else(|| panic!("{said}"));
    assert!(
        line.starts_with("PASS") && line.contains("lists auth_time, name and oid"),
        "{said}"
    );

    let exported = std::process::Command::new(env!("CARGO_BIN_EXE_countersign"))
        .args(["audit", "export", "--group", "_countersign"])
        .env_clear()
        .env("COUNTERSIGN_DATABASE", &database)
        .env("COUNTERSIGN_LOG", "warn")
        .output()
        .unwrap();
    let trail = String::from_utf8_lossy(&exported.stdout);
    assert!(
        trail.contains(r#"\"command\":\"countersign iq\""#) && trail.contains("qa-ines"),
        "{trail}"
    );
}
