//! Certified copies (21 CFR 11.10(b), EU GMP Annex 11 §8.1): an export the portal signs with
//! its audit key, so that a copy handed to an inspector can be shown to be the portal's, whole
//! and unchanged, by `countersign audit verify` with nothing but the copy and the key.
//!
//! The copy is a JSON document holding the export's text exactly as served and a C2SP signed
//! note whose text is:
//!
//! ```text
//! <key name>/certified/<group>
//! file <file name>
//! sha256 <lower-case hex SHA-256 of the content's UTF-8 bytes>
//! certified-at <RFC 3339 time>
//! certified-by <identifier> <printed name>
//! ```

use crate::checkpoint::{CheckpointError, Notary, Opener};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub const FORMAT: &str = "countersign-certified-copy/1";

/// A certified copy of one export.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CertifiedCopy {
    /// Always `countersign-certified-copy/1`.
    pub format: String,
    pub group: String,
    /// The export's file name, e.g. `churn-decisions.csv`.
    pub file: String,
    pub content_type: String,
    /// The export exactly as served.
    pub content: String,
    /// The note verifier key the certification is signed with.
    pub public_key: String,
    /// The signed note certifying `content` (see the module's documentation).
    pub note: String,
}

/// What a verified certification says.
#[derive(Clone, Debug, PartialEq)]
pub struct Certification {
    pub group: String,
    pub file: String,
    pub at: OffsetDateTime,
    /// The identifier and printed name of whoever asked for the copy.
    pub by: String,
}

/// Why a certified copy is not one the key certified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertifiedError {
    #[error("it is not a certified copy ({FORMAT})")]
    NotACertifiedCopy,
    #[error("its certification {0}")]
    Note(#[from] CheckpointError),
    #[error("its certification does not say {0}")]
    Unreadable(&'static str),
    #[error("its certification is for {certified}, not the {copy} it carries")]
    DoesNotMatch { certified: String, copy: String },
    #[error("its content was changed: the certification names SHA-256 {certified}, the content has {content}")]
    ContentChanged { certified: String, content: String },
}

impl CertifiedCopy {
    /// `content`, served as `file` of `group`, certified by `notary` at `at` for `by`.
    pub fn make(
        notary: &Notary,
        group: &str,
        file: &str,
        content_type: &str,
        content: String,
        by: &str,
        at: OffsetDateTime,
    ) -> Self {
        let text = format!(
            "{}\nfile {}\nsha256 {}\ncertified-at {}\ncertified-by {}\n",
            notary.certified_origin(group),
            one_line(file),
            sha256(&content),
            at.format(&Rfc3339).expect("a time formats"),
            one_line(by),
        );
        Self {
            format: FORMAT.into(),
            group: group.into(),
            file: file.into(),
            content_type: content_type.into(),
            content,
            public_key: notary.public_key().into(),
            note: notary.sign_text(&text),
        }
    }

    /// Checks the copy was certified by `public_key` and is whole: the note's signature, its
    /// origin, the file it names and the content's digest.
    pub fn verify(&self, public_key: &str) -> Result<Certification, CertifiedError> {
        if self.format != FORMAT {
            return Err(CertifiedError::NotACertifiedCopy);
        }
        let text = Opener::new(public_key)?.open_text(&self.note)?;
        let mut lines = text.lines();
        let origin = lines.next().unwrap_or_default();
        let expected = crate::checkpoint::certified_origin(key_name(public_key), &self.group);
        if origin != expected {
            return Err(CertifiedError::DoesNotMatch {
                certified: origin.to_owned(),
                copy: expected,
            });
        }
        let mut field = |name: &'static str| {
            lines
                .next()
                .and_then(|line| line.strip_prefix(name))
                .and_then(|rest| rest.strip_prefix(' '))
                .map(str::to_owned)
                .ok_or(CertifiedError::Unreadable(name))
        };
        let (file, digest, at, by) = (
            field("file")?,
            field("sha256")?,
            field("certified-at")?,
            field("certified-by")?,
        );
        if file != self.file {
            return Err(CertifiedError::DoesNotMatch {
                certified: file,
                copy: self.file.clone(),
            });
        }
        let content = sha256(&self.content);
        if digest != content {
            return Err(CertifiedError::ContentChanged {
                certified: digest,
                content,
            });
        }
        let at = OffsetDateTime::parse(&at, &Rfc3339)
            .map_err(|_| CertifiedError::Unreadable("certified-at"))?;
        Ok(Certification {
            group: self.group.clone(),
            file,
            at,
            by,
        })
    }
}

fn sha256(content: &str) -> String {
    hex::encode(Sha256::digest(content.as_bytes()))
}

/// A value as one line of note text: control characters (a newline would forge a line)
/// become spaces.
fn one_line(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The name part of a note verifier key (`<name>+<id>+<key>`).
fn key_name(public_key: &str) -> &str {
    public_key.split('+').next().unwrap_or_default()
}

#[cfg(test)]
mod tests;
