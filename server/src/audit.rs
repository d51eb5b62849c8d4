//! The audit trail as the server runs it: `countersign_audit::desk`.

pub use countersign_audit::desk::{parse_end, parse_start, AuditDesk, NotarisedTrail, Period};
