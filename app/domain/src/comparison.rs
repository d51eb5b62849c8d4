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
mod tests;
