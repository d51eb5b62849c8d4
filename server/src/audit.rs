//! The audit trail as the server runs it (`countersign_audit::desk`), and as an auditor
//! checks it offline with `countersign audit verify`.

pub mod archive;

pub use countersign_audit::desk::{notarise, parse_end, parse_start, AuditDesk, Notarised, Period};
use countersign_audit::CertifiedCopy;
use std::path::Path;
use std::process::ExitCode;

/// What `countersign audit verify` is asked to check.
pub struct OfflineCheck<'a> {
    pub bundle: &'a Path,
    /// The key the auditor kept apart; without it, the bundle's own.
    pub key: Option<&'a str>,
    /// Checkpoints (or an earlier bundle) the auditor kept, which the bundle must extend.
    pub seen: Option<&'a Path>,
    /// Accept a verdict reached with the bundle's own key.
    pub trust_bundle_key: bool,
    /// Decisions before this entry may lack the identity provider's evidence.
    pub accept_unsigned_before: Option<u64>,
    /// The identity provider's published keys (a JWKS document or an array of JWKs).
    pub provider_keys: Option<&'a Path>,
}

/// The checkpoints kept in `path`: a file (an earlier bundle, a JSON array of notes, the
/// notes as text), or a directory of such files, one note each say, as `aws s3 cp
/// --recursive` copies the portal's locked checkpoints (`audit/<group>/` in its bucket).
fn kept_in(path: &Path) -> Result<Vec<String>, String> {
    let files = if path.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| format!("countersign: cannot read {}: {e}", path.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|file| file.is_file())
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_owned()]
    };
    let mut notes = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("countersign: cannot read {}: {e}", file.display()))?;
        let kept = countersign_audit::kept_checkpoints(&text).map_err(|e| {
            format!(
                "countersign: {} holds no checkpoints to compare: {e}",
                file.display()
            )
        })?;
        notes.extend(kept);
    }
    if notes.is_empty() {
        return Err(format!(
            "countersign: {} holds no checkpoints to compare",
            path.display()
        ));
    }
    Ok(notes)
}

/// The keys in a JWKS document (`{"keys": [...]}`) or a JSON array of JWKs.
fn provider_keys(text: &str) -> Result<Vec<serde_json::Value>, String> {
    let document: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let keys = document.get("keys").unwrap_or(&document);
    keys.as_array()
        .filter(|keys| !keys.is_empty())
        .cloned()
        .ok_or_else(|| "it holds no keys (a JWKS document or a JSON array of JWKs)".into())
}

/// `countersign audit verify`: needs nothing but the files. Exits 0 when the bundle
/// verifies with a key the auditor chose, 1 when it does not (or only with the key it
/// carries itself, unless that is what was asked for), 2 when a file cannot be read.
pub fn verify_offline(check: &OfflineCheck) -> ExitCode {
    let read = |path: &Path| {
        std::fs::read_to_string(path)
            .map_err(|e| format!("countersign: cannot read {}: {e}", path.display()))
    };
    let text = match read(check.bundle) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Ok(copy) = serde_json::from_str::<CertifiedCopy>(&text) {
        if copy.format == countersign_audit::certified::FORMAT {
            return verify_certified_copy(&copy, check);
        }
    }
    let bundle = Ok(text).and_then(|text| {
        serde_json::from_str::<countersign_audit::Bundle>(&text).map_err(|e| {
            format!(
                "countersign: {} is not an audit bundle: {e}",
                check.bundle.display()
            )
        })
    });
    let seen = match check.seen {
        Some(path) => kept_in(path),
        None => Ok(Vec::new()),
    };
    let keys = match check.provider_keys {
        Some(path) => read(path).and_then(|text| {
            provider_keys(&text).map(Some).map_err(|e| {
                format!(
                    "countersign: {} holds no identity provider keys: {e}",
                    path.display()
                )
            })
        }),
        None => Ok(None),
    };
    let (bundle, seen, keys) = match (bundle, seen, keys) {
        (Ok(bundle), Ok(seen), Ok(keys)) => (bundle, seen, keys),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let verdict = countersign_audit::verify_with(
        &bundle,
        &countersign_audit::Trusted {
            key: check.key,
            seen: &seen,
            accept_without_evidence_before: check.accept_unsigned_before,
            provider_keys: keys.as_deref(),
        },
    );
    let summary = match &verdict {
        Ok(verified) => verified.summary(),
        Err(violation) => violation.verified.summary(),
    };
    println!("{summary}");
    if let Err(violation) = verdict {
        println!("FAILED: {violation}");
        return ExitCode::FAILURE;
    }
    trusted_when_keyless(check, &bundle.public_key, "the whole trail")
}

/// `countersign audit verify` given a certified copy: its signature with the key kept apart
/// (or, when asked, its own), its origin and file, and its content's digest.
fn verify_certified_copy(copy: &CertifiedCopy, check: &OfflineCheck) -> ExitCode {
    let key = check.key.unwrap_or(&copy.public_key);
    match copy.verify(key) {
        Ok(certified) => println!(
            "certified copy of {} of model group {}, certified {} for {}",
            certified.file,
            certified.group,
            certified
                .at
                .format(&time::format_description::well_known::Rfc3339)
                .expect("a time formats"),
            certified.by
        ),
        Err(problem) => {
            println!(
                "FAILED: {} is not a true certified copy: {problem}",
                copy.file
            );
            return ExitCode::FAILURE;
        }
    }
    trusted_when_keyless(check, &copy.public_key, "the copy")
}

/// The end of a verification that passed: trusted when it used a key kept apart; with the
/// document's own key only when the auditor said so.
fn trusted_when_keyless(check: &OfflineCheck, own_key: &str, rewritten: &str) -> ExitCode {
    if check.key.is_none() {
        // Whoever rewrote a whole trail could sign it again with a key of their own and
        // put that key in the bundle: only a key kept apart tells.
        println!(
            "WARNING: verified with the key inside the file ({own_key}), not one you kept \
             apart: anyone who rewrote {rewritten} could have signed it again with their own. \
             Pass the portal's key (/api/v1/audit/public-key) with --key."
        );
        if !check.trust_bundle_key {
            println!("NOT TRUSTED: give --key, or --trust-bundle-key to accept the file's own key");
            return ExitCode::FAILURE;
        }
    }
    println!("OK");
    ExitCode::SUCCESS
}
