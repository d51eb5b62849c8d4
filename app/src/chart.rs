//! Small line charts of one metric over a group's recent versions, drawn as SVG on the
//! server: they render without JavaScript, and the browser build carries no charting code.

use std::fmt::Write;

/// What a point on the chart is to the reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// The version under review.
    Candidate,
    /// The version live in the environment being decided.
    Live,
    Other,
}

/// One version's value of the metric.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub version: u32,
    pub value: f64,
    pub mark: Mark,
}

const WIDTH: f64 = 240.0;
const HEIGHT: f64 = 72.0;
const PAD: f64 = 8.0;

/// The chart of `metric` over `points` (oldest version first) as SVG markup, and the same
/// in words for people who cannot see it (the SVG's accessible name).
pub fn metric_chart(metric: &str, points: &[Point]) -> (String, String) {
    let description = describe(metric, points);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{}"><title>{}</title>"#,
        escape(&description),
        escape(&description)
    );
    if points.is_empty() {
        svg.push_str("</svg>");
        return (svg, description);
    }
    let (low, high) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.value), hi.max(p.value))
        });
    let x = |index: usize| {
        if points.len() == 1 {
            WIDTH / 2.0
        } else {
            PAD + (WIDTH - 2.0 * PAD) * index as f64 / (points.len() - 1) as f64
        }
    };
    let y = |value: f64| {
        if high > low {
            HEIGHT - PAD - (HEIGHT - 2.0 * PAD) * (value - low) / (high - low)
        } else {
            HEIGHT / 2.0
        }
    };
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.value)))
        .collect();
    let _ = write!(
        svg,
        r#"<polyline class="chart-line" fill="none" points="{}"/>"#,
        path.join(" ")
    );
    for (i, point) in points.iter().enumerate() {
        let class = match point.mark {
            Mark::Candidate => "chart-point candidate",
            Mark::Live => "chart-point live",
            Mark::Other => "chart-point",
        };
        let radius = if point.mark == Mark::Other { 2.5 } else { 4.5 };
        let _ = write!(
            svg,
            r#"<circle class="{class}" cx="{:.1}" cy="{:.1}" r="{radius}"><title>version {}: {}</title></circle>"#,
            x(i),
            y(point.value),
            point.version,
            point.value
        );
    }
    svg.push_str("</svg>");
    (svg, description)
}

/// "auc over versions 3 to 9: from 0.88 to 0.93 (lowest 0.86, highest 0.93); this
/// version 0.93, live version 7 0.91".
fn describe(metric: &str, points: &[Point]) -> String {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return format!("{metric}: no version has it");
    };
    let low = points.iter().map(|p| p.value).fold(f64::INFINITY, f64::min);
    let high = points
        .iter()
        .map(|p| p.value)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut text = format!(
        "{metric} over versions {} to {}: from {} to {} (lowest {low}, highest {high})",
        first.version, last.version, first.value, last.value
    );
    for point in points {
        match point.mark {
            Mark::Candidate => {
                let _ = write!(text, "; this version {}", point.value);
            }
            Mark::Live => {
                let _ = write!(text, "; live version {} {}", point.version, point.value);
            }
            Mark::Other => {}
        }
    }
    text
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests;
