//! How the server writes times and figures for people (pages and mail alike), so the
//! browser build needs no time zone or float formatting.

use countersign_domain::Metrics;
use time::OffsetDateTime;

pub fn display_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// Name and value, formatted here so the browser build needs no float formatting.
pub fn formatted_metrics(metrics: &Metrics) -> Vec<(String, String)> {
    metrics
        .iter()
        .map(|(name, value)| (name.clone(), value.to_string()))
        .collect()
}
