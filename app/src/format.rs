//! How the server writes times and figures for people (pages and mail alike), so the
//! browser build needs no time zone or float formatting.

use countersign_domain::Metrics;
use time::OffsetDateTime;

/// A moment in UTC to the second: two signatures in one minute never read as simultaneous
/// (21 CFR 11.50, a signature's time on every page and e-mail that shows it).
pub fn display_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A period, either end open, in words: "from … until …", "at any time".
pub fn period(from: Option<OffsetDateTime>, to: Option<OffsetDateTime>) -> String {
    match (from, to) {
        (None, None) => "at any time".to_owned(),
        (Some(f), None) => format!("from {} until now", display_time(f)),
        (None, Some(t)) => format!("until {}", display_time(t)),
        (Some(f), Some(t)) => format!("from {} until {}", display_time(f), display_time(t)),
    }
}

/// Name and value, formatted here so the browser build needs no float formatting.
pub fn formatted_metrics(metrics: &Metrics) -> Vec<(String, String)> {
    metrics
        .iter()
        .map(|(name, value)| (name.clone(), value.to_string()))
        .collect()
}

/// How long something has waited, in the largest unit that reads naturally: "12 minutes",
/// "5 hours", "3 days".
pub fn waited(duration: time::Duration) -> String {
    let minutes = duration.whole_minutes().max(0);
    let (amount, unit) = if minutes < 60 {
        (minutes, "minute")
    } else if minutes < 48 * 60 {
        (minutes / 60, "hour")
    } else {
        (minutes / (24 * 60), "day")
    };
    format!("{amount} {unit}{}", if amount == 1 { "" } else { "s" })
}

/// Decimal places `value` is written with (at most 6), so a difference reads to the
/// precision of its figures.
fn decimals(value: f64) -> usize {
    value
        .to_string()
        .split_once('.')
        .map_or(0, |(_, fraction)| fraction.len().min(6))
}

/// `candidate - baseline`, signed, to the precision of the figures: `+0.02`, not
/// `0.020000000000000018`.
pub fn difference(candidate: f64, baseline: f64) -> String {
    let places = decimals(candidate).max(decimals(baseline));
    let rounded = format!("{:+.places$}", candidate - baseline);
    // "-0.00" and "+0.00" both mean no change.
    if rounded
        .trim_start_matches(['+', '-'])
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        format!("{:.places$}", 0.0)
    } else {
        rounded
    }
}

#[cfg(test)]
mod tests;
