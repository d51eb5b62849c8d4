//! A candidate's metrics beside those of the version it would replace: the difference per
//! metric, and whether that difference is for the better.

use crate::model::Metrics;

/// Which way a metric improves. Names say it: losses, errors and latencies improve as they
/// fall, scores (accuracy, AUC, F1, ...) as they rise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Improves {
    Higher,
    Lower,
}

/// Words that, as a part of a metric's name, mean lower is better.
const LOWER_IS_BETTER: [&str; 14] = [
    "loss",
    "error",
    "err",
    "rmse",
    "mse",
    "mae",
    "mape",
    "smape",
    "latency",
    "perplexity",
    "wer",
    "cer",
    "fpr",
    "fnr",
];

impl Improves {
    /// How `metric` improves, read from the words of its name (`val_loss`, `p95-latency-ms`,
    /// `error_rate` fall; `accuracy`, `auc` rise).
    pub fn for_metric(metric: &str) -> Self {
        let lower = metric.to_ascii_lowercase();
        let falls = lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| LOWER_IS_BETTER.contains(&word));
        if falls {
            Improves::Lower
        } else {
            Improves::Higher
        }
    }
}

/// What a difference means for the candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Better,
    Worse,
    Same,
}

/// One metric of the candidate beside the same metric of the version it is compared with.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricComparison {
    pub name: String,
    pub candidate: Option<f64>,
    pub baseline: Option<f64>,
    pub improves: Improves,
}

impl MetricComparison {
    /// Candidate minus baseline, where both have the metric.
    pub fn difference(&self) -> Option<f64> {
        Some(self.candidate? - self.baseline?)
    }

    pub fn change(&self) -> Option<Change> {
        let difference = self.difference()?;
        Some(if difference == 0.0 {
            Change::Same
        } else if (difference > 0.0) == (self.improves == Improves::Higher) {
            Change::Better
        } else {
            Change::Worse
        })
    }
}

/// Every metric either side has: the candidate's first (in name order), then those only the
/// baseline has.
pub fn compare(candidate: &Metrics, baseline: &Metrics) -> Vec<MetricComparison> {
    let names = candidate.keys().chain(
        baseline
            .keys()
            .filter(|name| !candidate.contains_key(*name)),
    );
    names
        .map(|name| MetricComparison {
            name: name.clone(),
            candidate: candidate.get(name).copied(),
            baseline: baseline.get(name).copied(),
            improves: Improves::for_metric(name),
        })
        .collect()
}

#[cfg(test)]
mod tests {
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
}
