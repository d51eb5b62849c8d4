//! Inference reports: what a pipeline measured when it ran a version in an environment, and
//! what that run asks for next (the approvers of the following environment are asked to
//! promote the version).

use crate::environment::Environment;
use crate::model::*;
use crate::policy::Policy;
use time::OffsetDateTime;

/// At most this many metrics per report: enough for any evaluation, and small enough that a
/// report fits one SSM parameter.
pub const MAX_REPORT_METRICS: usize = 50;
/// Limit of the artifacts link, as SageMaker's model data URL.
pub const MAX_ARTIFACTS_URL_CHARS: usize = 1024;

/// A pipeline's run id: 1 to 128 letters, digits, `_`, `-` or `.`; with the version and the
/// environment it names the run, so a report sent twice is stored once.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(String);

impl RunId {
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let valid = (1..=128).contains(&text.len())
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidInput::RunId(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One batch inference run of a version in an environment, as its pipeline reported it.
#[derive(Clone, Debug, PartialEq)]
pub struct InferenceReport {
    pub group: GroupName,
    pub version: VersionNumber,
    pub environment: Environment,
    pub run_id: RunId,
    pub metrics: Metrics,
    pub started_at: OffsetDateTime,
    pub finished_at: OffsetDateTime,
    pub sample_count: u64,
    pub artifacts_url: Option<String>,
    /// Who sent it: the API client's name, as authenticated.
    pub reported_by: String,
    pub reported_at: OffsetDateTime,
}

/// A run as its pipeline describes it, before it is checked.
#[derive(Clone, Debug)]
pub struct ReportDraft<'a> {
    pub group: GroupName,
    pub version: VersionNumber,
    pub environment: Environment,
    pub run_id: RunId,
    pub metrics: Metrics,
    pub started_at: OffsetDateTime,
    pub finished_at: OffsetDateTime,
    pub sample_count: u64,
    pub artifacts_url: Option<&'a str>,
    pub reported_by: &'a str,
    pub reported_at: OffsetDateTime,
}

impl ReportDraft<'_> {
    /// Checks what a pipeline sent: metrics as at registration (finite, named), at most
    /// [`MAX_REPORT_METRICS`] of them and at least one; the run finished no earlier than it
    /// started; the artifacts link an `s3://`, `https://` or `http://` URL.
    pub fn validate(self) -> Result<InferenceReport, InvalidInput> {
        let metrics = self.metrics;
        if metrics.is_empty() {
            return Err(InvalidInput::Missing("metrics"));
        }
        if metrics.len() > MAX_REPORT_METRICS {
            return Err(InvalidInput::TooMany {
                field: "metrics",
                max: MAX_REPORT_METRICS,
            });
        }
        validate_metrics(&metrics)?;
        if self.finished_at < self.started_at {
            return Err(InvalidInput::FinishedBeforeStart);
        }
        let artifacts_url = match self.artifacts_url.map(str::trim).filter(|u| !u.is_empty()) {
            None => None,
            Some(url) => {
                if url.chars().count() > MAX_ARTIFACTS_URL_CHARS {
                    return Err(InvalidInput::TooLong {
                        field: "artifacts_url",
                        max: MAX_ARTIFACTS_URL_CHARS,
                    });
                }
                let scheme_ok = ["s3://", "https://", "http://"]
                    .iter()
                    .any(|s| url.len() > s.len() && url.starts_with(s));
                if !scheme_ok || url.chars().any(char::is_whitespace) {
                    return Err(InvalidInput::ArtifactsUrl(url.to_owned()));
                }
                Some(url.to_owned())
            }
        };
        Ok(InferenceReport {
            group: self.group,
            version: self.version,
            environment: self.environment,
            run_id: self.run_id,
            metrics,
            started_at: self.started_at,
            finished_at: self.finished_at,
            sample_count: self.sample_count,
            artifacts_url,
            reported_by: self.reported_by.to_owned(),
            reported_at: self.reported_at,
        })
    }
}

impl InferenceReport {
    /// Whether `other` reports the same run with the same figures (a retry), as opposed to
    /// a different report reusing the run id.
    pub fn same_run_as(&self, other: &InferenceReport) -> bool {
        self.group == other.group
            && self.version == other.version
            && self.environment == other.environment
            && self.run_id == other.run_id
            && self.metrics == other.metrics
            && self.started_at == other.started_at
            && self.finished_at == other.finished_at
            && self.sample_count == other.sample_count
            && self.artifacts_url == other.artifacts_url
    }
}

/// Why a report is not accepted for a version.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReportRefusal {
    #[error("version {version} of {group} is not approved for {environment} (it is {state}), so it cannot have run there")]
    NotApprovedThere {
        group: GroupName,
        version: VersionNumber,
        environment: Environment,
        state: StepState,
    },
    #[error("run {run_id} of version {version} in {environment} was already reported with other figures; a new run needs a new run id")]
    RunIdTaken {
        version: VersionNumber,
        environment: Environment,
        run_id: RunId,
    },
}

/// A report is accepted only from an environment the version is approved for: a pipeline
/// cannot have run it anywhere else.
pub fn check_report(version: &ModelVersion, report: &InferenceReport) -> Result<(), ReportRefusal> {
    match version.steps.state(&report.environment) {
        StepState::Approved => Ok(()),
        state => Err(ReportRefusal::NotApprovedThere {
            group: version.group.clone(),
            version: version.version,
            environment: report.environment.clone(),
            state,
        }),
    }
}

/// The environment a report from `report.environment` asks to promote the version to: the
/// next one, while it still waits for a decision. `None` after the last environment or once
/// the next step is decided.
pub fn promotion_target<'a>(
    policy: &'a Policy,
    version: &ModelVersion,
    report: &InferenceReport,
) -> Option<&'a Environment> {
    let next = policy.environments().after(&report.environment).first()?;
    (!version.steps.state(next).is_decided()).then_some(next)
}

/// The report to show beside a candidate's: the newest from `preferred`, else the newest
/// from `fallback` (the live version in the target environment has usually run there; a
/// version promoted before reports existed may only have run in the one before).
pub fn newest_report<'a>(
    reports: &'a [InferenceReport],
    preferred: &Environment,
    fallback: &Environment,
) -> Option<&'a InferenceReport> {
    let newest_in = |env: &Environment| {
        reports
            .iter()
            .filter(|r| &r.environment == env)
            .max_by_key(|r| (r.finished_at, r.reported_at))
    };
    newest_in(preferred).or_else(|| newest_in(fallback))
}

#[cfg(test)]
mod tests;
