//! `countersign audit archive --out DIR`: the records for keeping (21 CFR 11.10(c), EU GMP
//! Annex 11 §17): every trail as a bundle, with what is needed to read and check them in
//! years, without the portal: the public key, the bundle format document, the second
//! verifier written from it alone, a README, and the SHA-256 of every file in a manifest
//! signed with the audit key.

use super::{AuditDesk, Period};
use countersign_domain::service::Services;
use countersign_domain::GroupName;
use sha2::{Digest, Sha256};
use std::path::Path;

/// The bundle format document and the verifier written from it alone, as this build has them.
const FORMAT_DOCUMENT: &str = include_str!("../../../docs/audit-bundle.md");
const SECOND_VERIFIER: &str = include_str!("../../../docs/verify_bundle.py");

/// What an archive holds, for the operator to be told.
pub struct Archived {
    /// Each trail written, with its entries.
    pub trails: Vec<(String, usize)>,
    pub files: usize,
}

/// Writes every trail (the model groups' and the portal's own) with the key, the format
/// document, the second verifier, a README and a signed manifest into `out`, which must be
/// empty or not exist: an archive is written whole, never over another.
pub async fn write(
    services: &Services,
    audit: &AuditDesk,
    out: &Path,
    period: Period,
) -> Result<Archived, String> {
    if out.exists()
        && std::fs::read_dir(out)
            .map_err(|e| format!("cannot read {}: {e}", out.display()))?
            .next()
            .is_some()
    {
        return Err(format!(
            "{} is not empty: an archive is written into a new or empty directory",
            out.display()
        ));
    }
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut groups: Vec<GroupName> = services
        .list_groups()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|summary| summary.group)
        .collect();
    groups.push(GroupName::system_trail());
    let mut files: Vec<(String, String)> = Vec::new();
    let mut trails = Vec::new();
    for group in groups {
        let bundle = audit
            .bundle(&group, period)
            .await
            .map_err(|e| format!("{group}: {e}"))?;
        if bundle.entries.is_empty() {
            continue;
        }
        trails.push((group.to_string(), bundle.entries.len()));
        let text = serde_json::to_string_pretty(&bundle).expect("a bundle serialises");
        files.push((format!("{group}.audit.json"), text));
    }
    let key = audit.notary.public_key().to_owned();
    files.push(("public-key.txt".into(), format!("{key}\n")));
    files.push(("audit-bundle.md".into(), FORMAT_DOCUMENT.into()));
    files.push(("verify_bundle.py".into(), SECOND_VERIFIER.into()));
    files.push(("README.txt".into(), readme(&key, &trails)));
    let mut sums = String::new();
    for (name, text) in &files {
        std::fs::write(out.join(name), text)
            .map_err(|e| format!("cannot write {}: {e}", out.join(name).display()))?;
        sums.push_str(&format!(
            "{}  {name}\n",
            hex::encode(Sha256::digest(text.as_bytes()))
        ));
    }
    std::fs::write(out.join("SHA256SUMS"), &sums).map_err(|e| e.to_string())?;
    let origin = format!("{}/archive", key.split('+').next().unwrap_or_default());
    let manifest = audit.notary.sign_text(&format!("{origin}\n{sums}"));
    std::fs::write(out.join("SHA256SUMS.note"), manifest).map_err(|e| e.to_string())?;
    Ok(Archived {
        trails,
        files: files.len() + 2,
    })
}

fn readme(key: &str, trails: &[(String, usize)]) -> String {
    let listed: String = trails
        .iter()
        .map(|(group, entries)| format!("  {group}.audit.json  ({entries} entries)\n"))
        .collect();
    format!(
        "Countersign audit archive\n\
         \n\
         Each model group's audit trail, and the portal's own (_countersign), as a bundle:\n\
         {listed}\
         \n\
         public-key.txt     the key every checkpoint and the manifest are signed with:\n\
         \x20                  {key}\n\
         \x20                  compare it with a copy kept apart from this archive.\n\
         audit-bundle.md    the bundle format, field by field, and what a verifier checks.\n\
         verify_bundle.py   a verifier written from that document alone (Python 3.9+ and\n\
         \x20                  the `cryptography` package).\n\
         SHA256SUMS         the SHA-256 of every file here (sha256sum -c SHA256SUMS);\n\
         SHA256SUMS.note    the same lines as a C2SP signed note, signed with the key.\n\
         \n\
         To check a bundle:\n\
         \x20 countersign audit verify GROUP.audit.json --key \"$(cat public-key.txt)\"\n\
         \x20 python3 verify_bundle.py GROUP.audit.json \"$(cat public-key.txt)\"\n"
    )
}
