use super::*;
use crate::testing::{person, registration};
use crate::workflow::register;
use crate::Policy;

/// Computed apart from this code: Python's `hashlib.sha256` over
/// `json.dumps(content, sort_keys=True, separators=(",", ":"))`, which for this ASCII
/// record is its RFC 8785 form.
const PINNED_DIGEST: &str = "45cf9f83e412945e55008a477483048ac5cf5c315314eef1422a3f8b942c9a8d";

fn content() -> SignedContent {
    let policy = Policy::new(crate::Environments::default(), "approvers");
    let new = register(
        &policy,
        registration("churn", person("dana")),
        time::OffsetDateTime::UNIX_EPOCH,
    );
    let version = new.into_version(
        crate::VersionNumber::new(7).unwrap(),
        "arn:aws:sagemaker:eu-west-1:111122223333:model-package/churn/7".into(),
    );
    SignedContent::of(
        &version,
        &Environment::parse("prod").unwrap(),
        Verdict::Approve,
        "Approved for release to prod",
        Some("metrics hold up"),
        &person("alice"),
    )
}

#[test]
fn the_digest_is_sha256_of_the_rfc_8785_form_of_what_was_shown() {
    let content = content();
    let canonical = content.canonical_json();
    assert!(
        canonical.starts_with(r#"{"environment":"prod","image_uri":"#),
        "{canonical}"
    );
    assert!(canonical.contains(r#""meaning":"Approved for release to prod""#));
    assert!(canonical.contains(r#""replaces_version":null"#));
    assert!(
        !canonical.contains(": ") && !canonical.contains(", "),
        "no whitespace between tokens"
    );
    let digest = content.digest();
    assert_eq!(digest.len(), 64);
    assert!(digest
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(
        digest,
        hex::encode(Sha256::digest(canonical.as_bytes())),
        "recomputable by anyone from the canonical JSON"
    );
}

#[test]
fn artifact_digests_are_signed_when_the_registry_knows_them() {
    use crate::model::ArtifactDigests;
    let image = format!("sha256:{}", "0123456789abcdef".repeat(4));
    let digests =
        ArtifactDigests::new(Some(&image), Some("\"9b2cf535f27731c974343645a3985328\"")).unwrap();
    assert_eq!(digests.image.as_deref(), Some(image.as_str()));
    let mut known = content();
    known.image_digest = digests.image.clone();
    known.model_data_etag = digests.model_data.clone();
    assert!(known
        .canonical_json()
        .contains(&format!(r#""image_digest":"{image}""#)));
    assert_ne!(known.digest(), PINNED_DIGEST);
    assert!(
        !content().canonical_json().contains("image_digest"),
        "unknown digests leave the record as signatures before them signed it"
    );
    assert_eq!(
        ArtifactDigests::new(Some(" "), None),
        Ok(ArtifactDigests::default())
    );
    for bad in [
        "latest",
        "sha256:xyz",
        "sha256:",
        ":abc",
        &format!("sha256:{}", "a".repeat(70)),
    ] {
        assert!(ArtifactDigests::new(Some(bad), None).is_err(), "{bad}");
    }
    assert!(ArtifactDigests::new(None, Some("has space")).is_err());
    assert!(ArtifactDigests::new(None, Some(&"e".repeat(129))).is_err());
}

// Proves: SIG-01.
#[test]
fn the_digest_of_a_fixed_record_never_changes() {
    // Field names and their encoding are part of every digest ever recorded: a rename
    // would make every past signature fail to verify. This pins them.
    assert_eq!(content().digest(), PINNED_DIGEST);
}

// Proves: SIG-01.
#[test]
fn any_change_to_what_was_shown_changes_the_digest() {
    let signed = content().digest();
    let changes: [fn(&mut SignedContent); 10] = [
        |c| c.image_uri.push('x'),
        |c| c.image_digest = Some(format!("sha256:{}", "a".repeat(64))),
        |c| c.model_data_etag = Some("\"9b2cf535f27731c974343645a3985328\"".into()),
        |c| c.model_data_url.push('x'),
        |c| {
            c.metrics.insert("auc".into(), 0.5);
        },
        |c| c.replaces_version = Some(6),
        |c| c.meaning = "Approved for a pilot in prod".into(),
        |c| c.reason = None,
        |c| c.signer.name = "Someone Else".into(),
        |c| c.verdict = "reject".into(),
    ];
    for change in changes {
        let mut changed = content();
        change(&mut changed);
        assert_ne!(changed.digest(), signed, "{changed:?}");
    }
    assert_eq!(
        content().digest(),
        signed,
        "the same content, the same digest"
    );
}

/// Computed apart from this code: Python's
/// `base64.urlsafe_b64encode(hashlib.sha256(b"countersign-signature-nonce\n" + digest + b"\n" + salt + b"\n").digest()).rstrip(b"=")`.
#[test]
fn the_nonce_commits_to_the_record_digest_as_documented() {
    assert_eq!(
        nonce_commitment(PINNED_DIGEST, "0123456789abcdef0123456789abcdef"),
        PINNED_NONCE
    );
}

const PINNED_NONCE: &str = "OXWtru7cD5YxPBFdDt_m-IceU9K6J0bORJyUwylghw4";
