//! A model group's history: what was live in each environment and when, from the deployment
//! records; and every decision, from the log.

use crate::environment::{Environment, Environments};
use crate::model::*;
use time::OffsetDateTime;

/// One stretch of time a version was live in an environment.
#[derive(Clone, Debug, PartialEq)]
pub struct LivePeriod {
    pub environment: Environment,
    pub version: VersionNumber,
    pub from: OffsetDateTime,
    /// When the next deployment replaced it; `None` while it is live.
    pub until: Option<OffsetDateTime>,
    pub deployed_by: Person,
    pub decision_id: String,
}

/// The periods of each environment in promotion order, newest first within each, from a
/// group's deployments (newest first): each lasts until the next one in its environment.
pub fn live_periods(environments: &Environments, deployments: &[Deployment]) -> Vec<LivePeriod> {
    environments
        .iter()
        .flat_map(|env| {
            let mut newer: Option<OffsetDateTime> = None;
            deployments
                .iter()
                .filter(move |d| &d.environment == env)
                .map(move |d| {
                    let period = LivePeriod {
                        environment: d.environment.clone(),
                        version: d.version,
                        from: d.approved_at,
                        until: newer,
                        deployed_by: d.approved_by.clone(),
                        decision_id: d.decision_id.clone(),
                    };
                    newer = Some(d.approved_at);
                    period
                })
        })
        .collect()
}

/// Everything that happened to a group's versions.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupHistory {
    pub group: GroupName,
    /// Per environment in promotion order, newest period first.
    pub live: Vec<LivePeriod>,
    /// Every decision, oldest first.
    pub decisions: Vec<DecisionRecord>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn each_deployment_is_live_until_the_next_one() {
        let at = |minutes: i64| OffsetDateTime::UNIX_EPOCH + Duration::minutes(minutes);
        let deployment = |version: u32, minutes: i64| Deployment {
            group: GroupName::parse("churn").unwrap(),
            version: VersionNumber::new(version).unwrap(),
            arn: format!("arn/{version}"),
            environment: Environment::parse("prod").unwrap(),
            image_uri: String::new(),
            model_data_url: String::new(),
            approved_by: Person {
                subject: "p".into(),
                name: "P".into(),
                email: "p@example.com".into(),
            },
            approved_at: at(minutes),
            decision_id: format!("d{minutes}"),
        };
        // Newest first: 1 deployed at 0, 2 at 10, rolled back to 1 at 20.
        let environments = Environments::default();
        let periods = live_periods(
            &environments,
            &[deployment(1, 20), deployment(2, 10), deployment(1, 0)],
        );
        let summary: Vec<(u32, OffsetDateTime, Option<OffsetDateTime>)> = periods
            .iter()
            .map(|p| (p.version.get(), p.from, p.until))
            .collect();
        assert_eq!(
            summary,
            [
                (1, at(20), None),
                (2, at(10), Some(at(20))),
                (1, at(0), Some(at(10)))
            ]
        );
        assert!(live_periods(&environments, &[]).is_empty());
    }
}
