use super::*;

fn metrics(pairs: &[(&str, f64)]) -> Metrics {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn names_tell_which_way_a_metric_improves() {
    for falls in ["val_loss", "p95-latency-ms", "error_rate", "RMSE", "wer"] {
        assert_eq!(Improves::for_metric(falls), Improves::Lower, "{falls}");
    }
    for rises in ["accuracy", "auc", "f1", "precision_at_10", "terror_score_x"] {
        assert_eq!(Improves::for_metric(rises), Improves::Higher, "{rises}");
    }
}

#[test]
fn a_comparison_holds_every_metric_with_its_difference_and_what_it_means() {
    let candidate = metrics(&[("auc", 0.93), ("log_loss", 0.30), ("recall", 0.8)]);
    let baseline = metrics(&[("auc", 0.91), ("log_loss", 0.25), ("precision", 0.7)]);
    let compared = compare(&candidate, &baseline);
    let names: Vec<&str> = compared.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["auc", "log_loss", "recall", "precision"]);
    assert!((compared[0].difference().unwrap() - 0.02).abs() < 1e-12);
    assert_eq!(compared[0].change(), Some(Change::Better));
    assert_eq!(
        compared[1].change(),
        Some(Change::Worse),
        "a loss that rose"
    );
    assert_eq!(
        compared[2].difference(),
        None,
        "only the candidate has recall"
    );
    assert_eq!(compared[3].candidate, None);
    let same = compare(&metrics(&[("auc", 0.9)]), &metrics(&[("auc", 0.9)]));
    assert_eq!(same[0].change(), Some(Change::Same));
}
