//! `countersign seed`, the benchmark's way to fill a store: versions in each of several
//! groups, registered by the demo identity it names, each seen in its group's trail.

use serde_json::Value;

fn countersign(database: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    countersign_with(database, &[], args)
}

/// `countersign ARGS` on `database` with the settings `COUNTERSIGN_<KEY>=value` of `settings`.
fn countersign_with(
    database: &std::path::Path,
    settings: &[(&str, &str)],
    args: &[&str],
) -> (i32, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_countersign"))
        .args(args)
        .env_clear()
        .env("COUNTERSIGN_DATABASE", database)
        .env("COUNTERSIGN_LOG", "warn")
        .envs(
            settings
                .iter()
                .map(|(k, v)| (format!("COUNTERSIGN_{k}"), v)),
        )
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn seed_registers_versions_in_each_group_by_the_named_registrant() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("seeded.db");
    let seed = [
        "seed",
        "--group",
        "bench",
        "--groups",
        "3",
        "--versions",
        "20",
        "--registrant",
        "alice",
    ];
    let (code, said, complaint) = countersign(&database, &seed);
    assert_eq!(code, 0, "{said}{complaint}");
    let (code, key, complaint) = countersign(&database, &["audit", "public-key"]);
    assert_eq!(code, 0, "{complaint}");

    for group in ["bench-001", "bench-002", "bench-003"] {
        let (code, bundle, complaint) =
            countersign(&database, &["audit", "export", "--group", group]);
        assert_eq!(code, 0, "{complaint}");
        // Registered several at once, each group's trail still verifies.
        let file = dir.path().join(format!("{group}.json"));
        std::fs::write(&file, &bundle).unwrap();
        let (code, said, complaint) = countersign(
            &database,
            &[
                "audit",
                "verify",
                file.to_str().unwrap(),
                "--key",
                key.trim(),
            ],
        );
        assert_eq!(code, 0, "{group}'s trail verifies: {said}{complaint}");
        let bundle: Value = serde_json::from_str(&bundle).unwrap();
        // Each entry is kept as the text that was hashed.
        let seen: Vec<Value> = bundle["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| serde_json::from_str::<Value>(entry.as_str().unwrap()).unwrap())
            .filter(|entry| entry["event"]["type"] == "registration_seen")
            .collect();
        assert_eq!(seen.len(), 20, "twenty versions seen in {group}: {bundle}");
        assert!(
            seen.iter()
                .all(|entry| entry["event"]["registered_by"]["subject"] == "alice"),
            "registered by alice: {seen:?}"
        );
    }
    assert!(
        trail_is_empty(&database, "bench"),
        "with several groups, none is named the bare prefix"
    );
}

/// Whether `group`'s exported trail holds no entry (or the export found no such group).
fn trail_is_empty(database: &std::path::Path, group: &str) -> bool {
    let (_, bundle, _) = countersign(database, &["audit", "export", "--group", group]);
    let bundle: Value = serde_json::from_str(&bundle).unwrap_or(Value::Null);
    bundle["entries"]
        .as_array()
        .is_none_or(|entries| entries.is_empty())
}

#[test]
fn seed_refuses_a_registrant_who_is_no_demo_identity_and_registers_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("seeded.db");
    let (code, said, complaint) = countersign(
        &database,
        &[
            "seed",
            "--group",
            "bench",
            "--versions",
            "1",
            "--registrant",
            "mallory",
        ],
    );
    assert_ne!(code, 0, "{said}");
    assert!(
        complaint.contains("\"mallory\" is no demo identity"),
        "{complaint}"
    );
    assert!(trail_is_empty(&database, "bench"), "nothing registered");
}

// Proves: AC-02.
#[test]
fn seed_refuses_to_run_under_the_gxp_profile_and_registers_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("seeded.db");
    // Settings the profile accepts, so that only the command is refused.
    let provider = [
        ("OIDC_ISSUER", "https://login.example.com/tenant/v2.0"),
        ("OIDC_CLIENT_ID", "countersign"),
        ("OIDC_CLIENT_SECRET", "secret"),
        ("VIEWERS", "qa-readers"),
    ];
    let gxp: Vec<(&str, &str)> = crate::gxp::GXP.iter().chain(&provider).copied().collect();
    let (code, said, complaint) = countersign_with(
        &database,
        &gxp,
        &["seed", "--group", "bench", "--versions", "1"],
    );
    assert_ne!(code, 0, "{said}");
    assert!(complaint.contains("GxP profile"), "{complaint}");
    assert!(!database.exists(), "refused before the store was opened");
    let (code, _, complaint) = countersign_with(&database, &gxp, &["audit", "public-key"]);
    assert_eq!(code, 0, "other commands run under the profile: {complaint}");
}
