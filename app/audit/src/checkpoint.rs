//! Signed tree heads: C2SP `tlog-checkpoint` notes (origin, size, base64 root hash) with one
//! extension line, `time <RFC 3339>`, signed as a C2SP `signed-note` with Ed25519. The key
//! is a note key (`PRIVATE+KEY+<name>+<id>+<base64>`, as Go's `note.GenerateKey` writes
//! it); its verifier key (`<name>+<id>+<base64>`) is public. A group's origin is
//! `<key name>/audit/<group>`.

use base64::Engine;
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tlog_tiles::Hash;

/// What signs checkpoints.
pub struct Notary {
    signer: StandardSigner,
    name: String,
    public_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the audit signing key is not a note signing key (PRIVATE+KEY+<name>+<id>+<base64 Ed25519 key>)")]
    Malformed,
    #[error(
        "the audit verifier key is not a note verifier key (<name>+<id>+<base64 Ed25519 key>)"
    )]
    MalformedPublic,
}

impl Notary {
    /// The notary of a note signing key.
    pub fn from_key(key: &str) -> Result<Self, KeyError> {
        let key = key.trim();
        let signer = StandardSigner::new(key).map_err(|_| KeyError::Malformed)?;
        // The verifier key is derived from the private key's public half; the note crate
        // checks the key id against it above.
        let mut parts = key.splitn(5, '+').skip(2);
        let name = parts.next().ok_or(KeyError::Malformed)?.to_owned();
        let encoded = parts.nth(1).ok_or(KeyError::Malformed)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| KeyError::Malformed)?;
        let secret: [u8; 32] = bytes
            .get(1..)
            .and_then(|b| b.try_into().ok())
            .ok_or(KeyError::Malformed)?;
        let signing = ed25519_dalek::SigningKey::from_bytes(&secret);
        let public_key = signed_note::new_ed25519_verifier_key(&name, &signing.verifying_key());
        Ok(Self {
            signer,
            name,
            public_key,
        })
    }

    /// A new random key named `name` (a host name, say), as a note signing key.
    pub fn generate_key(name: &str) -> String {
        signed_note::generate_key(&mut rand_core::OsRng, name).0
    }

    /// The verifier key anyone checks checkpoints with.
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// The origin of `group`'s trail.
    pub fn origin(&self, group: &str) -> String {
        origin(&self.name, group)
    }

    /// The origin of `group`'s certified copies.
    pub fn certified_origin(&self, group: &str) -> String {
        certified_origin(&self.name, group)
    }

    /// `text` (lines ending in a newline, the first an origin) as a signed note.
    pub fn sign_text(&self, text: &str) -> String {
        let mut note = Note::new(text.as_bytes(), &[]).expect("the text is a note's");
        note.add_sigs(&[&self.signer]).expect("Ed25519 signs");
        String::from_utf8(note.to_bytes()).expect("a note is text")
    }

    /// The signed checkpoint of `group`'s trail at `size` entries with root `root`.
    pub fn sign(&self, group: &str, size: u64, root: Hash, at: OffsetDateTime) -> String {
        let at = at.format(&Rfc3339).expect("a time formats");
        let body =
            tlog_tiles::Checkpoint::new(&self.origin(group), size, root, &format!("time {at}\n"))
                .expect("the origin and the time line are well formed");
        self.sign_text(std::str::from_utf8(&body.to_bytes()).expect("a checkpoint is text"))
    }
}

pub fn origin(key_name: &str, group: &str) -> String {
    format!("{key_name}/audit/{group}")
}

pub fn certified_origin(key_name: &str, group: &str) -> String {
    format!("{key_name}/certified/{group}")
}

/// A checkpoint whose signature was checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    pub at: Option<OffsetDateTime>,
}

/// Why a checkpoint is not one the key signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("it is not a signed note")]
    NotANote,
    #[error("it is not signed by the audit key {0}")]
    NotSignedByTheKey(String),
    #[error("its text is not a checkpoint")]
    NotACheckpoint,
}

/// Opens checkpoints signed by one key (the key decoded once, for many).
pub struct Opener {
    public_key: String,
    verifiers: VerifierList,
}

impl Opener {
    pub fn new(public_key: &str) -> Result<Self, CheckpointError> {
        let verifier = StandardVerifier::new(public_key)
            .map_err(|_| CheckpointError::NotSignedByTheKey(public_key.into()))?;
        Ok(Self {
            public_key: public_key.into(),
            verifiers: VerifierList::new(vec![Box::new(verifier)]),
        })
    }

    /// Checks `note` is signed by the key and reads it.
    pub fn open(&self, note: &str) -> Result<Checkpoint, CheckpointError> {
        let text = self.open_text(note)?;
        let body = tlog_tiles::Checkpoint::from_bytes(text.as_bytes())
            .map_err(|_| CheckpointError::NotACheckpoint)?;
        let at = body
            .extension()
            .lines()
            .find_map(|line| line.strip_prefix("time "))
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
        Ok(Checkpoint {
            origin: body.origin().to_owned(),
            size: body.size(),
            root: *body.hash(),
            at,
        })
    }
}

impl Opener {
    /// Checks `note` is signed by the key and gives its text.
    pub fn open_text(&self, note: &str) -> Result<String, CheckpointError> {
        let note = Note::from_bytes(note.as_bytes()).map_err(|_| CheckpointError::NotANote)?;
        note.verify(&self.verifiers)
            .map_err(|_| CheckpointError::NotSignedByTheKey(self.public_key.clone()))?;
        String::from_utf8(note.text().to_vec()).map_err(|_| CheckpointError::NotANote)
    }
}

/// Whether `public_key` is a note verifier key.
pub fn check_public_key(public_key: &str) -> Result<(), KeyError> {
    StandardVerifier::new(public_key)
        .map(|_| ())
        .map_err(|_| KeyError::MalformedPublic)
}

/// The tree size a checkpoint note names (its second line), without checking its
/// signature: for stores that file checkpoints by size.
pub fn size_of(note: &str) -> Option<u64> {
    note.lines().nth(1).and_then(|size| size.parse().ok())
}

#[cfg(test)]
mod tests;
