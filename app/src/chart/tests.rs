use super::*;

fn point(version: u32, value: f64, mark: Mark) -> Point {
    Point {
        version,
        value,
        mark,
    }
}

#[test]
fn a_chart_draws_each_version_and_says_what_it_shows() {
    let points = [
        point(5, 0.88, Mark::Other),
        point(6, 0.91, Mark::Live),
        point(7, 0.93, Mark::Candidate),
    ];
    let (svg, description) = metric_chart("auc", &points);
    assert_eq!(
            description,
            "auc over versions 5 to 7: from 0.88 to 0.93 (lowest 0.88, highest 0.93); live version 6 0.91; this version 0.93"
        );
    assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
    assert!(svg.contains(r#"role="img""#));
    assert_eq!(svg.matches("<circle").count(), 3);
    assert!(
        svg.contains(r#"points="8.0,64.0 120.0,"#),
        "the lowest at the bottom: {svg}"
    );
    assert!(
        svg.contains(r#"232.0,8.0""#),
        "the highest at the top: {svg}"
    );
    assert!(svg.contains(r#"class="chart-point candidate""#));
}

#[test]
fn a_flat_or_single_point_chart_stays_inside_its_box() {
    let (svg, _) = metric_chart("f1", &[point(1, 0.5, Mark::Candidate)]);
    assert!(svg.contains(r#"cx="120.0" cy="36.0""#), "{svg}");
    let (svg, _) = metric_chart(
        "f1",
        &[point(1, 0.5, Mark::Other), point(2, 0.5, Mark::Other)],
    );
    assert!(!svg.contains("NaN"), "{svg}");
    let (svg, text) = metric_chart("f1", &[]);
    assert_eq!(text, "f1: no version has it");
    assert!(svg.ends_with("</svg>"));
}
