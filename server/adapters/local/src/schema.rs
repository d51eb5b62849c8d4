//! The store's tables, as migrations applied in order when it opens (never edited once
//! released: a change is a new migration).

pub(crate) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE model_versions (
    group_name      TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    arn             TEXT    NOT NULL UNIQUE,
    approval_status TEXT    NOT NULL,
    steps           TEXT    NOT NULL,
    image_uri       TEXT    NOT NULL,
    model_data_url  TEXT    NOT NULL,
    description     TEXT    NOT NULL,
    metrics         TEXT    NOT NULL,
    registered_by_subject TEXT NOT NULL,
    registered_by_name    TEXT NOT NULL,
    registered_by_email   TEXT NOT NULL,
    registered_at   TEXT    NOT NULL,
    revision        INTEGER NOT NULL,
    PRIMARY KEY (group_name, version)
);
CREATE TABLE decisions (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT    NOT NULL UNIQUE,
    group_name      TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    environment     TEXT    NOT NULL,
    verdict         TEXT    NOT NULL,
    reason          TEXT,
    decided_by_subject TEXT NOT NULL,
    decided_by_name    TEXT NOT NULL,
    decided_by_email   TEXT NOT NULL,
    decided_at      TEXT    NOT NULL,
    resulting_state TEXT    NOT NULL
);
CREATE INDEX decisions_by_version ON decisions (group_name, version, seq);
CREATE TABLE deployments (
    group_name      TEXT    NOT NULL,
    environment     TEXT    NOT NULL,
    parameter_version INTEGER NOT NULL,
    version         INTEGER NOT NULL,
    arn             TEXT    NOT NULL,
    image_uri       TEXT    NOT NULL,
    model_data_url  TEXT    NOT NULL,
    approved_by_subject TEXT NOT NULL,
    approved_by_name    TEXT NOT NULL,
    approved_by_email   TEXT NOT NULL,
    approved_at     TEXT    NOT NULL,
    decision_id     TEXT    NOT NULL,
    PRIMARY KEY (group_name, environment, parameter_version)
);
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE outbox (
    key             TEXT PRIMARY KEY,
    recipients      TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    text_body       TEXT    NOT NULL,
    html_body       TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    last_error      TEXT,
    -- Times in Unix milliseconds, so that SQL compares them as numbers.
    created_ms      INTEGER NOT NULL,
    next_attempt_ms INTEGER,
    lease_until_ms  INTEGER,
    sent_ms         INTEGER
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_ms);
"#,
    r#"
CREATE TABLE reports (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    group_name  TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    environment TEXT    NOT NULL,
    run_id      TEXT    NOT NULL,
    -- The report document (countersign_domain::ReportDocument), as the AWS backend stores it.
    document    TEXT    NOT NULL,
    UNIQUE (group_name, version, environment, run_id)
);
"#,
    r#"
-- The version a rollback pointed the environment back to; NULL for other decisions.
ALTER TABLE decisions ADD COLUMN rollback_to INTEGER;
"#,
    r#"
CREATE TABLE session_revocations (
    whose              TEXT    NOT NULL PRIMARY KEY,
    issued_before_ms   INTEGER NOT NULL
);
"#,
    r#"
ALTER TABLE model_versions ADD COLUMN registered_through TEXT;
"#,
    r#"
ALTER TABLE decisions ADD COLUMN signature_meaning TEXT;
ALTER TABLE decisions ADD COLUMN record_digest TEXT;
ALTER TABLE decisions ADD COLUMN signature_replaces INTEGER;
"#,
    r#"
-- How the signer had last authenticated (countersign_domain::signature::Authentication, JSON).
ALTER TABLE decisions ADD COLUMN signature_authentication TEXT;
"#,
    r#"
-- Signatures that were not made (countersign_domain::signature::SigningAttempt, JSON).
CREATE TABLE signing_attempts (
    id          TEXT    NOT NULL PRIMARY KEY,
    group_name  TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    attempt     TEXT    NOT NULL,
    seq         INTEGER NOT NULL UNIQUE
);
CREATE INDEX signing_attempts_by_version ON signing_attempts (group_name, version, seq);
"#,
    r#"
-- The artifacts' digests where known (countersign_domain::ArtifactDigests).
ALTER TABLE model_versions ADD COLUMN image_digest TEXT;
ALTER TABLE model_versions ADD COLUMN model_data_etag TEXT;
"#,
    r#"
-- The audit trail (countersign-audit): each group's entries exactly as they were hashed,
-- and the head an append continues from. Entries are never changed or removed.
CREATE TABLE audit_entries (
    group_name  TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    key         TEXT    NOT NULL,
    entry       TEXT    NOT NULL,
    PRIMARY KEY (group_name, seq),
    UNIQUE (group_name, key)
);
CREATE TABLE audit_heads (
    group_name  TEXT    NOT NULL PRIMARY KEY,
    head        TEXT    NOT NULL
);
CREATE TRIGGER audit_entries_are_never_changed BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_entries_are_never_removed BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
"#,
    r#"
