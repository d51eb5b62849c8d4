//! The audit trail as the server runs it: `countersign_audit::desk`.

pub use countersign_audit::desk::{notarise, parse_end, parse_start, AuditDesk, Notarised, Period};
