//! `docs/audit-bundle.md`'s worked example is this trail, written as the portal writes one:
//! the test fails when the document and the code no longer say the same, and
//! `UPDATE_DOCS=1 cargo test -p countersign-audit --test bundle_format` writes it again.

use countersign_audit::bundle::Bundle;
use countersign_audit::entry::entry_hash;
use countersign_audit::{verify, Head, Notary};
use countersign_domain::audit::{AuditEvent, AuditRecord};
use countersign_domain::signature::Authentication;
use countersign_domain::testing::{approver, person, registration};
use countersign_domain::workflow::{self, DecisionRequest};
use countersign_domain::*;
use std::fmt::Write;
use std::sync::Arc;
use time::macros::datetime;

/// The example's key: published in the document, so never a real portal's.
const EXAMPLE_KEY: &str =
    "PRIVATE+KEY+portal.example.com+d918f90d+AewWF4wRAmI4xKVUvdjPqi1Q1Sc6okSABl6UogpctEcx";
const DOCUMENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/audit-bundle.md");
const BEGIN: &str = "<!-- worked example: written by app/audit/tests/bundle_format.rs -->";
const END: &str = "<!-- end of the worked example -->";

struct Example {
    notary: Notary,
    head: Head,
    entries: Vec<String>,
    checkpoints: Vec<String>,
    signed_content: String,
    record_digest: String,
}

/// Version 1 of churn registered by dana, its dev approval asked, and alice's signed
/// approval, under rules with one environment.
fn example() -> Example {
    let policy = Arc::new(Policy::new(
        Environments::parse_list("dev").unwrap(),
        "approvers",
    ));
    let notary = Notary::from_key(EXAMPLE_KEY).unwrap();
    let registered = datetime!(2026-12-01 09:00 UTC);
    let version = workflow::register(&policy, registration("churn", person("dana")), registered)
        .into_version(
            VersionNumber::new(1).unwrap(),
            "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/1".into(),
        );
    let dev = Environment::parse("dev").unwrap();
    let request = DecisionRequest::new(dev.clone(), Choice::Approve, "metrics hold up");
    let stamp = Stamp {
        id: "d-1".into(),
        at: datetime!(2026-12-01 10:15 UTC),
    };
    let mut effect =
        workflow::decide(&policy, &version, &[], &approver("alice"), &request, stamp).unwrap();
    if let Some(signature) = &mut effect.record.signature {
        signature.authentication = Some(Authentication::at(datetime!(2026-12-01 10:14:30 UTC)));
    }
    let records = [
        AuditRecord::new(
            version.group.clone(),
            "dana",
            registered,
            AuditEvent::RegistrationSeen(Box::new(version.clone())),
            policy.clone(),
        ),
        AuditRecord::new(
            version.group.clone(),
            countersign_domain::audit::PORTAL_ACTOR,
            datetime!(2026-12-01 09:00:01 UTC),
            AuditEvent::ApprovalRequested {
                version: version.version,
                environment: dev,
            },
            policy.clone(),
        ),
        // The only environment is the last, which asks every signer to sign in again.
        AuditRecord::decided(
            &effect,
            Some(datetime!(2026-12-01 10:14:20 UTC)),
            policy.clone(),
        ),
    ];
    let mut example = Example {
        notary,
        head: Head::default(),
        entries: Vec::new(),
        checkpoints: Vec::new(),
        signed_content: effect.signed.canonical_json(),
        record_digest: effect.signed.digest(),
    };
    for record in &records {
        example.append(record);
    }
    example
}

impl Example {
    /// Appends `record` as the portal does, and signs a checkpoint after it.
    fn append(&mut self, record: &AuditRecord) {
        let (entries, next) = self.head.append(record).unwrap();
        self.entries.extend(entries.into_iter().map(|e| e.text));
        let root = next.root().unwrap();
        self.checkpoints
            .push(self.notary.sign("churn", next.size, root, record.at));
        self.head = next;
    }

    fn bundle(&self) -> Bundle {
        Bundle::of(
            "churn",
            &self.notary.origin("churn"),
            self.notary.public_key(),
            self.entries.clone(),
            0,
            u64::MAX,
            self.checkpoints.clone(),
        )
    }