-- A pipeline's own metadata (countersign_domain::CustomMetadata), as a JSON object.
ALTER TABLE model_versions ADD COLUMN custom_metadata TEXT NOT NULL DEFAULT '{}';
"#,
    r#"
-- Decisions and signing attempts are never changed or removed either. A speed bump for
-- someone holding the file, not the defence: pages, exports and the API show each decision
-- as the audit trail holds it, and name any row that tells it otherwise.
CREATE TRIGGER decisions_are_never_changed BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE TRIGGER decisions_are_never_removed BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE TRIGGER signing_attempts_are_never_changed BEFORE UPDATE ON signing_attempts
BEGIN SELECT RAISE(ABORT, 'signing attempts are append-only'); END;
CREATE TRIGGER signing_attempts_are_never_removed BEFORE DELETE ON signing_attempts
BEGIN SELECT RAISE(ABORT, 'signing attempts are append-only'); END;
"#,
    r#"
-- The identity provider's evidence with each signature (its ID token and key, as JSON) and
-- the groups that made the signer an approver (a JSON array); NULL on earlier ones.
ALTER TABLE decisions ADD COLUMN signature_identity_evidence TEXT;
ALTER TABLE decisions ADD COLUMN signature_groups TEXT;
-- Each sign-in's evidence, named by the session that rests on it, until it could sign no more.
CREATE TABLE sign_ins (
    id          TEXT    NOT NULL PRIMARY KEY,
    evidence    TEXT    NOT NULL,
    until_ms    INTEGER NOT NULL
);
"#,
    r#"
-- Whether the registrant was established (the calling pipeline is bound to them) rather than
-- only declared; NULL on versions registered before the portal told the two apart, which
-- count as declared.
ALTER TABLE model_versions ADD COLUMN registrant_verified INTEGER;
"#,
    r#"
-- The waiting index: per version, what waits on it as the portal last wrote it (the domain's
-- document, never read here) as of the version's revision; `step` NULL once nothing waits.
-- The partial index, in the order it is read a page at a time, keeps reading what waits in
-- proportion to what waits, not to all versions.
CREATE TABLE waiting_steps (
    group_name  TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    revision    INTEGER NOT NULL,
    since_ms    INTEGER,
    step        TEXT,
    PRIMARY KEY (group_name, version)
);
CREATE INDEX waiting_steps_now ON waiting_steps (group_name, version) WHERE step IS NOT NULL;
"#,
    r#"
-- What the groups page shows, kept as versions arrive rather than counted over every version
-- on each view (versions are never removed).
CREATE TABLE model_groups (
    group_name           TEXT    NOT NULL PRIMARY KEY,
    version_count        INTEGER NOT NULL,
    latest_version       INTEGER NOT NULL,
    latest_registered_at TEXT
);
-- `registered_at` beside MAX(version) is a bare column: SQLite takes it from the row holding
-- the maximum, the latest version.
INSERT INTO model_groups (group_name, version_count, latest_version, latest_registered_at)
    SELECT group_name, COUNT(*), MAX(version), registered_at FROM model_versions
    GROUP BY group_name;
CREATE TRIGGER model_groups_kept AFTER INSERT ON model_versions
BEGIN
    INSERT OR IGNORE INTO model_groups (group_name, version_count, latest_version)
        VALUES (NEW.group_name, 0, 0);
    UPDATE model_groups SET
        version_count = version_count + 1,
        latest_registered_at = CASE WHEN NEW.version > latest_version
            THEN NEW.registered_at ELSE latest_registered_at END,
        latest_version = MAX(latest_version, NEW.version)
    WHERE group_name = NEW.group_name;
END;
-- "Your models": each identifier a registrant is known by, newest first, without a pass over
-- every version.
CREATE INDEX model_versions_by_subject
    ON model_versions (lower(trim(registered_by_subject)), registered_at);
CREATE INDEX model_versions_by_email
    ON model_versions (lower(trim(registered_by_email)), registered_at);
-- The notifications page, newest first, and how many messages there are (never removed).
CREATE INDEX outbox_newest ON outbox (created_ms DESC, key);
CREATE TABLE outbox_size (messages INTEGER NOT NULL);
INSERT INTO outbox_size (messages) SELECT COUNT(*) FROM outbox;
CREATE TRIGGER outbox_size_kept AFTER INSERT ON outbox
BEGIN
    UPDATE outbox_size SET messages = messages + 1;
END;
"#,
];