    /// The document's section, in Markdown.
    fn section(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{BEGIN}\n");
        let _ = writeln!(
            out,
            "The key (an example published here: never a real portal's):\n\n```text\n{EXAMPLE_KEY}\n```\n\nIts verifier key, which the bundle names and an auditor keeps apart:\n\n```text\n{}\n```\n",
            self.notary.public_key()
        );
        let _ = writeln!(
            out,
            "**Entries.** Each line is an entry exactly as stored (its RFC 8785 form), then its leaf hash, `SHA-256(0x00 ‖ text)` in hex, which the next entry names as `previous`.\n"
        );
        for (seq, text) in self.entries.iter().enumerate() {
            let _ = writeln!(
                out,
                "Entry {seq}:\n\n```json\n{text}\n```\n\nleaf hash `{}`\n",
                hex::encode(entry_hash(text).0)
            );
        }
        let _ = writeln!(
            out,
            "**What alice signed.** The `signed` object of entry 3 in its RFC 8785 form; its SHA-256 is the signature's `record_digest`:\n\n```json\n{}\n```\n\n`record_digest` = `{}`\n",
            self.signed_content, self.record_digest
        );
        let _ = writeln!(
            out,
            "**Checkpoints.** One after each append (the first append wrote the policy and the registration: two entries). The root line is the RFC 6962 root of the first `size` leaf hashes, in base64:\n"
        );
        for note in &self.checkpoints {
            let _ = writeln!(out, "```text\n{}```\n", note);
        }
        let _ = writeln!(
            out,
            "**The bundle** (`countersign audit export --group churn`), which `countersign audit verify bundle.json --key {}` accepts:\n\n```json\n{}\n```\n",
            self.notary.public_key(),
            serde_json::to_string_pretty(&self.bundle()).unwrap()
        );
        let _ = write!(out, "{END}");
        out
    }
}

#[test]
fn the_documents_worked_example_is_a_trail_the_verifier_accepts_as_written() {
    let example = example();
    let verified = verify(&example.bundle(), Some(example.notary.public_key()))
        .expect("the worked example verifies");
    assert_eq!((verified.entries, verified.decisions_checked), (4, 1));

    let section = example.section();
    let document = std::fs::read_to_string(DOCUMENT).expect("docs/audit-bundle.md");
    let (Some(begin), Some(end)) = (document.find(BEGIN), document.find(END)) else {
        panic!("docs/audit-bundle.md has no worked example between {BEGIN:?} and {END:?}");
    };
    let written = &document[begin..end + END.len()];
    if std::env::var_os("UPDATE_DOCS").is_some() {
        let updated = document.replacen(written, &section, 1);
        std::fs::write(DOCUMENT, updated).unwrap();
        return;
    }
    assert!(
        written == section,
        "docs/audit-bundle.md's worked example is not what the code writes: run UPDATE_DOCS=1 cargo test -p countersign-audit --test bundle_format"
    );
}

/// `docs/verify_bundle.py BUNDLE KEY`, the second verifier written from the document alone,
/// run by the Python that `scripts/tools.sh test` installs (it brings `cryptography`).
fn second_verifier(bundle: &Bundle, key: &str) -> (bool, String) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let python = std::path::Path::new(root).join(".tools/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/tools.sh test",
        python.display()
    );
    static WRITTEN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = WRITTEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!(
        "countersign-bundle-{}-{n}.json",
        std::process::id()
    ));
    std::fs::write(&path, serde_json::to_string(bundle).unwrap()).unwrap();
    let output = std::process::Command::new(python)
        .arg(std::path::Path::new(root).join("docs/verify_bundle.py"))
        .arg(&path)
        .arg(key)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), said)
}

// Proves: AT-06.
#[test]
fn a_verifier_written_from_the_document_alone_agrees_with_ours() {
    let mut example = example();
    let policy = Arc::new(Policy::new(
        Environments::parse_list("dev").unwrap(),
        "approvers",
    ));
    // Enough appends for trees of every shape, and bundles starting inside them.
    for n in 0..37u32 {
        let attempt = SigningAttempt {
            id: format!("a-{n}"),
            group: "churn".into(),
            version: 1,
            environment: "dev".into(),
            verdict: "approve".into(),
            by: person("bob"),
            at: datetime!(2026-12-01 11:00 UTC) + time::Duration::seconds(n.into()),
            outcome: AttemptOutcome::SentToSignInAgain,
        };
        let record = AuditRecord::new(
            GroupName::parse("churn").unwrap(),
            "bob",
            attempt.at,
            AuditEvent::SigningAttempted(Box::new(attempt)),
            policy.clone(),
        );
        example.append(&record);
    }
    let key = example.notary.public_key().to_owned();
    for from in [0, 13, 32] {
        let bundle = Bundle::of(
            "churn",
            &example.notary.origin("churn"),
            &key,
            example.entries.clone(),
            from,
            u64::MAX,
            example.checkpoints.clone(),
        );
        assert!(verify(&bundle, Some(&key)).is_ok());
        let (accepted, said) = second_verifier(&bundle, &key);
        assert!(accepted, "from {from}: {said}");
        assert!(said.contains("41 entries of churn verified"), "{said}");

        let mut changed = bundle.clone();
        let last = changed.entries.len() - 1;
        changed.entries[last] = changed.entries[last].replace("bob", "eve");
        assert!(verify(&changed, Some(&key)).is_err());
        let (accepted, said) = second_verifier(&changed, &key);
        assert!(!accepted && said.contains("FAILED"), "{said}");
    }
}
